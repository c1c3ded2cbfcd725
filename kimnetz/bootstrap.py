"""Composition root: builds a node's api process from its settings. The one place that knows
which services exist; the services themselves never import each other."""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import ModuleType

import grpc
from grpc_health.v1 import health

from kimnetz.runtime import dead_letters, metrics, mongo, node, tracing
from kimnetz.runtime.amqp import Publisher
from kimnetz.runtime.audit import AuditSink, LoggingAuditSink, auth_listener
from kimnetz.runtime.auth import TokenValidator
from kimnetz.runtime.directory_snapshot import DirectorySnapshotStore, SnapshotRefresher
from kimnetz.runtime.event_trust import EnvelopeSigner
from kimnetz.runtime.federation import FederationClient
from kimnetz.runtime.grpc_server import build_server, mark_serving
from kimnetz.runtime.migrations import Migration, checked
from kimnetz.runtime.outbox import OutboxRelay
from kimnetz.runtime.service_names import grpc_services
from kimnetz.runtime.settings import Settings
from services.identity import node_trust

log = logging.getLogger(__name__)


def service_api(name: str) -> ModuleType:
    return importlib.import_module(f"services.{name}.api")


def service_migrations(name: str) -> Sequence[Migration]:
    """The service's data migrations in order (`services/<name>/migrations.py`; none: empty)."""
    try:
        module = importlib.import_module(f"services.{name}.migrations")
    except ModuleNotFoundError:
        return ()
    return checked(name, module.MIGRATIONS)


def worker_modules(settings: Settings) -> list[str]:
    """The nameko services a worker process of this node runs (`module:Class`, because a
    worker module also imports the mixins that nameko would otherwise take for services)."""
    return [f"services.{name}.worker:{name.capitalize()}Worker" for name in settings.served_services]


@dataclass
class ApiProcess:
    server: grpc.Server
    port: int
    health: health.HealthServicer
    relay: OutboxRelay
    publisher: Publisher
    federation_port: int = 0  # the mutual-TLS port for peer nodes, 0 = none
    peers: FederationClient | None = None  # calls to other nodes, None off a federation
    #: Copies the node directory into the node database for the workers' event verification.
    snapshot: SnapshotRefresher | None = None
    #: Prometheus metrics on this port (`KIM_METRICS_PORT`; 0: none), host as the gRPC api's.
    metrics_address: tuple[str, int] = ("127.0.0.1", 0)

    def start(self) -> None:
        host, port = self.metrics_address
        metrics.serve(port, host, [metrics.OutboxCollector(lambda: self.relay.collections),
                                   metrics.DeadLetterCollector(dead_letters.count_by_queue)])
        if self.snapshot is not None:
            self.snapshot.start()
        self.relay.start()
        self.server.start()
        self.relay.notify()  # send what an earlier run left in the outboxes

    def stop(self, grace: float | None = 5.0) -> None:
        self.server.stop(grace).wait()
        self.relay.stop()
        if self.snapshot is not None:
            self.snapshot.stop()
        self.publisher.close()
        if self.peers is not None:
            self.peers.close()


def build_api_process(settings: Settings, address: str | None = None,
                      audit: AuditSink | None = None) -> ApiProcess:
    """`audit` receives every decision at the door (default: the `kim.audit` log)."""
    names = settings.served_services
    tracing.configure(settings.node_id, "api", settings.otlp_endpoint)
    apis = {name: service_api(name) for name in names}
    node.connect(settings)
    for name in names:
        mongo.connect(settings, name)
    publisher = Publisher(settings.amqp_uri)
    outbox_documents = [node.ProbeRequest, *(d for a in apis.values() for d in a.OUTBOX_DOCUMENTS)]
    relay = OutboxRelay(
        publisher,
        [document._get_collection() for document in outbox_documents],
        sweep_seconds=settings.outbox_sweep_seconds,
        lease_seconds=settings.outbox_lease_seconds,
        return_max_seconds=settings.outbox_return_max_seconds,
        sign=event_signer(settings),
    )
    listing = node_trust.directory_listing(settings)
    snapshot = (SnapshotRefresher(listing, DirectorySnapshotStore(),
                                  settings.directory_snapshot_seconds)
                if listing is not None else None)
    validator = TokenValidator(
        settings.issuer, settings.api_audience,
        leeway_seconds=settings.token_leeway_seconds,
        jwks_cache_seconds=settings.jwks_cache_seconds,
        organizations=node_trust.enabled_organizations(settings),
    )
    audit = audit or LoggingAuditSink()
    for api in apis.values():
        # A service may also keep the door's refusals of its own methods (services.case.api).
        if hasattr(api, "door_audit"):
            audit = api.door_audit(settings, audit)
    federation = node_trust.federation_listener(settings, apis.values(), audit)
    # One client per process for the services that ask other nodes (`CALLS_PEERS`): one
    # service-account token, one directory cache, one channel per peer. Refusals by a peer are
    # audited on this side in the process's sink.
    peers = FederationClient.from_settings(settings, audit=audit)
    registrations = [apis[name].registration(settings, federation=peers)
                     if getattr(apis[name], "CALLS_PEERS", False) else apis[name].registration(settings)
                     for name in names]
    for registration in registrations:
        if registration.bind_outbox is not None:
            registration.bind_outbox(relay.notify)
    server, port, health_servicer = build_server(
        registrations,
        address=address or f"{settings.grpc_host}:{settings.grpc_port}",
        validator=validator,
        max_workers=settings.grpc_workers,
        on_auth_decision=auth_listener(audit),
        federation=federation,
        reflection_services=grpc_services(names) if settings.grpc_reflection else (),
    )
    mark_serving(health_servicer, grpc_services(names))
    return ApiProcess(server, port, health_servicer, relay, publisher,
                      federation.port if federation is not None else 0, peers, snapshot,
                      (settings.grpc_host, settings.metrics_port))


def event_signer(settings: Settings) -> Callable[[bytes], bytes] | None:
    """The outbox relay's signature (the node's key from `KIM_TLS_DIR`, loaded once); None only
    on a development node that says so (`KIM_EVENTS_UNSIGNED`). A node with neither cannot
    start: its events would be refused by every receiver."""
    if settings.tls_dir:
        return EnvelopeSigner.from_tls_dir(settings.tls_dir).sign
    if settings.events_unsigned:
        log.warning("events are sent unsigned (KIM_EVENTS_UNSIGNED): development node only")
        return None
    raise ValueError("KIM_TLS_DIR names no certificate folder: events cannot be signed "
                     "(`kim node init` writes one; a development node outside any federation "
                     "may set KIM_EVENTS_UNSIGNED=true instead)")
