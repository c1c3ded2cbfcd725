"""Transactional outbox: a state change and its events are one MongoDB document write.

A service's aggregate document derives from `OutboxDocument`; `record_event` appends the event
to the document's `outbox` list, and the caller's `save()` writes state and event together.
`OutboxRelay` (a thread of the api process) then signs each pending event with the node's key
(kimnetz/runtime/event_trust.py) and publishes it with publisher
confirms and only afterwards removes it from the document. A broker outage therefore delays
events but loses none; a crash between publish and removal publishes an event twice, which the
consumers' deduplication by event id absorbs.

Written for what both MongoDB 7 and FerretDB 1.24 support: `$pull` removes the exact entry
that was read (FerretDB ignores `$pull` with a query condition), claims use findAndModify.

Fast path and sweep: FerretDB 1.24 (SQLite) answers only a bare `_id` equality without decoding
every document of the collection (docs/benchmarks.md), so the relay's sweep, whose claim
filters on `outbox.0` and the lease, costs a scan of each outbox collection. `save()` therefore
hands the `_id` of each document it inserted to the relays of this process that watch its
collection; `notify()` makes them claim exactly those by `_id` (one bare `_id` findAndModify,
the lease checked on the image it returns). The sweep still runs every `sweep_seconds`, after
a failure and when the queue overflowed: it is the safety net for whatever the fast path did
not send (a crash before `notify()`, a broker outage, an expired lease, documents another
process inserted).

The invariant every service keeps: a document with an outbox is INSERTED once by its service and
afterwards written only by the relay (and deleted once its outbox is empty). FerretDB 1.24 applies
an update as an unisolated read-modify-write of the whole document (docs/decisions.md, measured:
190 of 200 concurrent `$set`/`$pull` pairs lost one of the two), so a service update racing the
relay's claim/`$pull`/`$unset` would lose events or bring sent ones back. `OutboxDocument`
therefore refuses updates through mongoengine; an aggregate that changes writes each change as a
new document (`kimnetz.runtime.changes`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from google.protobuf.message import Message
from mongoengine import (
    BinaryField,
    DateTimeField,
    Document,
    EmbeddedDocument,
    EmbeddedDocumentField,
    IntField,
    ListField,
    StringField,
)
from mongoengine.queryset import QuerySet
from pymongo import ReturnDocument
from pymongo.collection import Collection

from kim.common.v1.event_pb2 import EventEnvelope
from kimnetz.runtime import events, tracing
from kimnetz.runtime.amqp import Unroutable

log = logging.getLogger(__name__)


class PendingEvent(EmbeddedDocument):
    event_id = StringField(required=True)
    exchange = StringField(required=True)
    routing_key = StringField(required=True)
    body = BinaryField(required=True)
    recorded_at = DateTimeField(required=True)
    #: W3C trace context of the call that recorded the event (kimnetz.runtime.tracing); sent
    #: as an AMQP header so the handler's span joins the trace.
    traceparent = StringField()


class InsertOnlyViolation(TypeError):
    """A service tried to update a document that carries an outbox: a programming error (see the
    module's note); write the change as a new document instead (`kimnetz.runtime.changes`)."""

    def __init__(self, document_cls: type[Any], how: str) -> None:
        super().__init__(
            f"{document_cls.__name__} carries an outbox and is insert-only: {how} is refused "
            "(only the outbox relay writes it after its insert; see kimnetz.runtime.changes)"
        )


class InsertOnlyQuerySet(QuerySet):
    """Queries of outbox documents: reading and deleting as usual, no updates."""

    def update(self, *args: Any, **kwargs: Any) -> Any:
        raise InsertOnlyViolation(self._document, "QuerySet.update")

    def update_one(self, *args: Any, **kwargs: Any) -> Any:
        raise InsertOnlyViolation(self._document, "QuerySet.update_one")

    def upsert_one(self, *args: Any, **kwargs: Any) -> Any:
        raise InsertOnlyViolation(self._document, "QuerySet.upsert_one")

    def modify(self, *args: Any, **kwargs: Any) -> Any:
        raise InsertOnlyViolation(self._document, "QuerySet.modify")


class OutboxDocument(Document):
    """Base of every document that carries events. Insert-only: `save()` always inserts (a
    document that exists already raises mongoengine's NotUniqueError, which callers of a genuine
    insert handle as before), and saving again what was loaded or saved, `update()`, `modify()`
    and queryset updates raise `InsertOnlyViolation`."""

    meta: dict[str, Any] = {
        "abstract": True, "indexes": ["outbox.event_id"], "queryset_class": InsertOnlyQuerySet,
    }

    outbox = ListField(EmbeddedDocumentField(PendingEvent))
    outbox_claimed_until = DateTimeField()
    #: How often the broker returned the first pending event as unroutable (its back-off).
    outbox_returns = IntField()

    def save(self, *args: Any, **kwargs: Any) -> Any:
        if not self._created:  # loaded from the database, or saved once already
            raise InsertOnlyViolation(type(self), "saving it again")
        if args or kwargs.get("force_insert") is False:
            raise InsertOnlyViolation(type(self), "save() without force_insert")
        kwargs["force_insert"] = True
        saved = super().save(**kwargs)
        if self.outbox:
            _saved.inserted(self._get_collection().full_name, self.pk)
        return saved

    def update(self, *args: Any, **kwargs: Any) -> Any:
        raise InsertOnlyViolation(type(self), "Document.update")

    def modify(self, *args: Any, **kwargs: Any) -> Any:
        raise InsertOnlyViolation(type(self), "Document.modify")


def record_event(
    document: OutboxDocument,
    message: Message,
    *,
    source_service: str,
    source_node: str,
    correlation_id: str = "",
) -> EventEnvelope:
    """Append `message` to the document's outbox; it is sent once the document is saved."""
    envelope = events.pack(
        message, source_service=source_service, source_node=source_node,
        correlation_id=correlation_id,
    )
    document.outbox.append(
        PendingEvent(
            event_id=envelope.id,
            exchange=events.exchange_name(source_service),
            routing_key=envelope.type,
            body=envelope.SerializeToString(),
            recorded_at=datetime.now(UTC),
            traceparent=tracing.current_traceparent() or None,
        )
    )
    return envelope


def tracing_headers(entry: dict[str, Any]) -> dict[str, str] | None:
    parent = entry.get("traceparent")
    return {tracing.TRACEPARENT: parent} if parent else None


class EventPublisher(Protocol):
    def publish(self, exchange: str, routing_key: str, body: bytes, message_id: str,
                headers: Mapping[str, Any] | None = None) -> None: ...


#: Documents a relay keeps queued for its fast path; beyond that it drops them and sweeps.
MAX_QUEUED = 10_000


class _SavedDocuments:
    """Process-wide: which running relays watch which collection (by `full_name`), so that
    `OutboxDocument.save()` can queue the inserted `_id` for them. Nobody watching (a worker
    process, a script): nothing is queued, the api process's sweep sends it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._watchers: dict[str, list[OutboxRelay]] = {}

    def watch(self, relay: OutboxRelay, names: Iterable[str]) -> None:
        with self._lock:
            for name in names:
                self._watchers.setdefault(name, []).append(relay)

    def unwatch(self, relay: OutboxRelay) -> None:
        with self._lock:
            for relays in self._watchers.values():
                while relay in relays:
                    relays.remove(relay)

    def inserted(self, name: str, document_id: Any) -> None:
        with self._lock:
            relays = list(self._watchers.get(name, ()))
        for relay in relays:
            relay._queue(name, document_id)


_saved = _SavedDocuments()


def inserted(collection_name: str, document_id: Any) -> None:
    """Tell the relays watching `collection_name` (its `full_name`) of a document with events
    inserted without `OutboxDocument.save()` (e.g. in one insert with other documents)."""
    _saved.inserted(collection_name, document_id)


def _aware(moment: datetime) -> datetime:
    """Stored times come back naive (UTC) where the connection is not tz-aware."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


class OutboxRelay:
    """Sends what the outboxes of `collections` hold. While the relay runs, `notify()` after a
    save sends the documents the save inserted at once, each claimed by its `_id`; a sweep of
    all outboxes every `sweep_seconds` (and at once after a failure) catches the rest."""

    def __init__(
        self,
        publisher: EventPublisher,
        collections: Iterable[Collection[Any]],
        *,
        sweep_seconds: float = 2.0,
        lease_seconds: float = 30.0,
        return_max_seconds: float = 300.0,
        sign: Callable[[bytes], bytes] | None = None,
    ) -> None:
        self._publisher = publisher
        # The node's signature goes on just before publishing (kimnetz.runtime.event_trust): the
        # outbox keeps the unsigned envelope, so a key rotation never strands a pending event.
        self._sign = sign
        self._collections = list(collections)
        self._by_name = {collection.full_name: collection for collection in self._collections}
        self._sweep = sweep_seconds
        self._lease = timedelta(seconds=lease_seconds)
        self._return_max = return_max_seconds
        self._queued: deque[tuple[str, Any]] = deque()
        self._sweep_requested = False
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def collections(self) -> list[Collection[Any]]:
        """The outboxes this relay sends from (the metric `kim_outbox_pending` counts them)."""
        return list(self._collections)

    def notify(self) -> None:
        """Wake the relay: it sends what the saves since its last run queued (no scan), and
        sweeps only when a sweep is due or the last attempt failed."""
        self._wake.set()

    def _queue(self, name: str, document_id: Any) -> None:
        """From `OutboxDocument.save()` in any thread of the process."""
        if len(self._queued) >= MAX_QUEUED:
            self._sweep_requested = True  # the sweep finds it; the queue stays bounded
            return
        self._queued.append((name, document_id))

    def relay_notified(self) -> int:
        """Publish the events of the documents queued by `save()`, each claimed by its `_id`;
        returns how many were sent. Raises if the broker fails (what was not sent stays pending
        for the sweep)."""
        sent = 0
        while self._queued:
            name, document_id = self._queued.popleft()
            collection = self._by_name[name]
            claimed = self._claim_by_id(collection, document_id)
            if claimed is not None:
                sent += self._send(collection, claimed)
        return sent

    def relay_pending(self) -> int:
        """Sweep: publish every pending event once; returns how many were sent. Raises if the
        broker fails (what was not sent stays pending)."""
        sent = 0
        for collection in self._collections:
            while (claimed := self._claim(collection)) is not None:
                sent += self._send(collection, claimed)
        return sent

    def _send(self, collection: Collection[Any], claimed: dict[str, Any]) -> int:
        """Publish the claimed document's events one by one, each removed once confirmed; the
        last removal also ends the claim (one write less per document)."""
        entries = claimed.get("outbox", [])
        released = False
        try:
            for number, entry in enumerate(entries, start=1):
                body = entry["body"] if self._sign is None else self._sign(entry["body"])
                try:
                    self._publisher.publish(entry["exchange"], entry["routing_key"], body, entry["event_id"],
                                            headers=tracing_headers(entry))
                except Unroutable:
                    if (entry["exchange"], entry["routing_key"]) in events.CONSUMED:
                        self._hold(collection, claimed, entry)
                        released = True
                        return number - 1
                    # An event no service consumes by design (docs/events.md, "Publishing"):
                    # the broker's return is the expected answer, not a loss.
                    log.debug("event %s (%s) has no consumer here", entry["event_id"],
                              entry["routing_key"])
                update: dict[str, Any] = {"$pull": {"outbox": entry}}
                if number == len(entries):
                    update["$unset"] = {"outbox_claimed_until": "", "outbox_returns": ""}
                collection.update_one({"_id": claimed["_id"]}, update)
                released = number == len(entries)
        finally:
            if not released:
                collection.update_one(
                    {"_id": claimed["_id"]}, {"$unset": {"outbox_claimed_until": ""}}
                )
        return len(entries)

    def _hold(self, collection: Collection[Any], claimed: dict[str, Any], entry: dict[str, Any]) -> None:
        """The broker returned a consumed event as unroutable: its queue (or the federation link
        that carries it to a peer) does not exist yet. Keep it, and hold the document back for a
        doubling pause (the lease is the pause: neither the sweep nor the fast path claims it
        before), so the events of other documents go on."""
        returns = int(claimed.get("outbox_returns") or 0) + 1
        pause = min(self._sweep * 2 ** min(returns - 1, 16), self._return_max)
        collection.update_one(
            {"_id": claimed["_id"]},
            {"$set": {"outbox_claimed_until": datetime.now(UTC) + timedelta(seconds=pause),
                      "outbox_returns": returns}},
        )
        log.warning("event %s (%s on %s) is unroutable (no queue bound yet); kept, next try in "
                    "%.0f s (return %d)", entry["event_id"], entry["routing_key"],
                    entry["exchange"], pause, returns)

    def _claim(self, collection: Collection[Any]) -> dict[str, Any] | None:
        now = datetime.now(UTC)
        claimed: dict[str, Any] | None = collection.find_one_and_update(
            {
                "outbox.0": {"$exists": True},
                "$or": [
                    {"outbox_claimed_until": {"$exists": False}},
                    {"outbox_claimed_until": {"$lt": now}},
                ],
            },
            {"$set": {"outbox_claimed_until": now + self._lease}},
            return_document=ReturnDocument.AFTER,
        )
        return claimed

    def _claim_by_id(self, collection: Collection[Any], document_id: Any) -> dict[str, Any] | None:
        """Claim one document by a bare `_id` filter (the only one FerretDB 1.24 answers without
        a scan): set the lease and judge the image from before it. A live lease of another relay
        is given back, an outbox the sweep emptied meanwhile is released; neither is sent. As
        with the sweep's claim, on FerretDB a second relay may still claim the same document in
        the same instant (unisolated updates): its events then go out twice, and the consumers'
        deduplication by event id absorbs that; no stale image can drop a pending entry, as
        only the relay removes entries and nobody adds any after the insert."""
        now = datetime.now(UTC)
        before: dict[str, Any] | None = collection.find_one_and_update(
            {"_id": document_id},
            {"$set": {"outbox_claimed_until": now + self._lease}},
            return_document=ReturnDocument.BEFORE,
        )
        if before is None:  # deleted meanwhile (e.g. a refused version-1 commit)
            return None
        held = before.get("outbox_claimed_until")
        if held is not None and _aware(held) >= now:
            collection.update_one({"_id": document_id}, {"$set": {"outbox_claimed_until": held}})
            return None
        if not before.get("outbox"):
            collection.update_one({"_id": document_id}, {"$unset": {"outbox_claimed_until": ""}})
            return None
        return before

    def start(self) -> None:
        _saved.watch(self, self._by_name)
        self._thread = threading.Thread(target=self._run, name="outbox-relay", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        _saved.unwatch(self)

    @property
    def running(self) -> bool:
        """Whether the thread still sends (after `stop`: its timeout passed first). Start no
        second relay on the same collections before it ends: on FerretDB two relays can both
        claim a document and send its events twice."""
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        backoff = self._sweep
        failed = False
        next_sweep = time.monotonic()  # at once: what an earlier run left in the outboxes
        while not self._stop.is_set():
            self._wake.wait(backoff if failed else max(0.0, next_sweep - time.monotonic()))
            self._wake.clear()
            if self._stop.is_set():
                break
            try:
                sent = self.relay_notified()
                if failed or self._sweep_requested or time.monotonic() >= next_sweep:
                    self._sweep_requested = False
                    sent += self.relay_pending()
                    next_sweep = time.monotonic() + self._sweep
                if sent:
                    log.debug("relayed %d events", sent)
                failed, backoff = False, self._sweep
            except Exception as exc:  # the broker or database is away: keep events, retry
                log.warning("outbox relay: %s; events stay pending, retrying", exc)
                failed, backoff = True, min(backoff * 2, 30.0)
