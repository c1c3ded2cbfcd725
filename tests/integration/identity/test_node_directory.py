"""The node directory over real gRPC with real tokens from brokered logins, stored in the real
MongoDB-wire server; and the peer check reading it on a real mutual-TLS port."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

import grpc
import pytest

from kim.identity.v1 import identity_pb2 as pb, identity_pb2_grpc
from kimnetz.errors import FailedPrecondition, NotFound, PermissionDenied, Unavailable
from kimnetz.runtime import mongo, node
from kimnetz.runtime.audit import MemoryAuditSink
from kimnetz.runtime.auth import TokenValidator
from kimnetz.runtime.directory_snapshot import DirectorySnapshotStore, SnapshotRefresher
from kimnetz.runtime.event_trust import DirectoryEntry
from kimnetz.runtime.federation import FederationClient, FederationNode, GrpcDirectoryReader
from kimnetz.runtime.grpc_channels import peer_channel
from kimnetz.runtime.grpc_server import FederationListener, Registration, build_server
from kimnetz.runtime.peers import DirectoryPeerCheck, PeerRecord
from kimnetz.runtime.pki import DevCertificateAuthority, NodeCredentials, save_node_credentials
from kimnetz.runtime.service_account import ServiceAccount
from kimnetz.runtime.settings import Settings
from services.identity import api, node_trust
from services.identity.directory import DirectoryNode
from services.identity.directory_store import FingerprintClaim, MongoNodeDirectoryRepository, NodeDocument
from services.identity.organizations import FederationOrganizations
from tests.support.grpc_calls import violations
from tests.support.identity import LOCAL_FILE, LocalFederation

FEDERATION_METHOD = "/kim.test.v1.PeerTest/Ping"
CACHE_SECONDS = 1.0
Token = Callable[[str, str], str]


#: Stands for another service's api module: what it offers peer nodes.
PEER_TEST_API = ModuleType("tests.peer_test.api")
PEER_TEST_API.FEDERATION_METHODS = {  # type: ignore[attr-defined]
    FEDERATION_METHOD: frozenset({"municipality", "welfare_org"})}


@dataclass
class Node:
    """The Kreis's api process under test: identity service on the plain port, a federation
    test method on the mutual-TLS port guarded by the directory's peer check."""

    stub: identity_pb2_grpc.IdentityServiceStub
    mutual: str
    ca: DevCertificateAuthority
    audit: MemoryAuditSink
    plain: str = ""
    credentials: NodeCredentials | None = None


@pytest.fixture(scope="module")
def kreis_node(node_settings: Settings, local_federation: LocalFederation) -> Iterator[Node]:
    settings = node_settings.model_copy(update={"federation_file": str(LOCAL_FILE)})
    mongo.connect(settings, "identity")
    ca = DevCertificateAuthority.create()
    audit = MemoryAuditSink()

    def ping(request: bytes, context: grpc.ServicerContext) -> bytes:
        return b"pong"

    def add_test_method(server: grpc.Server) -> None:
        server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(
            "kim.test.v1.PeerTest", {"Ping": grpc.unary_unary_rpc_method_handler(ping)}),))

    check = DirectoryPeerCheck(MongoNodeDirectoryRepository().peer, cache_seconds=CACHE_SECONDS, audit=audit)
    credentials = ca.issue("kreis-mettmann")
    listener = FederationListener(
        "127.0.0.1:0", credentials,
        node_trust.federation_methods([api, PEER_TEST_API]), check, audit)
    validator = TokenValidator(local_federation.issuer, "kim-api",
                               organizations=FederationOrganizations(local_federation.federation))
    server, port, _ = build_server(
        [api.registration(settings), Registration("test", add_test_method)],
        address="127.0.0.1:0", validator=validator, federation=listener)
    server.start()
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    yield Node(identity_pb2_grpc.IdentityServiceStub(channel), f"127.0.0.1:{listener.port}", ca,
               audit, f"127.0.0.1:{port}", credentials)
    channel.close()
    server.stop(None)


@pytest.fixture(autouse=True)
def empty_directory(kreis_node: Node) -> None:
    """The declared node ids are few (local.yaml); each test starts from an empty directory."""
    NodeDocument.objects.delete()
    FingerprintClaim.objects.delete()


def bearer(token: str) -> list[tuple[str, str]]:
    return [("authorization", f"Bearer {token}")]


def fingerprint() -> str:
    return uuid.uuid4().hex + uuid.uuid4().hex


def registration(node_id: str = "stadt-hilden", organization: str = "stadt-hilden",
                 role: int = pb.NODE_ROLE_MUNICIPALITY, *fingerprints: str) -> pb.RegisterNodeRequest:
    return pb.RegisterNodeRequest(
        node_id=node_id, organization=organization, role=role,
        api_endpoint="127.0.0.1:50052", federation_endpoint="127.0.0.1:50152",
        certificate_fingerprints=list(fingerprints) or [fingerprint()])


def refused(call: Callable[[], object]) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as raised:
        call()
    return raised.value


def test_node_admin_registers_own_node_which_the_kreis_approves(kreis_node: Node, token_for: Token) -> None:
    stub, hilden_admin, kreis_admin = kreis_node.stub, token_for("stadt-hilden", "h.technik"), \
        token_for("kreis-mettmann", "n.admin")
    node = stub.RegisterNode(registration(), metadata=bearer(hilden_admin), timeout=10)
    assert (node.status, node.organization, node.role) == (
        pb.NODE_STATUS_PENDING, "stadt-hilden", pb.NODE_ROLE_MUNICIPALITY)
    approved = stub.ApproveNode(pb.ApproveNodeRequest(node_id="stadt-hilden", reason="geprüft"),
                                metadata=bearer(kreis_admin), timeout=10)
    assert approved.status == pb.NODE_STATUS_ACTIVE
    assert [(h.by, h.by_organization) for h in approved.history] == [
        ("h.technik", "stadt-hilden"), ("n.admin", "kreis-mettmann")]
    read = stub.GetNode(pb.GetNodeRequest(node_id="stadt-hilden"),
                        metadata=bearer(token_for("stadt-hilden", "c.manager")), timeout=10)
    assert read == approved


def test_node_admin_of_another_organisation_is_denied(kreis_node: Node, token_for: Token) -> None:
    error = refused(lambda: kreis_node.stub.RegisterNode(
        registration("caritas-mettmann", "caritas-mettmann", pb.NODE_ROLE_WELFARE_ORG),
        metadata=bearer(token_for("stadt-hilden", "h.technik")), timeout=10))
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "nur Knoten Ihrer Organisation" in str(error.details())


def test_only_the_kreis_approves(kreis_node: Node, token_for: Token) -> None:
    hilden_admin = token_for("stadt-hilden", "h.technik")
    kreis_node.stub.RegisterNode(registration(), metadata=bearer(hilden_admin), timeout=10)
    error = refused(lambda: kreis_node.stub.ApproveNode(
        pb.ApproveNodeRequest(node_id="stadt-hilden"), metadata=bearer(hilden_admin), timeout=10))
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED


def test_unknown_node_and_certificate_are_not_found(kreis_node: Node, token_for: Token) -> None:
    token = token_for("kreis-mettmann", "n.admin")
    error = refused(lambda: kreis_node.stub.GetNode(
        pb.GetNodeRequest(node_id="stadt-hilden"), metadata=bearer(token), timeout=10))
    assert error.code() == grpc.StatusCode.NOT_FOUND
    # ResolvePeer is the other nodes' peer check: on the mutual-TLS port, for active nodes.
    error = refused(lambda: kreis_node.stub.ResolvePeer(
        pb.ResolvePeerRequest(fingerprint=fingerprint()), metadata=bearer(token), timeout=10))
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    assert "gegenseitiges TLS" in str(error.details())


def resolve_peer(node: Node, credentials: NodeCredentials, token: str,
                 peer_fingerprint: str) -> pb.ResolvePeerResponse:
    with peer_channel(node.mutual, credentials, server_name="kreis-mettmann") as channel:
        answer: pb.ResolvePeerResponse = identity_pb2_grpc.IdentityServiceStub(channel).ResolvePeer(
            pb.ResolvePeerRequest(fingerprint=peer_fingerprint), metadata=bearer(token), timeout=10)
    return answer


def test_bad_registration_names_each_field(kreis_node: Node, token_for: Token) -> None:
    request = registration("stadt-hilden", "stadt-hilden", pb.NODE_ROLE_WELFARE_ORG, "nicht-hex")
    error = refused(lambda: kreis_node.stub.RegisterNode(
        request, metadata=bearer(token_for("kreis-mettmann", "n.admin")), timeout=10))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert set(violations(error)) == {"role", "certificate_fingerprints[0]"}


def test_a_certificate_belongs_to_one_node(kreis_node: Node, token_for: Token) -> None:
    token, shared = token_for("kreis-mettmann", "n.admin"), fingerprint()
    kreis_node.stub.RegisterNode(registration("stadt-hilden", "stadt-hilden",
                                              pb.NODE_ROLE_MUNICIPALITY, shared),
                                 metadata=bearer(token), timeout=10)
    error = refused(lambda: kreis_node.stub.RegisterNode(
        registration("caritas-mettmann", "caritas-mettmann", pb.NODE_ROLE_WELFARE_ORG, shared),
        metadata=bearer(token), timeout=10))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "gehört zum Knoten stadt-hilden" in str(error.details())


def test_the_database_gives_a_fingerprint_to_one_node_also_when_registrations_race(
        kreis_node: Node) -> None:
    """Two registrations that both passed the rules' owner check (read before either wrote):
    the store refuses the second and keeps nothing of it."""
    store, shared = MongoNodeDirectoryRepository(), fingerprint()

    def node(node_id: str, organization: str, role: str) -> DirectoryNode:
        return DirectoryNode(node_id, organization, role, "127.0.0.1:50052", "127.0.0.1:50152",
                             (shared,), "active")

    store.save(node("stadt-hilden", "stadt-hilden", "municipality"))
    with pytest.raises(FailedPrecondition, match="gehört zum Knoten stadt-hilden"):
        store.save(node("caritas-mettmann", "caritas-mettmann", "welfare_org"))
    assert store.find("caritas-mettmann") is None
    assert store.fingerprint_owner(shared) == "stadt-hilden"
    # The node itself may save again with its own fingerprint (endpoints, status).
    saved = store.get("stadt-hilden")
    assert store.save(saved).version == saved.version + 1


def test_list_nodes_by_status(kreis_node: Node, token_for: Token) -> None:
    stub = kreis_node.stub
    stub.RegisterNode(registration(), metadata=bearer(token_for("stadt-hilden", "h.technik")), timeout=10)
    stub.RegisterNode(registration("caritas-mettmann", "caritas-mettmann", pb.NODE_ROLE_WELFARE_ORG),
                      metadata=bearer(token_for("kreis-mettmann", "n.admin")), timeout=10)
    reader = bearer(token_for("caritas-mettmann", "m.beratung"))
    every = stub.ListNodes(pb.ListNodesRequest(), metadata=reader, timeout=10)
    pending = stub.ListNodes(pb.ListNodesRequest(status=pb.NODE_STATUS_PENDING), metadata=reader, timeout=10)
    assert [n.node_id for n in every.nodes] == ["caritas-mettmann", "stadt-hilden"]
    assert [n.node_id for n in pending.nodes] == ["stadt-hilden"]


def ping(target: str, credentials: NodeCredentials, token: str) -> bytes:
    with peer_channel(target, credentials, server_name="kreis-mettmann") as channel:
        answer: bytes = channel.unary_unary(FEDERATION_METHOD)(b"", metadata=bearer(token), timeout=5)
    return answer


def test_revoked_node_is_refused_on_the_mutual_tls_port_within_the_cache_time(
        kreis_node: Node, token_for: Token, local_federation: LocalFederation) -> None:
    kreis_admin = bearer(token_for("kreis-mettmann", "n.admin"))
    hilden = kreis_node.ca.issue("stadt-hilden")
    service_token = ServiceAccount(
        local_federation.server_url, local_federation.realm, "kim-node-stadt-hilden",
        local_federation.service_account_secret("stadt-hilden")).token()

    stranger = refused(lambda: ping(kreis_node.mutual, hilden, service_token))
    assert stranger.code() == grpc.StatusCode.PERMISSION_DENIED
    kreis_node.stub.RegisterNode(
        registration("stadt-hilden", "stadt-hilden", pb.NODE_ROLE_MUNICIPALITY, hilden.fingerprint),
        metadata=kreis_admin, timeout=10)
    time.sleep(CACHE_SECONDS)  # the "not registered" answer above ages out
    assert ping(kreis_node.mutual, hilden, service_token) == b"pong"
    resolved = resolve_peer(kreis_node, hilden, service_token, hilden.fingerprint.upper())
    assert (resolved.node_id, resolved.active) == ("stadt-hilden", True)
    unknown = refused(lambda: resolve_peer(kreis_node, hilden, service_token, fingerprint()))
    assert unknown.code() == grpc.StatusCode.NOT_FOUND

    kreis_node.stub.RevokeNode(pb.RevokeNodeRequest(node_id="stadt-hilden", reason="Schlüssel verloren"),
                               metadata=kreis_admin, timeout=10)
    revoked_at = time.monotonic()
    while True:
        try:
            ping(kreis_node.mutual, hilden, service_token)
        except grpc.RpcError as error:
            assert error.code() == grpc.StatusCode.PERMISSION_DENIED
            assert "widerrufen" in str(error.details())
            break
        assert time.monotonic() - revoked_at < CACHE_SECONDS + 0.5, "revoked node still served"
        time.sleep(0.1)
    assert kreis_node.audit.events[-1].node == "stadt-hilden"
    assert kreis_node.audit.events[-1].outcome == "denied"


def test_other_nodes_resolve_peers_through_the_kreis_directory(
        kreis_node: Node, token_for: Token, local_federation: LocalFederation,
        node_settings: Settings, tmp_path: Path) -> None:
    """The Caritas node's peer check, wired as bootstrap wires it with KIM_DIRECTORY_TARGET,
    asks the Kreis node over mutual TLS with the Caritas service account."""
    caritas_certificate = kreis_node.ca.issue("caritas-mettmann")
    save_node_credentials(caritas_certificate, tmp_path)
    caritas = node_settings.model_copy(update={
        "directory_target": kreis_node.mutual, "keycloak_realm": local_federation.realm,
        "client_id": "kim-node-caritas-mettmann",
        "client_secret": local_federation.service_account_secret("caritas-mettmann"),
    })
    resolve = node_trust.peer_resolver(caritas, node_trust.node_credentials(str(tmp_path)))
    # ResolvePeer is for active nodes: a certificate the directory does not know is refused,
    # and the Caritas node's own peer check then refuses its callers (fail closed).
    with pytest.raises(PermissionDenied, match="Knotenverzeichnis lehnt seine Anfrage ab"):
        resolve(fingerprint())
    kreis_node.stub.RegisterNode(
        registration("caritas-mettmann", "caritas-mettmann", pb.NODE_ROLE_WELFARE_ORG,
                     caritas_certificate.fingerprint),
        metadata=bearer(token_for("kreis-mettmann", "n.admin")), timeout=10)
    time.sleep(CACHE_SECONDS)  # the refusal above ages out of the Kreis's peer cache
    hilden = fingerprint()
    assert resolve(hilden) is None
    kreis_node.stub.RegisterNode(
        registration("stadt-hilden", "stadt-hilden", pb.NODE_ROLE_MUNICIPALITY, hilden),
        metadata=bearer(token_for("stadt-hilden", "h.technik")), timeout=10)
    assert resolve(hilden) == PeerRecord("stadt-hilden", "stadt-hilden", "municipality", "pending")


def service_account(local_federation: LocalFederation, node_id: str) -> ServiceAccount:
    return ServiceAccount(local_federation.server_url, local_federation.realm, f"kim-node-{node_id}",
                          local_federation.service_account_secret(node_id))


def test_federation_client_lists_active_nodes_and_calls_a_peer_as_its_node(
        kreis_node: Node, token_for: Token, local_federation: LocalFederation,
        node_settings: Settings, tmp_path: Path) -> None:
    """A node's service account reads the directory (over the Kreis's mutual-TLS port, or the
    Kreis's own plain port) and calls a peer's method; refusals come back as kimnetz.errors and
    are audited on both sides."""
    assert kreis_node.credentials is not None
    kreis_admin = bearer(token_for("kreis-mettmann", "n.admin"))
    caritas = kreis_node.ca.issue("caritas-mettmann")
    for node_id, organization, role, credentials in (
            ("kreis-mettmann", "kreis-mettmann", pb.NODE_ROLE_DISTRICT, kreis_node.credentials),
            ("caritas-mettmann", "caritas-mettmann", pb.NODE_ROLE_WELFARE_ORG, caritas)):
        request = registration(node_id, organization, role, credentials.fingerprint)
        request.federation_endpoint = kreis_node.mutual if node_id == "kreis-mettmann" else "127.0.0.1:1"
        kreis_node.stub.RegisterNode(request, metadata=kreis_admin, timeout=10)
    kreis_node.stub.RegisterNode(registration(), metadata=bearer(token_for("stadt-hilden", "h.technik")),
                                 timeout=10)  # pending: not among the nodes one may call
    time.sleep(CACHE_SECONDS)  # earlier tests' answers for these certificates age out

    account = service_account(local_federation, "caritas-mettmann")
    directory = peer_channel(kreis_node.mutual, caritas)
    audit = MemoryAuditSink()
    client = FederationClient(
        node_id="caritas-mettmann", organization="caritas-mettmann", credentials=caritas,
        token=account.token, directory=GrpcDirectoryReader(directory, account.token), audit=audit,
        closers=(directory.close,))
    try:
        assert client.nodes() == [  # with the organisations' names from the federation file
            FederationNode("caritas-mettmann", "caritas-mettmann", "welfare_org", "127.0.0.1:1",
                           "Caritasverband für den Kreis Mettmann e. V.", (caritas.fingerprint,)),
            FederationNode("kreis-mettmann", "kreis-mettmann", "district", kreis_node.mutual,
                           "Kreis Mettmann – Kommunales Integrationszentrum",
                           (kreis_node.credentials.fingerprint,))]

        granted = len(kreis_node.audit.events)
        answer = client.call("kreis-mettmann", "/kim.identity.v1.IdentityService/ResolvePeer",
                             pb.ResolvePeerRequest(fingerprint=caritas.fingerprint),
                             pb.ResolvePeerResponse, acting_user="j.müller")
        assert (answer.node_id, answer.active) == ("caritas-mettmann", True)
        event = kreis_node.audit.events[granted]
        assert (event.kind, event.outcome, event.node, event.extra["acting_user"]) == (
            "federation", "granted", "caritas-mettmann", "j.müller")

        with pytest.raises(NotFound, match="Beim Knoten kreis-mettmann nicht gefunden"):
            client.call("kreis-mettmann", "/kim.identity.v1.IdentityService/ResolvePeer",
                        pb.ResolvePeerRequest(fingerprint=fingerprint()), pb.ResolvePeerResponse)
        assert audit.events == []  # not found is an answer, not a refusal

        with pytest.raises(PermissionDenied, match="Der Knoten kreis-mettmann hat den Aufruf abgelehnt"):
            client.call("kreis-mettmann", "/kim.identity.v1.IdentityService/WhoAmI",
                        pb.WhoAmIRequest(), pb.WhoAmIResponse, acting_user="m.beratung")
        [refusal] = audit.events
        assert (refusal.kind, refusal.outcome, refusal.node, refusal.action, refusal.username) == (
            "federation", "denied", "kreis-mettmann", "/kim.identity.v1.IdentityService/WhoAmI",
            "m.beratung")
        assert kreis_node.audit.events[-1].outcome == "denied"  # and on the receiving side

        with pytest.raises(Unavailable, match="caritas-mettmann ist nicht erreichbar"):
            client.call("caritas-mettmann", "/kim.identity.v1.IdentityService/ResolvePeer",
                        pb.ResolvePeerRequest(fingerprint=caritas.fingerprint),
                        pb.ResolvePeerResponse, timeout=2)
    finally:
        client.close()

    # The Kreis keeps the directory: its client reads it from its own plain port.
    save_node_credentials(kreis_node.credentials, tmp_path)
    host, port = kreis_node.plain.rsplit(":", 1)
    kreis_settings = node_settings.model_copy(update={
        "node_id": "kreis-mettmann", "organization_id": "kreis-mettmann", "grpc_host": host,
        "grpc_port": int(port), "federation_port": int(kreis_node.mutual.rsplit(":", 1)[1]),
        "tls_dir": str(tmp_path), "directory_target": "", "keycloak_realm": local_federation.realm,
        "client_id": "kim-node-kreis-mettmann",
        "client_secret": local_federation.service_account_secret("kreis-mettmann")})
    kreis_client = FederationClient.from_settings(kreis_settings)
    assert kreis_client is not None
    try:
        assert [n.node_id for n in kreis_client.nodes()] == ["caritas-mettmann", "kreis-mettmann"]
        own = kreis_client.call("kreis-mettmann", "/kim.identity.v1.IdentityService/ResolvePeer",
                                pb.ResolvePeerRequest(fingerprint=caritas.fingerprint),
                                pb.ResolvePeerResponse)
        assert own.organization == "caritas-mettmann"
    finally:
        kreis_client.close()
    assert FederationClient.from_settings(node_settings.model_copy(update={"federation_port": 0})) is None


def test_the_workers_directory_snapshot_is_the_directory_read_at_the_kreis_or_over_mutual_tls(
        kreis_node: Node, token_for: Token, local_federation: LocalFederation,
        node_settings: Settings, tmp_path: Path) -> None:
    """What the api process copies into the node database for the workers' event verification
    (kimnetz/runtime/directory_snapshot.py): the Kreis reads its own store, the Caritas node the
    Kreis's ListNodes on its mutual-TLS port; every status is there (a pending node's events
    are refused, not retried)."""
    caritas_certificate = kreis_node.ca.issue("caritas-mettmann")
    save_node_credentials(caritas_certificate, tmp_path)
    kreis_node.stub.RegisterNode(
        registration("caritas-mettmann", "caritas-mettmann", pb.NODE_ROLE_WELFARE_ORG,
                     caritas_certificate.fingerprint),
        metadata=bearer(token_for("kreis-mettmann", "n.admin")), timeout=10)
    hilden = fingerprint()
    kreis_node.stub.RegisterNode(
        registration("stadt-hilden", "stadt-hilden", pb.NODE_ROLE_MUNICIPALITY, hilden),
        metadata=bearer(token_for("stadt-hilden", "h.technik")), timeout=10)
    expected = {
        caritas_certificate.fingerprint: DirectoryEntry(
            caritas_certificate.fingerprint, "caritas-mettmann", "caritas-mettmann", "welfare_org", "active"),
        hilden: DirectoryEntry(hilden, "stadt-hilden", "stadt-hilden", "municipality", "pending"),
    }
    federated = node_settings.model_copy(update={"federation_file": str(LOCAL_FILE)})
    at_kreis = node_trust.directory_listing(federated)
    caritas = federated.model_copy(update={
        "directory_target": kreis_node.mutual, "keycloak_realm": local_federation.realm,
        "client_id": "kim-node-caritas-mettmann", "tls_dir": str(tmp_path),
        "client_secret": local_federation.service_account_secret("caritas-mettmann"),
    })
    at_caritas = node_trust.directory_listing(caritas)
    assert at_kreis is not None and at_caritas is not None
    assert {e.fingerprint: e for e in at_kreis()} == expected
    assert {e.fingerprint: e for e in at_caritas()} == expected
    assert node_trust.directory_listing(node_settings) is None, "off a federation: no directory"

    node.connect(node_settings)
    store = DirectorySnapshotStore()
    assert SnapshotRefresher(at_caritas, store).refresh()
    snapshot = store.read()
    assert snapshot.entries == expected
    assert snapshot.refreshed_at is not None and snapshot.refreshed_at <= datetime.now(UTC)

    def unreachable() -> list[DirectoryEntry]:
        raise Unavailable("weg")

    assert not SnapshotRefresher(unreachable, store).refresh()
    assert store.read() == snapshot, "a failed read keeps the last snapshot and its time"
