"""The conference's application services on the in-memory fake (tests/support/fakes/
conference.py), a clock the test moves, and the people the service unit tests act as. People
are organisation + username: `STRANGER_*` share a username with a member of another organisation."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from services.conference.application import ResultDeclaration, VorlageDraft
from services.conference.cases import AgendaCandidates
from services.conference.composition import ConferenceServices, conference_services
from services.conference.domain.beschluss import Beschluss
from services.conference.domain.briefs import CaseBrief
from services.conference.domain.lenkungsgruppe import Member, PersonKey
from services.conference.domain.policy import Actor
from services.conference.domain.sitzung import Sitzung
from services.conference.domain.vocabulary import DecisionMode
from tests.support.fakes.conference import InMemoryConferenceRepository
from tests.unit.conference.factories import KI, NOW

NODE = "kreis-node"


def actor(person: str, organisation: str, *roles: str) -> Actor:
    return Actor(person, organisation, frozenset(roles))


KOORD = actor("koord-1", KI, "coordinator")
OTHER_KOORD = actor("koord-1", "ki-anderswo", "coordinator")  # same username, another Stelle
CASE_MANAGER = actor("cm-hilden", "stadt-hilden", "case_manager")
CLERK = actor("buero-1", KI, "clerk")


@dataclass
class Clock:
    now: datetime = NOW

    def __call__(self) -> datetime:
        return self.now


@dataclass
class OnFake:
    repository: InMemoryConferenceRepository
    clock: Clock
    services: ConferenceServices


def on_fake(now: datetime = NOW) -> OnFake:
    repository = InMemoryConferenceRepository(NODE)
    clock = Clock(now)
    return OnFake(repository, clock,
                  conference_services(repository, node_id=NODE, register_org=KI, clock=clock))


@dataclass
class CountingCaseBriefs:
    """The `CaseBriefs` port with fixed briefs; counts what the case service was asked."""

    briefs: list[CaseBrief] = field(default_factory=list)
    asked: int = 0
    reviews_due_by: object = None

    def agenda_candidates(self, coordination_org: str, reviews_due_by: object) -> AgendaCandidates:
        self.asked += 1
        self.reviews_due_by = reviews_due_by
        return AgendaCandidates([b for b in self.briefs if b.coordination_org == coordination_org])

    def brief(self, case_id: str, coordination_org: str, owner_node: str = "") -> CaseBrief:
        self.asked += 1
        return next(b for b in self.briefs if b.case_id == case_id)


DUE = date(2025, 6, 30)


def member(i: int) -> Actor:
    """A voting member of the Lenkungsgruppe `open_session` constitutes."""
    return actor(f"member-{i}", f"org-{i}", "steering_member")


def open_session(fake: OnFake, draft: VorlageDraft | None = None) -> tuple[Sitzung, str]:
    """A Lenkungsgruppe of three voting members, all present, and one Vorlage on the agenda."""
    gremien, sitzungen = fake.services.lenkungsgruppen, fake.services.sitzungen
    gremium = gremien.create_lenkungsgruppe(KOORD, "Lenkungsgruppe KIM")
    for i in (1, 2, 3):
        gremien.add_member(KOORD, gremium.gremium_id,
                           Member("", f"member-{i}", f"Mitglied {i}", f"org-{i}", "Amtsleitung"))
    session = sitzungen.schedule_session(KOORD, gremium.gremium_id, starts_at=NOW + timedelta(hours=2),
                                         place="Kreishaus")
    session = sitzungen.submit_vorlage(KOORD, session.session_id, draft or VorlageDraft(
        title="Clearingstelle", proposed_wording="Eine Clearingstelle einrichten.",
        responsible_org="org-2", responsible_person="member-2", due_on=DUE))
    present = {PersonKey(f"org-{i}", f"member-{i}") for i in (1, 2, 3)}
    session = sitzungen.open_session(KOORD, session.session_id, {p.person for p in present}, present)
    return session, session.items[0].vorlage.vorlage_id


def adopt(fake: OnFake, draft: VorlageDraft | None = None) -> Beschluss:
    session, vorlage_id = open_session(fake, draft)
    _, beschluss = fake.services.sitzungen.declare_result(
        KOORD, session.session_id, ResultDeclaration(vorlage_id, DecisionMode.CONSENSUS))
    assert beschluss is not None
    return beschluss
