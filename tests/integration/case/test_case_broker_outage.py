"""Case writes through the real gRPC api while RabbitMQ is down: every event of those writes
arrives exactly once after the broker is back (docs/events.md, "Outbox").

Stops and starts the project's own RabbitMQ (scripts/infra.sh), the only server this test
touches; a consumer queue on the session's vhost, declared durable before the outage so it
survives the restart, receives what the api process's outbox relay sends."""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from kombu import Connection, Exchange, Queue

from kim.case.v1 import case_pb2
from kim.common.v1.event_pb2 import EventEnvelope
from kimnetz.bootstrap import ApiProcess
from kimnetz.runtime import events
from kimnetz.runtime.settings import Settings
from services.case import SERVICE
from services.case.repository import CaseChangeDocument
from tests.integration.case.case_requests import conference_consent, person, proposal
from tests.integration.case.conftest import OWNER, Caller, CaseApi

ROOT = Path(__file__).resolve().parents[3]
CM = Caller(OWNER, "case_manager")


def infra(*args: str) -> None:
    subprocess.run([str(ROOT / "scripts" / "infra.sh"), *args], check=True, timeout=180)


@pytest.fixture
def case_events(case_settings: Settings) -> Iterator[Queue]:
    """A durable queue bound to every case event on the session's vhost (deleted afterwards)."""
    exchange = Exchange(f"{SERVICE}.events", type="topic", durable=True)
    queue = Queue(f"case-outage-test-{uuid.uuid4().hex[:8]}", exchange=exchange, routing_key="#",
                  durable=True, auto_delete=False)
    with Connection(case_settings.amqp_uri) as connection:
        queue(connection.channel()).declare()
    yield queue
    with Connection(case_settings.amqp_uri) as connection:
        queue(connection.channel()).delete()


def received(settings: Settings, queue: Queue, case_ids: set[str], expected: int,
             seconds: float = 90) -> list[EventEnvelope]:
    """Every envelope of `case_ids` the queue gets until `expected` have come and a further
    three seconds passed without more (a duplicate would arrive within them)."""
    found: list[EventEnvelope] = []
    deadline, quiet_until = time.monotonic() + seconds, None
    with Connection(settings.amqp_uri) as connection:
        bound = queue(connection.channel())
        while time.monotonic() < deadline:
            message = bound.get(no_ack=True)
            if message is None:
                if quiet_until is not None and time.monotonic() > quiet_until:
                    break
                time.sleep(0.1)
                continue
            envelope = EventEnvelope.FromString(message.body)
            if getattr(events.unpack(envelope), "case_id", "") in case_ids:
                found.append(envelope)
                if len(found) >= expected and quiet_until is None:
                    quiet_until = time.monotonic() + 3
    return found


def test_case_events_written_while_the_broker_is_down_arrive_exactly_once(
    case_api: CaseApi, api_process: ApiProcess, case_settings: Settings, case_events: Queue,
) -> None:
    own_broker = f"127.0.0.1:{os.environ.get('KIM_AMQP_PORT', '5673')}"
    if case_settings.amqp_uri.split("@")[-1].split("/")[0] != own_broker or os.environ.get("AMQP_URI"):
        pytest.fail("the outage test stops the project's own RabbitMQ; unset AMQP_URI to run it")
    infra("stop", "rabbitmq")
    try:
        first = case_api.call("ProposeCase", proposal(), CM).case_id
        case_api.call("RecordConsent", conference_consent(first), CM)
        case_api.call("SubmitForReview", case_pb2.SubmitForReviewRequest(case_id=first), CM)
        case_api.call("UpdatePerson", case_pb2.UpdatePersonRequest(
            case_id=first, person=person(phone="+49 2103 55555")), CM)
        second = case_api.call("ProposeCase", proposal(), CM).case_id
        case_api.call("AddJournalNote", case_pb2.AddJournalNoteRequest(
            case_id=second, text="Erstgespräch vereinbart"), CM)
        waiting = sum(len(d.outbox) for d in CaseChangeDocument.objects(aggregate_id__in=[first, second]))
        assert waiting == 6, "the events wait in the change documents while the broker is down"
    finally:
        infra("start", "rabbitmq")
    api_process.relay.notify()  # the relay backs off while the broker is away; wake it now

    got = received(case_settings, case_events, {first, second}, expected=6)
    assert Counter(Counter(e.id for e in got).values()) == {1: 6}, "every event exactly once"
    by_case = {cid: [e.type.rsplit(".", 1)[-1] for e in got if events.unpack(e).case_id == cid]  # type: ignore[attr-defined]
               for cid in (first, second)}
    assert sorted(by_case[first]) == sorted(
        ["CaseProposed", "ConsentRecorded", "CaseSubmittedForReview", "EligibilityRechecked"])
    assert sorted(by_case[second]) == ["CaseProposed", "JournalNoteAdded"]
    assert not any(d.outbox for d in CaseChangeDocument.objects(aggregate_id__in=[first, second]))
