"""The port through which the conference service reaches the case service: pseudonymised briefs
of the cases a Fallkonferenz may take up.

The service layer knows only `CaseBriefs`; the api process hands in an adapter per call
(`services/conference/case_client.py`: gRPC to the case api of this node, later of the owning
nodes across the federation), unit tests a small in-process fake. Framework-free on purpose:
this module imports nothing but the domain.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Protocol

from services.conference.domain.briefs import CaseBrief


class CaseBriefs(Protocol):
    def agenda_candidates(self, coordination_org: str, conference_day: date) -> list[CaseBrief]:
        """Briefs of every submitted Fallvorschlag (`in_review`) shared with `coordination_org` and
        of every active case whose quarterly review is due by `conference_day`."""

    def brief(self, case_id: str, coordination_org: str) -> CaseBrief:
        """The current brief of one case (refresh on request)."""


#: Builds the port for one call from the caller's bearer token (the case service decides and
#: audits by the person who asks; see docs/conference.md, "Briefs from the case service").
CaseBriefsFor = Callable[[str], CaseBriefs]
