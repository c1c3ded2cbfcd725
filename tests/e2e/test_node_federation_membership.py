"""Nodes as members of a real federation, set up as an operator does: `kim node init
--federation-file` writes the membership settings and keeps the service account's secret in a
file of its own; `kim node join` enters a node into the node directory of a running Kreis node
(real processes, real gRPC over mutual TLS, real tokens from brokered logins).

The federation is local.yaml with unique realm names and node ids (`unique_federation_file`):
the node processes read the file themselves, and a node id names databases and a broker vhost,
so the demo's nodes and parallel test sessions are never touched."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest

from kim.identity.v1 import identity_pb2, identity_pb2_grpc
from kimctl import nodes
from kimnetz.runtime.broker_admin import node_user
from kimnetz.runtime.pki import fingerprint
from kimnetz.runtime.settings import Settings
from tests.e2e.test_node_smoke import free_port
from tests.support import servers
from tests.support.identity import LocalFederation, unique_federation_file


@dataclass
class Federation:
    home: Path
    file: Path
    local: LocalFederation
    ids: dict[str, str]  # organisation -> node id
    kreis: Settings  # the running Kreis node

    def kim(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(Path(sys.executable).with_name("kim")), *args], capture_output=True, text=True,
            env={**os.environ, "KIM_HOME": str(self.home)}, timeout=120, check=False)

    def directory(self) -> identity_pb2_grpc.IdentityServiceStub:
        channel = grpc.insecure_channel(f"127.0.0.1:{self.kreis.grpc_port}")
        return identity_pb2_grpc.IdentityServiceStub(channel)  # type: ignore[no-untyped-call]

    def get_node(self, node_id: str) -> identity_pb2.Node:
        token = self.local.token_for("kreis-mettmann", "n.admin")
        return self.directory().GetNode(identity_pb2.GetNodeRequest(node_id=node_id),
                                        metadata=[("authorization", f"Bearer {token}")], timeout=10)


@pytest.fixture(scope="module")
def federation(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Federation]:
    home = tmp_path_factory.mktemp("kim-home")
    suffix = f"t{uuid.uuid4().hex[:6]}"
    file = unique_federation_file(home / "federation.yaml", suffix)
    local = LocalFederation.start(file, rename=False)
    # The context undoes KIM_HOME even when clean-up fails (a broker that is down), so later
    # tests never see this fixture's home.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KIM_HOME", str(home))
        try:
            base = Settings()
            servers.require_tcp("MongoDB-wire server (FerretDB)", base.mongodb_uri, 27017)
            ids = {n.organization: n.id for n in local.federation.nodes}
            kreis_id = ids["kreis-mettmann"]
            try:
                nodes.init(nodes.NodeSpec(kreis_id, "kreis-mettmann", free_port(), file, free_port()), base)
                kreis = nodes.up(kreis_id, extra={"KIM_OUTBOX_SWEEP_SECONDS": "0.5"})
                yield Federation(home, file, local, ids, kreis)
            finally:
                nodes.down(kreis_id)
                admin = servers.broker_admin(base)
                for node_id in ids.values():
                    admin.delete_vhost(node_id)
                    admin.delete_user(node_user(node_id))
                    servers.drop_databases(base.model_copy(update={"node_id": node_id}))
        finally:
            local.close()


def test_init_with_federation_file_writes_membership_and_keeps_the_secret_in_a_private_file(
    federation: Federation,
) -> None:
    node_id = federation.ids["stadt-hilden"]
    kreis_peer = f"127.0.0.1:{federation.kreis.federation_port}"
    done = federation.kim("node", "init", node_id, "--grpc-port", "50999", "--federation-file",
                          str(federation.file), "--federation-port", "50998", "--directory", kreis_peer)
    assert done.returncode == 0, done.stdout + done.stderr
    folder = federation.home / "nodes" / node_id
    env = nodes.read_env_file(folder / "node.env")
    secret_file = folder / "client-secret"
    assert env == {
        "KIM_NODE_ID": node_id, "KIM_ORGANIZATION_ID": "stadt-hilden",  # from the file
        "KIM_GRPC_PORT": "50999", "AMQP_URI": env["AMQP_URI"],
        "RABBITMQ_MANAGEMENT_URL": Settings().rabbitmq_management_url,  # its broker (kim node link)
        "KIM_FEDERATION_FILE": str(federation.file.resolve()),
        "KIM_KEYCLOAK_REALM": federation.local.realm, "KIM_CLIENT_ID": f"kim-node-{node_id}",
        "KIM_CLIENT_SECRET_FILE": str(secret_file),
        "KIM_FEDERATION_PORT": "50998", "KIM_TLS_DIR": str(folder / "tls"),
        "KIM_DIRECTORY_TARGET": kreis_peer,
        # The portal (docs/portal.md): its client and secret, the home login, no hosted logins
        # (a Stadt hosts nobody), its port and the key of its CSRF tokens.
        "KIM_PORTAL_CLIENT_ID": f"kim-portal-{node_id}",
        "KIM_PORTAL_CLIENT_SECRET_FILE": str(folder / "portal-client-secret"),
        "KIM_PORTAL_IDP_HINT": "stadt-hilden-idp", "KIM_PORTAL_HOSTED_LOGINS": "",
        "KIM_PORTAL_ORGANIZATION_NAME": "Stadt Hilden", "KIM_PORTAL_PORT": env["KIM_PORTAL_PORT"],
        "KIM_PORTAL_SESSION_SECRET_FILE": str(folder / "portal-session-secret"),
    }
    assert env["AMQP_URI"].endswith(f"/{node_id}")
    secret = federation.local.service_account_secret(node_id)
    assert secret_file.read_text() == secret
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    assert secret not in (folder / "node.env").read_text()
    # The node's processes read the secret through KIM_CLIENT_SECRET_FILE.
    assert nodes.node_settings(node_id).client_secret == secret


def test_init_refuses_a_node_the_federation_file_does_not_declare(federation: Federation) -> None:
    done = federation.kim("node", "init", "not-declared", "--grpc-port", "50997",
                          "--federation-file", str(federation.file))
    assert done.returncode == 2
    assert "steht nicht in" in done.stdout
    assert not (federation.home / "nodes" / "not-declared").exists()


def test_join_registers_the_node_in_the_kreis_directory_over_mutual_tls_once(
    federation: Federation,
) -> None:
    node_id = federation.ids["caritas-mettmann"]
    kreis_peer = f"127.0.0.1:{federation.kreis.federation_port}"
    nodes.init(nodes.NodeSpec(node_id, "caritas-mettmann", free_port(), federation.file, free_port(),
                              kreis_peer), Settings())
    settings = nodes.node_settings(node_id)
    certificate = (federation.home / "nodes" / node_id / "tls" / "node.crt").read_bytes()

    # Caritas has no node administrator of its own in local.yaml; the Kreis's registers it
    # (through the Caritas node's certificate on the Kreis's mutual-TLS port).
    joined = nodes.join(node_id, federation.local.token_for("kreis-mettmann", "n.admin"))
    assert joined.changed
    node = federation.get_node(node_id)
    assert node.status == identity_pb2.NODE_STATUS_ACTIVE
    assert list(node.certificate_fingerprints) == [fingerprint(certificate)]
    assert node.api_endpoint == f"127.0.0.1:{settings.grpc_port}"
    assert node.federation_endpoint == f"127.0.0.1:{settings.federation_port}"
    assert node.role == identity_pb2.NODE_ROLE_WELFARE_ORG

    again = nodes.join(node_id, federation.local.token_for("kreis-mettmann", "n.admin"))
    assert not again.changed
    assert len(federation.get_node(node_id).history) == len(node.history)


def test_join_as_the_organisations_node_admin_waits_for_the_kreis_and_approve_admits(
    federation: Federation,
) -> None:
    node_id = federation.ids["stadt-hilden"]
    nodes.init(nodes.NodeSpec(node_id, "stadt-hilden", free_port(), federation.file, free_port(),
                              f"127.0.0.1:{federation.kreis.federation_port}"), Settings())
    passwords = str(federation.local.sync.passwords.path)
    done = federation.kim("node", "join", node_id, "--dev-user", "stadt-hilden/h.technik",
                          "--passwords", passwords)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "beantragt" in done.stdout
    assert federation.get_node(node_id).status == identity_pb2.NODE_STATUS_PENDING

    # Stadt's node administrator may not approve, nor enter another organisation's node.
    refused = federation.kim("node", "approve", node_id, "--via", node_id, "--dev-user",
                             "stadt-hilden/h.technik", "--passwords", passwords)
    assert refused.returncode == 1 and "PERMISSION_DENIED" in refused.stdout
    caritas = federation.ids["caritas-mettmann"]
    if not (federation.home / "nodes" / caritas / "node.env").exists():
        nodes.init(nodes.NodeSpec(caritas, "caritas-mettmann", free_port(), federation.file,
                                  free_port(), f"127.0.0.1:{federation.kreis.federation_port}"),
                   Settings())
    with nodes.directory_channel(node_id) as channel, pytest.raises(grpc.RpcError) as foreign:
        identity_pb2_grpc.IdentityServiceStub(channel).RegisterNode(  # type: ignore[no-untyped-call]
            nodes.registration(caritas), timeout=10, metadata=[
                ("authorization", f"Bearer {federation.local.token_for('stadt-hilden', 'h.technik')}")])
    assert foreign.value.code() == grpc.StatusCode.PERMISSION_DENIED

    approved = federation.kim("node", "approve", node_id, "--via", federation.ids["kreis-mettmann"],
                              "--dev-user", "kreis-mettmann/n.admin", "--passwords", passwords)
    assert approved.returncode == 0, approved.stdout + approved.stderr
    assert federation.get_node(node_id).status == identity_pb2.NODE_STATUS_ACTIVE

    again = federation.kim("node", "join", node_id, "--dev-user", "stadt-hilden/h.technik",
                           "--passwords", passwords)
    assert again.returncode == 0 and "war bereits eingetragen: freigegeben" in again.stdout


def test_join_of_a_node_without_federation_membership_says_what_is_missing(
    federation: Federation,
) -> None:
    nodes.init(nodes.NodeSpec("plain-dev-node", "dev", free_port()), Settings())
    try:
        done = federation.kim("node", "join", "plain-dev-node", "--dev-user", "kreis-mettmann/n.admin",
                              "--passwords", str(federation.local.sync.passwords.path))
        assert done.returncode == 1
        assert "kein Verbundmitglied" in done.stdout
    finally:
        servers.broker_admin(Settings()).delete_vhost("plain-dev-node")
        servers.broker_admin(Settings()).delete_user(node_user("plain-dev-node"))


def test_federation_client_of_a_member_node_reads_the_directory_and_calls_the_kreis_node(
    federation: Federation,
) -> None:
    """`FederationClient.from_settings` as a member node's services build it: directory and
    peer call over the running Kreis node's mutual-TLS port, with the node's service account."""
    from kimnetz.errors import PermissionDenied
    from kimnetz.runtime.audit import MemoryAuditSink
    from kimnetz.runtime.federation import FederationClient

    kreis_id, caritas_id = federation.ids["kreis-mettmann"], federation.ids["caritas-mettmann"]
    if not (federation.home / "nodes" / caritas_id / "node.env").exists():
        nodes.init(nodes.NodeSpec(caritas_id, "caritas-mettmann", free_port(), federation.file,
                                  free_port(), f"127.0.0.1:{federation.kreis.federation_port}"),
                   Settings())
    admin = federation.local.token_for("kreis-mettmann", "n.admin")
    for node_id in (kreis_id, caritas_id):
        nodes.join(node_id, admin)  # idempotent; the Kreis enters both active

    audit = MemoryAuditSink()
    client = FederationClient.from_settings(nodes.node_settings(caritas_id), audit)
    assert client is not None
    try:
        listed = {n.node_id: n for n in client.nodes()}
        assert listed[kreis_id].role == "district"
        assert listed[kreis_id].federation_endpoint == f"127.0.0.1:{federation.kreis.federation_port}"
        assert listed[caritas_id].organization == "caritas-mettmann"
        caritas_fingerprint = nodes.node_credentials(caritas_id).fingerprint
        answer = client.call(kreis_id, "/kim.identity.v1.IdentityService/ResolvePeer",
                             identity_pb2.ResolvePeerRequest(fingerprint=caritas_fingerprint),
                             identity_pb2.ResolvePeerResponse, acting_user="m.beratung")
        assert (answer.node_id, answer.active) == (caritas_id, True)
        with pytest.raises(PermissionDenied, match=f"Der Knoten {kreis_id} hat den Aufruf abgelehnt"):
            client.call(kreis_id, "/kim.identity.v1.IdentityService/WhoAmI",
                        identity_pb2.WhoAmIRequest(), identity_pb2.WhoAmIResponse)
        assert [(e.kind, e.outcome, e.node) for e in audit.events] == [
            ("federation", "denied", kreis_id)]
    finally:
        client.close()

    kreis_client = FederationClient.from_settings(nodes.node_settings(kreis_id))
    assert kreis_client is not None
    try:  # the Kreis reads the directory it keeps from its own api port
        assert {kreis_id, caritas_id} <= {n.node_id for n in kreis_client.nodes()}
    finally:
        kreis_client.close()
