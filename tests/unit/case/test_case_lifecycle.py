"""The Fall state machine: every legal move succeeds, every other one names the state."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest
from case_factories import CM, COORDINATOR, OWNER, later, make_case, record_consent, snapshot

from kimnetz.errors import FailedPrecondition
from services.case.domain import commands as c
from services.case.domain.case import Case
from services.case.domain.lifecycle import Transition, reachable
from services.case.domain.vocabulary import CaseStatus

S = CaseStatus

#: The lifecycle as the concepts describe it, written out independently of the implementation.
EXPECTED: dict[tuple[Transition, CaseStatus], CaseStatus] = {
    (Transition.SUBMIT_FOR_REVIEW, S.PROPOSED): S.IN_REVIEW,
    (Transition.SUBMIT_FOR_REVIEW, S.DEFERRED): S.IN_REVIEW,
    (Transition.ADMIT, S.IN_REVIEW): S.ADMITTED,
    (Transition.REFER, S.IN_REVIEW): S.REFERRED,
    (Transition.REJECT, S.IN_REVIEW): S.REJECTED,
    (Transition.DEFER, S.IN_REVIEW): S.DEFERRED,
    (Transition.START_ASSESSMENT, S.ADMITTED): S.ASSESSMENT,
    (Transition.START_PLANNING, S.ASSESSMENT): S.PLANNING,
    (Transition.ACTIVATE_PLAN, S.PLANNING): S.ACTIVE,
    (Transition.CLOSE, S.ADMITTED): S.CLOSED,
    (Transition.CLOSE, S.ASSESSMENT): S.CLOSED,
    (Transition.CLOSE, S.PLANNING): S.CLOSED,
    (Transition.CLOSE, S.ACTIVE): S.CLOSED,
    (Transition.REOPEN, S.CLOSED): S.ASSESSMENT,
    (Transition.REOPEN, S.REFERRED): S.IN_REVIEW,
    (Transition.REOPEN, S.REJECTED): S.IN_REVIEW,
}


def _prepare_and_run(transition: Transition) -> Callable[[Case], None]:
    """The command of `transition`, preceded by what its own rule needs (a need before
    planning, a goal with a step before activation), so only the state decides."""

    def run(case: Case) -> None:
        cid = case.case_id
        if transition is Transition.SUBMIT_FOR_REVIEW:
            record_consent(case)
            case.submit_for_review(c.SubmitForReview(cid), CM, later(20))
        elif transition is Transition.ADMIT:
            case.admit(c.AdmitCase(cid, "cm-carla", OWNER), COORDINATOR, later(20))
        elif transition is Transition.REFER:
            case.refer(c.ReferCase(cid, "jmd"), COORDINATOR, later(20))
        elif transition is Transition.REJECT:
            case.reject(c.RejectCase(cid, "Nicht komplex genug."), COORDINATOR, later(20))
        elif transition is Transition.DEFER:
            case.defer(c.DeferCase(cid, "Unterlagen fehlen."), COORDINATOR, later(20))
        elif transition is Transition.START_ASSESSMENT:
            case.start_assessment(c.StartAssessment(cid), CM, later(20))
        elif transition is Transition.START_PLANNING:
            if case.status is S.ASSESSMENT:
                case.record_need(c.RecordNeed(cid, "sprache", "B1 fehlt"), CM, later(19))
            case.start_planning(c.StartPlanning(cid), CM, later(20))
        elif transition is Transition.ACTIVATE_PLAN:
            if case.status is S.PLANNING:
                goal = case.add_goal(c.AddGoal(cid, "Sprachkenntnisse erweitern", "sprache"), CM, later(18))
                step = c.AddStep(cid, goal.goal_id, "Anmeldung Integrationskurs", "MBE")
                case.add_step(step, CM, later(19))
            case.activate_plan(c.ActivatePlan(cid), CM, later(20))
        elif transition is Transition.CLOSE:
            outcomes = tuple(c.GoalOutcomeInput(g.goal_id, "partially_achieved") for g in case.goals)
            case.close(c.CloseCase(cid, "moved_away", outcomes=outcomes), CM, later(20))
        elif transition is Transition.REOPEN:
            case.reopen(c.ReopenCase(cid, "Person ist zurückgekehrt."), COORDINATOR, later(20))

    return run


ALL = [(t, s) for t in Transition for s in S]


@pytest.mark.parametrize(("transition", "status"), [p for p in ALL if p in EXPECTED],
                         ids=lambda v: str(v))
def test_legal_transition_reaches_its_target(transition: Transition, status: CaseStatus) -> None:
    case = make_case(status)
    _prepare_and_run(transition)(case)
    assert case.status is EXPECTED[(transition, status)]


@pytest.mark.parametrize(("transition", "status"), [p for p in ALL if p not in EXPECTED],
                         ids=lambda v: str(v))
def test_illegal_transition_fails_naming_the_current_state_and_changes_nothing(
    transition: Transition, status: CaseStatus
) -> None:
    case = make_case(status)
    run = _prepare_and_run(transition)
    if transition in (Transition.SUBMIT_FOR_REVIEW,):
        record_consent(case) if case.status is not S.CLOSED else None
        case.collect_events()
        run = lambda k: k.submit_for_review(c.SubmitForReview(k.case_id), CM, later(20))  # noqa: E731
    before = snapshot(case)
    with pytest.raises(FailedPrecondition) as error:
        run(case)
    assert f"„{status.label}“" in error.value.message
    assert case == before
    assert case.pending_events == []


def test_reachable_states_match_the_concept() -> None:
    for status in S:
        expected = {target for (_, source), target in EXPECTED.items() if source is status}
        assert reachable(status) == expected, status


def test_closing_from_active_records_outcomes_and_clears_the_review_date() -> None:
    case = make_case(S.ACTIVE)
    goal = case.goals[0]
    case.close(c.CloseCase(case.case_id, "goals_achieved",
                           outcomes=(c.GoalOutcomeInput(goal.goal_id, "achieved", "Pass liegt vor"),)),
               CM, later(30))
    assert case.status is S.CLOSED
    assert goal.outcome is not None and goal.outcome.label == "erreicht"
    assert case.next_review_due is None
    [event] = case.collect_events()
    assert type(event).__name__ == "CaseClosed"
    assert (event.goals_achieved, event.goals_partially_achieved, event.goals_not_achieved) == (1, 0, 0)


def test_reopening_needs_a_reason_and_keeps_the_earlier_closure() -> None:
    case = make_case(S.CLOSED)
    from kimnetz.errors import InvalidArgument
    with pytest.raises(InvalidArgument) as error:
        case.reopen(c.ReopenCase(case.case_id, "  "), COORDINATOR, later(30))
    assert error.value.violations[0].field == "reason"
    case.reopen(c.ReopenCase(case.case_id, "Neue aufenthaltsrechtliche Lage"), COORDINATOR, later(31))
    assert case.status is S.ASSESSMENT
    assert len(case.closures) == 1 and case.reopenings[0].from_status is S.CLOSED


def test_activation_sets_the_first_quarterly_review_three_months_later() -> None:
    case = make_case(S.ACTIVE)
    assert case.next_review_due == date(2026, 6, 4)
    assert not case.review_due(date(2026, 6, 3))
    assert case.review_due(date(2026, 6, 4))
    case.record_review(c.RecordReview(case.case_id, date(2026, 3, 4), "läuft"), COORDINATOR, later(40))
    assert case.next_review_due == date(2026, 6, 4)


def test_review_month_end_is_clamped() -> None:
    from services.case.domain.dates import add_months
    assert add_months(date(2025, 11, 30), 3) == date(2026, 2, 28)
    assert add_months(date(2027, 11, 30), 3) == date(2028, 2, 29)
    assert add_months(date(2026, 10, 15), 3) == date(2027, 1, 15)


def test_activation_without_steps_names_the_goal() -> None:
    case = make_case(S.PLANNING)
    goal = c.AddGoal(case.case_id, "Bleibeperspektive verfestigen", "aufenthalt_identitaet")
    case.add_goal(goal, CM, later(30))
    with pytest.raises(FailedPrecondition, match="Bleibeperspektive verfestigen"):
        case.activate_plan(c.ActivatePlan(case.case_id), CM, later(31))
    assert case.status is S.PLANNING


def test_planning_needs_an_assessed_need() -> None:
    case = make_case(S.ASSESSMENT)
    with pytest.raises(FailedPrecondition, match="Bedarf"):
        case.start_planning(c.StartPlanning(case.case_id), CM, later(30))
