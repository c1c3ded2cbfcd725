"""Reminders over real nodes (issue 14): the Stadt Hilden's case manager proposes two cases to
the Kreis, one whose Duldung ends in ten days and one whose Duldung ends in thirty. The Stadt
node's worker (reminder timer every second, lead time for a Duldung 20 days: settings
overrides, as an operator sets them) sends `CaseReminderDue` for the first one, once however
many ticks pass, and not for the second; the case manager's „Was ist fällig“ (ListReminders)
shows it as sent. The Kreis, to which both cases were proposed, has no reminder of them: the
reminders stay on the owning node.

Three nodes of a federation of their own (tests/e2e/story_support.py)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

import pytest

from kim.case.v1 import case_pb2, events_pb2, types_pb2 as C
from kimctl.story import COORDINATOR, KREIS, STADT, STADT_CASE_MANAGER, Api
from kimnetz.runtime import events
from kimnetz.runtime.proto_mapping import to_proto_date
from tests.e2e.story_support import ThreeNodes, duldung_proposal, three_nodes
from tests.support.event_tap import drain, event_tap

REMINDER_SETTINGS = {"KIM_CASE_REMINDER_INTERVAL_SECONDS": "1", "KIM_CASE_REMINDER_RESIDENCE_DAYS": "20"}


@pytest.fixture(scope="module")
def federation(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreeNodes]:
    with three_nodes(tmp_path_factory, extra=REMINDER_SETTINGS) as running:
        yield running


@pytest.fixture(scope="module")
def api(federation: ThreeNodes) -> Iterator[Api]:
    client = Api(federation.token)
    yield client
    client.close()


def test_a_duldung_ending_soon_is_reminded_once_on_the_owning_node_only(
        federation: ThreeNodes, api: Api, request: pytest.FixtureRequest) -> None:
    stadt = federation.settings[STADT]
    case_api = api.case(federation.node(STADT), STADT_CASE_MANAGER)
    today = date.today()
    with event_tap(stadt.amqp_uri, "case", f"reminders-{request.node.name}") as tap:
        soon = case_api.ProposeCase(duldung_proposal("Bald", duldung_until=today + timedelta(days=10)))
        later = case_api.ProposeCase(duldung_proposal("Spaeter", duldung_until=today + timedelta(days=30)))
        # At least five ticks of the timer after the first reminder: still one.
        received = drain(stadt.amqp_uri, tap, expected=3, seconds=60, settle_seconds=5)
    reminders = [events.unpack(envelope) for envelope in received
                 if envelope.type == events.event_type(events_pb2.CaseReminderDue)]
    assert len(reminders) == 1, [envelope.type for envelope in received]
    [reminder] = reminders
    assert isinstance(reminder, events_pb2.CaseReminderDue)
    assert (reminder.case_id, reminder.kind, reminder.pseudonym) == (
        soon.case_id, C.REMINDER_KIND_DULDUNG_ENDS, soon.pseudonym)
    assert reminder.due_on == to_proto_date(today + timedelta(days=10))
    assert reminder.remind_from == to_proto_date(today - timedelta(days=10))

    # „Was ist fällig“ at home: the first case, sent; the second only with a look further ahead.
    due = case_api.ListReminders(case_pb2.ListRemindersRequest()).reminders
    assert [(r.case_id, r.kind, r.sent, r.label) for r in due] == [
        (soon.case_id, C.REMINDER_KIND_DULDUNG_ENDS, True, "Die Duldung endet")]
    ahead = case_api.ListReminders(case_pb2.ListRemindersRequest(horizon_days=31)).reminders
    assert [(r.case_id, r.sent) for r in ahead] == [(soon.case_id, True), (later.case_id, False)]
    stored = case_api.GetCase(case_pb2.GetCaseRequest(case_id=soon.case_id))
    assert [(r.kind, r.due_on) for r in stored.reminders] == [
        (C.REMINDER_KIND_DULDUNG_ENDS, to_proto_date(today + timedelta(days=10)))]
    assert (stored.home_kommune.name, stored.gender) == ("Hilden", C.GENDER_MAENNLICH)

    # The Kreis, to which both cases were proposed, has no reminders of them.
    kreis_api = api.case(federation.node(KREIS), COORDINATOR)
    assert list(kreis_api.ListReminders(case_pb2.ListRemindersRequest(horizon_days=60)).reminders) == []
