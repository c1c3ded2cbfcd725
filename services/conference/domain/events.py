"""Domain events of the conference service, in the past tense.

Each maps field by field onto the message of the same name in
`protos/kim/conference/v1/events.proto`. Events about cases carry the case id, its pseudonym
and its owning node, never a person's identity: they leave the node through the broker.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from services.conference.domain.vocabulary import (
    AgendaItemKind,
    BeschlussStatus,
    DecisionMode,
    DecisionReason,
    ReferralTarget,
    ReviewOutcome,
    VorlageKind,
)
from services.conference.domain.zielgruppen import ZielgruppenCatalogue


@dataclass(frozen=True)
class Event:
    occurred_at: datetime


@dataclass(frozen=True)
class CaseDecisionEvent(Event):
    """A Fallkonferenz decided about a case; the owning node's case service applies it."""

    conference_id: str
    case_id: str
    pseudonym: str
    owner_node: str
    owner_org: str
    decision_reference: str
    decided_by: str


@dataclass(frozen=True)
class ConferenceScheduled(Event):
    conference_id: str
    coordination_org: str
    starts_at: datetime
    participant_orgs: tuple[str, ...]


@dataclass(frozen=True)
class AgendaEntry:
    case_id: str
    owner_node: str
    kind: AgendaItemKind


@dataclass(frozen=True)
class ConferenceAgendaBuilt(Event):
    """The listed cases are on the agenda: submitted proposals (already `in_review` on their
    nodes) and active cases due for their quarterly review."""

    conference_id: str
    coordination_org: str
    starts_at: datetime
    entries: tuple[AgendaEntry, ...]


@dataclass(frozen=True)
class CaseAdmissionDecided(CaseDecisionEvent):
    case_manager_org: str
    case_manager: str


@dataclass(frozen=True)
class CaseReferralDecided(CaseDecisionEvent):
    target: ReferralTarget
    target_name: str


@dataclass(frozen=True)
class CaseDeferralDecided(CaseDecisionEvent):
    until: date | None
    #: An enumerated reason only: no free text about the person leaves the node.
    reason: DecisionReason | None


@dataclass(frozen=True)
class CaseRejectionDecided(CaseDecisionEvent):
    reason: DecisionReason | None


@dataclass(frozen=True)
class CaseReviewDecided(CaseDecisionEvent):
    outcome: ReviewOutcome
    offices_to_invite: tuple[str, ...]
    #: The conference day: the owning node counts the next quarterly review from it.
    held_on: date | None = None


@dataclass(frozen=True)
class ConferenceClosed(Event):
    """The record is frozen; the documents service renders the Protokoll from it."""

    conference_id: str
    coordination_org: str
    starts_at: datetime
    decided_case_ids: tuple[str, ...]
    undecided_case_ids: tuple[str, ...]
    closed_by: str


@dataclass(frozen=True)
class SessionClosed(Event):
    session_id: str
    gremium_id: str
    adopted_vorlage_ids: tuple[str, ...]
    rejected_vorlage_ids: tuple[str, ...]
    postponed_vorlage_ids: tuple[str, ...]


@dataclass(frozen=True)
class BeschlussAdopted(Event):
    beschluss_id: str
    gremium_id: str
    session_id: str
    vorlage_id: str
    kind: VorlageKind
    title: str
    wording: str
    responsible_org: str
    responsible_person: str
    due_on: date
    mode: DecisionMode
    votes_yes: int
    votes_no: int
    votes_abstain: int


@dataclass(frozen=True)
class VorlageRejected(Event):
    session_id: str
    vorlage_id: str
    votes_yes: int
    votes_no: int
    votes_abstain: int


@dataclass(frozen=True)
class ZielgruppenDefined(Event):
    """A new version of the Zielgruppen; the case service checks Fallvorschläge against it."""

    beschluss_id: str
    gremium_id: str
    coordination_org: str
    catalogue: ZielgruppenCatalogue


@dataclass(frozen=True)
class BeschlussStatusChanged(Event):
    beschluss_id: str
    from_status: BeschlussStatus
    to_status: BeschlussStatus
    due_on: date
    changed_by: str
    note: str


@dataclass(frozen=True)
class BeschlussOverdue(Event):
    """Reminder for the responsible person; sent once per due date."""

    beschluss_id: str
    title: str
    responsible_org: str
    responsible_person: str
    due_on: date
    status: BeschlussStatus
    days_overdue: int


@dataclass(frozen=True)
class BeschlussvorlageSubmitted(Event):
    projektgruppe_id: str
    vorlage_id: str
    title: str


@dataclass(frozen=True)
class CaseDataErased(Event):
    """The answer to an erase request (the owner's `ConsentRevoked` addressed to this Stelle):
    what this node held of the case under the revoked consent is erased."""

    case_id: str
    pseudonym: str
    owner_node: str
    owner_org: str
    consent_id: str
    erased_by_node: str
    erased_by_org: str
    summary: str
