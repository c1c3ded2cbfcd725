"""A queue bound to a service's events exchange before anything is written, so every envelope
published there can be counted afterwards (duplicates included)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from kombu import Connection, Exchange, Queue

from kim.common.v1.event_pb2 import EventEnvelope
from kimnetz.runtime import events


@contextmanager
def event_tap(amqp_uri: str, source_service: str, name: str) -> Iterator[Queue]:
    """A queue `tap-<name>` on `<source_service>.events` (every routing key), deleted after."""
    with Connection(amqp_uri) as connection:
        queue = Queue(f"tap-{name}", Exchange(events.exchange_name(source_service), type="topic",
                      durable=True), routing_key="#", durable=False, auto_delete=False)
        queue(connection.channel()).declare()
        yield queue
        queue(connection.channel()).delete()


def drain(amqp_uri: str, queue: Queue, expected: int, seconds: float,
          settle_seconds: float) -> list[EventEnvelope]:
    """Every envelope in the queue: waits up to `seconds` for `expected` of them, then
    `settle_seconds` more, so a duplicate arriving late is counted too."""
    received: list[EventEnvelope] = []
    deadline, settle = time.monotonic() + seconds, None
    with Connection(amqp_uri) as connection:
        bound = queue(connection.channel())
        while time.monotonic() < (settle or deadline):
            message = bound.get(no_ack=True, accept=[events.SERIALIZER])
            if message is not None:
                received.append(events.decode(message.body))
            elif settle is None and len(received) >= expected:
                settle = time.monotonic() + settle_seconds
            else:
                time.sleep(0.05)
    return received
