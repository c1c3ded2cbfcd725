"""The conference service's use cases: command -> authorise -> load -> domain -> save.

Framework-free (no grpc, nameko or mongoengine here): the api servicer and the worker call these
methods with an `Actor` and plain values; the repository writes each aggregate with its events
in one conditional write (outbox), so a refused or failed command changes nothing and a command
that succeeds publishes exactly the events its aggregate collected.

Who may enter: anyone the entrypoint authenticated; every method authorises first (domain
policy) and raises `kimnetz.errors` with German messages.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime

from kimnetz.errors import (
    AlreadyExists,
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
    UntrustedEvent,
)
from kimnetz.runtime.event_trust import Sender
from services.conference.cases import CaseBriefs, UnreachableNode
from services.conference.domain.beschluss import Beschluss
from services.conference.domain.fallkonferenz import (
    Decision,
    ErasureOutcome,
    Fallkonferenz,
    Participant,
    Skipped,
)
from services.conference.domain.lenkungsgruppe import Deputy, Lenkungsgruppe, Member, PersonKey
from services.conference.domain.policy import Action, Actor, require
from services.conference.domain.projektgruppe import (
    BarrierObservation,
    BarrierRegister,
    Projektgruppe,
    ProjektgruppenMember,
    RegisterView,
)
from services.conference.domain.proposals import Erasure, Proposal, open_proposals
from services.conference.domain.sitzung import Sitzung
from services.conference.domain.vocabulary import (
    BeschlussStatus,
    ConferenceStatus,
    DecisionMode,
    Topic,
    VorlageKind,
    VoteChoice,
)
from services.conference.domain.vorlage import Beschlussvorlage, EvidenceCount
from services.conference.domain.zielgruppen import ZielgruppeDefinition
from services.conference.repository import ConferenceRepository, Page

Clock = Callable[[], datetime]


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


@dataclass(frozen=True)
class AgendaBuild:
    added: tuple[str, ...]
    skipped: tuple[Skipped, ...]
    unreachable: tuple[UnreachableNode, ...] = ()


@dataclass(frozen=True)
class ErasureRequest:
    """A revocation (`ConsentRevoked`) of a consent that named this node's organisation, or a
    participant organisation it hosts (`ConferenceService.withdraw_coverage`)."""

    case_id: str
    consent_id: str
    pseudonym: str
    owner_org: str
    owner_node: str  # the node that sent the request (the case's owner)


def utc_now() -> datetime:
    return datetime.now(UTC)


class ConferenceService:
    """`register_org` is the koordinierende Stelle this node's barrier register belongs to (the
    node's operating organisation): barrier events from cases carry no coordination org."""

    def __init__(
        self, repository: ConferenceRepository, *, register_org: str, clock: Clock = utc_now
    ) -> None:
        self.repository = repository
        self.register_org = register_org
        self.clock = clock

    # ------------------------------------------------------------------ Fallkonferenzen

    def schedule_conference(
        self,
        actor: Actor,
        *,
        starts_at: datetime,
        place: str,
        video_link: str,
        participants: list[Participant],
    ) -> Fallkonferenz:
        coordination_org = actor.organisation or ""
        require(actor, Action.SCHEDULE_CONFERENCE, coordination_org=coordination_org)
        conference = Fallkonferenz.schedule(
            coordination_org=coordination_org,
            starts_at=starts_at,
            participants=participants,
            scheduled_by=actor.person,
            now=self.clock(),
            place=place,
            video_link=video_link,
        )
        self.repository.save_conference(conference)
        return conference

    def conference(self, actor: Actor, conference_id: str) -> Fallkonferenz:
        conference = self.repository.conference(conference_id)
        require(actor, Action.READ_CONFERENCE, conference=conference)
        return conference

    def conferences(
        self,
        actor: Actor,
        *,
        status: ConferenceStatus | None,
        page_size: int,
        page_token: str,
    ) -> Page[Fallkonferenz]:
        # The list of a koordinierende Stelle is its coordinators' planning view; invited
        # participants open their conference by id.
        require(actor, Action.PREPARE_CONFERENCE, coordination_org=actor.organisation or "")
        return self.repository.conferences(
            actor.organisation or "", status=status, page_size=page_size, page_token=page_token
        )

    def build_agenda(
        self,
        actor: Actor,
        conference_id: str,
        cases: CaseBriefs,
    ) -> tuple[Fallkonferenz, AgendaBuild]:
        conference = self.repository.conference(conference_id)
        require(actor, Action.PREPARE_CONFERENCE, conference=conference)
        # Authorised before any brief is fetched: a denied caller makes the case service read nothing.
        candidates = cases.agenda_candidates(conference.coordination_org, conference.day)
        result = conference.build_agenda(candidates.briefs, self.clock(), candidates.withdrawn)
        self.repository.save_conference(conference)
        return conference, AgendaBuild(result.added, result.skipped, candidates.unreachable)

    def refresh_brief(
        self, actor: Actor, conference_id: str, case_id: str, cases: CaseBriefs
    ) -> Fallkonferenz:
        conference = self.repository.conference(conference_id)
        require(actor, Action.PREPARE_CONFERENCE, conference=conference)
        item = conference.item(case_id)  # NOT_FOUND before asking the case service about a stranger
        # From the node that owns the case (the brief names it; a remote one over the federation).
        conference.refresh_brief(cases.brief(case_id, conference.coordination_org, item.brief.owner_node))
        self.repository.save_conference(conference)
        return conference

    def start_conference(self, actor: Actor, conference_id: str) -> Fallkonferenz:
        conference = self.repository.conference(conference_id)
        require(actor, Action.RUN_CONFERENCE, conference=conference)
        conference.start(self.clock())
        self.repository.save_conference(conference)
        return conference

    def decide(self, actor: Actor, conference_id: str, case_id: str, decision: Decision) -> Fallkonferenz:
        conference = self.repository.conference(conference_id)
        require(actor, Action.RUN_CONFERENCE, conference=conference)
        conference.decide(case_id, decision, decided_by=actor.person, now=self.clock())
        self.repository.save_conference(conference)
        return conference

    def close_conference(self, actor: Actor, conference_id: str) -> Fallkonferenz:
        conference = self.repository.conference(conference_id)
        require(actor, Action.RUN_CONFERENCE, conference=conference)
        conference.close(closed_by=actor.person, now=self.clock())
        self.repository.save_conference(conference)
        return conference

    # ------------------------------------------------------------------ Lenkungsgruppe

    def create_lenkungsgruppe(self, actor: Actor, name: str) -> Lenkungsgruppe:
        coordination_org = actor.organisation or ""
        require(actor, Action.MANAGE_GREMIUM, coordination_org=coordination_org)
        gremium = Lenkungsgruppe.constitute(coordination_org=coordination_org, name=name)
        self.repository.save_gremium(gremium)
        return gremium

    def lenkungsgruppe(self, actor: Actor, gremium_id: str) -> Lenkungsgruppe:
        gremium = self.repository.gremium(gremium_id)
        require(actor, Action.READ_GREMIUM, coordination_org=gremium.coordination_org)
        return gremium

    def _managed_gremium(self, actor: Actor, gremium_id: str) -> Lenkungsgruppe:
        gremium = self.repository.gremium(gremium_id)
        require(actor, Action.MANAGE_GREMIUM, coordination_org=gremium.coordination_org)
        return gremium

    def add_member(self, actor: Actor, gremium_id: str, member: Member) -> Lenkungsgruppe:
        gremium = self._managed_gremium(actor, gremium_id)
        gremium.add_member(
            person=member.person,
            name=member.name,
            organisation=member.organisation,
            function=member.function,
            voting=member.voting,
            deputy=member.deputy,
        )
        self.repository.save_gremium(gremium)
        return gremium

    def appoint_deputy(
        self, actor: Actor, gremium_id: str, member_id: str, deputy: Deputy | None
    ) -> Lenkungsgruppe:
        gremium = self._managed_gremium(actor, gremium_id)
        gremium.appoint_deputy(member_id, deputy)
        self.repository.save_gremium(gremium)
        return gremium

    def remove_member(self, actor: Actor, gremium_id: str, member_id: str) -> Lenkungsgruppe:
        gremium = self._managed_gremium(actor, gremium_id)
        gremium.remove_member(member_id)
        self.repository.save_gremium(gremium)
        return gremium

    def schedule_session(self, actor: Actor, gremium_id: str, *, starts_at: datetime, place: str) -> Sitzung:
        gremium = self._managed_gremium(actor, gremium_id)
        session = Sitzung.schedule(gremium, starts_at=starts_at, place=place, now=self.clock())
        self.repository.save_session(session)
        return session

    def session(self, actor: Actor, session_id: str) -> Sitzung:
        session = self.repository.session(session_id)
        require(actor, Action.READ_GREMIUM, coordination_org=session.coordination_org)
        return session

    def sessions(self, actor: Actor, gremium_id: str, *, page_size: int, page_token: str) -> Page[Sitzung]:
        self.lenkungsgruppe(actor, gremium_id)
        return self.repository.sessions(gremium_id, page_size=page_size, page_token=page_token)

    def _managed_session(self, actor: Actor, session_id: str) -> Sitzung:
        session = self.repository.session(session_id)
        require(actor, Action.MANAGE_GREMIUM, coordination_org=session.coordination_org)
        return session

    def submit_vorlage(self, actor: Actor, session_id: str, draft: VorlageDraft) -> Sitzung:
        session = self._managed_session(actor, session_id)
        if draft.evidence:
            raise InvalidArgument(
                [
                    FieldViolation(
                        "vorlage.evidence",
                        "Belege aus dem Barrierenregister bringt die Vorlage einer Projektgruppe mit.",
                    )
                ]
            )
        vorlage = Beschlussvorlage.draft(
            kind=draft.kind,
            title=draft.title,
            proposed_wording=draft.proposed_wording,
            submitted_by=actor.person,
            now=self.clock(),
            rationale=draft.rationale,
            responsible_org=draft.responsible_org,
            responsible_person=draft.responsible_person,
            due_on=draft.due_on,
            zielgruppen=draft.zielgruppen,
        )
        session.add_to_agenda(vorlage)
        self.repository.save_session(session)
        return session

    def add_vorlage_to_agenda(
        self, actor: Actor, session_id: str, projektgruppe_id: str, vorlage_id: str
    ) -> Sitzung:
        session = self._managed_session(actor, session_id)
        group = self.repository.projektgruppe(projektgruppe_id)
        if group.coordination_org != session.coordination_org:
            raise NotFound(f"Die Projektgruppe {projektgruppe_id} gibt es nicht.")
        session.add_to_agenda(group.vorlage(vorlage_id))
        self.repository.save_session(session)
        return session

    def open_session(self, actor: Actor, session_id: str, present: set[str],
                     attendees: set[PersonKey] | None = None) -> Sitzung:
        session = self._managed_session(actor, session_id)
        session.open(self.repository.gremium(session.gremium_id), present=present,
                     attendees=attendees or set(), now=self.clock())
        self.repository.save_session(session)
        return session

    def record_attendance(self, actor: Actor, session_id: str, present: set[str],
                          attendees: set[PersonKey] | None = None) -> Sitzung:
        session = self._managed_session(actor, session_id)
        session.record_attendance(present, attendees or set())
        self.repository.save_session(session)
        return session

    def cast_vote(self, actor: Actor, session_id: str, vorlage_id: str, choice: VoteChoice) -> Sitzung:
        require(actor, Action.CAST_VOTE)
        session = self.repository.session(session_id)
        session.cast_vote(vorlage_id, person=actor.person, organisation=actor.organisation or "",
                          choice=choice, now=self.clock())
        self.repository.save_session(session)
        return session

    def declare_result(
        self, actor: Actor, session_id: str, result: ResultDeclaration
    ) -> tuple[Sitzung, Beschluss | None]:
        """The session is written first: its optimistic lock makes sure one result is declared
        per Vorlage (a vote arriving meanwhile makes this call fail and change nothing). Then
        the Beschluss with its events; for "Zielgruppen festlegen" it gets the version after
        the latest any Lenkungsgruppe of this koordinierende Stelle adopted (the case service
        keeps one sequence per node), kept unique by an index."""
        session = self._managed_session(actor, session_id)
        latest = self.repository.latest_zielgruppen_version(session.coordination_org)
        beschluss = session.conclude(
            result.vorlage_id,
            mode=result.mode,
            now=self.clock(),
            wording=result.wording,
            responsible_org=result.responsible_org,
            responsible_person=result.responsible_person,
            due_on=result.due_on,
            latest_zielgruppen_version=latest,
            beschluss_id=str(uuid.uuid4()),
        )
        self.repository.save_session(session)
        if beschluss is not None:
            self.repository.save_beschluss(beschluss)
        return session, beschluss

    def close_session(self, actor: Actor, session_id: str) -> Sitzung:
        session = self._managed_session(actor, session_id)
        session.close(self.clock())
        self.repository.save_session(session)
        return session

    # ------------------------------------------------------------------ Beschlussverfolgung

    def beschluss(self, actor: Actor, beschluss_id: str) -> Beschluss:
        beschluss = self.repository.beschluss(beschluss_id)
        require(actor, Action.READ_BESCHLUESSE, beschluss=beschluss)
        return beschluss

    def beschluesse(
        self,
        actor: Actor,
        gremium_id: str,
        *,
        statuses: list[BeschlussStatus],
        responsible_person: str,
        page_size: int,
        page_token: str,
        responsible_org: str = "",
    ) -> Page[Beschluss]:
        gremium = self.repository.gremium(gremium_id)
        require(actor, Action.READ_BESCHLUESSE, coordination_org=gremium.coordination_org)
        return self.repository.beschluesse(
            gremium_id,
            statuses=[s.value for s in statuses],
            responsible_person=responsible_person,
            responsible_org=responsible_org,
            page_size=page_size,
            page_token=page_token,
        )

    def overdue(
        self, actor: Actor, gremium_id: str, on: date | None, *, page_size: int, page_token: str
    ) -> Page[Beschluss]:
        gremium = self.repository.gremium(gremium_id)
        require(actor, Action.READ_BESCHLUESSE, coordination_org=gremium.coordination_org)
        return self.repository.overdue_beschluesse(
            gremium_id, on or self.clock().date(), page_size=page_size, page_token=page_token
        )

    def update_beschluss_status(
        self, actor: Actor, beschluss_id: str, status: BeschlussStatus, note: str
    ) -> Beschluss:
        beschluss = self.repository.beschluss(beschluss_id)
        require(actor, Action.TRACK_BESCHLUSS, beschluss=beschluss)
        beschluss.change_status(status, by=actor.person, now=self.clock(), note=note)
        self.repository.save_beschluss(beschluss)
        return beschluss

    def reschedule_beschluss(self, actor: Actor, beschluss_id: str, due_on: date, note: str) -> Beschluss:
        beschluss = self.repository.beschluss(beschluss_id)
        require(actor, Action.TRACK_BESCHLUSS, beschluss=beschluss)
        beschluss.reschedule(due_on, by=actor.person, now=self.clock(), note=note)
        self.repository.save_beschluss(beschluss)
        return beschluss

    def remind_overdue(self) -> list[str]:
        """The worker's timer: one BeschlussOverdue per overdue Beschluss and due date. Several
        workers may run this at once; the optimistic lock lets exactly one of them write the
        reminder, the others find it done (FAILED_PRECONDITION) and go on."""
        now = self.clock()
        reminded: list[str] = []
        for beschluss_id in self.repository.overdue_beschluss_ids(now.date()):
            try:
                beschluss = self.repository.beschluss(beschluss_id)
                if beschluss.remind(now.date(), now) is None:
                    continue
                self.repository.save_beschluss(beschluss)
            except (FailedPrecondition, NotFound):
                continue  # another worker reminded (or the Beschluss changed) meanwhile
            reminded.append(beschluss_id)
        return reminded

    # ------------------------------------------------------------------ Projektgruppen

    def establish_projektgruppe(
        self,
        actor: Actor,
        *,
        name: str,
        topic: Topic,
        mandate_beschluss_id: str,
        members: list[ProjektgruppenMember],
    ) -> Projektgruppe:
        mandate = self.repository.beschluss(mandate_beschluss_id)
        require(actor, Action.MANAGE_PROJEKTGRUPPE, beschluss=mandate)
        group = Projektgruppe.establish(
            name=name, topic=topic, mandate=mandate, now=self.clock(), members=members
        )
        self.repository.save_projektgruppe(group)
        return group

    def projektgruppe(self, actor: Actor, projektgruppe_id: str) -> Projektgruppe:
        group = self.repository.projektgruppe(projektgruppe_id)
        if not group.is_member(actor.person, actor.organisation):
            require(actor, Action.READ_GREMIUM, coordination_org=group.coordination_org)
        return group

    def projektgruppen(self, actor: Actor, *, page_size: int, page_token: str) -> Page[Projektgruppe]:
        require(actor, Action.READ_GREMIUM, coordination_org=self.register_org)
        return self.repository.projektgruppen(self.register_org, page_size=page_size, page_token=page_token)

    def add_projektgruppe_member(
        self, actor: Actor, projektgruppe_id: str, member: ProjektgruppenMember
    ) -> Projektgruppe:
        group = self.repository.projektgruppe(projektgruppe_id)
        require(actor, Action.MANAGE_PROJEKTGRUPPE, projektgruppe=group)
        group.add_member(member)
        self.repository.save_projektgruppe(group)
        return group

    def remove_projektgruppe_member(self, actor: Actor, projektgruppe_id: str, person: str,
                                    organisation: str = "") -> Projektgruppe:
        """`organisation` empty: a member of the koordinierende Stelle's own organisation."""
        group = self.repository.projektgruppe(projektgruppe_id)
        require(actor, Action.MANAGE_PROJEKTGRUPPE, projektgruppe=group)
        group.remove_member(person, organisation or group.coordination_org)
        self.repository.save_projektgruppe(group)
        return group

    def prepare_vorlage(self, actor: Actor, projektgruppe_id: str, draft: VorlageDraft) -> Beschlussvorlage:
        group = self.repository.projektgruppe(projektgruppe_id)
        require(actor, Action.PREPARE_VORLAGE, projektgruppe=group)
        vorlage = group.prepare_vorlage(
            title=draft.title,
            proposed_wording=draft.proposed_wording,
            submitted_by=actor.person,
            now=self.clock(),
            rationale=draft.rationale,
            evidence=draft.evidence,
            responsible_org=draft.responsible_org,
            responsible_person=draft.responsible_person,
            due_on=draft.due_on,
        )
        self.repository.save_projektgruppe(group)
        return vorlage

    # ------------------------------------------------------------------ barrier register

    def barrier_register(
        self, actor: Actor, *, projektgruppe_id: str = "", since: date | None = None
    ) -> RegisterView:
        group = self.repository.projektgruppe(projektgruppe_id) if projektgruppe_id else None
        org = group.coordination_org if group else self.register_org
        require(actor, Action.READ_BARRIER_REGISTER, coordination_org=org, projektgruppe=group)
        register = BarrierRegister(self.repository.barrier_observations(org))
        return register.view(handlungsfelder=group.handlungsfelder if group else None, since=since)

    def record_barrier(self, observation: BarrierObservation) -> bool:
        """From the worker: an anonymised barrier event; False when it was already counted."""
        return self.repository.record_barrier(self.register_org, observation)

    # ------------------------------------------------------------------ registry and erasure

    def register_proposal(self, proposal: Proposal, sender: Sender) -> str:
        """From the worker: a Fallvorschlag to this node's koordinierende Stelle. Returns
        "registered", "already registered" (a redelivery) or "consent revoked" (the erase
        request for its consent overtook it: nothing is kept). Only the owning node proposes
        its case: the event's owner node and organisation must be the verified `sender`."""
        if (proposal.owner_node, proposal.owner_org) != (sender.node_id, sender.organization):
            raise UntrustedEvent(
                "sender-not-allowed", f"Fallvorschlag {proposal.case_id} nennt den Knoten "
                f"{proposal.owner_node} ({proposal.owner_org}) als Eigentümer, kommt aber vom "
                f"Knoten {sender.node_id} ({sender.organization}).")
        if proposal.consent_id and self.repository.erased(proposal.case_id, proposal.consent_id):
            return "consent revoked"
        return "registered" if self.repository.record_proposal(proposal) else "already registered"

    def remote_open_proposals(self, coordination_org: str) -> list[Proposal]:
        """The proposals other nodes sent to `coordination_org` that no Fallkonferenz here has
        decided since they were submitted (their owners are asked for fresh briefs)."""
        proposals = self.repository.proposals(coordination_org, other_than_node=self.repository.node_id)
        decided = self.repository.decided_at(coordination_org, sorted({p.case_id for p in proposals}))
        return open_proposals(proposals, decided)

    def erase_case(self, request: ErasureRequest, sender: Sender) -> tuple[Erasure, bool]:
        """From the worker: erase what this node holds of the case, then confirm once. Returns the
        erasure and whether this call confirmed it (False: confirmed before, a redelivery).
        Only the case's owner asks: the verified `sender` must be the node that owns every
        registry entry and agenda brief of the case here, and its organisation the owner the
        request names; the confirmation goes to `sender`, never to a node the event names."""
        request = self._from_owner(request, sender)

        def erase(erasure: Erasure, now: datetime) -> None:
            self.repository.delete_proposals(request.case_id)
            for conference_id in erasure.conference_ids:
                self._erase_in_conference(conference_id, request.case_id, now)

        erasure, confirmed = self._erase_once(
            Erasure.id_for(request.case_id, request.consent_id),
            lambda erasure_id, now: self._count_erasure(erasure_id, request, now), erase)
        assert erasure is not None  # an erase request is always counted
        return erasure, confirmed

    def withdraw_coverage(self, request: ErasureRequest, recipient_org: str,
                          sender: Sender) -> tuple[Erasure | None, bool]:
        """From the worker: the revoked consent named `recipient_org`, a participant
        organisation this node hosts (the ABH's Integrationslotsin reads the agenda here), not
        this Stelle. Every stored agenda brief of the case covered for it loses that coverage
        at once, in every conference (a closed one too: the record stays, its readers follow
        the consent), then `CaseDataErased` naming `recipient_org` confirms it once. Returns
        (None, False) when nothing here was covered for it (no confirmation: this node held
        nothing for that organisation), else the erasure and whether this call confirmed it.
        The same sender rule as `erase_case`: only the case's owning node asks."""
        request = self._from_owner(request, sender)

        def counted(erasure_id: str, now: datetime) -> Erasure | None:
            conference_ids = tuple(
                c for c in self.repository.conference_ids_with_case(request.case_id)
                if self.repository.conference(c).covers_for(request.case_id, recipient_org))
            if not conference_ids:
                return None
            return Erasure(
                erasure_id=erasure_id, case_id=request.case_id, pseudonym=request.pseudonym,
                owner_node=request.owner_node, owner_org=request.owner_org,
                consent_id=request.consent_id, coordination_org=self.register_org,
                erased_by_node=self.repository.node_id, requested_at=now,
                conference_ids=conference_ids, erased_for_org=recipient_org,
                withheld=len(conference_ids),
            )

        def withdraw(erasure: Erasure, now: datetime) -> None:
            # Idempotent: a retry after a crash finds these briefs no longer covered for it.
            for conference_id in erasure.conference_ids:
                self._withdraw_in_conference(conference_id, request.case_id, recipient_org)

        return self._erase_once(Erasure.id_for(request.case_id, request.consent_id), counted, withdraw)

    def _erase_once(self, erasure_id: str, counted: Callable[[str, datetime], Erasure | None],
                    steps: Callable[[Erasure, datetime], None]) -> tuple[Erasure | None, bool]:
        """One erasure of an erase request, however often it is delivered: counted once (what
        `counted` finds; None: nothing held here, nothing to confirm), its idempotent `steps`
        (a retry after a crash finds less to do, the counts stay the first ones), then
        confirmed once. Returns the erasure and whether this call confirmed it."""
        erasure = self.repository.erasure(erasure_id)
        if erasure is not None and erasure.confirmed:
            return erasure, False
        now = self.clock()
        if erasure is None:
            erasure = counted(erasure_id, now)
            if erasure is None:
                return None, False
            try:
                self.repository.save_erasure(erasure)
            except AlreadyExists:  # another worker counted it first: go on with its counts
                erasure = self.repository.erasure(erasure_id)
                assert erasure is not None
                if erasure.confirmed:
                    return erasure, False
        steps(erasure, now)
        erasure.confirm(now)
        try:
            self.repository.save_erasure(erasure)
        except FailedPrecondition:  # another worker confirmed meanwhile
            return erasure, False
        return erasure, True

    def _withdraw_in_conference(self, conference_id: str, case_id: str, organisation: str) -> None:
        self._change_conference(conference_id, lambda c: c.withdraw_coverage(case_id, organisation))

    def _from_owner(self, request: ErasureRequest, sender: Sender) -> ErasureRequest:
        """The request as the verified `sender` may make it: only the node that owns every
        registry entry and agenda brief of the case here, and its organisation the owner the
        request names. Owner node and organisation are then the sender's, never what the
        event names."""
        holders = self._holders(request.case_id)
        if (holders - {sender.node_id}) or request.owner_org not in ("", sender.organization):
            raise UntrustedEvent(
                "sender-not-allowed", f"Löschersuchen für den Fall {request.case_id} kommt vom "
                f"Knoten {sender.node_id} ({sender.organization}); der Fall gehört "
                f"{', '.join(sorted(holders)) or request.owner_org}.")
        return replace(request, owner_node=sender.node_id,
                       owner_org=request.owner_org or sender.organization)

    def holds_case(self, case_id: str, consent_id: str) -> bool:
        """Whether an agenda here (any status) has the case, or an erasure under the consent
        was begun (a crash before its confirmation: the redelivery finishes it)."""
        return bool(self.repository.conference_ids_with_case(case_id)) or (
            self.repository.erasure(Erasure.id_for(case_id, consent_id)) is not None)

    def _holders(self, case_id: str) -> set[str]:
        """The owner nodes this node's registry and agendas name for the case."""
        owners = {p.owner_node for p in self.repository.proposals_of_case(case_id)}
        for conference_id in self.repository.conference_ids_with_case(case_id):
            owners.update(i.brief.owner_node for i in self.repository.conference(conference_id).agenda
                          if i.case_id == case_id)
        return {o for o in owners if o}

    def _count_erasure(self, erasure_id: str, request: ErasureRequest, now: datetime) -> Erasure:
        proposals = self.repository.proposals_of_case(request.case_id)
        outcomes: dict[str, ErasureOutcome] = {}
        for conference_id in self.repository.conference_ids_with_case(request.case_id):
            # A dry run on a loaded copy (not saved): what the erasure will do there.
            loaded = self.repository.conference(conference_id)
            outcomes[conference_id] = loaded.erase_case(request.case_id, now)
        return Erasure(
            erasure_id=erasure_id,
            case_id=request.case_id,
            pseudonym=request.pseudonym or next((p.pseudonym for p in proposals), ""),
            owner_node=request.owner_node or next((p.owner_node for p in proposals), ""),
            owner_org=request.owner_org,
            consent_id=request.consent_id,
            coordination_org=self.register_org,
            erased_by_node=self.repository.node_id,
            requested_at=now,
            proposals=len(proposals),
            withdrawn=sum(o is ErasureOutcome.WITHDRAWN for o in outcomes.values()),
            details_erased=sum(o is ErasureOutcome.DETAILS_ERASED for o in outcomes.values()),
            kept_in_records=sum(o is ErasureOutcome.KEPT_IN_RECORD for o in outcomes.values()),
            conference_ids=tuple(
                c for c, o in outcomes.items()
                if o in (ErasureOutcome.WITHDRAWN, ErasureOutcome.DETAILS_ERASED)
            ),
        )

    def _erase_in_conference(self, conference_id: str, case_id: str, now: datetime) -> None:
        self._change_conference(conference_id, lambda c: c.erase_case(case_id, now) in (
            ErasureOutcome.WITHDRAWN, ErasureOutcome.DETAILS_ERASED))

    def _change_conference(self, conference_id: str, change: Callable[[Fallkonferenz], bool],
                           attempts: int = 5) -> None:
        """Loads the Fallkonferenz, applies `change` (True: something changed) and saves it; a
        coordinator who saved it meanwhile makes it reload and apply the change again."""
        for attempt in range(attempts):
            conference = self.repository.conference(conference_id)
            if not change(conference):
                return
            try:
                self.repository.save_conference(conference)
                return
            except FailedPrecondition:  # a coordinator saved the conference meanwhile: reload
                if attempt == attempts - 1:
                    raise
