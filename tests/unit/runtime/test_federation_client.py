"""The pure parts of peer calls: the client's view of the directory (active nodes, cached), the
German errors naming the node, and the acting-user header the door accepts."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf.empty_pb2 import Empty

from kimnetz import errors
from kimnetz.runtime.federation import FederationClient, FederationNode, map_peer_error
from kimnetz.runtime.grpc_peer import ACTING_USER_HEADER, acting_user_header, acting_user_of
from kimnetz.runtime.pki import DevCertificateAuthority

KREIS = FederationNode("kreis-mettmann", "kreis-mettmann", "district", "127.0.0.1:50151")
STADT = FederationNode("stadt-hilden", "stadt-hilden", "municipality", "127.0.0.1:50152")


class Directory:
    def __init__(self) -> None:
        self.nodes = [KREIS, STADT]
        self.reads = 0

    def __call__(self) -> list[FederationNode]:
        self.reads += 1
        return list(self.nodes)


class Clock:
    now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def client_parts() -> tuple[FederationClient, Directory, Clock]:
    directory, clock = Directory(), Clock()
    client = FederationClient(
        node_id="caritas-mettmann", organization="caritas-mettmann",
        credentials=DevCertificateAuthority.create().issue("caritas-mettmann"),
        token=lambda: "token", directory=directory, nodes_cache_seconds=30, clock=clock)
    return client, directory, clock


def test_nodes_are_read_once_per_cache_time(client_parts: tuple[FederationClient, Directory, Clock]) -> None:
    client, directory, clock = client_parts
    assert client.nodes() == [KREIS, STADT]
    directory.nodes = [KREIS]  # Stadt revoked
    clock.now += 29
    assert client.node("stadt-hilden") == STADT
    assert directory.reads == 1
    clock.now += 2
    with pytest.raises(errors.NotFound, match="stadt-hilden"):
        client.node("stadt-hilden")
    assert directory.reads == 2


def test_unknown_node_is_not_found_before_any_call(
        client_parts: tuple[FederationClient, Directory, Clock]) -> None:
    client, _, _ = client_parts
    with pytest.raises(errors.NotFound, match=r"nicht .*freigegeben"):
        client.call("fremder-knoten", "/kim.case.v1.CaseFederation/GetFigures", Empty(), Empty)


@pytest.mark.parametrize(("code", "kind", "text"), [
    (grpc.StatusCode.PERMISSION_DENIED, errors.PermissionDenied, "hat den Aufruf abgelehnt: Grund"),
    (grpc.StatusCode.UNAUTHENTICATED, errors.Unauthenticated, "Anmeldung dieses Knotens nicht"),
    (grpc.StatusCode.NOT_FOUND, errors.NotFound, "nicht gefunden: Grund"),
    (grpc.StatusCode.INVALID_ARGUMENT, errors.InvalidArgument, "als ungültig zurückgewiesen"),
    (grpc.StatusCode.FAILED_PRECONDITION, errors.FailedPrecondition, "kann das so nicht"),
    (grpc.StatusCode.ALREADY_EXISTS, errors.AlreadyExists, "existiert das bereits"),
    (grpc.StatusCode.UNAVAILABLE, errors.Unavailable, "nicht erreichbar"),
    (grpc.StatusCode.DEADLINE_EXCEEDED, errors.Unavailable, "nicht erreichbar"),
    (grpc.StatusCode.INTERNAL, errors.Unavailable, "(INTERNAL)"),
])
def test_peer_errors_become_kim_errors_naming_the_node(
        code: grpc.StatusCode, kind: type[errors.KimError], text: str) -> None:
    error = map_peer_error("stadt-hilden", code, "Grund")
    assert type(error) is kind
    assert "stadt-hilden" in error.message and text in error.message


def test_field_violations_of_the_peer_are_kept() -> None:
    violation = errors.FieldViolation("case_ids[0]", "Unbekannte Fallkennung.")
    error = map_peer_error("stadt-hilden", grpc.StatusCode.INVALID_ARGUMENT, "", [violation])
    assert isinstance(error, errors.InvalidArgument) and error.violations == [violation]


def test_acting_user_header() -> None:
    assert acting_user_of({}) == ""
    assert acting_user_of({ACTING_USER_HEADER: "k.koordination"}) == "k.koordination"
    assert acting_user_of({ACTING_USER_HEADER: "x" * 200}) == "x" * 200
    for name in ("j.müller", "a%b", "Ömer Çelik"):  # gRPC metadata carries ASCII only
        encoded = acting_user_header(name)
        assert encoded.isascii() and acting_user_of({ACTING_USER_HEADER: encoded}) == name
    assert acting_user_header("k.koordination") == "k.koordination"
    for bad in ("x" * 201, "k.koordination\n", "a\tb", "a%0Ab"):
        with pytest.raises(errors.InvalidArgument) as raised:
            acting_user_of({ACTING_USER_HEADER: bad})
        assert raised.value.violations[0].field == ACTING_USER_HEADER


def test_the_pin_is_checked_once_per_cache_time_and_again_after_it() -> None:
    directory, clock, presented = Directory(), Clock(), []
    pinned = FederationNode("stadt-hilden", "stadt-hilden", "municipality", "127.0.0.1:1",
                            certificate_fingerprints=("a" * 64,))
    directory.nodes = [pinned]

    def handshake(endpoint: str) -> str:
        presented.append(endpoint)
        return "b" * 64  # after the cache time, the node shows another certificate

    client = FederationClient(
        node_id="kreis-mettmann", organization="kreis-mettmann",
        credentials=DevCertificateAuthority.create().issue("kreis-mettmann"),
        token=lambda: "token", directory=directory, nodes_cache_seconds=30, clock=clock,
        presented=handshake)
    client._pinned[("stadt-hilden", "127.0.0.1:1", ("a" * 64,))] = clock.now  # checked just now
    client._check_pin(pinned, "/m", "")
    assert presented == []
    clock.now += 31
    with pytest.raises(errors.PermissionDenied, match="nicht für ihn"):
        client._check_pin(pinned, "/m", "")
    assert presented == ["127.0.0.1:1"]


def test_an_unreachable_peer_is_unavailable_not_refused() -> None:
    def handshake(endpoint: str) -> str:
        raise ConnectionRefusedError(endpoint)

    node = FederationNode("stadt-hilden", "stadt-hilden", "municipality", "127.0.0.1:1",
                          certificate_fingerprints=("a" * 64,))
    client = FederationClient(
        node_id="kreis-mettmann", organization="kreis-mettmann",
        credentials=DevCertificateAuthority.create().issue("kreis-mettmann"),
        token=lambda: "token", directory=lambda: [node], presented=handshake)
    with pytest.raises(errors.Unavailable, match="nicht erreichbar"):
        client.call("stadt-hilden", "/kim.case.v1.CaseFederation/GetFigures", Empty(), Empty)
