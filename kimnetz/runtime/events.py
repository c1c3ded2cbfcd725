"""The event encoding of KIM-Netz (docs/events.md).

An event is a protobuf message from `protos/`, wrapped in `kim.common.v1.EventEnvelope` and sent
as the binary envelope with content type `application/x-protobuf`. It is published to the topic
exchange `<source_service>.events` with the payload's full protobuf name as routing key, which is
exactly where nameko's `@event_handler(source_service, type)` listens.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import kombu.serialization
from google.protobuf import any_pb2, symbol_database
from google.protobuf.message import Message

from kim.common.v1.event_pb2 import EventEnvelope

SERIALIZER = "kim-protobuf"
CONTENT_TYPE = "application/x-protobuf"


def exchange_name(service: str) -> str:
    return f"{service}.events"


#: (exchange, routing key) of every event some KIM-Netz worker consumes (here or at a peer over
#: federation). The outbox relay keeps such an event while the broker returns it as unroutable
#: (its queue or federation link does not exist yet); any other event has no consumer by design
#: and a return is expected (docs/events.md, "Publishing"). tests/unit/runtime/test_consume.py
#: checks that this matches the handlers the workers declare.
CONSUMED: frozenset[tuple[str, str]] = frozenset(
    (f"{service}.events", f"kim.{package}.v1.{name}")
    for service, package, names in (
        ("node", "node", ("ProbeRequested",)),
        ("conference", "conference", (
            "CaseAdmissionDecided", "CaseReferralDecided", "CaseDeferralDecided",
            "CaseRejectionDecided", "CaseReviewDecided", "CaseDataErased", "ZielgruppenDefined",
        )),
        ("case", "case", ("BarrierRecorded", "CaseSubmittedForReview", "ConsentRevoked", "CaseErased")),
        ("documents", "documents", ("ContractsRequested",)),
    )
    for name in names
)


def event_type(message: Message | type[Message]) -> str:
    return message.DESCRIPTOR.full_name


def pack(
    message: Message, *, source_service: str, source_node: str, correlation_id: str = ""
) -> EventEnvelope:
    envelope = EventEnvelope(
        id=str(uuid.uuid4()),
        type=event_type(message),
        source_service=source_service,
        source_node=source_node,
        correlation_id=correlation_id,
    )
    envelope.occurred_at.FromDatetime(datetime.now(UTC))
    payload = any_pb2.Any()
    payload.Pack(message)
    envelope.payload.CopyFrom(payload)
    return envelope


def unpack(envelope: EventEnvelope) -> Message:
    """The concrete event message; its module must have been imported (a handler imports it)."""
    cls = symbol_database.Default().GetSymbol(envelope.type)
    message: Message = cls()
    if not envelope.payload.Unpack(message):
        raise ValueError(f"event {envelope.id}: payload is not a {envelope.type}")
    return message


def encode(envelope: EventEnvelope | bytes) -> bytes:
    """kombu encoder: an envelope, or its bytes as stored in an outbox."""
    return envelope if isinstance(envelope, bytes) else envelope.SerializeToString()


def decode(body: bytes) -> EventEnvelope:
    envelope = EventEnvelope()
    envelope.ParseFromString(body)
    return envelope


def register_serializer() -> None:
    """Make kombu (and so nameko) able to send and receive envelopes. Idempotent."""
    kombu.serialization.register(
        SERIALIZER, encoder=encode, decoder=decode, content_type=CONTENT_TYPE,
        content_encoding="binary",
    )


register_serializer()
