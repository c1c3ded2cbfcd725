"""The api process's gRPC server: plain grpcio threads (never inside eventlet), the standard
health service, the interceptors every call passes (kimnetz.runtime.grpc_interceptors), and the
mutual-TLS port for peer nodes.

Services register through `Registration`s; what a process serves is configuration
(`KIM_GRPC_SERVICES`), so a small node runs all four services in one process.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent import futures
from dataclasses import dataclass
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from kimnetz.runtime.audit import AuditSink
from kimnetz.runtime.auth import TokenValidator
from kimnetz.runtime.grpc_interceptors import (
    MAX_OPEN_STREAMS,
    AuthInterceptor,
    AuthListener,
    ErrorInterceptor,
    MetricsInterceptor,
    PeerInterceptor,
    PeerTokenInterceptor,
    StreamLimitInterceptor,
    TextInterceptor,
    TracingInterceptor,
)
from kimnetz.runtime.grpc_peer import FederationMethods, PeerCheck
from kimnetz.runtime.pki import NodeCredentials

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Registration:
    """One service's part of an api process: its health name and how to add its servicers.
    `bind_outbox`, where given, receives the outbox relay's `notify` from the composition root,
    so the servicer can have the events of a save sent at once rather than at the next sweep."""

    name: str
    add_to_server: Callable[[grpc.Server], None]
    bind_outbox: Callable[[Callable[[], None]], None] | None = None


def build_server(
    registrations: Sequence[Registration],
    *,
    address: str,
    validator: TokenValidator | None,
    max_workers: int = 16,
    on_auth_decision: AuthListener | None = None,
    federation: FederationListener | None = None,
    max_streams: int = MAX_OPEN_STREAMS,
    reflection_services: Sequence[str] = (),
) -> tuple[grpc.Server, int, health.HealthServicer]:
    """A server with health, error mapping and (where a validator is given) authentication.
    With `federation`, a second port speaks mutual TLS for calls of peer nodes.
    At most `max_streams` streaming calls are open at once (StreamLimitInterceptor).
    With `reflection_services` (full gRPC names), server reflection lists them, so grpcurl and
    similar clients work without the protos.
    Returns the server, the bound port (for address ':0') and the health servicer."""
    # Outermost first: metrics see every call with its final code, in the call's span; the
    # stream bound refuses
    # before anything else is done; error mapping wraps the rest, so a refusal becomes its
    # status code; the certificate is checked before the token, and token and certificate are
    # compared; last, no text of an authenticated request may hold a NUL character.
    interceptors: list[grpc.ServerInterceptor] = [MetricsInterceptor(), TracingInterceptor(),
                                                  StreamLimitInterceptor(max_streams),
                                                  ErrorInterceptor()]
    if federation is not None:
        interceptors.append(PeerInterceptor(federation.methods, federation.check, federation.audit,
                                            validator=validator))
    if validator is not None:
        interceptors.append(AuthInterceptor(validator, on_auth_decision))
    if federation is not None:
        interceptors.append(PeerTokenInterceptor(federation.audit))
    interceptors.append(TextInterceptor())
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="grpc"),
        interceptors=interceptors,
    )
    # Non-blocking `Watch` (kept so through the interceptors by `_wrap`): an open stream holds
    # no server thread; its first answer is sent from a pool of its own, so probes are answered
    # even while every server thread is busy.
    health_servicer = health.HealthServicer(
        experimental_non_blocking=True,
        experimental_thread_pool=futures.ThreadPoolExecutor(max_workers=2, thread_name_prefix="health"),
    )
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    for registration in registrations:
        registration.add_to_server(server)
    if reflection_services:
        reflection.enable_server_reflection(
            (*reflection_services, health.SERVICE_NAME, reflection.SERVICE_NAME), server)
    port = server.add_insecure_port(address)
    if port == 0:
        raise RuntimeError(f"cannot listen on {address}")
    if federation is not None:
        federation.port = server.add_secure_port(federation.address, mutual_tls(federation.credentials))
        if federation.port == 0:
            raise RuntimeError(f"cannot listen on {federation.address}")
    return server, port, health_servicer


@dataclass
class FederationListener:
    """The mutual-TLS port of an api process, what it lets peers call (`methods`, merged from
    the api modules' FEDERATION_METHODS), the directory check and where refusals are recorded."""

    address: str
    credentials: NodeCredentials
    methods: FederationMethods
    check: PeerCheck
    audit: AuditSink | None = None
    port: int = 0


def mutual_tls(credentials: NodeCredentials) -> grpc.ServerCredentials:
    return grpc.ssl_server_credentials(
        [(credentials.key, credentials.certificate)],
        root_certificates=credentials.ca_certificate,
        require_client_auth=True,
    )


def mark_serving(health_servicer: health.HealthServicer, names: Iterable[str]) -> None:
    """The node as a whole ("") and every full gRPC service name (`kim.case.v1.CaseService`),
    the names standard probes ask for."""
    for name in ("", *names):
        health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)


def serve_until_signal(server: grpc.Server, on_stop: Callable[[], None] | None = None) -> None:
    """Run until SIGTERM/SIGINT, then drain calls for up to 10 s."""
    stopped = threading.Event()

    def handle(signum: int, _frame: Any) -> None:
        log.info("signal %d: draining", signum)
        stopped.set()

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)
    server.start()
    stopped.wait()
    if on_stop:
        on_stop()
    server.stop(grace=10).wait()
