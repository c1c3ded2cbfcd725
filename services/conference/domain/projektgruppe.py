"""Projektgruppen and the barrier register they work from.

A Projektgruppe is set up by a Lenkungsgruppe Beschluss (its mandate), works on one topic with
members from the operative level, and turns a cluster of barriers into a Beschlussvorlage for
the Lenkungsgruppe. Coordinators manage Projektgruppen; members prepare Vorlagen.

The barrier register holds anonymised observations only: the barrier's id, the Rechtskreise it
lies between, its category, Handlungsfeld and day, never a case, pseudonym or person. Counts are
per Rechtskreis pair and category; a barrier between three Rechtskreise counts in each of its
three pairs, one within a single Rechtskreis in the pair (X, -). Every count below 5 is shown as
"< 5" (ARCHITECTURE: small numbers suppressed). The total of distinct barriers is withheld when
it is below 5, or when exactly one cell is suppressed, because the total would then reveal it.
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from itertools import combinations

from kimnetz.errors import FailedPrecondition, NotFound
from kimnetz.validation import Violations
from services.conference.domain import events as ev
from services.conference.domain.beschluss import Beschluss
from services.conference.domain.vocabulary import (
    TOPIC_HANDLUNGSFELDER,
    BarrierCategory,
    BeschlussStatus,
    Handlungsfeld,
    Rechtskreis,
    Topic,
    VorlageKind,
)
from services.conference.domain.vorlage import Beschlussvorlage, EvidenceCount

SUPPRESSION_THRESHOLD = 5
SUPPRESSED = f"< {SUPPRESSION_THRESHOLD}"


@dataclass(frozen=True)
class ProjektgruppenMember:
    person: str
    name: str
    organisation: str


@dataclass
class Projektgruppe:
    projektgruppe_id: str
    coordination_org: str
    name: str
    topic: Topic
    mandate_beschluss_id: str
    established_on: date
    members: list[ProjektgruppenMember] = field(default_factory=list)
    vorlagen: list[Beschlussvorlage] = field(default_factory=list)
    events: list[ev.Event] = field(default_factory=list, compare=False, repr=False)
    #: The kreisangehörige Kommune where the group works (Hilden: Projektgruppen „werden in den
    #: jeweiligen kreisangehörigen Städten implementiert“); empty: kreisweit. Its mandate is
    #: still a Beschluss of the Kreis's Lenkungsgruppe, which receives its Vorlagen.
    municipality: str = ""

    @classmethod
    def establish(
        cls,
        *,
        name: str,
        topic: Topic,
        mandate: Beschluss,
        now: datetime,
        members: list[ProjektgruppenMember] | None = None,
        projektgruppe_id: str | None = None,
        municipality: str = "",
    ) -> Projektgruppe:
        if mandate.status is BeschlussStatus.DISCARDED:
            raise FailedPrecondition("Ein verworfener Beschluss kann keine Projektgruppe beauftragen.")
        if mandate.kind is VorlageKind.ZIELGRUPPEN:
            raise FailedPrecondition("Ein Zielgruppen-Beschluss ist kein Auftrag für eine Projektgruppe.")
        v = Violations()
        v.text("name", name, max_len=200)
        place = v.identifier("municipality", municipality) if municipality.strip() else ""
        if place and place == mandate.coordination_org:
            v.add("municipality", "Eine Projektgruppe auf Ebene einer kreisangehörigen Kommune nennt die "
                  "Kommune, nicht die koordinierende Stelle; für eine kreisweite Gruppe leer lassen.")
        v.raise_if_any("Die Projektgruppe kann so nicht eingerichtet werden.")
        group = cls(
            projektgruppe_id or str(uuid.uuid4()),
            mandate.coordination_org,
            name.strip(),
            topic,
            mandate.beschluss_id,
            now.date(),
            municipality=place,
        )
        for m in members or []:
            group.add_member(m)
        return group

    @property
    def handlungsfelder(self) -> frozenset[Handlungsfeld]:
        return TOPIC_HANDLUNGSFELDER[self.topic]

    def is_member(self, person: str, organisation: str | None) -> bool:
        """Whether the user `person` OF `organisation` is a member: a same-named user of another
        organisation is not (issue 12, item 7)."""
        return any(m.person == person and m.organisation == organisation for m in self.members)

    def add_member(self, member: ProjektgruppenMember) -> None:
        v = Violations()
        v.text("person", member.person, max_len=200)
        v.text("name", member.name, max_len=200)
        v.text("organisation", member.organisation, max_len=100)
        if self.is_member(member.person, member.organisation):
            v.add("person", "Diese Person ist bereits Mitglied der Projektgruppe.")
        v.raise_if_any("Das Mitglied kann so nicht aufgenommen werden.")
        self.members.append(member)

    def remove_member(self, person: str, organisation: str) -> None:
        for m in self.members:
            if m.person == person and m.organisation == organisation:
                self.members.remove(m)
                return
        raise NotFound("Diese Person ist nicht Mitglied der Projektgruppe.")

    def prepare_vorlage(
        self,
        *,
        title: str,
        proposed_wording: str,
        submitted_by: str,
        now: datetime,
        rationale: str = "",
        evidence: tuple[EvidenceCount, ...] = (),
        responsible_org: str = "",
        responsible_person: str = "",
        due_on: date | None = None,
        vorlage_id: str | None = None,
    ) -> Beschlussvorlage:
        vorlage = Beschlussvorlage.draft(
            kind=VorlageKind.GENERAL,
            title=title,
            proposed_wording=proposed_wording,
            submitted_by=submitted_by,
            now=now,
            rationale=rationale,
            responsible_org=responsible_org,
            responsible_person=responsible_person,
            due_on=due_on,
            projektgruppe_id=self.projektgruppe_id,
            evidence=evidence,
            vorlage_id=vorlage_id,
        )
        self.vorlagen.append(vorlage)
        self.events.append(
            ev.BeschlussvorlageSubmitted(
                occurred_at=now,
                projektgruppe_id=self.projektgruppe_id,
                vorlage_id=vorlage.vorlage_id,
                title=vorlage.title,
            )
        )
        return vorlage

    def vorlage(self, vorlage_id: str) -> Beschlussvorlage:
        for v in self.vorlagen:
            if v.vorlage_id == vorlage_id:
                return v
        raise NotFound(f"Die Projektgruppe hat keine Beschlussvorlage {vorlage_id}.")


@dataclass(frozen=True)
class BarrierObservation:
    barrier_id: str
    rechtskreise: tuple[Rechtskreis, ...]
    category: BarrierCategory
    recorded_on: date
    handlungsfeld: Handlungsfeld | None = None


RechtskreisPair = tuple[Rechtskreis, Rechtskreis | None]


def rechtskreis_pairs(rechtskreise: tuple[Rechtskreis, ...]) -> list[RechtskreisPair]:
    distinct = sorted(set(rechtskreise), key=lambda r: list(Rechtskreis).index(r))
    if len(distinct) == 1:
        return [(distinct[0], None)]
    return [(a, b) for a, b in combinations(distinct, 2)]


@dataclass(frozen=True)
class RegisterCell:
    rechtskreis_a: Rechtskreis
    rechtskreis_b: Rechtskreis | None
    category: BarrierCategory
    count: int | None  # None: suppressed

    @property
    def display(self) -> str:
        return SUPPRESSED if self.count is None else str(self.count)

    @property
    def evidence(self) -> EvidenceCount:
        return EvidenceCount(self.rechtskreis_a, self.rechtskreis_b, self.category, self.display)


@dataclass(frozen=True)
class RegisterView:
    cells: tuple[RegisterCell, ...]
    total: int | None

    @property
    def total_display(self) -> str:
        return "nicht ausgewiesen" if self.total is None else str(self.total)


class BarrierRegister:
    """Observations keyed by barrier id, so a redelivered event is counted once."""

    def __init__(self, observations: list[BarrierObservation] | None = None) -> None:
        self._observations: dict[str, BarrierObservation] = {}
        for o in observations or []:
            self.record(o)

    def record(self, observation: BarrierObservation) -> bool:
        """False when this barrier is already in the register (nothing changes)."""
        if observation.barrier_id in self._observations:
            return False
        if not observation.rechtskreise:
            raise FailedPrecondition("Eine Barriere liegt in mindestens einem Rechtskreis.")
        self._observations[observation.barrier_id] = observation
        return True

    def __len__(self) -> int:
        return len(self._observations)

    def view(
        self,
        *,
        handlungsfelder: frozenset[Handlungsfeld] | None = None,
        since: date | None = None,
    ) -> RegisterView:
        """The aggregated register; `handlungsfelder` narrows it to a Projektgruppe's topic
        (barriers without a Handlungsfeld only appear in the unfiltered view)."""
        chosen = [
            o
            for o in self._observations.values()
            if (handlungsfelder is None or o.handlungsfeld in handlungsfelder)
            and (since is None or o.recorded_on >= since)
        ]
        counts: Counter[tuple[Rechtskreis, Rechtskreis | None, BarrierCategory]] = Counter()
        for o in chosen:
            for a, b in rechtskreis_pairs(o.rechtskreise):
                counts[(a, b, o.category)] += 1
        cells = [
            RegisterCell(a, b, c, n if n >= SUPPRESSION_THRESHOLD else None)
            for (a, b, c), n in counts.items()
        ]
        order = list(Rechtskreis)
        cells.sort(
            key=lambda cell: (
                -(cell.count or 0),
                order.index(cell.rechtskreis_a),
                -1 if cell.rechtskreis_b is None else order.index(cell.rechtskreis_b),
                list(BarrierCategory).index(cell.category),
            )
        )
        suppressed = sum(cell.count is None for cell in cells)
        total: int | None = len(chosen)
        if len(chosen) < SUPPRESSION_THRESHOLD or suppressed == 1:
            total = None
        return RegisterView(tuple(cells), total)
