"""Outgoing peer calls are pinned to the node directory: a real mutual-TLS server with a
certificate of the federation's CA answers only if the directory lists that very certificate
for the node called (issue 12, smaller findings)."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent import futures

import grpc
import pytest
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from kimnetz import errors
from kimnetz.runtime.audit import MemoryAuditSink
from kimnetz.runtime.federation import FederationClient, FederationNode, tls_presented_fingerprint
from kimnetz.runtime.grpc_server import mutual_tls
from kimnetz.runtime.pki import DevCertificateAuthority, NodeCredentials

CHECK = "/grpc.health.v1.Health/Check"


@pytest.fixture(scope="module")
def ca() -> DevCertificateAuthority:
    return DevCertificateAuthority.create("KIM-Netz Test-CA Pinning")


@pytest.fixture(scope="module")
def stadt(ca: DevCertificateAuthority) -> Iterator[tuple[str, NodeCredentials]]:
    """The Stadt node's mutual-TLS port (health only), with a certificate of the CA."""
    credentials = ca.issue("stadt-hilden")
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    servicer = health.HealthServicer()
    servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    port = server.add_secure_port("127.0.0.1:0", mutual_tls(credentials))
    server.start()
    yield f"127.0.0.1:{port}", credentials
    server.stop(None)


def client(ca: DevCertificateAuthority, node: FederationNode, audit: MemoryAuditSink) -> FederationClient:
    return FederationClient(node_id="kreis-mettmann", organization="kreis-mettmann",
                            credentials=ca.issue("kreis-mettmann"), token=lambda: "token",
                            directory=lambda: [node], audit=audit)


def test_the_handshake_reads_the_certificate_the_peer_presents(
        ca: DevCertificateAuthority, stadt: tuple[str, NodeCredentials]) -> None:
    endpoint, credentials = stadt
    assert tls_presented_fingerprint(ca.issue("kreis-mettmann"))(endpoint) == credentials.fingerprint


def test_a_peer_presenting_the_listed_certificate_is_called(
        ca: DevCertificateAuthority, stadt: tuple[str, NodeCredentials]) -> None:
    endpoint, credentials = stadt
    audit = MemoryAuditSink()
    node = FederationNode("stadt-hilden", "stadt-hilden", "municipality", endpoint,
                          certificate_fingerprints=("0" * 64, credentials.fingerprint))
    peers = client(ca, node, audit)
    try:
        answer = peers.call("stadt-hilden", CHECK, health_pb2.HealthCheckRequest(),
                            health_pb2.HealthCheckResponse)
    finally:
        peers.close()
    assert answer.status == health_pb2.HealthCheckResponse.SERVING and audit.events == []


def test_a_peer_presenting_another_certificate_of_the_ca_is_refused_and_audited(
        ca: DevCertificateAuthority, stadt: tuple[str, NodeCredentials]) -> None:
    endpoint, _ = stadt
    other = ca.issue("stadt-hilden")  # same CA, same name: not the certificate the directory lists
    audit = MemoryAuditSink()
    node = FederationNode("stadt-hilden", "stadt-hilden", "municipality", endpoint,
                          certificate_fingerprints=(other.fingerprint,))
    peers = client(ca, node, audit)
    try:
        with pytest.raises(errors.PermissionDenied, match="das das Knotenverzeichnis nicht für ihn"):
            peers.call("stadt-hilden", CHECK, health_pb2.HealthCheckRequest(),
                       health_pb2.HealthCheckResponse)
    finally:
        peers.close()
    [event] = audit.events
    assert (event.kind, event.outcome, event.node, event.extra["direction"]) == (
        "federation", "denied", "stadt-hilden", "outgoing")


def test_a_node_without_a_listed_certificate_is_not_called(
        ca: DevCertificateAuthority, stadt: tuple[str, NodeCredentials]) -> None:
    node = FederationNode("stadt-hilden", "stadt-hilden", "municipality", stadt[0])
    peers = client(ca, node, MemoryAuditSink())
    try:
        with pytest.raises(errors.PermissionDenied, match="kein Zertifikat"):
            peers.call("stadt-hilden", CHECK, health_pb2.HealthCheckRequest(),
                       health_pb2.HealthCheckResponse)
    finally:
        peers.close()


def test_a_peer_of_another_ca_is_refused(stadt: tuple[str, NodeCredentials]) -> None:
    endpoint, credentials = stadt
    stranger = DevCertificateAuthority.create("Fremde CA")
    node = FederationNode("stadt-hilden", "stadt-hilden", "municipality", endpoint,
                          certificate_fingerprints=(credentials.fingerprint,))
    peers = client(stranger, node, MemoryAuditSink())
    try:
        with pytest.raises(errors.PermissionDenied, match="Zertifikat des Verbunds"):
            peers.call("stadt-hilden", CHECK, health_pb2.HealthCheckRequest(),
                       health_pb2.HealthCheckResponse)
    finally:
        peers.close()
