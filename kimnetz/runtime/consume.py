"""The one way every nameko event handler of KIM-Netz consumes (docs/events.md, "Failures").

    from kimnetz.runtime.consume import reliable_handler

    class CaseWorker(ProbeResponder):
        @reliable_handler("conference", events.event_type(conference.CaseAdmissionDecided))
        def on_admission_decided(self, envelope: EventEnvelope) -> None: ...

Why: nameko 2.14's `@event_handler(..., reliable_delivery=True)` acknowledges a message whose
handler raised (`requeue_on_error` is False by default, and True would redeliver at once and
forever). Here no message is acknowledged before it is applied, retried later, or kept:

- The wrapper refuses, before the handler runs, a body that is not an `EventEnvelope`, an
  envelope whose type is not the one the queue is bound to, and a payload that does not unpack
  to its type: permanent.
- The handler signals a passing failure by raising one (`is_transient`): the database away
  (pymongo `ConnectionFailure`: `AutoReconnect`, `ServerSelectionTimeoutError`, ...), a version
  conflict (`kimnetz.errors.VersionConflict`), `kimnetz.errors.Unavailable`, a peer or broker that
  cannot be reached (`ConnectionError`, `TimeoutError`, `amqp`/`kombu` connection errors), or
  `RetryLater(reason)`. The message is published to a retry queue whose TTL is the back-off
  (doubling from `KIM_EVENT_RETRY_FIRST_MS` to `KIM_EVENT_RETRY_MAX_MS`), which dead-letters it
  back to the handler's own queue through the default exchange, with the attempts counted in
  the headers. After `KIM_EVENT_MAX_ATTEMPTS` deliveries it is dead-lettered.
- Any other exception is permanent: every other `KimError` (a refusal that can never apply, such
  as `kimnetz.errors.UntrustedEvent` from the sender check), `DeadLetter(reason)`, and a bug
  (the event is kept and can be replayed once the code is mended). The message goes to the
  dead-letter store (`kimnetz.runtime.dead_letters`) with its reason, body, headers, queue, handler,
  attempts and first and last failure time.
- Only then is the message acknowledged. If neither the retry queue nor the store can take it
  (broker and database both away), it is rejected back to its queue after a pause; if even that
  fails (the connection is gone), the broker redelivers it because it was never acknowledged.
  A worker killed mid-handler leaves it unacknowledged too. Handlers are therefore idempotent
  per event id, as ARCHITECTURE.md requires.

Retry queues are shared by the node (one per delay, `kim.retry.<ms>ms`, each behind a fanout
exchange of the same name): one TTL per queue keeps them FIFO, which per-message TTLs in one
queue would not be (a long delay at the head would hold back a short one).

Handler and retry queues are quorum queues (`x-queue-type: quorum`, kimnetz.runtime.queues):
replicated over a broker cluster and safe across a broker restart; an earlier release's classic
queues are moved over by `kim node migrate`.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any, TypeVar

import kombu.exceptions
from amqp.exceptions import ConnectionError as AmqpConnectionError  # type: ignore[import-untyped]
from google.protobuf.message import DecodeError
from kombu import Exchange, Queue
from nameko.constants import AMQP_URI_CONFIG_KEY
from nameko.events import SERVICE_POOL, EventHandler
from nameko.messaging import QueueConsumer
from pymongo.errors import ConnectionFailure

from kim.common.v1.event_pb2 import EventEnvelope
from kimnetz.errors import KimError, Unavailable, VersionConflict
from kimnetz.runtime import dead_letters, events, metrics
from kimnetz.runtime.amqp import Publisher
from kimnetz.runtime.dead_letters import ATTEMPTS, FIRST_FAILURE, LAST_ERROR, DeadLetter
from kimnetz.runtime.proto_mapping import nul_fields
from kimnetz.runtime.queues import quorum
from kimnetz.runtime.settings import Settings
from kimnetz.runtime.worker import NodeRuntime

log = logging.getLogger(__name__)

#: Pause before a message that could be neither retried nor kept goes back to its queue.
SETTLE_PAUSE_SECONDS = 2.0


class RetryLater(Exception):
    """Raise from a handler: this event failed for a passing reason; deliver it again later."""


class DeadLetterError(Exception):
    """Raise from a handler: this event can never apply; keep it with `reason` for the operator."""


#: Exceptions whose cause passes: the event is delivered again after a back-off.
TRANSIENT: tuple[type[BaseException], ...] = (
    RetryLater, ConnectionFailure, VersionConflict, Unavailable, ConnectionError, TimeoutError,
    socket.timeout, AmqpConnectionError, kombu.exceptions.OperationalError,
)


def is_transient(error: BaseException) -> bool:
    """Whether `error`, or an exception it was raised from or while handling, is one whose
    cause passes (mongoengine wraps pymongo's errors, services wrap refusals)."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, TRANSIENT):
            return True
        if isinstance(current, KimError | DeadLetterError):
            return False  # a refusal stays one, whatever it was raised while handling
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def reason_of(error: BaseException) -> str:
    if isinstance(error, KimError):
        return str(error) or error.message
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


@dataclass(frozen=True)
class RetryPolicy:
    first_ms: int
    max_ms: int
    max_attempts: int

    @classmethod
    def from_settings(cls, settings: Settings) -> RetryPolicy:
        return cls(settings.event_retry_first_ms, max(settings.event_retry_max_ms,
                                                      settings.event_retry_first_ms),
                   settings.event_max_attempts)

    def delay_ms(self, attempts: int) -> int:
        """The back-off after the `attempts`-th failed delivery (1, 2, ...)."""
        return int(min(self.first_ms * 2 ** min(attempts - 1, 30), self.max_ms))


def retry_entities(delay_ms: int) -> tuple[Exchange, Queue]:
    """The fanout exchange and queue that hold a message for `delay_ms`, then dead-letter it to
    the default exchange with its routing key, the name of the handler's queue."""
    name = f"kim.retry.{delay_ms}ms"
    exchange = Exchange(name, type="fanout", durable=True, delivery_mode=2)
    queue = Queue(name, exchange=exchange, routing_key="", durable=True,
                  queue_arguments=quorum({"x-message-ttl": delay_ms, "x-dead-letter-exchange": ""}))
    return exchange, queue


class _Publishers:
    """One confirming publisher per broker uri and worker process (green threads share it; its
    lock serialises them)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_uri: dict[str, Publisher] = {}

    def get(self, uri: str) -> Publisher:
        with self._lock:
            return self._by_uri.setdefault(uri, Publisher(uri))


_publishers = _Publishers()


class ReliableQueueConsumer(QueueConsumer):
    """nameko's queue consumer, except that a body kombu cannot decode (or whose content type is
    not accepted) goes to the handler's dead-letter path; by default kombu raises out of the
    consumer loop and nameko kills the container."""

    def get_consumers(self, consumer_cls: Any, channel: Any) -> Iterable[Any]:
        consumers: Iterable[Any] = super().get_consumers(consumer_cls, channel)
        for provider, consumer in self._consumers.items():
            consumer.on_decode_error = partial(self._undecodable, provider)
        return consumers

    def _undecodable(self, provider: ReliableEventHandler, message: Any, exc: Exception) -> None:
        self.container.spawn_managed_thread(
            partial(provider.refuse, message, f"Nachricht nicht lesbar: {reason_of(exc)}",
                    type(exc).__name__),
            identifier=f"{type(provider).__name__}.undecodable",
        )


class ReliableEventHandler(EventHandler):
    """`@event_handler` (service pool, durable queue) that never acknowledges and forgets."""

    queue_consumer = ReliableQueueConsumer()
    runtime = NodeRuntime()  # the node's settings and databases (kimnetz/runtime/worker.py)

    def __init__(self, source_service: str, event_type: str, **kwargs: Any) -> None:
        # nameko logs an "expected" exception as a warning instead of a traceback at ERROR: a
        # passing failure is retried, not an error of the code.
        kwargs.setdefault("expected_exceptions", TRANSIENT)
        super().__init__(source_service, event_type, handler_type=SERVICE_POOL,
                         reliable_delivery=True, requeue_on_error=False, **kwargs)

    def setup(self) -> None:
        super().setup()
        # A quorum queue, replicated over the broker's cluster (kimnetz.runtime.queues); nameko
        # declares it with these arguments when the consumer starts.
        self.queue.queue_arguments = quorum(self.queue.queue_arguments)
        settings = self.runtime.context().node  # the store's database is connected with it
        self.policy = RetryPolicy.from_settings(settings)
        self.node_id = settings.node_id
        self.amqp_uri = self.container.config[AMQP_URI_CONFIG_KEY]
        self.handler_name = f"{self.container.service_name}.{self.method_name}"

    # Before the handler: what can never be an event of this queue.
    def handle_message(self, body: Any, message: Any) -> None:
        try:
            refusal = self._malformed(body)
        except Exception as exc:  # whatever unpacking raised: still a refusal, never a crash
            refusal = f"Ereignis nicht lesbar: {reason_of(exc)}"
        if refusal is not None:
            self.refuse(message, refusal, "MalformedEvent")
            return
        if body.HasField("occurred_at"):
            lag = time.time() - body.occurred_at.ToDatetime(tzinfo=UTC).timestamp()
            metrics.EVENT_LAG.labels(self.queue.name).observe(max(lag, 0.0))
        super().handle_message(body, message)

    def _malformed(self, body: Any) -> str | None:
        if not isinstance(body, EventEnvelope):
            return f"Kein Ereignisumschlag ({type(body).__name__})"
        if body.type != self.event_type:
            return f"Typ {body.type!r} passt nicht zur Warteschlange ({self.event_type})"
        try:
            payload = events.unpack(body)
        except (KeyError, TypeError, ValueError, DecodeError) as exc:
            return f"Nutzlast passt nicht zum Typ {body.type}: {reason_of(exc)}"
        # No service sends one (the api door refuses it); the store could not keep it.
        if paths := nul_fields(body) + [f"payload.{path}" for path in nul_fields(payload)]:
            return f"Nullzeichen (U+0000) in {', '.join(paths)}"
        return None

    def refuse(self, message: Any, reason: str, error: str) -> None:
        self._settle(message, transient=False, reason=reason, error=error)

    # After the handler: nameko calls this with the outcome (and the exception, if any).
    def handle_result(self, message: Any, worker_ctx: Any, result: Any = None,
                      exc_info: Any = None) -> tuple[Any, Any]:
        if exc_info is None:
            self.queue_consumer.ack_message(message)
            metrics.EVENTS.labels(self.queue.name, "handled").inc()
            # In the handler's span: at DEBUG each event's line carries the trace it belongs to.
            log.debug("%s: event %s handled", self.handler_name, message.properties.get("message_id", "?"))
        else:
            error = exc_info[1]
            self._settle(message, transient=is_transient(error), reason=reason_of(error),
                         error=type(error).__name__)
        return result, exc_info

    def _settle(self, message: Any, *, transient: bool, reason: str, error: str) -> None:
        """Retry or keep the failed message, then acknowledge it; never raises."""
        try:
            headers = dict(message.headers or {})
            attempts = int(headers.get(ATTEMPTS, 0)) + 1
            now = datetime.now(UTC)
            first = _parse_time(headers.get(FIRST_FAILURE)) or now
            if not transient or attempts >= self.policy.max_attempts:
                if transient:
                    reason = f"Nach {attempts} Zustellungen aufgegeben: {reason}"
                try:
                    self._keep(message, reason, error, attempts, first, now)
                    self.queue_consumer.ack_message(message)
                    metrics.EVENTS.labels(self.queue.name,
                                          "refused" if error == "MalformedEvent" else "dead_lettered").inc()
                    return
                except Exception as exc:
                    if not is_transient(exc):
                        raise
                    log.warning("%s: dead-letter store unreachable (%s); retrying the message "
                                "instead", self.handler_name, exc)
            self._retry(message, headers, attempts, first, reason)
            self.queue_consumer.ack_message(message)
            metrics.EVENTS.labels(self.queue.name, "retried").inc()
        except Exception:
            log.exception("%s: message could be neither retried nor kept; back to its queue",
                          self.handler_name)
            time.sleep(SETTLE_PAUSE_SECONDS)  # green under nameko: only this worker waits
            try:
                self.queue_consumer.requeue_message(message)
            except Exception:  # the connection is gone: the broker redelivers the unacked message
                log.exception("%s: requeue failed; the broker redelivers it", self.handler_name)

    def _retry(self, message: Any, headers: dict[str, Any], attempts: int, first: datetime,
               reason: str) -> None:
        delay = self.policy.delay_ms(attempts)
        exchange, queue = retry_entities(delay)
        headers = dead_letters.clean_headers(headers)
        headers.update({ATTEMPTS: attempts, FIRST_FAILURE: first.isoformat(),
                        LAST_ERROR: reason[:500]})
        _publishers.get(self.amqp_uri).send(
            exchange, self.queue.name, message.body, message_id=message.properties.get("message_id"),
            headers=headers, content_type=message.content_type or "application/octet-stream",
            content_encoding=message.content_encoding or "binary", declare=[queue],
        )
        log.warning("%s: event %s failed for a passing reason (%s); delivery %d, again in %d ms",
                    self.handler_name, message.properties.get("message_id", "?"), reason,
                    attempts, delay)

    def _keep(self, message: Any, reason: str, error: str, attempts: int, first: datetime,
              now: datetime) -> None:
        envelope = _envelope(message.body)
        letter = DeadLetter(
            queue=self.queue.name, handler=self.handler_name, reason=reason, error=error,
            body=bytes(message.body), headers=dict(message.headers or {}),
            content_type=message.content_type or "", content_encoding=message.content_encoding or "",
            routing_key=str(message.delivery_info.get("routing_key", "")),
            event_id=(envelope.id if envelope else "") or str(message.properties.get("message_id") or ""),
            event_type=envelope.type if envelope else "",
            source_node=envelope.source_node if envelope else "",
            attempts=attempts, first_failure=first, last_failure=now,
            replays=int(dict(message.headers or {}).get(dead_letters.REPLAYS, 0)), node=self.node_id,
        )
        stored = dead_letters.keep(letter)
        log.error("%s: event %s dead-lettered as %s: %s", self.handler_name, letter.event_id,
                  stored, reason)


def _envelope(body: Any) -> EventEnvelope | None:
    try:
        envelope = EventEnvelope()
        envelope.ParseFromString(bytes(body))
        return envelope
    except Exception:  # not an envelope at all: kept by its body's hash
        return None


def _parse_time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str) and value:
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None
    return None


F = TypeVar("F", bound=Callable[..., Any])


def reliable_handler(source_service: str, event_type: str) -> Callable[[F], F]:
    """The decorator for every event handler: `event_type` events from `source_service`'s
    exchange, one durable queue per service and method, consumed as the module's note says."""
    decorator: Callable[[F], F] = ReliableEventHandler.decorator(source_service, event_type)
    return decorator

__all__ = ["DeadLetterError", "ReliableEventHandler", "RetryLater", "is_transient",
           "reliable_handler"]
