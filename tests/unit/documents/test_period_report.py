"""The Monitoringbericht per Berichtszeitraum (issue 14): the period's figures as the case service
delivers them (already suppressed) into the input and the DOCX, hand-written counts protected
across the movements and their breakdowns, tables that must add up, the example that does, and
two nodes' period figures combined.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from kimnetz.errors import InvalidArgument
from kimnetz.runtime.audit import MemoryAuditSink
from kimnetz.runtime.auth import Principal
from services.documents.domain.federation import NodeFigures, NodeSource, combine
from services.documents.domain.figures import FigureBreakdown, PeriodRecord
from services.documents.domain.kinds import MONITORING
from services.documents.domain.monitoring import STATUS_LABELS, parse_monitoring
from services.documents.figures import ReportPeriod
from services.documents.rendering import Renderer
from services.documents.service import DocumentsService
from tests.support.fakes.documents import FakeCaseFigures, InMemoryDocumentsRepository
from tests.unit.documents.documents_factories import body_text, open_docx, render_builtin, table_rows
from tests.unit.documents.test_figures_inputs import figures, shown, small, table, withheld

EXAMPLES = Path(__file__).resolve().parents[3] / "services" / "documents" / "examples"
EXAMPLE = EXAMPLES / "mettmann-monitoring-2026.yaml"
COORDINATOR = Principal("sub-koord", "k.koordination", "kreis-mettmann", frozenset({"coordinator"}))


def period_record(proposed: int = 12) -> PeriodRecord:
    """As a node's case service sends it: one Verweisberatung ("< 5") hides the movement table's
    total, its largest cell and the Verweisberatungen (their breakdown's total is hidden)."""
    return PeriodRecord(
        start=date(2026, 1, 1), end=date(2026, 3, 31),
        movements=table(withheld("proposed", "neue Fallvorschläge"), shown("admitted", "Aufnahmen", 6),
                        small("referred", "Verweisberatungen"), shown("closed", "Abschlüsse", 0),
                        total=withheld("total", "Summe")),
        referred_by_target=table(small("mbe", "MBE"), shown("jmd", "JMD", 0), total=small("total", "Summe")),
        closed_by_reason=table(shown("moved_away", "Wegzug", 0), total=shown("total", "Summe", 0)),
        stock_by_status=table(shown("admitted", "aufgenommen", 6),
                              shown("proposed", "Fallvorschlag", proposed),
                              total=shown("total", "Summe", 6 + proposed)),
        admitted=(FigureBreakdown("age_band", "Aufnahmen nach Altersgruppe (bei Aufnahme)",
                                  table(shown("18_27", "18 bis 27 Jahre", 6),
                                        shown("28_39", "28 bis 39 Jahre", 0),
                                        total=shown("total", "Summe", 6))),),
        note="Bewegungen im Berichtszeitraum und Bestand an seinem Ende.")


class Clock:
    def __call__(self) -> datetime:
        return datetime(2026, 4, 2, 8, 0, tzinfo=UTC)


def test_the_report_asks_for_its_period_and_prints_the_movements_as_delivered() -> None:
    service = DocumentsService(InMemoryDocumentsRepository(), Renderer(), MemoryAuditSink(), clock=Clock())
    case_figures = FakeCaseFigures(figures(period=period_record()))
    record, content = service.render_monitoring_report(
        COORDINATOR, case_figures, period_from=date(2026, 1, 1), period_to=date(2026, 3, 31))
    assert case_figures.periods == [ReportPeriod(date(2026, 1, 1), date(2026, 3, 31))]
    document = open_docx(content)
    assert table_rows(document, "Bewegung")[1:] == [
        ["neue Fallvorschläge", "x"], ["Aufnahmen ins Case Management", "6"], ["Verweisberatungen", "< 5"],
        ["Abschlüsse", "0"], ["Bewegungen insgesamt", "x"]]
    assert table_rows(document, "Ziel der Verweisberatung")[-1] == ["Summe", "< 5"]
    assert ["18 bis 27 Jahre", "6"] in table_rows(document, "Merkmal")
    text = body_text(document)
    assert "Bestand am 31.03.2026" in text
    # The stored input renders again from the command line: the same figures, as strings.
    data = json.loads(record.input_json)
    assert data["period_figures"]["movements"]["referred"] == "< 5"


def test_hand_written_counts_are_protected_across_the_movements_and_their_breakdowns() -> None:
    data = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    context = MONITORING.prepare(data).context
    movements = {r["label"]: r["count"] for r in context["period_figures"]["movements"]["rows"]}
    # Verweisberatungen 11 would give the hidden MBE/JMD/Integrationsagentur cells' sum, the
    # Aufnahmen 17 those of every breakdown: both withheld, with the total and the largest cell.
    assert movements["Verweisberatungen"] == "x" and movements["Aufnahmen ins Case Management"] == "x"
    assert movements["neue Fallvorschläge"] == "x" and movements["Ablehnungen"] == "< 5"
    assert context["period_figures"]["movements"]["total"] == "x"
    assert context["period_figures"]["referred"]["total"] == "x"
    assert all(b["total"] == "x" for b in context["period_figures"]["admitted"])
    rendered = render_builtin(MONITORING, context)
    assert "Aufnahmen nach Herkunftsregion" in body_text(rendered)


def test_the_example_adds_up() -> None:
    data = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    report = parse_monitoring(data)
    statuses = sum(int(n) for n in report.cases_by_status.values())
    assert statuses == sum(int(c.count) for c in report.cases_by_zielgruppe) == report.cases_total == 92
    period = report.period_figures
    assert period is not None
    assert period.stock_by_status == report.cases_by_status
    assert period.referred_by_target is not None and period.closed_by_reason is not None
    assert sum(int(c.count) for c in period.referred_by_target.rows) == period.movements["referred"]
    assert sum(int(c.count) for c in period.closed_by_reason.rows) == period.movements["closed"]
    for breakdown in period.admitted:
        assert sum(int(c.count) for c in breakdown.rows) == period.movements["admitted"], breakdown.title
    # The summary speaks of the stock as the stock, not as new Fallvorschläge.
    assert "14 neue Fallvorschläge" not in report.summary
    assert set(report.cases_by_status) <= set(STATUS_LABELS)


@pytest.mark.parametrize(("path", "value", "message"), [
    (("admitted", 1, "rows", 0, "count"), 4, "Die Aufschlüsselung ergibt 18, bei den Bewegungen stehen 17"),
    (("movements", "admitted"), 18, "bei den Bewegungen stehen 18"),
    (("movements", "proposed"), "mind. 31", "nur bei den Zahlen des Verbunds"),
    (("movements", "arrived"), 3, "Unbekannt: arrived"),
])
def test_tables_that_do_not_add_up_are_refused(path: tuple[Any, ...], value: Any, message: str) -> None:
    data = copy.deepcopy(yaml.safe_load(EXAMPLE.read_text(encoding="utf-8")))
    target = data["period_figures"]
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(InvalidArgument) as refused:
        MONITORING.prepare(data)
    assert any(message in v.description for v in refused.value.violations), refused.value.violations
    assert all(v.field.startswith("period_figures") for v in refused.value.violations)


def test_two_nodes_period_figures_are_combined_cell_by_cell() -> None:
    read = datetime(2026, 4, 2, 8, 0, tzinfo=UTC)
    nodes = [NodeFigures(NodeSource("kreis", "kreis-mettmann"), figures(period=period_record(12)), read),
             NodeFigures(NodeSource("hilden", "stadt-hilden"), figures(period=period_record(3)), read)]
    combined = combine(nodes)
    assert combined.period is not None
    movements = {c.key: c.printed for c in combined.period.movements.cells}
    # Admissions shown by both: the exact sum; Verweisberatungen "< 5" at both: "x" (could be 8).
    assert movements["admitted"] == "12" and movements["referred"] == "x"
    stock = {c.key: c.printed for c in combined.period.stock_by_status.cells}
    assert stock["proposed"] == "15" and combined.period.stock_by_status.total.printed == "27"
    # A node without period figures: no period in the federation's report rather than a gap.
    assert combine([nodes[0], NodeFigures(NodeSource("alt", "alt"), figures(), read)]).period is None
