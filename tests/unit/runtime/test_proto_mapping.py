"""The one proto <-> domain mapping (kimnetz.runtime.proto_mapping, issue 13): every shared enum
maps both ways for every member, dates and timestamps round-trip, and a break of the naming
rule is found."""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import Enum

import pytest
from google.protobuf import struct_pb2, wrappers_pb2

from kim.case.v1 import case_pb2, types_pb2 as case_types
from kim.common.v1 import types_pb2 as common
from kim.conference.v1 import types_pb2 as conference_types
from kimnetz import vocabulary
from kimnetz.runtime.proto_mapping import (
    SHARED_ENUMS,
    UnknownEnumValue,
    check_enum,
    date_field,
    enum_field,
    from_proto_date,
    from_proto_enum,
    from_proto_member,
    from_proto_timestamp,
    nul_fields,
    to_proto_date,
    to_proto_enum,
    to_proto_timestamp,
)
from kimnetz.validation import Violations


@pytest.mark.parametrize(("proto", "domain"), SHARED_ENUMS, ids=[d.__name__ for _, d in SHARED_ENUMS])
def test_every_shared_enum_maps_both_ways_for_every_member(proto: object, domain: type[Enum]) -> None:
    assert check_enum(proto, domain) == []
    numbers = {member: to_proto_enum(proto, member) for member in domain}
    assert 0 not in numbers.values() and len(set(numbers.values())) == len(domain)
    for member, number in numbers.items():
        assert from_proto_enum(proto, domain, number) is member
        assert proto.Name(number).endswith("_" + member.name)  # type: ignore[attr-defined]
    # every proto value but UNSPECIFIED is some member: nothing in the contract the domain lacks
    assert {v.number for v in proto.DESCRIPTOR.values} == {0, *numbers.values()}  # type: ignore[attr-defined]


def test_every_shared_vocabulary_of_kimnetz_is_in_kim_common_v1() -> None:
    shared = {domain for _, domain in SHARED_ENUMS}
    in_common = {name for name in common.DESCRIPTOR.enum_types_by_name}
    assert {d.__name__ for d in shared} == in_common
    assert shared <= {v for v in vars(vocabulary).values() if isinstance(v, type) and issubclass(v, Enum)}


def test_case_and_conference_contracts_use_the_one_shared_enum() -> None:
    for name in ("CaseStatus", "Handlungsfeld", "Rechtskreis", "ResidenceStatusKind", "ReferralTarget",
                 "BarrierCategory", "Date"):
        assert getattr(case_types, name) is getattr(common, name)
        assert getattr(conference_types, name) is getattr(common, name)
        assert name not in case_types.DESCRIPTOR.enum_types_by_name
        assert name not in conference_types.DESCRIPTOR.enum_types_by_name


def test_unspecified_is_none_and_unknown_numbers_are_refused() -> None:
    assert to_proto_enum(common.Rechtskreis, None) == 0
    assert from_proto_enum(common.Rechtskreis, vocabulary.Rechtskreis, 0) is None
    with pytest.raises(UnknownEnumValue):
        from_proto_enum(common.Rechtskreis, vocabulary.Rechtskreis, 99)
    with pytest.raises(UnknownEnumValue):
        from_proto_member(common.Rechtskreis, vocabulary.Rechtskreis, 0)
    with pytest.raises(UnknownEnumValue):  # a member of another vocabulary
        to_proto_enum(common.Rechtskreis, vocabulary.Handlungsfeld.SPRACHE)


def test_request_fields_report_german_violations() -> None:
    v = Violations()
    assert enum_field(common.Handlungsfeld, vocabulary.Handlungsfeld, 0, "handlungsfeld", v) is None
    assert enum_field(common.Handlungsfeld, vocabulary.Handlungsfeld, 42, "felder[1]", v) is None
    assert enum_field(common.Handlungsfeld, vocabulary.Handlungsfeld, 0, "opt", v, required=False) is None
    assert date_field(common.Date(year=2026, month=2, day=31), "due_on", v) is None
    assert date_field(common.Date(), "since", v) is None
    assert date_field(common.Date(), "on", v, required=True) is None
    assert [(x.field, x.description) for x in v.items] == [
        ("handlungsfeld", "Angabe fehlt."), ("felder[1]", "Unbekannter Wert 42."),
        ("due_on", "Kein gültiges Kalenderdatum (31.02.2026)."), ("on", "Datum fehlt."),
    ]


def test_a_broken_pair_is_found() -> None:
    class Short(Enum):
        SGB_II = "sgb_ii"
        SGB_IV = "sgb_iv"

    problems = check_enum(common.Rechtskreis, Short)
    assert "kim.common.v1.Rechtskreis: no RECHTSKREIS_SGB_IV for Short.SGB_IV" in problems
    assert "Short: no member JMD for kim.common.v1.Rechtskreis.RECHTSKREIS_JMD" in problems


def test_days_and_points_in_time_round_trip() -> None:
    day = date(2026, 2, 28)
    assert from_proto_date(to_proto_date(day)) == day  # type: ignore[arg-type]
    assert to_proto_date(None) is None
    assert from_proto_date(common.Date()) is None
    assert from_proto_date(common.Date(year=2026, month=1, day=1), present=False) is None
    with pytest.raises(ValueError):
        from_proto_date(common.Date(year=2026, month=2, day=30))
    moment = datetime(2026, 3, 4, 9, 30, 15, 123000, tzinfo=UTC)
    assert from_proto_timestamp(to_proto_timestamp(moment)) == moment  # type: ignore[arg-type]
    assert to_proto_timestamp(None) is None


def test_nul_fields_names_every_string_with_a_nul_character_by_its_request_path() -> None:
    request = case_pb2.ProposeCaseRequest(
        coordination_org="kreis\x00", reason="ohne",
        person=case_pb2.Person(family_name="Had\x00dad", given_name="Amina",
                               nationalities=["SY", "\x00", "IQ\x00"]),
    )
    assert nul_fields(request) == ["coordination_org", "person.family_name", "person.nationalities[1]",
                                   "person.nationalities[2]"]
    assert nul_fields(case_pb2.ProposeCaseRequest(reason="Zeile\nund\tTab")) == []


def test_nul_fields_looks_into_repeated_messages_and_maps_but_not_bytes() -> None:
    fields = struct_pb2.Struct()
    fields.update({"ort\x00": "Hilden", "name": "A\x00", "inner": {"tiefer": "\x00"}, "list": ["ok", "\x00"]})
    assert sorted(nul_fields(fields)) == ["fields[inner].struct_value.fields[tiefer].string_value",
                                          "fields[list].list_value.values[1].string_value",
                                          "fields[name].string_value", "fields[ort\\0]"]
    assert nul_fields(wrappers_pb2.BytesValue(value=b"%PDF\x00\x01")) == []
