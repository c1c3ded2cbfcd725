"""Where the documents service keeps what it generates and what organisations upload.

- Generated documents: the DOCX in GridFS (bucket `files` of the service's database), its
  description in `generated_documents` (SHA-256, kind, template id and version, the input as JSON,
  who generated it and for which organisation, when) with the DocumentGenerated event in its
  outbox, so description and event are one write.
- Template versions: the DOCX in GridFS, its description in `template_versions`, numbered per
  organisation and kind from 1 (version 0 is the built-in default, never stored).
- Bulk jobs: `bulk_jobs`, the allocation file a worker turns into contracts, inserted once with
  the ContractsRequested event in its outbox; the worker's outcome (done/failed, error, when) goes
  to `bulk_job_outcomes`, a separate document without outbox. Documents with an outbox are
  insert-only (kimnetz.runtime.outbox): FerretDB 1.24 applies updates as unisolated read-modify-writes,
  so an update of the job racing the relay's `$pull` could lose the event or send it again.

GridFS on FerretDB 1.24 is two ordinary collections (`files.files`, `files.chunks` with pymongo's
indexes); the content is written before its description, so a crash in between leaves an orphan
file, never a description without content (docs/documents.md, "Storage").
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

import gridfs
from mongoengine import (
    DateTimeField,
    Document,
    IntField,
    NotUniqueError,
    StringField,
)
from mongoengine.connection import get_db

from kimnetz.errors import AlreadyExists
from kimnetz.runtime.outbox import OutboxDocument, record_event
from services.documents import SERVICE
from services.documents.domain.events import DocumentsEvent
from services.documents.domain.ports import DocumentRecord, JobRecord, TemplateRecord
from services.documents.messages import event_message

BUCKET = "files"
#: The answer to a second insert of an id (as kimnetz.runtime.grpc_server gives NotUniqueError).
EXISTS = "Ein Eintrag mit diesen Angaben existiert bereits."


class GeneratedDocument(OutboxDocument):
    meta = {
        "db_alias": SERVICE,
        "collection": "generated_documents",
        "indexes": ["outbox.event_id", ["organization", "-created_at"], ["organization", "bulk_job_id"]],
    }

    document_id = StringField(primary_key=True)
    organization = StringField(required=True)
    kind = StringField(required=True)
    title = StringField(required=True)
    filename = StringField(required=True)
    sha256 = StringField(required=True)
    size = IntField(required=True)
    template_id = StringField(required=True)
    template_version = IntField(required=True)
    template_sha256 = StringField(required=True)
    input_json = StringField(required=True)
    generated_by = StringField(required=True)
    generated_by_username = StringField(default="")
    created_at = DateTimeField(required=True)
    bulk_job_id = StringField(default="")


class TemplateVersionDocument(OutboxDocument):
    meta = {
        "db_alias": SERVICE,
        "collection": "template_versions",
        "indexes": ["outbox.event_id", {"fields": ["organization", "kind", "version"], "unique": True}],
    }

    organization = StringField(required=True)
    kind = StringField(required=True)
    version = IntField(required=True, min_value=1)
    sha256 = StringField(required=True)
    size = IntField(required=True)
    filename = StringField(default="")
    comment = StringField(default="")
    uploaded_by = StringField(required=True)
    uploaded_at = DateTimeField(required=True)


class BulkJobDocument(OutboxDocument):
    """The request as it was made; never changes (the outcome is a `BulkJobOutcomeDocument`)."""

    meta = {"db_alias": SERVICE, "collection": "bulk_jobs", "indexes": ["outbox.event_id", "organization"]}

    job_id = StringField(primary_key=True)
    organization = StringField(required=True)
    requested_by = StringField(required=True)
    requested_by_username = StringField(default="")
    input_json = StringField(required=True)
    template_version = IntField()  # None: the newest version when the job was requested
    expected = IntField(required=True)
    created_at = DateTimeField(required=True)


class BulkJobOutcomeDocument(Document):
    """How a job ended; absent while it is requested. No outbox, so it may be updated (a
    redelivered job finishing again simply writes its outcome again)."""

    meta = {"db_alias": SERVICE, "collection": "bulk_job_outcomes"}

    job_id = StringField(primary_key=True)
    state = StringField(required=True, choices=("done", "failed"))
    error = StringField(default="")
    finished_at = DateTimeField(required=True)


OUTBOX_DOCUMENTS: list[type[OutboxDocument]] = [GeneratedDocument, TemplateVersionDocument, BulkJobDocument]


class MongoDocumentsRepository:
    """The service's storage (the `DocumentsRepository` port, domain/ports.py) on its mongoengine
    alias; events go into the outboxes of the documents written, as kim.documents.v1 messages
    (messages.py)."""

    def __init__(self, node_id: str, alias: str = SERVICE) -> None:
        self._node_id = node_id
        self.alias = alias

    @property
    def node_id(self) -> str:
        return self._node_id

    @property
    def bucket(self) -> gridfs.GridFSBucket:
        return gridfs.GridFSBucket(get_db(self.alias), bucket_name=BUCKET)

    def _put_file(self, file_id: str, filename: str, content: bytes, metadata: dict[str, Any]) -> None:
        bucket = self.bucket
        try:
            bucket.upload_from_stream_with_id(file_id, filename, content, metadata=metadata)
        except gridfs.errors.FileExists:
            # Left by an attempt that stopped before its description was written (a redelivered
            # bulk job): replace it, the description written next decides what is valid.
            bucket.delete(file_id)
            bucket.upload_from_stream_with_id(file_id, filename, content, metadata=metadata)

    def _read_file(self, file_id: str) -> bytes:
        return bytes(self.bucket.open_download_stream(file_id).read())

    def _outbox(self, document: OutboxDocument, events: Iterable[DocumentsEvent],
                correlation_id: str = "") -> None:
        for event in events:
            record_event(document, event_message(event), source_service=SERVICE, source_node=self.node_id,
                         correlation_id=correlation_id)

    # --- generated documents --------------------------------------------------------------------

    def add_document(self, record: DocumentRecord, content: bytes, events: Iterable[DocumentsEvent]) -> None:
        # A stored document keeps its content: a second store of its id is refused before the
        # file (which an interrupted attempt may have left without description) is replaced.
        if self.has_document(record.document_id):
            raise AlreadyExists(EXISTS)
        self._put_file(f"document:{record.document_id}", record.filename, content,
                       {"sha256": record.sha256, "organization": record.organization})
        document = GeneratedDocument(**record.__dict__)
        self._outbox(document, events, correlation_id=record.bulk_job_id)
        _insert(document)

    def has_document(self, document_id: str) -> bool:
        return GeneratedDocument.objects(document_id=document_id).only("document_id").first() is not None

    def document(self, document_id: str) -> DocumentRecord | None:
        found = GeneratedDocument.objects(document_id=document_id).exclude("outbox").first()
        return _document_record(found) if found is not None else None

    def content(self, document_id: str) -> bytes:
        return self._read_file(f"document:{document_id}")

    def documents(self, organization: str, *, kind: str = "", bulk_job_id: str = "",
                  limit: int = 100) -> list[DocumentRecord]:
        query: dict[str, Any] = {"organization": organization}
        if kind:
            query["kind"] = kind
        if bulk_job_id:
            query["bulk_job_id"] = bulk_job_id
        found = GeneratedDocument.objects(**query).exclude("outbox", "input_json").order_by("-created_at")
        return [_document_record(d, input_json="") for d in found.limit(limit)]

    def documents_due(self, created_before: datetime, kept_kinds: Iterable[str],
                      limit: int = 500) -> list[DocumentRecord]:
        """Generated documents created before `created_before` of any kind but `kept_kinds`
        whose event is sent (without input)."""
        found = (GeneratedDocument.objects(created_at__lte=created_before, kind__nin=list(kept_kinds),
                                           outbox__size=0)
                 .exclude("outbox", "input_json").limit(limit))
        return [_document_record(d, input_json="") for d in found]

    def delete_document(self, document_id: str) -> bool:
        """Retention: the content (GridFS file and chunks) and the description with its input."""
        # NoFile: deleted by an earlier run that stopped before the description went.
        with contextlib.suppress(gridfs.errors.NoFile):
            self.bucket.delete(f"document:{document_id}")
        deleted: int = GeneratedDocument.objects(document_id=document_id).delete()
        return deleted > 0

    # --- template versions ----------------------------------------------------------------------

    def add_template(self, organization: str, kind: str, content: bytes, *, sha256: str, filename: str,
                     comment: str, uploaded_by: str, uploaded_at: datetime,
                     event: Callable[[int], DocumentsEvent]) -> TemplateRecord:
        """Store the next version; `event(version)` gives the message to record with it."""
        for _ in range(5):  # two uploads at once: the unique index lets one win, the other retries
            latest = self.latest_template(organization, kind)
            version = (latest.version if latest else 0) + 1
            file_id = f"template:{organization}:{kind}:{version}"
            self._put_file(file_id, filename or f"{kind}.docx", content, {"sha256": sha256})
            document = TemplateVersionDocument(
                organization=organization, kind=kind, version=version, sha256=sha256, size=len(content),
                filename=filename, comment=comment, uploaded_by=uploaded_by, uploaded_at=uploaded_at,
            )
            self._outbox(document, [event(version)])
            try:
                document.save(force_insert=True)
            except NotUniqueError:
                continue
            return _template_record(document)
        raise RuntimeError("could not allocate a template version")

    def latest_template(self, organization: str, kind: str) -> TemplateRecord | None:
        found = (TemplateVersionDocument.objects(organization=organization, kind=kind)
                 .exclude("outbox").order_by("-version").first())
        return _template_record(found) if found is not None else None

    def template(self, organization: str, kind: str, version: int) -> TemplateRecord | None:
        found = TemplateVersionDocument.objects(organization=organization, kind=kind, version=version).first()
        return _template_record(found) if found is not None else None

    def template_content(self, record: TemplateRecord) -> bytes:
        return self._read_file(f"template:{record.organization}:{record.kind}:{record.version}")

    def templates(self, organization: str, kind: str) -> list[TemplateRecord]:
        found = (TemplateVersionDocument.objects(organization=organization, kind=kind)
                 .exclude("outbox").order_by("-version"))
        return [_template_record(d) for d in found]

    # --- bulk jobs ------------------------------------------------------------------------------

    def add_job(self, job: JobRecord, events: Iterable[DocumentsEvent]) -> None:
        """Insert the request (`job.state` must be "requested": the outcome comes later)."""
        if job.state != "requested" or job.error:
            raise ValueError(f"a new bulk job is requested, not {job.state!r}")
        document = BulkJobDocument(**{k: v for k, v in job.__dict__.items() if k not in ("state", "error")})
        self._outbox(document, events, correlation_id=job.job_id)
        _insert(document)

    def job(self, job_id: str) -> JobRecord | None:
        found = BulkJobDocument.objects(job_id=job_id).exclude("outbox").first()
        if found is None:
            return None
        outcome = BulkJobOutcomeDocument.objects(job_id=job_id).first()
        return JobRecord(
            job_id=found.job_id, organization=found.organization, requested_by=found.requested_by,
            requested_by_username=found.requested_by_username, input_json=found.input_json,
            template_version=found.template_version, expected=found.expected,
            state=outcome.state if outcome else "requested", error=outcome.error if outcome else "",
            created_at=found.created_at,
        )

    def finish_job(self, job_id: str, state: str, finished_at: datetime, error: str = "") -> None:
        BulkJobOutcomeDocument(job_id=job_id, state=state, error=error, finished_at=finished_at).save()


def _insert(document: Document) -> None:
    try:
        document.save(force_insert=True)
    except NotUniqueError as error:
        raise AlreadyExists(EXISTS) from error


def _document_record(document: GeneratedDocument, **overrides: Any) -> DocumentRecord:
    fields = {name: getattr(document, name) for name in DocumentRecord.__dataclass_fields__}
    fields.update(overrides)
    return DocumentRecord(**fields)


def _template_record(document: TemplateVersionDocument) -> TemplateRecord:
    return TemplateRecord(**{name: getattr(document, name) for name in TemplateRecord.__dataclass_fields__})
