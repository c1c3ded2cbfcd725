"""The node's own operational database (`<prefix>_<node>_node`) and the probe that proves a
node's whole event path: MongoDB write -> outbox -> relay -> RabbitMQ -> every service's
nameko worker -> MongoDB receipt.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from mongoengine import DateTimeField, Document, IntField, StringField
from mongoengine.context_managers import switch_db

from kim.node.v1.probe_pb2 import ProbeRequested
from kim.runtime import mongo
from kim.runtime.outbox import OutboxDocument, record_event
from kim.runtime.settings import Settings

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
    """One per probe and service; `deliveries` counts how often the event reached it."""

    meta: dict[str, Any] = {
        "db_alias": NODE_ALIAS,
        "collection": "probe_receipts",
        "indexes": [{"fields": ["probe_id", "service"], "unique": True}],
    }

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


def record_receipt(probe_id: str, service: str, event_id: str) -> None:
    """Idempotent per (probe, service); a redelivery only raises the delivery count."""
    ProbeReceipt._get_collection().update_one(
        {"probe_id": probe_id, "service": service},
        {
            "$inc": {"deliveries": 1},
            "$setOnInsert": {"event_id": event_id, "received_at": datetime.now(UTC)},
        },
        upsert=True,
    )


def receipts(probe_id: str, alias: str = NODE_ALIAS) -> dict[str, ProbeReceipt]:
    with switch_db(ProbeReceipt, alias) as Receipt:
        return {r.service: r for r in Receipt.objects(probe_id=probe_id)}
