"""An api process built by kimnetz.bootstrap for a node of a federation: the organisation check is
on (a token of an organisation missing from the node's federation file is refused), every
decision at the door is audited, and the mutual-TLS port opens with the node's certificate."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import pytest
import yaml
from grpc_health.v1 import health_pb2, health_pb2_grpc

from kim.identity.v1 import identity_pb2, identity_pb2_grpc
from kimnetz.bootstrap import ApiProcess, build_api_process
from kimnetz.runtime.audit import MemoryAuditSink
from kimnetz.runtime.grpc_channels import peer_channel
from kimnetz.runtime.pki import DevCertificateAuthority, NodeCredentials, save_node_credentials
from kimnetz.runtime.settings import Settings
from tests.support.identity import LOCAL_FILE, LocalFederation

WHOAMI = "/kim.identity.v1.IdentityService/WhoAmI"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def without_caritas(target: Path) -> Path:
    """The node's copy of the federation file after the Kreis removed the Caritas."""
    data = yaml.safe_load(LOCAL_FILE.read_text(encoding="utf-8"))
    data["organizations"] = [o for o in data["organizations"] if o["alias"] != "caritas-mettmann"]
    data["nodes"] = [n for n in data["nodes"] if n["organization"] != "caritas-mettmann"]
    target.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return target


@pytest.fixture(scope="module")
def ca() -> DevCertificateAuthority:
    return DevCertificateAuthority.create()


@pytest.fixture(scope="module")
def audit() -> MemoryAuditSink:
    return MemoryAuditSink()


@pytest.fixture(scope="module")
def process(node_settings: Settings, local_federation: LocalFederation, ca: DevCertificateAuthority,
            audit: MemoryAuditSink, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiProcess]:
    folder = tmp_path_factory.mktemp("node")
    save_node_credentials(ca.issue("kreis-mettmann"), folder / "tls")
    settings = node_settings.model_copy(update={
        "keycloak_realm": local_federation.realm,
        "grpc_services": "identity",
        "federation_file": str(without_caritas(folder / "federation.yaml")),
        "federation_port": free_port(),
        "tls_dir": str(folder / "tls"),
    })
    api = build_api_process(settings, address="127.0.0.1:0", audit=audit)
    api.start()
    yield api
    api.stop(None)


def who(process: ApiProcess, token: str) -> identity_pb2.WhoAmIResponse:
    with grpc.insecure_channel(f"127.0.0.1:{process.port}") as channel:
        response: identity_pb2.WhoAmIResponse = identity_pb2_grpc.IdentityServiceStub(channel).WhoAmI(
            identity_pb2.WhoAmIRequest(), metadata=[("authorization", f"Bearer {token}")], timeout=10)
    return response


def test_token_of_an_organisation_missing_from_the_federation_file_is_refused_and_audited(
        process: ApiProcess, token_for: Callable[[str, str], str], audit: MemoryAuditSink) -> None:
    with pytest.raises(grpc.RpcError) as raised:
        who(process, token_for("caritas-mettmann", "m.beratung"))
    assert raised.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert "nicht (mehr) freigeschaltet" in str(raised.value.details())
    event = audit.events[-1]
    assert (event.kind, event.outcome, event.action) == ("authentication", "denied", WHOAMI)


def test_member_is_accepted_and_the_acceptance_audited(
        process: ApiProcess, token_for: Callable[[str, str], str], audit: MemoryAuditSink) -> None:
    me = who(process, token_for("stadt-hilden", "c.manager"))
    assert (me.organization, me.principal_node_id) == ("stadt-hilden", "")
    event = audit.events[-1]
    assert (event.outcome, event.username, event.organization) == ("granted", "c.manager", "stadt-hilden")


def test_service_account_names_its_node(process: ApiProcess, local_federation: LocalFederation) -> None:
    from kimnetz.runtime.service_account import ServiceAccount

    token = ServiceAccount(local_federation.server_url, local_federation.realm, "kim-node-stadt-hilden",
                           local_federation.service_account_secret("stadt-hilden")).token()
    assert who(process, token).principal_node_id == "stadt-hilden"


def test_mutual_tls_port_serves_peers_of_the_federation_ca(
        process: ApiProcess, ca: DevCertificateAuthority) -> None:
    assert process.federation_port != 0
    peer: NodeCredentials = ca.issue("stadt-hilden")
    with peer_channel(f"127.0.0.1:{process.federation_port}", peer, server_name="kreis-mettmann") as channel:
        health = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=10)
    assert health.status == health_pb2.HealthCheckResponse.SERVING
    stranger = DevCertificateAuthority.create("Fremde CA").issue("stadt-hilden")
    with peer_channel(f"127.0.0.1:{process.federation_port}",
                      NodeCredentials(stranger.key, stranger.certificate, ca.ca_pem),
                      server_name="kreis-mettmann") as channel, pytest.raises(grpc.RpcError) as raised:
        health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=10)
    assert raised.value.code() == grpc.StatusCode.UNAVAILABLE
