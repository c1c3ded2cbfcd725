"""A period's monitoring figures as they may leave the case service: the exact counts of
`movements.period_counts`, with small numbers suppressed by the federation's one rule
(`kimnetz.disclosure`, docs/case.md "Kennzahlen und kleine Zahlen").

Which tables are protected together, and why:

- the movements of the period, with their breakdowns (Verweisberatungen by target, Abschlüsse
  by reason, Aufnahmen by Zielgruppe, age band, residence status, origin region):
  `protect_breakdowns`, since a breakdown's total is the movement table's cell (a hidden
  breakdown total hides that cell, a hidden cell withholds its breakdowns' totals); the
  Aufnahmen's breakdowns count the same persons and are a family;
- the stock by status at the end of the period: by itself (`protect`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from kimnetz.disclosure import SMALL, protect, protect_breakdowns
from services.case.domain.monitoring import Table, suppress
from services.case.domain.movements import (
    ADMISSION,
    CLOSING,
    DIMENSIONS,
    MOVEMENTS,
    REFERRAL,
    Period,
    PeriodCounts,
    labels,
)
from services.case.domain.vocabulary import CaseStatus, ClosureReason, ReferralTarget


@dataclass(frozen=True)
class Breakdown:
    dimension: str
    title: str
    table: Table


@dataclass(frozen=True)
class PeriodFigures:
    period: Period
    movements: Table
    referred_by_target: Table
    closed_by_reason: Table
    stock_by_status: Table
    admitted: tuple[Breakdown, ...]

    @property
    def note(self) -> str:
        return (f"Bewegungen im Berichtszeitraum und Bestand an seinem Ende. Zahlen von 1 bis {SMALL - 1} "
                f"werden als „< {SMALL}“ ausgewiesen; wo eine Aufschlüsselung oder eine Summe eine solche "
                "Zahl verraten würde, steht „x“. Die Aufnahmen werden nach den Merkmalen der Person am "
                "Tag der Aufnahme aufgeschlüsselt.")


def period_figures(counts: PeriodCounts, zielgruppen: Mapping[str, str]) -> PeriodFigures:
    """The suppressed figures of a period. `zielgruppen`: key -> name of the current catalogue;
    keys of earlier versions counted in the period are listed under their key."""
    movement_rows = [(key, label, counts.movements.get(key, 0)) for key, label in MOVEMENTS]
    referred_rows = [(t.value, t.label, counts.referred.get(t.value, 0)) for t in ReferralTarget]
    closed_rows = [(r.value, r.label, counts.closed.get(r.value, 0)) for r in ClosureReason]
    breakdown_rows = []
    for dimension, _ in DIMENSIONS:
        seen = counts.admitted.get(dimension, {})
        keys = labels(dimension, dict(zielgruppen))
        known = {key for key, _ in keys}
        keys += [(key, counts.names.get(key, key)) for key in sorted(seen) if key not in known]
        breakdown_rows.append([(key, label, seen.get(key, 0)) for key, label in keys])
    index = {key: i for i, (key, _) in enumerate(MOVEMENTS)}
    marks, kids = protect_breakdowns(
        [n for _, _, n in movement_rows],
        {index[REFERRAL]: [[n for _, _, n in referred_rows]],
         index[CLOSING]: [[n for _, _, n in closed_rows]],
         index[ADMISSION]: [[n for _, _, n in rows] for rows in breakdown_rows]})
    stock_rows = [(s.value, s.label, counts.stock.get(s.value, 0)) for s in CaseStatus]
    return PeriodFigures(
        period=counts.period,
        movements=suppress(movement_rows, marks),
        referred_by_target=suppress(referred_rows, kids[index[REFERRAL]][0]),
        closed_by_reason=suppress(closed_rows, kids[index[CLOSING]][0]),
        stock_by_status=suppress(stock_rows, protect([n for _, _, n in stock_rows])),
        admitted=tuple(Breakdown(dimension, title, suppress(rows, mark))
                       for (dimension, title), rows, mark in zip(DIMENSIONS, breakdown_rows,
                                                                 kids[index[ADMISSION]], strict=True)),
    )
