"""The one mapping between protobuf values and domain values, for every service and client.

- **Enums** map by name: the proto enum `CaseStatus` has the values `CASE_STATUS_<MEMBER>` for
  the domain members (`CaseStatus.IN_REVIEW` <-> `CASE_STATUS_IN_REVIEW`), and
  `<PREFIX>_UNSPECIFIED` = 0 means "not given" (None). `check_enum` proves a pair follows the
  rule; the shared vocabulary (`SHARED_ENUMS`) is checked when this module is imported, every
  service's own pairs by its unit tests.
- **Calendar days** are `kim.common.v1.Date`; an unset or all-zero Date is None.
- **Points in time** are `google.protobuf.Timestamp`, always UTC.

Both directions live here, named after where the value goes: `to_proto_*` builds the proto
value, `from_proto_*` the domain value. A service's request mappers add the field path and the
German violation (`enum_field`, `date_field`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, date, datetime
from enum import Enum
from typing import Any, TypeVar, overload

from google.protobuf.descriptor import EnumDescriptor
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from kim.common.v1 import types_pb2 as common
from kimnetz import vocabulary
from kimnetz.validation import Violations

E = TypeVar("E", bound=Enum)
#: A generated proto enum type. protoc's .pyi stubs declare each enum a subclass of int
#: (`class CaseStatus(int, metaclass=EnumTypeWrapper)`) and type message fields with it, so
#: `to_proto_enum(types_pb2.CaseStatus, member)` is typed `CaseStatus` and fits the field.
P = TypeVar("P", bound=int)

#: Anything that names a proto enum: its descriptor or the generated wrapper (types_pb2.CaseStatus).
#: At run time the wrapper is an EnumTypeWrapper instance, in the stubs a class: no common type.
ProtoEnum = Any

#: The vocabulary of kim.common.v1, one domain enum of kimnetz.vocabulary per proto enum.
SHARED_ENUMS: tuple[tuple[ProtoEnum, type[Enum]], ...] = (
    (common.CaseStatus, vocabulary.CaseStatus),
    (common.Handlungsfeld, vocabulary.Handlungsfeld),
    (common.Rechtskreis, vocabulary.Rechtskreis),
    (common.ResidenceStatusKind, vocabulary.ResidenceStatusKind),
    (common.LegalBasis, vocabulary.LegalBasis),
    (common.OriginRegion, vocabulary.OriginRegion),
    (common.AgeReading, vocabulary.AgeReading),
    (common.LegalBasisReading, vocabulary.LegalBasisReading),
    (common.ReferralTarget, vocabulary.ReferralTarget),
    (common.BarrierCategory, vocabulary.BarrierCategory),
    (common.Gender, vocabulary.Gender),
    (common.AccessRoute, vocabulary.AccessRoute),
)


class UnknownEnumValue(ValueError):
    """A proto number or name without a domain member (a newer sender, or a broken one)."""


def descriptor(proto_enum: ProtoEnum) -> EnumDescriptor:
    return proto_enum if isinstance(proto_enum, EnumDescriptor) else proto_enum.DESCRIPTOR


def enum_prefix(proto_enum: ProtoEnum) -> str:
    """CaseStatus -> "CASE_STATUS_"."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", descriptor(proto_enum).name).upper() + "_"


# ---------------------------------------------------------------- enums


@overload
def to_proto_enum(proto_enum: type[P], member: Enum | None) -> P: ...
@overload
def to_proto_enum(proto_enum: EnumDescriptor, member: Enum | None) -> int: ...
def to_proto_enum(proto_enum: ProtoEnum, member: Enum | None) -> int:
    """The proto number of a domain member; 0 (UNSPECIFIED) for None. Typed as the generated
    enum when given one (the number is what a message field of that enum holds)."""
    if member is None:
        return 0
    d = descriptor(proto_enum)
    value = d.values_by_name.get(enum_prefix(d) + member.name)
    if value is None:
        raise UnknownEnumValue(f"{d.full_name} has no value for {type(member).__name__}.{member.name}")
    return int(value.number)


def member_name(proto_enum: ProtoEnum, number: int) -> str | None:
    """The domain member name a proto number stands for; None for 0 (UNSPECIFIED).
    Raises UnknownEnumValue for a number the enum does not have."""
    if number == 0:
        return None
    d = descriptor(proto_enum)
    value = d.values_by_number.get(number)
    if value is None:
        raise UnknownEnumValue(f"{d.full_name} has no value {number}")
    return str(value.name).removeprefix(enum_prefix(d))


def from_proto_enum(proto_enum: ProtoEnum, domain: type[E], number: int) -> E | None:
    """The domain member for a proto number; None for 0 (UNSPECIFIED). Raises UnknownEnumValue
    for a number without a member."""
    name = member_name(proto_enum, number)
    if name is None:
        return None
    try:
        return domain[name]
    except KeyError:
        raise UnknownEnumValue(f"{domain.__name__} has no member {name}") from None


def from_proto_member(proto_enum: ProtoEnum, domain: type[E], number: int) -> E:
    """`from_proto_enum` where a value is required (a reply or an event that must name one):
    UNSPECIFIED raises UnknownEnumValue too."""
    member = from_proto_enum(proto_enum, domain, number)
    if member is None:
        raise UnknownEnumValue(f"{descriptor(proto_enum).full_name} is unspecified")
    return member


def enum_field(
    proto_enum: ProtoEnum, domain: type[E], number: int, field: str, violations: Violations,
    *, required: bool = True,
) -> E | None:
    """`from_proto_enum` for a request field: a missing (if required) or unknown value becomes
    a German violation of `field`, and None."""
    if number == 0:
        if required:
            violations.add(field, "Angabe fehlt.")
        return None
    try:
        return from_proto_enum(proto_enum, domain, number)
    except UnknownEnumValue:
        violations.add(field, f"Unbekannter Wert {number}.")
        return None


def check_enum(proto_enum: ProtoEnum, domain: type[Enum]) -> list[str]:
    """What breaks the naming rule between a proto enum and its domain enum (empty: none): each
    member has exactly its value, each value except UNSPECIFIED a member."""
    d = descriptor(proto_enum)
    prefix = enum_prefix(d)
    problems = []
    if 0 not in d.values_by_number or d.values_by_number[0].name != prefix + "UNSPECIFIED":
        problems.append(f"{d.full_name}: 0 must be {prefix}UNSPECIFIED")
    names = {v.name.removeprefix(prefix) for v in d.values if v.number != 0}
    for member in domain:
        if member.name not in names:
            problems.append(f"{d.full_name}: no {prefix}{member.name} for {domain.__name__}.{member.name}")
    for name in sorted(names - {m.name for m in domain}):
        problems.append(f"{domain.__name__}: no member {name} for {d.full_name}.{prefix}{name}")
    return problems


def check_enums(pairs: Iterable[tuple[ProtoEnum, type[Enum]]]) -> None:
    problems = [p for proto_enum, domain in pairs for p in check_enum(proto_enum, domain)]
    if problems:
        raise TypeError("proto and domain enums disagree: " + "; ".join(problems))


# ---------------------------------------------------------------- dates and times


@overload
def to_proto_date(value: date) -> common.Date: ...
@overload
def to_proto_date(value: None) -> None: ...
@overload
def to_proto_date(value: date | None) -> common.Date | None: ...
def to_proto_date(value: date | None) -> common.Date | None:
    """None stays None, so `Message(field=to_proto_date(x))` leaves the field unset."""
    if value is None:
        return None
    return common.Date(year=value.year, month=value.month, day=value.day)


def from_proto_date(message: common.Date, present: bool = True) -> date | None:
    """None for an unset (`present` False) or all-zero Date. An impossible day (31.02.) raises
    ValueError; request mappers report it with `date_field`."""
    if not present or (message.year, message.month, message.day) == (0, 0, 0):
        return None
    return date(message.year, message.month, message.day)


def date_field(
    message: common.Date, field: str, violations: Violations, *, present: bool = True,
    required: bool = False,
) -> date | None:
    """`from_proto_date` for a request field, with German violations."""
    try:
        value = from_proto_date(message, present)
    except ValueError:
        violations.add(field, f"Kein gültiges Kalenderdatum "
                              f"({message.day:02d}.{message.month:02d}.{message.year}).")
        return None
    if value is None and required:
        violations.add(field, "Datum fehlt.")
    return value


@overload
def to_proto_timestamp(value: datetime) -> Timestamp: ...
@overload
def to_proto_timestamp(value: None) -> None: ...
@overload
def to_proto_timestamp(value: datetime | None) -> Timestamp | None: ...
def to_proto_timestamp(value: datetime | None) -> Timestamp | None:
    if value is None:
        return None
    stamp = Timestamp()
    stamp.FromDatetime(value)
    return stamp


def from_proto_timestamp(message: Timestamp) -> datetime:
    """The point in time, timezone-aware UTC. Seconds outside the years 1 to 9999 raise
    ValueError or OverflowError."""
    return message.ToDatetime(tzinfo=UTC)


check_enums(SHARED_ENUMS)


#: What a string field of a request or event may never hold: the NUL character. No German text
#: needs it, and PostgreSQL (the store's backend under FerretDB) cannot keep it in a document,
#: so one arriving deep in a write would fail there as an internal error instead of a refusal.
NUL = "\x00"


def nul_fields(message: Message, prefix: str = "") -> list[str]:
    """The paths (as in the request: `person.family_name`, `goals[2].text`, `labels[de]`) of
    every string in `message`, nested messages, repeated fields and map keys and values
    included, that holds a NUL character. Bytes fields are payload, not text, and stay out."""
    found: list[str] = []

    def visit(path: str, value: object) -> None:
        if isinstance(value, str):
            if NUL in value:
                found.append(path)
        elif isinstance(value, Message):
            found.extend(nul_fields(value, f"{path}."))

    for field, value in message.ListFields():
        path = f"{prefix}{field.name}"
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            for key, item in value.items():
                shown = str(key).replace(NUL, "\\0")
                entry = f"{path}[{shown}]"
                if isinstance(key, str) and NUL in key:
                    found.append(entry)  # the key named; its value is not looked at twice
                else:
                    visit(entry, item)
        elif field.is_repeated:
            for index, item in enumerate(value):
                visit(f"{path}[{index}]", item)
        else:
            visit(path, value)
    return found
