"""The Kreistagsbüro's pages (services/portal/pages/dokumente.py) on the fake apis: contracts from
the form or from the CLI's YAML, the batch's progress without and with the script and its ZIP,
downloads with Content-Disposition, the Drucksache's preview before anything is stored, the
Monitoringbericht with its charts and their numbers, German error summaries, CSRF refusal."""

from __future__ import annotations

import io
import zipfile

from google.protobuf import json_format

from kim.documents.v1 import documents_pb2 as dpb
from kimnetz.errors import InvalidArgument
from kimnetz.validation import FieldViolation
from tests.support.fakes.portal import CLERK_KREIS, Portal, make_portal

YAML = """kreis:
  name: Kreis Mettmann
  address: "Düsseldorfer Straße 26\\n40822 Mettmann"
  office: Kommunales Integrationszentrum
  represented_by: den Landrat
term: {from: 2026-01-01, to: 2026-12-31}
rates: {case_management_per_fte: 55000}
allocations:
  - partner: {name: Stadt Hilden, kind: municipality, address: "Am Rathaus 1\\n40721 Hilden"}
    fte: 1.5
"""


def clerk() -> Portal:
    return make_portal(CLERK_KREIS, node_id="kreis-mettmann", organization_id="kreis-mettmann")


def contract_form(**overrides: str) -> dict[str, str]:
    return {
        "kreis.name": "Kreis Mettmann",
        "kreis.address": "Düsseldorfer Straße 26",
        "kreis.office": "KI",
        "kreis.represented_by": "den Landrat",
        "term.from": "01.01.2026",
        "term.to": "31.12.2026",
        "rates.case_management_per_fte": "55.000",
        "allocations[1].partner.name": "Caritas",
        "allocations[1].partner.kind": "welfare_org",
        "allocations[1].partner.address": "Mettmann",
        "allocations[1].municipality": "Stadt Mettmann",
        "allocations[1].fte": "1,5",
        **overrides,
    }


def test_contracts_from_the_form_become_one_batch_in_the_yaml_s_shape() -> None:
    portal = clerk()
    portal.apis.documents.answer("RequestContracts", dpb.RequestContractsResponse(job_id="job-1", expected=1))
    response = portal.post("/dokumente/vertraege", contract_form())
    assert response.status_code == 302 and response.headers["Location"].endswith("/dokumente/vertraege/job-1")
    (sent,) = portal.apis.documents.requests("RequestContracts")
    data = json_format.MessageToDict(sent.allocation_file)
    assert data["term"] == {"from": "2026-01-01", "to": "2026-12-31"}
    assert data["rates"] == {"case_management_per_fte": 55000.0}
    assert data["allocations"] == [
        {
            "partner": {"name": "Caritas", "kind": "welfare_org", "address": "Mettmann"},
            "municipality": "Stadt Mettmann",
            "fte": 1.5,
        }
    ]


def test_contract_errors_are_summarised_in_german_at_their_form_row() -> None:
    portal = clerk()
    local = portal.post("/dokumente/vertraege", contract_form(**{"allocations[1].fte": "anderthalb"}))
    assert local.status_code == 400 and portal.apis.documents.requests("RequestContracts") == []
    assert 'href="#f-allocations-1-fte">Stellenanteile (VZÄ): bitte als Zahl angeben' in local.get_data(
        as_text=True
    )
    portal.apis.documents.answer(
        "RequestContracts",
        InvalidArgument(
            [
                FieldViolation(
                    "allocations[0].partner.kind",
                    "Unzulässiger Wert „x“; erlaubt: municipality, welfare_org.",
                )
            ]
        ),
    )
    refused = portal.post("/dokumente/vertraege", contract_form())
    assert refused.status_code == 400
    assert 'href="#f-allocations-1-partner-kind">Unzulässiger Wert' in refused.get_data(as_text=True)


def test_the_cli_s_yaml_can_be_uploaded_instead_and_an_unreadable_one_is_named() -> None:
    portal = clerk()
    portal.apis.documents.answer("RequestContracts", dpb.RequestContractsResponse(job_id="job-2", expected=1))
    uploaded = portal.post(
        "/dokumente/vertraege",
        {"datei": (io.BytesIO(YAML.encode()), "verteilung.yaml")},
        content_type="multipart/form-data",
    )
    assert uploaded.status_code == 302
    (sent,) = portal.apis.documents.requests("RequestContracts")
    data = json_format.MessageToDict(sent.allocation_file)
    assert data["term"]["from"] == "2026-01-01" and data["allocations"][0]["fte"] == 1.5
    broken = portal.post(
        "/dokumente/vertraege",
        {"datei": (io.BytesIO(b"kreis: [unclosed"), "kaputt.yaml")},
        content_type="multipart/form-data",
    )
    assert broken.status_code == 400
    assert 'href="#f-datei">Die Datei ist keine lesbare YAML-Datei' in broken.get_data(as_text=True)
    assert len(portal.apis.documents.requests("RequestContracts")) == 1


def test_a_running_batch_offers_a_refresh_link_and_the_done_one_a_zip_of_its_contracts() -> None:
    portal = clerk()
    info = dpb.DocumentInfo(
        document_id="d1",
        filename="01_Weiterleitungsvertrag_Stadt-Hilden.docx",
        title="Weiterleitungsvertrag Stadt Hilden",
    )
    portal.apis.documents.answer(
        "GetBulkJob", dpb.BulkJob(job_id="job-1", state=dpb.BulkJob.REQUESTED, expected=2, documents=[info])
    )
    running = portal.client.get("/dokumente/vertraege/job-1").get_data(as_text=True)
    assert "1 von 2 Verträgen erzeugt" in running and "Stand aktualisieren" in running
    assert 'data-poll="/dokumente/vertraege/job-1"' in running and "ZIP" not in running
    fragment = portal.client.get("/dokumente/vertraege/job-1", headers={"X-Requested-With": "fetch"})
    assert fragment.get_data(as_text=True).lstrip().startswith("<section")

    portal.apis.documents.answer(
        "GetBulkJob", dpb.BulkJob(job_id="job-1", state=dpb.BulkJob.DONE, expected=1, documents=[info])
    )
    done = portal.client.get("/dokumente/vertraege/job-1").get_data(as_text=True)
    assert "Alle Verträge als ZIP herunterladen" in done and "data-poll" not in done
    portal.apis.documents.answer("GetDocument", dpb.GetDocumentResponse(document=info, content=b"PK-docx"))
    archive = portal.client.get("/dokumente/vertraege/job-1/vertraege.zip")
    assert archive.mimetype == "application/zip"
    assert archive.headers["Content-Disposition"].startswith("attachment;")
    with zipfile.ZipFile(io.BytesIO(archive.data)) as opened:
        assert opened.read("01_Weiterleitungsvertrag_Stadt-Hilden.docx") == b"PK-docx"


def test_downloads_carry_content_disposition_with_the_document_s_name() -> None:
    portal = clerk()
    info = dpb.DocumentInfo(document_id="d1", filename="Drucksache_Kürten.docx", kind=dpb.DRUCKSACHE)
    portal.apis.documents.answer("GetDocument", dpb.GetDocumentResponse(document=info, content=b"PK-docx"))
    portal.apis.documents.answer(
        "GetDocumentPdf",
        dpb.DocumentPdf(document=info, content=b"%PDF-1.7", filename="Drucksache_Kürten.pdf"),
    )
    docx = portal.client.get("/dokumente/d1/docx")
    assert docx.data == b"PK-docx" and docx.mimetype.endswith("wordprocessingml.document")
    assert "attachment" in docx.headers["Content-Disposition"]
    assert "filename*=UTF-8''Drucksache_K%C3%BCrten.docx" in docx.headers["Content-Disposition"]
    pdf = portal.client.get("/dokumente/d1/pdf")
    assert pdf.data == b"%PDF-1.7" and pdf.mimetype == "application/pdf"
    assert "Drucksache_K%C3%BCrten.pdf" in pdf.headers["Content-Disposition"]


DRUCKSACHE = {
    "kind": "Mitteilungsvorlage",
    "number": "WP 20-25 SV 51/205",
    "date": "03.12.2026",
    "public": "ja",
    "department.fachbereich": "Jugend, Schule und Integration",
    "department.fachdienst": "KI",
    "consultations[0].body": "Sozialausschuss",
    "consultations[0].date": "17.12.2026",
    "consultations[0].role": "Kenntnisnahme",
    "title": "KIM: Stand der Fallarbeit",
    "resolution": "Der Ausschuss nimmt den Bericht zur Kenntnis.",
    "financial_impact": "keine",
    "climate_relevance": "nein",
    "body_text": "Erster Absatz.\r\n\r\n[Fallzahlen]\r\n\r\nLetzter Absatz.",
    "signature.name": "Landrat",
    "signature.function": "Landrat",
}


def test_the_drucksache_preview_shows_its_text_and_stores_nothing() -> None:
    portal = clerk()
    preview = portal.post("/dokumente/drucksache", {**DRUCKSACHE, "aktion": "vorschau"})
    page = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "Vorschau des Textes" in page
    assert "Erster Absatz." in page and "Letzter Absatz." in page and "17.12.2026" in page
    assert "Hier stehen die Fallzahlen" in page
    assert portal.apis.documents.requests("RenderDrucksache") == []


def test_the_drucksache_is_rendered_with_the_figures_or_its_errors_are_linked() -> None:
    portal = clerk()
    portal.apis.documents.answer(
        "RenderDrucksache", dpb.RenderDocumentResponse(document=dpb.DocumentInfo(document_id="d2"))
    )
    made = portal.post("/dokumente/drucksache", {**DRUCKSACHE, "figures": "ja", "aktion": "erzeugen"})
    assert made.status_code == 302 and made.headers["Location"].endswith("/dokumente/d2")
    (sent,) = portal.apis.documents.requests("RenderDrucksache")
    data = json_format.MessageToDict(sent.input)
    assert sent.figures_from_case_service and data["date"] == "2026-12-03" and data["public"] is True
    assert data["body_text"] == "Erster Absatz.\n\n[Fallzahlen]\n\nLetzter Absatz."
    assert data["consultations"] == [
        {"body": "Sozialausschuss", "date": "2026-12-17", "role": "Kenntnisnahme"}
    ]
    portal.apis.documents.answer(
        "RenderDrucksache",
        InvalidArgument(
            [
                FieldViolation(
                    "consultations[0].role", "Unzulässiger Wert „x“; erlaubt: vorberatend, beschließend."
                )
            ]
        ),
    )
    refused = portal.post("/dokumente/drucksache", {**DRUCKSACHE, "aktion": "erzeugen"})
    assert refused.status_code == 400
    assert 'href="#f-consultations-0-role">Unzulässiger Wert' in refused.get_data(as_text=True)
    without_token = portal.client.post("/dokumente/drucksache", data={**DRUCKSACHE, "aktion": "erzeugen"})
    assert without_token.status_code == 400 and len(portal.apis.documents.requests("RenderDrucksache")) == 2


def test_the_monitoringbericht_shows_its_charts_with_their_numbers() -> None:
    portal = clerk()
    portal.apis.documents.answer(
        "RenderMonitoringReport", dpb.RenderDocumentResponse(document=dpb.DocumentInfo(document_id="m1"))
    )
    made = portal.post(
        "/dokumente/monitoringbericht", {"recipient": "Sozialausschuss", "period_from": "01.01.2026"}
    )
    assert made.status_code == 302 and made.headers["Location"].endswith("/dokumente/m1")
    (sent,) = portal.apis.documents.requests("RenderMonitoringReport")
    assert (sent.recipient, sent.period_from.year) == ("Sozialausschuss", 2026)
    info = dpb.DocumentInfo(document_id="m1", kind=dpb.MONITORINGBERICHT, filename="Monitoringbericht.docx")
    portal.apis.documents.answer("GetDocument", dpb.GetDocumentResponse(document=info, content=b"PK"))
    portal.apis.documents.answer(
        "GetDocumentCharts",
        dpb.DocumentCharts(
            document=info,
            charts=[
                dpb.DocumentChart(
                    key="cases_by_status",
                    title="Fälle nach Status",
                    axis_label="Fälle",
                    png=b"\x89PNG",
                    bars=[
                        dpb.ChartBar(label="aufgenommen", shown="12"),
                        dpb.ChartBar(label="Verweisberatung", shown="< 5"),
                    ],
                )
            ],
        ),
    )
    page = portal.client.get("/dokumente/m1").get_data(as_text=True)
    assert 'src="data:image/png;base64,iVBORw=="' in page and 'alt="Balkendiagramm: Fälle nach Status' in page
    assert '<caption class="kern-title">Fälle nach Status (Fälle)</caption>' in page
    assert "aufgenommen" in page and "&lt; 5" in page
    wrong = portal.post("/dokumente/monitoringbericht", {"period_to": "99.99.2026"})
    assert wrong.status_code == 400 and 'href="#f-period_to"' in wrong.get_data(as_text=True)
