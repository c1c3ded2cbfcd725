"""The case aggregate (Fall): its lifecycle, consent, Bedarfsermittlung, Integrationsplan,
barriers, journal and assignment, everything except the person's identifying data.

The values it holds live in modules by job: the Fallvorschlag and the conference's decisions
(`proposal`), needs, goals, steps and reviews (`plan`), `barriers`, journal notes and
assignments (`journal`), consents (`consent`), closures and reopenings (`lifecycle`); calendar
days in `dates`. This module holds the rules that change them.

Every method validates its whole command first (InvalidArgument with German field violations)
and checks the state (FailedPrecondition naming the current state) before it changes anything,
then applies the change and appends the domain events to `pending_events`. Who may call which
method is decided beforehand by `policy.authorize`; the aggregate records who acted.
"""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass, field, replace
from datetime import date, datetime

from kimnetz.errors import FailedPrecondition, FieldViolation, InvalidArgument, NotFound
from kimnetz.validation import LONG_TEXT, Violations, format_date
from services.case.domain import commands as c, events as e
from services.case.domain.barriers import Barrier
from services.case.domain.consent import Consent, Coverage, ErasureConfirmation, coverage
from services.case.domain.dates import BERLIN, add_months, local_date
from services.case.domain.journal import Assignment, JournalNote
from services.case.domain.lifecycle import (
    OPEN_STATES,
    WORKING_STATES,
    Closure,
    Reopening,
    Transition,
    ensure_state,
    ensure_transition,
)
from services.case.domain.person import Person, build_person
from services.case.domain.plan import Goal, NeedAssessment, ProgressEntry, Review, Step
from services.case.domain.policy import Actor
from services.case.domain.proposal import Decision, Proposal
from services.case.domain.pseudonym import new_pseudonym
from services.case.domain.reminders import Occasion, SentReminder
from services.case.domain.vocabulary import (
    AccessRoute,
    BarrierCategory,
    BarrierStatus,
    CaseStatus,
    ClosureReason,
    ConsentKind,
    ConsentPurpose,
    DataCategory,
    Gender,
    GoalOutcome,
    Handlungsfeld,
    Kommune,
    Priority,
    ProposerKind,
    Rechtskreis,
    ReferralTarget,
    ReminderKind,
    StepStatus,
)
from services.case.domain.zielgruppen import EligibilityResult, ZielgruppenCatalogue, check_eligibility

S = CaseStatus
REVIEW_INTERVAL_MONTHS = 3

#: What a Fallübergabe to another organisation discloses: the whole case.
TRANSFER_CATEGORIES: tuple[DataCategory, ...] = (DataCategory.STAMMDATEN, DataCategory.FALLDOKUMENTATION)
#: What discussing a case in the Fallkonferenz of another organisation discloses: the
#: Fallvorschlag and the pseudonymised brief.
CONFERENCE_CATEGORIES: tuple[DataCategory, ...] = (DataCategory.FALLDOKUMENTATION,)


def new_id() -> str:
    return uuid.uuid4().hex


@dataclass
class Case:
    case_id: str
    pseudonym: str
    owner_org: str
    coordination_org: str
    status: CaseStatus
    proposal: Proposal
    eligibility: EligibilityResult
    created_at: datetime
    updated_at: datetime
    #: Where the case was sent: the koordinierende Stelle it was proposed to, the conference
    #: organisations named at SubmitForReview, a former owner. Never an authority to read: the
    #: policy releases data to these organisations only while a consent covers them (and the
    #: list does not shrink on revocation). Stored under its old name.
    access_orgs: list[str] = field(default_factory=list)
    case_manager: str = ""
    consents: list[Consent] = field(default_factory=list)
    decisions: list[Decision] = field(default_factory=list)
    needs: list[NeedAssessment] = field(default_factory=list)
    goals: list[Goal] = field(default_factory=list)
    barriers: list[Barrier] = field(default_factory=list)
    journal: list[JournalNote] = field(default_factory=list)
    assignments: list[Assignment] = field(default_factory=list)
    reviews: list[Review] = field(default_factory=list)
    closures: list[Closure] = field(default_factory=list)
    reopenings: list[Reopening] = field(default_factory=list)
    next_review_due: date | None = None
    #: The person's home Kommune and Geschlecht, copied from the person when it is proposed or
    #: changed: reports count cases per Kommune and by gender, also after retention erased the
    #: person (a Kommune and a gender alone identify nobody; figures suppress small numbers).
    home_kommune: Kommune | None = None
    gender: Gender = Gender.OHNE_ANGABE
    #: The occasions the case manager was reminded of (domain/reminders.py): once each.
    reminders: list[SentReminder] = field(default_factory=list)
    #: Optimistic concurrency: the repository saves only over the version it loaded.
    version: int = 0
    pending_events: list[e.Event] = field(default_factory=list, compare=False, repr=False)

    # -- creation ----------------------------------------------------------------------------

    @classmethod
    def propose(
        cls, command: c.ProposeCase, actor: Actor, now: datetime, catalogue: ZielgruppenCatalogue,
        *, case_id: str | None = None, pseudonym: str | None = None,
    ) -> tuple[Case, Person]:
        """A new Fallvorschlag and the person it is about, checked against `catalogue`."""
        today = local_date(now)
        case_id = case_id or new_id()
        v = Violations()
        owner = v.identifier("owner_org", command.owner_org)
        coordination = v.identifier("coordination_org", command.coordination_org)
        kind = v.enum("proposer_kind", ProposerKind, command.proposer_kind)
        unit = v.text("proposer_unit", command.proposer_unit, required=False, max_len=200)
        reason = v.text("reason", command.reason, max_len=LONG_TEXT)
        fields = v.enums("handlungsfelder", Handlungsfeld, command.handlungsfelder, min_items=1)
        circles = v.enums("rechtskreise", Rechtskreis, command.rechtskreise)
        route = v.enum("access_route", AccessRoute, command.access_route, required=False)
        person = build_person(case_id, command.person, today, v)
        v.raise_if_any("Der Fallvorschlag ist unvollständig oder fehlerhaft.")
        assert person is not None and kind is not None
        case = cls(
            case_id=case_id,
            pseudonym=pseudonym or new_pseudonym(today.year),
            owner_org=owner,
            coordination_org=coordination,
            status=S.PROPOSED,
            proposal=Proposal(actor.subject, actor.organization, kind, unit, reason, fields, circles, now,
                              access_route=route),
            eligibility=check_eligibility(person, catalogue, today),
            created_at=now,
            updated_at=now,
            access_orgs=[coordination] if coordination != owner else [],
            home_kommune=person.home_kommune,
            gender=person.gender,
        )
        case._emit(e.CaseProposed, now, coordination_org=coordination, handlungsfelder=fields,
                   rechtskreise=circles, zielgruppen_version=catalogue.version,
                   zielgruppen=case.eligibility.matched, eligible=case.eligibility.eligible)
        return case, person

    def update_person(self, command: c.UpdatePerson, current: Person, actor: Actor, now: datetime,
                      catalogue: ZielgruppenCatalogue) -> tuple[Person, tuple[str, ...]]:
        """The person's data replaced as a whole, validated completely before anything changes
        (so an error leaves person and case as they were), then the case checked again against
        `catalogue`, the current Zielgruppen: a new Aufenthaltsstatus can open or close a
        Zielgruppe. Returns the new person and the names of the changed parts (for the audit
        trail, which must not hold the values). Not on a closed case: it only awaits deletion."""
        v = Violations()
        person = build_person(self.case_id, command.person, local_date(now), v)
        v.raise_if_any("Die Personendaten sind unvollständig oder fehlerhaft.")
        assert person is not None
        ensure_state(self.status, frozenset(S) - {S.CLOSED}, "Eine Änderung der Personendaten")
        changed = tuple(f.name for f in dataclasses.fields(Person)
                        if getattr(person, f.name) != getattr(current, f.name))
        self.home_kommune, self.gender = person.home_kommune, person.gender
        self._recheck(person, catalogue, now, "person_updated")
        return person, changed

    def recheck_eligibility(self, person: Person, catalogue: ZielgruppenCatalogue, now: datetime) -> None:
        """A new Zielgruppen version arrived: open proposals, not yet decided by the conference,
        are checked against it (decided cases keep the check their decision was based on)."""
        ensure_state(self.status, frozenset({S.PROPOSED, S.IN_REVIEW, S.DEFERRED}),
                     "Eine erneute Zielgruppenprüfung")
        self._recheck(person, catalogue, now, "zielgruppen_version")

    # -- conference ----------------------------------------------------------------------------

    def submit_for_review(self, command: c.SubmitForReview, actor: Actor, now: datetime) -> None:
        """On the agenda of the next Fallkonferenz. Only with a consent that lets the case be
        discussed there: the conference is run by the koordinierende Stelle."""
        v = Violations()
        orgs = [v.identifier(f"conference_orgs[{i}]", o) for i, o in enumerate(command.conference_orgs)]
        note = v.text("note", command.note, required=False, max_len=LONG_TEXT)
        v.raise_if_any()
        ensure_transition(Transition.SUBMIT_FOR_REVIEW, self.status)
        consent_id = ""
        if self.coordination_org != self.owner_org:
            covered = self.conference_coverage(self.coordination_org, local_date(now))
            if not covered.allowed:
                raise FailedPrecondition(
                    "Für die Beratung in der Fallkonferenz fehlt eine gültige Einwilligung. "
                    + covered.reason)
            consent_id = covered.consent_ids[0]
        self.status = S.IN_REVIEW
        for org in orgs:
            if org != self.owner_org and org not in self.access_orgs:
                self.access_orgs.append(org)
        if note:
            self._journal(f"Zur Fallkonferenz angemeldet: {note}", actor, now)
        self._touch(now)
        # The brief and the owner node are added by the service layer, which holds the person
        # and knows the node (`with_brief`, the repository).
        self._emit(e.CaseSubmittedForReview, now, coordination_org=self.coordination_org,
                   conference_orgs=tuple(orgs), consent_id=consent_id)

    def admit(self, command: c.AdmitCase, actor: Actor, now: datetime) -> None:
        """Aufnahme ins Case Management, assigned to a case manager of a given organisation
        (another organisation than the owner means the case is handed over to it)."""
        v = Violations()
        manager = v.identifier("case_manager", command.case_manager)
        org = v.identifier("case_manager_org", command.case_manager_org)
        ref = v.text("decision_reference", command.decision_reference, required=False)
        note = v.text("note", command.note, required=False, max_len=LONG_TEXT)
        v.raise_if_any()
        ensure_transition(Transition.ADMIT, self.status)
        if org != self.owner_org:
            self._ensure_transfer_consent(org, now)
        self._decide(S.ADMITTED, actor, now, ref, note)
        self._assign(manager, org, actor, now, "Aufnahme ins Case Management")
        self._emit(e.CaseAdmitted, now, case_manager=manager, case_manager_org=org, decision_reference=ref)

    def refer(self, command: c.ReferCase, actor: Actor, now: datetime) -> None:
        v = Violations()
        target = v.enum("target", ReferralTarget, command.target)
        name = v.text("target_name", command.target_name, required=target is ReferralTarget.OTHER)
        ref = v.text("decision_reference", command.decision_reference, required=False)
        note = v.text("note", command.note, required=False, max_len=LONG_TEXT)
        v.raise_if_any()
        assert target is not None
        ensure_transition(Transition.REFER, self.status)
        self._decide(S.REFERRED, actor, now, ref, note, referral_target=target, referral_name=name)
        self._emit(e.CaseReferred, now, target=target, target_name=name, decision_reference=ref)

    def reject(self, command: c.RejectCase, actor: Actor, now: datetime) -> None:
        v = Violations()
        reason = v.text("reason", command.reason, max_len=LONG_TEXT)
        ref = v.text("decision_reference", command.decision_reference, required=False)
        v.raise_if_any()
        ensure_transition(Transition.REJECT, self.status)
        self._decide(S.REJECTED, actor, now, ref, reason)
        self._emit(e.CaseRejected, now, decision_reference=ref)

    def defer(self, command: c.DeferCase, actor: Actor, now: datetime) -> None:
        v = Violations()
        reason = v.text("reason", command.reason, max_len=LONG_TEXT)
        ref = v.text("decision_reference", command.decision_reference, required=False)
        until = v.date_value("until", command.until, required=False, not_before=local_date(now))
        v.raise_if_any()
        ensure_transition(Transition.DEFER, self.status)
        self._decide(S.DEFERRED, actor, now, ref, reason, deferred_until=until)
        self._emit(e.CaseDeferred, now, until=until, decision_reference=ref)

    # -- assessment and plan -------------------------------------------------------------------

    def start_assessment(self, command: c.StartAssessment, actor: Actor, now: datetime) -> None:
        ensure_transition(Transition.START_ASSESSMENT, self.status)
        self.status = S.ASSESSMENT
        self._touch(now)
        self._emit(e.AssessmentStarted, now)

    def record_need(self, command: c.RecordNeed, actor: Actor, now: datetime) -> None:
        v = Violations()
        hf = v.enum("handlungsfeld", Handlungsfeld, command.handlungsfeld)
        need = v.text("need", command.need, max_len=LONG_TEXT)
        resources = v.text("resources", command.resources, required=False, max_len=LONG_TEXT)
        priority = v.enum("priority", Priority, command.priority)
        v.raise_if_any()
        assert hf is not None and priority is not None
        ensure_state(self.status, frozenset({S.ASSESSMENT, S.PLANNING, S.ACTIVE}), "Die Bedarfsermittlung")
        assessment = NeedAssessment(hf, need, resources, priority, now, actor.subject)
        self.needs = [n for n in self.needs if n.handlungsfeld is not hf] + [assessment]
        self._touch(now)
        self._emit(e.NeedRecorded, now, handlungsfeld=hf, priority=priority)

    def start_planning(self, command: c.StartPlanning, actor: Actor, now: datetime) -> None:
        ensure_transition(Transition.START_PLANNING, self.status)
        if not self.needs:
            raise FailedPrecondition(
                "Vor der Integrationsplanung ist mindestens ein Bedarf zu erfassen.")
        self.status = S.PLANNING
        self._touch(now)
        self._emit(e.PlanningStarted, now)

    def add_goal(self, command: c.AddGoal, actor: Actor, now: datetime) -> Goal:
        v = Violations()
        title = v.text("title", command.title, max_len=200)
        hf = v.enum("handlungsfeld", Handlungsfeld, command.handlungsfeld)
        due = v.date_value("due_on", command.due_on, required=False, not_before=local_date(now))
        v.raise_if_any()
        assert hf is not None
        ensure_state(self.status, frozenset({S.PLANNING, S.ACTIVE}), "Ein Ziel anzulegen")
        goal = Goal(new_id(), title, hf, due, now)
        self.goals.append(goal)
        self._touch(now)
        self._emit(e.GoalAdded, now, goal_id=goal.goal_id, handlungsfeld=hf, due_on=due)
        return goal

    def add_step(self, command: c.AddStep, actor: Actor, now: datetime) -> Step:
        v = Violations()
        description = v.text("description", command.description, max_len=1000)
        responsible = v.text("responsible", command.responsible, max_len=200)
        circle = v.enum("rechtskreis", Rechtskreis, command.rechtskreis, required=False)
        due = v.date_value("due_on", command.due_on, required=False, not_before=local_date(now))
        v.raise_if_any()
        ensure_state(self.status, frozenset({S.PLANNING, S.ACTIVE}), "Einen Schritt anzulegen")
        goal = self._goal(command.goal_id)
        step = Step(new_id(), description, responsible, circle, due)
        goal.steps.append(step)
        self._touch(now)
        self._emit(e.StepAdded, now, goal_id=goal.goal_id, step_id=step.step_id, rechtskreis=circle,
                   due_on=due)
        return step

    def finish_step(self, command: c.FinishStep, actor: Actor, now: datetime) -> None:
        v = Violations()
        status = v.enum("status", StepStatus, command.status)
        note = v.text("note", command.note, required=False, max_len=LONG_TEXT)
        if status is StepStatus.OPEN:
            v.add("status", "Ein Schritt wird als „erledigt“ oder „entfallen“ abgeschlossen.")
        v.raise_if_any()
        assert status is not None
        ensure_state(self.status, frozenset({S.PLANNING, S.ACTIVE}), "Einen Schritt abzuschließen")
        goal = self._goal(command.goal_id)
        step = next((s for s in goal.steps if s.step_id == command.step_id), None)
        if step is None:
            raise NotFound("Schritt nicht gefunden.")
        if step.status is not StepStatus.OPEN:
            raise FailedPrecondition(f"Der Schritt ist bereits „{step.status.label}“.")
        step.status, step.finished_at, step.note = status, now, note
        self._touch(now)
        self._emit(e.StepFinished, now, goal_id=goal.goal_id, step_id=step.step_id,
                   done=status is StepStatus.DONE)

    def record_progress(self, command: c.RecordProgress, actor: Actor, now: datetime) -> ProgressEntry:
        v = Violations()
        note = v.text("note", command.note, max_len=LONG_TEXT)
        v.raise_if_any()
        ensure_state(self.status, frozenset({S.PLANNING, S.ACTIVE}), "Ein Fortschrittseintrag")
        goal = self._goal(command.goal_id)
        entry = ProgressEntry(new_id(), note, now, actor.subject)
        goal.progress.append(entry)
        self._touch(now)
        self._emit(e.ProgressRecorded, now, goal_id=goal.goal_id, entry_id=entry.entry_id)
        return entry

    def activate_plan(self, command: c.ActivatePlan, actor: Actor, now: datetime) -> None:
        """The Integrationsplan goes live; monitoring starts and the first quarterly review
        falls due three months later."""
        ensure_transition(Transition.ACTIVATE_PLAN, self.status)
        if not self.goals:
            raise FailedPrecondition("Der Integrationsplan enthält noch kein Ziel.")
        without_steps = [g.title for g in self.goals if not g.steps]
        if without_steps:
            raise FailedPrecondition(
                "Jedes Ziel braucht mindestens einen Schritt; es fehlen Schritte bei: "
                + ", ".join(f"„{t}“" for t in without_steps) + ".")
        self.status = S.ACTIVE
        self.next_review_due = add_months(local_date(now), REVIEW_INTERVAL_MONTHS)
        self._touch(now)
        self._emit(e.PlanActivated, now, next_review_due=self.next_review_due)

    def record_review(self, command: c.RecordReview, actor: Actor, now: datetime) -> None:
        today = local_date(now)
        v = Violations()
        held_on = v.date_value("held_on", command.held_on, not_after=today)
        note = v.text("note", command.note, required=False, max_len=LONG_TEXT)
        v.raise_if_any()
        assert held_on is not None
        ensure_state(self.status, frozenset({S.ACTIVE}), "Eine Fallbesprechung")
        self.reviews.append(Review(held_on, note, now, actor.subject))
        self.next_review_due = add_months(held_on, REVIEW_INTERVAL_MONTHS)
        self._touch(now)
        self._emit(e.ReviewRecorded, now, held_on=held_on, next_review_due=self.next_review_due)

    def review_due(self, on: date) -> bool:
        return self.status is S.ACTIVE and self.next_review_due is not None and self.next_review_due <= on

    # -- barriers and journal ------------------------------------------------------------------

    def record_barrier(self, command: c.RecordBarrier, actor: Actor, now: datetime) -> Barrier:
        v = Violations()
        circles = v.enums("rechtskreise", Rechtskreis, command.rechtskreise, min_items=1)
        category = v.enum("category", BarrierCategory, command.category)
        description = v.text("description", command.description, max_len=LONG_TEXT)
        hf = v.enum("handlungsfeld", Handlungsfeld, command.handlungsfeld, required=False)
        v.raise_if_any()
        assert category is not None
        ensure_state(self.status, WORKING_STATES, "Eine Barriere zu erfassen")
        barrier = Barrier(new_id(), circles, category, description, hf, now, actor.subject)
        self.barriers.append(barrier)
        self._touch(now)
        self._emit(e.BarrierRecorded, now, barrier_id=barrier.barrier_id, rechtskreise=circles,
                   category=category, handlungsfeld=hf)
        return barrier

    def change_barrier_status(self, command: c.ChangeBarrierStatus, actor: Actor, now: datetime) -> None:
        v = Violations()
        status = v.enum("status", BarrierStatus, command.status)
        note = v.text("note", command.note, required=False, max_len=LONG_TEXT)
        v.raise_if_any()
        assert status is not None
        barrier = next((b for b in self.barriers if b.barrier_id == command.barrier_id), None)
        if barrier is None:
            raise NotFound("Barriere nicht gefunden.")
        if barrier.status is status:
            raise FailedPrecondition(f"Die Barriere ist bereits „{status.label}“.")
        barrier.status, barrier.status_note, barrier.status_changed_at = status, note, now
        self._touch(now)
        self._emit(e.BarrierStatusChanged, now, barrier_id=barrier.barrier_id,
                   category=barrier.category, status=status)

    def add_journal_note(self, command: c.AddJournalNote, actor: Actor, now: datetime) -> JournalNote:
        v = Violations()
        text = v.text("text", command.text, max_len=LONG_TEXT)
        v.raise_if_any()
        ensure_state(self.status, frozenset(S) - {S.CLOSED}, "Ein Journaleintrag")
        note = self._journal(text, actor, now)
        self._emit(e.JournalNoteAdded, now, note_id=note.note_id)
        return note

    # -- assignment ------------------------------------------------------------------------------

    def assign_case_manager(self, command: c.AssignCaseManager, actor: Actor, now: datetime) -> None:
        v = Violations()
        manager = v.identifier("case_manager", command.case_manager)
        reason = v.text("reason", command.reason, required=False, max_len=1000)
        v.raise_if_any()
        ensure_state(self.status, WORKING_STATES, "Eine Zuweisung")
        if manager == self.case_manager:
            raise FailedPrecondition("Der Fall ist dieser Person bereits zugewiesen.")
        previous = self.case_manager
        self._assign(manager, self.owner_org, actor, now, reason)
        self._emit(e.CaseManagerAssigned, now, case_manager=manager, previous_case_manager=previous)

    def transfer(self, command: c.TransferCase, actor: Actor, now: datetime) -> None:
        v = Violations()
        org = v.identifier("to_org", command.to_org)
        manager = v.identifier("to_case_manager", command.to_case_manager)
        reason = v.text("reason", command.reason, max_len=1000)
        if org and org == self.owner_org:
            v.add("to_org", "Innerhalb der eigenen Organisation wird zugewiesen, nicht übergeben.")
        v.raise_if_any()
        ensure_state(self.status, WORKING_STATES, "Eine Übergabe")
        self._ensure_transfer_consent(org, now)
        previous_org = self.owner_org
        self._assign(manager, org, actor, now, reason)
        self._emit(e.CaseTransferred, now, from_org=previous_org, to_org=org, to_case_manager=manager)

    # -- reminders -------------------------------------------------------------------------------

    def reminded(self, kind: ReminderKind, due_on: date) -> bool:
        return any(r.kind is kind and r.due_on == due_on for r in self.reminders)

    def remind(self, occasion: Occasion, now: datetime) -> bool:
        """Records that the case manager is reminded of `occasion` and emits `CaseReminderDue`,
        once per occasion: False (and nothing changes) if it was reminded before. Only on an
        open case. Not a change of the case's work, so `updated_at` stays."""
        ensure_state(self.status, OPEN_STATES, "Eine Erinnerung")
        if self.reminded(occasion.kind, occasion.due_on):
            return False
        self.reminders.append(SentReminder(occasion.kind, occasion.due_on, now))
        self._emit(e.CaseReminderDue, now, kind=occasion.kind, due_on=occasion.due_on,
                   remind_from=occasion.remind_from, case_manager=self.case_manager)
        return True

    # -- consent -------------------------------------------------------------------------------

    def record_consent(self, command: c.RecordConsent, actor: Actor, now: datetime) -> Consent:
        today = local_date(now)
        v = Violations()
        kind = v.enum("kind", ConsentKind, command.kind)
        recipient = v.identifier("recipient_org", command.recipient_org)
        purposes = v.enums("purposes", ConsentPurpose, command.purposes, min_items=1)
        categories = v.enums("categories", DataCategory, command.categories, min_items=1)
        signed = v.date_value("signed_on", command.signed_on, not_after=today)
        expires = v.date_value("expires_on", command.expires_on, required=False)
        if expires is not None:
            if expires < today:
                v.add("expires_on", f"Die Einwilligung ist bereits am {format_date(expires)} abgelaufen.")
            elif signed is not None and expires <= signed:
                v.add("expires_on", "Das Ablaufdatum muss nach dem Datum der Unterschrift liegen.")
        v.raise_if_any("Die Einwilligung ist unvollständig oder fehlerhaft.")
        assert kind is not None and signed is not None
        ensure_state(self.status, frozenset(S) - {S.CLOSED}, "Eine Einwilligung zu erfassen")
        consent = Consent(new_id(), kind, recipient, purposes, categories, signed, expires,
                          actor.subject, now)
        self.consents.append(consent)
        self._touch(now)
        self._emit(e.ConsentRecorded, now, consent_id=consent.consent_id, recipient_org=recipient,
                   purposes=purposes, categories=categories, signed_on=signed, expires_on=expires)
        return consent

    def revoke_consent(self, command: c.RevokeConsent, actor: Actor, now: datetime) -> Consent:
        """Revocation is possible in every state (also closed): it must always stop sharing."""
        v = Violations()
        revoked_on = v.date_value("revoked_on", command.revoked_on, not_after=local_date(now))
        reason = v.text("reason", command.reason, required=False, max_len=1000)
        v.raise_if_any()
        assert revoked_on is not None
        index = next((i for i, k in enumerate(self.consents) if k.consent_id == command.consent_id), None)
        if index is None:
            raise NotFound("Einwilligung nicht gefunden.")
        consent = self.consents[index]
        if consent.revoked_on is not None:
            raise FailedPrecondition(
                f"Die Einwilligung wurde bereits am {format_date(consent.revoked_on)} widerrufen.")
        if revoked_on < consent.signed_on:
            raise InvalidArgument([FieldViolation("revoked_on", "Der Widerruf liegt vor der Unterschrift.")])
        revoked = replace(consent, revoked_on=revoked_on, revocation_reason=reason)
        self.consents[index] = revoked
        self._touch(now)
        self._emit(e.ConsentRevoked, now, consent_id=consent.consent_id,
                   recipient_org=consent.recipient_org, revoked_on=revoked_on)
        return revoked

    def confirm_erasure(self, command: c.ConfirmErasure, actor: Actor, now: datetime) -> ErasureConfirmation:
        """A node of the revoked consent's recipient organisation erased what it held of the
        case: recorded on the consent and in the journal, in every state (also closed, as the
        revocation itself). A node confirms a revocation once; a confirmation of a consent that
        is not revoked, or from an organisation the consent did not name, is refused."""
        v = Violations()
        node = v.identifier("erased_by_node", command.erased_by_node)
        org = v.identifier("erased_by_org", command.erased_by_org)
        summary = v.text("summary", command.summary, required=False, max_len=1000)
        if command.erased_at is None:
            v.add("erased_at", "Zeitpunkt der Löschung fehlt.")
        v.raise_if_any("Die Löschbestätigung ist unvollständig.")
        assert command.erased_at is not None
        index = next((i for i, k in enumerate(self.consents) if k.consent_id == command.consent_id), None)
        if index is None:
            raise NotFound("Einwilligung nicht gefunden.")
        consent = self.consents[index]
        if consent.revoked_on is None:
            raise FailedPrecondition(
                "Die Einwilligung ist nicht widerrufen; eine Löschung wurde nicht verlangt.")
        if org != consent.recipient_org:
            raise FailedPrecondition(
                f"Die Einwilligung galt der Organisation {consent.recipient_org}; von {org} wird keine "
                "Löschbestätigung erwartet.")
        if any(k.node == node for k in consent.erasure_confirmations):
            raise FailedPrecondition(f"Der Knoten {node} hat die Löschung bereits bestätigt.")
        confirmation = ErasureConfirmation(node, org, command.erased_at, summary, now)
        self.consents[index] = replace(
            consent, erasure_confirmations=(*consent.erasure_confirmations, confirmation))
        erased = command.erased_at.astimezone(BERLIN)
        self._journal(f"Löschung bestätigt durch {org} (Knoten {node}) am {format_date(erased.date())} "
                      f"um {erased:%H:%M} Uhr" + (f": {summary}" if summary else "."), actor, now)
        return confirmation

    def disclosure_coverage(
        self, recipient_org: str, purpose: ConsentPurpose, categories: tuple[DataCategory, ...], on: date,
    ) -> Coverage:
        return coverage(self.consents, recipient_org=recipient_org, purpose=purpose,
                        categories=categories, on=on)

    def conference_coverage(self, org: str, on: date) -> Coverage:
        """Whether the consents let `org`'s Fallkonferenz discuss the case on `on` (the
        Fallvorschlag to it, and every brief a node of `org` asks for later)."""
        return self.disclosure_coverage(org, ConsentPurpose.FALLKONFERENZ, CONFERENCE_CATEGORIES, on)

    # -- closure -------------------------------------------------------------------------------

    def close(self, command: c.CloseCase, actor: Actor, now: datetime) -> None:
        v = Violations()
        reason = v.enum("reason", ClosureReason, command.reason)
        note = v.text("note", command.note, required=reason is ClosureReason.OTHER, max_len=LONG_TEXT)
        outcomes: dict[str, tuple[GoalOutcome, str]] = {}
        goal_ids = {g.goal_id for g in self.goals}
        for i, entry in enumerate(command.outcomes):
            outcome = v.enum(f"outcomes[{i}].outcome", GoalOutcome, entry.outcome)
            text = v.text(f"outcomes[{i}].note", entry.note, required=False, max_len=1000)
            if entry.goal_id not in goal_ids:
                v.add(f"outcomes[{i}].goal_id", "Dieses Ziel gehört nicht zum Integrationsplan.")
            elif entry.goal_id in outcomes:
                v.add(f"outcomes[{i}].goal_id", "Für dieses Ziel ist bereits ein Ergebnis angegeben.")
            elif outcome is not None:
                outcomes[entry.goal_id] = (outcome, text)
        missing = [g.title for g in self.goals if g.goal_id not in outcomes]
        if missing and not v:
            v.add("outcomes", "Ergebnis fehlt für: " + ", ".join(f"„{t}“" for t in missing) + ".")
        v.raise_if_any("Der Abschluss ist unvollständig.")
        assert reason is not None
        ensure_transition(Transition.CLOSE, self.status)
        for goal in self.goals:
            goal.outcome, goal.outcome_note = outcomes[goal.goal_id]
        self.status = S.CLOSED
        self.next_review_due = None
        self.closures.append(Closure(reason, note, now, actor.subject))
        self._touch(now)
        counts = {o: sum(1 for g in self.goals if g.outcome is o) for o in GoalOutcome}
        self._emit(e.CaseClosed, now, reason=reason, zielgruppe=self.eligibility.primary,
                   goals_achieved=counts[GoalOutcome.ACHIEVED],
                   goals_partially_achieved=counts[GoalOutcome.PARTIALLY_ACHIEVED],
                   goals_not_achieved=counts[GoalOutcome.NOT_ACHIEVED])

    def reopen(self, command: c.ReopenCase, actor: Actor, now: datetime) -> None:
        """A closed case returns to the Bedarfsermittlung; a referred or rejected one returns
        to the Fallkonferenz. Goal outcomes of the earlier closure stay in the history."""
        v = Violations()
        reason = v.text("reason", command.reason, max_len=LONG_TEXT)
        v.raise_if_any()
        target = ensure_transition(Transition.REOPEN, self.status)
        previous = self.status
        self.reopenings.append(Reopening(previous, target, reason, now, actor.subject))
        self.status = target
        self._touch(now)
        self._emit(e.CaseReopened, now, from_status=previous, to_status=target)

    # -- queries ---------------------------------------------------------------------------------

    @property
    def sent_to(self) -> tuple[str, ...]:
        """The foreign organisations this case was sent to (`access_orgs`, and the
        koordinierende Stelle): the precondition of any release to them, never enough alone."""
        orgs = [self.coordination_org, *self.access_orgs]
        return tuple(o for o in dict.fromkeys(orgs) if o != self.owner_org)

    @property
    def submitted(self) -> bool:
        """Whether the case was submitted to its koordinierende Stelle (it left "vorgeschlagen";
        every later state passed through the Fallkonferenz): the precondition of a decision."""
        return self.status is not S.PROPOSED

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATES

    @property
    def handlungsfelder(self) -> tuple[Handlungsfeld, ...]:
        """Proposed and assessed Handlungsfelder, in first-seen order."""
        seen = list(self.proposal.handlungsfelder)
        for hf in [n.handlungsfeld for n in self.needs] + [g.handlungsfeld for g in self.goals]:
            if hf not in seen:
                seen.append(hf)
        return tuple(seen)

    @property
    def rechtskreise(self) -> tuple[Rechtskreis, ...]:
        seen = list(self.proposal.rechtskreise)
        for rk in [s.rechtskreis for g in self.goals for s in g.steps] + [
            r for b in self.barriers for r in b.rechtskreise
        ]:
            if rk is not None and rk not in seen:
                seen.append(rk)
        return tuple(seen)

    def collect_events(self) -> list[e.Event]:
        events, self.pending_events = self.pending_events, []
        return events

    # -- internals ---------------------------------------------------------------------------------

    def _goal(self, goal_id: str) -> Goal:
        goal = next((g for g in self.goals if g.goal_id == goal_id), None)
        if goal is None:
            raise NotFound("Ziel nicht gefunden.")
        return goal

    def _decide(self, outcome: CaseStatus, actor: Actor, now: datetime, ref: str, note: str,
                **extra: object) -> None:
        self.decisions.append(Decision(outcome, now, actor.subject, ref, note, **extra))  # type: ignore[arg-type]
        self.status = outcome
        self._touch(now)

    def _assign(self, manager: str, org: str, actor: Actor, now: datetime, reason: str) -> None:
        self.assignments.append(Assignment(manager, org, now, actor.subject, reason))
        self.case_manager = manager
        if org != self.owner_org:
            if self.owner_org not in self.access_orgs:
                # The former owner had the whole case: it counts as sent to it, so a consent
                # naming it can release the brief to it later (the list alone releases nothing).
                self.access_orgs.append(self.owner_org)
            self.access_orgs = [o for o in self.access_orgs if o != org]
            self.owner_org = org
        self._touch(now)

    def _ensure_transfer_consent(self, org: str, now: datetime) -> None:
        covered = self.disclosure_coverage(org, ConsentPurpose.FALLUEBERGABE, TRANSFER_CATEGORIES,
                                           local_date(now))
        if not covered.allowed:
            raise FailedPrecondition(
                "Für die Übergabe an eine andere Organisation fehlt eine gültige Einwilligung. "
                + covered.reason)

    def _journal(self, text: str, actor: Actor, now: datetime) -> JournalNote:
        note = JournalNote(new_id(), text, now, actor.subject)
        self.journal.append(note)
        self._touch(now)
        return note

    def _recheck(self, person: Person, catalogue: ZielgruppenCatalogue, now: datetime, trigger: str) -> None:
        previous = self.eligibility.catalogue_version
        self.eligibility = check_eligibility(person, catalogue, local_date(now))
        self._touch(now)
        self._emit(e.EligibilityRechecked, now, trigger=trigger, zielgruppen_version=catalogue.version,
                   previous_zielgruppen_version=previous, zielgruppen=self.eligibility.matched,
                   eligible=self.eligibility.eligible)

    def _touch(self, now: datetime) -> None:
        self.updated_at = now

    def _emit(self, event_type: type[e.Event], now: datetime, **fields: object) -> None:
        self.pending_events.append(event_type(
            case_id=self.case_id, pseudonym=self.pseudonym, owner_org=self.owner_org,
            occurred_at=now, **fields))

