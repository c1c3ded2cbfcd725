"""The Fallvorschlag as the case records it, and the decisions the Fallkonferenz took about it
(admitted, referred, rejected, deferred). Recorded by `Case.propose` and `Case._decide`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from services.case.domain.vocabulary import (
    AccessRoute,
    CaseStatus,
    Handlungsfeld,
    ProposerKind,
    Rechtskreis,
    ReferralTarget,
)


@dataclass(frozen=True)
class Proposal:
    proposed_by: str
    proposer_org: str
    proposer_kind: ProposerKind
    proposer_unit: str
    reason: str
    handlungsfelder: tuple[Handlungsfeld, ...]
    rechtskreise: tuple[Rechtskreis, ...]
    proposed_at: datetime
    #: Zugangsweg; None for proposals recorded before the field existed or without it.
    access_route: AccessRoute | None = None


@dataclass(frozen=True)
class Decision:
    """A Fallkonferenz decision, as recorded on the case."""

    outcome: CaseStatus
    decided_at: datetime
    decided_by: str
    decision_reference: str = ""
    note: str = ""
    referral_target: ReferralTarget | None = None
    referral_name: str = ""
    deferred_until: date | None = None
