"""Port `ConferenceRecords`: what the documents service reads of the conference service to
write Protokolle, as plain values (no protobuf, no gRPC), so the mapping to the domain's inputs
(`inputs/`) is tested without a server. The gRPC adapter is `conference_client.py`.

Vocabularies arrive as the lower-case member names of kim.conference.v1's enums without their
prefix ("proposal", "admission", "mbe", "sgb_ii"); the German labels come from the shared
vocabulary (kimnetz.vocabulary), since a service never imports another service's code.

A brief carries only what is pseudonymised: the adapter never copies a `DisclosedIdentity`
into these records, so no name or birth date can reach a Protokoll that goes to every
participating organisation. Nor does a brief whose consent does not cover every participating
organisation (`covered_orgs`, inputs/fallkonferenz_protokoll.py), and the conference withholds
an item altogether from a caller of an organisation the consent does not cover (`withheld`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol


@dataclass(frozen=True)
class ConferenceParticipant:
    person: str
    name: str
    role: str  # coordinator | case_manager | immigration_liaison | guest | unspecified
    organization: str


@dataclass(frozen=True)
class CaseDecision:
    kind: str  # admission | referral | deferral | rejection | review
    decided_by: str
    assigned_org: str = ""
    case_manager: str = ""
    referral_target: str = ""
    service: str = ""
    reason: str = ""
    until: date | None = None
    review_outcome: str = ""
    offices_to_invite: tuple[str, ...] = ()
    note: str = ""


@dataclass(frozen=True)
class ConferenceItem:
    position: int
    kind: str  # proposal | review
    pseudonym: str
    owner_org: str
    age_band: str
    zielgruppe: str
    handlungsfelder: tuple[str, ...]
    rechtskreise: tuple[str, ...]
    decision: CaseDecision | None
    #: The organisations besides the owner whose consent covers the brief (conference service).
    covered_orgs: tuple[str, ...] = ()
    #: Set when the conference withheld the item from the caller's organisation (no consent).
    withheld: str = ""


@dataclass(frozen=True)
class ConferenceRecord:
    conference_id: str
    coordination_org: str
    status: str  # planned | prepared | running | closed
    starts_at: datetime
    place: str
    video_link: str
    participants: tuple[ConferenceParticipant, ...]
    items: tuple[ConferenceItem, ...]
    started_at: datetime | None
    closed_at: datetime | None
    closed_by: str


@dataclass(frozen=True)
class GremiumMember:
    member_id: str
    person: str
    name: str
    organization: str
    function: str
    voting: bool
    deputy_person: str = ""
    deputy_name: str = ""


@dataclass(frozen=True)
class Gremium:
    gremium_id: str
    coordination_org: str
    name: str
    members: tuple[GremiumMember, ...]


@dataclass(frozen=True)
class SessionItem:
    vorlage_id: str
    title: str
    proposed_wording: str
    status: str  # pending | adopted | rejected | postponed
    yes: int
    no: int
    abstain: int
    beschluss_id: str


@dataclass(frozen=True)
class SessionRecord:
    session_id: str
    gremium_id: str
    coordination_org: str
    status: str  # planned | open | closed
    starts_at: datetime
    place: str
    items: tuple[SessionItem, ...]
    present: tuple[str, ...]
    quorum_required: int
    opened_at: datetime | None
    closed_at: datetime | None


@dataclass(frozen=True)
class BeschlussRecord:
    beschluss_id: str
    session_id: str
    vorlage_id: str
    title: str
    wording: str
    responsible_org: str
    responsible_person: str
    due_on: date | None
    adopted_on: date | None
    mode: str  # vote | consensus
    yes: int
    no: int
    abstain: int
    status: str  # open | in_progress | implemented | discarded
    last_note: str


class ConferenceRecords(Protocol):
    """One caller's view of the conference service (errors are `kimnetz.errors`)."""

    def conference(self, conference_id: str) -> ConferenceRecord: ...

    def session(self, session_id: str) -> SessionRecord: ...

    def sessions(self, gremium_id: str) -> list[SessionRecord]: ...

    def gremium(self, gremium_id: str) -> Gremium: ...

    def beschluesse(self, gremium_id: str) -> list[BeschlussRecord]: ...
