"""The case service's monitoring figures (already suppressed) -> a Monitoringbericht and a
Drucksache's Sachdarstellung: "< 5" and "x" stay what they are, totals come from the case
service, counts and means print in German formats, and the inputs re-render like YAML files."""

from __future__ import annotations

import copy
from datetime import date
from typing import Any

import pytest

from kimnetz.errors import InvalidArgument, Unavailable
from services.documents.domain.kinds import DRUCKSACHE, MONITORING
from services.documents.domain.monitoring import STATUS_LABELS
from services.documents.figures import CaseFiguresRecord, FigureCell, FigureTable, MeanDuration
from services.documents.inputs.drucksache_figures import drucksache_with_figures, figures_paragraphs
from services.documents.inputs.monitoringbericht import ReportOptions, monitoring_input
from tests.unit.documents.documents_factories import body_text, make_drucksache, render_builtin, table_rows

STAND = date(2026, 5, 12)


def shown(key: str, label: str, count: int) -> FigureCell:
    return FigureCell(key, label, "shown", count)


def small(key: str, label: str) -> FigureCell:
    return FigureCell(key, label, "suppressed", None)


def withheld(key: str, label: str) -> FigureCell:
    return FigureCell(key, label, "withheld", None)


def table(*cells: FigureCell, total: FigureCell) -> FigureTable:
    return FigureTable(tuple(cells), total)


def figures(**overrides: Any) -> CaseFiguresRecord:
    statuses = {key: small(key, label) for key, label in STATUS_LABELS.items()}
    statuses["active"] = shown("active", "aktiv", 1234)
    statuses["proposed"] = shown("proposed", "Fallvorschlag", 7)
    statuses["referred"] = withheld("referred", "Verweisberatung")
    # As the case service sends them (kimnetz/disclosure.py): a table with a small cell withholds
    # its total and one more cell (the largest; here another one, to see counts printed).
    fields: dict[str, Any] = dict(
        by_status=table(*statuses.values(), total=withheld("total", "Summe")),
        by_zielgruppe=table(shown("geduldete_gestattete_ueber_27", "Geduldete und Gestattete über 27", 1240),
                            small("suedosteuropa", "Südosteuropa"),
                            withheld("umf", "unbegleitete Minderjährige"),
                            small("", "keine Zielgruppe"), total=withheld("total", "Summe")),
        by_handlungsfeld=table(shown("ausbildung", "Ausbildung", 1250), small("sprache", "Sprache"),
                               total=shown("total", "Summe", 1252)),
        by_goal_outcome=table(small("achieved", "erreicht"), total=small("total", "Summe")),
        by_barrier_category=table(small("aufenthalt", "Aufenthalt"), total=small("total", "Summe")),
        days_to_decision=MeanDuration(12.5),
        days_open=MeanDuration(None),
        zielgruppen_version=1,
        suppression_note="Zahlen unter 5 werden nicht ausgewiesen.",
    )
    fields.update(overrides)
    return CaseFiguresRecord(**fields)


def options(**overrides: Any) -> ReportOptions:
    fields: dict[str, Any] = dict(author="koord.kreis", organization="kreis-mettmann", stand=STAND)
    fields.update(overrides)
    return ReportOptions(**fields)


def test_suppressed_figures_stay_suppressed_and_counts_print_in_german() -> None:
    data = monitoring_input(figures(), options(recipient="Sozialausschuss"))
    assert data["cases_by_status"]["active"] == 1234 and data["cases_by_status"]["closed"] == "< 5"
    assert data["cases_total"] == "x" and data["barriers_total"] == "< 5"
    assert data["period"] == {"from": "2026-01-01", "to": "2026-05-12"}
    prepared = MONITORING.prepare(data)
    context = prepared.context
    status = {row["label"]: row["count"] for row in context["by_status"]["rows"]}
    assert status["aktiv (Monitoring)"] == "1.234" and status["Fallvorschlag"] == "7"
    assert status["abgeschlossen"] == "< 5"
    assert context["by_status"]["total"] == "x" and status["Verweisberatung"] == "x"
    groups = {row["label"]: row["count"] for row in context["by_zielgruppe"]["rows"]}
    assert groups == {"Geduldete und Gestattete über 27": "1.240", "Südosteuropa": "< 5",
                      "unbegleitete Minderjährige": "x", "keine Zielgruppe": "< 5"}
    assert context["barriers"]["total"] == "< 5"
    summary = "\n".join(context["summary"])
    assert "Stand der Fallakten am 12.05.2026" in summary
    assert "Ausbildung: 1.250" in summary and "Sprache: < 5" in summary and "insgesamt: 1.252" in summary
    assert "im Mittel 12,5 Tage" in summary
    assert "bis zum Abschluss: nicht ausgewiesen (weniger als 5 Fälle)" in summary
    bars = {c.label: c.value for c in prepared.charts["cases_by_zielgruppe"].cells}
    assert bars["Südosteuropa"] is None and bars["unbegleitete Minderjährige"] is None
    assert bars["Geduldete und Gestattete über 27"] == 1240


def test_the_report_renders_with_the_builtin_template_and_the_caller_signs() -> None:
    data = monitoring_input(figures(), options(summary="Eigener Einleitungstext.",
                                               period_from=date(2025, 7, 1), period_to=date(2026, 6, 30)))
    prepared = MONITORING.prepare(data)
    document = render_builtin(MONITORING, prepared.context)
    text = body_text(document)
    assert "01.07.2025" in text and "30.06.2026" in text
    assert "Eigener Einleitungstext." in text and "koord.kreis" in text and "kreis-mettmann" in text
    assert "1.234" in text and "< 5" in text
    assert "1234" not in text  # never without the German thousands separator


def test_pre_suppressed_cells_need_the_total_and_a_total_must_fit_the_figures() -> None:
    data = monitoring_input(figures(), options())
    del data["cases_total"]
    with pytest.raises(InvalidArgument) as caught:
        MONITORING.prepare(data)
    found = {v.field: v.description for v in caught.value.violations}
    assert "Summe angeben" in found["cases_by_status"]

    exact = monitoring_input(figures(), options())
    exact.update(cases_by_status={"proposed": 6, "active": 9},
                 cases_by_zielgruppe=[{"label": "A", "count": 15}], cases_total=14)
    with pytest.raises(InvalidArgument) as caught:
        MONITORING.prepare(exact)
    assert "passt nicht" in {v.field: v.description for v in caught.value.violations}["cases_total"]

    smaller = monitoring_input(figures(), options())
    smaller["cases_total"] = 1000  # the shown cells alone already add up to 1.241
    with pytest.raises(InvalidArgument) as caught:
        MONITORING.prepare(smaller)
    assert "kleiner als die ausgewiesenen Werte" in caught.value.violations[0].description


def test_a_status_this_service_cannot_name_is_not_printed() -> None:
    odd = figures(by_status=table(shown("archived", "archiviert", 9), total=shown("total", "Summe", 9)))
    with pytest.raises(Unavailable) as caught:
        monitoring_input(odd, options())
    assert "archived" in str(caught.value)


def test_the_figures_go_where_the_marker_is_or_after_the_last_paragraph() -> None:
    block = figures_paragraphs(figures(), STAND)
    assert block[0].startswith("Fallzahlen des Kommunalen Integrationsmanagements (Stand: 12.05.2026)")
    marked = make_drucksache(body_text="Einleitung.\n\n[Fallzahlen]\n\nBewertung.")
    data = drucksache_with_figures(marked, figures(), STAND)
    assert data["body_text"].split("\n\n") == ["Einleitung.", *block, "Bewertung."]
    assert marked["body_text"] == "Einleitung.\n\n[Fallzahlen]\n\nBewertung.", "input not changed in place"
    appended = drucksache_with_figures(make_drucksache(), figures(), STAND)
    assert appended["body_text"].split("\n\n") == ["Erster Absatz.", "Zweiter Absatz.", *block]
    broken = copy.deepcopy(make_drucksache())
    del broken["body_text"]
    assert drucksache_with_figures(broken, figures(), STAND) == broken  # the parser names the gap


def test_a_drucksache_with_figures_prints_them_suppressed_in_its_sachdarstellung() -> None:
    paper = make_drucksache(kind="Mitteilungsvorlage", resolution="Kenntnisnahme.", consultations=[
        {"body": "Sozialausschuss", "date": "2026-06-01", "role": "Kenntnisnahme"}])
    data = drucksache_with_figures(paper, figures(), STAND)
    document = render_builtin(DRUCKSACHE, DRUCKSACHE.prepare(data).context)
    text = body_text(document)
    for expected in ("Stand: 12.05.2026", "Fälle nach Status:", "aktiv: 1.234", "Fallvorschlag: 7",
                     "Südosteuropa: < 5", "unbegleitete Minderjährige: x", "insgesamt: x",
                     "Barrieren nach Kategorie:", "im Mittel 12,5 Tage"):
        assert expected in text, expected
    assert "Zweiter Absatz." in text
    assert table_rows(document, "Gremium")[1][0] == "Sozialausschuss"  # the rest of the paper as before
