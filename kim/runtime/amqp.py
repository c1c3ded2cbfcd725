"""Publishing to RabbitMQ with publisher confirms: a publish returns only once the broker has
taken the message, so the outbox may forget an event only after this returns."""

from __future__ import annotations

import contextlib
import threading
from typing import Any

from kombu import Connection, Exchange, Producer

from kim.runtime import events


class Publisher:
    """One connection and channel, used by one thread at a time (the lock makes that so)."""

    def __init__(self, amqp_uri: str, connect_timeout: float = 5.0) -> None:
        self._uri = amqp_uri
        self._timeout = connect_timeout
        self._lock = threading.Lock()
        self._connection: Connection | None = None
        self._producer: Producer | None = None
        self._declared: set[str] = set()

    def _ensure(self) -> Producer:
        if self._producer is None:
            self._connection = Connection(
                self._uri,
                connect_timeout=self._timeout,
                transport_options={"confirm_publish": True},
            )
            self._connection.ensure_connection(max_retries=1)
            self._producer = Producer(self._connection.channel())
            self._declared.clear()
        return self._producer

    def publish(self, exchange: str, routing_key: str, body: bytes, message_id: str) -> None:
        """Raises on any broker problem; the caller keeps the event and retries later."""
        with self._lock:
            try:
                producer = self._ensure()
                target = Exchange(exchange, type="topic", durable=True, delivery_mode=2)
                if exchange not in self._declared:
                    target.declare(channel=producer.channel)
                    self._declared.add(exchange)
                producer.publish(
                    body,
                    exchange=target,
                    routing_key=routing_key,
                    serializer=events.SERIALIZER,
                    message_id=message_id,
                    delivery_mode=2,
                    retry=False,
                )
            except Exception:
                self.close()
                raise

    def close(self) -> None:
        connection, self._connection, self._producer = self._connection, None, None
        if connection is not None:
            with contextlib.suppress(Exception):  # a dead connection cannot be closed more
                connection.release()

    def __enter__(self) -> Publisher:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
