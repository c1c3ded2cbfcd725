"""Monitoring per reporting period over real nodes (issue 14): the Stadt Hilden's case manager
proposes five cases on the Stadt node and the Caritas' case manager five on the Caritas node;
each node's case service counts them in its figures ledger as they happen. The Kreis'
coordinator then renders the Monitoringbericht for this year through the Kreis node's documents
api: its documents service asks every node of the directory for the period's figures over mutual
TLS and prints their sum: ten new Fallvorschläge in the period, ten Fallvorschläge in stock at
its end, both nodes named with their Stand. A period that ended before the cases were proposed
counts none of them.

Three nodes of a federation of their own (tests/e2e/story_support.py)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import date

import docx
import pytest

from kim.case.v1 import types_pb2 as C
from kim.documents.v1 import documents_pb2
from kimctl.story import CARITAS, CARITAS_CASE_MANAGER, COORDINATOR, KREIS, STADT, STADT_CASE_MANAGER, Api
from kimnetz.runtime.proto_mapping import to_proto_date
from tests.e2e.story_support import ThreeNodes, duldung_proposal, three_nodes


@pytest.fixture(scope="module")
def federation(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreeNodes]:
    with three_nodes(tmp_path_factory) as running:
        yield running


@pytest.fixture(scope="module")
def api(federation: ThreeNodes) -> Iterator[Api]:
    client = Api(federation.token)
    yield client
    client.close()


def rows(content: bytes, first_cell: str) -> list[list[str]]:
    document = docx.Document(io.BytesIO(content))
    for table in document.tables:
        found = [[cell.text for cell in row.cells] for row in table.rows]
        if found and found[0][0] == first_cell:
            return found
    raise AssertionError(f"no table {first_cell!r}")


def test_the_kreis_reports_the_period_figures_of_two_nodes(federation: ThreeNodes, api: Api) -> None:
    for organization, actor in ((STADT, STADT_CASE_MANAGER), (CARITAS, CARITAS_CASE_MANAGER)):
        case_api = api.case(federation.node(organization), actor)
        for i in range(5):
            case_api.ProposeCase(duldung_proposal(f"Periode{organization[:3]}{i}", gender=C.GENDER_WEIBLICH))

    documents = api.documents(federation.node(KREIS), COORDINATOR)
    today = date.today()
    answer = documents.RenderMonitoringReport(documents_pb2.RenderMonitoringReportRequest(
        period_from=to_proto_date(today.replace(month=1, day=1)), period_to=to_proto_date(today)))
    movements = dict(map(tuple, rows(answer.content, "Bewegung")[1:]))  # type: ignore[arg-type]
    assert movements["neue Fallvorschläge"] == "10"
    assert movements["Aufnahmen ins Case Management"] == "0"
    stock = dict(map(tuple, rows(answer.content, "Status")[1:]))  # type: ignore[arg-type]
    assert stock["Fallvorschlag"] == "10"
    # The federation's figures: every node reached, none missing.
    text = "\n".join(p.text for p in docx.Document(io.BytesIO(answer.content)).paragraphs)
    assert "Datengrundlage" in text and "Ohne Angaben von" not in text
    # One line per participating node, each with the time its figures were read.
    sources = [line for line in text.splitlines() if line.startswith("– ") and "(Stand: " in line]
    assert len(sources) == 3, text

    # The last year: none of this year's Fallvorschläge.
    last_year = today.year - 1
    answer = documents.RenderMonitoringReport(documents_pb2.RenderMonitoringReportRequest(
        period_from=to_proto_date(date(last_year, 1, 1)), period_to=to_proto_date(date(last_year, 12, 31))))
    movements = dict(map(tuple, rows(answer.content, "Bewegung")[1:]))  # type: ignore[arg-type]
    assert movements["neue Fallvorschläge"] == "0"
