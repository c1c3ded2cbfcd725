"""The port through which the conference service reaches the case service: pseudonymised briefs
of the cases a Fallkonferenz may take up.

The service layer knows only `CaseBriefs`; the api process hands in an adapter per call:
`services/conference/case_client.py` (gRPC to the case api of this node) or, on a node of the
federation, `services/conference/federated_cases.py` (this node's cases as before plus fresh
briefs of the proposals other nodes sent, fetched from each owning node). Unit tests use a small
in-process fake. Framework-free on purpose: this module imports nothing but the domain.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol

from services.conference.domain.briefs import CaseBrief


@dataclass(frozen=True)
class UnreachableNode:
    """An owning node whose briefs could not be fetched; its proposals wait for the next build."""

    node_id: str
    organisation: str
    reason: str
    case_ids: tuple[str, ...] = ()
    pseudonyms: tuple[str, ...] = ()


@dataclass(frozen=True)
class AgendaCandidates:
    briefs: list[CaseBrief]
    #: Case id -> why its owning node no longer releases it (consent revoked or expired, or no
    #: longer proposed to this Stelle): taken off the agenda with that note.
    withdrawn: dict[str, str] = field(default_factory=dict)
    unreachable: tuple[UnreachableNode, ...] = ()


class CaseBriefs(Protocol):
    def agenda_candidates(self, coordination_org: str, reviews_due_by: date) -> AgendaCandidates:
        """Briefs of every submitted Fallvorschlag (`in_review`) shared with `coordination_org` and
        of every active case whose quarterly review is due on or before `reviews_due_by` (the day
        before the next planned Fallkonferenz: `fallkonferenz.review_horizon`)."""

    def brief(self, case_id: str, coordination_org: str, owner_node: str = "") -> CaseBrief:
        """The current brief of one case (refresh on request), from `owner_node` where given."""


#: Builds the port for one call from the caller's bearer token and username (the case service
#: decides and audits by the person who asks; a peer node audits the username the node names;
#: see docs/conference.md, "Briefs from the case service").
CaseBriefsFor = Callable[[str, str], CaseBriefs]
