"""The dead-letter store: events that can never apply, kept with their reason in the node
database (collection `dead_letters`), listed and replayed by `kim node dead-letters`.

Why a collection and not a queue (docs/events.md, "Failures", **Dead-letter store**): an
operator lists, reads and replays single entries by id, which a queue does not offer without
consuming it; the node database is already where the node keeps its operational records
(probes), and an entry records more than a message carries (reason, handler, first and last
failure, replays).

One entry per queue and event (`_id` is a short hash of both), written by the consuming wrapper
(`kimnetz.runtime.consume`) with an upsert, so a crash between keeping and acknowledging, or an
event that dies again after a replay, leaves one entry, not two. A replay publishes the original
body and headers to the entry's queue through the default exchange (never the service's topic
exchange, which federation would carry to peers), confirmed and mandatory, and only then marks
the entry "replayed"; it stays as the record of what happened.
"""

from __future__ import annotations

import getpass
import hashlib
import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bson import Binary
from kombu import Exchange
from mongoengine.connection import get_db
from pymongo.collection import Collection

from kimnetz.runtime.amqp import Publisher
from kimnetz.runtime.audit import AuditEvent, LoggingAuditSink
from kimnetz.runtime.node import NODE_ALIAS

log = logging.getLogger(__name__)

COLLECTION = "dead_letters"
DEAD = "dead"
REPLAYED = "replayed"

#: Our headers on a message being retried (kimnetz.runtime.consume); a replay starts them afresh.
ATTEMPTS = "x-kim-attempts"
FIRST_FAILURE = "x-kim-first-failure"
LAST_ERROR = "x-kim-last-error"
REPLAYS = "x-kim-replays"
#: Headers RabbitMQ adds when a retry queue dead-letters a message back; not worth keeping.
BROKER_HEADERS = ("x-death", "x-first-death-exchange", "x-first-death-queue",
                  "x-first-death-reason", "x-last-death-exchange", "x-last-death-queue",
                  "x-last-death-reason")


@dataclass
class DeadLetter:
    """One event that can never apply (or kept failing for a passing reason too long)."""

    queue: str
    handler: str
    reason: str
    error: str  # the exception's type, "" when the wrapper refused the message itself
    body: bytes
    headers: dict[str, Any]
    content_type: str
    content_encoding: str
    routing_key: str
    event_id: str
    event_type: str
    source_node: str
    attempts: int
    first_failure: datetime
    last_failure: datetime
    state: str = DEAD
    replays: int = 0
    replayed_at: datetime | None = None
    replayed_by: str = ""
    node: str = ""
    entry_id: str = field(default="")

    def __post_init__(self) -> None:
        if not self.entry_id:
            self.entry_id = entry_id(self.queue, self.event_id or hashlib.sha256(self.body).hexdigest())


def entry_id(queue: str, event_key: str) -> str:
    """Short (12 hex digits, typed at the command line) and the same for the same event in the
    same queue."""
    return hashlib.sha256(f"{queue}\x00{event_key}".encode()).hexdigest()[:12]


def _collection(alias: str = NODE_ALIAS) -> Collection[Any]:
    collection: Collection[Any] = get_db(alias)[COLLECTION]
    return collection


def _plain(value: Any) -> Any:
    """Header values as BSON can store them (AMQP tables may hold types it cannot)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str | datetime):
        return value
    if isinstance(value, bytes):
        return Binary(value)
    return str(value)


def clean_headers(headers: Mapping[str, Any] | None) -> dict[str, Any]:
    return {k: v for k, v in (headers or {}).items() if k not in BROKER_HEADERS}


def keep(letter: DeadLetter, alias: str = NODE_ALIAS) -> str:
    """Store (or refresh) the entry; returns its id. Raises if the database is away (the caller
    then retries the message instead of acknowledging it)."""
    document = {
        "queue": letter.queue, "handler": letter.handler, "reason": letter.reason,
        "error": letter.error, "body": Binary(letter.body),
        "headers": _plain(clean_headers(letter.headers)), "content_type": letter.content_type,
        "content_encoding": letter.content_encoding, "routing_key": letter.routing_key,
        "event_id": letter.event_id, "event_type": letter.event_type,
        "source_node": letter.source_node, "attempts": letter.attempts,
        "first_failure": letter.first_failure, "last_failure": letter.last_failure,
        "state": DEAD, "replays": letter.replays, "node": letter.node,
    }
    _collection(alias).replace_one({"_id": letter.entry_id}, document, upsert=True)
    return letter.entry_id


def _from(stored: Mapping[str, Any]) -> DeadLetter:
    return DeadLetter(
        entry_id=str(stored["_id"]), queue=stored["queue"], handler=stored.get("handler", ""),
        reason=stored.get("reason", ""), error=stored.get("error", ""), body=bytes(stored["body"]),
        headers=dict(stored.get("headers") or {}), content_type=stored.get("content_type", ""),
        content_encoding=stored.get("content_encoding", ""),
        routing_key=stored.get("routing_key", ""), event_id=stored.get("event_id", ""),
        event_type=stored.get("event_type", ""), source_node=stored.get("source_node", ""),
        attempts=int(stored.get("attempts", 0)), first_failure=_aware(stored["first_failure"]),
        last_failure=_aware(stored["last_failure"]), state=stored.get("state", DEAD),
        replays=int(stored.get("replays", 0)),
        replayed_at=_aware(stored["replayed_at"]) if stored.get("replayed_at") else None,
        replayed_by=stored.get("replayed_by", ""), node=stored.get("node", ""),
    )


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def count_by_queue(alias: str = NODE_ALIAS) -> dict[str, int]:
    """Entries not yet replayed, per queue (the operator's metric `kim_dead_letters`)."""
    counts: dict[str, int] = {}
    for stored in _collection(alias).find({"state": DEAD}, {"queue": 1}):
        counts[stored.get("queue", "")] = counts.get(stored.get("queue", ""), 0) + 1
    return counts


def entries(alias: str = NODE_ALIAS, *, include_replayed: bool = False) -> list[DeadLetter]:
    """The entries, oldest last failure first (sorted here: FerretDB 1.24 scans anyway)."""
    query: dict[str, Any] = {} if include_replayed else {"state": DEAD}
    found = [_from(stored) for stored in _collection(alias).find(query)]
    return sorted(found, key=lambda letter: letter.last_failure)


def get(entry: str, alias: str = NODE_ALIAS) -> DeadLetter | None:
    stored = _collection(alias).find_one({"_id": entry})
    return _from(stored) if stored is not None else None


def replay(letter: DeadLetter, publisher: Publisher, alias: str = NODE_ALIAS,
           by: str | None = None) -> None:
    """Deliver the entry's message to its queue again (attempts counted afresh), then mark the
    entry replayed and audit it. Raises `Unroutable` if the queue is gone (the entry stays)."""
    headers = {k: v for k, v in clean_headers(letter.headers).items()
               if k not in (ATTEMPTS, FIRST_FAILURE, LAST_ERROR)}
    headers[REPLAYS] = letter.replays + 1
    actor = by or _operator()
    # Marked before the publish: the worker may fail the event again within milliseconds, and
    # its new entry (state "dead") must not be overwritten by this mark.
    collection = _collection(alias)
    collection.update_one(
        {"_id": letter.entry_id},
        {"$set": {"state": REPLAYED, "replayed_at": datetime.now(UTC), "replayed_by": actor,
                  "replays": letter.replays + 1}},
    )
    try:
        publisher.send(
            Exchange(""), letter.queue, letter.body, message_id=letter.event_id or None,
            headers=headers, content_type=letter.content_type or "application/octet-stream",
            content_encoding=letter.content_encoding or "binary",
        )
    except BaseException:
        collection.update_one({"_id": letter.entry_id},
                              {"$set": {"state": DEAD, "replays": letter.replays}})
        raise
    LoggingAuditSink().record(AuditEvent.now(
        kind="operation", outcome="granted", action="Ereignis erneut zugestellt",
        username=actor, node=letter.node or None, reason=letter.reason,
        extra={"dead_letter": letter.entry_id, "queue": letter.queue, "event_id": letter.event_id},
    ))
    log.info("dead letter %s (event %s) replayed to %s by %s", letter.entry_id, letter.event_id,
             letter.queue, actor)


def try_replay(letter: DeadLetter, publisher: Publisher, alias: str = NODE_ALIAS,
               by: str | None = None) -> Exception | None:
    """`replay`, with the error that kept the entry (None: replayed) instead of raising."""
    try:
        replay(letter, publisher, alias, by)
    except Exception as exc:  # one gone queue must not stop the others; reported per entry
        return exc
    return None


def replay_all(publisher: Publisher, alias: str = NODE_ALIAS,
               by: str | None = None) -> Iterator[tuple[DeadLetter, Exception | None]]:
    """Replay every open entry; yields each with the error that kept it (None: replayed)."""
    for letter in entries(alias):
        yield letter, try_replay(letter, publisher, alias, by)


def _operator() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no user name in a container: still audited, as unknown
        return "unbekannt"
