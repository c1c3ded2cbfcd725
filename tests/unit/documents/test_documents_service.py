"""The documents service layer (services/documents/service.py) on the in-memory fakes
(tests/support/fakes/documents.py): who may render and read, what is stored and which domain
events are recorded with it, template versions, bulk jobs and retention. No database, no gRPC:
the repository contract test holds the fake to the real adapter.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from kimnetz.errors import FailedPrecondition, InvalidArgument, NotFound, PermissionDenied
from kimnetz.runtime.audit import MemoryAuditSink
from kimnetz.runtime.auth import Principal
from services.documents.domain.events import ContractsRequested, DocumentGenerated, TemplateVersionUploaded
from services.documents.domain.ports import DocumentRecord, JobRecord
from services.documents.rendering import Renderer
from services.documents.service import _JOB_NAMESPACE, JOB_NOT_YOURS, NOT_YOURS, DocumentsService
from tests.support.fakes.documents import FakeCaseFigures, FakeConferenceRecords, InMemoryDocumentsRepository
from tests.unit.documents.documents_factories import make_allocation, make_allocation_file, make_drucksache
from tests.unit.documents.test_figures_inputs import figures
from tests.unit.documents.test_protokoll_inputs import BESCHLUESSE, CONFERENCE, EARLIER, GREMIUM, SESSION

TEMPLATES = Path(__file__).resolve().parents[3] / "services" / "documents" / "templates"
NOW = datetime(2026, 5, 12, 7, 15, tzinfo=UTC)  # 09:15 in Mettmann

CLERK = Principal("sub-clerk", "r.buero", "stadt-hilden", frozenset({"clerk"}))
OTHER_CLERK = Principal("sub-other", "o.buero", "stadt-ratingen", frozenset({"clerk"}))
ADMIN = Principal("sub-admin", "n.admin", "stadt-hilden", frozenset({"node_admin"}))
COORDINATOR = Principal("sub-koord", "k.koordination", "kreis-mettmann", frozenset({"coordinator"}))
NOBODYS = Principal("sub-none", "x.niemand", None, frozenset({"clerk"}))

#: One renderer for the module: its compiled built-in templates are what makes a render cheap.
RENDERER = Renderer()


class Clock:
    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def tick(self, seconds: float = 1) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def store() -> InMemoryDocumentsRepository:
    return InMemoryDocumentsRepository("kreis-node")


@pytest.fixture
def audit() -> MemoryAuditSink:
    return MemoryAuditSink()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def service(store: InMemoryDocumentsRepository, audit: MemoryAuditSink,
            clock: Clock) -> Iterator[DocumentsService]:
    yield DocumentsService(store, RENDERER, audit, clock)


# --- rendering ----------------------------------------------------------------------------------

def test_a_rendered_document_is_stored_with_its_content_and_one_event(
    service: DocumentsService, store: InMemoryDocumentsRepository,
) -> None:
    record, content = service.render_document(CLERK, "drucksache", make_drucksache())

    assert store.document(record.document_id) == record
    assert store.content(record.document_id) == content
    assert (record.organization, record.kind, record.generated_by, record.generated_by_username,
            record.created_at, record.template_version) == (
        "stadt-hilden", "drucksache", "sub-clerk", "r.buero", NOW, 0)
    assert record.sha256 == hashlib.sha256(content).hexdigest() and record.size == len(content)
    assert json.loads(record.input_json) == make_drucksache()
    assert store.recorded == [DocumentGenerated(
        record.document_id, "stadt-hilden", "drucksache", record.sha256, record.template_id, 0, "sub-clerk",
        NOW)]


def test_a_caller_without_the_role_is_refused_audited_and_nothing_is_stored(
    service: DocumentsService, store: InMemoryDocumentsRepository, audit: MemoryAuditSink,
) -> None:
    with pytest.raises(PermissionDenied, match="Verwaltung"):
        service.render_document(COORDINATOR, "contract", make_allocation_file())
    assert [(e.outcome, e.action) for e in audit.events] == [
        ("denied", "Kooperations-/Weiterleitungsvertrag erzeugen")]
    assert store.documents("kreis-mettmann") == [] and store.recorded == []


def test_a_caller_acting_for_no_organisation_is_refused(service: DocumentsService) -> None:
    with pytest.raises(PermissionDenied, match="für keine"):
        service.render_document(NOBODYS, "drucksache", make_drucksache())
    with pytest.raises(PermissionDenied, match="für keine"):
        service.list_documents(NOBODYS)


def test_wrong_input_and_unknown_kinds_are_refused_with_the_field_named(
    service: DocumentsService, store: InMemoryDocumentsRepository,
) -> None:
    with pytest.raises(InvalidArgument) as unknown:
        service.render_document(CLERK, "brief", {})
    assert [v.field for v in unknown.value.violations] == ["kind"]
    with pytest.raises(InvalidArgument) as control:
        service.render_document(CLERK, "drucksache", make_drucksache(title="Titel\x07"))
    assert [v.field for v in control.value.violations] == ["title"]
    assert store.recorded == []


def test_another_organisations_document_is_refused_like_a_missing_one(service: DocumentsService) -> None:
    record, content = service.render_document(CLERK, "drucksache", make_drucksache())

    assert service.get_document(CLERK, record.document_id) == (record, content)
    refused_ones = ((OTHER_CLERK, record.document_id), (CLERK, str(uuid.uuid4())), (CLERK, ""))
    for principal, document_id in refused_ones:
        with pytest.raises(PermissionDenied) as refused:
            service.get_document(principal, document_id)
        assert refused.value.message == NOT_YOURS


def test_documents_are_listed_newest_first_per_organisation_and_kind(
    service: DocumentsService, clock: Clock,
) -> None:
    first, _ = service.render_document(CLERK, "drucksache", make_drucksache())
    clock.tick()
    second, _ = service.render_document(CLERK, "drucksache", make_drucksache(number="17/343"))
    clock.tick()
    service.render_document(OTHER_CLERK, "drucksache", make_drucksache())

    assert [d.document_id for d in service.list_documents(CLERK)] == [second.document_id, first.document_id]
    newest = service.list_documents(CLERK, "drucksache", limit=1)
    assert [d.document_id for d in newest] == [second.document_id]
    assert service.list_documents(CLERK, "contract") == []
    with pytest.raises(InvalidArgument):
        service.list_documents(CLERK, "brief")


# --- templates ----------------------------------------------------------------------------------

def test_uploaded_templates_are_numbered_recorded_and_the_newest_renders_by_default(
    service: DocumentsService, store: InMemoryDocumentsRepository,
) -> None:
    content = (TEMPLATES / "drucksache.docx").read_bytes()
    with pytest.raises(PermissionDenied):
        service.upload_template(CLERK, "drucksache", content)

    first = service.upload_template(ADMIN, "drucksache", content, "vorlage.docx", "erste")
    second = service.upload_template(ADMIN, "drucksache", content, "vorlage.docx", "zweite")

    assert (first.version, second.version, second.uploaded_by, second.comment) == (1, 2, "n.admin", "zweite")
    sha256 = hashlib.sha256(content).hexdigest()
    assert store.recorded == [
        TemplateVersionUploaded("stadt-hilden", "drucksache", v, sha256, "sub-admin", NOW) for v in (1, 2)]
    newest, _ = service.render_document(CLERK, "drucksache", make_drucksache())
    assert (newest.template_id, newest.template_version) == ("stadt-hilden:drucksache", 2)
    builtin, _ = service.render_document(CLERK, "drucksache", make_drucksache(), template_version=0)
    listing = service.list_template_versions(CLERK, "drucksache")
    assert builtin.template_version == 0 and builtin.template_sha256 == listing.builtin_sha256
    assert [r.version for r in listing.versions] == [2, 1]
    with pytest.raises(NotFound, match="Version 3"):
        service.render_document(CLERK, "drucksache", make_drucksache(), template_version=3)
    # Another organisation renders with the built-in template: the versions are Hilden's.
    theirs, _ = service.render_document(OTHER_CLERK, "drucksache", make_drucksache())
    assert theirs.template_version == 0


def test_a_template_check_names_its_problems_and_stores_nothing(
    service: DocumentsService, store: InMemoryDocumentsRepository,
) -> None:
    assert service.validate_template(ADMIN, "drucksache", (TEMPLATES / "drucksache.docx").read_bytes()) == []
    assert service.validate_template(ADMIN, "drucksache", b"kein Word") != []
    assert store.templates("stadt-hilden", "drucksache") == [] and store.recorded == []


# --- bulk jobs ----------------------------------------------------------------------------------

def test_contracts_are_requested_with_one_event_and_the_worker_renders_each_once(
    service: DocumentsService, store: InMemoryDocumentsRepository,
) -> None:
    data = make_allocation_file(allocations=[make_allocation(), make_allocation("Stadt Leichlingen")])
    job = service.request_contracts(CLERK, data)

    assert (job.state, job.expected, job.organization, job.requested_by) == ("requested", 2, "stadt-hilden",
                                                                            "sub-clerk")
    assert store.recorded == [ContractsRequested(job.job_id, "stadt-hilden", 2, NOW)]
    assert service.run_contracts_job(job.job_id) == 2
    assert service.run_contracts_job(job.job_id) == 0  # a finished job is not run again

    finished, documents = service.get_bulk_job(CLERK, job.job_id)
    assert finished.state == "done" and len(documents) == 2
    assert {d.document_id for d in documents} == {str(uuid.uuid5(_JOB_NAMESPACE, f"{job.job_id}:{i}"))
                                                 for i in range(2)}
    generated = [e for e in store.recorded if isinstance(e, DocumentGenerated)]
    assert {(e.bulk_job_id, e.generated_by, e.kind) for e in generated} == {
        (job.job_id, "sub-clerk", "contract")}
    with pytest.raises(PermissionDenied) as refused:
        service.get_bulk_job(OTHER_CLERK, job.job_id)
    assert refused.value.message == JOB_NOT_YOURS


def test_a_wrong_allocation_file_is_refused_at_once_and_no_job_is_stored(
    service: DocumentsService, store: InMemoryDocumentsRepository,
) -> None:
    with pytest.raises(InvalidArgument):
        service.request_contracts(CLERK, make_allocation_file(allocations=[make_allocation(fte=-1)]))
    with pytest.raises(PermissionDenied):
        service.request_contracts(COORDINATOR, make_allocation_file())
    assert store.recorded == []


def test_a_redelivered_job_stores_only_what_the_first_delivery_did_not(
    service: DocumentsService, store: InMemoryDocumentsRepository,
) -> None:
    data = make_allocation_file(allocations=[make_allocation(), make_allocation("Stadt Leichlingen")])
    job = service.request_contracts(CLERK, data)
    first_id = str(uuid.uuid5(_JOB_NAMESPACE, f"{job.job_id}:0"))
    earlier = DocumentRecord(first_id, "stadt-hilden", "contract", "Vertrag", "01.docx", "00" * 32, 2,
                             "builtin:contract", 0, "11" * 32, "{}", "sub-clerk", "r.buero", NOW, job.job_id)
    store.add_document(earlier, b"PK", [])

    assert service.run_contracts_job(job.job_id) == 1
    assert store.document(first_id) == earlier


def test_a_job_that_cannot_be_carried_out_ends_failed_with_a_german_reason(
    service: DocumentsService, store: InMemoryDocumentsRepository,
) -> None:
    broken = JobRecord(str(uuid.uuid4()), "stadt-hilden", "sub-clerk", "r.buero", "{}", 7, 1, "requested", "",
                       NOW)
    store.add_job(broken, [])
    assert service.run_contracts_job(broken.job_id) == 0
    failed = store.job(broken.job_id)
    assert failed is not None and failed.state == "failed" and failed.error

    job = service.request_contracts(CLERK, make_allocation_file())
    reason = "Die Verträge konnten nicht erzeugt werden."
    service.fail_contracts_job(job.job_id, reason)
    ended = store.job(job.job_id)
    assert ended is not None and (ended.state, ended.error) == ("failed", reason)
    done = service.request_contracts(CLERK, make_allocation_file())
    service.run_contracts_job(done.job_id)
    service.fail_contracts_job(done.job_id, "zu spät")
    kept = store.job(done.job_id)
    assert kept is not None and kept.state == "done"  # an ended job stays as it ended


# --- retention ----------------------------------------------------------------------------------

def stored(store: InMemoryDocumentsRepository, kind: str, created_at: datetime) -> DocumentRecord:
    """A generated document as the service stores it, with its DocumentGenerated event."""
    record = DocumentRecord(str(uuid.uuid4()), "kreis-mettmann", kind, "Protokoll KIM-2026-GEHEIM", "p.docx",
                            "00" * 32, 2, f"builtin:{kind}", 0, "11" * 32, '{"items": []}', "sub-koord",
                            "k.koordination", created_at)
    store.add_document(record, b"PK", [DocumentGenerated(
        record.document_id, record.organization, kind, record.sha256, record.template_id, 0, "sub-koord",
        created_at)])
    return record


def test_retention_deletes_sent_case_records_past_their_period_and_audits_each_without_title(
    service: DocumentsService, store: InMemoryDocumentsRepository, audit: MemoryAuditSink,
) -> None:
    old = NOW - timedelta(days=40)
    protocol = stored(store, "fallkonferenz_protokoll", old)
    contract = stored(store, "contract", old)
    recent = stored(store, "fallkonferenz_protokoll", NOW - timedelta(days=2))
    store.relay()
    unsent = stored(store, "fallkonferenz_protokoll", old)  # its event still waits for the relay
    assert store.pending(unsent.document_id) != []

    deleted = service.apply_retention(timedelta(days=30))

    assert [d.document_id for d in deleted] == [protocol.document_id]
    assert not store.has_document(protocol.document_id)
    assert all(store.has_document(d.document_id) for d in (contract, recent, unsent))
    [event] = [e for e in audit.events if e.kind == "retention"]
    assert (event.outcome, event.organization, event.node) == ("deleted", "kreis-mettmann", "kreis-node")
    assert protocol.document_id in event.reason and "GEHEIM" not in event.reason


class RacingStore(InMemoryDocumentsRepository):
    """Two workers' retention runs at once (the worker scales as competing consumers, each pod
    with its own timer): the other run deletes each due document between this run's listing
    and its delete."""

    def documents_due(self, created_before: datetime, kept_kinds: Iterable[str],
                      limit: int = 500) -> list[DocumentRecord]:
        due = super().documents_due(created_before, kept_kinds, limit)
        for record in due:
            super().delete_document(record.document_id)  # the other worker's run
        return due


def test_retention_run_by_two_workers_at_once_audits_each_deletion_once(
    audit: MemoryAuditSink, clock: Clock,
) -> None:
    store = RacingStore("kreis-node")
    service = DocumentsService(store, RENDERER, audit, clock)
    protocol = stored(store, "fallkonferenz_protokoll", NOW - timedelta(days=40))
    store.relay()

    assert service.apply_retention(timedelta(days=30)) == []  # the other run deleted it
    assert not store.has_document(protocol.document_id)
    assert [e for e in audit.events if e.kind == "retention"] == []  # audited by the other run


# --- documents from live data -------------------------------------------------------------------

def test_a_protokoll_reads_the_conference_only_after_role_id_and_template_are_checked(
    service: DocumentsService, store: InMemoryDocumentsRepository,
) -> None:
    records = FakeConferenceRecords(conferences=[CONFERENCE])
    with pytest.raises(PermissionDenied):
        service.render_conference_protocol(CLERK, records, "c1")
    with pytest.raises(InvalidArgument) as missing:
        service.render_conference_protocol(COORDINATOR, records, "  ")
    assert [v.field for v in missing.value.violations] == ["conference_id"]
    with pytest.raises(NotFound):
        service.render_conference_protocol(COORDINATOR, records, "c1", template_version=4)
    assert records.reads == []

    record, _ = service.render_conference_protocol(COORDINATOR, records, "c1",
                                                   next_date=date(2026, 6, 11))
    assert records.reads == [("conference", "c1")]
    assert (record.kind, record.organization) == ("fallkonferenz_protokoll", "kreis-mettmann")
    data = json.loads(record.input_json)
    assert data["signature"]["name"] == "k.koordination" and data["next_date"] == "2026-06-11"
    assert [e.kind for e in store.recorded if isinstance(e, DocumentGenerated)] == ["fallkonferenz_protokoll"]


def test_an_open_conference_gets_no_protokoll_and_nothing_is_stored(
    service: DocumentsService, store: InMemoryDocumentsRepository,
) -> None:
    from dataclasses import replace

    records = FakeConferenceRecords(conferences=[replace(CONFERENCE, status="running")])
    with pytest.raises(FailedPrecondition, match="Stand: laufend"):
        service.render_conference_protocol(COORDINATOR, records, "c1")
    assert store.recorded == []


def test_a_beschlussprotokoll_reads_the_session_its_gremium_and_their_beschluesse(
    service: DocumentsService,
) -> None:
    records = FakeConferenceRecords(sessions=[EARLIER, SESSION], gremien=[GREMIUM], beschluesse=BESCHLUESSE)
    record, _ = service.render_session_protocol(COORDINATOR, records, "s2", chair="Lena Lenkung")

    assert [what for what, _ in records.reads] == ["session", "gremium", "sessions", "beschluesse"]
    data = json.loads(record.input_json)
    assert (record.kind, data["session"], data["chair"], data["minute_taker"]) == (
        "lenkungsgruppe_protokoll", "2. Sitzung 2026", "Lena Lenkung", "k.koordination")


def test_a_monitoringbericht_checks_its_period_before_the_case_service_is_asked(
    service: DocumentsService,
) -> None:
    case_figures = FakeCaseFigures(figures())
    with pytest.raises(InvalidArgument) as wrong:
        service.render_monitoring_report(COORDINATOR, case_figures, period_from=date(2026, 6, 1),
                                         period_to=date(2026, 5, 1))
    assert [v.field for v in wrong.value.violations] == ["period_to"]
    with pytest.raises(PermissionDenied):
        service.render_monitoring_report(ADMIN, case_figures)
    assert case_figures.reads == 0

    record, _ = service.render_monitoring_report(COORDINATOR, case_figures)
    data = json.loads(record.input_json)
    assert case_figures.reads == 1
    # The Stand is the clock's day in Mettmann; the period runs from the first of January.
    assert data["period"] == {"from": "2026-01-01", "to": "2026-05-12"}
    assert "am 12.05.2026" in data["summary"]


def test_a_drucksache_carries_the_figures_only_when_asked_and_checks_its_input_first(
    service: DocumentsService,
) -> None:
    case_figures = FakeCaseFigures(figures())
    plain, _ = service.render_drucksache(CLERK, make_drucksache(), None)
    assert "Fallzahlen" not in json.loads(plain.input_json)["body_text"]
    with pytest.raises(InvalidArgument):
        service.render_drucksache(CLERK, make_drucksache(title=""), case_figures)
    assert case_figures.reads == 0

    record, _ = service.render_drucksache(CLERK, make_drucksache(), case_figures)
    assert case_figures.reads == 1
    assert "Fallzahlen des Kommunalen Integrationsmanagements (Stand: 12.05.2026)" in json.loads(
        record.input_json)["body_text"]
