"""Reminders in the service layer on the in-memory fake: the worker's `send_reminders` (one
`CaseReminderDue` per occasion, in the outbox with the case's write, audited without personal
data) and the „Was ist fällig“ view `list_reminders` (ListReminders) for the owner's case
managers and coordinators only."""

from __future__ import annotations

import sys
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from services.case.composition import CaseServices, case_services
from services.case.domain import events as e
from services.case.domain.reminders import LeadTimes
from services.case.domain.vocabulary import CaseStatus, ReminderKind
from tests.support.fakes.case import InMemoryCaseRepository

sys.path.insert(0, str(Path(__file__).resolve().parent))
from case_factories import (
    CM,
    COORDINATOR,
    OWNER,
    later,
    make_actor,
    make_case_with_person,
    make_person_data,
)

OWN_COORDINATOR = make_actor(("coordinator",), OWNER, "koord-hilden")
CLERK = make_actor(("clerk",), OWNER, "buero-hilden")


class Ticking:
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
    return case_services(cases, node_org=OWNER, clock=Ticking(),
                         reminder_lead_times=LeadTimes(residence_days=30))


def add(cases: InMemoryCaseRepository, status: CaseStatus = CaseStatus.ADMITTED, **person: object) -> str:
    case, who = make_case_with_person(status, person=make_person_data(**person))
    cases.add(case, who)
    cases.send()
    return case.case_id


def test_a_duldung_ending_soon_is_sent_once_as_an_event_with_the_write(
        service: CaseServices, cases: InMemoryCaseRepository) -> None:
    ending = add(cases, residence_valid_until=date(2026, 3, 25))
    later_one = add(cases, residence_valid_until=date(2026, 9, 30))  # window opens in August
    assert service.erinnerungen.send_reminders() == [f"{ending}:duldung_ends"]
    [event] = cases.unsent(ending)
    assert isinstance(event, e.CaseReminderDue)
    assert (event.kind, event.due_on, event.case_manager) == (ReminderKind.DULDUNG_ENDS, date(2026, 3, 25),
                                                              cases.get(ending).case_manager)
    assert cases.unsent(later_one) == []
    # The next tick finds it sent: nothing again.
    cases.send()
    assert service.erinnerungen.send_reminders() == []
    assert cases.unsent(ending) == []
    [entry] = [a for a in cases.audit_entries(ending) if a.call == "SendReminders"]
    assert entry.detail == "Erinnerung: duldung_ends" and entry.actor_subject == "kim-erinnerungen"


def test_a_closed_case_and_a_case_of_another_organisation_are_not_reminded(
        service: CaseServices, cases: InMemoryCaseRepository) -> None:
    add(cases, CaseStatus.CLOSED, residence_valid_until=date(2026, 3, 25))
    other = case_services(cases, node_org="stadt-haan", clock=Ticking())
    add(cases, residence_valid_until=date(2026, 3, 25))
    assert other.erinnerungen.send_reminders() == []
    assert len(service.erinnerungen.send_reminders()) == 1


def test_what_is_due_lists_the_owners_open_reminders_oldest_date_first(
        service: CaseServices, cases: InMemoryCaseRepository) -> None:
    first = add(cases, residence_valid_until=date(2026, 3, 10))
    second = add(cases, residence_kind="aufenthaltsgestattung", legal_basis="§ 55 AsylG",
                 residence_valid_until=date(2026, 3, 30))
    add(cases, residence_valid_until=date(2026, 9, 30))
    service.erinnerungen.send_reminders()
    for actor in (CM, OWN_COORDINATOR):
        found = service.erinnerungen.list_reminders(actor)
        assert [(r.case_id, r.kind, r.sent) for r in found] == [
            (first, ReminderKind.DULDUNG_ENDS, True), (second, ReminderKind.GESTATTUNG_ENDS, True)]
        assert found[1].label == "Die Aufenthaltsgestattung endet"
    # A look further ahead shows the September date too.
    assert len(service.erinnerungen.list_reminders(CM, horizon_days=220)) == 3
    [entry] = [a for a in cases.audit_entries() if a.call == "ListReminders"][:1]
    assert entry.detail == "2 Erinnerungen" and entry.allowed


def test_what_is_due_for_one_case_manager(service: CaseServices, cases: InMemoryCaseRepository) -> None:
    add(cases, CaseStatus.PROPOSED, residence_valid_until=date(2026, 3, 10))  # nobody's yet
    assigned = add(cases, residence_valid_until=date(2026, 3, 12))
    manager = cases.get(assigned).case_manager
    assert manager  # the admitted case is assigned
    assert len(service.erinnerungen.list_reminders(CM)) == 2
    [mine] = service.erinnerungen.list_reminders(CM, case_manager=manager)
    assert (mine.case_id, mine.case_manager) == (assigned, manager)
    assert service.erinnerungen.list_reminders(CM, case_manager="niemand") == []


def test_others_see_no_reminders(service: CaseServices, cases: InMemoryCaseRepository) -> None:
    add(cases, residence_valid_until=date(2026, 3, 10))
    assert service.erinnerungen.list_reminders(CLERK) == []  # may not read the person
    assert service.erinnerungen.list_reminders(COORDINATOR) == []  # the Kreis: not its case


def test_the_lead_times_are_settings_with_their_defaults() -> None:
    from services.case.settings import CaseSettings

    assert CaseSettings().reminder_lead_times() == LeadTimes(42, 90, 180, 14)
    assert CaseSettings(reminder_residence_days=7, reminder_review_days=3).reminder_lead_times() == \
        LeadTimes(residence_days=7, birthday_days=90, application_25a_days=180, review_days=3)
