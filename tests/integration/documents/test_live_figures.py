"""The node's monitoring figures from the case service in a Monitoringbericht and a Drucksache,
over real gRPC with real tokens: one api process (`kim node api`) of the Kreis' node serves case,
conference and documents (the documents api reads GetFigures of its own process, as `case_api_target` empty
says); FerretDB, RabbitMQ, Keycloak and LibreOffice are real.

The node is this module's own (own databases), so the figures are exactly the cases seeded here:
7 Geduldete over 27 and 2 people from Romania (Südosteuropa), 5 of them admitted. Small cells
arrive suppressed from the case service and must stay "< 5" in the documents.
"""

from __future__ import annotations

import io
import json
import os
import re
import signal
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from kim.case.v1 import case_pb2, types_pb2 as C
from kim.common.v1.types_pb2 import Date
from kim.documents.v1 import documents_pb2 as pb
from kimnetz.runtime.settings import Settings
from services.documents.rendering import TEMPLATES_DIR
from tests.integration.case.case_requests import person, proposal
from tests.integration.documents.inputs import all_text, drucksache_input, struct
from tests.integration.documents.test_live_protocols import (
    CLERK,
    CM,
    KOORD,
    KOORD_HILDEN,
    KREIS,
    LENKUNG,
    Node,
    _free_port,
    converts_to_pdf_a,
)
from tests.support import servers
from tests.support.grpc_calls import violations
from tests.support.identity import LocalFederation
from tests.unit.documents.documents_factories import open_docx

ADMITTED, GEDULDETE, SUEDOSTEUROPA = 5, 7, 2


@pytest.fixture(scope="module")
def federation() -> Iterator[LocalFederation]:
    started = LocalFederation.start(Path(__file__).with_name("federation.yaml"))
    try:
        yield started
    finally:
        started.close()


@pytest.fixture(scope="module")
def own_node_settings() -> Iterator[Settings]:
    """Not the session's node: the figures count every case of the node, so they must be ours."""
    settings = servers.isolated_settings()
    servers.create_vhost(settings)
    yield settings
    servers.drop_databases(settings)
    servers.broker_admin(settings).delete_vhost(settings.node_id)


@pytest.fixture(scope="module")
def api(own_node_settings: Settings, federation: LocalFederation,
        tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    """The node's api as its own process (`kim node api`): one Python process keeps one database
    per service alias, and this process's aliases already point at the session's node."""
    settings = own_node_settings.model_copy(update={
        "grpc_services": "case,conference,documents", "grpc_port": _free_port(),
        "outbox_sweep_seconds": 0.5,
    })
    env = {**servers.node_environment(settings), "KIM_ORGANIZATION_ID": KREIS,
           "KIM_KEYCLOAK_REALM": federation.realm,
           "KIM_API_AUDIENCE": federation.federation.clients.api}
    log = tmp_path_factory.mktemp("figures-api") / "api.log"
    with log.open("wb") as out:
        process = subprocess.Popen([str(Path(sys.executable).with_name("kim")), "node", "api"],
                                   env=env, stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    channel = grpc.insecure_channel(f"127.0.0.1:{settings.grpc_port}")
    try:
        try:
            grpc.channel_ready_future(channel).result(timeout=60)
        except grpc.FutureTimeoutError:
            pytest.fail(f"the api did not start:\n{log.read_text()[-3000:]}")
        yield Node(channel, federation.token_for)
    finally:
        channel.close()
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(30)


@pytest.fixture(scope="module")
def figures(api: Node) -> case_pb2.Figures:
    romanian = person(nationalities=["RO"], country_of_origin="RO", residence=case_pb2.ResidenceStatus(
        kind=C.RESIDENCE_STATUS_KIND_EU_FREIZUEGIGKEIT))
    ids = [api.call("case", "ProposeCase", proposal(KREIS), CM).case_id for _ in range(GEDULDETE)]
    for _ in range(SUEDOSTEUROPA):
        api.call("case", "ProposeCase", proposal(KREIS, person=romanian), CM)
    for case_id in ids[:ADMITTED]:
        api.call("case", "SubmitForReview", case_pb2.SubmitForReviewRequest(case_id=case_id), CM)
        api.call("case", "AdmitCase", case_pb2.AdmitCaseRequest(
            case_id=case_id, case_manager="cm.kreis", case_manager_org=KREIS), KOORD)
    answer: case_pb2.Figures = api.call("case", "GetFigures", case_pb2.GetFiguresRequest(), KOORD)
    return answer


def paragraph_text(content: bytes) -> str:
    """The body's paragraphs with their line breaks (python-docx gives a <w:br/> as a newline),
    which `all_text` drops: the figures in a Sachdarstellung are one line per cell."""
    document = open_docx(content)
    texts = [p.text for p in document.paragraphs]
    cells = [cell for table in document.tables for row in table.rows for cell in row.cells]
    texts += [p.text for cell in cells for p in cell.paragraphs]
    return "\n".join(texts)


def labels(table: case_pb2.FigureTable) -> dict[str, str]:
    return {cell.key: cell.label for cell in table.cells}


def test_the_monitoringbericht_prints_the_case_services_figures_suppressed(
        api: Node, figures: case_pb2.Figures, tmp_path: Path) -> None:
    groups = labels(figures.by_zielgruppe)
    # The seed as the case service sees it (kimnetz/disclosure.py): one Zielgruppe below 5, so
    # neither the total nor the largest (the other one) is given.
    shown = {c.key: c.shown for c in figures.by_zielgruppe.cells}
    assert shown["geduldete_gestattete_ueber_27"] == "x" and shown["suedosteuropa"] == "< 5"

    request = pb.RenderMonitoringReportRequest(
        period_from=Date(year=2026, month=1, day=1), period_to=Date(year=2026, month=6, day=30),
        issuer="Kreis Mettmann",
        office="Kommunales Integrationszentrum", recipient="Sozialausschuss",
        summary="Der Bericht folgt dem Beschluss des Sozialausschusses vom 12.02.2026.")
    rendered = api.call("documents", "RenderMonitoringReport", request, KOORD)
    info = rendered.document
    assert info.kind == pb.MONITORINGBERICHT and info.organization == KREIS
    assert info.generated_by_username == "koord.kreis"
    text = all_text(rendered.content)
    assert "Berichtszeitraum: 01.01.2026 bis 30.06.2026" in text
    assert f"{groups['geduldete_gestattete_ueber_27']} | x" in text
    assert f"{groups['suedosteuropa']} | < 5" in text
    assert "ins Case Management aufgenommen | x" in text and "Fallvorschlag | < 5" in text
    assert "Summe | x" in text and "abgeschlossen | 0" in text
    assert not re.search(r"\| [1-4]$", text, re.MULTILINE)  # the 4 proposed and the 2 never appear
    lines = paragraph_text(rendered.content)
    assert "\nAusbildung: 9\n" in lines  # every seeded case has the Handlungsfeld Ausbildung
    assert "bis zur ersten Entscheidung: im Mittel 0,0 Tage" in lines  # German decimal comma
    assert "Der Bericht folgt dem Beschluss des Sozialausschusses" in text and "koord.kreis" in text

    with (zipfile.ZipFile(io.BytesIO(rendered.content)) as docx,
          zipfile.ZipFile(TEMPLATES_DIR / "monitoringbericht.docx") as template):
        media = [n for n in docx.namelist() if n.startswith("word/media/")]
        assert len(media) == 2
        for name in media:
            assert docx.read(name).startswith(b"\x89PNG") and docx.read(name) != template.read(name)
    names = [s._inline.docPr.get("name") for s in open_docx(rendered.content).inline_shapes]
    assert names == ["kim-chart:cases_by_status", "kim-chart:cases_by_zielgruppe"]

    stored = api.call("documents", "GetDocument", pb.GetDocumentRequest(document_id=info.document_id), KOORD)
    data = json.loads(stored.input_json)
    assert data["cases_by_status"]["proposed"] == "< 5" and data["cases_total"] == "x"
    assert {"label": groups["suedosteuropa"], "count": "< 5"} in data["cases_by_zielgruppe"]
    converts_to_pdf_a(rendered.content, tmp_path, "monitoringbericht")

    by_clerk = api.call("documents", "RenderMonitoringReport", pb.RenderMonitoringReportRequest(), CLERK)
    assert by_clerk.document.generated_by_username == "buero.kreis"
    assert "Summe | x" in all_text(by_clerk.content)
    for refused in (CM, LENKUNG, KOORD_HILDEN):
        error = api.fails("documents", "RenderMonitoringReport", request, refused)
        assert error.code() is grpc.StatusCode.PERMISSION_DENIED, refused
    backwards = pb.RenderMonitoringReportRequest(period_from=Date(year=2026, month=7, day=1),
                                                 period_to=Date(year=2026, month=6, day=30))
    wrong = api.fails("documents", "RenderMonitoringReport", backwards, KOORD)
    assert wrong.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert list(violations(wrong)) == ["period_to"]
    impossible = pb.RenderMonitoringReportRequest(period_from=Date(year=2026, month=2, day=31),
                                                  period_to=Date(year=2026, month=13, day=1))
    wrong = api.fails("documents", "RenderMonitoringReport", impossible, KOORD)
    assert wrong.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert violations(wrong) == {"period_from": "Kein gültiges Kalenderdatum (31.02.2026).",
                                 "period_to": "Kein gültiges Kalenderdatum (01.13.2026)."}


def test_a_drucksache_carries_the_figures_in_its_sachdarstellung(
        api: Node, figures: case_pb2.Figures, tmp_path: Path) -> None:
    groups = labels(figures.by_zielgruppe)
    paper = drucksache_input()
    paper["body_text"] = ("Das KIM arbeitet seit 2021.\n\n[Fallzahlen]\n\n"
                          "Die Verwaltung wird weiter berichten.")
    request = pb.RenderDrucksacheRequest(input=struct(paper), figures_from_case_service=True)
    rendered = api.call("documents", "RenderDrucksache", request, CLERK)
    assert rendered.document.kind == pb.DRUCKSACHE and rendered.document.organization == KREIS
    text = paragraph_text(rendered.content)
    start = text.index("Das KIM arbeitet seit 2021.")
    end = text.index("Die Verwaltung wird weiter berichten.")
    figures_text = text[start:end]
    for expected in ("Fallzahlen des Kommunalen Integrationsmanagements (Stand: ",
                     "Fälle nach Status:", "ins Case Management aufgenommen: x", "Fallvorschlag: < 5",
                     f"{groups['geduldete_gestattete_ueber_27']}: x", f"{groups['suedosteuropa']}: < 5",
                     "insgesamt: x", "im Mittel 0,0 Tage"):
        assert expected in figures_text, expected
    assert not re.search(r": [1-4]$", figures_text, re.MULTILINE)
    stored = api.call("documents", "GetDocument",
                      pb.GetDocumentRequest(document_id=rendered.document.document_id), CLERK)
    assert "ins Case Management aufgenommen: x" in json.loads(stored.input_json)["body_text"]
    converts_to_pdf_a(rendered.content, tmp_path, "drucksache")

    by_coordinator = api.call("documents", "RenderDrucksache", request, KOORD)
    assert "insgesamt: x" in all_text(by_coordinator.content)
    plain = api.call("documents", "RenderDrucksache", pb.RenderDrucksacheRequest(input=struct(paper)), CLERK)
    assert "[Fallzahlen]" in all_text(plain.content) and "Fälle nach Status" not in all_text(plain.content)
    for refused in (CM, LENKUNG, KOORD_HILDEN):
        error = api.fails("documents", "RenderDrucksache", request, refused)
        assert error.code() is grpc.StatusCode.PERMISSION_DENIED, refused
