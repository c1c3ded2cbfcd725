"""The quarterly review reaches the case (Borken: every active case is discussed in the quarterly
Fallkonferenz): the conference's `CaseReviewDecided` becomes a review with outcome, the next
review date three months after the conference day and a journal entry, once per event, only
from the case's koordinierende Stelle. Domain and service layer on the in-memory fake."""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from kim.common.v1 import types_pb2 as common
from kim.conference.v1 import events_pb2 as conference, types_pb2 as conference_types
from kimnetz.errors import FailedPrecondition, InvalidArgument, UntrustedEvent
from kimnetz.runtime.event_trust import Sender
from services.case import inbound
from services.case.composition import CaseServices, case_services
from services.case.domain import commands as c
from services.case.domain.case import Case
from services.case.domain.vocabulary import CaseStatus, ReviewOutcome
from tests.support.fakes.case import InMemoryCaseRepository

sys.path.insert(0, str(Path(__file__).resolve().parent))
from case_factories import COORDINATION, COORDINATOR, OWNER, later, make_case, make_case_with_person

KREIS = Sender("kreis-node", COORDINATION, "district")
STADT = Sender("stadt-node", OWNER, "municipality")
REFERENCE = "Fallkonferenz kreis-mettmann-ki vom 12.03.2026 (k-1)"


def review(case_id: str, outcome: str = "continue", held_on: date | None = date(2026, 3, 12),
           offices: tuple[str, ...] = ()) -> c.ApplyReview:
    return c.ApplyReview(case_id, held_on, outcome, offices, REFERENCE)


def test_a_review_sets_the_next_date_from_the_conference_day_and_writes_the_journal() -> None:
    case = make_case(CaseStatus.ACTIVE)
    case.apply_review(review(case.case_id), COORDINATOR, datetime(2026, 3, 12, 15, tzinfo=UTC))
    assert case.next_review_due == date(2026, 6, 12)
    [entry] = case.reviews
    assert (entry.outcome, entry.decision_reference, entry.held_on) == (
        ReviewOutcome.CONTINUE, REFERENCE, date(2026, 3, 12))
    assert case.journal[-1].text == (
        f"Fallbesprechung in der {REFERENCE}: weiter wie geplant. "
        "Nächste Überprüfung fällig am 12.06.2026.")
    assert case.status is CaseStatus.ACTIVE


def test_a_round_table_names_the_offices_and_a_recommended_closure_keeps_the_case_active() -> None:
    case = make_case(CaseStatus.ACTIVE)
    now = datetime(2026, 3, 12, 15, tzinfo=UTC)
    case.apply_review(review(case.case_id, "round_table", offices=("Jobcenter", "ABH")), COORDINATOR, now)
    assert "beteiligte Stellen an einen Tisch holen (Jobcenter, ABH)" in case.journal[-1].text
    case.apply_review(review(case.case_id, "closure_recommended"), COORDINATOR, now)
    assert "Abschluss empfohlen" in case.journal[-1].text
    assert case.status is CaseStatus.ACTIVE and len(case.reviews) == 2


def test_a_review_of_a_case_that_is_not_active_names_the_state() -> None:
    case = make_case(CaseStatus.PLANNING)
    with pytest.raises(FailedPrecondition, match="Fallbesprechung"):
        case.apply_review(review(case.case_id), COORDINATOR, datetime(2026, 3, 12, 15, tzinfo=UTC))


def test_a_review_without_day_or_with_an_unknown_outcome_is_refused_in_german() -> None:
    case = make_case(CaseStatus.ACTIVE)
    with pytest.raises(InvalidArgument) as refused:
        case.apply_review(review(case.case_id, "weiter", held_on=None), COORDINATOR, later(100))
    assert {v.field for v in refused.value.violations} == {"held_on", "outcome"}
    assert case.reviews == []


def test_the_event_becomes_the_review_command() -> None:
    message = conference.CaseReviewDecided(
        context=conference.CaseDecisionContext(case_id="case-1", owner_node="stadt-node",
                                               decision_reference=REFERENCE, decided_by="koord"),
        outcome=conference_types.REVIEW_OUTCOME_ROUND_TABLE, offices_to_invite=["Jobcenter"],
        held_on=common.Date(year=2026, month=3, day=12))
    decision = inbound.decision(message)
    assert decision == c.Decision("stadt-node", "koord", c.ApplyReview(
        "case-1", date(2026, 3, 12), "round_table", ("Jobcenter",), REFERENCE))


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 6, 11, 14, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


@pytest.fixture
def cases() -> InMemoryCaseRepository:
    return InMemoryCaseRepository("stadt-node")


@pytest.fixture
def service(cases: InMemoryCaseRepository) -> CaseServices:
    return case_services(cases, node_org=OWNER, clock=Clock())


def stored_active(cases: InMemoryCaseRepository) -> Case:
    case, person = make_case_with_person(CaseStatus.ACTIVE)
    cases.add(case, person)
    cases.send()
    return case


def test_the_review_event_is_applied_once_and_audited(service: CaseServices,
                                                      cases: InMemoryCaseRepository) -> None:
    case = stored_active(cases)
    decision = c.Decision("stadt-node", "koord-ben", review(case.case_id, held_on=date(2026, 6, 11)))
    applied = service.fallvorschlaege.apply_decision(decision, "event-7", KREIS)
    assert applied is not None and applied.next_review_due == date(2026, 9, 11)
    assert service.fallvorschlaege.apply_decision(decision, "event-7", KREIS) is None  # redelivered
    stored = cases.get(case.case_id)
    assert len(stored.reviews) == 1 and stored.reviews[0].outcome is ReviewOutcome.CONTINUE
    assert [type(event).__name__ for event in cases.unsent(case.case_id)] == ["ReviewRecorded"]
    [entry] = cases.audit_entries(limit=0)
    assert (entry.call, entry.actor_subject, entry.actor_org, entry.purpose) == (
        "RecordReview", "koord-ben", COORDINATION, "Beschluss der Fallkonferenz")


def test_a_review_event_from_another_organisation_is_untrusted(service: CaseServices,
                                                               cases: InMemoryCaseRepository) -> None:
    case = stored_active(cases)
    decision = c.Decision("stadt-node", "koord-ben", review(case.case_id))
    with pytest.raises(UntrustedEvent):
        service.fallvorschlaege.apply_decision(decision, "event-8", STADT)
    assert cases.get(case.case_id).reviews == []
