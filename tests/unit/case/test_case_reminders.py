"""Reminders in the domain (services/case/domain/reminders.py): which occasions a case has,
when each window opens and closes, and that each occasion is reminded of once."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from case_factories import CM, NOW, TODAY, birth_date_for_age, later, make_case_with_person, make_person_data

from kimnetz.errors import FailedPrecondition
from services.case.domain import commands as c, events as e
from services.case.domain.reminders import (
    LeadTimes,
    birthday,
    due,
    may_still_apply_25a,
    occasions,
    reminders_of,
    unsent,
)
from services.case.domain.vocabulary import CaseStatus, ReminderKind
from services.case.domain.zielgruppen import METTMANN_V1

K = ReminderKind
LEAD = LeadTimes()


def kinds(found: list) -> list[ReminderKind]:  # type: ignore[type-arg]
    return [o.kind for o in found]


def duldung_until(until: date, **person: object) -> dict[str, object]:
    return {"person": make_person_data(residence_valid_until=until, **person)}


# -- Duldung and Gestattung ------------------------------------------------------------------------

def test_the_end_of_a_duldung_is_reminded_from_its_lead_time_until_the_day() -> None:
    until = TODAY + timedelta(days=LEAD.residence_days)
    case, person = make_case_with_person(**duldung_until(until))
    [occasion] = due(case, person, TODAY, LEAD)
    assert (occasion.kind, occasion.due_on, occasion.remind_from) == (K.DULDUNG_ENDS, until, TODAY)
    assert occasion.label == "Die Duldung endet"
    assert due(case, person, TODAY - timedelta(days=1), LEAD) == []  # window not open yet
    assert kinds(due(case, person, until, LEAD)) == [K.DULDUNG_ENDS]  # on the day itself
    assert due(case, person, until + timedelta(days=1), LEAD) == []  # passed: never


def test_the_end_of_an_aufenthaltsgestattung_has_its_own_kind() -> None:
    case, person = make_case_with_person(**duldung_until(date(2026, 3, 20),
                                                         residence_kind="aufenthaltsgestattung",
                                                         legal_basis="§ 55 AsylG"))
    assert kinds(due(case, person, TODAY, LEAD)) == [K.GESTATTUNG_ENDS]


def test_no_residence_reminder_without_an_end_date_or_for_a_residence_permit() -> None:
    case, person = make_case_with_person(person=make_person_data(residence_valid_until=None))
    assert due(case, person, TODAY, LEAD) == []
    case, person = make_case_with_person(**duldung_until(
        date(2026, 3, 20), residence_kind="aufenthaltserlaubnis", legal_basis="§ 25 Abs. 2 AufenthG"))
    assert due(case, person, TODAY, LEAD) == []


def test_the_lead_time_is_a_setting() -> None:
    case, person = make_case_with_person(**duldung_until(date(2026, 3, 20)))
    assert due(case, person, TODAY, LeadTimes(residence_days=15)) == []
    assert kinds(due(case, person, TODAY, LeadTimes(residence_days=16))) == [K.DULDUNG_ENDS]


# -- birthdays -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("years", "kind"), [(18, K.BIRTHDAY_18), (21, K.BIRTHDAY_21)])
def test_the_18th_and_21st_birthday_are_reminded(years: int, kind: ReminderKind) -> None:
    coming = TODAY + timedelta(days=30)
    born = coming.replace(year=coming.year - years)
    case, person = make_case_with_person(person=make_person_data(
        birth_date=born, residence_kind="aufenthaltserlaubnis", legal_basis="§ 25 Abs. 2 AufenthG",
        residence_valid_until=None))
    [occasion] = due(case, person, TODAY, LEAD)
    assert (occasion.kind, occasion.due_on) == (kind, coming)
    assert occasion.remind_from == coming - timedelta(days=LEAD.birthday_days)


def test_a_birthday_on_29_february_falls_on_1_march_in_common_years() -> None:
    assert birthday(date(2008, 2, 29), 18) == date(2026, 3, 1)
    assert birthday(date(2008, 2, 29), 20) == date(2028, 2, 29)


# -- § 25a: application before the 27th birthday ---------------------------------------------------

def test_the_last_day_for_25a_is_the_day_before_the_27th_birthday_for_a_geduldete_person() -> None:
    birthday_27 = TODAY + timedelta(days=100)
    born = birthday_27.replace(year=birthday_27.year - 27)
    case, person = make_case_with_person(person=make_person_data(birth_date=born, residence_valid_until=None))
    [occasion] = due(case, person, TODAY, LEAD)
    assert (occasion.kind, occasion.due_on) == (K.APPLICATION_25A_DEADLINE, birthday_27 - timedelta(days=1))
    assert "§ 25a" in occasion.label


@pytest.mark.parametrize(("kind", "basis", "possible"), [
    ("duldung", "§ 60a AufenthG", True),
    ("duldung", "", True),
    ("aufenthaltserlaubnis", "§ 104c AufenthG", True),
    ("aufenthaltserlaubnis", "§ 25a Abs. 1 AufenthG", False),
    ("aufenthaltserlaubnis", "§ 25b AufenthG", False),
    ("niederlassungserlaubnis", "", False),
    ("aufenthaltsgestattung", "§ 55 AsylG", False),
])
def test_25a_is_reminded_only_while_the_status_allows_the_application(kind: str, basis: str,
                                                                      possible: bool) -> None:
    _, person = make_case_with_person(person=make_person_data(
        residence_kind=kind, legal_basis=basis, residence_valid_until=None,
        birth_date=birth_date_for_age(26)))
    assert may_still_apply_25a(person) is possible


def test_no_25a_reminder_after_the_27th_birthday() -> None:
    case, person = make_case_with_person(person=make_person_data(birth_date=birth_date_for_age(27),
                                                                 residence_valid_until=None))
    assert due(case, person, TODAY, LEAD) == []


# -- review ----------------------------------------------------------------------------------------

def test_the_review_of_an_active_case_is_reminded_before_it_is_due() -> None:
    case, person = make_case_with_person(CaseStatus.ACTIVE,
                                         person=make_person_data(residence_valid_until=None))
    assert case.next_review_due is not None
    assert due(case, person, TODAY, LEAD) == []
    before = case.next_review_due - timedelta(days=LEAD.review_days)
    [occasion] = due(case, person, before, LEAD)
    assert (occasion.kind, occasion.due_on) == (K.REVIEW_DUE, case.next_review_due)


def test_a_horizon_looks_beyond_the_lead_times_but_never_back() -> None:
    case, person = make_case_with_person(CaseStatus.ACTIVE,
                                         person=make_person_data(residence_valid_until=None))
    assert case.next_review_due is not None
    days = (case.next_review_due - TODAY).days
    assert kinds(due(case, person, TODAY, LEAD, horizon_days=days)) == [K.REVIEW_DUE]
    assert due(case, person, TODAY, LEAD, horizon_days=days - 1) == []


# -- which cases, and once per occasion --------------------------------------------------------------

@pytest.mark.parametrize("status", [CaseStatus.CLOSED, CaseStatus.REFERRED, CaseStatus.REJECTED])
def test_an_ended_case_has_no_reminders(status: CaseStatus) -> None:
    case, person = make_case_with_person(status, **duldung_until(date(2026, 3, 20)))
    assert occasions(case, person, LEAD) == []
    with pytest.raises(FailedPrecondition):
        case.remind(due(*make_case_with_person(**duldung_until(date(2026, 3, 20))), TODAY, LEAD)[0], NOW)


def test_without_a_person_only_the_review_remains() -> None:
    case, _ = make_case_with_person(CaseStatus.ACTIVE, **duldung_until(date(2026, 3, 20)))
    assert kinds(occasions(case, None, LEAD)) == [K.REVIEW_DUE]


def test_an_occasion_is_reminded_once_with_an_event_and_a_new_date_is_a_new_occasion() -> None:
    case, person = make_case_with_person(CaseStatus.ADMITTED, **duldung_until(date(2026, 3, 20)))
    [occasion] = unsent(case, person, TODAY, LEAD)
    assert case.remind(occasion, later(5))
    [event] = case.collect_events()
    assert isinstance(event, e.CaseReminderDue)
    assert (event.kind, event.due_on, event.remind_from, event.case_manager, event.pseudonym) == (
        K.DULDUNG_ENDS, date(2026, 3, 20), date(2026, 2, 6), case.case_manager, case.pseudonym)
    assert not case.remind(occasion, later(6)) and case.collect_events() == []
    assert unsent(case, person, TODAY, LEAD) == []
    assert [r.sent for r in reminders_of(case, person, TODAY, LEAD)] == [True]
    # The Duldung is extended: its new end is a new occasion.
    renewed = make_person_data(residence_valid_until=date(2026, 4, 10))
    new_person, _ = case.update_person(c.UpdatePerson(case.case_id, renewed), person, CM, later(7),
                                       METTMANN_V1)
    [again] = unsent(case, new_person, TODAY, LEAD)
    assert again.due_on == date(2026, 4, 10)
