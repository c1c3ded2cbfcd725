"""Retention (Löschfrist) in the domain: an anonymised case keeps what the figures count and
nothing written about the person (every text field of the aggregate, the eligibility
check's reasons), and asks every organisation that received data of it to erase them."""

from __future__ import annotations

import json
from datetime import date, timedelta

from case_factories import (
    ABH,
    CM,
    COORDINATION,
    COORDINATOR,
    NOW,
    OWNER,
    TODAY,
    later,
    make_person_data,
    propose,
)

from services.case.codec import to_primitive
from services.case.domain import commands as c
from services.case.domain.case import Case
from services.case.domain.events import CaseErased
from services.case.domain.retention import ERASED, anonymised, erased, figures, recipients, retention_due
from services.case.domain.vocabulary import CaseStatus

MARK = "GEHEIM"


def _text(field: str) -> str:
    return f"{MARK}-{field}"


def every_text_case() -> Case:
    """A closed case in which every text a user can write carries MARK: referred to a named
    service, reopened, admitted, worked with need, goal, step, progress, review, barrier,
    journal and a reassignment, its consent revoked and the erasure confirmed, then closed."""
    case, _ = propose(reason=_text("reason"), proposer_unit=_text("unit"))
    cid = case.case_id
    case.record_consent(c.RecordConsent(cid, "schweigepflichtentbindung", COORDINATION, ("fallkonferenz",),
                                        ("falldokumentation",), TODAY), CM, NOW)
    case.submit_for_review(c.SubmitForReview(cid, (ABH,), _text("submit")), CM, later(1))
    case.refer(c.ReferCase(cid, "other", _text("referral-name"), _text("ref1"), _text("refer-note")),
               COORDINATOR, later(2))
    case.reopen(c.ReopenCase(cid, _text("reopen")), CM, later(3))
    case.admit(c.AdmitCase(cid, CM.subject, OWNER, _text("ref2"), _text("admit-note")), COORDINATOR, later(4))
    case.start_assessment(c.StartAssessment(cid), CM, later(5))
    case.record_need(c.RecordNeed(cid, "ausbildung", _text("need"), _text("resources")), CM, later(6))
    case.start_planning(c.StartPlanning(cid), CM, later(7))
    goal = case.add_goal(c.AddGoal(cid, _text("goal"), "ausbildung", date(2026, 9, 30)), CM, later(8))
    step = case.add_step(c.AddStep(cid, goal.goal_id, _text("step"), _text("responsible"), "aufenthg",
                                   date(2026, 6, 30)), CM, later(9))
    case.record_progress(c.RecordProgress(cid, goal.goal_id, _text("progress")), CM, later(10))
    case.finish_step(c.FinishStep(cid, goal.goal_id, step.step_id, "done", _text("step-note")), CM, later(11))
    case.activate_plan(c.ActivatePlan(cid), CM, later(12))
    case.record_review(c.RecordReview(cid, TODAY, _text("review")), CM, later(13))
    barrier = case.record_barrier(c.RecordBarrier(cid, ("aufenthg",), "wartezeit", _text("barrier")),
                                  CM, later(14))
    case.change_barrier_status(c.ChangeBarrierStatus(cid, barrier.barrier_id, "resolved", _text("status")),
                               CM, later(15))
    case.add_journal_note(c.AddJournalNote(cid, _text("journal")), CM, later(16))
    case.assign_case_manager(c.AssignCaseManager(cid, "cm-bert", _text("assign")), CM, later(17))
    consent = case.consents[0]
    case.revoke_consent(c.RevokeConsent(cid, consent.consent_id, TODAY, _text("revocation")), CM, later(18))
    case.confirm_erasure(c.ConfirmErasure(cid, consent.consent_id, "kreis-node", COORDINATION, later(19),
                                          _text("summary")), COORDINATOR, later(19))
    outcome = c.GoalOutcomeInput(goal.goal_id, "achieved", _text("outcome"))
    case.close(c.CloseCase(cid, "other", _text("close"), (outcome,)), CM, later(20))
    case.collect_events()
    return case


def stored(case: Case) -> str:
    return json.dumps(to_primitive(case), ensure_ascii=False, default=str)


def test_the_walk_writes_every_text_it_means_to_erase() -> None:
    """The counter-check: before anonymising, every marked text and the check's reasons are there."""
    text = stored(every_text_case())
    for field in ("reason", "unit", "submit", "referral-name", "ref1", "reopen", "need", "goal", "step",
                  "responsible", "progress", "step-note", "review", "barrier", "status", "journal",
                  "assign", "revocation", "summary", "close", "outcome"):
        assert _text(field) in text, field
    # The eligibility check spells out the person's country and status.
    assert "Herkunft Syrien" in text and "Rechtsgrundlage des Aufenthalts" in text


def test_anonymising_leaves_no_text_about_the_person() -> None:
    case = every_text_case()
    text = stored(anonymised(case))
    assert MARK not in text, [part for part in text.split('"') if MARK in part]
    assert "Syrien" not in text and "Rechtsgrundlage" not in text and "Herkunft" not in text
    # What the person told about themselves is nowhere in the case (the person is separate).
    person = make_person_data()
    for detail in (person.given_name, person.family_name, person.birth_date.isoformat(), person.phone):
        assert detail not in text


def test_anonymising_keeps_every_figure_and_the_zielgruppen() -> None:
    case = every_text_case()
    kept = anonymised(case)
    assert figures(kept) == figures(case)
    assert kept.eligibility.matched == case.eligibility.matched
    assert [m.key for m in kept.eligibility.mismatches] == [m.key for m in case.eligibility.mismatches]
    assert all(m.reasons == () for m in kept.eligibility.mismatches)
    assert [cl.reason for cl in kept.closures] == [cl.reason for cl in case.closures]
    assert kept.goals[0].title == ERASED and kept.decisions[0].referral_name == ERASED


def test_the_erasure_asks_every_organisation_that_received_data() -> None:
    case = every_text_case()
    assert set(recipients(case)) == {COORDINATION, ABH}
    result = erased(case, later(30), "delete")
    [event] = result.pending_events
    assert isinstance(event, CaseErased)
    assert (event.case_id, event.pseudonym, event.mode) == (case.case_id, case.pseudonym, "delete")
    assert set(event.recipient_orgs) == {COORDINATION, ABH}


def test_a_case_is_due_only_once_closed_for_the_whole_period() -> None:
    case = every_text_case()
    closed = case.closures[-1].closed_at
    assert case.status is CaseStatus.CLOSED
    assert not retention_due(case, closed + timedelta(days=9), timedelta(days=10))
    assert retention_due(case, closed + timedelta(days=10), timedelta(days=10))
