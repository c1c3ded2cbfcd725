"""Port `CaseFigures`: the node's monitoring figures as the case service gives them to the caller
(kim.case.v1 GetFigures), as plain values, so the mapping into a Monitoringbericht or a
Drucksache (`live.py`) is tested without a server. The gRPC adapter is `figures_client.py`.

The figures arrive already suppressed: a cell below 5 is "< 5", a cell withheld so that a total
cannot reveal a small one is "x", and neither carries a count (`count` is None). The documents
service prints them as they are and never tries to reconstruct a suppressed figure.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


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


@dataclass(frozen=True)
class MeanDuration:
    days: float | None
    """None where fewer than 5 cases have the duration (suppressed)."""


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


class CaseFigures(Protocol):
    """One caller's view of the case service's figures (errors are `kim.errors`)."""

    def figures(self) -> CaseFiguresRecord: ...
