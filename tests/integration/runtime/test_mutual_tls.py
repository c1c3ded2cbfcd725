"""Federation calls over mutual TLS on a real gRPC server: only a peer node with a certificate of
the federation's CA that the node directory knows is served; nobody reaches a federation method
over the plain port. (The rules on roles, tokens and audit: test_peer_rules.py.)"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import grpc
import pytest

from kimnetz.errors import PermissionDenied
from kimnetz.runtime.grpc_channels import peer_channel
from kimnetz.runtime.grpc_peer import Peer, current_peer
from kimnetz.runtime.grpc_server import FederationListener, Registration, build_server
from kimnetz.runtime.peers import PeerRecord
from kimnetz.runtime.pki import DevCertificateAuthority, NodeCredentials

FEDERATION = "/kim.test.v1.Federation/"


@dataclass
class Federation:
    plain: str
    mutual: str
    ca: DevCertificateAuthority
    directory: dict[str, str]  # fingerprint -> node id


@pytest.fixture(scope="module")
def federation() -> Iterator[Federation]:
    ca = DevCertificateAuthority.create()
    kreis = ca.issue("kreis")
    directory: dict[str, str] = {}

    def whoami(request: bytes, context: grpc.ServicerContext) -> bytes:
        peer = current_peer.get()
        return (f"{peer.common_name}/{peer.node_id}" if peer else "-").encode()

    def add(server: grpc.Server) -> None:
        server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(
            "kim.test.v1.Federation", {"WhoAmI": grpc.unary_unary_rpc_method_handler(whoami)}),))

    def check(peer: Peer, method: str) -> PeerRecord:
        if directory.get(peer.fingerprint) != peer.common_name:
            raise PermissionDenied(f"Der Knoten {peer.common_name} ist im Verbund nicht eingetragen.")
        return PeerRecord(peer.common_name, peer.common_name, "district", "active")

    listener = FederationListener("127.0.0.1:0", kreis, {FEDERATION + "WhoAmI": frozenset({"district"})},
                                  check)
    server, port, _ = build_server(
        [Registration("test", add)], address="127.0.0.1:0", validator=None, federation=listener)
    server.start()
    yield Federation(f"127.0.0.1:{port}", f"127.0.0.1:{listener.port}", ca, directory)
    server.stop(None)


def call(channel: grpc.Channel) -> bytes:
    result: bytes = channel.unary_unary(FEDERATION + "WhoAmI")(b"", timeout=5)
    return result


def register(federation: Federation, node: str) -> NodeCredentials:
    credentials = federation.ca.issue(node)
    federation.directory[credentials.fingerprint] = node
    return credentials


def test_registered_peer_is_served_and_known_to_the_servicer(federation: Federation) -> None:
    caritas = register(federation, "caritas")
    with peer_channel(federation.mutual, caritas, server_name="kreis") as channel:
        assert call(channel) == b"caritas/caritas"


def test_certificate_of_the_ca_without_directory_entry_is_denied(federation: Federation) -> None:
    stranger = federation.ca.issue("unregistered-node")
    with peer_channel(federation.mutual, stranger, server_name="kreis") as channel, \
            pytest.raises(grpc.RpcError) as raised:
        call(channel)
    assert raised.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "nicht eingetragen" in raised.value.details()


def test_revoked_peer_is_denied_from_the_next_call_on(federation: Federation) -> None:
    diakonie = register(federation, "diakonie")
    with peer_channel(federation.mutual, diakonie, server_name="kreis") as channel:
        assert call(channel) == b"diakonie/diakonie"
        del federation.directory[diakonie.fingerprint]
        with pytest.raises(grpc.RpcError) as raised:
            call(channel)
    assert raised.value.code() == grpc.StatusCode.PERMISSION_DENIED


def test_certificate_of_another_ca_fails_the_handshake(federation: Federation) -> None:
    impostor = DevCertificateAuthority.create("Fremde CA").issue("caritas")
    trusting_our_ca = NodeCredentials(impostor.key, impostor.certificate, federation.ca.ca_pem)
    with peer_channel(federation.mutual, trusting_our_ca, server_name="kreis") as channel, \
            pytest.raises(grpc.RpcError) as raised:
        call(channel)
    assert raised.value.code() == grpc.StatusCode.UNAVAILABLE


def test_federation_method_is_refused_on_the_plain_port(federation: Federation) -> None:
    with grpc.insecure_channel(federation.plain) as channel, pytest.raises(grpc.RpcError) as raised:
        call(channel)
    assert raised.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert "gegenseitiges TLS" in raised.value.details()
