"""Local monitoring figures as they may leave the case service: aggregates with small numbers
suppressed (DOMAIN.md, "Data protection": reports are aggregates with small numbers suppressed).

The rule is the one the Monitoringbericht prints (services/documents/domain/monitoring.py),
defined again here because the domain rooms never import each other:

- a count below `SMALL` is *suppressed*: the answer says so, never the exact figure (0 too:
  "none" is as telling as "one" about a small group);
- where a table gives its total and exactly one cell is suppressed, that cell would follow by
  subtraction, so the next smallest shown cell is *withheld* as well ("x" in the report: "< 5"
  would be untrue for it);
- a total below `SMALL` is suppressed itself.

Durations are means over the cases that have them (days from proposal to the first decision,
days from proposal to the last closure); a mean over fewer than `SMALL` cases describes those
few persons, so it is suppressed like a small count.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from services.case.domain.vocabulary import BarrierCategory, CaseStatus, GoalOutcome, Handlungsfeld

SMALL = 5
NO_ZIELGRUPPE = ""


class Visibility(StrEnum):
    SHOWN = "shown"
    SUPPRESSED = "suppressed"  # below SMALL
    WITHHELD = "withheld"  # would reveal a suppressed cell together with the total


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
        return (f"Zum Schutz der betroffenen Personen werden Zahlen unter {SMALL} als „< {SMALL}“ "
                "ausgewiesen. „x“: Wert nicht ausgewiesen, weil er mit der Summe eine kleine Zahl "
                f"verraten würde. Durchschnittliche Dauern erst ab {SMALL} Fällen.")


def suppress(counts: Sequence[tuple[str, str, int]]) -> Table:
    """The cells of a distribution (key, label, count) and its total, small numbers suppressed."""
    small = {i for i, (_, _, n) in enumerate(counts) if n < SMALL}
    total = sum(n for _, _, n in counts)
    withheld: set[int] = set()
    if len(small) == 1 and total >= SMALL:
        # Total minus the shown cells would give the one small cell: withhold the next smallest.
        rest = sorted((n, i) for i, (_, _, n) in enumerate(counts) if i not in small)
        if rest:
            withheld.add(rest[0][1])
    cells = tuple(
        Cell(key, label, Visibility.SUPPRESSED, None) if i in small
        else Cell(key, label, Visibility.WITHHELD, None) if i in withheld
        else Cell(key, label, Visibility.SHOWN, n)
        for i, (key, label, n) in enumerate(counts))
    total_cell = (Cell("total", "Summe", Visibility.SUPPRESSED, None) if total < SMALL
                  else Cell("total", "Summe", Visibility.SHOWN, total))
    return Table(cells, total_cell)


def mean_duration(days: int, cases: int) -> MeanDuration:
    if cases < SMALL:
        return MeanDuration(Visibility.SUPPRESSED, None)
    return MeanDuration(Visibility.SHOWN, round(days / cases, 1))


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
    return Figures(
        by_status=suppress([(s.value, s.label, status.get(s.value, 0)) for s in CaseStatus]),
        by_zielgruppe=suppress([(k, names[k], groups.get(k, 0)) for k in keys]),
        by_handlungsfeld=suppress([(h.value, h.label, totals.get(f"handlungsfeld_{h.value}", 0))
                                   for h in Handlungsfeld]),
        by_goal_outcome=suppress([(o.value, o.label, totals.get(f"goal_{o.value}", 0))
                                  for o in GoalOutcome]),
        by_barrier_category=suppress([(k.value, k.label, totals.get(f"barrier_{k.value}", 0))
                                      for k in BarrierCategory]),
        days_to_decision=mean_duration(totals.get("days_to_decision", 0), totals.get("decided", 0)),
        days_open=mean_duration(totals.get("days_open", 0), totals.get("closed", 0)),
    )
