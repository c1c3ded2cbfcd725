"""`InMemoryDocumentsRepository`: the `DocumentsRepository` port (services/documents/domain/ports.py)
in memory.

It does what `services.documents.repository.MongoDocumentsRepository` does, minus the database:

- Generated documents: content and description stored together with their events (the
  outbox); a document id is stored once (AlreadyExists, before any content is touched). Lists
  are the organisation's documents newest first (created_at; equal times in the order stored),
  filtered by kind and bulk job, without their input; `documents_due` gives those created at or
  before a moment, of any kind but the kept ones, whose events are sent, in the order stored.
- Template versions: numbered per organisation and kind from 1, newest first.
- Bulk jobs: the request is inserted once, "requested" and without error (else ValueError, as
  the adapter), with its events; the outcome is written (and overwritten) apart from it.
- Times come back as BSON keeps them: UTC, to the millisecond.

What the adapter's relay does is `relay()`: it hands out every pending event, oldest first,
and empties the outboxes. `pending(document_id)` shows what a document still waits to send;
`recorded` holds every event ever recorded, in order.

Fakes of the other services' ports the documents service reads: `FakeConferenceRecords`
(`ConferenceRecords`) and `FakeCaseFigures` (`CaseFigures`); they count their reads.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from kimnetz.errors import AlreadyExists, NotFound
from services.documents.conference import BeschlussRecord, ConferenceRecord, Gremium, SessionRecord
from services.documents.domain.events import DocumentsEvent
from services.documents.domain.figures import CaseFiguresRecord
from services.documents.domain.ports import DocumentRecord, JobRecord, TemplateRecord
from services.documents.figures import ReportPeriod

#: The adapter's answer to a second insert of an id (services/documents/repository.py).
EXISTS = "Ein Eintrag mit diesen Angaben existiert bereits."


def bson_time(moment: datetime) -> datetime:
    """`moment` as it comes back from the database: UTC, milliseconds."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    utc = aware.astimezone(UTC)
    return utc.replace(microsecond=utc.microsecond // 1000 * 1000)


@dataclass
class _Stored:
    record: DocumentRecord
    content: bytes
    outbox: list[DocumentsEvent] = field(default_factory=list)


@dataclass
class _Template:
    record: TemplateRecord
    content: bytes
    outbox: list[DocumentsEvent] = field(default_factory=list)


@dataclass
class _Job:
    request: JobRecord
    outbox: list[DocumentsEvent] = field(default_factory=list)
    outcome: tuple[str, str, datetime] | None = None


class InMemoryDocumentsRepository:
    def __init__(self, node_id: str = "test-node") -> None:
        self._node_id = node_id
        self._lock = threading.Lock()
        self._documents: dict[str, _Stored] = {}
        self._templates: dict[tuple[str, str], list[_Template]] = {}
        self._jobs: dict[str, _Job] = {}
        self._order: list[list[DocumentsEvent]] = []  # the outboxes in the order written
        self.recorded: list[DocumentsEvent] = []

    @property
    def node_id(self) -> str:
        return self._node_id

    def _outbox(self, events: Iterable[DocumentsEvent]) -> list[DocumentsEvent]:
        outbox = list(events)
        self._order.append(outbox)
        self.recorded.extend(outbox)
        return outbox

    # --- what the relay does --------------------------------------------------------------------

    def relay(self) -> list[DocumentsEvent]:
        """Send every pending event (oldest write first) and empty the outboxes."""
        with self._lock:
            sent = [event for outbox in self._order for event in outbox]
            for outbox in self._order:
                outbox.clear()
            return sent

    def pending(self, document_id: str) -> list[DocumentsEvent]:
        with self._lock:
            stored = self._documents.get(document_id)
            return list(stored.outbox) if stored is not None else []

    # --- generated documents --------------------------------------------------------------------

    def add_document(self, record: DocumentRecord, content: bytes, events: Iterable[DocumentsEvent]) -> None:
        with self._lock:
            if record.document_id in self._documents:
                raise AlreadyExists(EXISTS)
            stored = replace(record, created_at=bson_time(record.created_at))
            self._documents[record.document_id] = _Stored(stored, bytes(content), self._outbox(events))

    def has_document(self, document_id: str) -> bool:
        with self._lock:
            return document_id in self._documents

    def document(self, document_id: str) -> DocumentRecord | None:
        with self._lock:
            stored = self._documents.get(document_id)
            return stored.record if stored is not None else None

    def content(self, document_id: str) -> bytes:
        with self._lock:
            stored = self._documents.get(document_id)
            if stored is None:
                raise KeyError(f"no content for document {document_id}")  # gridfs.NoFile there
            return stored.content

    def documents(self, organization: str, *, kind: str = "", bulk_job_id: str = "",
                  limit: int = 100) -> list[DocumentRecord]:
        with self._lock:
            found = [s.record for s in self._documents.values()
                     if s.record.organization == organization and (not kind or s.record.kind == kind)
                     and (not bulk_job_id or s.record.bulk_job_id == bulk_job_id)]
        found.sort(key=lambda r: r.created_at, reverse=True)
        return [replace(r, input_json="") for r in found[:max(limit, 0)]]

    def documents_due(self, created_before: datetime, kept_kinds: Iterable[str],
                      limit: int = 500) -> list[DocumentRecord]:
        kept = set(kept_kinds)
        with self._lock:
            found = [s.record for s in self._documents.values()
                     if s.record.created_at <= created_before and s.record.kind not in kept and not s.outbox]
        return [replace(r, input_json="") for r in found[:max(limit, 0)]]

    def delete_document(self, document_id: str) -> bool:
        with self._lock:
            return self._documents.pop(document_id, None) is not None

    # --- template versions ----------------------------------------------------------------------

    def add_template(self, organization: str, kind: str, content: bytes, *, sha256: str, filename: str,
                     comment: str, uploaded_by: str, uploaded_at: datetime,
                     event: Callable[[int], DocumentsEvent]) -> TemplateRecord:
        with self._lock:
            versions = self._templates.setdefault((organization, kind), [])
            version = len(versions) + 1
            record = TemplateRecord(organization=organization, kind=kind, version=version, sha256=sha256,
                                    size=len(content), filename=filename, comment=comment,
                                    uploaded_by=uploaded_by, uploaded_at=bson_time(uploaded_at))
            versions.append(_Template(record, bytes(content), self._outbox([event(version)])))
            return record

    def latest_template(self, organization: str, kind: str) -> TemplateRecord | None:
        with self._lock:
            versions = self._templates.get((organization, kind), [])
            return versions[-1].record if versions else None

    def template(self, organization: str, kind: str, version: int) -> TemplateRecord | None:
        with self._lock:
            versions = self._templates.get((organization, kind), [])
            return versions[version - 1].record if 1 <= version <= len(versions) else None

    def template_content(self, record: TemplateRecord) -> bytes:
        with self._lock:
            versions = self._templates.get((record.organization, record.kind), [])
            if not 1 <= record.version <= len(versions):
                raise KeyError(f"no template {record.organization}:{record.kind}:{record.version}")
            return versions[record.version - 1].content

    def templates(self, organization: str, kind: str) -> list[TemplateRecord]:
        with self._lock:
            return [t.record for t in reversed(self._templates.get((organization, kind), []))]

    # --- bulk jobs ------------------------------------------------------------------------------

    def add_job(self, job: JobRecord, events: Iterable[DocumentsEvent]) -> None:
        if job.state != "requested" or job.error:
            raise ValueError(f"a new bulk job is requested, not {job.state!r}")
        with self._lock:
            if job.job_id in self._jobs:
                raise AlreadyExists(EXISTS)
            request = replace(job, created_at=bson_time(job.created_at))
            self._jobs[job.job_id] = _Job(request, self._outbox(events))

    def job(self, job_id: str) -> JobRecord | None:
        with self._lock:
            stored = self._jobs.get(job_id)
            if stored is None:
                return None
            if stored.outcome is None:
                return stored.request
            state, error, _ = stored.outcome
            return replace(stored.request, state=state, error=error)

    def finish_job(self, job_id: str, state: str, finished_at: datetime, error: str = "") -> None:
        if state not in ("done", "failed"):
            raise ValueError(f"a job ends done or failed, not {state!r}")  # the adapter's `choices`
        with self._lock:
            stored = self._jobs.get(job_id)
            if stored is not None:
                stored.outcome = (state, error, bson_time(finished_at))


class FakeConferenceRecords:
    """The `ConferenceRecords` port (services/documents/conference.py) over fixed records; every
    read is counted (`reads`), so a test sees that a refused caller caused none. A record not
    given is NotFound, as the conference service answers."""

    def __init__(self, conferences: Iterable[ConferenceRecord] = (), sessions: Iterable[SessionRecord] = (),
                 gremien: Iterable[Gremium] = (), beschluesse: Iterable[BeschlussRecord] = ()) -> None:
        self._conferences = {c.conference_id: c for c in conferences}
        self._sessions = {s.session_id: s for s in sessions}
        self._gremien = {g.gremium_id: g for g in gremien}
        self._beschluesse = list(beschluesse)
        self.reads: list[tuple[str, str]] = []

    def conference(self, conference_id: str) -> ConferenceRecord:
        self.reads.append(("conference", conference_id))
        if conference_id not in self._conferences:
            raise NotFound("Fallkonferenz nicht gefunden.")
        return self._conferences[conference_id]

    def session(self, session_id: str) -> SessionRecord:
        self.reads.append(("session", session_id))
        if session_id not in self._sessions:
            raise NotFound("Sitzung nicht gefunden.")
        return self._sessions[session_id]

    def sessions(self, gremium_id: str) -> list[SessionRecord]:
        self.reads.append(("sessions", gremium_id))
        return [s for s in self._sessions.values() if s.gremium_id == gremium_id]

    def gremium(self, gremium_id: str) -> Gremium:
        self.reads.append(("gremium", gremium_id))
        if gremium_id not in self._gremien:
            raise NotFound("Lenkungsgruppe nicht gefunden.")
        return self._gremien[gremium_id]

    def beschluesse(self, gremium_id: str) -> list[BeschlussRecord]:
        self.reads.append(("beschluesse", gremium_id))
        return [b for b in self._beschluesse if b.session_id in {
            s.session_id for s in self._sessions.values() if s.gremium_id == gremium_id}]


class FakeCaseFigures:
    """The `CaseFigures` port (services/documents/figures.py): the node's figures as the case
    service gives them to one caller, or the error it answers with; reads are counted."""

    def __init__(self, answer: CaseFiguresRecord | Exception) -> None:
        self.answer = answer
        self.reads = 0
        self.periods: list[ReportPeriod | None] = []

    def figures(self, period: ReportPeriod | None = None) -> CaseFiguresRecord:
        self.reads += 1
        self.periods.append(period)
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer
