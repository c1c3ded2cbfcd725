"""How long the outbox relay takes from `notify()` after a save to the publish, next to an outbox
collection of N sent documents (`python -m bench.profile_relay [N ...]`, default 200 2000).

The publisher only records the moment (no broker), so this is the claim alone: on FerretDB 1.24
its cost grows with the collection. Own throw-away database, dropped afterwards.
"""

from __future__ import annotations

import statistics
import sys
import threading
import time
import uuid
from collections.abc import Mapping
from typing import Any

import mongoengine
from mongoengine.connection import get_db

from kimnetz.runtime import node
from kimnetz.runtime.outbox import OutboxRelay
from kimnetz.runtime.settings import Settings


class _Clock:
    def __init__(self) -> None:
        self.published = threading.Event()
        self.at = 0.0

    def publish(self, exchange: str, routing_key: str, body: bytes, message_id: str,
                headers: Mapping[str, Any] | None = None) -> None:
        self.at = time.perf_counter()
        self.published.set()


def notify_to_publish(settings: Settings, size: int, count: int = 15) -> float:
    """Median ms from `notify()` to the publish of a probe saved next to `size` sent ones."""
    name = f"bench_relay_{uuid.uuid4().hex[:8]}"
    mongoengine.connect(db=name, host=settings.mongodb_uri, alias=node.NODE_ALIAS)
    collection = node.ProbeRequest._get_collection()
    collection.insert_many([{"probe_id": uuid.uuid4().hex, "requested_by": "bench", "outbox": []}
                            for _ in range(size)])
    clock = _Clock()
    relay = OutboxRelay(clock, [collection], sweep_seconds=600)
    relay.start()
    time.sleep(1 + size / 2000)  # the sweep at start is over
    times: list[float] = []
    try:
        for _ in range(count):
            clock.published.clear()
            node.request_probe(settings, requested_by="bench")
            notified = time.perf_counter()
            relay.notify()
            if clock.published.wait(10):
                times.append(clock.at - notified)
            time.sleep(0.05)
    finally:
        relay.stop()
        get_db(node.NODE_ALIAS).client.drop_database(name)
        mongoengine.disconnect(node.NODE_ALIAS)
    return statistics.median(times) * 1000 if times else float("nan")


def main() -> None:
    settings = Settings()
    for size in [int(a) for a in sys.argv[1:]] or [200, 2000]:
        print(f"{size} sent documents: notify -> publish p50 {notify_to_publish(settings, size):.1f} ms")


if __name__ == "__main__":
    main()
