"""Domain events: what happened to a case, in the past tense.

They carry no directly identifying data (no name, birth date, contact, free-text notes): the
events leave the node through the broker, and receivers know a case by its pseudonym. Each
maps field by field onto the message of the same name in `protos/kim/case/v1/events.proto`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from services.case.domain.brief import CaseBrief
from services.case.domain.vocabulary import (
    BarrierCategory,
    BarrierStatus,
    CaseStatus,
    ClosureReason,
    ConsentPurpose,
    DataCategory,
    Handlungsfeld,
    Priority,
    Rechtskreis,
    ReferralTarget,
    ReminderKind,
)


@dataclass(frozen=True)
class Event:
    case_id: str
    pseudonym: str
    owner_org: str
    occurred_at: datetime


@dataclass(frozen=True)
class CaseProposed(Event):
    coordination_org: str
    handlungsfelder: tuple[Handlungsfeld, ...]
    rechtskreise: tuple[Rechtskreis, ...]
    zielgruppen_version: int
    zielgruppen: tuple[str, ...]
    eligible: bool


@dataclass(frozen=True)
class EligibilityRechecked(Event):
    """The case was checked again: the person's data changed (`trigger` "person_updated") or
    the Lenkungsgruppe decided a new Zielgruppen version ("zielgruppen_version")."""

    trigger: str
    zielgruppen_version: int
    previous_zielgruppen_version: int
    zielgruppen: tuple[str, ...]
    eligible: bool


@dataclass(frozen=True)
class CaseSubmittedForReview(Event):
    """The Fallvorschlag to the koordinierende Stelle: over the federation, how a Kommune or
    Träger node proposes a case to its Kreis node. `consent_id` is the consent covering the
    Fallkonferenz there ("" when the owner coordinates itself); the pseudonymised `brief` is
    added by the service layer (it needs the person's age), `owner_node` when the event is
    written (the repository knows the node)."""

    coordination_org: str
    conference_orgs: tuple[str, ...]
    owner_node: str = ""
    consent_id: str = ""
    brief: CaseBrief | None = None


@dataclass(frozen=True)
class CaseAdmitted(Event):
    case_manager: str
    case_manager_org: str
    decision_reference: str


@dataclass(frozen=True)
class CaseReferred(Event):
    target: ReferralTarget
    target_name: str
    decision_reference: str


@dataclass(frozen=True)
class CaseRejected(Event):
    decision_reference: str


@dataclass(frozen=True)
class CaseDeferred(Event):
    until: date | None
    decision_reference: str


@dataclass(frozen=True)
class AssessmentStarted(Event):
    pass


@dataclass(frozen=True)
class NeedRecorded(Event):
    handlungsfeld: Handlungsfeld
    priority: Priority


@dataclass(frozen=True)
class PlanningStarted(Event):
    pass


@dataclass(frozen=True)
class GoalAdded(Event):
    goal_id: str
    handlungsfeld: Handlungsfeld
    due_on: date | None


@dataclass(frozen=True)
class StepAdded(Event):
    goal_id: str
    step_id: str
    rechtskreis: Rechtskreis | None
    due_on: date | None


@dataclass(frozen=True)
class StepFinished(Event):
    goal_id: str
    step_id: str
    done: bool


@dataclass(frozen=True)
class ProgressRecorded(Event):
    goal_id: str
    entry_id: str


@dataclass(frozen=True)
class PlanActivated(Event):
    next_review_due: date


@dataclass(frozen=True)
class ReviewRecorded(Event):
    held_on: date
    next_review_due: date


@dataclass(frozen=True)
class BarrierRecorded(Event):
    barrier_id: str
    rechtskreise: tuple[Rechtskreis, ...]
    category: BarrierCategory
    handlungsfeld: Handlungsfeld | None


@dataclass(frozen=True)
class BarrierStatusChanged(Event):
    barrier_id: str
    category: BarrierCategory
    status: BarrierStatus


@dataclass(frozen=True)
class JournalNoteAdded(Event):
    note_id: str


@dataclass(frozen=True)
class CaseManagerAssigned(Event):
    case_manager: str
    previous_case_manager: str


@dataclass(frozen=True)
class CaseTransferred(Event):
    from_org: str
    to_org: str
    to_case_manager: str


@dataclass(frozen=True)
class ConsentRecorded(Event):
    consent_id: str
    recipient_org: str
    purposes: tuple[ConsentPurpose, ...]
    categories: tuple[DataCategory, ...]
    signed_on: date
    expires_on: date | None


@dataclass(frozen=True)
class ConsentRevoked(Event):
    """The erase request: the nodes of `recipient_org` holding data of the case under this
    consent erase it and confirm to `owner_node` (filled when the event is written)."""

    consent_id: str
    recipient_org: str
    revoked_on: date
    owner_node: str = ""


@dataclass(frozen=True)
class CaseErased(Event):
    """Retention (Löschfrist) erased the case on its owning node: every organisation that
    received data of it (`recipient_orgs`: the koordinierende Stelle, organisations on the
    case's access list, recipients of its consents) erases what it holds and confirms to
    `owner_node` (filled when the event is written), as for a revoked consent. `mode`:
    "delete" or "anonymise", as the owning node applied it."""

    recipient_orgs: tuple[str, ...]
    mode: str
    owner_node: str = ""


@dataclass(frozen=True)
class CaseClosed(Event):
    reason: ClosureReason
    zielgruppe: str
    goals_achieved: int
    goals_partially_achieved: int
    goals_not_achieved: int


@dataclass(frozen=True)
class CaseReopened(Event):
    from_status: CaseStatus
    to_status: CaseStatus


@dataclass(frozen=True)
class CaseReminderDue(Event):
    """A date in the case the case manager must act on before it passes (domain/reminders.py),
    once per occasion. For the owning node only (the portal's „Was ist fällig“ view): its kind
    and dates, the case manager's user id, no text about the person; no other node binds it."""

    kind: ReminderKind
    due_on: date
    remind_from: date
    case_manager: str
