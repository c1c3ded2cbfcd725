"""The relay's fast path on the REAL FerretDB and RabbitMQ (the broker stays up): `save()` queues
the inserted `_id` for the running relay, `notify()` claims exactly those by `_id` without a
sweep, a live lease of another relay is respected, and fast path plus sweep together send every
event exactly once. (The broker outage is tests/integration/runtime/test_outbox.py.)"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from kombu import Queue
from mongoengine import StringField

from kim.common.v1.event_pb2 import EventEnvelope
from kim.node.v1.probe_pb2 import ProbeRequested
from kimnetz.runtime import events, mongo
from kimnetz.runtime.amqp import Publisher
from kimnetz.runtime.outbox import OutboxDocument, OutboxRelay, record_event
from kimnetz.runtime.settings import Settings
from tests.support.event_tap import drain as drain_tap, event_tap

ALIAS = "claims_test"
SOURCE = "claimstest"  # events go to the exchange "claimstest.events" of the test's vhost
HOUR = 3600.0  # a sweep interval no test waits for: what arrives came by the fast path


class Note(OutboxDocument):
    meta: dict[str, Any] = {"db_alias": ALIAS, "collection": "notes"}

    note_id = StringField(primary_key=True)


@pytest.fixture(scope="module")
def db(node_settings: Settings) -> Settings:
    mongo.connect(node_settings, ALIAS)
    return node_settings


@pytest.fixture
def tap(db: Settings, request: pytest.FixtureRequest) -> Iterator[Queue]:
    """A queue bound to the test source's exchange before anything is written."""
    with event_tap(db.amqp_uri, SOURCE, request.node.name) as queue:
        yield queue


@pytest.fixture
def publisher(db: Settings) -> Iterator[Publisher]:
    with Publisher(db.amqp_uri) as publisher:
        yield publisher


def note(db: Settings, label: str) -> Note:
    document = Note(note_id=f"{label}-{time.monotonic_ns()}")
    record_event(document, ProbeRequested(probe_id=document.note_id, requested_by="claims test"),
                 source_service=SOURCE, source_node=db.node_id)
    document.save()
    return document


def drain(db: Settings, queue: Queue, expected: int, seconds: float = 20) -> list[EventEnvelope]:
    return drain_tap(db.amqp_uri, queue, expected, seconds, settle_seconds=1)


def stored(document: Note) -> dict[str, Any]:
    found: dict[str, Any] | None = Note._get_collection().find_one({"_id": document.note_id})
    assert found is not None
    return found


def test_notify_sends_what_the_save_inserted_by_id_and_leaves_the_rest_to_the_sweep(
    db: Settings, tap: Queue, publisher: Publisher,
) -> None:
    relay = OutboxRelay(publisher, [Note._get_collection()], sweep_seconds=HOUR)
    relay.start()
    try:
        time.sleep(0.5)  # the sweep at start is done: the next one is an hour away
        # Inserted past `save()` (as another process would): no relay of this process knows it.
        unannounced = Note(note_id=f"raw-{time.monotonic_ns()}")
        record_event(unannounced, ProbeRequested(probe_id=unannounced.note_id),
                     source_service=SOURCE, source_node=db.node_id)
        Note._get_collection().insert_one(unannounced.to_mongo().to_dict())
        saved = note(db, "saved")
        relay.notify()
        received = drain(db, tap, 1)
    finally:
        relay.stop()
    assert [events.unpack(e).probe_id for e in received] == [saved.note_id]  # type: ignore[attr-defined]
    assert stored(saved)["outbox"] == [] and "outbox_claimed_until" not in stored(saved)
    assert len(stored(unannounced)["outbox"]) == 1, "notify must not sweep"

    assert relay.relay_pending() >= 1  # the safety net finds what the fast path never heard of
    assert stored(unannounced)["outbox"] == []
    assert [events.unpack(e).probe_id for e in drain(db, tap, 1)] == [unannounced.note_id]  # type: ignore[attr-defined]


def test_the_claim_by_id_respects_a_live_lease_and_takes_an_expired_one(
    db: Settings, publisher: Publisher,
) -> None:
    relay = OutboxRelay(publisher, [Note._get_collection()], sweep_seconds=HOUR)
    collection = Note._get_collection()
    held, expired, sent = note(db, "held"), note(db, "expired"), note(db, "sent")
    lease = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=60)
    collection.update_one({"_id": held.note_id}, {"$set": {"outbox_claimed_until": lease}})
    collection.update_one({"_id": expired.note_id},
                          {"$set": {"outbox_claimed_until": datetime.now(UTC) - timedelta(seconds=1)}})
    collection.update_one({"_id": sent.note_id}, {"$set": {"outbox": []}})

    assert relay._claim_by_id(collection, held.note_id) is None
    assert stored(held)["outbox_claimed_until"].replace(tzinfo=UTC) == lease, "the lease goes back"
    assert len(stored(held)["outbox"]) == 1

    claimed = relay._claim_by_id(collection, expired.note_id)
    assert claimed is not None and len(claimed["outbox"]) == 1
    assert stored(expired)["outbox_claimed_until"].replace(tzinfo=UTC) > datetime.now(UTC)

    assert relay._claim_by_id(collection, sent.note_id) is None
    assert "outbox_claimed_until" not in stored(sent), "an emptied outbox is released at once"
    assert relay._claim_by_id(collection, "never-written") is None


def test_fast_path_and_sweep_together_send_every_event_exactly_once(
    db: Settings, tap: Queue, publisher: Publisher,
) -> None:
    relay = OutboxRelay(publisher, [Note._get_collection()], sweep_seconds=0.05)
    relay.start()
    written: list[Note] = []
    try:
        for _ in range(30):
            written.append(note(db, "busy"))
            relay.notify()
        ids = {d.note_id for d in written}
        received = [e for e in drain(db, tap, len(ids))
                    if events.unpack(e).probe_id in ids]  # type: ignore[attr-defined]
    finally:
        relay.stop()
    assert sorted(events.unpack(e).probe_id for e in received) == sorted(ids)  # type: ignore[attr-defined]
    assert len({e.id for e in received}) == len(received) == len(ids)
    assert Note._get_collection().count_documents(
        {"_id": {"$in": sorted(ids)}, "outbox.0": {"$exists": True}}) == 0
