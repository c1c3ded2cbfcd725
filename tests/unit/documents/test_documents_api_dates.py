"""The days of the documents api's requests (kim.common.v1.Date, services/documents/api.py):
mapped by kimnetz.runtime.proto_mapping like the case's and the conference's, an impossible day
a German field violation before anything is read, an unset day "no date". The servicer runs on
the in-memory fakes, called as gRPC would call it, without a server.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from kim.common.v1.types_pb2 import Date
from kim.documents.v1 import documents_pb2 as pb
from kimnetz.errors import InvalidArgument
from kimnetz.runtime.auth import current_principal
from services.documents.api import DocumentsServicer
from services.documents.service import DocumentsService
from tests.support.fakes.documents import FakeCaseFigures, FakeConferenceRecords, InMemoryDocumentsRepository
from tests.unit.documents.test_documents_service import COORDINATOR, RENDERER, Clock
from tests.unit.documents.test_figures_inputs import figures
from tests.unit.documents.test_protokoll_inputs import CONFERENCE


class Context:
    """What the servicer reads of a grpc.ServicerContext: the caller's bearer token."""

    def invocation_metadata(self) -> tuple[tuple[str, str], ...]:
        return (("authorization", "Bearer token-of-the-caller"),)


@pytest.fixture
def records() -> FakeConferenceRecords:
    return FakeConferenceRecords(conferences=[CONFERENCE])


@pytest.fixture
def case_figures() -> FakeCaseFigures:
    return FakeCaseFigures(figures())


@pytest.fixture
def servicer(records: FakeConferenceRecords, case_figures: FakeCaseFigures) -> Iterator[DocumentsServicer]:
    service = DocumentsService(InMemoryDocumentsRepository("kreis-node"), RENDERER, clock=Clock())
    token = current_principal.set(COORDINATOR)
    yield DocumentsServicer(service, lambda _: records, lambda _: case_figures)
    current_principal.reset(token)


def test_the_next_fallkonferenz_day_reaches_the_protokoll(
    servicer: DocumentsServicer, records: FakeConferenceRecords,
) -> None:
    request = pb.RenderConferenceProtocolRequest(
        conference_id="c1", next_date=Date(year=2026, month=6, day=11))
    rendered = servicer.RenderConferenceProtocol(request, Context())
    assert records.reads == [("conference", "c1")]

    stored = servicer.GetDocument(pb.GetDocumentRequest(document_id=rendered.document.document_id),
                                  Context())
    assert json.loads(stored.input_json)["next_date"] == "2026-06-11"
    unset = servicer.RenderConferenceProtocol(pb.RenderConferenceProtocolRequest(conference_id="c1"),
                                              Context())
    stored = servicer.GetDocument(pb.GetDocumentRequest(document_id=unset.document.document_id),
                                  Context())
    assert "next_date" not in json.loads(stored.input_json)


def test_an_impossible_next_fallkonferenz_day_is_a_german_violation_and_nothing_is_read(
    servicer: DocumentsServicer, records: FakeConferenceRecords,
) -> None:
    request = pb.RenderConferenceProtocolRequest(
        conference_id="c1", next_date=Date(year=2026, month=2, day=30))
    with pytest.raises(InvalidArgument) as wrong:
        servicer.RenderConferenceProtocol(request, Context())
    assert [(v.field, v.description) for v in wrong.value.violations] == [
        ("next_date", "Kein gültiges Kalenderdatum (30.02.2026).")]
    assert records.reads == []


def test_the_berichtszeitraum_is_printed_from_its_days(
    servicer: DocumentsServicer, case_figures: FakeCaseFigures,
) -> None:
    request = pb.RenderMonitoringReportRequest(period_from=Date(year=2025, month=7, day=1),
                                               period_to=Date(year=2026, month=6, day=30))
    rendered = servicer.RenderMonitoringReport(request, Context())
    stored = servicer.GetDocument(pb.GetDocumentRequest(document_id=rendered.document.document_id),
                                  Context())
    assert json.loads(stored.input_json)["period"] == {"from": "2025-07-01", "to": "2026-06-30"}
    assert case_figures.reads == 1


def test_impossible_days_of_the_berichtszeitraum_are_each_a_violation_before_the_case_service_is_asked(
    servicer: DocumentsServicer, case_figures: FakeCaseFigures,
) -> None:
    request = pb.RenderMonitoringReportRequest(period_from=Date(year=2026, month=0, day=5),
                                               period_to=Date(year=-1, month=6, day=30))
    with pytest.raises(InvalidArgument) as wrong:
        servicer.RenderMonitoringReport(request, Context())
    assert [(v.field, v.description) for v in wrong.value.violations] == [
        ("period_from", "Kein gültiges Kalenderdatum (05.00.2026)."),
        ("period_to", "Kein gültiges Kalenderdatum (30.06.-1)."),
    ]
    assert case_figures.reads == 0
