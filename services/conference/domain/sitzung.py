"""A session (Sitzung) of the Lenkungsgruppe: agenda of Beschlussvorlagen, attendance, votes
and the declared results.

Quorum rule (Beschlussfähigkeit): the session is quorate while MORE THAN HALF of the voting
seats are represented. A seat is a member with voting right; it is represented when the member
is present, or when the member is absent and their named deputy is present. A seat counts once
even if member and deputy both attend (then the member votes). Quorum is checked when a result
is declared, so arrivals and departures recorded during the session count.

Decision rule (the Lenkungsgruppe's `DecisionRule`, copied when the session opens): its
Beschlüsse bind the members' own organisations, so by default the Lenkungsgruppe decides by
Einvernehmen (Konsens) of the members present (Hilden, HSK, RBK). Every represented seat takes
part: the Geschäftsführung states the Einvernehmen, a member who objects says "nein" (CastVote),
who stands aside abstains; one "nein" and there is no Einvernehmen, the Vorlage stays open (to be
revised and put again). The Beschluss records every represented seat: "ja" for each that did not
object or abstain. No chair's single vote carries anything. A majority vote (more "ja" than
"nein", Enthaltungen count for quorum only) only where the Geschäftsordnung provides for it
(`DecisionRule.MAJORITY`, with its Fundstelle); even there, a member's organisation is never
made federführend against its own "nein". Both need quorum.

The roster is copied into the session when it opens, so membership changes during or after a
session do not change who could vote in it.

People are identified by organisation AND username (`PersonKey`, lenkungsgruppe.py). A session
stored with bare usernames only (`present`, before `attendees`) is read by resolving each name
against its roster, and a name two roster people share counts for nobody (`resolve_attendance`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime

from kimnetz.errors import FailedPrecondition, FieldViolation, InvalidArgument, NotFound, PermissionDenied
from kimnetz.validation import Violations
from services.conference.domain import events as ev
from services.conference.domain.beschluss import Beschluss, Tally
from services.conference.domain.lenkungsgruppe import Lenkungsgruppe, Member, PersonKey
from services.conference.domain.vocabulary import (
    DecisionMode,
    DecisionRule,
    SessionStatus,
    VorlageKind,
    VorlageStatus,
    VoteChoice,
)
from services.conference.domain.vorlage import Beschlussvorlage
from services.conference.domain.zielgruppen import next_version


@dataclass(frozen=True)
class Vote:
    member_id: str
    choice: VoteChoice
    cast_by: str
    cast_at: datetime


@dataclass(frozen=True)
class Quorum:
    voting_seats: int
    represented: int

    @property
    def required(self) -> int:
        return self.voting_seats // 2 + 1

    @property
    def reached(self) -> bool:
        return self.voting_seats > 0 and self.represented >= self.required


def resolve_attendance(roster: list[Member], own_org: str,
                       names: set[str] | frozenset[str]) -> tuple[set[PersonKey], set[str]]:
    """Bare usernames as people: the roster person (member or deputy) of that name; a name no
    roster person carries is a person of the koordinierende Stelle `own_org` (a guest of the
    Geschäftsführung). Returns the people and the names that two roster people share (those
    count for nobody: the caller must say which organisation)."""
    people: set[PersonKey] = set()
    ambiguous: set[str] = set()
    for name in names:
        matches = {key for m in roster for key in m.people() if key.person == name}
        if len(matches) > 1:
            ambiguous.add(name)
        else:
            people |= matches or {PersonKey(own_org, name)}
    return people, ambiguous


@dataclass
class SessionItem:
    vorlage: Beschlussvorlage
    status: VorlageStatus = VorlageStatus.PENDING
    votes: list[Vote] = field(default_factory=list)
    beschluss_id: str = ""

    def tally(self) -> Tally:
        return Tally(
            yes=sum(v.choice is VoteChoice.YES for v in self.votes),
            no=sum(v.choice is VoteChoice.NO for v in self.votes),
            abstain=sum(v.choice is VoteChoice.ABSTAIN for v in self.votes),
        )


@dataclass
class Sitzung:
    session_id: str
    gremium_id: str
    coordination_org: str
    starts_at: datetime
    place: str
    status: SessionStatus = SessionStatus.PLANNED
    items: list[SessionItem] = field(default_factory=list)
    roster: list[Member] = field(default_factory=list)
    #: Usernames of the people present, for display; `attendees` says who they are.
    present: set[str] = field(default_factory=set)
    opened_at: datetime | None = None
    closed_at: datetime | None = None
    events: list[ev.Event] = field(default_factory=list, compare=False, repr=False)
    #: Who is present, sorted (a list: the codec stores sets as sorted lists of plain values).
    attendees: list[PersonKey] = field(default_factory=list)
    #: The Lenkungsgruppe's rule when the session opened.
    decision_rule: DecisionRule = DecisionRule.CONSENSUS

    def __post_init__(self) -> None:
        if self.present and not self.attendees:  # stored before attendees existed
            people, _ = resolve_attendance(self.roster, self.coordination_org, self.present)
            self.attendees = sorted(people)

    @classmethod
    def schedule(
        cls,
        gremium: Lenkungsgruppe,
        *,
        starts_at: datetime,
        place: str,
        now: datetime,
        session_id: str | None = None,
    ) -> Sitzung:
        v = Violations()
        if starts_at.tzinfo is None:
            v.add("starts_at", "Zeitpunkt mit Zeitzone angeben.")
        elif starts_at < now:
            v.add("starts_at", "Der Sitzungstermin liegt in der Vergangenheit.")
        v.text("place", place, max_len=300)
        v.raise_if_any("Die Sitzung kann so nicht angesetzt werden.")
        return cls(
            session_id or str(uuid.uuid4()),
            gremium.gremium_id,
            gremium.coordination_org,
            starts_at,
            place.strip(),
        )

    def item(self, vorlage_id: str) -> SessionItem:
        for item in self.items:
            if item.vorlage.vorlage_id == vorlage_id:
                return item
        raise NotFound(f"Die Beschlussvorlage {vorlage_id} steht nicht auf der Tagesordnung dieser Sitzung.")

    def add_to_agenda(self, vorlage: Beschlussvorlage) -> None:
        self._require_not_closed()
        if any(i.vorlage.vorlage_id == vorlage.vorlage_id for i in self.items):
            raise FailedPrecondition("Die Beschlussvorlage steht bereits auf der Tagesordnung.")
        self.items.append(SessionItem(vorlage))

    def open(self, gremium: Lenkungsgruppe, *, present: set[str] | frozenset[str] = frozenset(),
             attendees: set[PersonKey] | frozenset[PersonKey] = frozenset(), now: datetime) -> Quorum:
        if self.status is not SessionStatus.PLANNED:
            raise FailedPrecondition(f"Die Sitzung ist {self.status.label}.")
        if gremium.gremium_id != self.gremium_id:
            raise FailedPrecondition("Die Sitzung gehört zu einer anderen Lenkungsgruppe.")
        self._set_attendance(list(gremium.members), present, attendees)
        self.roster = list(gremium.members)
        self.decision_rule = gremium.decision_rule
        self.status = SessionStatus.OPEN
        self.opened_at = now
        return self.quorum()

    def record_attendance(self, present: set[str] | frozenset[str] = frozenset(),
                          attendees: set[PersonKey] | frozenset[PersonKey] = frozenset()) -> Quorum:
        """Who is in the room now (arrivals and departures during the session): people by
        organisation and username, or bare usernames resolved against the roster."""
        self._require_open()
        self._set_attendance(self.roster, present, attendees)
        return self.quorum()

    def _set_attendance(self, roster: list[Member], present: set[str] | frozenset[str],
                        attendees: set[PersonKey] | frozenset[PersonKey]) -> None:
        resolved, ambiguous = resolve_attendance(roster, self.coordination_org, present)
        if ambiguous:
            raise InvalidArgument([FieldViolation(
                "present", f"„{name}“ ist mehrdeutig (mehrere Organisationen); bitte mit Organisation "
                "unter attendees angeben.") for name in sorted(ambiguous)],
                "Die Anwesenheit ist nicht eindeutig.")
        self.attendees = sorted(resolved | set(attendees))
        self.present = {a.person for a in self.attendees}

    def quorum(self) -> Quorum:
        voting = [m for m in self.roster if m.voting]
        return Quorum(len(voting), sum(self._representative(m) is not None for m in voting))

    def _representative(self, member: Member) -> PersonKey | None:
        if member.key in self.attendees:
            return member.key
        if member.deputy_key is not None and member.deputy_key in self.attendees:
            return member.deputy_key
        return None

    def cast_vote(self, vorlage_id: str, *, person: str, organisation: str, choice: VoteChoice,
                  now: datetime) -> Vote:
        self._require_open()
        item = self.item(vorlage_id)
        if item.status is not VorlageStatus.PENDING:
            raise FailedPrecondition(f"Über diese Vorlage ist bereits entschieden ({item.status.label}).")
        seat = self._seat_of(PersonKey(organisation, person))
        if any(v.member_id == seat.member_id for v in item.votes):
            raise FailedPrecondition(f"Für den Sitz von {seat.name} ist bereits abgestimmt worden.")
        vote = Vote(seat.member_id, choice, person, now)
        item.votes.append(vote)
        return vote

    def _seat_of(self, who: PersonKey) -> Member:
        """The voting seat the person `who` (organisation, username) may use now, or the German
        reason why none. A same-named user of another organisation holds no seat."""
        for m in self.roster:
            if m.key == who:
                if not m.voting:
                    raise PermissionDenied(f"{m.name} ist beratendes Mitglied ohne Stimmrecht.")
                if who not in self.attendees:
                    raise FailedPrecondition(f"{m.name} ist nicht als anwesend erfasst.")
                return m
            if m.deputy is not None and m.deputy_key == who:
                if not m.voting:
                    raise PermissionDenied(f"{m.deputy.name} vertritt ein Mitglied ohne Stimmrecht.")
                if m.key in self.attendees:
                    raise PermissionDenied(f"{m.name} ist selbst anwesend und stimmt selbst ab.")
                if who not in self.attendees:
                    raise FailedPrecondition(f"{m.deputy.name} ist nicht als anwesend erfasst.")
                return m
        raise PermissionDenied("Nur Mitglieder der Lenkungsgruppe (oder ihre Vertretungen) stimmen ab.")

    def conclude(
        self,
        vorlage_id: str,
        *,
        mode: DecisionMode,
        now: datetime,
        wording: str = "",
        responsible_org: str = "",
        responsible_person: str = "",
        due_on: date | None = None,
        latest_zielgruppen_version: int | None = None,
        beschluss_id: str | None = None,
    ) -> Beschluss | None:
        """Declares the result of one Vorlage: a new Beschluss when adopted, None when rejected.
        Wording, responsibility and due date default to the Vorlage's proposal."""
        self._require_open()
        item = self.item(vorlage_id)
        if item.status is not VorlageStatus.PENDING:
            raise FailedPrecondition(f"Über diese Vorlage ist bereits entschieden ({item.status.label}).")
        quorum = self.quorum()
        if not quorum.reached:
            raise FailedPrecondition(
                f"Die Lenkungsgruppe ist nicht beschlussfähig: {quorum.represented} von "
                f"{quorum.voting_seats} stimmberechtigten Sitzen vertreten, erforderlich sind "
                f"{quorum.required}."
            )
        tally = item.tally()
        vorlage = item.vorlage
        if mode is DecisionMode.VOTE:
            if self.decision_rule is not DecisionRule.MAJORITY:
                raise FailedPrecondition(
                    "Die Lenkungsgruppe entscheidet im Einvernehmen ihrer Mitglieder; eine "
                    "Mehrheitsentscheidung sieht ihre Geschäftsordnung nicht vor."
                )
            if not item.votes:
                raise FailedPrecondition("Es wurde noch nicht abgestimmt.")
            adopted = tally.yes > tally.no
        else:
            objecting = self._objecting(item)
            if objecting:
                follow_up = ("bitte förmlich abstimmen" if self.decision_rule is DecisionRule.MAJORITY
                             else "die Vorlage kann überarbeitet und erneut vorgelegt werden")
                raise FailedPrecondition(
                    f"Kein Einvernehmen: {', '.join(objecting)} widerspricht; {follow_up}."
                )
            # Every represented seat takes part: who neither objected nor abstained agrees.
            tally = Tally(yes=quorum.represented - tally.abstain, no=0, abstain=tally.abstain)
            adopted = True
        responsible = responsible_org or vorlage.responsible_org
        if adopted:
            self._check_responsible(item, responsible)
        if not adopted:
            item.status = VorlageStatus.REJECTED
            self.events.append(
                ev.VorlageRejected(
                    occurred_at=now,
                    session_id=self.session_id,
                    vorlage_id=vorlage_id,
                    votes_yes=tally.yes,
                    votes_no=tally.no,
                    votes_abstain=tally.abstain,
                )
            )
            return None
        beschluss = Beschluss.adopt(
            session=self,
            vorlage=vorlage,
            mode=mode,
            tally=tally,
            now=now,
            wording=wording or vorlage.proposed_wording,
            responsible_org=responsible_org or vorlage.responsible_org,
            responsible_person=responsible_person or vorlage.responsible_person,
            due_on=due_on or vorlage.due_on,
            zielgruppen_version=(
                next_version(latest_zielgruppen_version) if vorlage.kind is VorlageKind.ZIELGRUPPEN else None
            ),
            beschluss_id=beschluss_id,
        )
        item.status = VorlageStatus.ADOPTED
        item.beschluss_id = beschluss.beschluss_id
        return beschluss

    def _objecting(self, item: SessionItem) -> list[str]:
        """The names of the seats whose "nein" stands against the Einvernehmen."""
        seats = {m.member_id: m for m in self.roster}
        return [seats[v.member_id].name if v.member_id in seats else v.cast_by
                for v in item.votes if v.choice is VoteChoice.NO]

    def _check_responsible(self, item: SessionItem, organisation: str) -> None:
        """A Beschluss binds the members' own organisations: none is made federführend against
        the "nein" of its own seat."""
        seats = {m.member_id: m for m in self.roster}
        against = [seats[v.member_id] for v in item.votes
                   if v.choice is VoteChoice.NO and v.member_id in seats
                   and seats[v.member_id].organisation == organisation]
        if against:
            raise FailedPrecondition(
                f"{against[0].name} ({organisation}) hat mit Nein gestimmt; die Federführung kann "
                "dieser Organisation nicht gegen ihr Nein übertragen werden."
            )

    def close(self, now: datetime) -> None:
        self._require_open()
        for item in self.items:
            if item.status is VorlageStatus.PENDING:
                item.status = VorlageStatus.POSTPONED
        self.status = SessionStatus.CLOSED
        self.closed_at = now

        def ids(status: VorlageStatus) -> tuple[str, ...]:
            return tuple(i.vorlage.vorlage_id for i in self.items if i.status is status)

        self.events.append(
            ev.SessionClosed(
                occurred_at=now,
                session_id=self.session_id,
                gremium_id=self.gremium_id,
                adopted_vorlage_ids=ids(VorlageStatus.ADOPTED),
                rejected_vorlage_ids=ids(VorlageStatus.REJECTED),
                postponed_vorlage_ids=ids(VorlageStatus.POSTPONED),
            )
        )

    def _require_not_closed(self) -> None:
        if self.status is SessionStatus.CLOSED:
            raise FailedPrecondition("Die Sitzung ist geschlossen.")

    def _require_open(self) -> None:
        self._require_not_closed()
        if self.status is not SessionStatus.OPEN:
            raise FailedPrecondition("Die Sitzung ist noch nicht eröffnet.")
