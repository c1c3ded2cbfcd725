"""The documents service's storage ports: what the service layer (services/documents/service.py)
needs of storage, as Protocols with the plain records they read and write. No mongoengine, no
protobuf: the adapter is services/documents/repository.py (`MongoDocumentsRepository`, GridFS and
outboxes on FerretDB), the in-memory fake tests/support/fakes/documents.py; both pass the same
contract test (tests/integration/documents/test_documents_repository_contract.py).

Events are domain events (domain/events.py), recorded with the write that causes them.

The ports of the other services the documents service reads live beside their adapters:
`ConferenceRecords` (services/documents/conference.py, adapter conference_client.py) and
`CaseFigures`, `PeerFigures` (services/documents/figures.py, adapters figures_client.py and
federation_client.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from services.documents.domain.events import DocumentsEvent


@dataclass(frozen=True)
class DocumentRecord:
    """A generated document's description (its content is stored beside it)."""

    document_id: str
    organization: str
    kind: str
    title: str
    filename: str
    sha256: str
    size: int
    template_id: str
    template_version: int
    template_sha256: str
    input_json: str
    """The input as JSON; "" where a listing leaves it out."""
    generated_by: str
    generated_by_username: str
    created_at: datetime
    bulk_job_id: str = ""


@dataclass(frozen=True)
class TemplateRecord:
    """An uploaded template version of an organisation and kind (numbered from 1)."""

    organization: str
    kind: str
    version: int
    sha256: str
    size: int
    filename: str
    comment: str
    uploaded_by: str
    uploaded_at: datetime


@dataclass(frozen=True)
class JobRecord:
    """A bulk job: the request as made, with its outcome ("requested", "done", "failed")."""

    job_id: str
    organization: str
    requested_by: str
    requested_by_username: str
    input_json: str
    template_version: int | None
    """None: the newest version when the job runs."""
    expected: int
    state: str
    error: str
    created_at: datetime


class GeneratedDocuments(Protocol):
    def add_document(self, record: DocumentRecord, content: bytes, events: Iterable[DocumentsEvent]) -> None:
        """Store content and description with `events` (one write for description and events).
        A document id is stored once: storing it again raises AlreadyExists (kimnetz.errors) and
        leaves the stored content as it was."""
        ...

    def has_document(self, document_id: str) -> bool: ...

    def document(self, document_id: str) -> DocumentRecord | None:
        """The description with its input, or None."""
        ...

    def content(self, document_id: str) -> bytes: ...

    def documents(self, organization: str, *, kind: str = "", bulk_job_id: str = "",
                  limit: int = 100) -> list[DocumentRecord]:
        """The organisation's documents, newest first, without their input (`input_json` "")."""
        ...

    def documents_due(self, created_before: datetime, kept_kinds: Iterable[str],
                      limit: int = 500) -> list[DocumentRecord]:
        """Documents created at or before `created_before` of any kind but `kept_kinds` whose
        events are sent (without input)."""
        ...

    def delete_document(self, document_id: str) -> bool:
        """Content and description with its input; deleting a deleted document does nothing.
        True if this call deleted the description (two workers' retention runs at once: one
        of them deleted it, and only that one audits it)."""
        ...


class TemplateVersions(Protocol):
    def add_template(self, organization: str, kind: str, content: bytes, *, sha256: str, filename: str,
                     comment: str, uploaded_by: str, uploaded_at: datetime,
                     event: Callable[[int], DocumentsEvent]) -> TemplateRecord:
        """Store the next version (1 for the first; two uploads at once get two versions);
        `event(version)` gives the event to record with it."""
        ...

    def latest_template(self, organization: str, kind: str) -> TemplateRecord | None: ...

    def template(self, organization: str, kind: str, version: int) -> TemplateRecord | None: ...

    def template_content(self, record: TemplateRecord) -> bytes: ...

    def templates(self, organization: str, kind: str) -> list[TemplateRecord]:
        """The organisation's versions of a kind, newest first."""
        ...


class BulkJobs(Protocol):
    def add_job(self, job: JobRecord, events: Iterable[DocumentsEvent]) -> None:
        """Insert the request (`job.state` must be "requested", without error, else ValueError:
        the outcome comes later); a job id is inserted once (AlreadyExists)."""
        ...

    def job(self, job_id: str) -> JobRecord | None:
        """The request with its outcome ("requested" while it has none)."""
        ...

    def finish_job(self, job_id: str, state: str, finished_at: datetime, error: str = "") -> None:
        """The outcome ("done" or "failed"); finishing again overwrites it."""
        ...


class DocumentsRepository(GeneratedDocuments, TemplateVersions, BulkJobs, Protocol):
    """All of the service's storage on one node."""

    @property
    def node_id(self) -> str:
        """The node whose storage this is (named in audit events)."""
        ...
