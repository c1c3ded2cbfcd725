"""The case service's figures -> the input of a Monitoringbericht (the same plain data as a
`kim documents monitoring` YAML file, checked by domain/monitoring.py): the node's own figures
(`monitoring_input`) or, on the Kreis' node, the federation's (`federation_monitoring_input`,
with the nodes they come from and those not reached).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from services.documents.domain import formats
from services.documents.domain.federation import (
    CombinedFigures,
    CombinedPeriod,
    CombinedTable,
    stand as stand_text,
)
from services.documents.domain.figures import FigureTable, PeriodRecord
from services.documents.figures import CaseFiguresRecord
from services.documents.inputs.figure_lines import (
    check_known_statuses,
    combined_listing,
    combined_mean,
    listing,
    mean,
)

DEFAULT_REPORT_OFFICE = "Kommunales Integrationsmanagement"
DEFAULT_REPORT_SIGNATURE = "Koordination Kommunales Integrationsmanagement"


@dataclass(frozen=True)
class ReportOptions:
    author: str
    """Who renders (username): signs the report."""
    organization: str
    stand: date
    """The day the figures were read: GetFigures gives the current state, not a period's."""
    period_from: date | None = None
    period_to: date | None = None
    issuer: str = ""
    office: str = ""
    title: str = ""
    recipient: str = ""
    summary: str = ""
    signature_function: str = ""


def monitoring_input(figures: CaseFiguresRecord, options: ReportOptions) -> dict[str, Any]:
    """The Monitoringbericht's input from the node's figures: status, Zielgruppe and barrier
    tables as delivered ("< 5" and "x" included, with the case service's totals), the other
    figures (Handlungsfelder, goal outcomes, durations) as paragraphs of the summary."""
    check_known_statuses(figures)
    stand = formats.day(options.stand)
    summary = [options.summary.strip()] if options.summary.strip() else []
    summary += [
        f"Die Zahlen geben den Stand der Fallakten am {stand} wieder (alle Fälle des "
        f"Knotens, Zielgruppenkatalog Version {figures.zielgruppen_version}).",
        listing("Fälle nach Handlungsfeld (ein Fall zählt bei jedem Handlungsfeld, das für ihn "
                 "vorgeschlagen, festgestellt oder geplant ist)", figures.by_handlungsfeld),
        listing("Ziele abgeschlossener Fälle nach Ergebnis", figures.by_goal_outcome),
        mean("Dauer vom Fallvorschlag bis zur ersten Entscheidung", figures.days_to_decision)
        + " " + mean("Dauer abgeschlossener Fälle vom Fallvorschlag bis zum Abschluss", figures.days_open),
    ]
    return _report_data(figures, summary, options)



def federation_monitoring_input(figures: CombinedFigures, options: ReportOptions) -> dict[str, Any]:
    """The Monitoringbericht's input from the federation's figures: the tables with the marks of
    the combination ("mind. 12"), its totals, the contributing and missing nodes (`federation`)."""
    for node in figures.sources:
        check_known_statuses(node.figures)
    summary = [options.summary.strip()] if options.summary.strip() else []
    summary += [
        f"Die Zahlen geben den Stand der Fallakten aller erreichten Knoten des KIM-Verbunds am "
        f"{formats.day(options.stand)} wieder; woher sie stammen, nennt der Abschnitt „Datengrundlage“.",
        combined_listing("Fälle nach Handlungsfeld (ein Fall zählt bei jedem Handlungsfeld, das für ihn "
                          "vorgeschlagen, festgestellt oder geplant ist)", figures.by_handlungsfeld),
        combined_listing("Ziele abgeschlossener Fälle nach Ergebnis", figures.by_goal_outcome),
        combined_mean("Dauer vom Fallvorschlag bis zur ersten Entscheidung", figures.days_to_decision)
        + " " + combined_mean("Dauer abgeschlossener Fälle vom Fallvorschlag bis zum Abschluss",
                               figures.days_open),
    ]
    return _report_data(figures, summary, options, federation={
        "nodes": [{"name": n.source.name, "stand": stand_text(n.read_at)} for n in figures.sources],
        "unavailable": [{"name": m.source.name, "reason": m.reason} for m in figures.missing],
        "zielgruppen": figures.versions_text(),
        "notes": figures.notes(),
    })


def _report_data(figures: CaseFiguresRecord | CombinedFigures, summary: list[str],
                 options: ReportOptions, federation: dict[str, Any] | None = None) -> dict[str, Any]:
    """The Monitoringbericht's input: the status, Zielgruppe and barrier tables as printed
    (a node's own figures or the federation's combination), the summary paragraphs, and for the
    federation where its figures come from (`federation`)."""
    period_to = options.period_to or options.stand
    period_from = options.period_from or period_to.replace(month=1, day=1)
    data: dict[str, Any] = {
        "issuer": options.issuer or options.organization,
        "office": options.office or DEFAULT_REPORT_OFFICE,
        "period": {"from": period_from.isoformat(), "to": period_to.isoformat()},
        "cases_by_status": {c.key: c.figure for c in figures.by_status.cells},
        "cases_by_zielgruppe": [{"label": c.label or "keine Zielgruppe", "count": c.figure}
                                for c in figures.by_zielgruppe.cells],
        "barriers_by_category": [{"label": c.label, "count": c.figure}
                                 for c in figures.by_barrier_category.cells],
        "cases_total": figures.by_status.total.figure,
        "barriers_total": figures.by_barrier_category.total.figure,
        "summary": "\n\n".join(summary),
        "signature": {"name": options.author,
                      "function": options.signature_function or DEFAULT_REPORT_SIGNATURE},
    }
    if federation is not None:
        data["federation"] = federation
    in_period = period_input(figures.period)
    if in_period is not None:
        data["period_figures"] = in_period
    if options.title:
        data["title"] = options.title
    if options.recipient:
        data["recipient"] = options.recipient
    return data


def _rows(table: FigureTable | CombinedTable) -> list[dict[str, Any]]:
    return [{"label": c.label or "keine Zielgruppe", "count": c.figure} for c in table.cells]


def period_input(period: PeriodRecord | CombinedPeriod | None) -> dict[str, Any] | None:
    """The period section of the input (domain/monitoring.py `PeriodFigures`) from the case
    service's PeriodFigures or the federation's combination, figures as delivered."""
    if period is None:
        return None
    admitted: list[tuple[str, FigureTable | CombinedTable]]
    if isinstance(period, PeriodRecord):
        admitted = [(b.title, b.table) for b in period.admitted]
    else:
        admitted = [(title, table) for _, title, table in period.admitted]
    return {
        "movements": {c.key: c.figure for c in period.movements.cells},
        "movements_total": period.movements.total.figure,
        "referred_by_target": {"title": "Verweisberatungen nach Ziel",
                               "rows": _rows(period.referred_by_target),
                               "total": period.referred_by_target.total.figure},
        "closed_by_reason": {"title": "Abschlüsse nach Grund", "rows": _rows(period.closed_by_reason),
                             "total": period.closed_by_reason.total.figure},
        "stock_by_status": {c.key: c.figure for c in period.stock_by_status.cells},
        "stock_total": period.stock_by_status.total.figure,
        "admitted": [{"title": title, "rows": _rows(table), "total": table.total.figure}
                     for title, table in admitted if table.cells],
    }
