"""Translation between the domain core and the contract in protos/kim/case/v1.

Domain values map onto messages field by field, by name: a StrEnum member becomes the proto
enum value `<ENUM_NAME>_<VALUE>` (Handlungsfeld.SPRACHE -> HANDLUNGSFELD_SPRACHE), a `date`
becomes `kim.case.v1.Date`, a `datetime` a Timestamp, None leaves the field unset, nested
dataclasses become nested messages. So adding a field to an event means adding it in both
places with the same name; `tests/unit/case/test_case_contract.py` proves they agree.
"""

from __future__ import annotations

import dataclasses
import re
from datetime import date, datetime
from enum import StrEnum
from typing import Any, TypeVar

from google.protobuf.descriptor import EnumDescriptor, FieldDescriptor
from google.protobuf.message import Message

from kim.case.v1 import events_pb2, types_pb2
from services.case.domain import events as domain_events

M = TypeVar("M", bound=Message)


def enum_prefix(descriptor: EnumDescriptor) -> str:
    """CaseStatus -> CASE_STATUS."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", descriptor.name).upper()


def enum_number(descriptor: EnumDescriptor, value: StrEnum) -> int:
    return descriptor.values_by_name[f"{enum_prefix(descriptor)}_{value.value.upper()}"].number


def enum_value(descriptor: EnumDescriptor, number: int) -> str:
    """The domain value of a proto enum number; "" for UNSPECIFIED or unknown numbers (the
    domain's validation then reports the field)."""
    value = descriptor.values_by_number.get(number)
    if value is None or number == 0:
        return "" if number == 0 else f"#{number}"
    return value.name[len(enum_prefix(descriptor)) + 1:].lower()


def to_date_message(value: date) -> types_pb2.Date:
    return types_pb2.Date(year=value.year, month=value.month, day=value.day)


def from_date_message(message: types_pb2.Date, has: bool = True) -> date | None:
    """None for an unset or all-zero date. An impossible date (31.02.) raises ValueError,
    which the entrypoint reports as a field violation."""
    if not has or (message.year, message.month, message.day) == (0, 0, 0):
        return None
    return date(message.year, message.month, message.day)


def fill(message: M, source: Any, *, skip: frozenset[str] = frozenset()) -> M:
    """Copies every field of `source` (a dataclass or a mapping) that `message` has."""
    values = source if isinstance(source, dict) else {
        f.name: getattr(source, f.name) for f in dataclasses.fields(source)}
    for field in message.DESCRIPTOR.fields:
        if field.name in skip or field.name not in values:
            continue
        _set(message, field, values[field.name])
    return message


def _convert(field: FieldDescriptor, value: Any, message: Message) -> Any:
    if field.enum_type is not None:
        return enum_number(field.enum_type, value)
    return value


def _set(message: Message, field: FieldDescriptor, value: Any) -> None:
    if value is None:
        return
    if field.is_repeated:
        target = getattr(message, field.name)
        for item in value:
            if field.message_type is not None:
                _fill_single(target.add(), item)
            else:
                target.append(_convert(field, item, message))
        return
    if field.message_type is not None:
        _fill_single(getattr(message, field.name), value)
        return
    setattr(message, field.name, _convert(field, value, message))


def _fill_single(target: Message, value: Any) -> None:
    if isinstance(value, datetime):
        target.FromDatetime(value)  # type: ignore[attr-defined]
    elif isinstance(value, date):
        target.CopyFrom(to_date_message(value))
    else:
        fill(target, value)


def event_message(event: domain_events.Event) -> Message:
    """The contract message of a domain event (same class name in events.proto)."""
    cls: type[Message] = getattr(events_pb2, type(event).__name__)
    return fill(cls(), event)
