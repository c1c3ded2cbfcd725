"""The case service's use cases: command in, domain call, save with events, audit entry out.

Who enters: the gRPC servicers of the api process (services/case/api.py) and the worker's event
handlers (services/case/worker.py), each with an `Actor` (mapped from the token's Principal, the
calling peer node or the deciding conference). One public method per use case, named after its
rpc in snake_case (`SubmitForReview` -> `submit_for_review`), taking domain values and returning
domain objects. Framework-free: it depends only on the `CaseRepository` port
(services/case/domain/ports.py) it is handed, so unit tests run it on the in-memory fake
(tests/support/fakes/case.py).

Every access to a case's data, allowed or refused, is written to the audit trail before the
answer leaves (who, organisation, roles, case, call, purpose). Every release of case data is
decided by the one consent gate of the domain policy (`decide`, `release_verdict`): the api's
reads and lists, the peer port's briefs, the Fallvorschlag's event. A refusal on another
organisation's case is audited with its reason and answered NotFound exactly like a case that
does not exist.

Peer nodes of the federation act through the same layer (`get_case_briefs`, `get_figures`)
as an `Actor.peer`: node, its organisation and federation role, and the person on whose behalf
it asks; their audit entries name all four.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta

from kimnetz.errors import FailedPrecondition, KimError, NotFound, PermissionDenied, UntrustedEvent
from kimnetz.runtime.event_trust import Sender
from services.case.domain import commands as c, events as e
from services.case.domain.audit import AuditDraft, AuditEntry, ChainVerification, verify_chain
from services.case.domain.brief import CaseBrief, build_brief
from services.case.domain.case import Case
from services.case.domain.dates import local_date
from services.case.domain.monitoring import Figures, monitoring_figures
from services.case.domain.person import Person
from services.case.domain.policy import (
    ALLOWED,
    CASE_NOT_FOUND,
    PEER_NO_ACCESS,
    Action,
    Actor,
    Verdict,
    decide,
    may_read_case,
    release_verdict,
)
from services.case.domain.ports import CaseFilter, CaseRepository, PseudonymTaken
from services.case.domain.retention import erased, recipients, retention_due
from services.case.domain.validation import Violations, format_date
from services.case.domain.vocabulary import CaseStatus, Role
from services.case.domain.zielgruppen import ZielgruppenCatalogue, validate_catalogue
from services.case.settings import RetentionMode

Clock = Callable[[], datetime]

#: Purpose written to the audit trail when a caller states none.
WORK = "Fallbearbeitung"
PSEUDONYM_ATTEMPTS = 5
RECHECK_ATTEMPTS = 3
UNDECIDED = frozenset({CaseStatus.PROPOSED, CaseStatus.IN_REVIEW, CaseStatus.DEFERRED})

#: Who the audit trail names for deletions by the retention timer.
RETENTION_ACTOR = Actor("kim-retention", "", frozenset({Role.DATA_PROTECTION_OFFICER.value}))
#: The audit trail's call for a receiver's answer to a retention erasure (`CaseErased`).
RETENTION_CONFIRMED = "ConfirmRetentionErasure"
#: Who the audit trail names for re-checks on a new Zielgruppen version (the worker).
ZIELGRUPPEN_ACTOR = Actor("kim-zielgruppen", "", frozenset())
#: At most this many briefs per call of a peer node (federation.proto).
MAX_PEER_BRIEFS = 200
PEER_BRIEF_PURPOSE = "Fallkonferenz"
FIGURES_DETAIL = "Aggregierte Kennzahlen, kleine Zahlen unterdrückt"


@dataclass(frozen=True)
class BriefPage:
    briefs: list[tuple[str, CaseBrief]]
    next_page_token: str


@dataclass(frozen=True)
class PeerBriefs:
    """What a peer node gets: briefs by case id, and the ids it does not get (never why)."""

    briefs: list[tuple[str, CaseBrief]]
    unavailable: list[str]


class CaseService:
    def __init__(self, repository: CaseRepository, node_org: str,
                 clock: Clock = lambda: datetime.now(UTC)) -> None:
        self.repository = repository
        self.node_org = node_org
        self.clock = clock

    # -- commands ----------------------------------------------------------------------------

    def propose_case(self, actor: Actor, command: c.ProposeCase, purpose: str = "Fallvorschlag") -> Case:
        """Cases are created on the proposing actor's own node, owned by its organisation."""
        now = self.clock()
        self._guard(actor, Action.PROPOSE, None, "ProposeCase", purpose, now)
        catalogue = self.repository.current_catalogue()
        for _ in range(PSEUDONYM_ATTEMPTS):
            case, person = Case.propose(command, actor, now, catalogue)
            try:
                self.repository.add(case, person)
            except PseudonymTaken:
                continue  # draw again
            self._audit(actor, case.case_id, "ProposeCase", purpose, True, now)
            return case
        raise KimError("Es konnte kein eindeutiges Pseudonym vergeben werden; bitte erneut versuchen.")

    # Each use case below is one rpc of kim.case.v1.CaseService (same name in snake_case) and
    # the same five steps in `_change`: load, authorise, change the aggregate, save with its
    # events, audit. `cause` is the id of the consumed event a worker applies (else "").

    def submit_for_review(self, actor: Actor, command: c.SubmitForReview, purpose: str = WORK) -> Case:
        return self._change(actor, command.case_id, Action.SUBMIT_FOR_REVIEW, "SubmitForReview",
                            purpose, lambda case, now: case.submit_for_review(command, actor, now),
                            disclose=self._with_brief)

    def admit_case(self, actor: Actor, command: c.AdmitCase, purpose: str = WORK, *,
                   cause: str = "") -> Case:
        return self._change(actor, command.case_id, Action.DECIDE, "AdmitCase", purpose,
                            lambda case, now: case.admit(command, actor, now), cause=cause)

    def refer_case(self, actor: Actor, command: c.ReferCase, purpose: str = WORK, *,
                   cause: str = "") -> Case:
        return self._change(actor, command.case_id, Action.DECIDE, "ReferCase", purpose,
                            lambda case, now: case.refer(command, actor, now), cause=cause)

    def reject_case(self, actor: Actor, command: c.RejectCase, purpose: str = WORK, *,
                    cause: str = "") -> Case:
        return self._change(actor, command.case_id, Action.DECIDE, "RejectCase", purpose,
                            lambda case, now: case.reject(command, actor, now), cause=cause)

    def defer_case(self, actor: Actor, command: c.DeferCase, purpose: str = WORK, *,
                   cause: str = "") -> Case:
        return self._change(actor, command.case_id, Action.DECIDE, "DeferCase", purpose,
                            lambda case, now: case.defer(command, actor, now), cause=cause)

    def start_assessment(self, actor: Actor, command: c.StartAssessment, purpose: str = WORK) -> Case:
        return self._change(actor, command.case_id, Action.CASE_WORK, "StartAssessment", purpose,
                            lambda case, now: case.start_assessment(command, actor, now))

    def record_need(self, actor: Actor, command: c.RecordNeed, purpose: str = WORK) -> Case:
        return self._change(actor, command.case_id, Action.CASE_WORK, "RecordNeed", purpose,
                            lambda case, now: case.record_need(command, actor, now))

    def start_planning(self, actor: Actor, command: c.StartPlanning, purpose: str = WORK) -> Case:
        return self._change(actor, command.case_id, Action.CASE_WORK, "StartPlanning", purpose,
                            lambda case, now: case.start_planning(command, actor, now))

    def add_goal(self, actor: Actor, command: c.AddGoal, purpose: str = WORK) -> Case:
        return self._change(actor, command.case_id, Action.CASE_WORK, "AddGoal", purpose,
                            lambda case, now: case.add_goal(command, actor, now))

    def add_step(self, actor: Actor, command: c.AddStep, purpose: str = WORK) -> Case:
        return self._change(actor, command.case_id, Action.CASE_WORK, "AddStep", purpose,
                            lambda case, now: case.add_step(command, actor, now))

    def finish_step(self, actor: Actor, command: c.FinishStep, purpose: str = WORK) -> Case:
        return self._change(actor, command.case_id, Action.CASE_WORK, "FinishStep", purpose,
                            lambda case, now: case.finish_step(command, actor, now))

    def record_progress(self, actor: Actor, command: c.RecordProgress, purpose: str = WORK) -> Case:
        return self._change(actor, command.case_id, Action.CASE_WORK, "RecordProgress", purpose,
                            lambda case, now: case.record_progress(command, actor, now))

    def activate_plan(self, actor: Actor, command: c.ActivatePlan, purpose: str = WORK) -> Case:
        return self._change(actor, command.case_id, Action.CASE_WORK, "ActivatePlan", purpose,
                            lambda case, now: case.activate_plan(command, actor, now))

    def record_review(self, actor: Actor, command: c.RecordReview, purpose: str = WORK) -> Case:
        return self._change(actor, command.case_id, Action.RECORD_REVIEW, "RecordReview", purpose,
                            lambda case, now: case.record_review(command, actor, now))

    def record_barrier(self, actor: Actor, command: c.RecordBarrier, purpose: str = WORK) -> Case:
        return self._change(actor, command.case_id, Action.CASE_WORK, "RecordBarrier", purpose,
                            lambda case, now: case.record_barrier(command, actor, now))

    def change_barrier_status(self, actor: Actor, command: c.ChangeBarrierStatus,
                              purpose: str = WORK) -> Case:
        return self._change(actor, command.case_id, Action.CASE_WORK, "ChangeBarrierStatus", purpose,
                            lambda case, now: case.change_barrier_status(command, actor, now))

    def add_journal_note(self, actor: Actor, command: c.AddJournalNote, purpose: str = WORK) -> Case:
        return self._change(actor, command.case_id, Action.CASE_WORK, "AddJournalNote", purpose,
                            lambda case, now: case.add_journal_note(command, actor, now))

    def assign_case_manager(self, actor: Actor, command: c.AssignCaseManager,
                            purpose: str = WORK) -> Case:
        return self._change(actor, command.case_id, Action.ASSIGN, "AssignCaseManager", purpose,
                            lambda case, now: case.assign_case_manager(command, actor, now))

    def transfer_case(self, actor: Actor, command: c.TransferCase, purpose: str = WORK) -> Case:
        return self._change(actor, command.case_id, Action.TRANSFER, "TransferCase", purpose,
                            lambda case, now: case.transfer(command, actor, now))

    def record_consent(self, actor: Actor, command: c.RecordConsent, purpose: str = WORK) -> Case:
        return self._change(actor, command.case_id, Action.MANAGE_CONSENT, "RecordConsent", purpose,
                            lambda case, now: case.record_consent(command, actor, now))

    def revoke_consent(self, actor: Actor, command: c.RevokeConsent, purpose: str = WORK) -> Case:
        return self._change(actor, command.case_id, Action.MANAGE_CONSENT, "RevokeConsent", purpose,
                            lambda case, now: case.revoke_consent(command, actor, now))

    def close_case(self, actor: Actor, command: c.CloseCase, purpose: str = WORK) -> Case:
        return self._change(actor, command.case_id, Action.CLOSE, "CloseCase", purpose,
                            lambda case, now: case.close(command, actor, now))

    def reopen_case(self, actor: Actor, command: c.ReopenCase, purpose: str = WORK) -> Case:
        return self._change(actor, command.case_id, Action.REOPEN, "ReopenCase", purpose,
                            lambda case, now: case.reopen(command, actor, now))

    def update_person(self, actor: Actor, case_id: str,
                      command: c.UpdatePerson | Callable[[], c.UpdatePerson],
                      purpose: str = WORK) -> tuple[Case, Person]:
        """New person data (e.g. a changed Aufenthaltsstatus) and the eligibility re-check
        against the current Zielgruppen, written together with the case in one versioned write;
        the audit entry names the changed parts, not their values. `command` may be a function
        that reads the request: it is called only once the actor may change this person, so a
        caller without access is refused (audited), never given a verdict on their input."""
        now = self.clock()
        case = self._load(actor, case_id, "UpdatePerson", purpose, now)
        self._guard(actor, Action.EDIT_PERSON, case, "UpdatePerson", purpose, now)
        if not isinstance(command, c.UpdatePerson):
            command = command()
        current = self.repository.get_person(case_id)
        person, changed = case.update_person(command, current, actor, now,
                                             self.repository.current_catalogue())
        self.repository.save(case, person)
        self._audit(actor, case.case_id, "UpdatePerson", purpose, True, now,
                    detail=("Geändert: " + ", ".join(changed)) if changed else "Keine Änderung")
        return case, person

    # -- what the worker consumes and runs ----------------------------------------------------

    def apply_decision(self, decision: c.Decision, event_id: str, sender: Sender) -> Case | None:
        """A Fallkonferenz decision, applied once per event id (None: already applied). The
        conference is run by the case's koordinierende Stelle, so it decides as its
        coordinator; the policy and the audit trail treat it like a decision made over the api.
        Only a node of the organisation the case was submitted to (its coordination org) may
        decide about it: `sender` is the verified node (kimnetz/runtime/event_trust.py), whatever
        the event itself claims."""
        command = decision.command
        case_id = command.case_id
        case = self.repository.get(case_id)
        if sender.organization != case.coordination_org:
            raise UntrustedEvent(
                "sender-not-allowed", f"Beschluss {event_id} zum Fall {case_id} kommt vom Knoten "
                f"{sender.node_id} ({sender.organization}); über den Fall entscheidet nur "
                f"{case.coordination_org}.")
        if self.repository.applied(event_id):
            return None
        actor = Actor(decision.decided_by or "fallkonferenz", case.coordination_org,
                      frozenset({Role.COORDINATOR.value}))
        purpose = "Beschluss der Fallkonferenz"
        if isinstance(command, c.AdmitCase):
            return self.admit_case(actor, command, purpose, cause=event_id)
        if isinstance(command, c.ReferCase):
            return self.refer_case(actor, command, purpose, cause=event_id)
        if isinstance(command, c.DeferCase):
            return self.defer_case(actor, command, purpose, cause=event_id)
        return self.reject_case(actor, command, purpose, cause=event_id)

    def confirm_erasure(self, report: c.ErasureReport, event_id: str, sender: Sender) -> Case | None:
        """A receiving node's answer to an erase request, recorded once per event id (None:
        already recorded, or the answer to a retention erasure). The audit entry names that
        node and its organisation as the actor: it reported, this node only writes it down.
        Only the verified `sender` can confirm: for itself, and for a revoked consent only if
        its organisation is the one the consent named (the holder that was asked to erase);
        or, for a revoked consent only, the node of the case's koordinierende Stelle for an
        organisation it hosts as a Fallkonferenz participant (the ABH has no node: its
        Integrationslotsin reads agenda briefs at the Kreis), if the consent named that
        organisation. Then `erased_by_node` is still the sender, `erased_by_org` the hosted one.
        The answer to a retention erasure (`CaseErased`, no consent id) goes to the audit
        trail only: the case it confirms may be gone."""
        command = report.command
        hosted = (command.consent_id != "" and sender.node_id == command.erased_by_node
                  and sender.organization != command.erased_by_org)
        if not hosted and (sender.node_id, sender.organization) != (
                command.erased_by_node, command.erased_by_org):
            raise UntrustedEvent(
                "sender-not-allowed", f"Löschbestätigung {event_id} nennt {command.erased_by_node} "
                f"({command.erased_by_org}), kommt aber vom Knoten {sender.node_id} "
                f"({sender.organization}).")
        if command.consent_id:
            held = self.repository.get(command.case_id)
            consent = next((k for k in held.consents if k.consent_id == command.consent_id), None)
            if hosted and (consent is None or held.coordination_org != sender.organization):
                raise UntrustedEvent(
                    "sender-not-allowed", f"Löschbestätigung {event_id} für {command.erased_by_org} "
                    f"kommt vom Knoten {sender.node_id} ({sender.organization}); für eine "
                    "teilnehmende Organisation bestätigt nur der Knoten der koordinierenden Stelle "
                    f"des Falls ({held.coordination_org or 'keine'}).")
            if consent is not None and consent.recipient_org != command.erased_by_org:
                raise UntrustedEvent(
                    "sender-not-allowed", f"Löschbestätigung {event_id}: die Einwilligung "
                    f"{command.consent_id} galt {consent.recipient_org}, nicht {command.erased_by_org}.")
        now = self.clock()
        actor = Actor.peer(command.erased_by_node, command.erased_by_org, "")
        if not command.consent_id:
            trail = self.repository.audit_entries(command.case_id, 0, 1000)
            if not any(e.call.startswith("Retention") for e in trail) or any(
                    e.call == RETENTION_CONFIRMED and e.actor_node == command.erased_by_node
                    for e in trail):
                return None  # no retention erased this case here, or this node confirmed it
            self._audit(actor, command.case_id, RETENTION_CONFIRMED, "Löschbestätigung", True,
                        now, detail=f"Löschung nach Löschfrist: {command.summary or 'gelöscht'}"[:500])
            return None
        if self.repository.applied(event_id):
            return None
        case = self._load(actor, command.case_id, "ConfirmErasure", "Löschbestätigung", now)
        case.confirm_erasure(command, actor, now)
        self.repository.save(case, cause=event_id)
        self._audit(actor, case.case_id, "ConfirmErasure", "Löschbestätigung", True, now,
                    detail=f"Einwilligung {command.consent_id}: {command.summary or 'gelöscht'}"[:500])
        return case

    def store_catalogue(self, catalogue: ZielgruppenCatalogue, sender: Sender,
                        coordination_org: str = "") -> bool:
        """A new Zielgruppen version of the Lenkungsgruppe; a version already stored is kept.
        Then the undecided proposals are checked against the current version (also when this
        one was known: a redelivery after a crash between storing and re-checking finishes
        the re-check; cases already checked against it are not touched again). Only the
        koordinierende Stelle defines Zielgruppen: the verified `sender` must be a node of the
        Kreis (role "district") of the organisation the event names."""
        if not sender.coordinates or coordination_org not in ("", sender.organization):
            raise UntrustedEvent(
                "sender-not-allowed", f"Zielgruppen-Version {catalogue.version} kommt vom Knoten "
                f"{sender.node_id} ({sender.organization}, Rolle {sender.role or '?'}); "
                "Zielgruppen legt nur die koordinierende Stelle des Kreises fest.")
        validate_catalogue(catalogue)
        stored = self.repository.store_catalogue(catalogue)
        self.recheck_undecided()
        return stored

    def recheck_undecided(self) -> list[str]:
        """Checks every proposal the conference has not decided yet against the current
        Zielgruppen version; each re-check is in the case's history (event) and in the
        audit trail (it reads the person's data). Returns the re-checked case ids."""
        catalogue = self.repository.current_catalogue()
        purpose = f"Neue Zielgruppen-Version {catalogue.version}"
        done = []
        for case_id in self.repository.undecided_checked_before(catalogue.version):
            for _ in range(RECHECK_ATTEMPTS):
                now = self.clock()
                case = self.repository.get(case_id)
                if case.eligibility.catalogue_version >= catalogue.version or case.status not in UNDECIDED:
                    break  # a concurrent writer got there first
                case.recheck_eligibility(self.repository.get_person(case_id), catalogue, now)
                try:
                    self.repository.save(case)
                except FailedPrecondition:
                    continue  # changed meanwhile: load again and check the new version
                self._audit(ZIELGRUPPEN_ACTOR, case_id, "RecheckEligibility", purpose, True, now,
                            detail=_matched(case))
                done.append(case_id)
                break
        return done

    def apply_retention(self, period: timedelta, mode: RetentionMode) -> list[str]:
        """Deletes or anonymises every closed case whose Löschfrist has passed (nothing of the
        person stays: `retention.anonymised`), and asks every organisation that received data
        of it to erase them (`CaseErased`); each one is written to the audit trail. The only
        place that hard-deletes a case. A case changed meanwhile is left to the next run."""
        now = self.clock()
        done = []
        self.repository.forget_erased()
        for case_id in self.repository.closed_before(now - period):
            case = self.repository.get(case_id)
            if not retention_due(case, now, period):
                continue
            closed_on = format_date(local_date(case.closures[-1].closed_at))
            erasure = erased(case, now, mode.value)
            try:
                if mode is RetentionMode.DELETE:
                    self.repository.delete(erasure)
                else:
                    self.repository.erase_person(erasure)
            except FailedPrecondition:
                continue
            told = ", ".join(recipients(case)) or "keine"
            self._audit(RETENTION_ACTOR, case_id, f"Retention{mode.value.capitalize()}",
                        "Löschfrist abgelaufen", True, now,
                        detail=f"Fall {case.pseudonym}, abgeschlossen am {closed_on}; "
                               f"Löschersuchen an: {told}")
            done.append(case_id)
        return done

    def figures(self) -> dict[str, dict[str, int]]:
        """The raw counts and sums (exact: for this node only, never an answer to a caller)."""
        return self.repository.figures()

    def get_figures(self, actor: Actor) -> tuple[Figures, int]:
        """The local monitoring figures as they may be shown (small numbers suppressed), and the
        Zielgruppen version whose names label them."""
        now = self.clock()
        self._guard(actor, Action.READ_FIGURES, None, "GetFigures", "Monitoring", now)
        catalogue = self.repository.current_catalogue()
        result = monitoring_figures(self.repository.figures(),
                                    {d.key: d.name for d in catalogue.definitions})
        self._audit(actor, "", "GetFigures", "Monitoring", True, now, detail=FIGURES_DETAIL)
        return result, catalogue.version

    # -- what peer nodes of the federation ask -------------------------------------------------

    def get_case_briefs(self, actor: Actor, case_ids: Sequence[str], purpose: str = "") -> PeerBriefs:
        """Briefs of the cases proposed to the peer's organisation whose consent still covers
        its Fallkonferenz; every other id (unknown, not proposed to it, consent revoked or
        expired, person erased) goes to `unavailable`, alike. Each id, served or not, is one
        audit entry on its case with the reason for this node's data protection officer."""
        v = Violations()
        ids: list[str] = []
        if not case_ids:
            v.add("case_ids", "Mindestens eine Fall-ID angeben.")
        elif len(case_ids) > MAX_PEER_BRIEFS:
            v.add("case_ids", f"Höchstens {MAX_PEER_BRIEFS} Fall-IDs je Aufruf (angegeben: {len(case_ids)}).")
        else:
            ids = [v.identifier(f"case_ids[{i}]", case_id) for i, case_id in enumerate(case_ids)]
        purpose = v.text("purpose", purpose, required=False) or PEER_BRIEF_PURPOSE
        v.raise_if_any()
        if not actor.is_peer:
            raise PermissionDenied(PEER_NO_ACCESS)
        now = self.clock()
        today = local_date(now)
        briefs: list[tuple[str, CaseBrief]] = []
        unavailable: list[str] = []
        trail: list[AuditDraft] = []  # appended as one run before the answer leaves
        for case_id in dict.fromkeys(ids):
            brief, reason, verdict = None, "", ALLOWED
            try:
                case = self.repository.get(case_id)
                verdict = decide(actor, Action.READ_BRIEF, case, on=today)
                reason = verdict.reason
                if verdict.allowed:
                    brief = build_brief(case, self.repository.get_person(case_id), today)
            except NotFound:
                reason = "unbekannter Fall"
            except FailedPrecondition as error:  # retention erased the person
                reason = error.message
            if brief is None:
                trail.append(self._draft(actor, case_id, "GetCaseBriefs", purpose, False, now, reason))
                unavailable.append(case_id)
                continue
            consents = ", ".join(verdict.consent_ids)
            trail.append(self._draft(actor, case_id, "GetCaseBriefs", purpose, True, now,
                                     f"Kurzinformation übermittelt (Einwilligung {consents})"))
            briefs.append((case_id, brief))
        self.repository.append_audits(trail)
        return PeerBriefs(briefs, unavailable)

    # -- queries -----------------------------------------------------------------------------

    def readable(self, actor: Actor, case: Case) -> bool:
        """Whether the answer to `actor`'s command may carry the whole case: a foreign
        koordinierende Stelle decides without being released the case (api: a receipt)."""
        return may_read_case(actor, case, local_date(self.clock()))

    def get_case(self, actor: Actor, case_id: str, purpose: str) -> Case:
        now = self.clock()
        case = self._load(actor, case_id, "GetCase", purpose, now)
        self._guard(actor, Action.READ_CASE, case, "GetCase", purpose, now)
        self._audit(actor, case_id, "GetCase", purpose, True, now)
        return case

    def get_person(self, actor: Actor, case_id: str, purpose: str) -> Person:
        now = self.clock()
        case = self._load(actor, case_id, "GetPerson", purpose, now)
        self._guard(actor, Action.READ_PERSON, case, "GetPerson", purpose, now)
        person = self.repository.get_person(case_id)
        self._audit(actor, case_id, "GetPerson", purpose, True, now)
        return person

    def get_case_brief(self, actor: Actor, case_id: str, purpose: str,
                   pseudonym: str = "") -> tuple[str, CaseBrief]:
        """(case id, brief) by case id or, where a conference knows only the pseudonym, by that."""
        now = self.clock()
        case = self._load(actor, case_id or pseudonym, "GetCaseBrief", purpose, now,
                          by_pseudonym=not case_id)
        case_id = case.case_id
        self._guard(actor, Action.READ_BRIEF, case, "GetCaseBrief", purpose, now)
        brief = build_brief(case, self.repository.get_person(case_id), local_date(now))
        self._audit(actor, case_id, "GetCaseBrief", purpose, True, now)
        return case_id, brief

    def list_cases(self, actor: Actor, *, statuses: tuple[CaseStatus, ...] = (), zielgruppe: str = "",
                    case_manager: str = "", review_due_by: date | None = None, page_size: int = 0,
                    page_token: str = "", purpose: str = "Fallübersicht") -> BriefPage:
        """Briefs of the cases the actor's organisation owns or shares, never personal data."""
        now = self.clock()
        query = CaseFilter(actor.organization, statuses, zielgruppe, case_manager, review_due_by)
        page = self.repository.list_cases(query, page_size, page_token)
        briefs = []
        for case, person in page.items:
            # The repository's query is only a preselection (owned or sent to the organisation);
            # the policy decides each case, with the consents as they stand now.
            if not decide(actor, Action.LIST, case, on=local_date(now)).allowed:
                continue
            if person is not None:
                briefs.append((case.case_id, build_brief(case, person, local_date(now))))
        self._audit(actor, "", "ListCases", purpose, True, now, detail=f"{len(briefs)} Kurzinformationen")
        return BriefPage(briefs, page.next_page_token)

    def list_audit_entries(self, actor: Actor, case_id: str = "", after_sequence: int = 0,
                      limit: int = 100) -> list[AuditEntry]:
        now = self.clock()
        self._guard(actor, Action.READ_AUDIT, None, "ListAuditEntries", "Datenschutzkontrolle", now)
        self._audit(actor, case_id, "ListAuditEntries", "Datenschutzkontrolle", True, now)
        return self.repository.audit_entries(case_id, after_sequence, limit)

    def verify_audit_chain(self, actor: Actor, page: int = 500) -> ChainVerification:
        now = self.clock()
        self._guard(actor, Action.READ_AUDIT, None, "VerifyAuditChain", "Datenschutzkontrolle", now)
        checked, last = 0, None
        while True:
            entries = self.repository.audit_entries("", last.sequence if last else 0, page)
            if not entries:
                return ChainVerification(True, checked)
            result = verify_chain(entries, after=last)
            if not result.intact:
                return ChainVerification(False, checked + result.checked, result.first_broken_sequence,
                                         result.reason)
            checked, last = checked + result.checked, entries[-1]

    # -- internals ---------------------------------------------------------------------------

    def _load(self, actor: Actor, case_id: str, call: str, purpose: str, now: datetime, *,
              by_pseudonym: bool = False) -> Case:
        try:
            if by_pseudonym:
                return self.repository.get_by_pseudonym(case_id)
            return self.repository.get(case_id)
        except NotFound:
            self._audit(actor, case_id, call, purpose, False, now, detail="unbekannter Fall")
            raise

    def _change(self, actor: Actor, case_id: str, action: Action, call: str, purpose: str,
                change: Callable[[Case, datetime], object], *, cause: str = "",
                disclose: Callable[[Case, datetime], str] | None = None) -> Case:
        """One command on one case: load it, authorise `action`, apply `change` (the aggregate
        validates and records its events), `disclose` what leaves with the events (its audit
        detail), save as the next version (caused by event `cause`), audit the access."""
        now = self.clock()
        case = self._load(actor, case_id, call, purpose, now)
        self._guard(actor, action, case, call, purpose, now)
        change(case, now)
        detail = disclose(case, now) if disclose is not None else ""
        self.repository.save(case, cause=cause)
        self._audit(actor, case_id, call, purpose, True, now, detail=detail)
        return case

    def _guard(self, actor: Actor, action: Action, case: Case | None, call: str, purpose: str,
               now: datetime) -> Verdict:
        """The policy's verdict, or the refusal: audited with its reason for the data protection
        officer, answered NotFound like a missing case on a foreign case (the caller learns
        neither that it exists nor why), PermissionDenied inside the owning organisation."""
        verdict = decide(actor, action, case, node_org=self.node_org, on=local_date(now))
        if verdict.allowed:
            return verdict
        self._audit(actor, case.case_id if case else "", call, purpose, False, now, detail=verdict.reason)
        if verdict.foreign:
            raise NotFound(CASE_NOT_FOUND)
        raise PermissionDenied(PEER_NO_ACCESS if actor.is_peer else verdict.reason)

    def _with_brief(self, case: Case, now: datetime) -> str:
        """The Fallvorschlag's event gets the pseudonymised brief (built from the person, which
        the aggregate does not hold) if the policy releases it to the koordinierende Stelle
        (`submit_for_review` already refused a submission without that consent; checked again
        here because this is where the data leaves). Returns the audit detail of the disclosure."""
        today = local_date(now)
        verdict = release_verdict(case.coordination_org, case, today)
        if not verdict.allowed:
            raise FailedPrecondition(
                "Für die Beratung in der Fallkonferenz fehlt eine gültige Einwilligung. " + verdict.reason)
        brief = build_brief(case, self.repository.get_person(case.case_id), today)
        case.pending_events = [replace(event, brief=brief) if isinstance(event, e.CaseSubmittedForReview)
                               else event for event in case.pending_events]
        if case.coordination_org == case.owner_org:
            return ""
        return (f"Kurzinformation an {case.coordination_org} übermittelt "
                f"(Einwilligung {', '.join(verdict.consent_ids)})")

    def _audit(self, actor: Actor, case_id: str, call: str, purpose: str, allowed: bool, now: datetime,
               detail: str = "") -> None:
        self.repository.append_audit(self._draft(actor, case_id, call, purpose, allowed, now, detail))

    @staticmethod
    def _draft(actor: Actor, case_id: str, call: str, purpose: str, allowed: bool, now: datetime,
               detail: str = "") -> AuditDraft:
        # A peer has no personal roles here: its federation role stands in the trail instead.
        roles = tuple(sorted(actor.roles)) or ((actor.node_role,) if actor.node_role else ())
        return AuditDraft(
            occurred_at=now, actor_subject=actor.subject, actor_org=actor.organization,
            actor_roles=roles, case_id=case_id, call=call,
            purpose=purpose[:200], allowed=allowed, detail=detail[:500], actor_node=actor.node)


def _matched(case: Case) -> str:
    """The re-check's result for the audit trail: Zielgruppen keys only, since the reasons of
    a mismatch name the person's age and status."""
    matched = case.eligibility.matched
    return "Zielgruppen: " + ", ".join(matched) if matched else "Keine Zielgruppe trifft zu."
