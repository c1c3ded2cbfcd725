"""What a worker's handler asks before it acts on an event (`TrustedEvents`): who sent it,
verified (kimnetz/runtime/event_trust.py), and what to do with a refusal (log, audit, keep for
the operator). Built from the node's settings by `verifier_from`.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from kim.common.v1.event_pb2 import EventEnvelope
from kimnetz.errors import Unavailable, UntrustedEvent
from kimnetz.runtime.audit import AuditEvent, AuditSink, LoggingAuditSink
from kimnetz.runtime.directory_snapshot import DirectorySnapshotStore, MongoSeenEvents, RefusedEvents
from kimnetz.runtime.event_trust import DISTRICT, CachedSnapshot, EnvelopeVerifier, Sender, audit_fields
from kimnetz.runtime.settings import Settings

log = logging.getLogger(__name__)


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
