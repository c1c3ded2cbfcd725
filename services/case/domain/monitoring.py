"""Local monitoring figures as they may leave the case service: aggregates with small numbers
suppressed (DOMAIN.md, "Data protection": reports are aggregates with small numbers suppressed).

The rule is the federation's one (`kimnetz.disclosure`, docs/case.md "Kennzahlen und kleine
Zahlen"): 0 is shown; a count of 1 to 4 is *suppressed* ("< 5"); a table with such a cell
*withholds* ("x") its total and its largest cell, so that neither a subtraction nor another
table gives a small number away; a table whose total is below 5 shows nothing. The cases by
status, by Zielgruppe and by Handlungsfeld count the same cases, so they withhold together.

Durations are means over the cases that have them (whole days from proposal to the first
decision, and to the last closure), suppressed below `SMALL` cases and rounded to
`DURATION_STEP` days: with the exact mean, two calls before and after one case closes would
give that case's duration ((n+1)·m' − n·m); rounded, they leave it open by at least
2n+1 steps.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from kimnetz.disclosure import SMALL, Mark, Protected, protect, protect_family
from services.case.domain.vocabulary import BarrierCategory, CaseStatus, GoalOutcome, Handlungsfeld

NO_ZIELGRUPPE = ""
#: Mean durations are given in steps of this many days (whole weeks).
DURATION_STEP = 7


class Visibility(StrEnum):
    SHOWN = "shown"
    SUPPRESSED = "suppressed"  # below SMALL
    WITHHELD = "withheld"  # hidden so that no small number follows from the rest


@dataclass(frozen=True)
class Cell:
    key: str
    label: str
    visibility: Visibility
    count: int | None  # None unless shown: the exact figure never leaves

    @property
    def shown(self) -> str:
        if self.visibility is Visibility.SUPPRESSED:
            return f"< {SMALL}"
        if self.visibility is Visibility.WITHHELD:
            return "x"
        return str(self.count)


@dataclass(frozen=True)
class Table:
    cells: tuple[Cell, ...]
    total: Cell


@dataclass(frozen=True)
class MeanDuration:
    visibility: Visibility
    mean_days: float | None  # None unless shown


@dataclass(frozen=True)
class Figures:
    by_status: Table
    by_zielgruppe: Table
    by_handlungsfeld: Table
    by_goal_outcome: Table
    by_barrier_category: Table
    days_to_decision: MeanDuration
    days_open: MeanDuration

    @property
    def note(self) -> str:
        return (f"Zum Schutz der betroffenen Personen werden Zahlen von 1 bis {SMALL - 1} als "
                f"„< {SMALL}“ ausgewiesen; eine Tabelle mit solchen Zahlen weist weder ihre Summe noch "
                "ihren größten Wert aus („x“), damit sich keine kleine Zahl errechnen lässt. "
                f"Durchschnittliche Dauern erst ab {SMALL} Fällen, auf volle Wochen gerundet.")


_VISIBILITY = {Mark.SHOWN: Visibility.SHOWN, Mark.SUPPRESSED: Visibility.SUPPRESSED,
               Mark.WITHHELD: Visibility.WITHHELD}


def suppress(counts: Sequence[tuple[str, str, int]], protected: Protected | None = None) -> Table:
    """The cells of a distribution (key, label, count) and its total, small numbers suppressed
    (`protected`: the marks decided with the table's family, else by the table alone)."""
    values = [n for _, _, n in counts]
    marks = protected or protect(values)
    cells = tuple(Cell(key, label, _VISIBILITY[mark], n if mark is Mark.SHOWN else None)
                  for (key, label, n), mark in zip(counts, marks.cells, strict=True))
    total = sum(values)
    return Table(cells, Cell("total", "Summe", _VISIBILITY[marks.total],
                             total if marks.total is Mark.SHOWN else None))


def _family(*tables: Sequence[tuple[str, str, int]]) -> list[Table]:
    """Tables that count the same cases, protected together."""
    marks = protect_family([[n for _, _, n in table] for table in tables])
    return [suppress(table, m) for table, m in zip(tables, marks, strict=True)]


def mean_duration(days: int, cases: int) -> MeanDuration:
    if cases < SMALL:
        return MeanDuration(Visibility.SUPPRESSED, None)
    return MeanDuration(Visibility.SHOWN, float(round(days / cases / DURATION_STEP) * DURATION_STEP))


def monitoring_figures(raw: Mapping[str, Mapping[str, int]], zielgruppen: Mapping[str, str]) -> Figures:
    """Suppressed figures from the store's raw counts (`CaseRepository.figures`: "status" and
    "zielgruppe" counts, "totals" of `retention.figures`). Every status, category and outcome
    and every Zielgruppe of the current catalogue is listed, also where none is counted: a
    missing row would tell as much as a zero. `zielgruppen`: key -> name of the current
    catalogue's definitions; cases matching none count under "" ("keine Zielgruppe"), those
    counted under a key of an earlier version under that key."""
    status, groups, totals = raw.get("status", {}), raw.get("zielgruppe", {}), raw.get("totals", {})
    names = {**{k: k for k in groups if k}, **zielgruppen, NO_ZIELGRUPPE: "keine Zielgruppe"}
    keys = [*zielgruppen, *sorted(k for k in groups if k and k not in zielgruppen), NO_ZIELGRUPPE]
    by_status, by_zielgruppe, by_handlungsfeld = _family(
        [(s.value, s.label, status.get(s.value, 0)) for s in CaseStatus],
        [(k, names[k], groups.get(k, 0)) for k in keys],
        [(h.value, h.label, totals.get(f"handlungsfeld_{h.value}", 0)) for h in Handlungsfeld])
    return Figures(
        by_status=by_status,
        by_zielgruppe=by_zielgruppe,
        by_handlungsfeld=by_handlungsfeld,
        by_goal_outcome=suppress([(o.value, o.label, totals.get(f"goal_{o.value}", 0))
                                  for o in GoalOutcome]),
        by_barrier_category=suppress([(k.value, k.label, totals.get(f"barrier_{k.value}", 0))
                                      for k in BarrierCategory]),
        days_to_decision=mean_duration(totals.get("days_to_decision", 0), totals.get("decided", 0)),
        days_open=mean_duration(totals.get("days_open", 0), totals.get("closed", 0)),
    )
