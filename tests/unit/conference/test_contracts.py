"""Every domain event has its protobuf message, and every vocabulary its proto enum member."""

from __future__ import annotations

import pytest

from kim.conference.v1 import types_pb2 as types
from kimnetz.runtime.proto_mapping import check_enum, from_proto_enum, to_proto_enum
from services.conference import contracts
from services.conference.domain import events as ev, vocabulary as v

DOMAIN_EVENTS = [
    c for c in vars(ev).values()
    if isinstance(c, type) and issubclass(c, ev.Event) and c not in (ev.Event, ev.CaseDecisionEvent)
]
ENUMS = [
    (v.ConferenceStatus, types.ConferenceStatus), (v.AgendaItemKind, types.AgendaItemKind),
    (v.DecisionKind, types.DecisionKind), (v.ReviewOutcome, types.ReviewOutcome),
    (v.ReferralTarget, types.ReferralTarget), (v.ParticipantRole, types.ParticipantRole),
    (v.CaseStatus, types.CaseStatus), (v.Handlungsfeld, types.Handlungsfeld),
    (v.Rechtskreis, types.Rechtskreis), (v.AgeBand, types.AgeBand),
    (v.ResidenceStatusKind, types.ResidenceStatusKind), (v.SessionStatus, types.SessionStatus),
    (v.VoteChoice, types.VoteChoice), (v.DecisionMode, types.DecisionMode),
    (v.VorlageKind, types.VorlageKind), (v.VorlageStatus, types.VorlageStatus),
    (v.BeschlussStatus, types.BeschlussStatus), (v.Topic, types.Topic),
    (v.BarrierCategory, types.BarrierCategory),
]


@pytest.mark.parametrize("event", DOMAIN_EVENTS, ids=lambda c: c.__name__)
def test_every_domain_event_has_a_message_of_the_same_name(event: type[ev.Event]) -> None:
    assert event in contracts._MAPPERS
    from kim.conference.v1 import events_pb2

    assert hasattr(events_pb2, event.__name__)


@pytest.mark.parametrize(("domain", "proto"), ENUMS, ids=lambda c: getattr(c, "__name__", ""))
def test_every_vocabulary_member_has_a_proto_enum_value(domain: type[v.Labelled], proto: object) -> None:
    assert check_enum(proto, domain) == []
    numbers = [to_proto_enum(proto, member) for member in domain]
    assert 0 not in numbers and len(set(numbers)) == len(numbers)
    assert len(proto.DESCRIPTOR.values) == len(numbers) + 1  # type: ignore[attr-defined]
    assert [from_proto_enum(proto, domain, n) for n in numbers] == list(domain)
