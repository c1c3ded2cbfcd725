"""The node database's part of event trust (kimnetz/runtime/event_trust.py): the worker's local view
of the node directory, the digests of events seen, and the events this node refused.

Workers are eventlet processes and must not make gRPC calls, so they cannot ask the directory
themselves. The api process keeps a snapshot of the directory in the node database instead
(`SnapshotRefresher`, every few seconds: at the Kreis from its own identity database, at every
other node from the Kreis's `ListNodes` over mutual TLS) and the workers read it (one document,
by bare `_id`, which FerretDB answers without a scan). When the directory cannot be read the
snapshot is left as it was and its `refreshed_at` does not move; a revoked node is refused at
the latest one refresh interval plus the worker's cache time after the Kreis revoked it.

Refused events are kept here with their envelope (`refused_events`), each with its reason, so
the operator can see and judge them (`kim node refused-events`) until the dead-letter store of
the worker wrapper takes them over.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from mongoengine.connection import get_db
from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError

from kim.common.v1.event_pb2 import EventEnvelope
from kimnetz.errors import UntrustedEvent
from kimnetz.runtime.event_trust import DirectoryEntry, Snapshot

log = logging.getLogger(__name__)

NODE_ALIAS = "node"
SNAPSHOT_ID = "directory"


def _collection(name: str, alias: str = NODE_ALIAS) -> Collection[Any]:
    collection: Collection[Any] = get_db(alias)[name]
    return collection


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


class DirectorySnapshotStore:
    """One document `directory_snapshot/_id=directory`: fingerprint -> node, org, role, status."""

    def __init__(self, alias: str = NODE_ALIAS) -> None:
        self._alias = alias

    def write(self, entries: list[DirectoryEntry], refreshed_at: datetime | None = None) -> None:
        document = {
            "_id": SNAPSHOT_ID,
            "refreshed_at": refreshed_at or datetime.now(UTC),
            "entries": [{"fingerprint": e.fingerprint, "node_id": e.node_id,
                         "organization": e.organization, "role": e.role, "status": e.status}
                        for e in entries],
        }
        _collection("directory_snapshot", self._alias).replace_one(
            {"_id": SNAPSHOT_ID}, document, upsert=True)

    def read(self) -> Snapshot:
        found = _collection("directory_snapshot", self._alias).find_one({"_id": SNAPSHOT_ID})
        if found is None:
            return Snapshot()
        entries = {e["fingerprint"]: DirectoryEntry(e["fingerprint"], e["node_id"],
                                                    e["organization"], e["role"], e["status"])
                   for e in found.get("entries", [])}
        refreshed = found.get("refreshed_at")
        return Snapshot(entries, _aware(refreshed) if refreshed is not None else None)


class MongoSeenEvents:
    """`SeenEvents` in `event_digests` (`_id` = event id): the first content digest wins."""

    def __init__(self, alias: str = NODE_ALIAS) -> None:
        self._alias = alias

    def remember(self, event_id: str, digest: str) -> str:
        collection = _collection("event_digests", self._alias)
        try:
            collection.insert_one({"_id": event_id, "digest": digest, "at": datetime.now(UTC)})
        except DuplicateKeyError:
            found = collection.find_one({"_id": event_id})
            return str(found["digest"]) if found is not None else digest
        return digest


class RefusedEvents:
    """Refused envelopes, kept whole with their reason (`refused_events`, one per event id and
    receiving service: a redelivery is counted, not stored twice)."""

    def __init__(self, alias: str = NODE_ALIAS) -> None:
        self._alias = alias

    def keep(self, envelope: EventEnvelope, error: UntrustedEvent, service: str) -> None:
        collection = _collection("refused_events", self._alias)
        key = f"{envelope.id}:{service}:{error.reason}"
        try:
            collection.insert_one({
                "_id": key, "event_id": envelope.id, "type": envelope.type,
                "source_node": envelope.source_node, "source_service": envelope.source_service,
                "service": service, "reason": error.reason, "message": error.message,
                "body": envelope.SerializeToString(), "refused_at": datetime.now(UTC),
                "deliveries": 1,
            })
        except DuplicateKeyError:
            collection.update_one({"_id": key}, {"$inc": {"deliveries": 1}})

    def list(self, limit: int = 100) -> list[dict[str, Any]]:
        found = _collection("refused_events", self._alias).find().limit(limit)
        return [dict(d) for d in found]


DirectoryListing = Callable[[], list[DirectoryEntry]]


class SnapshotRefresher:
    """A thread of the api process: writes the directory's entries to the snapshot every
    `interval` seconds. A failed read leaves the snapshot (and its time) as it was."""

    def __init__(self, listing: DirectoryListing, store: DirectorySnapshotStore,
                 interval: float = 5.0) -> None:
        self._listing = listing
        self._store = store
        self._interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def refresh(self) -> bool:
        try:
            entries = self._listing()
        except Exception as exc:  # the directory is away: keep the last snapshot
            log.warning("node directory snapshot not refreshed: %s", exc)
            return False
        self._store.write(entries)
        return True

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="directory-snapshot", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.refresh()
            self._stop.wait(self._interval)

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
