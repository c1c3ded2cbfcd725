"""Beschlussverfolgung: allowed status transitions, the history of changes, overdue Beschlüsse
and their reminders."""

from __future__ import annotations

import copy
from datetime import date, timedelta

import pytest

from kimnetz.errors import FailedPrecondition, InvalidArgument
from services.conference.domain import events as ev
from services.conference.domain.beschluss import TRANSITIONS, overdue
from services.conference.domain.vocabulary import BeschlussStatus
from tests.unit.conference.factories import NOW, make_beschluss

ALLOWED = [(a, b) for a, targets in TRANSITIONS.items() for b in targets]
FORBIDDEN = [(a, b) for a in BeschlussStatus for b in BeschlussStatus if (a, b) not in ALLOWED]


def in_status(status: BeschlussStatus):  # type: ignore[no-untyped-def]
    beschluss = make_beschluss()
    if status is not BeschlussStatus.OPEN:
        beschluss.status = status
    return beschluss


@pytest.mark.parametrize(("start", "target"), ALLOWED, ids=lambda s: s.value)
def test_allowed_transition_is_recorded_in_history_and_event(
    start: BeschlussStatus, target: BeschlussStatus,
) -> None:
    beschluss = in_status(start)
    beschluss.change_status(target, by="member-2", now=NOW, note="Begründung")
    assert beschluss.status is target
    entry = beschluss.history[-1]
    assert (entry.from_status, entry.status, entry.by) == (start, target, "member-2")
    assert entry.note == "Begründung"
    [event] = beschluss.events
    assert isinstance(event, ev.BeschlussStatusChanged)
    assert (event.from_status, event.to_status) == (start, target)


@pytest.mark.parametrize(("start", "target"), FORBIDDEN, ids=lambda s: s.value)
def test_forbidden_transition_changes_nothing(start: BeschlussStatus, target: BeschlussStatus) -> None:
    beschluss = in_status(start)
    before = copy.deepcopy(beschluss)
    with pytest.raises(FailedPrecondition, match="kann nicht auf"):
        beschluss.change_status(target, by="koord-1", now=NOW, note="x")
    assert beschluss == before and beschluss.events == []


def test_history_starts_with_the_adoption() -> None:
    beschluss = make_beschluss()
    assert [(h.status, h.note) for h in beschluss.history] == [
        (BeschlussStatus.OPEN, "beschlossen (einvernehmlich (Konsens))"),
    ]


def test_discarding_needs_a_reason() -> None:
    beschluss = make_beschluss()
    with pytest.raises(InvalidArgument):
        beschluss.change_status(BeschlussStatus.DISCARDED, by="koord-1", now=NOW, note=" ")
    assert beschluss.status is BeschlussStatus.OPEN


def test_rescheduling_keeps_history_and_refuses_past_dates() -> None:
    beschluss = make_beschluss()
    with pytest.raises(InvalidArgument, match="Vergangenheit"):
        beschluss.reschedule(date(2025, 1, 1), by="koord-1", now=NOW, note="verschoben")
    beschluss.reschedule(date(2025, 9, 30), by="koord-1", now=NOW, note="Abstimmung mit der ABH dauert")
    assert beschluss.due_on == date(2025, 9, 30)
    assert beschluss.history[-1].due_on == date(2025, 9, 30)
    beschluss.change_status(BeschlussStatus.IMPLEMENTED, by="koord-1", now=NOW)
    with pytest.raises(FailedPrecondition):
        beschluss.reschedule(date(2025, 12, 1), by="koord-1", now=NOW, note="x")


def test_overdue_lists_pending_beschluesse_past_their_due_date_oldest_first() -> None:
    due = date(2025, 6, 30)
    late = make_beschluss(due_on=due - timedelta(days=10))
    just = make_beschluss(due_on=due - timedelta(days=1))
    today = make_beschluss(due_on=due)
    in_progress = make_beschluss(due_on=due - timedelta(days=5), status=BeschlussStatus.IN_PROGRESS)
    done = make_beschluss(due_on=due - timedelta(days=30), status=BeschlussStatus.IMPLEMENTED)
    discarded = make_beschluss(due_on=due - timedelta(days=30), status=BeschlussStatus.DISCARDED)
    result = overdue([today, just, done, late, in_progress, discarded], due)
    assert result == [late, in_progress, just]


def test_reminder_is_sent_once_per_due_date() -> None:
    beschluss = make_beschluss(due_on=date(2025, 6, 30))
    assert beschluss.remind(date(2025, 6, 30), NOW) is None
    reminder = beschluss.remind(date(2025, 7, 3), NOW)
    assert isinstance(reminder, ev.BeschlussOverdue)
    assert (reminder.days_overdue, reminder.responsible_person) == (3, "member-2")
    assert beschluss.remind(date(2025, 7, 4), NOW) is None
    beschluss.due_on = date(2025, 7, 10)  # rescheduled; passing the new date reminds again
    assert beschluss.remind(date(2025, 7, 11), NOW) is not None
    assert len(beschluss.events) == 2
