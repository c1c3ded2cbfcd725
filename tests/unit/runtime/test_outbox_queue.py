"""The relay's queue of saved documents (no servers: the collections are never contacted)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from pymongo import MongoClient

from kimnetz.runtime import outbox
from kimnetz.runtime.outbox import OutboxRelay, _SavedDocuments


class Silent:
    def publish(self, exchange: str, routing_key: str, body: bytes, message_id: str,
                headers: Mapping[str, Any] | None = None) -> None:
        raise AssertionError("nothing is published in these tests")


def relay() -> tuple[OutboxRelay, str]:
    client: MongoClient[dict[str, object]] = MongoClient("mongodb://127.0.0.1:1/", connect=False)
    collection = client["db"]["notes"]
    return OutboxRelay(Silent(), [collection]), collection.full_name


def test_saved_ids_reach_only_the_relays_watching_that_collection() -> None:
    saved = _SavedDocuments()
    watching, name = relay()
    other, _ = relay()
    saved.watch(watching, [name])
    saved.inserted(name, "a")
    saved.inserted("db.elsewhere", "b")
    assert list(watching._queued) == [(name, "a")]
    assert list(other._queued) == []

    saved.unwatch(watching)
    saved.inserted(name, "c")
    assert list(watching._queued) == [(name, "a")], "a stopped relay queues nothing more"


def test_a_full_queue_asks_for_a_sweep_instead_of_growing(monkeypatch: pytest.MonkeyPatch) -> None:
    watching, name = relay()
    limit = 3
    monkeypatch.setattr(outbox, "MAX_QUEUED", limit)
    assert not watching._sweep_requested
    for number in range(limit + 2):
        watching._queue(name, number)
    assert len(watching._queued) == limit
    assert watching._sweep_requested
