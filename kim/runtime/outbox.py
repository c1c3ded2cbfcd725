"""Transactional outbox: a state change and its events are one MongoDB document write.

A service's aggregate document derives from `OutboxDocument`; `record_event` appends the event
to the document's `outbox` list, and the caller's `save()` writes state and event together.
`OutboxRelay` (a thread of the api process) then publishes each pending event with publisher
confirms and only afterwards removes it from the document. A broker outage therefore delays
events but loses none; a crash between publish and removal publishes an event twice, which the
consumers' deduplication by event id absorbs.

Written for what both MongoDB 7 and FerretDB 1.24 support: `$pull` removes the exact entry
that was read (FerretDB ignores `$pull` with a query condition), claims use findAndModify.

The invariant every service keeps: a document with an outbox is INSERTED once by its service and
afterwards written only by the relay (and deleted once its outbox is empty). FerretDB 1.24 applies
an update as an unisolated read-modify-write of the whole document (docs/decisions.md, measured:
190 of 200 concurrent `$set`/`$pull` pairs lost one of the two), so a service update racing the
relay's claim/`$pull`/`$unset` would lose events or bring sent ones back. `OutboxDocument`
therefore refuses updates through mongoengine; an aggregate that changes writes each change as a
new document (`kim.runtime.changes`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from google.protobuf.message import Message
from mongoengine import (
    BinaryField,
    DateTimeField,
    Document,
    EmbeddedDocument,
    EmbeddedDocumentField,
    ListField,
    StringField,
)
from mongoengine.queryset import QuerySet
from pymongo import ReturnDocument
from pymongo.collection import Collection

from kim.common.v1.event_pb2 import EventEnvelope
from kim.runtime import events

log = logging.getLogger(__name__)


class PendingEvent(EmbeddedDocument):
    event_id = StringField(required=True)
    exchange = StringField(required=True)
    routing_key = StringField(required=True)
    body = BinaryField(required=True)
    recorded_at = DateTimeField(required=True)


class InsertOnlyViolation(TypeError):
    """A service tried to update a document that carries an outbox: a programming error (see the
    module's note); write the change as a new document instead (`kim.runtime.changes`)."""

    def __init__(self, document_cls: type[Any], how: str) -> None:
        super().__init__(
            f"{document_cls.__name__} carries an outbox and is insert-only: {how} is refused "
            "(only the outbox relay writes it after its insert; see kim.runtime.changes)"
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

    def save(self, *args: Any, **kwargs: Any) -> Any:
        if not self._created:  # loaded from the database, or saved once already
            raise InsertOnlyViolation(type(self), "saving it again")
        if args or kwargs.get("force_insert") is False:
            raise InsertOnlyViolation(type(self), "save() without force_insert")
        kwargs["force_insert"] = True
        return super().save(**kwargs)

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
        )
    )
    return envelope


class EventPublisher(Protocol):
    def publish(self, exchange: str, routing_key: str, body: bytes, message_id: str) -> None: ...


class OutboxRelay:
    """Sends what the outboxes of `collections` hold. `notify()` after a save sends at once;
    a sweep every `sweep_seconds` catches what an earlier attempt could not send."""

    def __init__(
        self,
        publisher: EventPublisher,
        collections: Iterable[Collection[Any]],
        *,
        sweep_seconds: float = 2.0,
        lease_seconds: float = 30.0,
    ) -> None:
        self._publisher = publisher
        self._collections = list(collections)
        self._sweep = sweep_seconds
        self._lease = timedelta(seconds=lease_seconds)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def notify(self) -> None:
        self._wake.set()

    def relay_pending(self) -> int:
        """Publish every pending event once; returns how many were sent. Raises if the broker
        fails (what was not sent stays pending)."""
        sent = 0
        for collection in self._collections:
            while (claimed := self._claim(collection)) is not None:
                try:
                    for entry in claimed.get("outbox", []):
                        self._publisher.publish(
                            entry["exchange"], entry["routing_key"], entry["body"],
                            entry["event_id"],
                        )
                        collection.update_one(
                            {"_id": claimed["_id"]}, {"$pull": {"outbox": entry}}
                        )
                        sent += 1
                finally:
                    collection.update_one(
                        {"_id": claimed["_id"]}, {"$unset": {"outbox_claimed_until": ""}}
                    )
        return sent

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

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="outbox-relay", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def running(self) -> bool:
        """Whether the thread still sends (after `stop`: its timeout passed first). Start no
        second relay on the same collections before it ends: on FerretDB two relays can both
        claim a document and send its events twice."""
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        backoff = self._sweep
        while not self._stop.is_set():
            self._wake.wait(backoff)
            self._wake.clear()
            if self._stop.is_set():
                break
            try:
                sent = self.relay_pending()
                if sent:
                    log.debug("relayed %d events", sent)
                backoff = self._sweep
            except Exception as exc:  # the broker or database is away: keep events, retry
                log.warning("outbox relay: %s; events stay pending, retrying", exc)
                backoff = min(backoff * 2, 30.0)
