"""A Beschluss of the Lenkungsgruppe and its tracking to implementation (Beschlussverfolgung):
status transitions with history, rescheduling, and one reminder per overdue due date.

A Beschluss is adopted when a session declares a Vorlage's result (`Sitzung.conclude`,
sitzung.py); a "Zielgruppen festlegen" Beschluss carries the adopted catalogue.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING

from kimnetz.errors import FailedPrecondition, FieldViolation, InvalidArgument
from services.conference.domain import events as ev
from services.conference.domain.checks import Violations, format_date
from services.conference.domain.vocabulary import BeschlussStatus, DecisionMode, VorlageKind
from services.conference.domain.vorlage import Beschlussvorlage, EvidenceCount
from services.conference.domain.zielgruppen import ZielgruppenCatalogue

if TYPE_CHECKING:
    from services.conference.domain.sitzung import Sitzung


@dataclass(frozen=True)
class Tally:
    yes: int = 0
    no: int = 0
    abstain: int = 0


#: Beschlussverfolgung: which status may follow which. Umgesetzt and verworfen are final.
TRANSITIONS: dict[BeschlussStatus, frozenset[BeschlussStatus]] = {
    BeschlussStatus.OPEN: frozenset(
        {BeschlussStatus.IN_PROGRESS, BeschlussStatus.IMPLEMENTED, BeschlussStatus.DISCARDED}
    ),
    BeschlussStatus.IN_PROGRESS: frozenset({BeschlussStatus.IMPLEMENTED, BeschlussStatus.DISCARDED}),
    BeschlussStatus.IMPLEMENTED: frozenset(),
    BeschlussStatus.DISCARDED: frozenset(),
}
PENDING_STATUSES = frozenset({BeschlussStatus.OPEN, BeschlussStatus.IN_PROGRESS})


@dataclass(frozen=True)
class HistoryEntry:
    at: datetime
    by: str
    status: BeschlussStatus
    due_on: date
    note: str = ""
    from_status: BeschlussStatus | None = None


@dataclass
class Beschluss:
    beschluss_id: str
    gremium_id: str
    session_id: str
    coordination_org: str
    vorlage_id: str
    kind: VorlageKind
    title: str
    wording: str
    responsible_org: str
    responsible_person: str
    due_on: date
    adopted_on: date
    mode: DecisionMode
    tally: Tally
    status: BeschlussStatus = BeschlussStatus.OPEN
    history: list[HistoryEntry] = field(default_factory=list)
    zielgruppen: ZielgruppenCatalogue | None = None
    projektgruppe_id: str = ""
    evidence: tuple[EvidenceCount, ...] = ()
    reminded_for: date | None = None
    events: list[ev.Event] = field(default_factory=list, compare=False, repr=False)

    @classmethod
    def adopt(
        cls,
        *,
        session: Sitzung,
        vorlage: Beschlussvorlage,
        mode: DecisionMode,
        tally: Tally,
        now: datetime,
        wording: str,
        responsible_org: str,
        responsible_person: str,
        due_on: date | None,
        zielgruppen_version: int | None,
        beschluss_id: str | None,
    ) -> Beschluss:
        v = Violations()
        v.text("wording", wording, max_len=10000)
        v.text("responsible_org", responsible_org, max_len=100)
        v.text("responsible_person", responsible_person, required=False, max_len=200)
        if due_on is None:
            v.add("due_on", "Frist für die Umsetzung angeben.")
        v.not_in_past("due_on", due_on, now.date())
        v.raise_if_any("Der Beschluss braucht Wortlaut, Verantwortliche und eine Frist.")
        assert due_on is not None
        beschluss_id = beschluss_id or str(uuid.uuid4())
        catalogue = None
        if vorlage.kind is VorlageKind.ZIELGRUPPEN:
            assert zielgruppen_version is not None
            catalogue = ZielgruppenCatalogue(
                version=zielgruppen_version,
                decided_on=now.date(),
                decision_reference=f"Beschluss der Lenkungsgruppe vom {format_date(now.date())} "
                f"({beschluss_id})",
                definitions=vorlage.zielgruppen,
            )
        beschluss = cls(
            beschluss_id=beschluss_id,
            gremium_id=session.gremium_id,
            session_id=session.session_id,
            coordination_org=session.coordination_org,
            vorlage_id=vorlage.vorlage_id,
            kind=vorlage.kind,
            title=vorlage.title,
            wording=wording.strip(),
            responsible_org=responsible_org,
            responsible_person=responsible_person,
            due_on=due_on,
            adopted_on=now.date(),
            mode=mode,
            tally=tally,
            zielgruppen=catalogue,
            projektgruppe_id=vorlage.projektgruppe_id,
            evidence=vorlage.evidence,
        )
        beschluss.history.append(
            HistoryEntry(now, "Lenkungsgruppe", BeschlussStatus.OPEN, due_on, f"beschlossen ({mode.label})")
        )
        beschluss.events.append(
            ev.BeschlussAdopted(
                occurred_at=now,
                beschluss_id=beschluss_id,
                gremium_id=session.gremium_id,
                session_id=session.session_id,
                vorlage_id=vorlage.vorlage_id,
                kind=vorlage.kind,
                title=vorlage.title,
                wording=beschluss.wording,
                responsible_org=responsible_org,
                responsible_person=responsible_person,
                due_on=due_on,
                mode=mode,
                votes_yes=tally.yes,
                votes_no=tally.no,
                votes_abstain=tally.abstain,
            )
        )
        if catalogue is not None:
            beschluss.events.append(
                ev.ZielgruppenDefined(
                    occurred_at=now,
                    beschluss_id=beschluss_id,
                    gremium_id=session.gremium_id,
                    coordination_org=session.coordination_org,
                    catalogue=catalogue,
                )
            )
        return beschluss

    def change_status(self, to: BeschlussStatus, *, by: str, now: datetime, note: str = "") -> None:
        if to not in TRANSITIONS[self.status]:
            allowed = ", ".join(s.label for s in TRANSITIONS[self.status]) or "keiner (abschließend)"
            raise FailedPrecondition(
                f"Ein Beschluss im Status „{self.status.label}“ kann nicht auf „{to.label}“ "
                f"gesetzt werden; möglich: {allowed}."
            )
        if to is BeschlussStatus.DISCARDED and not note.strip():
            raise InvalidArgument(
                [FieldViolation("note", "Begründung angeben, warum der Beschluss verworfen wird.")]
            )
        previous = self.status
        self.status = to
        self.history.append(HistoryEntry(now, by, to, self.due_on, note.strip(), previous))
        self.events.append(
            ev.BeschlussStatusChanged(
                occurred_at=now,
                beschluss_id=self.beschluss_id,
                from_status=previous,
                to_status=to,
                due_on=self.due_on,
                changed_by=by,
                note=note.strip(),
            )
        )

    def reschedule(self, due_on: date, *, by: str, now: datetime, note: str) -> None:
        if self.status not in PENDING_STATUSES:
            raise FailedPrecondition(f"Ein Beschluss im Status „{self.status.label}“ hat keine Frist mehr.")
        v = Violations()
        v.not_in_past("due_on", due_on, now.date())
        v.text("note", note, max_len=2000)
        v.raise_if_any("Die Frist kann so nicht geändert werden.")
        self.due_on = due_on
        self.history.append(HistoryEntry(now, by, self.status, due_on, note.strip(), self.status))

    def is_overdue(self, on: date) -> bool:
        return self.status in PENDING_STATUSES and self.due_on < on

    def remind(self, on: date, now: datetime) -> ev.BeschlussOverdue | None:
        """The reminder for an overdue Beschluss, once per due date (a new due date that passes
        reminds again); None when not overdue or already reminded."""
        if not self.is_overdue(on) or self.reminded_for == self.due_on:
            return None
        self.reminded_for = self.due_on
        event = ev.BeschlussOverdue(
            occurred_at=now,
            beschluss_id=self.beschluss_id,
            title=self.title,
            responsible_org=self.responsible_org,
            responsible_person=self.responsible_person,
            due_on=self.due_on,
            status=self.status,
            days_overdue=(on - self.due_on).days,
        )
        self.events.append(event)
        return event


def overdue(beschluesse: list[Beschluss], on: date) -> list[Beschluss]:
    """Beschlüsse still offen or in Umsetzung whose due date lies before `on`, oldest first."""
    return sorted((b for b in beschluesse if b.is_overdue(on)), key=lambda b: (b.due_on, b.beschluss_id))
