"""The case service's monitoring figures as plain values (kim.case.v1 GetFigures, of this node or
of a peer node), so the mapping into documents and the combination of several nodes' figures
(`federation.py`) are tested without a server.

The figures arrive already suppressed: a cell below 5 is "< 5", a cell withheld so that a total
cannot reveal a small one is "x", and neither carries a count (`count` is None). The documents
service prints them as they are and never tries to reconstruct a suppressed figure.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class FigureCell:
    key: str
    label: str
    visibility: str  # shown | suppressed | withheld
    count: int | None
    """Only where shown."""

    @property
    def figure(self) -> int | str:
        """The count where shown, otherwise "< 5" or "x", the domain's `Figure`."""
        if self.visibility == "shown" and self.count is not None:
            return self.count
        return "x" if self.visibility == "withheld" else "< 5"


@dataclass(frozen=True)
class FigureTable:
    cells: tuple[FigureCell, ...]
    total: FigureCell

    def cell(self, key: str) -> FigureCell | None:
        return next((c for c in self.cells if c.key == key), None)


@dataclass(frozen=True)
class MeanDuration:
    days: float | None
    """None where fewer than 5 cases have the duration (suppressed)."""


@dataclass(frozen=True)
class FigureBreakdown:
    """The period's Aufnahmen by one characteristic (dimension "zielgruppe", "age_band", ...)."""

    dimension: str
    title: str
    table: FigureTable


@dataclass(frozen=True)
class PeriodRecord:
    """A Berichtszeitraum's figures (kim.case.v1.PeriodFigures): movements in the period with
    their breakdowns, the stock by status at its end; suppressed across tables at the source."""

    start: date
    end: date
    movements: FigureTable
    referred_by_target: FigureTable
    closed_by_reason: FigureTable
    stock_by_status: FigureTable
    admitted: tuple[FigureBreakdown, ...]
    note: str = ""


@dataclass(frozen=True)
class CaseFiguresRecord:
    by_status: FigureTable
    by_zielgruppe: FigureTable
    by_handlungsfeld: FigureTable
    by_goal_outcome: FigureTable
    by_barrier_category: FigureTable
    days_to_decision: MeanDuration
    days_open: MeanDuration
    zielgruppen_version: int
    suppression_note: str
    period: PeriodRecord | None = None
    """The requested period's figures; None from a node whose case service does not count them yet."""
