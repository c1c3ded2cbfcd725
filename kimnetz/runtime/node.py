"""The node's own operational database (`<prefix>_<node>_node`) and the probe that proves a
node's whole event path: MongoDB write -> outbox -> relay -> RabbitMQ -> every service's
nameko worker -> MongoDB receipt.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from mongoengine import DateTimeField, Document, IntField, StringField
from mongoengine.connection import get_db
from mongoengine.context_managers import switch_db
from pymongo.errors import DuplicateKeyError

from kim.node.v1.probe_pb2 import ProbeRequested
from kimnetz.runtime import mongo
from kimnetz.runtime.outbox import OutboxDocument, record_event
from kimnetz.runtime.settings import Settings

NODE_ALIAS = "node"


def connect(settings: Settings, alias: str = NODE_ALIAS) -> None:
    """The node database under `alias` (a command line that checks several nodes connects each
    under its own alias)."""
    mongo.connect(settings, NODE_ALIAS, alias=alias)


class ProbeRequest(OutboxDocument):
    meta: dict[str, Any] = {"db_alias": NODE_ALIAS, "collection": "probe_requests"}

    probe_id = StringField(required=True, unique=True)
    requested_by = StringField(required=True)
    requested_at = DateTimeField(required=True)


class ProbeReceipt(Document):
    """One per probe and service, `_id` "<probe id>:<service>" (`receipt_id`; a probe is one
    event, so this is the service's once-per-event-id key); `deliveries` counts how often the
    event reached it. Keyed by `_id` because FerretDB 1.24 answers nothing else without decoding
    the whole collection (docs/benchmarks.md); receipts of older runs keep ObjectId ids."""

    meta: dict[str, Any] = {
        "db_alias": NODE_ALIAS,
        "collection": "probe_receipts",
        "indexes": [{"fields": ["probe_id", "service"], "unique": True}],
    }

    receipt_id = StringField(primary_key=True)
    probe_id = StringField(required=True)
    service = StringField(required=True)
    event_id = StringField(required=True)
    deliveries = IntField(required=True, default=1)
    received_at = DateTimeField(required=True)


def request_probe(settings: Settings, requested_by: str, alias: str = NODE_ALIAS) -> ProbeRequest:
    now = datetime.now(UTC)
    message = ProbeRequested(probe_id=str(uuid.uuid4()), requested_by=requested_by)
    message.requested_at.FromDatetime(now)
    with switch_db(ProbeRequest, alias) as Request:
        probe: ProbeRequest = Request(
            probe_id=message.probe_id, requested_by=requested_by, requested_at=now
        )
        record_event(probe, message, source_service=NODE_ALIAS, source_node=settings.node_id)
        probe.save()
    return probe


def receipt_id(probe_id: str, service: str) -> str:
    return f"{probe_id}:{service}"


def record_receipt(probe_id: str, service: str, event_id: str) -> None:
    """Idempotent per (probe, service): the first delivery inserts the receipt under its unique
    `_id`, a redelivery finds that id taken and only raises the delivery count (an update by
    bare `_id`; two redeliveries in the same instant may count as one on FerretDB, whose updates
    are unisolated, but never as a second receipt)."""
    collection = ProbeReceipt._get_collection()
    key = receipt_id(probe_id, service)
    try:
        collection.insert_one({
            "_id": key, "probe_id": probe_id, "service": service, "event_id": event_id,
            "deliveries": 1, "received_at": datetime.now(UTC),
        })
    except DuplicateKeyError:
        collection.update_one({"_id": key}, {"$inc": {"deliveries": 1}})


def receipts(probe_id: str, alias: str = NODE_ALIAS,
             services: Iterable[str] | None = None) -> dict[str, ProbeReceipt]:
    """The probe's receipts by service. With `services`: one `_id` lookup each (no scan on
    FerretDB), for pollers that know whom they wait for; without: a query by probe id."""
    if services is None:
        with switch_db(ProbeReceipt, alias) as Receipt:
            return {r.service: r for r in Receipt.objects(probe_id=probe_id)}
    collection = get_db(alias)[ProbeReceipt._get_collection_name()]
    found: dict[str, ProbeReceipt] = {}
    for service in services:
        stored = collection.find_one({"_id": receipt_id(probe_id, service)})
        if stored is not None:
            found[service] = ProbeReceipt._from_son(stored)
    return found
