"""The `DocumentsRepository` port's contract (services/documents/domain/ports.py), run on the
hand-written fake (tests/support/fakes/documents.py) and on the mongoengine adapter on the real
FerretDB (services/documents/repository.py), so the service's unit tests on the fake hold for
the adapter too.

The real backend is the test node's database with the api process's relay running (the
`documents_db` fixture), as in production; `sent()` waits for it (the fake's `relay()`). Each
test has its own organisation and ids; documents meant for `documents_due` are dated in a year
of their own, so other tests' documents in the same database never get in the way.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import pytest

from kimnetz.errors import AlreadyExists
from services.documents.domain.events import (
    ContractsRequested,
    DocumentGenerated,
    DocumentsEvent,
    TemplateVersionUploaded,
)
from services.documents.domain.ports import DocumentRecord, DocumentsRepository, JobRecord
from services.documents.repository import GeneratedDocument, MongoDocumentsRepository
from tests.support.fakes.documents import InMemoryDocumentsRepository, bson_time


@dataclass
class Backend:
    repository: DocumentsRepository
    sent: Callable[[list[str]], None]
    """Waits until the events of these documents are sent (the relay's work)."""


def _relayed(document_ids: list[str]) -> None:
    deadline = time.monotonic() + 20
    for document_id in document_ids:
        while GeneratedDocument.objects(document_id=document_id).first().outbox:
            assert time.monotonic() < deadline, f"the events of {document_id} stayed in the outbox"
            time.sleep(0.1)


@pytest.fixture(params=["in-memory", "ferretdb"])
def backend(request: pytest.FixtureRequest) -> Backend:
    if request.param == "in-memory":
        fake = InMemoryDocumentsRepository()

        def relayed(_document_ids: list[str]) -> None:
            fake.relay()

        return Backend(fake, relayed)
    settings = request.getfixturevalue("documents_db")
    return Backend(MongoDocumentsRepository(settings.node_id), _relayed)


def organization() -> str:
    return f"org-{uuid.uuid4().hex[:8]}"


def record(org: str, *, kind: str = "contract", created_at: datetime | None = None,
           bulk_job_id: str = "", content: bytes = b"PK content") -> DocumentRecord:
    return DocumentRecord(
        document_id=str(uuid.uuid4()), organization=org, kind=kind, title="Weiterleitungsvertrag",
        filename="01-test.docx", sha256="cd" * 32, size=len(content), template_id="builtin:contract",
        template_version=0, template_sha256="ab" * 32, input_json='{"fte": 0.5}', generated_by="subject-1",
        generated_by_username="r.buero", created_at=created_at or datetime.now(UTC), bulk_job_id=bulk_job_id)


def generated(stored: DocumentRecord) -> DocumentGenerated:
    return DocumentGenerated(stored.document_id, stored.organization, stored.kind, stored.sha256,
                             stored.template_id, stored.template_version, stored.generated_by,
                             stored.created_at, stored.bulk_job_id)


def test_a_document_is_read_back_with_its_content_and_times_to_the_millisecond(backend: Backend) -> None:
    store = backend.repository
    stored = record(organization(), created_at=datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=UTC))
    store.add_document(stored, b"PK the content", [generated(stored)])

    assert store.has_document(stored.document_id)
    assert store.document(stored.document_id) == replace(stored, created_at=bson_time(stored.created_at))
    assert store.content(stored.document_id) == b"PK the content"
    assert store.document(str(uuid.uuid4())) is None
    assert not store.has_document(str(uuid.uuid4()))


def test_a_document_id_is_stored_once_and_keeps_its_content(backend: Backend) -> None:
    store = backend.repository
    stored = record(organization())
    store.add_document(stored, b"PK first", [])
    with pytest.raises(AlreadyExists):
        store.add_document(replace(stored, title="anders"), b"PK second", [])
    assert store.content(stored.document_id) == b"PK first"
    found = store.document(stored.document_id)
    assert found is not None and found.title == "Weiterleitungsvertrag"


def test_lists_are_the_organisations_newest_first_filtered_limited_without_input(backend: Backend) -> None:
    store = backend.repository
    org, other = organization(), organization()
    start = datetime(2026, 1, 1, tzinfo=UTC)
    first = record(org, created_at=start)
    second = record(org, kind="drucksache", created_at=start + timedelta(hours=1))
    third = record(org, created_at=start + timedelta(hours=2), bulk_job_id="job-1")
    foreign = record(other, created_at=start + timedelta(hours=3))
    for stored in (second, first, third, foreign):
        store.add_document(stored, b"PK", [])

    assert [d.document_id for d in store.documents(org)] == [third.document_id, second.document_id,
                                                             first.document_id]
    assert {d.input_json for d in store.documents(org)} == {""}
    assert [d.document_id for d in store.documents(org, kind="contract")] == [third.document_id,
                                                                             first.document_id]
    assert [d.document_id for d in store.documents(org, bulk_job_id="job-1")] == [third.document_id]
    assert [d.document_id for d in store.documents(org, limit=2)] == [third.document_id, second.document_id]
    assert [d.document_id for d in store.documents(other)] == [foreign.document_id]


def test_due_are_documents_old_enough_of_a_kind_not_kept_whose_events_are_sent(backend: Backend) -> None:
    store = backend.repository
    org = organization()
    # A year of its own (1900 + a random offset), so no other test's document is due here.
    year = 1901 + uuid.uuid4().int % 90
    old = datetime(year, 3, 1, tzinfo=UTC)
    protocol = record(org, kind="fallkonferenz_protokoll", created_at=old)
    contract = record(org, kind="contract", created_at=old)
    young = record(org, kind="fallkonferenz_protokoll", created_at=old + timedelta(days=30))
    for stored in (protocol, contract, young):
        store.add_document(stored, b"PK", [generated(stored)])
    backend.sent([protocol.document_id, contract.document_id, young.document_id])

    due = store.documents_due(old + timedelta(days=1), kept_kinds=["contract"])
    assert [d.document_id for d in due] == [protocol.document_id]
    assert due[0].input_json == ""
    assert {d.document_id for d in store.documents_due(old + timedelta(days=1), kept_kinds=[])} == {
        protocol.document_id, contract.document_id}


def test_a_deleted_document_is_gone_with_its_content_and_deleting_it_again_is_no_error(
    backend: Backend,
) -> None:
    store = backend.repository
    org = organization()
    stored, kept = record(org), record(org)
    store.add_document(stored, b"PK gone", [])
    store.add_document(kept, b"PK kept", [])

    assert store.delete_document(stored.document_id) is True
    assert store.delete_document(stored.document_id) is False  # another worker's run: not audited twice

    assert store.document(stored.document_id) is None
    assert not store.has_document(stored.document_id)
    assert [d.document_id for d in store.documents(org)] == [kept.document_id]
    assert store.content(kept.document_id) == b"PK kept"


def test_template_versions_count_from_one_per_organisation_and_kind_newest_first(backend: Backend) -> None:
    store = backend.repository
    org, other = organization(), organization()
    asked: list[int] = []
    uploaded_at = datetime(2026, 2, 1, 12, 0, 0, 987654, tzinfo=UTC)

    def event(version: int) -> DocumentsEvent:
        asked.append(version)
        return TemplateVersionUploaded(org, "contract", version, "ef" * 32, "subject-admin", uploaded_at)

    def upload(owner: str, kind: str, content: bytes) -> int:
        return store.add_template(owner, kind, content, sha256="ef" * 32, filename="vertrag.docx",
                                  comment="neu", uploaded_by="n.admin", uploaded_at=uploaded_at,
                                  event=event).version

    assert store.latest_template(org, "contract") is None
    assert [upload(org, "contract", b"PK v1"), upload(org, "contract", b"PK v2"),
            upload(org, "drucksache", b"PK d1"), upload(other, "contract", b"PK o1")] == [1, 2, 1, 1]
    assert asked == [1, 2, 1, 1]

    latest = store.latest_template(org, "contract")
    assert latest is not None
    assert (latest.version, latest.size, latest.filename, latest.comment, latest.uploaded_by,
            latest.uploaded_at) == (2, 5, "vertrag.docx", "neu", "n.admin", bson_time(uploaded_at))
    first = store.template(org, "contract", 1)
    assert first is not None and store.template_content(first) == b"PK v1"
    assert store.template(org, "contract", 3) is None
    assert [t.version for t in store.templates(org, "contract")] == [2, 1]
    assert store.templates(organization(), "contract") == []


def test_a_job_is_requested_once_and_its_outcome_is_written_apart(backend: Backend) -> None:
    store = backend.repository
    org = organization()
    created = datetime(2026, 4, 1, 8, 0, 0, 500999, tzinfo=UTC)
    job = JobRecord(job_id=str(uuid.uuid4()), organization=org, requested_by="subject-1",
                    requested_by_username="r.buero", input_json="{}", template_version=None, expected=3,
                    state="requested", error="", created_at=created)
    store.add_job(job, [ContractsRequested(job.job_id, org, 3, created)])

    assert store.job(job.job_id) == replace(job, created_at=bson_time(created))
    with pytest.raises(AlreadyExists):
        store.add_job(job, [])
    store.finish_job(job.job_id, "failed", datetime.now(UTC), "kaputt")
    failed = store.job(job.job_id)
    assert failed is not None and (failed.state, failed.error) == ("failed", "kaputt")
    store.finish_job(job.job_id, "done", datetime.now(UTC))
    done = store.job(job.job_id)
    assert done is not None and (done.state, done.error, done.expected) == ("done", "", 3)
    assert store.job(str(uuid.uuid4())) is None


@pytest.mark.parametrize("state, error", [("done", ""), ("requested", "schon kaputt")])
def test_a_new_job_is_requested_without_error(backend: Backend, state: str, error: str) -> None:
    job = JobRecord(job_id=str(uuid.uuid4()), organization=organization(), requested_by="s",
                    requested_by_username="", input_json="{}", template_version=1, expected=1,
                    state=state, error=error, created_at=datetime.now(UTC))
    with pytest.raises(ValueError, match="a new bulk job is requested"):
        backend.repository.add_job(job, [])
    assert backend.repository.job(job.job_id) is None
