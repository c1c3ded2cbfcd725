"""The domain events and the contract in events.proto agree field by field."""

from __future__ import annotations

import dataclasses
import inspect

import pytest
from case_factories import make_case

from kim.case.v1 import events_pb2
from kimnetz.runtime.proto_mapping import check_enum, to_proto_enum
from services.case import contract
from services.case.domain import events as domain_events
from services.case.domain.vocabulary import CaseStatus, Handlungsfeld

EVENT_TYPES = [
    cls for _, cls in inspect.getmembers(domain_events, inspect.isclass)
    if issubclass(cls, domain_events.Event) and cls is not domain_events.Event
]


@pytest.mark.parametrize("event_type", EVENT_TYPES, ids=lambda t: t.__name__)
def test_every_domain_event_has_a_message_with_the_same_fields(event_type: type) -> None:
    message_type = getattr(events_pb2, event_type.__name__)
    domain_fields = {f.name for f in dataclasses.fields(event_type)}
    proto_fields = {f.name for f in message_type.DESCRIPTOR.fields}
    assert domain_fields == proto_fields


def test_an_event_maps_enums_dates_and_timestamps() -> None:
    case = make_case(CaseStatus.PLANNING)
    case.collect_events()
    from datetime import UTC, date, datetime

    from services.case.domain import commands as c
    from services.case.domain.policy import Actor
    now = datetime(2026, 3, 5, 9, 0, tzinfo=UTC)
    case.add_goal(c.AddGoal(case.case_id, "Sprachkenntnisse erweitern", "sprache", date(2026, 12, 31)),
                  Actor("cm", case.owner_org), now)
    [event] = case.collect_events()
    message = contract.event_message(event)
    assert isinstance(message, events_pb2.GoalAdded)
    assert message.pseudonym == case.pseudonym
    from kim.case.v1 import types_pb2
    assert message.handlungsfeld == types_pb2.HANDLUNGSFELD_SPRACHE
    assert (message.due_on.year, message.due_on.month, message.due_on.day) == (2026, 12, 31)
    assert message.occurred_at.ToDatetime(tzinfo=UTC) == now
    descriptor = events_pb2.GoalAdded.DESCRIPTOR.fields_by_name["handlungsfeld"].enum_type
    assert contract.domain_value(descriptor, message.handlungsfeld) == Handlungsfeld.SPRACHE.value


def test_every_domain_enum_value_exists_in_the_contract() -> None:
    from kim.case.v1 import types_pb2
    from services.case.domain import vocabulary
    for name in ("CaseStatus", "Handlungsfeld", "Rechtskreis", "ResidenceStatusKind", "ProposerKind",
                 "ReferralTarget", "ConsentKind", "ConsentPurpose", "DataCategory", "Priority",
                 "StepStatus", "GoalOutcome", "ClosureReason", "BarrierCategory", "BarrierStatus"):
        proto = getattr(types_pb2, name)  # the shared ones through kim.common.v1 (import public)
        domain = getattr(vocabulary, name)
        assert check_enum(proto, domain) == [], name
        assert len(proto.DESCRIPTOR.values) == len(domain) + 1, name
        for member in domain:
            number = to_proto_enum(proto, member)
            assert contract.domain_value(proto, number) == member.value


def test_figure_visibility_maps_by_name_and_a_suppressed_cell_carries_no_count() -> None:
    from kim.case.v1 import case_pb2
    from services.case.domain.monitoring import Cell, Visibility
    assert check_enum(case_pb2.FigureVisibility, Visibility) == []
    cell = contract._cell(Cell("x", "X", Visibility.SUPPRESSED, None))
    assert cell.visibility == case_pb2.FIGURE_VISIBILITY_SUPPRESSED
    assert cell.count == 0


def test_the_person_and_case_fields_of_issue_14_cross_the_contract_both_ways() -> None:
    from datetime import date

    from case_factories import CM, NOW

    from kim.case.v1 import case_pb2, types_pb2
    from kim.common.v1 import types_pb2 as common
    from services.case.domain.brief import build_brief
    from services.case.domain.case import Case
    from services.case.domain.zielgruppen import METTMANN_V1

    request = case_pb2.ProposeCaseRequest(
        coordination_org="kreis-mettmann", proposer_kind=types_pb2.PROPOSER_KIND_OFFICE, reason="Grund",
        handlungsfelder=[common.HANDLUNGSFELD_SPRACHE], access_route=common.ACCESS_ROUTE_SCHULE,
        person=case_pb2.Person(
            given_name="Amina", family_name="Haddad", birth_date=common.Date(year=1990, month=1, day=2),
            nationalities=["SY"], country_of_origin="SY",
            residence=case_pb2.ResidenceStatus(kind=common.RESIDENCE_STATUS_KIND_DULDUNG,
                                               valid_until=common.Date(year=2026, month=6, day=30)),
            gender=common.GENDER_WEIBLICH, home_kommune=common.Kommune(key="05158016", name="Hilden"),
            entry_date=common.Date(year=2015, month=9, day=5), interpreter_needed=True,
            interpreter_language="ar"))
    case, person = Case.propose(contract.proposal_command(request, "stadt-hilden"), CM, NOW, METTMANN_V1)
    message = contract.person_message(person)
    assert (message.gender, message.home_kommune.key, message.home_kommune.name) == (
        common.GENDER_WEIBLICH, "05158016", "Hilden")
    assert (message.entry_date.year, message.interpreter_needed, message.interpreter_language) == (
        2015, True, "ar")
    assert message.residence.valid_until.month == 6
    case_message = contract.case_message(case)
    assert case_message.proposal.access_route == common.ACCESS_ROUTE_SCHULE
    assert (case_message.home_kommune.name, case_message.gender) == ("Hilden", common.GENDER_WEIBLICH)
    brief = contract.brief_message(case.case_id, build_brief(case, person, date(2026, 3, 4)))
    assert (brief.home_kommune.key, brief.gender, brief.access_route) == (
        "05158016", common.GENDER_WEIBLICH, common.ACCESS_ROUTE_SCHULE)
    # Unset on the wire: no Kommune, "ohne Angabe", no access route.
    bare = case_pb2.ProposeCaseRequest()
    bare.CopyFrom(request)
    bare.ClearField("access_route")
    bare.person.ClearField("gender")
    bare.person.ClearField("home_kommune")
    case, person = Case.propose(contract.proposal_command(bare, "stadt-hilden"), CM, NOW, METTMANN_V1)
    assert (person.home_kommune, person.gender.value) == (None, "ohne_angabe")
    assert case.proposal.access_route is None
    assert not contract.case_message(case).HasField("home_kommune")
