"""The case service layer on the in-memory fake (tests/support/fakes/case.py): who may do what
(the consent gate answers a foreign case like a missing one), what goes to the audit trail
(allowed and refused), which events each write records and in which order, and that the
worker's decisions are applied once. The fake is held to the real adapter's behaviour by
tests/integration/case/test_case_repository_contract.py; here nothing touches a server."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from kimnetz.errors import FailedPrecondition, KimError, NotFound, PermissionDenied, VersionConflict
from kimnetz.runtime.event_trust import Sender
from services.case.composition import CaseServices, case_services
from services.case.domain import commands as c, events as e
from services.case.domain.case import Case
from services.case.domain.person import Person
from services.case.domain.policy import CASE_NOT_FOUND, Actor
from services.case.domain.ports import PseudonymTaken
from services.case.domain.vocabulary import CaseStatus
from services.case.domain.zielgruppen import METTMANN_V1
from services.case.settings import RetentionMode
from tests.support.fakes.case import InMemoryCaseRepository

sys.path.insert(0, str(Path(__file__).resolve().parent))
from case_factories import (
    ABH,
    CM,
    COORDINATION,
    COORDINATOR,
    OWNER,
    TODAY,
    later,
    make_actor,
    make_case_with_person,
    make_proposal,
)

STRANGER = make_actor(("coordinator",), "awo-ratingen", "koord-awo")
CLERK = make_actor(("clerk",), OWNER, "buero-hilden")
DPO = make_actor(("data_protection_officer",), OWNER, "dsb-hilden")
KREIS = Sender("kreis-node", COORDINATION, "district")


class Ticking:
    """The service's clock: a second later at every call, after the factories' timestamps."""

    def __init__(self) -> None:
        self.now = later(60)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


@pytest.fixture
def cases() -> InMemoryCaseRepository:
    return InMemoryCaseRepository("hilden-node")


@pytest.fixture
def service(cases: InMemoryCaseRepository) -> CaseServices:
    return case_services(cases, node_org=OWNER, clock=Ticking())


def stored(cases: InMemoryCaseRepository, status: CaseStatus = CaseStatus.PROPOSED) -> Case:
    case, person = make_case_with_person(status)
    cases.add(case, person)
    cases.send()  # what the walk to `status` recorded is not what a test looks at
    return case


def trail(cases: InMemoryCaseRepository) -> list[tuple[str, str, bool]]:
    return [(entry.call, entry.actor_subject, entry.allowed) for entry in cases.audit_entries(limit=0)]


def event_types(cases: InMemoryCaseRepository, case_id: str = "") -> list[str]:
    return [type(event).__name__ for event in cases.unsent(case_id)]


# -- proposals ---------------------------------------------------------------------------------


def test_a_proposal_is_stored_with_its_event_and_audited(
        service: CaseServices, cases: InMemoryCaseRepository) -> None:
    case = service.fallvorschlaege.propose_case(CM, make_proposal())
    assert cases.get(case.case_id).status is CaseStatus.PROPOSED and case.version == 1
    assert event_types(cases, case.case_id) == ["CaseProposed"]
    assert trail(cases) == [("ProposeCase", CM.subject, True)]


class Colliding(InMemoryCaseRepository):
    """Every pseudonym drawn is taken, `collisions` times."""

    def __init__(self, collisions: int) -> None:
        super().__init__()
        self.collisions = collisions
        self.attempts = 0

    def add(self, case: Case, person: Person) -> None:
        self.attempts += 1
        if self.attempts <= self.collisions:
            raise PseudonymTaken(case.pseudonym)
        super().add(case, person)


def test_a_taken_pseudonym_is_drawn_again() -> None:
    cases = Colliding(collisions=2)
    case = case_services(cases, node_org=OWNER,
                         clock=Ticking()).fallvorschlaege.propose_case(CM, make_proposal())
    assert cases.attempts == 3 and cases.get(case.case_id).pseudonym == case.pseudonym


def test_after_five_taken_pseudonyms_the_proposal_is_refused_and_nothing_is_stored() -> None:
    cases = Colliding(collisions=5)
    with pytest.raises(KimError, match="kein eindeutiges Pseudonym"):
        case_services(cases, node_org=OWNER,
                      clock=Ticking()).fallvorschlaege.propose_case(CM, make_proposal())
    assert cases.attempts == 5 and cases.unsent() == [] and trail(cases) == []


# -- the consent gate and the audit trail -----------------------------------------------------


def test_a_foreign_case_answers_like_a_missing_one_and_both_refusals_are_audited(
        service: CaseServices, cases: InMemoryCaseRepository) -> None:
    case = stored(cases, CaseStatus.IN_REVIEW)
    with pytest.raises(NotFound) as foreign:
        service.falldaten.get_case(STRANGER, case.case_id, "Neugier")
    with pytest.raises(NotFound) as missing:
        service.falldaten.get_case(STRANGER, "nie-gesehen", "Neugier")
    assert foreign.value.message == missing.value.message == CASE_NOT_FOUND
    refused_foreign, refused_missing = cases.audit_entries(limit=0)
    assert (refused_foreign.case_id, refused_foreign.call, refused_foreign.allowed) == (
        case.case_id, "GetCase", False)
    assert refused_foreign.actor_org == "awo-ratingen" and refused_foreign.purpose == "Neugier"
    # Only the data protection officer learns why: the reason is not the missing case's.
    assert refused_foreign.detail and refused_foreign.detail != "unbekannter Fall"
    assert (refused_missing.case_id, refused_missing.detail) == ("nie-gesehen", "unbekannter Fall")


def test_the_koordinierende_stelle_reads_the_brief_only_while_the_consent_covers_it(
        service: CaseServices, cases: InMemoryCaseRepository) -> None:
    case = stored(cases, CaseStatus.IN_REVIEW)  # the walk recorded the consent to the Kreis
    found, brief = service.falldaten.get_case_brief(COORDINATOR, case.case_id, "Fallkonferenz")
    assert found == case.case_id and brief.pseudonym == case.pseudonym
    consent_id = case.consents[-1].consent_id
    service.einwilligungen.revoke_consent(CM, c.RevokeConsent(case.case_id, consent_id, TODAY, "widerrufen"))
    with pytest.raises(NotFound, match=CASE_NOT_FOUND):
        service.falldaten.get_case_brief(COORDINATOR, case.case_id, "Fallkonferenz")
    assert trail(cases) == [("GetCaseBrief", COORDINATOR.subject, True),
                            ("RevokeConsent", CM.subject, True),
                            ("GetCaseBrief", COORDINATOR.subject, False)]


def test_the_brief_is_found_by_its_pseudonym_too(
        service: CaseServices, cases: InMemoryCaseRepository) -> None:
    case = stored(cases, CaseStatus.IN_REVIEW)
    assert service.falldaten.get_case_brief(COORDINATOR, "", "Fallkonferenz",
                                            case.pseudonym)[0] == case.case_id


def test_a_role_the_owner_does_not_grant_is_refused_audited_and_changes_nothing(
        service: CaseServices, cases: InMemoryCaseRepository) -> None:
    case = stored(cases, CaseStatus.ASSESSMENT)
    with pytest.raises(PermissionDenied):
        service.fallarbeit.record_need(CLERK, c.RecordNeed(case.case_id, "sprache", "Deutschkurs B1"))
    assert cases.get(case.case_id).version == case.version and cases.unsent() == []
    [refused] = cases.audit_entries(limit=0)
    assert (refused.call, refused.allowed, refused.case_id) == ("RecordNeed", False, case.case_id)
    assert refused.actor_roles == ("clerk",) and refused.detail


def test_a_refused_caller_never_has_the_new_person_data_read(
        service: CaseServices, cases: InMemoryCaseRepository) -> None:
    case = stored(cases, CaseStatus.IN_REVIEW)

    def unread() -> c.UpdatePerson:
        raise AssertionError("the request of a caller without access was read")

    with pytest.raises(NotFound):
        service.falldaten.update_person(STRANGER, case.case_id, unread)
    assert trail(cases) == [("UpdatePerson", STRANGER.subject, False)]


# -- writes: order, events, disclosure --------------------------------------------------------


def test_submitting_without_a_consent_for_the_kreis_is_refused_and_nothing_is_written(
        service: CaseServices, cases: InMemoryCaseRepository) -> None:
    case = service.fallvorschlaege.propose_case(CM, make_proposal())
    with pytest.raises(FailedPrecondition, match="Einwilligung"):
        service.fallvorschlaege.submit_for_review(CM, c.SubmitForReview(case.case_id))
    assert cases.get(case.case_id).version == 1
    assert event_types(cases) == ["CaseProposed"]


def test_each_write_records_its_events_in_order_and_the_fallvorschlag_carries_the_brief(
        service: CaseServices, cases: InMemoryCaseRepository) -> None:
    case = service.fallvorschlaege.propose_case(CM, make_proposal())
    service.einwilligungen.record_consent(CM, c.RecordConsent(
        case.case_id, "einwilligung", COORDINATION, ("fallkonferenz",), ("falldokumentation",), TODAY))
    submitted = service.fallvorschlaege.submit_for_review(CM, c.SubmitForReview(case.case_id, (ABH,)))
    assert submitted.version == 3 and submitted.status is CaseStatus.IN_REVIEW
    assert event_types(cases) == ["CaseProposed", "ConsentRecorded", "CaseSubmittedForReview"]
    proposal = cases.unsent()[-1]
    assert isinstance(proposal, e.CaseSubmittedForReview)
    assert proposal.brief is not None and proposal.brief.pseudonym == case.pseudonym
    calls = [(entry.call, entry.detail) for entry in cases.audit_entries(limit=0)]
    assert [call for call, _ in calls] == ["ProposeCase", "RecordConsent", "SubmitForReview"]
    assert calls[-1][1].startswith(f"Kurzinformation an {COORDINATION} übermittelt")


def test_the_case_work_runs_through_the_plan_to_closing(
        service: CaseServices, cases: InMemoryCaseRepository) -> None:
    cid = stored(cases, CaseStatus.ADMITTED).case_id
    service.fallarbeit.start_assessment(CM, c.StartAssessment(cid))
    service.fallarbeit.record_need(CM, c.RecordNeed(cid, "aufenthalt_identitaet", "Identität ungeklärt"))
    service.fallarbeit.start_planning(CM, c.StartPlanning(cid))
    goal = service.fallarbeit.add_goal(CM,
                                       c.AddGoal(cid, "Identität klären", "aufenthalt_identitaet")).goals[0]
    step = service.fallarbeit.add_step(CM, c.AddStep(cid, goal.goal_id, "Passbeschaffung", "Case Management",
                                                     "aufenthg")).goals[0].steps[0]
    service.fallarbeit.activate_plan(CM, c.ActivatePlan(cid))
    service.fallarbeit.record_progress(CM, c.RecordProgress(cid, goal.goal_id, "Termin bei der Botschaft"))
    service.fallarbeit.finish_step(CM, c.FinishStep(cid, goal.goal_id, step.step_id, "done"))
    service.fallarbeit.record_barrier(CM,
                                      c.RecordBarrier(cid, ("aufenthg",), "wartezeit", "Termin in 6 Monaten"))
    barrier = cases.get(cid).barriers[0]
    service.fallarbeit.change_barrier_status(CM, c.ChangeBarrierStatus(cid, barrier.barrier_id, "resolved"))
    service.fallarbeit.add_journal_note(CM, c.AddJournalNote(cid, "Anruf"))
    closed = service.fallarbeit.close_case(CM, c.CloseCase(cid, "goals_achieved",
                                                           outcomes=(c.GoalOutcomeInput(goal.goal_id,
                                                                                        "achieved"),)))
    assert closed.status is CaseStatus.CLOSED and cases.get(cid) == closed
    assert event_types(cases, cid) == [
        "AssessmentStarted", "NeedRecorded", "PlanningStarted", "GoalAdded", "StepAdded",
        "PlanActivated", "ProgressRecorded", "StepFinished", "BarrierRecorded",
        "BarrierStatusChanged", "JournalNoteAdded", "CaseClosed"]
    fachaufsicht = make_actor(("coordinator",), OWNER, "koord-hilden")
    reopened = service.fallarbeit.reopen_case(fachaufsicht, c.ReopenCase(cid, "Neue Bedarfe"))
    assert reopened.status is CaseStatus.ASSESSMENT
    assert all(allowed for _, _, allowed in trail(cases))


class Interfering(InMemoryCaseRepository):
    """Another writer takes the next version of the case just before the first save."""

    def __init__(self) -> None:
        super().__init__()
        self.interfered = False

    def save(self, case: Case, person: Person | None = None, *, cause: str = "") -> None:
        if not self.interfered:
            self.interfered = True
            other = self.get(case.case_id)
            other.add_journal_note(c.AddJournalNote(case.case_id, "dazwischen"), CM, later(30))
            super().save(other)
        super().save(case, person, cause=cause)


def test_a_write_over_a_version_taken_meanwhile_is_refused_and_records_no_events() -> None:
    cases = Interfering()
    case = stored(cases, CaseStatus.ASSESSMENT)
    service = case_services(cases, node_org=OWNER, clock=Ticking())
    with pytest.raises(VersionConflict):
        service.fallarbeit.record_need(CM, c.RecordNeed(case.case_id, "sprache", "Deutschkurs B1"))
    assert [note.text for note in cases.get(case.case_id).journal] == ["dazwischen"]
    assert event_types(cases) == ["JournalNoteAdded"]
    assert cases.get(case.case_id).needs == []


# -- the worker's events: applied once ---------------------------------------------------------


@pytest.mark.parametrize(("command", "status", "event"), [
    (lambda cid: c.AdmitCase(cid, CM.subject, OWNER, "FK 2026/04"), CaseStatus.ADMITTED, "CaseAdmitted"),
    (lambda cid: c.ReferCase(cid, "mbe", "", "FK 2026/04"), CaseStatus.REFERRED, "CaseReferred"),
    (lambda cid: c.DeferCase(cid, "Unterlagen fehlen", date(2026, 6, 1)), CaseStatus.DEFERRED,
     "CaseDeferred"),
    (lambda cid: c.RejectCase(cid, "gehört nicht zur Zielgruppe"), CaseStatus.REJECTED, "CaseRejected"),
], ids=["admit", "refer", "defer", "reject"])
def test_a_decision_of_the_fallkonferenz_is_applied_once_per_event(
        service: CaseServices, cases: InMemoryCaseRepository,
        command: Callable[[str], c.DecisionCommand], status: CaseStatus, event: str) -> None:
    case = stored(cases, CaseStatus.IN_REVIEW)
    decision = c.Decision("hilden-node", "koord-ben", command(case.case_id))
    applied = service.fallvorschlaege.apply_decision(decision, "event-1", KREIS)
    assert applied is not None and applied.status is status
    assert service.fallvorschlaege.apply_decision(decision, "event-1", KREIS) is None  # the redelivery
    assert cases.applied("event-1") and len(cases.get(case.case_id).decisions) == 1
    assert event_types(cases) == [event]
    [entry] = cases.audit_entries(limit=0)
    assert (entry.call, entry.actor_subject, entry.actor_org, entry.purpose) == (
        type(decision.command).__name__, "koord-ben", COORDINATION, "Beschluss der Fallkonferenz")


def test_a_new_zielgruppen_version_rechecks_the_undecided_proposals_only(
        service: CaseServices, cases: InMemoryCaseRepository) -> None:
    undecided = stored(cases, CaseStatus.IN_REVIEW)
    decided = stored(cases, CaseStatus.ADMITTED)
    assert service.zielgruppen.store_catalogue(replace(METTMANN_V1, version=METTMANN_V1.version + 1), KREIS,
                                               COORDINATION)
    assert cases.get(undecided.case_id).eligibility.catalogue_version == METTMANN_V1.version + 1
    assert cases.get(decided.case_id).eligibility.catalogue_version == METTMANN_V1.version
    assert event_types(cases) == ["EligibilityRechecked"]
    assert trail(cases) == [("RecheckEligibility", "kim-zielgruppen", True)]
    assert not service.zielgruppen.store_catalogue(replace(METTMANN_V1, version=METTMANN_V1.version + 1),
                                                   KREIS)


# -- lists, peers, figures ---------------------------------------------------------------------


def test_lists_page_through_the_organisation_s_cases_and_the_kreis_sees_only_consented_ones(
        service: CaseServices, cases: InMemoryCaseRepository) -> None:
    proposed = [service.fallvorschlaege.propose_case(CM, make_proposal()) for _ in range(3)]
    first = service.falldaten.list_cases(CM, page_size=2)
    rest = service.falldaten.list_cases(CM, page_size=2, page_token=first.next_page_token)
    assert [cid for cid, _ in first.briefs + rest.briefs] == [case.case_id for case in proposed]
    assert rest.next_page_token == ""
    assert service.falldaten.list_cases(COORDINATOR).briefs == []  # proposed to it, no consent yet
    service.einwilligungen.record_consent(CM,
                                          c.RecordConsent(proposed[1].case_id, "einwilligung", COORDINATION,
                                                          ("fallkonferenz",), ("falldokumentation",), TODAY))
    assert [cid for cid, _ in service.falldaten.list_cases(COORDINATOR).briefs] == [proposed[1].case_id]
    lists = [entry.detail for entry in cases.audit_entries(limit=0) if entry.call == "ListCases"]
    assert lists == ["2 Kurzinformationen", "1 Kurzinformationen", "0 Kurzinformationen",
                     "1 Kurzinformationen"]


def test_a_peer_node_gets_the_consented_briefs_and_every_id_is_audited(
        service: CaseServices, cases: InMemoryCaseRepository) -> None:
    shared = stored(cases, CaseStatus.IN_REVIEW)
    own = stored(cases, CaseStatus.PROPOSED)
    peer = Actor.peer(KREIS.node_id, COORDINATION, "district", "koord-ben")
    result = service.verbund.get_case_briefs(peer, [shared.case_id, own.case_id, "nie-gesehen"])
    assert [cid for cid, _ in result.briefs] == [shared.case_id]
    assert result.unavailable == [own.case_id, "nie-gesehen"]
    entries = cases.audit_entries(limit=0)
    assert [(x.case_id, x.allowed, x.actor_node) for x in entries] == [
        (shared.case_id, True, KREIS.node_id), (own.case_id, False, KREIS.node_id),
        ("nie-gesehen", False, KREIS.node_id)]
    assert entries[2].detail == "unbekannter Fall"
    with pytest.raises(PermissionDenied):
        service.verbund.get_case_briefs(CM, [shared.case_id])


def test_figures_are_for_coordinators_and_clerks_of_the_node_not_for_case_managers(
        service: CaseServices, cases: InMemoryCaseRepository) -> None:
    stored(cases, CaseStatus.ACTIVE)
    _, version, _ = service.verbund.get_figures(CLERK)
    assert version == cases.current_catalogue().version
    with pytest.raises(PermissionDenied):
        service.verbund.get_figures(CM)
    assert trail(cases) == [("GetFigures", CLERK.subject, True), ("GetFigures", CM.subject, False)]


# -- retention and the audit trail ------------------------------------------------------------


def test_retention_deletes_a_closed_case_and_asks_every_recipient_to_erase(
        service: CaseServices, cases: InMemoryCaseRepository) -> None:
    case = stored(cases, CaseStatus.CLOSED)
    assert service.datenschutz.apply_retention(timedelta(0), RetentionMode.DELETE) == [case.case_id]
    with pytest.raises(NotFound):
        cases.get(case.case_id)
    [request] = cases.send()
    assert isinstance(request, e.CaseErased) and COORDINATION in request.recipient_orgs
    assert cases.forget_erased() == 1
    assert trail(cases) == [("RetentionDelete", "kim-retention", True)]


def test_retention_anonymising_keeps_the_case_without_its_person(
        service: CaseServices, cases: InMemoryCaseRepository) -> None:
    case = stored(cases, CaseStatus.CLOSED)
    assert service.datenschutz.apply_retention(timedelta(0), RetentionMode.ANONYMISE) == [case.case_id]
    with pytest.raises(FailedPrecondition):
        cases.get_person(case.case_id)
    assert cases.get(case.case_id).status is CaseStatus.CLOSED
    assert service.datenschutz.apply_retention(timedelta(0), RetentionMode.ANONYMISE) == []  # nothing left


def test_the_audit_trail_is_for_the_data_protection_officer_and_stays_one_intact_chain(
        service: CaseServices, cases: InMemoryCaseRepository) -> None:
    case = service.fallvorschlaege.propose_case(CM, make_proposal())
    service.falldaten.get_case(CM, case.case_id, "Fallbearbeitung")
    with pytest.raises(PermissionDenied):
        service.datenschutz.list_audit_entries(CM)
    # The officer's own read is in the trail before the answer leaves.
    assert [entry.call for entry in service.datenschutz.list_audit_entries(DPO, case.case_id)] == [
        "ProposeCase", "GetCase", "ListAuditEntries"]
    verification = service.datenschutz.verify_audit_chain(DPO, page=2)
    assert verification.intact and verification.checked == len(cases.audit_entries(limit=0)) == 4
