"""What a worker's handler gets from `TrustedEvents`: the verified sender, a short wait while the
directory snapshot does not know a sender yet, and for every refusal a log line, an audit event
and the envelope kept with its reason."""

from __future__ import annotations

import logging

import pytest

from kim.common.v1.event_pb2 import EventEnvelope
from kimnetz.errors import Unavailable, UntrustedEvent
from kimnetz.runtime.audit import MemoryAuditSink
from kimnetz.runtime.event_trust import Sender
from kimnetz.runtime.trusted_events import TrustedEvents

KREIS = Sender("kreis", "kreis-mettmann", "district")


class Verifier:
    """Answers Unavailable `unknown_for` times, then the sender."""

    def __init__(self, unknown_for: int) -> None:
        self.unknown_for = unknown_for
        self.calls = 0

    def verify(self, envelope: EventEnvelope) -> Sender:
        self.calls += 1
        if self.calls <= self.unknown_for:
            raise Unavailable("noch nicht im Abbild")
        return KREIS


class Kept:
    def __init__(self) -> None:
        self.kept: list[tuple[str, str, str]] = []

    def keep(self, envelope: EventEnvelope, error: UntrustedEvent, service: str) -> None:
        self.kept.append((envelope.id, error.reason, service))


def test_a_sender_the_snapshot_learns_meanwhile_is_verified_after_a_short_wait() -> None:
    verifier = Verifier(unknown_for=2)
    trusted = TrustedEvents(verifier, "case", wait_seconds=5, pause_seconds=0.01)  # type: ignore[arg-type]
    assert trusted.verify(EventEnvelope(id="e-1")) == KREIS
    assert verifier.calls == 3


def test_a_sender_still_unknown_after_the_wait_is_left_to_the_retry() -> None:
    trusted = TrustedEvents(Verifier(unknown_for=10**6), "case", wait_seconds=0.05,  # type: ignore[arg-type]
                            pause_seconds=0.01)
    with pytest.raises(Unavailable):
        trusted.verify(EventEnvelope(id="e-1"))


def test_a_refusal_is_logged_audited_and_kept(caplog: pytest.LogCaptureFixture) -> None:
    audit, kept = MemoryAuditSink(), Kept()
    trusted = TrustedEvents(Verifier(0), "conference", audit, kept)  # type: ignore[arg-type]
    envelope = EventEnvelope(id="e-9", type="kim.case.v1.ConsentRevoked", source_node="caritas")
    with caplog.at_level(logging.ERROR, logger="kimnetz.runtime.trusted_events"):
        trusted.refused(envelope, UntrustedEvent("sender-not-allowed", "Nicht der Eigentümer."))
    assert "event e-9 (kim.case.v1.ConsentRevoked) from caritas refused [sender-not-allowed]" in caplog.text
    [event] = audit.events
    assert (event.kind, event.outcome, event.action, event.node, event.extra["reason"]) == (
        "event", "denied", "kim.case.v1.ConsentRevoked", "caritas", "sender-not-allowed")
    assert kept.kept == [("e-9", "sender-not-allowed", "conference")]
