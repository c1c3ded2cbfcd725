"""What the conference's application services share: the clock, and the drafts a coordinator's
input becomes before the domain assigns ids and the submitter.

The application services (one class per area, one module each; docs/conference.md):

- fallkonferenzen.py `Fallkonferenzen`: schedule, agenda, start, decide, close;
- lenkungsgruppen.py `Lenkungsgruppen`: the gremium, its members and deputies;
- sitzungen.py `Sitzungen`: sessions, their Vorlagen, attendance, votes and results;
- beschlussverfolgung.py `Beschlussverfolgung`: Beschlüsse to implementation, overdue reminders;
- projektgruppen.py `Projektgruppen`: Projektgruppen, their members and Vorlagen;
- barrierenregister.py `Barrierenregister`: the anonymised barrier register;
- fallvorschlaege.py `Fallvorschlaege`: the registry of proposals other nodes send;
- loeschersuchen.py `Loeschersuchen`: erase requests and withdrawn consent coverage.

Each takes the repository Protocols it uses (domain/ports.py) and a clock; composition.py wires
them to one repository. One public method per use case, named after its rpc in snake_case
(`GetConference` -> `get_conference`) or, for what the worker receives, after what it does.
Framework-free: no grpc, nameko, mongoengine or protobuf here; every method that an rpc calls
authorises first (domain/policy.py) and raises `kimnetz.errors` with German messages.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime

from services.conference.domain.lenkungsgruppe import Lenkungsgruppe
from services.conference.domain.policy import Action, Actor, require
from services.conference.domain.ports import LenkungsgruppeRepository
from services.conference.domain.vocabulary import DecisionMode, VorlageKind
from services.conference.domain.vorlage import EvidenceCount
from services.conference.domain.zielgruppen import ZielgruppeDefinition

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class VorlageDraft:
    """What a coordinator or a Projektgruppe proposes; ids and submitter are assigned here."""

    title: str
    proposed_wording: str
    kind: VorlageKind = VorlageKind.GENERAL
    rationale: str = ""
    responsible_org: str = ""
    responsible_person: str = ""
    due_on: date | None = None
    zielgruppen: tuple[ZielgruppeDefinition, ...] = ()
    evidence: tuple[EvidenceCount, ...] = ()


@dataclass(frozen=True)
class ResultDeclaration:
    """The result a coordinator declares; empty fields mean "as proposed in the Vorlage"."""

    vorlage_id: str
    mode: DecisionMode
    wording: str = ""
    responsible_org: str = ""
    responsible_person: str = ""
    due_on: date | None = None


def gremium_for(
    actor: Actor, gremien: LenkungsgruppeRepository, gremium_id: str, action: Action
) -> Lenkungsgruppe:
    """The Lenkungsgruppe, if `actor` may do `action` at its koordinierende Stelle
    (READ_GREMIUM, MANAGE_GREMIUM, READ_BESCHLUESSE); NotFound before PermissionDenied."""
    gremium = gremien.gremium(gremium_id)
    require(actor, action, coordination_org=gremium.coordination_org)
    return gremium
