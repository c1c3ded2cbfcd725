"""The quarterly review over three real nodes (Borken: every active case is discussed in the
quarterly Fallkonferenz): the Stadt Hilden proposes a case, the Kreis's Fallkonferenz admits it
into the Stadt's own case management, the Stadt's case manager activates the Integrationsplan;
the Kreis plans its next two Fallkonferenzen, and the first one's agenda takes the case, whose
review falls due before the second; the review decided at the Kreis arrives at the Stadt as
the next review date, the outcome and a journal entry, once.

One federation of its own (tests/e2e/story_support.py); the story's scenario supplies the
person and the words typed in."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest

from kim.case.v1 import case_pb2, types_pb2 as C
from kim.conference.v1 import conference_pb2 as K, types_pb2 as KT
from kimctl.story import (
    CARITAS,
    COORDINATOR,
    KREIS,
    STADT,
    STADT_CASE_MANAGER,
    Story,
    StoryCase,
    messages,
    poll,
)
from tests.e2e.story_support import ThreeNodes, three_nodes

TIMEOUT = 60.0


@pytest.fixture(scope="module")
def federation(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreeNodes]:
    with three_nodes(tmp_path_factory) as running:
        yield running


def _add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    for candidate in (day.day, 30, 29, 28):
        try:
            return date(year, month, min(day.day, candidate))
        except ValueError:
            continue
    raise AssertionError("unreachable")


def test_a_review_decided_at_the_kreis_reaches_the_stadt_s_case(
    federation: ThreeNodes, tmp_path_factory: pytest.TempPathFactory
) -> None:
    story = Story(federation.node(KREIS), federation.node(STADT), federation.node(CARITAS),
                  federation.token, tmp_path_factory.mktemp("review-out"), timeout=TIMEOUT)
    try:
        _run(story)
    finally:
        story.api.close()


def _run(story: Story) -> None:
    plan = story.story
    proposal = plan.proposals["stadt"]
    case = StoryCase(proposal.person, story.stadt, proposal.owner)
    story.propose_as_planned(case, proposal)
    kreis = story.api.conference(story.kreis, COORDINATOR)
    participants = [messages.participant(actor, role) for actor, role in plan.fallkonferenz.participants]

    def schedule(starts_at: datetime) -> K.Conference:
        return kreis.ScheduleConference(K.ScheduleConferenceRequest(
            starts_at=messages.stamp(starts_at), place=plan.fallkonferenz.place, participants=participants))

    # The Fallvorschlag: admitted into the Stadt's own case management.
    first = schedule(datetime.now(UTC) + timedelta(minutes=5))
    built = story.build_agenda_until(first.conference_id, {case.pseudonym})
    [item] = [i for i in built.conference.agenda if i.brief.pseudonym == case.pseudonym]
    assert item.kind == KT.AGENDA_ITEM_KIND_PROPOSAL
    kreis.StartConference(K.StartConferenceRequest(conference_id=first.conference_id))
    kreis.DecideItem(K.DecideItemRequest(
        conference_id=first.conference_id, case_id=case.case_id,
        decision=K.Decision(admission=K.Admission(assigned_org=STADT,
                                                  case_manager=STADT_CASE_MANAGER.username))))
    kreis.CloseConference(K.CloseConferenceRequest(conference_id=first.conference_id))
    story.wait_for_status(case, C.CASE_STATUS_ADMITTED)

    # At the Stadt: Bedarfsermittlung, Integrationsplan, active; the first review falls due in
    # three months.
    stadt = story.api.case(story.stadt, STADT_CASE_MANAGER)
    ref = case_pb2.CaseRef(case_id=case.case_id, purpose="Fallbearbeitung")
    stadt.StartAssessment(ref)
    stadt.RecordNeed(case_pb2.RecordNeedRequest(
        case_id=case.case_id, handlungsfeld=C.HANDLUNGSFELD_AUFENTHALT_IDENTITAET,
        need="Bleibeperspektive klären", resources="Deutsch auf B1", priority=C.PRIORITY_HIGH))
    stadt.StartPlanning(ref)
    planned = stadt.AddGoal(case_pb2.AddGoalRequest(
        case_id=case.case_id, title="Bleibeperspektive verfestigen",
        handlungsfeld=C.HANDLUNGSFELD_AUFENTHALT_IDENTITAET,
        due_on=messages.day(date.today() + timedelta(days=180))))
    stadt.AddStep(case_pb2.AddStepRequest(
        case_id=case.case_id, goal_id=planned.goals[-1].goal_id,
        description="Beratung zu § 25b AufenthG bei der ABH", responsible="Stadt Hilden mit ABH",
        rechtskreis=C.RECHTSKREIS_AUFENTHG, due_on=messages.day(date.today() + timedelta(days=30))))
    active = stadt.ActivatePlan(ref)
    assert active.status == C.CASE_STATUS_ACTIVE
    due = date(active.next_review_due.year, active.next_review_due.month, active.next_review_due.day)

    # The Kreis plans its next two Fallkonferenzen: the review falls due before the second, so it
    # belongs on the first (Borken; docs/conference.md, „Quarterly reviews“).
    review_conference = schedule(datetime.now(UTC) + timedelta(minutes=10))
    schedule(datetime.now(UTC) + timedelta(days=100))
    built = story.build_agenda_until(review_conference.conference_id, {case.pseudonym})
    [item] = [i for i in built.conference.agenda if i.brief.pseudonym == case.pseudonym]
    assert item.kind == KT.AGENDA_ITEM_KIND_REVIEW and item.brief.owner_node == story.stadt.node_id
    kreis.StartConference(K.StartConferenceRequest(conference_id=review_conference.conference_id))
    kreis.DecideItem(K.DecideItemRequest(
        conference_id=review_conference.conference_id, case_id=case.case_id,
        decision=K.Decision(review=K.Review(outcome=KT.REVIEW_OUTCOME_ROUND_TABLE,
                                            offices_to_invite=["Jobcenter", "Ausländerbehörde"]))))
    kreis.CloseConference(K.CloseConferenceRequest(conference_id=review_conference.conference_id))

    def reviewed() -> case_pb2.Case | None:
        current = stadt.GetCase(case_pb2.GetCaseRequest(case_id=case.case_id, purpose="Fallbearbeitung"))
        return current if current.reviews else None

    arrived = poll(f"Fallbesprechung zu {case.pseudonym} bei der Stadt", reviewed, TIMEOUT)
    [review] = arrived.reviews
    held_on = date(review.held_on.year, review.held_on.month, review.held_on.day)
    next_due = date(arrived.next_review_due.year, arrived.next_review_due.month, arrived.next_review_due.day)
    assert held_on <= date.today() + timedelta(days=1)
    assert next_due == _add_months(held_on, 3) and next_due > due - timedelta(days=1)
    assert review.outcome == C.REVIEW_OUTCOME_ROUND_TABLE
    assert list(review.offices_to_invite) == ["Jobcenter", "Ausländerbehörde"]
    assert review_conference.conference_id in review.decision_reference
    assert arrived.status == C.CASE_STATUS_ACTIVE
    journal = [note.text for note in arrived.journal]
    assert any(text.startswith("Fallbesprechung in der Fallkonferenz") and
               "beteiligte Stellen an einen Tisch holen (Jobcenter, Ausländerbehörde)" in text and
               f"Nächste Überprüfung fällig am {next_due:%d.%m.%Y}" in text for text in journal), journal
