"""Monitoringbericht: the node's case figures for politics (Kreistag, Integrationsrat,
Sozialausschuss) and the Lenkungsgruppe, as tables and charts.

Reports leave the circle of people who may see case data, so they carry aggregates only, and
small numbers are suppressed by the federation's one rule (`kimnetz.disclosure`, docs/case.md
"Kennzahlen und kleine Zahlen"): 0 is printed; a count of 1 to 4 is printed as "< 5" and drawn
without its height; a table with such a cell prints neither its total nor its largest cell
("x"), so nothing small follows by subtraction; a table below 5 prints nothing but "< 5". The
cases by status and by Zielgruppe count the same cases (one `cases_total`), so they withhold
together.

Figures read live from the case service arrive already suppressed (its GetFigures applies the
same rule): such a cell is given as "< 5" or "x" instead of a number and stays exactly that, since
the exact figure never left the case service. Tables with such cells need their total given
(`cases_total`, `barriers_total`; "x" where withheld), as nothing here can add up what is not
known. A table given with "< 5" cells and an exact total is protected here all the same: its
total and its largest cell are withheld.

A report of the federation's figures (domain/federation.py) names its nodes (`federation`) and
may hold "mind. n" (at least n: the nodes' shown counts, plus small or withheld values of single
nodes); there "x" means a cell (or total) of which no node showed a count.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, ValidationInfo, field_validator, model_validator

from kimnetz.disclosure import Mark, Protected, protect, protect_breakdowns
from kimnetz.vocabulary import CaseStatus, Movement
from services.documents.domain import formats
from services.documents.domain.drucksache import paragraphs
from services.documents.domain.parsing import IsoDate, Model, Text, located_error, parse, rule_error

SMALL = 5
SUPPRESSED = "< 5"
WITHHELD = "x"

# The case service's statuses (kimnetz.vocabulary.CaseStatus) in lifecycle order, as printed.
STATUS_ORDER = (
    CaseStatus.PROPOSED, CaseStatus.IN_REVIEW, CaseStatus.ADMITTED, CaseStatus.ASSESSMENT,
    CaseStatus.PLANNING, CaseStatus.ACTIVE, CaseStatus.REFERRED, CaseStatus.REJECTED,
    CaseStatus.DEFERRED, CaseStatus.CLOSED,
)
STATUS_LABELS = {status.value: status.label for status in STATUS_ORDER}


AT_LEAST = "mind."
_AT_LEAST = re.compile(r"mind\.\s*([0-9]+)")


def _figure(value: Any) -> int | str:
    """One German message for any wrong figure, instead of one English one per union member."""
    if isinstance(value, int | float) and not isinstance(value, bool) and float(value).is_integer():
        if value < 0:
            raise rule_error("Fallzahlen können nicht negativ sein.")
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        if text in (SUPPRESSED, WITHHELD):
            return text
        if text.isdigit():
            return int(text)
        at_least = _AT_LEAST.fullmatch(text)
        if at_least:
            return f"{AT_LEAST} {int(at_least.group(1))}"
    raise rule_error(f"Anzahl erwartet (ganze Zahl ab 0), bereits unterdrückt „{SUPPRESSED}“ oder "
                     f"„{WITHHELD}“, bei den Zahlen des Verbunds auch „{AT_LEAST} 12“.")


Figure = Annotated[int | str, BeforeValidator(_figure)]
"""A count, a cell the case service already suppressed ("< 5") or withheld ("x"), or a federation
figure known only from below ("mind. 12")."""


def _lower(figure: Figure) -> int:
    """What a figure says at least: the count, n of "mind. n", else 0."""
    if isinstance(figure, int):
        return figure
    if figure.startswith(AT_LEAST):
        return int(figure.removeprefix(AT_LEAST))
    return 0


def printed(figure: Figure) -> str:
    """A figure as German papers print it: 1.234, "mind. 1.234", "< 5", "x"."""
    if isinstance(figure, int):
        return count(figure)
    if figure.startswith(AT_LEAST):
        return f"{AT_LEAST} {count(_lower(figure))}"
    return figure


class Count(Model):
    label: Text
    count: Figure


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


class SourceNode(Model):
    name: Text
    """The organisation (and node) as printed."""
    stand: Text
    """When its figures were read, as printed: "12.05.2026, 09:15 Uhr"."""


class MissingNode(Model):
    name: Text
    reason: Text = "nicht erreichbar"


class Federation(Model):
    """Where the figures come from when they are the federation's."""

    nodes: list[SourceNode] = Field(min_length=1)
    unavailable: list[MissingNode] = Field(default_factory=list)
    zielgruppen: Text
    """The Zielgruppenkatalog version(s): "Version 3 (alle Knoten)"."""
    notes: list[Text] = Field(default_factory=list)
    """Footnotes of the combination (what "mind.", "< 5", "x" mean here)."""


class Breakdown(Model):
    """A table of the period: Verweisberatungen by target, Abschlüsse by reason, Aufnahmen by a
    characteristic of the person on the day of the Aufnahme."""

    title: Text
    rows: list[Count] = Field(min_length=1)
    total: Figure | None = None
    """Required where a row is "< 5", "x" or "mind."; otherwise it must equal the sum."""

    @field_validator("rows")
    @classmethod
    def _labels_once(cls, rows: list[Count]) -> list[Count]:
        labels = [c.label for c in rows]
        doubled = sorted({label for label in labels if labels.count(label) > 1})
        if doubled:
            raise rule_error(f"Mehrfach aufgeführt: {', '.join(doubled)}.")
        return rows


MOVEMENT_LABELS = {m.value: m.label for m in Movement}


class PeriodFigures(Model):
    """Monitoring per Berichtszeitraum (issue 14): what happened in the period and the stock at
    its end, as the case service counts them (kim.case.v1.PeriodFigures)."""

    movements: dict[str, Figure] = Field(min_length=1)
    """Keys of kimnetz.vocabulary.Movement: proposed, admitted, referred, rejected, deferred,
    closed, reopened."""
    movements_total: Figure | None = None
    referred_by_target: Breakdown | None = None
    closed_by_reason: Breakdown | None = None
    stock_by_status: dict[str, Figure] = Field(default_factory=dict)
    """Cases per status at the end of the period (the case service's statuses)."""
    stock_total: Figure | None = None
    admitted: list[Breakdown] = Field(default_factory=list)

    @field_validator("movements", "stock_by_status", mode="before")
    @classmethod
    def _known_keys(cls, counts: Any, info: ValidationInfo) -> Any:
        if not isinstance(counts, dict):
            return counts
        allowed = MOVEMENT_LABELS if info.field_name == "movements" else STATUS_LABELS
        unknown = sorted(str(key) for key in set(counts) - allowed.keys())
        if unknown:
            raise rule_error(f"Unbekannt: {', '.join(unknown)}; erlaubt: {', '.join(allowed)}.")
        return counts

    def figures(self) -> list[Figure | None]:
        tables = [self.referred_by_target, self.closed_by_reason, *self.admitted]
        return [*self.movements.values(), self.movements_total, *self.stock_by_status.values(),
                self.stock_total, *(c.count for t in tables if t is not None for c in t.rows),
                *(t.total for t in tables if t is not None)]

    def problems(self, *, federation: bool) -> list[tuple[tuple[int | str, ...], str]]:
        """Why the tables do not add up, each at its path under `period_figures` (checked by the
        report, which knows whether the figures are the federation's)."""
        problems: list[tuple[tuple[int | str, ...], str]] = []

        def check(path: tuple[int | str, ...], total: Figure | None, figures: list[Figure]) -> None:
            problem = _total_problem(total, figures, federation=federation)
            if problem:
                problems.append((("period_figures", *path), problem))

        check(("movements_total",), self.movements_total, list(self.movements.values()))
        if self.stock_by_status:
            check(("stock_total",), self.stock_total, list(self.stock_by_status.values()))
        linked: list[tuple[tuple[int | str, ...], str, Breakdown | None]] = [
            (("referred_by_target",), "referred", self.referred_by_target),
            (("closed_by_reason",), "closed", self.closed_by_reason),
            *((("admitted", i), "admitted", b) for i, b in enumerate(self.admitted))]
        for path, key, table in linked:
            if table is None:
                continue
            figures = [c.count for c in table.rows]
            check((*path, "total"), table.total, figures)
            # The breakdown counts the movement's cases: where both are numbers, they agree.
            exact = all(isinstance(f, int) for f in figures)
            whole = table.total if table.total is not None else (
                sum(f for f in figures if isinstance(f, int)) if exact else None)
            given = self.movements.get(key)
            if isinstance(whole, int) and isinstance(given, int) and whole != given:
                problems.append((("period_figures", *path, "total"),
                                 f"Die Aufschlüsselung ergibt {count(whole)}, bei den Bewegungen stehen "
                                 f"{count(given)} ({MOVEMENT_LABELS[key]})."))
        if not federation and any(_is_at_least(f) for f in self.figures()):
            problems.append((("period_figures",), f"„{AT_LEAST}“ gibt es nur bei den Zahlen des Verbunds "
                                                  "(Abschnitt federation)."))
        return problems


class Monitoringbericht(Model):
    issuer: Text
    office: Text
    title: Text = "Monitoringbericht Kommunales Integrationsmanagement"
    recipient: Text | None = None
    """The body the report is for, e.g. "Sozialausschuss"."""
    period: Period
    cases_by_status: dict[str, Figure] = Field(min_length=1)
    cases_by_zielgruppe: list[Count] = Field(min_length=1)
    barriers_by_category: list[Count] = Field(default_factory=list)
    cases_total: Figure | None = None
    """Required where a case table holds "< 5" or "x"; otherwise it must equal the sum."""
    barriers_total: Figure | None = None
    summary: Text
    signature: Signature
    federation: Federation | None = None
    period_figures: PeriodFigures | None = None
    """Movements in the Berichtszeitraum and the stock at its end (optional: older inputs and
    nodes that do not count them yet have none)."""

    @field_validator("cases_by_status", mode="before")
    @classmethod
    def _known_statuses(cls, counts: Any) -> Any:
        # Checked before the types, so a negative count is named by its status rather than
        # reported as a type mismatch, next to any unknown status.
        if not isinstance(counts, dict):
            return counts
        problems = []
        unknown = sorted(str(key) for key in set(counts) - STATUS_LABELS.keys())
        if unknown:
            problems.append(f"Unbekannter Status {', '.join(unknown)}; erlaubt: {', '.join(STATUS_LABELS)}.")
        negative = sorted(str(key) for key, value in counts.items()
                          if isinstance(value, int | float) and value < 0)
        if negative:
            problems.append(f"Fallzahlen können nicht negativ sein ({', '.join(negative)}).")
        if problems:
            raise rule_error(" ".join(problems))
        return counts

    @model_validator(mode="after")
    def _totals_fit(self) -> Monitoringbericht:
        tables = [("cases_by_status", "cases_total", self.cases_total, list(self.cases_by_status.values())),
                  ("cases_by_zielgruppe", "cases_total", self.cases_total,
                   [c.count for c in self.cases_by_zielgruppe]),
                  ("barriers_by_category", "barriers_total", self.barriers_total,
                   [c.count for c in self.barriers_by_category])]
        problems: list[tuple[tuple[int | str, ...], str]] = []
        for table, field, total, figures in tables:
            problem = _total_problem(total, figures, federation=self.federation is not None)
            if problem:
                # Reported at the total where one was given, else at the table that needs it.
                problems.append(((field if total is not None else table,), problem))
        if self.period_figures is not None:
            problems += self.period_figures.problems(federation=self.federation is not None)
        if problems:
            raise located_error(problems)
        return self

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


def _total_problem(total: Figure | None, figures: Sequence[Figure], *, federation: bool = False) -> str:
    """Why a given total cannot belong to these cells ("" if it can). In a federation's report a
    total may be "x" or "mind. n" (nodes' totals not shown), never below its cells' known part."""
    known = [f for f in figures if isinstance(f, int)]
    least = sum(_lower(f) for f in figures)
    if isinstance(total, str) and total.startswith(AT_LEAST) and not federation:
        return f"„{AT_LEAST}“ gibt es nur bei den Zahlen des Verbunds (Abschnitt federation)."
    if len(known) < len(figures):
        if total is None:
            return ("Summe angeben, wenn Werte bereits unterdrückt sind („< 5“, „x“, „mind.“): "
                    "sie lässt sich nicht berechnen.")
        if total is not None and total not in (SUPPRESSED, WITHHELD) and least > _lower(total):
            return f"Die Summe {printed(total)} ist kleiner als die ausgewiesenen Werte ({count(least)})."
        return ""
    if isinstance(total, int) and total != sum(known):
        return f"Die Summe {total} passt nicht zu den Werten (zusammen {sum(known)})."
    if total == SUPPRESSED and sum(known) >= SMALL:
        return f"Die Summe „{SUPPRESSED}“ passt nicht zu den Werten (zusammen {sum(known)})."
    return ""


def count(value: int) -> str:
    """A count as German papers print it: 1.234."""
    return formats.integer(value)


def _hides(figures: Sequence[Figure]) -> bool:
    """Whether a table holds a figure that is not a count to print (small, or hidden already)."""
    return any(not isinstance(n, int) or 0 < n < SMALL for n in figures)


def suppress(counts: Sequence[tuple[str, Figure]], total: Figure | None = None, *,
             withhold: bool = False) -> tuple[list[Cell], Cell]:
    """The cells of a distribution and its total, with small numbers suppressed (`withhold`: the
    table's family withholds its total). A cell given as "< 5", "x" or "mind. n" (suppressed
    already at its source) stays so; `total` must then be given."""
    figures = [n for _, n in counts]
    if all(isinstance(n, int) for n in figures) and (total is None or isinstance(total, int)):
        values = [n for n in figures if isinstance(n, int)]
        marks = protect(values, withhold=withhold)
        cells = [Cell(label, count(n), n) if mark is Mark.SHOWN
                 else Cell(label, SUPPRESSED if mark is Mark.SUPPRESSED else WITHHELD, None)
                 for (label, _), n, mark in zip(counts, values, marks.cells, strict=True)]
        summe = sum(values)
        return cells, (Cell("Summe", count(summe), summe) if marks.total is Mark.SHOWN
                       else Cell("Summe", SUPPRESSED if marks.total is Mark.SUPPRESSED else WITHHELD, None))
    # Suppressed at the source already: printed as given, and where a small cell stands next to
    # an exact total (or beside the family's withheld one), the total and the largest count go.
    shown = [n if not isinstance(n, int) or not 0 < n < SMALL else SUPPRESSED for n in figures]
    if (withhold or _hides(figures)) and isinstance(total, int):
        total = WITHHELD
        if not any(n == WITHHELD or _is_at_least(n) for n in shown):
            largest = [(n, -i) for i, n in enumerate(shown) if isinstance(n, int) and n > 0]
            if largest:
                shown[-max(largest)[1]] = WITHHELD
    cells = [Cell(label, printed(n), n if isinstance(n, int) else None)
             for (label, _), n in zip(counts, shown, strict=True)]
    assert total is not None  # validated: a table with suppressed cells gives its total
    return cells, (Cell("Summe", count(total), total) if isinstance(total, int)
                   else Cell("Summe", printed(total), None))


def _family_withholds(*tables: tuple[list[tuple[str, Figure]], Figure | None]) -> bool:
    """Whether tables of the same cases must withhold their shared total (one of them hides)."""
    for counts, total in tables:
        cells, total_cell = suppress(counts, total)
        if total_cell.shown == WITHHELD or any(c.value is None for c in cells if c.shown != "0"):
            return True
    return False


def _is_at_least(figure: Figure | None) -> bool:
    return isinstance(figure, str) and figure.startswith(AT_LEAST)


def parse_monitoring(data: Any) -> Monitoringbericht:
    return parse(Monitoringbericht, data)


def _status_counts(report: Monitoringbericht) -> list[tuple[str, Figure]]:
    return [(label, report.cases_by_status[key]) for key, label in STATUS_LABELS.items()
            if key in report.cases_by_status]


def _case_tables(report: Monitoringbericht) -> tuple[tuple[list[Cell], Cell], tuple[list[Cell], Cell]]:
    """Cases by status and by Zielgruppe: one family, protected together."""
    status = _status_counts(report)
    groups = [(c.label, c.count) for c in report.cases_by_zielgruppe]
    together = _family_withholds((status, report.cases_total), (groups, report.cases_total))
    return (suppress(status, report.cases_total, withhold=together),
            suppress(groups, report.cases_total, withhold=together))


def monitoring_charts(report: Monitoringbericht) -> dict[str, ChartSpec]:
    """The charts of the built-in template, keyed as its picture placeholders are named."""
    (by_status, _), (by_group, _) = _case_tables(report)
    return {
        "cases_by_status": ChartSpec("Fälle nach Status", "Fälle", tuple(by_status)),
        "cases_by_zielgruppe": ChartSpec("Fälle nach Zielgruppe", "Fälle", tuple(by_group)),
    }


def _table(counts: list[tuple[str, Figure]], total: Figure | None,
           suppressed: tuple[list[Cell], Cell] | None = None) -> dict[str, Any]:
    cells, total_cell = suppressed or suppress(counts, total)
    return {"rows": [{"label": c.label, "count": c.shown} for c in cells], "total": total_cell.shown}


def monitoring_context(report: Monitoringbericht) -> dict[str, Any]:
    """What a Monitoringbericht template may use; counts already suppressed and printed."""
    by_status, by_group = _case_tables(report)
    return {
        "issuer": report.issuer,
        "office": report.office,
        "title": report.title,
        "recipient": report.recipient or "",
        "period": {"start": formats.day(report.period.start), "end": formats.day(report.period.end)},
        "by_status": _table([], None, by_status),
        "by_zielgruppe": _table([], None, by_group),
        "barriers": _table([(c.label, c.count) for c in report.barriers_by_category], report.barriers_total),
        "has_barriers": bool(report.barriers_by_category),
        "summary": paragraphs(report.summary),
        "suppression_note": _suppression_note(report.federation),
        "federation": _federation(report.federation),
        "period_figures": period_context(report.period_figures),
        "signature": {"name": report.signature.name, "function": report.signature.function},
    }


def _marked(counts: Sequence[tuple[str, int]], marks: Protected) -> dict[str, Any]:
    rows = [{"label": label, "count": count(n) if m is Mark.SHOWN
             else SUPPRESSED if m is Mark.SUPPRESSED else WITHHELD}
            for (label, n), m in zip(counts, marks.cells, strict=True)]
    total = sum(n for _, n in counts)
    return {"rows": rows, "total": count(total) if marks.total is Mark.SHOWN
            else SUPPRESSED if marks.total is Mark.SUPPRESSED else WITHHELD}


def period_context(figures: PeriodFigures | None) -> dict[str, Any]:
    """The period's tables as printed. Counts written by hand (all numbers) are protected here
    with the case service's rule across the movements and their breakdowns
    (`kimnetz.disclosure.protect_breakdowns`); figures from the case service or the federation
    arrive protected and are printed as given. Always present: a template asks `.active`."""
    if figures is None:
        return {"active": False, "movements": {"rows": [], "total": ""}, "referred": None, "closed": None,
                "stock": {"rows": [], "total": ""}, "has_stock": False, "admitted": []}
    movements = [(MOVEMENT_LABELS[m.value], figures.movements[m.value]) for m in Movement
                 if m.value in figures.movements]
    keys = [m.value for m in Movement if m.value in figures.movements]
    stock = [(label, figures.stock_by_status[key]) for key, label in STATUS_LABELS.items()
             if key in figures.stock_by_status]
    linked = [("referred", figures.referred_by_target), ("closed", figures.closed_by_reason)]
    breakdowns: list[Breakdown] = [b for _, b in linked if b is not None] + list(figures.admitted)
    every = [f for _, f in movements] + [c.count for b in breakdowns for c in b.rows]
    exact = all(isinstance(f, int) for f in every) and all(
        t is None or isinstance(t, int) for t in (figures.movements_total, *(b.total for b in breakdowns)))
    if exact:
        ints = [(label, int(f)) for label, f in movements]
        children: dict[int, list[list[int]]] = {}
        for key, table in [*linked, *(("admitted", b) for b in figures.admitted)]:
            if table is not None and key in keys:
                children.setdefault(keys.index(key), []).append([int(c.count) for c in table.rows])
        marks, kids = protect_breakdowns([n for _, n in ints], children)
        protected: dict[int, list[Protected]] = {i: list(family) for i, family in kids.items()}

        def table_of(key: str, table: Breakdown) -> dict[str, Any]:
            rows = [(c.label, int(c.count)) for c in table.rows]
            if key in keys:
                return {"title": table.title, **_marked(rows, protected[keys.index(key)].pop(0))}
            return {"title": table.title, **_marked(rows, protect([n for _, n in rows]))}

        movement_table = _marked(ints, marks)
        tables = [(key, table_of(key, b) if b is not None else None) for key, b in linked]
        admitted = [table_of("admitted", b) for b in figures.admitted]
    else:
        movement_table = _table(movements, figures.movements_total)

        def given(table: Breakdown) -> dict[str, Any]:
            return {"title": table.title, **_table([(c.label, c.count) for c in table.rows], table.total)}

        tables = [(key, given(b) if b is not None else None) for key, b in linked]
        admitted = [given(b) for b in figures.admitted]
    return {
        "active": True,
        "movements": movement_table,
        "referred": tables[0][1],
        "closed": tables[1][1],
        "stock": _table(stock, figures.stock_total) if stock else {"rows": [], "total": ""},
        "has_stock": bool(stock),
        "admitted": admitted,
    }


def _suppression_note(federation: Federation | None) -> str:
    if federation is None:
        return (f"Zum Schutz der betroffenen Personen werden Zahlen von 1 bis {SMALL - 1} als "
                f"„{SUPPRESSED}“ ausgewiesen; eine Tabelle mit solchen Zahlen weist weder ihre Summe noch "
                f"ihren größten Wert aus („{WITHHELD}“), damit sich keine kleine Zahl errechnen lässt.")
    return (f"Zum Schutz der betroffenen Personen weist kein Knoten Zahlen unter {SMALL} genau aus; "
            "die Zahlen des Verbunds sind Summen der von den Knoten ausgewiesenen Werte.")


def _federation(federation: Federation | None) -> dict[str, Any]:
    """Always present, so a template can ask `federation.active`."""
    if federation is None:
        return {"active": False, "nodes": [], "unavailable": [], "zielgruppen": "", "notes": []}
    return {
        "active": True,
        "nodes": [{"name": n.name, "stand": n.stand} for n in federation.nodes],
        "unavailable": [{"name": m.name, "reason": m.reason} for m in federation.unavailable],
        "zielgruppen": federation.zielgruppen,
        "notes": list(federation.notes),
    }
