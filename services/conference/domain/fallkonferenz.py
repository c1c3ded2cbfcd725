"""The Fallkonferenz: scheduled by the koordinierende Stelle, its agenda built from new
Fallvorschläge and due quarterly reviews, one decision per agenda item, then closed and frozen.

Life cycle: geplant -> vorbereitet (agenda built; may be rebuilt) -> laufend -> abgeschlossen.
Decisions are taken only while the conference runs, once per item: each becomes an event the
owning node's case service applies exactly once, so a decision cannot be taken back here (a
later conference decides anew). Closing freezes the record; it is the Protokoll's data.
Items left undecided at closing stay with their cases and come up again at the next conference.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from enum import Enum
from typing import Any

from kimnetz import identifiers
from kimnetz.errors import FailedPrecondition, NotFound
from kimnetz.validation import Violations, format_date, format_datetime
from services.conference.domain import events as ev
from services.conference.domain.briefs import CaseBrief
from services.conference.domain.vocabulary import (
    AgendaItemKind,
    CaseStatus,
    ConferenceStatus,
    DecisionKind,
    DecisionReason,
    ParticipantRole,
    ReferralTarget,
    ReviewOutcome,
)

#: Without a next Fallkonferenz planned, the next one is assumed this many months after this
#: one (Borken: Fallkonferenzen once a quarter); configurable per node
#: (`KIM_REVIEW_INTERVAL_MONTHS`).
REVIEW_INTERVAL_MONTHS = 3


def add_months(day: date, months: int) -> date:
    """Same day `months` later, clamped to the month's end (30 Nov + 3 months = 28/29 Feb)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    for candidate in (day.day, 30, 29, 28):
        try:
            return date(year, month, min(day.day, candidate))
        except ValueError:
            continue
    raise AssertionError("unreachable")


def review_horizon(conference_day: date, next_conference_day: date | None,
                   interval_months: int = REVIEW_INTERVAL_MONTHS) -> date:
    """The first day whose due reviews wait for the next Fallkonferenz: a review due BEFORE the
    next planned Fallkonferenz of the Stelle belongs on this one (with Fallkonferenzen on 12.03.
    and 11.06., a case reviewed on 12.03. falls due on 12.06. and is on the 11.06. agenda, not
    three months late on the one after). A review due on the next conference's day waits for it.
    Without a later Fallkonferenz planned, the next one is assumed `interval_months` after this
    one. Source: Borken (quarterly Fallkonferenzen, every active case discussed each quarter)."""
    if next_conference_day is not None and next_conference_day > conference_day:
        return next_conference_day
    return add_months(conference_day, interval_months)


PROPOSAL_DECISIONS = frozenset(
    {
        DecisionKind.ADMISSION,
        DecisionKind.REFERRAL,
        DecisionKind.DEFERRAL,
        DecisionKind.REJECTION,
    }
)


@dataclass(frozen=True)
class Participant:
    person: str
    name: str
    role: ParticipantRole
    organisation: str


@dataclass(frozen=True)
class Decision:
    """What the conference decided about one item; build it with the class methods."""

    kind: DecisionKind
    assigned_org: str = ""
    case_manager: str = ""
    referral_target: ReferralTarget | None = None
    referral_service: str = ""
    deferred_until: date | None = None
    review_outcome: ReviewOutcome | None = None
    offices_to_invite: tuple[str, ...] = ()
    reason: str = ""
    decided_at: datetime | None = None
    decided_by: str = ""
    #: What the owning node is told of a deferral or rejection (`reason` stays here).
    reason_code: DecisionReason | None = None

    @classmethod
    def admission(cls, assigned_org: str, case_manager: str) -> Decision:
        return cls(DecisionKind.ADMISSION, assigned_org=identifiers.clean(assigned_org),
                   case_manager=identifiers.clean(case_manager))

    @classmethod
    def referral(cls, target: ReferralTarget, service: str = "", reason: str = "") -> Decision:
        return cls(DecisionKind.REFERRAL, referral_target=target, referral_service=service, reason=reason)

    @classmethod
    def deferral(cls, reason: str, until: date | None = None,
                 code: DecisionReason | None = None) -> Decision:
        return cls(DecisionKind.DEFERRAL, reason=reason, deferred_until=until, reason_code=code)

    @classmethod
    def rejection(cls, reason: str, code: DecisionReason | None = None) -> Decision:
        return cls(DecisionKind.REJECTION, reason=reason, reason_code=code)

    @classmethod
    def review(
        cls, outcome: ReviewOutcome, offices_to_invite: tuple[str, ...] = (), note: str = ""
    ) -> Decision:
        return cls(
            DecisionKind.REVIEW, review_outcome=outcome, offices_to_invite=offices_to_invite, reason=note
        )

    def validate(self, item_kind: AgendaItemKind, conference_day: date) -> None:
        v = Violations()
        if item_kind is AgendaItemKind.PROPOSAL and self.kind not in PROPOSAL_DECISIONS:
            v.add(
                "decision.kind",
                "Zu einem Fallvorschlag: Aufnahme, Verweisberatung, Zurückstellung oder Ablehnung.",
            )
        if item_kind is AgendaItemKind.REVIEW and self.kind is not DecisionKind.REVIEW:
            v.add(
                "decision.kind", "Zu einem aktiven Fall wird ein Ergebnis der Fallbesprechung festgehalten."
            )
        if self.kind is DecisionKind.ADMISSION:
            # The case service applies the admission with the same rule (kimnetz.identifiers).
            v.identifier("decision.assigned_org", self.assigned_org)
            v.identifier("decision.case_manager", self.case_manager)
        elif self.kind is DecisionKind.REFERRAL:
            if self.referral_target is None:
                v.add("decision.referral_target", "Ziel der Verweisberatung angeben.")
            v.text(
                "decision.referral_service",
                self.referral_service,
                required=self.referral_target is ReferralTarget.OTHER,
                max_len=200,
            )
        elif self.kind is DecisionKind.DEFERRAL:
            v.text("decision.reason", self.reason, max_len=2000)
            if self.deferred_until is not None and self.deferred_until <= conference_day:
                v.add("decision.deferred_until",
                      f"Das Datum, bis zu dem zurückgestellt wird, muss nach dem Tag der Fallkonferenz "
                      f"({format_date(conference_day)}) liegen.")
        elif self.kind is DecisionKind.REJECTION:
            v.text("decision.reason", self.reason, max_len=2000)
        elif self.kind is DecisionKind.REVIEW:
            if self.review_outcome is None:
                v.add("decision.review_outcome", "Ergebnis der Fallbesprechung angeben.")
            if self.review_outcome is ReviewOutcome.ROUND_TABLE and not any(
                o.strip() for o in self.offices_to_invite
            ):
                v.add("decision.offices_to_invite", "Welche Stellen sollen an einen Tisch geholt werden?")
        v.raise_if_any("Die Entscheidung ist unvollständig.")


@dataclass
class AgendaItem:
    position: int
    kind: AgendaItemKind
    brief: CaseBrief
    decision: Decision | None = None

    @property
    def case_id(self) -> str:
        return self.brief.case_id


class ErasureOutcome(Enum):
    ABSENT = "absent"  # the case is not (or no longer) on this agenda
    WITHDRAWN = "withdrawn"  # undecided: item and brief removed
    DETAILS_ERASED = "details_erased"  # decided, conference not closed: pseudonym and decision kept
    KEPT_IN_RECORD = "kept_in_record"  # closed: the frozen record stays


@dataclass(frozen=True)
class Skipped:
    case_id: str
    reason: str


@dataclass(frozen=True)
class AgendaBuildResult:
    added: tuple[str, ...]
    skipped: tuple[Skipped, ...]


@dataclass(frozen=True)
class ProtocolItem:
    position: int
    kind: AgendaItemKind
    brief: CaseBrief
    decision: Decision | None


@dataclass(frozen=True)
class Protokoll:
    """The frozen record of a closed Fallkonferenz (data for the documents service)."""

    conference_id: str
    coordination_org: str
    starts_at: datetime
    place: str
    video_link: str
    participants: tuple[Participant, ...]
    items: tuple[ProtocolItem, ...]
    closed_at: datetime
    closed_by: str


@dataclass
class Fallkonferenz:
    conference_id: str
    coordination_org: str
    starts_at: datetime
    place: str
    video_link: str
    participants: list[Participant]
    scheduled_by: str
    status: ConferenceStatus = ConferenceStatus.PLANNED
    agenda: list[AgendaItem] = field(default_factory=list)
    started_at: datetime | None = None
    closed_at: datetime | None = None
    closed_by: str = ""
    events: list[ev.Event] = field(default_factory=list, compare=False, repr=False)

    @classmethod
    def schedule(
        cls,
        *,
        coordination_org: str,
        starts_at: datetime,
        participants: list[Participant],
        scheduled_by: str,
        now: datetime,
        place: str = "",
        video_link: str = "",
        conference_id: str | None = None,
    ) -> Fallkonferenz:
        v = Violations()
        coordination_org = v.text("coordination_org", coordination_org, max_len=100)
        if starts_at.tzinfo is None:
            v.add("starts_at", "Zeitpunkt mit Zeitzone angeben.")
        elif starts_at < now:
            v.add("starts_at", f"Der Termin {format_datetime(starts_at)} liegt in der Vergangenheit.")
        if not place.strip() and not video_link.strip():
            v.add("place", "Ort oder Videokonferenz-Link angeben.")
        place = v.text("place", place, required=False, max_len=300)
        if video_link and not video_link.startswith("https://"):
            v.add("video_link", "Der Videokonferenz-Link muss mit https:// beginnen.")
        _check_participants(v, participants)
        v.raise_if_any("Die Fallkonferenz kann so nicht angesetzt werden.")
        conference = cls(
            conference_id=conference_id or str(uuid.uuid4()),
            coordination_org=coordination_org,
            starts_at=starts_at,
            place=place.strip(),
            video_link=video_link.strip(),
            participants=list(participants),
            scheduled_by=scheduled_by,
        )
        conference.events.append(
            ev.ConferenceScheduled(
                occurred_at=now,
                conference_id=conference.conference_id,
                coordination_org=coordination_org,
                starts_at=starts_at,
                participant_orgs=tuple(sorted({p.organisation for p in participants})),
            )
        )
        return conference

    @property
    def day(self) -> date:
        return self.starts_at.date()

    @property
    def reference(self) -> str:
        """How decisions cite this conference (in the case file and the Protokoll)."""
        return f"Fallkonferenz {self.coordination_org} vom {format_date(self.day)} ({self.conference_id})"

    def item(self, case_id: str) -> AgendaItem:
        for item in self.agenda:
            if item.case_id == case_id:
                return item
        raise NotFound(f"Der Fall {case_id} steht nicht auf der Tagesordnung dieser Fallkonferenz.")

    def is_participant(self, person: str, organisation: str | None) -> bool:
        """Invited by person (organisation AND username: a same-named user of another
        organisation is not invited) or by organisation (a non-guest participant of it)."""
        return any(p.person == person and p.organisation == organisation for p in self.participants) or any(
            p.role is not ParticipantRole.GUEST and p.organisation == organisation for p in self.participants
        )

    def build_agenda(
        self, briefs: list[CaseBrief], now: datetime, withdrawn: Mapping[str, str] | None = None,
        reviews_before: date | None = None,
    ) -> AgendaBuildResult:
        """Adds every submitted Fallvorschlag (`in_review`) for this koordinierende Stelle and every
        active case whose quarterly review falls due before `reviews_before` (`review_horizon`:
        the next planned Fallkonferenz; default: one interval after this one); says why each
        other brief was left out. `withdrawn`: case id -> why its owning node no longer releases
        it (consent revoked or expired); such a case is taken off the agenda if it is on it, and
        never added."""
        horizon = reviews_before or review_horizon(self.day, None)
        if self.status not in (ConferenceStatus.PLANNED, ConferenceStatus.PREPARED):
            raise FailedPrecondition(
                f"Die Tagesordnung kann nur vor Beginn der Fallkonferenz erstellt werden "
                f"(Status: {self.status.label})."
            )
        added: list[AgendaItem] = []
        skipped: list[Skipped] = []
        for case_id, reason in (withdrawn or {}).items():
            self._remove_item(case_id)  # nothing is decided before the start
            skipped.append(Skipped(case_id, reason))
        briefs = [b for b in briefs if b.case_id not in (withdrawn or {})]
        present = {item.case_id for item in self.agenda}
        for raw in briefs:
            brief = raw.for_conference(self.coordination_org, self.day)
            if brief.case_id in present:
                skipped.append(Skipped(brief.case_id, "steht bereits auf der Tagesordnung"))
                continue
            kind = self._agenda_kind(brief, horizon)
            if not isinstance(kind, AgendaItemKind):  # the reason it stays off the agenda
                skipped.append(Skipped(brief.case_id, kind))
                continue
            present.add(brief.case_id)
            added.append(AgendaItem(position=0, kind=kind, brief=brief))
        # Proposals first (they wait for a decision), then reviews, each oldest first.
        added.sort(
            key=lambda i: (
                i.kind is AgendaItemKind.REVIEW,
                i.brief.proposed_on or i.brief.review_due_on or date.max,
                i.case_id,
            )
        )
        for item in added:
            item.position = len(self.agenda) + 1
            self.agenda.append(item)
        self.status = ConferenceStatus.PREPARED
        if added:
            self.events.append(
                ev.ConferenceAgendaBuilt(
                    occurred_at=now,
                    conference_id=self.conference_id,
                    coordination_org=self.coordination_org,
                    starts_at=self.starts_at,
                    entries=tuple(ev.AgendaEntry(i.case_id, i.brief.owner_node, i.kind) for i in added),
                )
            )
        return AgendaBuildResult(tuple(i.case_id for i in added), tuple(skipped))

    def _agenda_kind(self, brief: CaseBrief, horizon: date) -> AgendaItemKind | str:
        if brief.is_proposal:
            if brief.coordination_org != self.coordination_org:
                return "an eine andere koordinierende Stelle gerichtet"
            return AgendaItemKind.PROPOSAL
        if brief.is_unsubmitted_proposal:
            return "Fallvorschlag noch nicht an die koordinierende Stelle übermittelt"
        if brief.is_review_candidate:
            if brief.review_due_on is None or brief.review_due_on >= horizon:
                return (f"Quartalsüberprüfung erst am {format_date(brief.review_due_on)} fällig, "
                        f"zur nächsten Fallkonferenz" if brief.review_due_on
                        else "Quartalsüberprüfung noch nicht fällig")
            return AgendaItemKind.REVIEW
        if brief.status in (CaseStatus.ADMITTED, CaseStatus.ASSESSMENT, CaseStatus.PLANNING):
            # An admitted case of another node, followed for its reviews (Borken).
            return "im Case Management; die Quartalsüberprüfung beginnt mit dem aktiven Integrationsplan"
        return f"Fallstatus „{brief.status.label}“ gehört nicht in die Fallkonferenz"

    def erase_case(self, case_id: str, now: datetime) -> ErasureOutcome:
        """The person revoked the consent this Stelle held the case under. Before the record is
        frozen: an undecided item leaves the agenda with its brief; a decided one (running
        conference) keeps pseudonym and decision, the brief's details go. A closed conference is
        the frozen record of decisions already sent to the owning node and stays as it is."""
        if not any(item.case_id == case_id for item in self.agenda):
            return ErasureOutcome.ABSENT
        if self.status is ConferenceStatus.CLOSED:
            return ErasureOutcome.KEPT_IN_RECORD
        item = self.item(case_id)
        if item.decision is None:
            self._remove_item(case_id)
            return ErasureOutcome.WITHDRAWN
        if item.brief.erased_at is not None:
            return ErasureOutcome.ABSENT  # erased before (a redelivered request)
        item.brief = item.brief.erased(now)
        return ErasureOutcome.DETAILS_ERASED

    def withdraw_coverage(self, case_id: str, organisation: str) -> bool:
        """The person revoked the consent that covered the case's brief for `organisation`, a
        participant organisation other than this koordinierende Stelle (e.g. the ABH, whose
        Integrationslotsin reads the agenda here): its participants no longer see the brief,
        from now on, in every status. Also in a closed conference: the frozen record keeps
        pseudonym, brief and decision for the Stelle and the owner, but who may read the brief
        follows the consent at the moment of reading (docs/conference.md). False: nothing was
        covered for `organisation` (a redelivery finds it so)."""
        changed = False
        for item in self.agenda:
            if item.case_id == case_id and organisation in item.brief.covered_for:
                item.brief = item.brief.without_coverage_for(organisation)
                changed = True
        return changed

    def covers_for(self, case_id: str, organisation: str) -> bool:
        """Whether a brief of the case on this agenda is covered for `organisation`."""
        return any(item.case_id == case_id and organisation in item.brief.covered_for
                   for item in self.agenda)

    def _remove_item(self, case_id: str) -> bool:
        kept = [item for item in self.agenda if item.case_id != case_id]
        if len(kept) == len(self.agenda):
            return False
        for position, item in enumerate(kept, start=1):
            item.position = position
        self.agenda = kept
        return True

    def refresh_brief(self, brief: CaseBrief) -> None:
        """Replaces an item's brief with a freshly fetched one (before the record is frozen)."""
        self._require_not_closed()
        item = self.item(brief.case_id)
        if item.brief.erased_at is not None:
            raise FailedPrecondition(
                f"Die Angaben zu {item.brief.pseudonym} sind nach dem Widerruf der Einwilligung "
                "gelöscht; sie werden nicht erneut abgerufen."
            )
        item.brief = brief.for_conference(self.coordination_org, self.day)

    def start(self, now: datetime) -> None:
        self._require_not_closed()
        if self.status is ConferenceStatus.RUNNING:
            raise FailedPrecondition("Die Fallkonferenz läuft bereits.")
        if self.status is ConferenceStatus.PLANNED or not self.agenda:
            raise FailedPrecondition("Die Fallkonferenz hat noch keine Tagesordnung.")
        self.status = ConferenceStatus.RUNNING
        self.started_at = now

    def decide(
        self, case_id: str, decision: Decision, *, decided_by: str, now: datetime
    ) -> ev.CaseDecisionEvent:
        self._require_not_closed()
        item = self.item(case_id)
        if self.status is not ConferenceStatus.RUNNING:
            raise FailedPrecondition("Entscheidungen werden während der laufenden Fallkonferenz getroffen.")
        if item.decision is not None:
            raise FailedPrecondition(
                f"Zu {item.brief.pseudonym} ist bereits entschieden: {item.decision.kind.label}."
            )
        decision.validate(item.kind, self.day)
        item.decision = replace(
            decision,
            offices_to_invite=tuple(o.strip() for o in decision.offices_to_invite if o.strip()),
            decided_at=now,
            decided_by=decided_by,
        )
        event = self._decision_event(item, item.decision, now)
        self.events.append(event)
        return event

    def _decision_event(self, item: AgendaItem, d: Decision, now: datetime) -> ev.CaseDecisionEvent:
        common: dict[str, Any] = {
            "occurred_at": now,
            "conference_id": self.conference_id,
            "case_id": item.case_id,
            "pseudonym": item.brief.pseudonym,
            "owner_node": item.brief.owner_node,
            "owner_org": item.brief.owner_org,
            "decision_reference": self.reference,
            "decided_by": d.decided_by,
        }
        if d.kind is DecisionKind.ADMISSION:
            return ev.CaseAdmissionDecided(
                **common, case_manager_org=d.assigned_org, case_manager=d.case_manager
            )
        if d.kind is DecisionKind.REFERRAL:
            assert d.referral_target is not None
            return ev.CaseReferralDecided(
                **common, target=d.referral_target, target_name=d.referral_service or d.referral_target.label
            )
        if d.kind is DecisionKind.DEFERRAL:
            return ev.CaseDeferralDecided(**common, until=d.deferred_until, reason=d.reason_code)
        if d.kind is DecisionKind.REJECTION:
            return ev.CaseRejectionDecided(**common, reason=d.reason_code)
        assert d.review_outcome is not None
        # The coordinators' wording (`reason`) stays in this node's Protokoll: events to other
        # nodes carry no free text about the person.
        return ev.CaseReviewDecided(
            **common, outcome=d.review_outcome, offices_to_invite=d.offices_to_invite,
            held_on=min(self.day, now.astimezone(self.starts_at.tzinfo).date()),  # started early: today
        )

    def close(self, *, closed_by: str, now: datetime) -> Protokoll:
        self._require_not_closed()
        if self.status is not ConferenceStatus.RUNNING:
            raise FailedPrecondition("Nur eine laufende Fallkonferenz kann abgeschlossen werden.")
        self.status = ConferenceStatus.CLOSED
        self.closed_at = now
        self.closed_by = closed_by
        self.events.append(
            ev.ConferenceClosed(
                occurred_at=now,
                conference_id=self.conference_id,
                coordination_org=self.coordination_org,
                starts_at=self.starts_at,
                decided_case_ids=tuple(i.case_id for i in self.agenda if i.decision is not None),
                undecided_case_ids=tuple(i.case_id for i in self.agenda if i.decision is None),
                closed_by=closed_by,
            )
        )
        return self.protocol()

    def protocol(self) -> Protokoll:
        if self.status is not ConferenceStatus.CLOSED or self.closed_at is None:
            raise FailedPrecondition("Das Protokoll entsteht mit dem Abschluss der Fallkonferenz.")
        return Protokoll(
            conference_id=self.conference_id,
            coordination_org=self.coordination_org,
            starts_at=self.starts_at,
            place=self.place,
            video_link=self.video_link,
            participants=tuple(self.participants),
            items=tuple(ProtocolItem(i.position, i.kind, i.brief, i.decision) for i in self.agenda),
            closed_at=self.closed_at,
            closed_by=self.closed_by,
        )

    def _require_not_closed(self) -> None:
        if self.status is ConferenceStatus.CLOSED:
            raise FailedPrecondition("Die Fallkonferenz ist abgeschlossen; ihr Protokoll ist unveränderlich.")


def _check_participants(v: Violations, participants: list[Participant]) -> None:
    if not any(p.role is ParticipantRole.COORDINATOR for p in participants):
        v.add("participants", "Mindestens eine Koordinator*in der koordinierenden Stelle muss teilnehmen.")
    seen: set[tuple[str, str]] = set()
    for i, p in enumerate(participants):
        v.text(f"participants[{i}].person", p.person, max_len=200)
        v.text(f"participants[{i}].organisation", p.organisation, max_len=100)
        if (p.organisation, p.person) in seen:
            v.add(f"participants[{i}].person", "Diese Person ist bereits eingeladen.")
        seen.add((p.organisation, p.person))
