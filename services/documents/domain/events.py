"""The documents service's domain events, as the service layer records them with the write that
causes them (the repository puts them into that document's outbox; services/documents/messages.py
turns them into the kim.documents.v1 messages the relay publishes). Plain values: no protobuf.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class DocumentGenerated:
    document_id: str
    organization: str
    kind: str
    """The kind's id (domain/kinds.py), e.g. "fallkonferenz_protokoll"."""
    sha256: str
    template_id: str
    template_version: int
    generated_by: str
    """The subject of the person (or the requester of a bulk job) who generated it."""
    occurred_at: datetime
    bulk_job_id: str = ""


@dataclass(frozen=True)
class TemplateVersionUploaded:
    organization: str
    kind: str
    version: int
    sha256: str
    uploaded_by: str
    """The uploader's subject."""
    occurred_at: datetime


@dataclass(frozen=True)
class ContractsRequested:
    job_id: str
    organization: str
    expected: int
    occurred_at: datetime


DocumentsEvent = DocumentGenerated | TemplateVersionUploaded | ContractsRequested
