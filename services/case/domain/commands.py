"""Commands: what a user asks the case service to do, in the imperative.

Commands carry raw values (strings for enums, dates as `date`); the aggregate validates them
and reports every problem at once as German field violations. Field names are the paths a
violation names ("person.birth_date", "outcomes[0].outcome").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from services.case.domain.person import PersonData


@dataclass(frozen=True)
class ProposeCase:
    """A Fallvorschlag: who proposes, why, which Handlungsfelder and Rechtskreise."""

    owner_org: str
    coordination_org: str
    proposer_kind: str
    proposer_unit: str
    reason: str
    handlungsfelder: tuple[str, ...]
    rechtskreise: tuple[str, ...]
    person: PersonData
    #: Zugangsweg (`AccessRoute` value); "" when not recorded.
    access_route: str = ""


@dataclass(frozen=True)
class UpdatePerson:
    """The person's data as they are now (the whole record: GetPerson, change, send back), e.g.
    a new Aufenthaltsstatus with its legal basis and validity."""

    case_id: str
    person: PersonData


@dataclass(frozen=True)
class SubmitForReview:
    """Put the case on the agenda of the next Fallkonferenz; `conference_orgs` are further
    organisations whose members see the brief there (e.g. the Ausländerbehörde)."""

    case_id: str
    conference_orgs: tuple[str, ...] = ()
    note: str = ""


@dataclass(frozen=True)
class AdmitCase:
    case_id: str
    case_manager: str
    case_manager_org: str
    decision_reference: str = ""
    note: str = ""


@dataclass(frozen=True)
class ReferCase:
    case_id: str
    target: str
    target_name: str = ""
    decision_reference: str = ""
    note: str = ""


@dataclass(frozen=True)
class RejectCase:
    case_id: str
    reason: str
    decision_reference: str = ""


@dataclass(frozen=True)
class DeferCase:
    case_id: str
    reason: str
    until: date | None = None
    decision_reference: str = ""


@dataclass(frozen=True)
class StartAssessment:
    case_id: str


@dataclass(frozen=True)
class RecordNeed:
    """Bedarfsermittlung for one Handlungsfeld; recording it again replaces the earlier one."""

    case_id: str
    handlungsfeld: str
    need: str
    resources: str = ""
    priority: str = "medium"


@dataclass(frozen=True)
class StartPlanning:
    case_id: str


@dataclass(frozen=True)
class AddGoal:
    case_id: str
    title: str
    handlungsfeld: str
    due_on: date | None = None


@dataclass(frozen=True)
class AddStep:
    case_id: str
    goal_id: str
    description: str
    responsible: str
    rechtskreis: str = ""
    due_on: date | None = None


@dataclass(frozen=True)
class FinishStep:
    case_id: str
    goal_id: str
    step_id: str
    status: str = "done"
    note: str = ""


@dataclass(frozen=True)
class RecordProgress:
    case_id: str
    goal_id: str
    note: str


@dataclass(frozen=True)
class ActivatePlan:
    case_id: str


@dataclass(frozen=True)
class RecordReview:
    """The quarterly Fallbesprechung of an active case."""

    case_id: str
    held_on: date | None
    note: str = ""


@dataclass(frozen=True)
class RecordBarrier:
    case_id: str
    rechtskreise: tuple[str, ...]
    category: str
    description: str
    handlungsfeld: str = ""


@dataclass(frozen=True)
class ChangeBarrierStatus:
    case_id: str
    barrier_id: str
    status: str
    note: str = ""


@dataclass(frozen=True)
class AddJournalNote:
    case_id: str
    text: str


@dataclass(frozen=True)
class AssignCaseManager:
    """Within the owning organisation (substitution, workload)."""

    case_id: str
    case_manager: str
    reason: str = ""


@dataclass(frozen=True)
class TransferCase:
    """To a case manager of another organisation (needs a consent for the Fallübergabe)."""

    case_id: str
    to_org: str
    to_case_manager: str
    reason: str


@dataclass(frozen=True)
class RecordConsent:
    case_id: str
    kind: str
    recipient_org: str
    purposes: tuple[str, ...]
    categories: tuple[str, ...]
    signed_on: date | None
    expires_on: date | None = None


@dataclass(frozen=True)
class RevokeConsent:
    case_id: str
    consent_id: str
    revoked_on: date | None
    reason: str = ""


@dataclass(frozen=True)
class ConfirmErasure:
    """A receiving node answers the erase request of a revoked consent (not a user's command:
    the worker takes it from `kim.conference.v1.CaseDataErased`)."""

    case_id: str
    consent_id: str
    erased_by_node: str
    erased_by_org: str
    erased_at: datetime | None
    summary: str = ""


@dataclass(frozen=True)
class GoalOutcomeInput:
    goal_id: str
    outcome: str
    note: str = ""


@dataclass(frozen=True)
class CloseCase:
    case_id: str
    reason: str
    note: str = ""
    outcomes: tuple[GoalOutcomeInput, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class ReopenCase:
    case_id: str
    reason: str


# -- what the worker hands the service layer from other services' events ----------------------

#: The commands a Fallkonferenz decision carries (kim.conference.v1 decision events).
DecisionCommand = AdmitCase | ReferCase | DeferCase | RejectCase


@dataclass(frozen=True)
class Decision:
    """A conference decision for one case of this node, as the case service applies it
    (services/case/inbound.py reads it from the conference's event)."""

    owner_node: str
    decided_by: str
    command: DecisionCommand


@dataclass(frozen=True)
class ErasureReport:
    """A receiving node erased what it held of a case of `owner_node` under a revoked consent."""

    owner_node: str
    command: ConfirmErasure
