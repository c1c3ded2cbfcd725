"""The rules of calls between nodes, on a real gRPC server with the interceptors an api process
runs and real tokens from the real Keycloak (service accounts of the nodes, brokered logins of
people). The node directory is a resolver function over a dict (fingerprint -> entry), the
same interface the identity service's store and remote resolver offer.

The server plays the Stadt Hilden node; it offers a figures method to the Kreis only, a brief
method to Kreis and Caritas, and a join method to any certificate of the federation's CA."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import grpc
import pytest

from kimnetz.runtime.audit import AuditEvent, MemoryAuditSink
from kimnetz.runtime.auth import TokenValidator, current_principal
from kimnetz.runtime.grpc_channels import peer_channel
from kimnetz.runtime.grpc_peer import ACTING_USER_HEADER, current_peer
from kimnetz.runtime.grpc_server import FederationListener, Registration, build_server
from kimnetz.runtime.peers import DirectoryPeerCheck, PeerRecord
from kimnetz.runtime.pki import DevCertificateAuthority, NodeCredentials
from kimnetz.runtime.service_account import ServiceAccount
from services.identity.organizations import FederationOrganizations
from tests.support.identity import LocalFederation, local_federation, token_for  # noqa: F401

SERVICE = "kim.test.v1.PeerRules"
FIGURES = f"/{SERVICE}/GetFigures"
BRIEFS = f"/{SERVICE}/GetBriefs"
JOIN = f"/{SERVICE}/Join"
UNDECLARED = f"/{SERVICE}/ListEverything"
METHODS: dict[str, frozenset[str] | None] = {
    FIGURES: frozenset({"district"}),
    BRIEFS: frozenset({"district", "welfare_org"}),
    JOIN: None,
}


@dataclass
class Federation:
    plain: str
    mutual: str
    ca: DevCertificateAuthority
    directory: dict[str, PeerRecord]
    audit: MemoryAuditSink
    local: LocalFederation

    def node(self, node_id: str, organization: str, role: str, status: str = "active") -> NodeCredentials:
        credentials = self.ca.issue(node_id)
        self.directory[credentials.fingerprint] = PeerRecord(node_id, organization, role, status)
        return credentials

    def service_token(self, node_id: str) -> str:
        return ServiceAccount(self.local.server_url, self.local.realm, f"kim-node-{node_id}",
                              self.local.service_account_secret(node_id)).token()


def answer(request: bytes, context: grpc.ServicerContext) -> bytes:
    """What the servicer sees: the peer (node, organisation, role, acting user) and the token."""
    peer, principal = current_peer.get(), current_principal.get()
    seen = [peer.node_id, peer.organization, peer.role, peer.acting_user, peer.common_name] \
        if peer else ["-"] * 5
    seen.append(principal.organization or "" if principal else "-")
    return "|".join(seen).encode()


@pytest.fixture(scope="module")
def federation(local_federation: LocalFederation) -> Iterator[Federation]:  # noqa: F811
    ca = DevCertificateAuthority.create()
    directory: dict[str, PeerRecord] = {}
    audit = MemoryAuditSink()
    handler = grpc.unary_unary_rpc_method_handler(answer)

    def add(server: grpc.Server) -> None:
        server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, {
            "GetFigures": handler, "GetBriefs": handler, "Join": handler, "ListEverything": handler,
        }),))

    check = DirectoryPeerCheck(directory.get, cache_seconds=0, audit=audit)
    listener = FederationListener("127.0.0.1:0", ca.issue("stadt-hilden"), METHODS, check, audit)
    validator = TokenValidator(local_federation.issuer, "kim-api",
                               organizations=FederationOrganizations(local_federation.federation))
    server, port, _ = build_server([Registration("test", add)], address="127.0.0.1:0",
                                   validator=validator, federation=listener)
    server.start()
    yield Federation(f"127.0.0.1:{port}", f"127.0.0.1:{listener.port}", ca, directory, audit,
                     local_federation)
    server.stop(None)


def call(federation: Federation, credentials: NodeCredentials | None, method: str, token: str,
         acting_user: str = "") -> str:
    metadata = [("authorization", f"Bearer {token}")]
    if acting_user:
        metadata.append((ACTING_USER_HEADER, acting_user))
    channel = (peer_channel(federation.mutual, credentials, server_name="stadt-hilden")
               if credentials is not None else grpc.insecure_channel(federation.plain))
    with channel:
        result: bytes = channel.unary_unary(method)(b"", metadata=metadata, timeout=10)
    return result.decode()


def refused(federation: Federation, attempt: Callable[[], object]) -> tuple[grpc.RpcError, AuditEvent]:
    before = len(federation.audit.events)
    with pytest.raises(grpc.RpcError) as raised:
        attempt()
    events = federation.audit.events[before:]
    assert [e.outcome for e in events] == ["denied"], events
    assert events[0].kind == "federation"
    return raised.value, events[0]


@pytest.fixture(scope="module")
def kreis(federation: Federation) -> NodeCredentials:
    return federation.node("kreis-mettmann", "kreis-mettmann", "district")


@pytest.fixture(scope="module")
def kreis_token(federation: Federation) -> str:
    return federation.service_token("kreis-mettmann")


def test_allowed_call_is_served_with_the_peer_and_audited_as_granted(
        federation: Federation, kreis: NodeCredentials, kreis_token: str) -> None:
    before = len(federation.audit.events)
    seen = call(federation, kreis, FIGURES, kreis_token, acting_user="k.koordination")
    assert seen == ("kreis-mettmann|kreis-mettmann|district|k.koordination|kreis-mettmann"
                    "|kreis-mettmann")
    [event] = federation.audit.events[before:]
    assert (event.kind, event.outcome, event.action, event.node, event.organization) == (
        "federation", "granted", FIGURES, "kreis-mettmann", "kreis-mettmann")
    assert event.extra["acting_user"] == "k.koordination"
    assert event.extra["fingerprint"] == kreis.fingerprint


def test_undeclared_method_is_refused_on_the_mutual_tls_port(
        federation: Federation, kreis: NodeCredentials, kreis_token: str) -> None:
    error, event = refused(federation, lambda: call(federation, kreis, UNDECLARED, kreis_token))
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    assert UNDECLARED in str(error.details()) and "nicht offen" in str(error.details())
    assert (event.action, event.node) == (UNDECLARED, "kreis-mettmann")


def test_role_not_allowed_is_refused_naming_role_and_method(federation: Federation) -> None:
    caritas = federation.node("caritas-mettmann", "caritas-mettmann", "welfare_org")
    token = federation.service_token("caritas-mettmann")
    served = call(federation, caritas, BRIEFS, token)
    assert served.startswith("caritas-mettmann|caritas-mettmann|welfare_org")
    error, event = refused(federation, lambda: call(federation, caritas, FIGURES, token))
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "'welfare_org'" in str(error.details()) and FIGURES in str(error.details())
    assert (event.action, event.node, event.organization) == (
        FIGURES, "caritas-mettmann", "caritas-mettmann")


def test_certificate_unknown_to_the_directory_is_refused(
        federation: Federation, kreis_token: str) -> None:
    stranger = federation.ca.issue("fremder-knoten")
    error, event = refused(federation, lambda: call(federation, stranger, FIGURES, kreis_token))
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "nicht eingetragen" in str(error.details())
    assert (event.action, event.node, event.extra["fingerprint"]) == (
        FIGURES, "fremder-knoten", stranger.fingerprint)


@pytest.mark.parametrize(("status", "reason"), [("revoked", "widerrufen"),
                                                ("pending", "noch nicht freigegeben")])
def test_revoked_and_pending_nodes_are_refused(
        federation: Federation, kreis_token: str, status: str, reason: str) -> None:
    old = federation.node("kreis-mettmann", "kreis-mettmann", "district", status)
    error, event = refused(federation, lambda: call(federation, old, FIGURES, kreis_token))
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    assert reason in str(error.details())
    assert (event.action, event.node) == (FIGURES, "kreis-mettmann")


def test_token_of_another_organisation_is_refused(
        federation: Federation, kreis: NodeCredentials) -> None:
    caritas_token = federation.service_token("caritas-mettmann")
    error, event = refused(federation, lambda: call(federation, kreis, FIGURES, caritas_token))
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    assert str(error.details()).startswith(
        "Zertifikat von Knoten kreis-mettmann (Organisation kreis-mettmann), Zugangstoken von "
        "Organisation caritas-mettmann")
    assert (event.node, event.organization) == ("kreis-mettmann", "kreis-mettmann")
    assert event.extra["client_id"] == "kim-node-caritas-mettmann"


def test_person_token_of_another_organisation_is_refused_too(
        federation: Federation, kreis: NodeCredentials,
        token_for: Callable[[str, str], str]) -> None:  # noqa: F811
    error, _ = refused(federation, lambda: call(
        federation, kreis, FIGURES, token_for("stadt-hilden", "c.manager")))
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "Zugangstoken von Organisation stadt-hilden" in str(error.details())


def test_declared_method_is_refused_on_the_plain_port(
        federation: Federation, kreis_token: str) -> None:
    error, event = refused(federation, lambda: call(federation, None, FIGURES, kreis_token))
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    assert "gegenseitiges TLS" in str(error.details())
    assert (event.action, event.node) == (FIGURES, None)
    assert event.subject, "the token named somebody: the refusal says who"


def test_a_peer_method_called_by_nobody_on_the_plain_port_is_counted_not_audited(
        federation: Federation) -> None:
    from kimnetz.runtime.audit import anonymous_refusals

    before, audited = anonymous_refusals.counts(), len(federation.audit.events)
    for _ in range(5):
        with pytest.raises(grpc.RpcError) as raised:
            call(federation, None, FIGURES, "kein.gueltiges.token")
        assert raised.value.code() == grpc.StatusCode.UNAUTHENTICATED
    after = anonymous_refusals.counts()
    reason = "Dieser Aufruf ist Knoten des Verbunds vorbehalten (gegenseitiges TLS)."
    assert after[reason] - before.get(reason, 0) == 5
    assert len(federation.audit.events) == audited


def test_join_method_is_open_to_any_federation_certificate_with_any_enabled_token(
        federation: Federation, token_for: Callable[[str, str], str]) -> None:  # noqa: F811
    """The directory's join calls: a joining node is not in the directory yet, and the Kreis's
    node admin may register a node of another organisation through that node's certificate."""
    joining = federation.ca.issue("caritas-neu")
    seen = call(federation, joining, JOIN, token_for("kreis-mettmann", "n.admin"), "n.admin")
    assert seen == "|||n.admin|caritas-neu|kreis-mettmann"
    # ... and, like any method that is not for peers only, to people on the plain port.
    assert call(federation, None, JOIN, token_for("kreis-mettmann", "n.admin")).endswith("kreis-mettmann")


def test_token_is_still_required_on_the_mutual_tls_port(
        federation: Federation, kreis: NodeCredentials) -> None:
    with peer_channel(federation.mutual, kreis, server_name="stadt-hilden") as channel, \
            pytest.raises(grpc.RpcError) as raised:
        channel.unary_unary(FIGURES)(b"", timeout=10)
    assert raised.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_acting_user_must_be_a_short_printable_name(
        federation: Federation, kreis: NodeCredentials, kreis_token: str) -> None:
    error, event = refused(federation, lambda: call(federation, kreis, FIGURES, kreis_token, "x" * 201))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert ACTING_USER_HEADER in event.reason or "handelnden Person" in event.reason
