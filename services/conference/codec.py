"""Turns the domain's dataclasses into plain BSON-able dicts and back, for the repository.

Generic over the dataclass fields and their type hints, so an aggregate gains a field without a
second mapping to keep in step. Dates are stored as "YYYY-MM-DD" (sortable), datetimes as BSON
dates (UTC), enums by value, sets and tuples as lists. The `events` field of aggregates is never
stored: pending events live in the outbox.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from datetime import UTC, date, datetime
from enum import Enum
from typing import Any, TypeVar

SKIPPED_FIELDS = frozenset({"events"})

T = TypeVar("T")


def encode(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: encode(getattr(value, f.name))
            for f in dataclasses.fields(value) if f.name not in SKIPPED_FIELDS
        }
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, set | frozenset):
        return sorted(encode(v) for v in value)
    if isinstance(value, list | tuple):
        return [encode(v) for v in value]
    return value


def decode(cls: type[T], data: dict[str, Any]) -> T:
    """An instance of the dataclass `cls` from what `encode` stored."""
    hints = _hints(cls)
    kwargs = {
        f.name: _decode_value(hints[f.name], data[f.name])
        for f in _fields(cls) if f.name not in SKIPPED_FIELDS and f.name in data
    }
    return cls(**kwargs)


def _fields(cls: type) -> tuple[dataclasses.Field[Any], ...]:
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"{cls.__name__} is not a dataclass")
    return dataclasses.fields(cls)


#: The resolved type hints per dataclass (get_type_hints evaluates the string annotations of
#: `from __future__ import annotations` on each call, too slow for every stored aggregate).
_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    hints = _HINTS.get(cls)
    if hints is None:
        hints = _HINTS[cls] = typing.get_type_hints(cls)
    return hints


def _decode_value(hint: Any, value: Any) -> Any:
    if value is None:
        return None
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        return _decode_value(inner[0], value)
    if origin in (list, tuple, set, frozenset):
        item = args[0]
        items = [_decode_value(item, v) for v in value]
        return origin(items) if origin is not list else items
    if isinstance(hint, type):
        if dataclasses.is_dataclass(hint):
            return decode(hint, value)
        if issubclass(hint, Enum):
            return hint(value)
        if issubclass(hint, datetime):
            return value if value.tzinfo else value.replace(tzinfo=UTC)
        if issubclass(hint, date):
            return date.fromisoformat(value)
    return value
