"""Publishing to RabbitMQ with publisher confirms and mandatory routing: a publish returns only
once the broker has taken the message AND routed it to at least one queue, so the outbox may
forget an event only after this returns. A message that no queue (and no federation link) is
bound to comes back as a basic.return before the confirm; `publish` then raises `Unroutable`
and the caller keeps it (docs/events.md, "Publishing")."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from kombu import Connection, Exchange, Producer, Queue

from kimnetz.runtime import events


class Unroutable(Exception):
    """The broker took the message but no queue was bound to its routing key (basic.return)."""

    def __init__(self, exchange: str, routing_key: str, reply: str) -> None:
        super().__init__(f"{exchange or '(default exchange)'} {routing_key}: unroutable ({reply})")
        self.exchange = exchange
        self.routing_key = routing_key


class Publisher:
    """One connection and channel, used by one thread at a time (the lock makes that so)."""

    def __init__(self, amqp_uri: str, connect_timeout: float = 5.0) -> None:
        self._uri = amqp_uri
        self._timeout = connect_timeout
        self._lock = threading.Lock()
        self._connection: Connection | None = None
        self._producer: Producer | None = None
        self._declared: set[str] = set()
        self._returned: str | None = None

    def _ensure(self) -> Producer:
        if self._producer is None:
            self._connection = Connection(
                self._uri,
                connect_timeout=self._timeout,
                transport_options={"confirm_publish": True},
            )
            self._connection.ensure_connection(max_retries=1)
            self._producer = Producer(self._connection.channel(), on_return=self._on_return)
            self._declared.clear()
        return self._producer

    def _on_return(self, exception: Exception, exchange: str, routing_key: str, message: Any) -> None:
        # Called by py-amqp while `publish` waits for the confirm (the broker sends basic.return
        # before basic.ack); the lock makes the current publish the one returned.
        self._returned = str(exception)

    def publish(self, exchange: str, routing_key: str, body: bytes, message_id: str,
                headers: Mapping[str, Any] | None = None) -> None:
        """An event on a service's topic exchange. Raises `Unroutable` if no queue took it, and
        on any broker problem; the caller keeps the event and retries later. `headers`: the
        trace context (kimnetz.runtime.tracing), nothing the receiver decides on."""
        target = Exchange(exchange, type="topic", durable=True, delivery_mode=2)
        self.send(target, routing_key, body, message_id=message_id, headers=headers,
                  serializer=events.SERIALIZER)

    def send(
        self,
        exchange: Exchange,
        routing_key: str,
        body: bytes,
        *,
        message_id: str | None = None,
        headers: Mapping[str, Any] | None = None,
        serializer: str | None = None,
        content_type: str | None = None,
        content_encoding: str | None = None,
        declare: Sequence[Exchange | Queue] = (),
    ) -> None:
        """Any message, confirmed and mandatory (`exchange` may be the default exchange,
        `Exchange("")`, to address a queue by name). `declare`: declared once per connection
        before the first publish (the exchange itself is declared unless it is the default)."""
        with self._lock:
            try:
                producer = self._ensure()
                for entity in ([exchange] if exchange.name else []) + list(declare):
                    key = f"{type(entity).__name__}:{entity.name}"
                    if key not in self._declared:
                        entity.declare(channel=producer.channel)
                        self._declared.add(key)
                self._returned = None
                options: dict[str, Any] = {}
                if content_type is not None:
                    options["content_type"] = content_type
                    options["content_encoding"] = content_encoding or "binary"
                else:
                    options["serializer"] = serializer or events.SERIALIZER
                producer.publish(
                    body,
                    exchange=exchange,
                    routing_key=routing_key,
                    message_id=message_id,
                    headers=dict(headers or {}),
                    delivery_mode=2,
                    mandatory=True,
                    retry=False,
                    **options,
                )
            except Exception:
                self.close()
                raise
            if self._returned is not None:
                raise Unroutable(exchange.name, routing_key, self._returned)

    def close(self) -> None:
        connection, self._connection, self._producer = self._connection, None, None
        if connection is not None:
            with contextlib.suppress(Exception):  # a dead connection cannot be closed more
                connection.release()

    def __enter__(self) -> Publisher:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
