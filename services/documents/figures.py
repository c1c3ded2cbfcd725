"""Ports of the monitoring figures: `CaseFigures`, the node's own figures as the case service
gives them to the caller (kim.case.v1 CaseService.GetFigures, adapter `figures_client.py`), and
`PeerFigures`, the figures of the other nodes of the federation as their case services give them
to this node (kim.case.v1 CaseFederation.GetFigures over mutual TLS, adapter
`federation_client.py`). The values themselves are the domain's (domain/figures.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Protocol

from services.documents.domain.figures import CaseFiguresRecord, FigureCell, FigureTable, MeanDuration

__all__ = ["CaseFigures", "CaseFiguresRecord", "FigureCell", "FigureTable", "MeanDuration", "PeerFigures",
           "PeerNode", "ReportPeriod"]

DISTRICT = "district"
"""The node role of a Kreis: the only one the other nodes give their figures to."""


@dataclass(frozen=True)
class ReportPeriod:
    """The Berichtszeitraum the figures are asked for, both days included."""

    start: date
    end: date


class CaseFigures(Protocol):
    """One caller's view of the case service's figures (errors are `kimnetz.errors`)."""

    def figures(self, period: ReportPeriod | None = None) -> CaseFiguresRecord:
        """The figures; with `period`, also the movements in it and the stock at its end."""
        ...


@dataclass(frozen=True)
class PeerNode:
    """An active entry of the node directory."""

    node_id: str
    organization: str
    role: str
    organization_name: str = ""


class PeerFigures(Protocol):
    """The federation as this node sees it (errors are `kimnetz.errors`)."""

    @property
    def node_id(self) -> str: ...

    @property
    def organization(self) -> str: ...

    @property
    def keeps_directory(self) -> bool:
        """Whether this node keeps the node directory itself (the Kreis' node does)."""
        ...

    def nodes(self) -> list[PeerNode]:
        """The directory's active nodes, this node included."""
        ...

    def figures(self, node_id: str, acting_user: str,
                period: ReportPeriod | None = None) -> CaseFiguresRecord:
        """One peer node's figures, asked on behalf of `acting_user` (for both audit trails)."""
        ...
