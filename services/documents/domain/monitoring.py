"""Monitoringbericht: the node's case figures for politics (Kreistag, Integrationsrat,
Sozialausschuss) and the Lenkungsgruppe, as tables and charts.

Reports leave the circle of people who may see case data, so they carry aggregates only, and
small numbers are suppressed (DOMAIN.md, "Data protection"): a count below `SMALL` is printed as
"< 5" and drawn without its height, never as the exact figure. Where a table prints its total,
one suppressed cell could be recovered by subtraction; then the next smallest cell is withheld
too and printed "x" (secondary suppression, as statistical offices do: "< 5" would be false for
it), and a total below `SMALL` is suppressed itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from pydantic import Field, ValidationInfo, field_validator

from services.documents.domain import formats
from services.documents.domain.drucksache import paragraphs
from services.documents.domain.parsing import IsoDate, Model, Text, parse, rule_error

SMALL = 5
SUPPRESSED = "< 5"
WITHHELD = "x"

# The case service's statuses (services/case/domain/vocabulary.py) in lifecycle order.
STATUS_LABELS = {
    "proposed": "Fallvorschlag",
    "in_review": "in der Fallkonferenz",
    "admitted": "ins Case Management aufgenommen",
    "assessment": "Bedarfsermittlung",
    "planning": "Integrationsplanung",
    "active": "aktiv (Monitoring)",
    "referred": "Verweisberatung",
    "rejected": "abgelehnt",
    "deferred": "zurückgestellt",
    "closed": "abgeschlossen",
}


class Count(Model):
    label: Text
    count: int = Field(ge=0)


class Period(Model):
    start: IsoDate = Field(alias="from")
    end: IsoDate = Field(alias="to")

    @field_validator("end")
    @classmethod
    def _ends_after_start(cls, end: date, info: ValidationInfo) -> date:
        start = info.data.get("start")
        if start is not None and end < start:
            raise rule_error(f"Der Berichtszeitraum endet ({formats.day(end)}) vor seinem Beginn.")
        return end


class Signature(Model):
    name: Text
    function: Text


class Monitoringbericht(Model):
    issuer: Text
    office: Text
    title: Text = "Monitoringbericht Kommunales Integrationsmanagement"
    recipient: Text | None = None
    """The body the report is for, e.g. "Sozialausschuss"."""
    period: Period
    cases_by_status: dict[str, int] = Field(min_length=1)
    cases_by_zielgruppe: list[Count] = Field(min_length=1)
    barriers_by_category: list[Count] = Field(default_factory=list)
    summary: Text
    signature: Signature

    @field_validator("cases_by_status")
    @classmethod
    def _known_statuses(cls, counts: dict[str, int]) -> dict[str, int]:
        unknown = sorted(set(counts) - STATUS_LABELS.keys())
        if unknown:
            raise rule_error(
                f"Unbekannter Status {', '.join(unknown)}; erlaubt: {', '.join(STATUS_LABELS)}."
            )
        negative = sorted(key for key, value in counts.items() if value < 0)
        if negative:
            raise rule_error(f"Fallzahlen können nicht negativ sein ({', '.join(negative)}).")
        return counts

    @field_validator("cases_by_zielgruppe", "barriers_by_category")
    @classmethod
    def _labels_once(cls, counts: list[Count]) -> list[Count]:
        labels = [c.label for c in counts]
        doubled = sorted({label for label in labels if labels.count(label) > 1})
        if doubled:
            raise rule_error(f"Mehrfach aufgeführt: {', '.join(doubled)}.")
        return counts


@dataclass(frozen=True)
class Cell:
    label: str
    shown: str
    """What the report prints: the count, or "< 5"."""
    value: int | None
    """The height a chart may draw, None where suppressed."""


@dataclass(frozen=True)
class ChartSpec:
    """A bar chart as the report shows it, free of any drawing library."""

    title: str
    axis_label: str
    cells: tuple[Cell, ...]


def suppress(counts: Sequence[tuple[str, int]]) -> tuple[list[Cell], Cell]:
    """The cells of a distribution and its total, with small numbers suppressed."""
    small = {index for index, (_, count) in enumerate(counts) if count < SMALL}
    withheld: set[int] = set()
    total = sum(count for _, count in counts)
    if len(small) == 1 and total >= SMALL:
        # Total minus the visible cells would give the one small cell: withhold the next smallest.
        rest = sorted((count, index) for index, (_, count) in enumerate(counts) if index not in small)
        if rest:
            withheld.add(rest[0][1])
    cells = [
        Cell(label, SUPPRESSED, None) if index in small
        else Cell(label, WITHHELD, None) if index in withheld
        else Cell(label, str(count), count)
        for index, (label, count) in enumerate(counts)
    ]
    total_cell = Cell("Summe", SUPPRESSED, None) if total < SMALL else Cell("Summe", str(total), total)
    return cells, total_cell


def parse_monitoring(data: Any) -> Monitoringbericht:
    return parse(Monitoringbericht, data)


def _status_counts(report: Monitoringbericht) -> list[tuple[str, int]]:
    return [(label, report.cases_by_status[key]) for key, label in STATUS_LABELS.items()
            if key in report.cases_by_status]


def monitoring_charts(report: Monitoringbericht) -> dict[str, ChartSpec]:
    """The charts of the built-in template, keyed as its picture placeholders are named."""
    by_status, _ = suppress(_status_counts(report))
    by_group, _ = suppress([(c.label, c.count) for c in report.cases_by_zielgruppe])
    return {
        "cases_by_status": ChartSpec("Fälle nach Status", "Fälle", tuple(by_status)),
        "cases_by_zielgruppe": ChartSpec("Fälle nach Zielgruppe", "Fälle", tuple(by_group)),
    }


def _table(counts: list[tuple[str, int]]) -> dict[str, Any]:
    cells, total = suppress(counts)
    return {"rows": [{"label": c.label, "count": c.shown} for c in cells], "total": total.shown}


def monitoring_context(report: Monitoringbericht) -> dict[str, Any]:
    """What a Monitoringbericht template may use; counts already suppressed and printed."""
    return {
        "issuer": report.issuer,
        "office": report.office,
        "title": report.title,
        "recipient": report.recipient or "",
        "period": {"start": formats.day(report.period.start), "end": formats.day(report.period.end)},
        "by_status": _table(_status_counts(report)),
        "by_zielgruppe": _table([(c.label, c.count) for c in report.cases_by_zielgruppe]),
        "barriers": _table([(c.label, c.count) for c in report.barriers_by_category]),
        "has_barriers": bool(report.barriers_by_category),
        "summary": paragraphs(report.summary),
        "suppression_note": (
            f"Zum Schutz der betroffenen Personen werden Zahlen unter {SMALL} als „{SUPPRESSED}“ "
            f"ausgewiesen. „{WITHHELD}“: Wert nicht ausgewiesen, weil er mit der Summe eine kleine "
            "Zahl verraten würde."
        ),
        "signature": {"name": report.signature.name, "function": report.signature.function},
    }
