"""Mapping between the documents service's domain values and its kim.documents.v1 messages: the
document kinds (`KIND_TO_PROTO`, `KIND_FROM_PROTO`) and the domain events (`event_message`),
which the repository records in its outboxes. Points in time map through
kimnetz.runtime.proto_mapping like every service's. The only place besides the api and the adapters
that knows protobuf: the service layer and the domain record domain events (domain/events.py).
"""

from __future__ import annotations

from google.protobuf.message import Message

from kim.documents.v1 import documents_pb2, events_pb2
from kimnetz.runtime.proto_mapping import to_proto_timestamp
from services.documents.domain.events import (
    DocumentGenerated,
    DocumentsEvent,
    TemplateVersionUploaded,
)

KIND_TO_PROTO: dict[str, documents_pb2.DocumentKind] = {
    "contract": documents_pb2.CONTRACT,
    "drucksache": documents_pb2.DRUCKSACHE,
    "fallkonferenz_protokoll": documents_pb2.FALLKONFERENZ_PROTOKOLL,
    "lenkungsgruppe_protokoll": documents_pb2.LENKUNGSGRUPPE_PROTOKOLL,
    "monitoringbericht": documents_pb2.MONITORINGBERICHT,
    "einwilligungserklaerung": documents_pb2.EINWILLIGUNGSERKLAERUNG,
}
KIND_FROM_PROTO: dict[int, str] = {value: key for key, value in KIND_TO_PROTO.items()}


def event_message(event: DocumentsEvent) -> Message:
    """The kim.documents.v1 event message of a domain event."""
    if isinstance(event, DocumentGenerated):
        return events_pb2.DocumentGenerated(
            document_id=event.document_id, organization=event.organization,
            occurred_at=to_proto_timestamp(event.occurred_at), kind=KIND_TO_PROTO[event.kind],
            sha256=event.sha256, template_id=event.template_id, template_version=event.template_version,
            generated_by=event.generated_by, bulk_job_id=event.bulk_job_id)
    if isinstance(event, TemplateVersionUploaded):
        return events_pb2.TemplateVersionUploaded(
            organization=event.organization, kind=KIND_TO_PROTO[event.kind], version=event.version,
            sha256=event.sha256, uploaded_by=event.uploaded_by,
            occurred_at=to_proto_timestamp(event.occurred_at))
    return events_pb2.ContractsRequested(
        job_id=event.job_id, organization=event.organization,
        occurred_at=to_proto_timestamp(event.occurred_at), expected=event.expected)
