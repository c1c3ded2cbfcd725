"""`InMemoryConferenceRepository`: the conference service's repository ports
(services/conference/domain/ports.py) in memory, behaving like `MongoConferenceRepository`
(services/conference/repository.py); tests/integration/conference/
test_conference_repository_contract.py runs the same cases against both.

As the adapter does:
- every aggregate is stored encoded with the service's codec and decoded on load, so a load is an
  independent copy and what the codec cannot store fails here too;
- each repository remembers the version it loaded (or saved) of each aggregate: saving one it
  never loaded is version 1 (`AlreadyExists` when the id, or for a "Zielgruppen festlegen"
  Beschluss its version at the koordinierende Stelle, is taken); saving a loaded one whose
  version another writer took since is `VersionConflict`; either way nothing is stored;
- the pending events of a save are recorded with it (as their contract message, so an event
  without one fails here too) and cleared from the aggregate;
- the same filters, orders and pages (`ports.page_size`, `page_offset`, `page_of`).

`another_writer()` is a second repository over the same storage (a second api process or
worker): its own loaded versions, the same aggregates and events.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, TypeVar

from kimnetz.errors import AlreadyExists, NotFound, VersionConflict
from services.conference import codec, contracts
from services.conference.domain import events as ev
from services.conference.domain.beschluss import PENDING_STATUSES, Beschluss
from services.conference.domain.fallkonferenz import Fallkonferenz
from services.conference.domain.lenkungsgruppe import Lenkungsgruppe
from services.conference.domain.ports import (
    MAX_PAGE_SIZE,
    ConferenceRepository,
    Page,
    page_of,
    page_offset,
    page_size,
)
from services.conference.domain.projektgruppe import BarrierObservation, Projektgruppe
from services.conference.domain.proposals import Erasure, Proposal
from services.conference.domain.sitzung import Sitzung
from services.conference.domain.vocabulary import BeschlussStatus, ConferenceStatus, DecisionKind

T = TypeVar("T")

#: The adapter's messages (kimnetz.runtime.changes).
CONFLICT = "Der Datensatz wurde inzwischen geändert; bitte neu laden."
EXISTS = "Der Datensatz existiert bereits."


@dataclass(frozen=True)
class RecordedEvent:
    """An event as a save recorded it: the aggregate (kind and id), the version it was written
    with, the domain event and the name of its contract message ("kim.conference.v1.…")."""

    kind: str
    aggregate_id: str
    version: int
    event: ev.Event
    message_type: str


@dataclass
class _Stored:
    version: int
    state: dict[str, Any]
    aggregate: Any  # a decoded copy, for the filters (never handed out)
    unique: dict[str, str] = field(default_factory=dict)  # values a unique index keeps apart


@dataclass
class _Storage:
    aggregates: dict[str, dict[str, _Stored]] = field(default_factory=dict)
    barriers: dict[str, tuple[str, dict[str, Any]]] = field(default_factory=dict)
    proposals: dict[str, dict[str, Any]] = field(default_factory=dict)
    events: list[RecordedEvent] = field(default_factory=list)

    def of(self, kind: str) -> dict[str, _Stored]:
        return self.aggregates.setdefault(kind, {})


class InMemoryConferenceRepository:
    """Implements `services.conference.domain.ports.ConferenceRepository`."""

    def __init__(self, node_id: str = "test-node", *, _storage: _Storage | None = None) -> None:
        self.node_id = node_id
        self._storage = _storage or _Storage()
        self._versions: dict[tuple[str, str], int] = {}

    def another_writer(self) -> InMemoryConferenceRepository:
        """A second repository over the same storage, with its own loaded versions."""
        return InMemoryConferenceRepository(self.node_id, _storage=self._storage)

    @property
    def events(self) -> list[RecordedEvent]:
        """Every event saved so far, in the order of the saves."""
        return list(self._storage.events)

    def event_types(self, aggregate_id: str = "") -> list[str]:
        """The contract message names of the events saved (of one aggregate), in order."""
        return [e.message_type for e in self._storage.events
                if not aggregate_id or e.aggregate_id == aggregate_id]

    # ---- generic

    def _save(self, kind: str, key: str, aggregate: Any, *, unique: dict[str, str] | None = None) -> None:
        stored = self._storage.of(kind)
        loaded = self._versions.get((kind, key))
        version = 1 if loaded is None else loaded + 1
        current = stored.get(key)
        if version == 1:
            if current is not None:
                raise AlreadyExists(EXISTS)
            for name, value in (unique or {}).items():
                if any(s.unique.get(name) == value for s in stored.values()):
                    raise AlreadyExists(EXISTS)
        elif current is None or current.version != loaded:
            raise VersionConflict(CONFLICT)
        pending: list[ev.Event] = list(getattr(aggregate, "events", []))
        recorded = [
            RecordedEvent(kind, key, version, event, contracts.to_message(event).DESCRIPTOR.full_name)
            for event in pending
        ]
        state = codec.encode(aggregate)
        stored[key] = _Stored(version, state, codec.decode(type(aggregate), state), dict(unique or {}))
        self._storage.events.extend(recorded)
        self._versions[(kind, key)] = version
        if hasattr(aggregate, "events"):
            aggregate.events.clear()

    def _load(self, kind: str, key: str, cls: type[T], missing: str) -> T:
        stored = self._storage.of(kind).get(key)
        if stored is None:
            raise NotFound(missing)
        self._versions[(kind, key)] = stored.version
        aggregate: T = codec.decode(cls, stored.state)
        return aggregate

    def _all(self, kind: str) -> list[Any]:
        return [s.aggregate for s in self._storage.of(kind).values()]

    def _copies(self, cls: type[T], kind: str, keys: list[str]) -> list[T]:
        stored = self._storage.of(kind)
        return [codec.decode(cls, stored[k].state) for k in keys]

    def _page(self, cls: type[T], kind: str, keys: list[str], requested: int, token: str) -> Page[T]:
        size, start = page_size(requested), page_offset(token)
        return page_of(self._copies(cls, kind, keys[start:start + size + 1]), size, start)

    # ---- Fallkonferenzen

    def save_conference(self, conference: Fallkonferenz) -> None:
        self._save("conference", conference.conference_id, conference)

    def conference(self, conference_id: str) -> Fallkonferenz:
        return self._load("conference", conference_id, Fallkonferenz,
                          f"Die Fallkonferenz {conference_id} gibt es nicht.")

    def conferences(
        self, coordination_org: str, *, status: ConferenceStatus | None = None, page_size: int = 0,
        page_token: str = "",
    ) -> Page[Fallkonferenz]:
        found = [c for c in self._all("conference") if c.coordination_org == coordination_org
                 and (status is None or c.status is status)]
        found.sort(key=lambda c: c.conference_id)
        found.sort(key=lambda c: c.starts_at, reverse=True)
        keys = [c.conference_id for c in found]
        return self._page(Fallkonferenz, "conference", keys, page_size, page_token)

    def conference_ids_with_case(self, case_id: str) -> list[str]:
        return [c.conference_id for c in self._all("conference")
                if any(i.case_id == case_id for i in c.agenda)]

    def decided_at(self, coordination_org: str, case_ids: list[str]) -> dict[str, datetime]:
        wanted, latest = set(case_ids), dict[str, datetime]()
        for conference in self._all("conference"):
            if conference.coordination_org != coordination_org:
                continue
            for item in conference.agenda:
                if item.case_id in wanted and item.decision and item.decision.decided_at:
                    decided = _millis(item.decision.decided_at)  # stored as BSON dates
                    if item.case_id not in latest or decided > latest[item.case_id]:
                        latest[item.case_id] = decided
        return latest

    def admitted(self, coordination_org: str, case_ids: list[str]) -> set[str]:
        return {item.case_id for conference in self._all("conference")
                if conference.coordination_org == coordination_org
                for item in conference.agenda
                if item.case_id in case_ids and item.decision is not None
                and item.decision.kind is DecisionKind.ADMISSION}

    def conferences_with_participant(
        self, person: str, organisation: str, *, status: ConferenceStatus | None = None,
        page_size: int = 0, page_token: str = "",
    ) -> Page[Fallkonferenz]:
        found = [c for c in self._all("conference") if c.is_participant(person, organisation)
                 and (status is None or c.status is status)]
        found.sort(key=lambda c: c.conference_id)
        found.sort(key=lambda c: c.starts_at, reverse=True)
        keys = [c.conference_id for c in found]
        return self._page(Fallkonferenz, "conference", keys, page_size, page_token)

    # ---- Lenkungsgruppe and Sitzungen

    def save_gremium(self, gremium: Lenkungsgruppe) -> None:
        self._save("gremium", gremium.gremium_id, gremium)

    def gremium(self, gremium_id: str) -> Lenkungsgruppe:
        return self._load("gremium", gremium_id, Lenkungsgruppe,
                          f"Die Lenkungsgruppe {gremium_id} gibt es nicht.")

    def gremien(
        self, coordination_org: str, *, page_size: int = 0, page_token: str = "",
    ) -> Page[Lenkungsgruppe]:
        keys = sorted(g.gremium_id for g in self._all("gremium") if g.coordination_org == coordination_org)
        return self._page(Lenkungsgruppe, "gremium", keys, page_size, page_token)

    def save_session(self, session: Sitzung) -> None:
        self._save("session", session.session_id, session)

    def session(self, session_id: str) -> Sitzung:
        return self._load("session", session_id, Sitzung, f"Die Sitzung {session_id} gibt es nicht.")

    def sessions(self, gremium_id: str, *, page_size: int = 0, page_token: str = "") -> Page[Sitzung]:
        found = [s for s in self._all("session") if s.gremium_id == gremium_id]
        found.sort(key=lambda s: s.session_id)
        found.sort(key=lambda s: s.starts_at, reverse=True)
        return self._page(Sitzung, "session", [s.session_id for s in found], page_size, page_token)

    # ---- Beschlüsse

    def save_beschluss(self, beschluss: Beschluss) -> None:
        claim = (f"{beschluss.coordination_org}/{beschluss.zielgruppen.version}"
                 if beschluss.zielgruppen else None)
        self._save("beschluss", beschluss.beschluss_id, beschluss,
                   unique={"zielgruppen_claim": claim} if claim else None)

    def beschluss(self, beschluss_id: str) -> Beschluss:
        return self._load("beschluss", beschluss_id, Beschluss,
                          f"Den Beschluss {beschluss_id} gibt es nicht.")

    def _beschluesse(self, keep: Any, requested: int, token: str) -> Page[Beschluss]:
        found = sorted((b for b in self._all("beschluss") if keep(b)),
                       key=lambda b: (b.due_on, b.beschluss_id))
        return self._page(Beschluss, "beschluss", [b.beschluss_id for b in found], requested, token)

    def beschluesse(
        self, gremium_id: str, *, statuses: list[BeschlussStatus] | None = None,
        responsible_person: str = "", responsible_org: str = "", page_size: int = 0,
        page_token: str = "",
    ) -> Page[Beschluss]:
        def keep(b: Beschluss) -> bool:
            return (b.gremium_id == gremium_id and (not statuses or b.status in statuses)
                    and (not responsible_person or b.responsible_person == responsible_person)
                    and (not responsible_org
                         or (b.responsible_org or b.coordination_org) == responsible_org))

        return self._beschluesse(keep, page_size, page_token)

    def overdue_beschluesse(
        self, gremium_id: str, on: date, *, page_size: int = 0, page_token: str = "",
    ) -> Page[Beschluss]:
        def keep(b: Beschluss) -> bool:
            return b.gremium_id == gremium_id and b.status in PENDING_STATUSES and b.due_on < on

        return self._beschluesse(keep, page_size, page_token)

    def overdue_beschluss_ids(self, on: date, *, limit: int = MAX_PAGE_SIZE) -> list[str]:
        pending = [b for b in self._all("beschluss") if b.status in PENDING_STATUSES and b.due_on < on]
        overdue = sorted(pending, key=lambda b: (b.due_on, b.beschluss_id))[:limit]
        return [b.beschluss_id for b in overdue if b.reminded_for != b.due_on]

    def latest_zielgruppen_version(self, coordination_org: str) -> int | None:
        versions = [b.zielgruppen.version for b in self._all("beschluss")
                    if b.coordination_org == coordination_org and b.zielgruppen is not None]
        return max(versions, default=None)

    # ---- Projektgruppen and barrier register

    def save_projektgruppe(self, group: Projektgruppe) -> None:
        self._save("projektgruppe", group.projektgruppe_id, group)

    def projektgruppe(self, projektgruppe_id: str) -> Projektgruppe:
        return self._load("projektgruppe", projektgruppe_id, Projektgruppe,
                          f"Die Projektgruppe {projektgruppe_id} gibt es nicht.")

    def projektgruppen(
        self, coordination_org: str, *, page_size: int = 0, page_token: str = "",
    ) -> Page[Projektgruppe]:
        keys = sorted(g.projektgruppe_id for g in self._all("projektgruppe")
                      if g.coordination_org == coordination_org)
        return self._page(Projektgruppe, "projektgruppe", keys, page_size, page_token)

    def record_barrier(self, coordination_org: str, observation: BarrierObservation) -> bool:
        if observation.barrier_id in self._storage.barriers:
            return False
        self._storage.barriers[observation.barrier_id] = (coordination_org, codec.encode(observation))
        return True

    def barrier_observations(self, coordination_org: str) -> list[BarrierObservation]:
        return [codec.decode(BarrierObservation, state)
                for org, state in self._storage.barriers.values() if org == coordination_org]

    # ---- registry of Fallvorschläge

    def record_proposal(self, proposal: Proposal) -> bool:
        if proposal.proposal_id in self._storage.proposals:
            return False
        self._storage.proposals[proposal.proposal_id] = codec.encode(proposal)
        return True

    def _proposals(self) -> list[Proposal]:
        return [codec.decode(Proposal, state) for state in self._storage.proposals.values()]

    def proposals(self, coordination_org: str, *, other_than_node: str = "") -> list[Proposal]:
        return [p for p in self._proposals() if p.coordination_org == coordination_org
                and (not other_than_node or p.owner_node != other_than_node)]

    def proposals_of_case(self, case_id: str) -> list[Proposal]:
        return [p for p in self._proposals() if p.case_id == case_id]

    def delete_proposals(self, case_id: str) -> int:
        gone = [p.proposal_id for p in self._proposals() if p.case_id == case_id]
        for proposal_id in gone:
            del self._storage.proposals[proposal_id]
        return len(gone)

    # ---- erasures

    def erasure(self, erasure_id: str) -> Erasure | None:
        try:
            return self._load("erasure", erasure_id, Erasure, "")
        except NotFound:
            return None

    def save_erasure(self, erasure: Erasure) -> None:
        self._save("erasure", erasure.erasure_id, erasure)

    def erased(self, case_id: str, consent_id: str) -> bool:
        return Erasure.id_for(case_id, consent_id) in self._storage.of("erasure")


def _millis(moment: datetime) -> datetime:
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def _implements_every_port(repository: InMemoryConferenceRepository) -> ConferenceRepository:
    return repository  # mypy checks here that the fake implements every port
