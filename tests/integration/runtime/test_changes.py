"""Versioned aggregates (`kimnetz.runtime.changes`) on the REAL FerretDB and RabbitMQ: documents with
an outbox are insert-only, exactly one writer of a version wins, and the relay running next to
many writers sends every event exactly once without bringing a sent one back."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from kombu import Queue
from mongoengine import Document, IntField, NotUniqueError, StringField

from kim.common.v1.event_pb2 import EventEnvelope
from kim.node.v1.probe_pb2 import ProbeRequested
from kimnetz.errors import AlreadyExists, FailedPrecondition
from kimnetz.runtime import events, mongo
from kimnetz.runtime.amqp import Publisher
from kimnetz.runtime.changes import ChangeDocument, VersionedStore, receipt_id
from kimnetz.runtime.outbox import InsertOnlyViolation, OutboxDocument, OutboxRelay, record_event
from kimnetz.runtime.settings import Settings
from tests.support.event_tap import drain as drain_tap, event_tap

ALIAS = "changes_test"
SOURCE = "changestest"  # events go to the exchange "changestest.events" of the test's vhost


class Counter(Document):
    meta: dict[str, Any] = {"db_alias": ALIAS, "collection": "counters"}

    counter_id = StringField(primary_key=True)
    version = IntField(required=True)
    value = IntField(required=True)
    note = StringField()


class CounterChange(ChangeDocument):
    meta: dict[str, Any] = {"db_alias": ALIAS, "collection": "counter_changes"}


class Ticket(Document):
    """A view keyed by a unique field beside its ObjectId, with a second unique index."""

    meta: dict[str, Any] = {
        "db_alias": ALIAS, "collection": "tickets",
        "indexes": [{"fields": ["ticket_id"], "unique": True},
                    {"fields": ["number"], "unique": True, "sparse": True}],
    }

    ticket_id = StringField(required=True)
    version = IntField(required=True)
    number = IntField()


class TicketChange(ChangeDocument):
    meta: dict[str, Any] = {"db_alias": ALIAS, "collection": "ticket_changes"}


@pytest.fixture(scope="module")
def db(node_settings: Settings) -> Settings:
    mongo.connect(node_settings, ALIAS)
    return node_settings


@pytest.fixture
def counters(db: Settings) -> VersionedStore[CounterChange, Counter]:
    return VersionedStore(CounterChange, Counter, key="counter_id")


_ids = iter(range(1, 10**9))


def new_id(prefix: str) -> str:
    return f"{prefix}-{time.monotonic_ns()}-{next(_ids)}"


def write(store: VersionedStore[CounterChange, Counter], counter_id: str, version: int, value: int,
          node_id: str) -> CounterChange:
    change = store.new_change(counter_id, version, {"value": value})
    record_event(change, ProbeRequested(probe_id=f"{counter_id}:{version}", requested_by=str(value)),
                 source_service=SOURCE, source_node=node_id)
    store.commit(change)
    return change


def test_documents_with_an_outbox_refuse_every_update(
    counters: VersionedStore[CounterChange, Counter], db: Settings,
) -> None:
    counter_id = new_id("c")
    change = write(counters, counter_id, 1, 0, db.node_id)
    with pytest.raises(InsertOnlyViolation, match="insert-only"):
        change.save()
    loaded = CounterChange.objects.get(change_id=change.change_id)
    loaded.fields = {"value": 99, "version": 1}
    with pytest.raises(InsertOnlyViolation):
        loaded.save()
    with pytest.raises(InsertOnlyViolation):
        CounterChange.objects(change_id=change.change_id).update_one(set__cause="x")
    with pytest.raises(InsertOnlyViolation):
        loaded.update(set__cause="x")
    with pytest.raises(NotUniqueError):  # a fresh instance of a stored id: the insert fails loudly
        CounterChange(change_id=change.change_id, aggregate_id=counter_id, version=1,
                      fields={"value": 5}, written_at=loaded.written_at).save()
    stored = CounterChange.objects.get(change_id=change.change_id)
    assert (stored.fields["value"], stored.cause, len(stored.outbox)) == (0, "", 1)

    class Wrong(OutboxDocument):
        meta: dict[str, Any] = {"db_alias": ALIAS, "collection": "wrong"}

    with pytest.raises(TypeError, match="must not carry an outbox"):
        VersionedStore(CounterChange, Wrong, key="id")


def test_versions_commit_in_order_and_the_view_follows(
    counters: VersionedStore[CounterChange, Counter], db: Settings,
) -> None:
    counter_id = new_id("c")
    for version in range(1, 4):
        write(counters, counter_id, version, version * 10, db.node_id)
    view = counters.load(counter_id)
    assert view is not None and (view.version, view.value) == (3, 30)
    with pytest.raises(FailedPrecondition, match="inzwischen geändert; bitte neu laden"):
        write(counters, counter_id, 3, 999, db.node_id)
    with pytest.raises(AlreadyExists):
        write(counters, counter_id, 1, 999, db.node_id)
    assert Counter.objects.get(counter_id=counter_id).value == 30
    assert counters.load(new_id("missing")) is None


def test_exactly_one_concurrent_writer_of_a_version_wins(
    counters: VersionedStore[CounterChange, Counter], db: Settings,
) -> None:
    rounds, writers = 15, 8
    for _ in range(rounds):
        counter_id = new_id("race")
        write(counters, counter_id, 1, -1, db.node_id)
        start = threading.Barrier(writers)
        won: list[int] = []
        refused: list[int] = []
        failed: list[BaseException] = []

        def attempt(value: int, counter_id: str = counter_id, start: threading.Barrier = start,
                    won: list[int] = won, refused: list[int] = refused,
                    failed: list[BaseException] = failed) -> None:
            start.wait()
            try:
                write(counters, counter_id, 2, value, db.node_id)
                won.append(value)
            except FailedPrecondition:
                refused.append(value)
            except BaseException as error:  # reported by the assertion below
                failed.append(error)

        threads = [threading.Thread(target=attempt, args=(n,)) for n in range(writers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert failed == []
        assert len(won) == 1 and len(refused) == writers - 1
        view = counters.load(counter_id)
        assert view is not None and (view.version, view.value) == (2, won[0])
        # Sorted: a query without a sort has no order (FerretDB on PostgreSQL returns 2 before 1).
        assert sorted(c.version for c in CounterChange.objects(aggregate_id=counter_id)) in ([1, 2], [2])


def test_load_repairs_a_view_the_last_write_did_not_reach(
    counters: VersionedStore[CounterChange, Counter], db: Settings,
) -> None:
    counter_id = new_id("c")
    write(counters, counter_id, 1, 1, db.node_id)
    counters.new_change(counter_id, 2, {"value": 2}).save()  # as if the process stopped here
    assert Counter.objects.get(counter_id=counter_id).version == 1
    view = counters.load(counter_id)
    assert view is not None and (view.version, view.value) == (2, 2)
    orphan = new_id("c")
    counters.new_change(orphan, 1, {"value": 7}).save()  # even the first view may be missing
    view = counters.load(orphan)
    assert view is not None and view.value == 7


def test_a_first_version_the_views_unique_index_refuses_leaves_nothing(db: Settings) -> None:
    tickets = VersionedStore(TicketChange, Ticket, key="ticket_id")
    number = time.monotonic_ns()
    tickets.commit(tickets.new_change(new_id("t"), 1, {"number": number}))
    loser = new_id("t")
    with pytest.raises(AlreadyExists):
        tickets.commit(tickets.new_change(loser, 1, {"number": number}))
    assert TicketChange.objects(aggregate_id=loser).count() == 0
    assert tickets.load(loser) is None
    # None fields are left out of the view, so the sparse unique index admits many without one.
    first, second = new_id("t"), new_id("t")
    for ticket_id in (first, second):
        tickets.commit(tickets.new_change(ticket_id, 1, {"number": None}))
    tickets.commit(tickets.new_change(first, 2, {"number": number + 1}))
    tickets.commit(tickets.new_change(first, 3, {"number": None}))
    assert Ticket._get_collection().find_one({"ticket_id": first}, {"_id": 0, "number": 1}) == {}


def test_a_writer_that_loaded_before_its_version_was_sent_still_loses(
    counters: VersionedStore[CounterChange, Counter], db: Settings,
) -> None:
    """The superseded change stays the claim on its version after its events are sent; deleted
    at once, the stale writer's insert of that id would succeed and its write be lost."""
    counter_id = new_id("stale")
    write(counters, counter_id, 1, 0, db.node_id)
    write(counters, counter_id, 2, 1, db.node_id)
    publisher = Publisher(db.amqp_uri)
    try:
        OutboxRelay(publisher, [CounterChange._get_collection()]).relay_pending()
    finally:
        publisher.close()
    write(counters, counter_id, 3, 2, db.node_id)  # applying 3 would prune sent changes 1 and 2
    with pytest.raises(FailedPrecondition):
        write(counters, counter_id, 2, 100, db.node_id)  # loaded at version 1
    view = counters.load(counter_id)
    assert view is not None and (view.version, view.value) == (3, 2)
    # Once no writer can hold them any more, superseded sent changes go; the newest stays.
    VersionedStore(CounterChange, Counter, key="counter_id", keep_superseded=timedelta(0)).apply(
        CounterChange.objects.get(change_id=f"{counter_id}:3"))
    assert [c.version for c in CounterChange.objects(aggregate_id=counter_id)] == [3]


def test_a_store_that_prunes_by_timer_keeps_every_change_on_write_and_sweeps_them_later(
    db: Settings,
) -> None:
    """`prune_on_write=False` (the case service): a write deletes nothing (no scan per write on
    FerretDB 1.24); `prune_superseded` then removes the sent, causeless superseded changes of all
    aggregates, keeping the newest of each and every change that records a cause."""
    timer = VersionedStore(CounterChange, Counter, key="counter_id", keep_superseded=timedelta(0),
                           prune_on_write=False)
    first, second = new_id("sweep"), new_id("sweep")
    for version in (1, 2, 3):
        write(timer, first, version, version, db.node_id)
    write(timer, second, 1, 0, db.node_id)
    caused = timer.new_change(second, 2, {"value": 1}, cause=f"event-{second}")
    timer.commit(caused)
    timer.commit(timer.new_change(second, 3, {"value": 2}))
    CounterChange._get_collection().update_many({"_id": {"$regex": "^sweep-"}}, {"$set": {"outbox": []}})
    assert sorted(c.version for c in CounterChange.objects(aggregate_id=first)) == [1, 2, 3]

    assert timer.prune_superseded() >= 3

    assert [c.version for c in CounterChange.objects(aggregate_id=first)] == [3]
    assert sorted(c.version for c in CounterChange.objects(aggregate_id=second)) == [2, 3]
    assert timer.applied(f"event-{second}") and not timer.applied(f"event-{first}")


def test_the_receipt_of_a_caused_change_is_written_with_it_and_refused_with_it(
    counters: VersionedStore[CounterChange, Counter], db: Settings,
) -> None:
    counter_id = new_id("receipt")
    write(counters, counter_id, 1, 0, db.node_id)
    counters.commit(counters.new_change(counter_id, 2, {"value": 1}, cause=f"event-{counter_id}"))
    with pytest.raises(FailedPrecondition):  # version 2 taken: neither change nor receipt
        counters.commit(counters.new_change(counter_id, 2, {"value": 9}, cause=f"other-{counter_id}"))
    assert counters.applied(f"event-{counter_id}") and not counters.applied(f"other-{counter_id}")
    stored = CounterChange._get_collection().find_one({"_id": receipt_id(f"event-{counter_id}")})
    assert stored is not None and stored["receipt_of"] == f"{counter_id}:2"
    view = counters.load(counter_id)
    assert view is not None and view.version == 2
    counters.delete(counter_id)
    assert not counters.applied(f"event-{counter_id}")
    assert CounterChange._get_collection().find_one({"_id": receipt_id(f"event-{counter_id}")}) is None


@pytest.fixture
def tap(db: Settings, request: pytest.FixtureRequest) -> Iterator[Queue]:
    """A queue bound to the test source's exchange before anything is written."""
    with event_tap(db.amqp_uri, SOURCE, request.node.name) as queue:
        yield queue


def drain(db: Settings, queue: Queue, expected: int, seconds: float = 60) -> list[EventEnvelope]:
    return drain_tap(db.amqp_uri, queue, expected, seconds, settle_seconds=2)


def test_relay_next_to_many_writers_sends_every_event_exactly_once(
    counters: VersionedStore[CounterChange, Counter], db: Settings, tap: Queue,
) -> None:
    aggregates, writers, increments = 3, 6, 15
    ids = [new_id("busy") for _ in range(aggregates)]
    for counter_id in ids:
        write(counters, counter_id, 1, 0, db.node_id)
    publisher = Publisher(db.amqp_uri)
    relay = OutboxRelay(publisher, [CounterChange._get_collection()], sweep_seconds=0.05)
    relay.start()
    failed: list[BaseException] = []

    def increment(worker: int) -> None:
        """Each writer adds `increments` to every counter, reloading after a lost race."""
        try:
            for step in range(increments * aggregates):
                counter_id = ids[(worker + step) % aggregates]
                while True:
                    view = counters.load(counter_id)
                    assert view is not None
                    try:
                        write(counters, counter_id, view.version + 1, view.value + 1, db.node_id)
                        break
                    except FailedPrecondition:
                        continue
                relay.notify()
        except BaseException as error:  # reported by the assertion below
            failed.append(error)

    threads = [threading.Thread(target=increment, args=(n,)) for n in range(writers)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(300)
    finally:
        relay.stop(timeout=120)
    assert failed == []
    assert not relay.running, "the relay thread must be done before this thread relays the rest"
    relay.relay_pending()  # what the thread had not reached when it stopped
    publisher.close()

    per_counter = writers * increments
    for counter_id in ids:
        view = counters.load(counter_id)
        assert view is not None and (view.version, view.value) == (per_counter + 1, per_counter)
    expected = {f"{c}:{v}" for c in ids for v in range(1, per_counter + 2)}
    # The relay also sends what earlier tests left in the collection: count only these counters.
    received = [e for e in drain(db, tap, len(expected))
                if events.unpack(e).probe_id.rsplit(":", 1)[0] in ids]  # type: ignore[attr-defined]
    probes = [events.unpack(e).probe_id for e in received]  # type: ignore[attr-defined]
    assert len(probes) == len(expected), "every event exactly once"
    assert set(probes) == expected
    assert len({e.id for e in received}) == len(received)
    # Nothing came back into an outbox after it was sent.
    assert CounterChange._get_collection().count_documents(
        {"aggregate_id": {"$in": ids}, "outbox.0": {"$exists": True}}) == 0
