"""`Fallkonferenzen` on the in-memory fake: only coordinators of the koordinierende Stelle
schedule, prepare and run a conference and decide its cases; invited participants (by
organisation and username) read it; every save records its events; lists come latest first."""

from __future__ import annotations

from datetime import timedelta

import pytest

from kimnetz.errors import NotFound, PermissionDenied
from services.conference.domain.fallkonferenz import Decision, Fallkonferenz, add_months
from services.conference.domain.vocabulary import ConferenceStatus
from tests.unit.conference.factories import (
    CONFERENCE_START,
    KI,
    make_brief,
    make_participants,
    make_review_brief,
)
from tests.unit.conference.service_fixtures import (
    CASE_MANAGER,
    CLERK,
    KOORD,
    OTHER_KOORD,
    CountingCaseBriefs,
    OnFake,
    actor,
    on_fake,
)


def scheduled(fake: OnFake, starts_at: object = CONFERENCE_START) -> Fallkonferenz:
    return fake.services.fallkonferenzen.schedule_conference(
        KOORD, starts_at=starts_at, place="Kreishaus", video_link="",  # type: ignore[arg-type]
        participants=make_participants())


def running(fake: OnFake) -> tuple[Fallkonferenz, str]:
    conference = scheduled(fake)
    brief = make_brief()
    fake.services.fallkonferenzen.build_agenda(KOORD, conference.conference_id, CountingCaseBriefs([brief]))
    fake.services.fallkonferenzen.start_conference(KOORD, conference.conference_id)
    return conference, brief.case_id


def test_the_agenda_takes_the_reviews_due_before_the_stelle_s_next_planned_conference() -> None:
    fake = on_fake()
    conference = scheduled(fake)
    following = scheduled(fake, CONFERENCE_START + timedelta(days=91))
    before = make_review_brief(review_due_on=following.day - timedelta(days=1))
    on_next = make_review_brief(review_due_on=following.day)
    cases = CountingCaseBriefs([before, on_next])
    _, built = fake.services.fallkonferenzen.build_agenda(KOORD, conference.conference_id, cases)
    assert cases.reviews_due_by == following.day - timedelta(days=1)  # the case service's filter
    assert built.added == (before.case_id,)
    assert [s.case_id for s in built.skipped] == [on_next.case_id]


def test_without_a_later_conference_the_configured_interval_counts() -> None:
    fake = on_fake()
    fake.services.fallkonferenzen.review_interval_months = 1
    conference = scheduled(fake)
    cases = CountingCaseBriefs([])
    fake.services.fallkonferenzen.build_agenda(KOORD, conference.conference_id, cases)
    assert cases.reviews_due_by == add_months(conference.day, 1) - timedelta(days=1)


def test_a_coordinator_schedules_for_their_own_stelle_and_the_event_is_recorded() -> None:
    fake = on_fake()
    conference = scheduled(fake)
    assert conference.coordination_org == KI and conference.scheduled_by == "koord-1"
    stored = fake.repository.conference(conference.conference_id)
    assert stored.starts_at == CONFERENCE_START
    assert fake.repository.event_types(conference.conference_id) == ["kim.conference.v1.ConferenceScheduled"]


@pytest.mark.parametrize("who", [CASE_MANAGER, CLERK, actor("lenkung-1", KI, "steering_member")])
def test_nobody_but_a_coordinator_schedules_and_nothing_is_stored(who: object) -> None:
    fake = on_fake()
    with pytest.raises(PermissionDenied):
        fake.services.fallkonferenzen.schedule_conference(
            who, starts_at=CONFERENCE_START, place="Kreishaus", video_link="",  # type: ignore[arg-type]
            participants=make_participants())
    assert fake.repository.events == []


def test_only_the_koordinierende_stelle_decides_a_case() -> None:
    fake = on_fake()
    conference, case_id = running(fake)
    for who in (OTHER_KOORD, CASE_MANAGER):  # a coordinator elsewhere; an invited participant
        with pytest.raises(PermissionDenied):
            fake.services.fallkonferenzen.decide_item(
                who, conference.conference_id, case_id, Decision.rejection("kein Bedarf"))
    assert fake.repository.conference(conference.conference_id).item(case_id).decision is None

    decided = fake.services.fallkonferenzen.decide_item(
        KOORD, conference.conference_id, case_id, Decision.rejection("kein Bedarf"))
    decision = decided.item(case_id).decision
    assert decision is not None and decision.decided_by == "koord-1"
    last = fake.repository.event_types(conference.conference_id)[-1]
    assert last == "kim.conference.v1.CaseRejectionDecided"


def test_invited_participants_read_by_organisation_and_username() -> None:
    fake = on_fake()
    conference = scheduled(fake)
    read = fake.services.fallkonferenzen.get_conference(CASE_MANAGER, conference.conference_id)
    assert read.conference_id == conference.conference_id
    # The same username at an organisation that was not invited reads nothing.
    with pytest.raises(PermissionDenied):
        fake.services.fallkonferenzen.get_conference(
            actor("cm-hilden", "stadt-ratingen", "case_manager"), conference.conference_id)
    with pytest.raises(NotFound):
        fake.services.fallkonferenzen.get_conference(KOORD, "nope")


def test_a_denied_caller_makes_the_case_service_read_nothing() -> None:
    fake = on_fake()
    conference = scheduled(fake)
    cases = CountingCaseBriefs([make_brief()])
    with pytest.raises(PermissionDenied):
        fake.services.fallkonferenzen.build_agenda(CASE_MANAGER, conference.conference_id, cases)
    assert cases.asked == 0
    _, built = fake.services.fallkonferenzen.build_agenda(KOORD, conference.conference_id, cases)
    assert cases.asked == 1 and len(built.added) == 1


def test_the_stelle_s_conferences_are_listed_latest_first_in_pages() -> None:
    fake = on_fake()
    ids = [scheduled(fake, CONFERENCE_START + timedelta(days=d)).conference_id for d in (0, 2, 1)]
    first = fake.services.fallkonferenzen.list_conferences(KOORD, status=None, page_size=2, page_token="")
    rest = fake.services.fallkonferenzen.list_conferences(
        KOORD, status=None, page_size=2, page_token=first.next_page_token)
    assert [c.conference_id for c in [*first, *rest]] == [ids[1], ids[2], ids[0]]
    assert list(fake.services.fallkonferenzen.list_conferences(
        OTHER_KOORD, status=None, page_size=0, page_token="")) == []
    with pytest.raises(PermissionDenied):
        fake.services.fallkonferenzen.list_conferences(CASE_MANAGER, status=None, page_size=0, page_token="")


def test_closing_records_the_close_after_the_decisions() -> None:
    fake = on_fake()
    conference, case_id = running(fake)
    fake.services.fallkonferenzen.decide_item(
        KOORD, conference.conference_id, case_id, Decision.rejection("kein Bedarf"))
    closed = fake.services.fallkonferenzen.close_conference(KOORD, conference.conference_id)
    assert closed.status is ConferenceStatus.CLOSED
    types = fake.repository.event_types(conference.conference_id)
    decided = types.index("kim.conference.v1.CaseRejectionDecided")
    assert decided < types.index("kim.conference.v1.ConferenceClosed")
