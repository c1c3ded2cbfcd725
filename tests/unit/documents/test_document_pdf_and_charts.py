"""GetDocumentPdf and GetDocumentCharts on the in-memory fakes (what the portal's downloads and
its Monitoringbericht page read, issue 16): a document of another organisation or an unknown id
is refused alike before anything is converted or drawn; the PDF gets the DOCX's name; a
Monitoringbericht's charts come back as PNG with the figures its bars show (suppressed counts
as "< 5" or "x"), a Drucksache has none."""

from __future__ import annotations

import pytest

from kimnetz.errors import PermissionDenied
from kimnetz.runtime.auth import Principal
from services.documents.service import NOT_YOURS, DocumentsService
from tests.support.fakes.documents import FakeCaseFigures, InMemoryDocumentsRepository
from tests.unit.documents.documents_factories import make_drucksache
from tests.unit.documents.test_documents_service import CLERK, COORDINATOR, OTHER_CLERK, RENDERER
from tests.unit.documents.test_figures_inputs import figures

PNG = b"\x89PNG\r\n\x1a\n"


class CountingPdf:
    """The converter port: a made-up PDF that names what it was given."""

    def __init__(self) -> None:
        self.converted: list[bytes] = []

    def __call__(self, docx: bytes) -> bytes:
        self.converted.append(docx)
        return b"%PDF-1.7 " + str(len(docx)).encode()


def service_with(pdf: CountingPdf) -> DocumentsService:
    return DocumentsService(InMemoryDocumentsRepository("kreis-node"), RENDERER, to_pdf=pdf)


def test_the_pdf_is_converted_from_the_stored_docx_and_named_after_it() -> None:
    pdf = CountingPdf()
    service = service_with(pdf)
    record, docx = service.render_document(CLERK, "drucksache", make_drucksache())
    got, content, filename = service.get_document_pdf(CLERK, record.document_id)
    assert got.document_id == record.document_id and pdf.converted == [docx]
    assert content == b"%PDF-1.7 " + str(len(docx)).encode()
    assert filename == record.filename.removesuffix(".docx") + ".pdf" and filename.endswith(".pdf")


@pytest.mark.parametrize("who", [OTHER_CLERK, Principal("sub-x", "x", None, frozenset({"clerk"}))])
def test_a_foreign_or_unknown_document_is_refused_alike_before_converting(who: Principal) -> None:
    pdf = CountingPdf()
    service = service_with(pdf)
    record, _ = service.render_document(CLERK, "drucksache", make_drucksache())
    for document_id in (record.document_id, "unbekannt", ""):
        with pytest.raises(PermissionDenied):
            service.get_document_pdf(who, document_id)
        with pytest.raises(PermissionDenied):
            service.get_document_charts(who, document_id)
    with pytest.raises(PermissionDenied, match=NOT_YOURS):
        service.get_document_pdf(CLERK, "unbekannt")
    assert pdf.converted == []


def test_a_monitoringbericht_s_charts_come_with_the_figures_its_bars_show() -> None:
    service = service_with(CountingPdf())
    record, _ = service.render_monitoring_report(COORDINATOR, FakeCaseFigures(figures()))
    got, charts = service.get_document_charts(COORDINATOR, record.document_id)
    assert got.document_id == record.document_id
    assert [c.key for c in charts] == ["cases_by_status", "cases_by_zielgruppe"]
    for chart in charts:
        assert chart.png.startswith(PNG) and chart.spec.title and chart.spec.cells
        # A suppressed count ("< 5", or "x" where it would reveal one) gets no bar height.
        for cell in chart.spec.cells:
            assert (cell.value is None) == (cell.shown in ("< 5", "x"))
            assert cell.value is None or cell.shown.replace(".", "") == str(cell.value)  # "1.234"
    assert any(cell.shown == "< 5" for chart in charts for cell in chart.spec.cells)


def test_a_drucksache_has_no_charts() -> None:
    service = service_with(CountingPdf())
    record, _ = service.render_document(CLERK, "drucksache", make_drucksache())
    assert service.get_document_charts(CLERK, record.document_id)[1] == []
