"""Glue for the nameko worker processes (`nameko run`, eventlet): configuration, the MongoDB
dependency and the probe handler every service's worker carries.

Never start a gRPC server here, and make no gRPC client calls from here: grpcio blocks every
green thread of the process (docs/decisions.md).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from nameko.extensions import DependencyProvider

from kim.common.v1.event_pb2 import EventEnvelope
from kim.node.v1.probe_pb2 import ProbeRequested
from kimnetz.errors import Unavailable, UntrustedEvent
from kimnetz.runtime import events, mongo, node
from kimnetz.runtime.audit import AuditEvent, AuditSink, LoggingAuditSink
from kimnetz.runtime.consume import reliable_handler
from kimnetz.runtime.directory_snapshot import DirectorySnapshotStore, MongoSeenEvents, RefusedEvents
from kimnetz.runtime.event_trust import DISTRICT, CachedSnapshot, EnvelopeVerifier, Sender, audit_fields
from kimnetz.runtime.settings import Settings

log = logging.getLogger(__name__)

#: The config every worker runs with; values come from the environment (see the file).
NAMEKO_CONFIG = Path(__file__).with_name("nameko.yaml")


class NodeDatabase(DependencyProvider):
    """Connects the service's database (and the node database) when the worker starts, and
    hands the node's settings to the service."""

    def __init__(self, service: str) -> None:
        self.service = service
        self.settings: Settings | None = None

    def setup(self) -> None:
        self.settings = Settings()
        mongo.connect(self.settings, self.service)
        node.connect(self.settings)

    def get_dependency(self, worker_ctx: Any) -> Settings | None:
        return self.settings


def verifier_from(settings: Settings) -> EnvelopeVerifier:
    """The node's event verification (kimnetz/runtime/event_trust.py) from its settings: the
    federation's CA and this node's own certificate from `KIM_TLS_DIR`, the directory snapshot
    and the seen events from the node database. A node outside any federation is its own
    koordinierende Stelle (role "district"); a member learns its role from the directory."""
    ca = own = None
    if settings.tls_dir:
        folder = Path(settings.tls_dir)
        ca = (folder / "ca.crt").read_bytes()
        own = (folder / "node.crt").read_bytes() if (folder / "node.crt").exists() else None
    elif not settings.events_unsigned:
        raise ValueError("KIM_TLS_DIR names no certificate folder: event senders cannot be "
                         "verified (a development node outside any federation may set "
                         "KIM_EVENTS_UNSIGNED=true instead)")
    return EnvelopeVerifier(
        node_id=settings.node_id, organization=settings.organization_id,
        directory=CachedSnapshot(DirectorySnapshotStore().read), ca_certificate=ca,
        own_certificate=own, own_role="" if settings.federation_file else DISTRICT,
        allow_unsigned=settings.events_unsigned, seen=MongoSeenEvents(),
        unknown_grace_seconds=settings.event_trust_grace_seconds,
    )


class TrustedEvents:
    """What a handler asks before it acts: `verify(envelope)` -> the verified `Sender` (or
    UntrustedEvent / Unavailable), and `refused(envelope, error)` for every refusal, which logs
    it at ERROR, audits it and keeps the envelope for the operator (node database,
    `refused_events`)."""

    def __init__(self, verifier: EnvelopeVerifier, service: str,
                 audit: AuditSink | None = None, kept: RefusedEvents | None = None, *,
                 wait_seconds: float = 30.0, pause_seconds: float = 1.0) -> None:
        self._verifier = verifier
        self._service = service
        self._audit = audit or LoggingAuditSink()
        self._kept = kept
        self._wait = wait_seconds
        self._pause = pause_seconds

    def verify(self, envelope: EventEnvelope) -> Sender:
        """The verified sender. A certificate the directory snapshot does not know yet (the
        node was admitted a moment ago: the api process copies the directory every few
        seconds) is asked again for up to `wait_seconds`, sleeping in between (a green
        thread here, nothing else waits); then Unavailable, which the worker's retry takes."""
        deadline = time.monotonic() + self._wait
        while True:
            try:
                return self._verifier.verify(envelope)
            except Unavailable:
                if time.monotonic() >= deadline:
                    raise
                time.sleep(self._pause)

    def refused(self, envelope: EventEnvelope, error: UntrustedEvent) -> None:
        fields = audit_fields(envelope, error, self._service)
        log.error("event %s (%s) from %s refused [%s]: %s", envelope.id, envelope.type,
                  envelope.source_node or "?", error.reason, error.message)
        self._audit.record(AuditEvent.now(
            kind="event", outcome="denied", action=envelope.type, node=envelope.source_node or None,
            reason=error.message, extra={k: str(v) for k, v in fields.items()}))
        if self._kept is not None:
            try:
                self._kept.keep(envelope, error, self._service)
            except Exception as exc:  # the log line above stays the record
                log.error("refused event %s not kept: %s", envelope.id, exc)


class EventTrust(DependencyProvider):
    """Hands each worker of a service the node's `TrustedEvents` (one verifier per service
    container; every worker carries it through `ProbeResponder`)."""

    def __init__(self) -> None:
        self.trusted: TrustedEvents | None = None

    def setup(self) -> None:
        settings = Settings()
        node.connect(settings)  # idempotent; setups run in no fixed order
        self.trusted = TrustedEvents(verifier_from(settings), self.container.service_name,
                                     kept=RefusedEvents())

    def get_dependency(self, worker_ctx: Any) -> TrustedEvents | None:
        return self.trusted


class ProbeResponder:
    """Mixin for every service worker: answers `kim node check` probes, this node's own and
    those of other active nodes (`kim node check` proves the event path between nodes; a probe
    only leaves a receipt). An unverified probe is refused like any event."""

    name: str
    #: In handlers: the node's `TrustedEvents` (nameko injects it per worker).
    trust: TrustedEvents = EventTrust()

    @reliable_handler(node.NODE_ALIAS, events.event_type(ProbeRequested))
    def on_probe_requested(self, envelope: EventEnvelope) -> None:
        probe = events.unpack(envelope)
        assert isinstance(probe, ProbeRequested)  # the wrapper checked the type
        try:
            self.trust.verify(envelope)
        except UntrustedEvent as error:
            self.trust.refused(envelope, error)
            raise  # kept with its reason in the dead letters (kimnetz.runtime.consume)
        node.record_receipt(probe.probe_id, self.name, envelope.id)
