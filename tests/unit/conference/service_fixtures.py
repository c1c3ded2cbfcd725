"""The conference's application services on the in-memory fake (tests/support/fakes/
conference.py), a clock the test moves, and the people the service unit tests act as. People
are organisation + username: `STRANGER_*` share a username with a member of another organisation."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from services.conference.cases import AgendaCandidates
from services.conference.composition import ConferenceServices, conference_services
from services.conference.domain.briefs import CaseBrief
from services.conference.domain.policy import Actor
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

    def agenda_candidates(self, coordination_org: str, conference_day: object) -> AgendaCandidates:
        self.asked += 1
        return AgendaCandidates([b for b in self.briefs if b.coordination_org == coordination_org])

    def brief(self, case_id: str, coordination_org: str, owner_node: str = "") -> CaseBrief:
        self.asked += 1
        return next(b for b in self.briefs if b.case_id == case_id)
