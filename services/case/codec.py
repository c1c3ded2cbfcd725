"""Domain dataclasses <-> plain BSON-friendly values, driven by the dataclasses' type hints.

The repository stores a case's state as one nested document; this keeps the mapping in one
generic place instead of a mongoengine class per value object. Enums are stored by value,
calendar dates as ISO strings ("2026-06-04", sortable and comparable in queries), timestamps
as BSON dates. Fields a stored document lacks take the dataclass default, so adding a field
with a default needs no migration.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from datetime import UTC, date, datetime
from enum import Enum
from functools import cache
from typing import Any, TypeVar

T = TypeVar("T")

#: Runtime-only fields that are never stored.
TRANSIENT = frozenset({"pending_events"})


def to_primitive(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_primitive(getattr(value, f.name))
                for f in dataclasses.fields(value) if f.name not in TRANSIENT}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (list, tuple, frozenset, set)):
        return [to_primitive(v) for v in value]
    if isinstance(value, dict):
        return {str(k): to_primitive(v) for k, v in value.items()}
    return value


def from_primitive(cls: type[T], data: Any) -> T:
    return typing.cast(T, _decode(cls, data))


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _decode(tp: Any, data: Any) -> Any:
    origin = typing.get_origin(tp)
    if origin in (types.UnionType, typing.Union):
        if data is None:
            return None
        inner = [a for a in typing.get_args(tp) if a is not type(None)]
        return _decode(inner[0], data)
    if origin is tuple:
        args = typing.get_args(tp)
        return tuple(_decode(args[0], v) for v in data or ())
    if origin is list:
        return [_decode(typing.get_args(tp)[0], v) for v in data or ()]
    if origin is frozenset:
        return frozenset(_decode(typing.get_args(tp)[0], v) for v in data or ())
    if origin is dict:
        _, value_type = typing.get_args(tp)
        return {k: _decode(value_type, v) for k, v in (data or {}).items()}
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        hints = _hints(tp)
        kwargs = {
            f.name: _decode(hints[f.name], data[f.name])
            for f in dataclasses.fields(tp)
            if f.name in data and f.name not in TRANSIENT
        }
        return tp(**kwargs)
    if isinstance(tp, type) and issubclass(tp, Enum):
        return tp(data)
    if tp is datetime:
        return data if data.tzinfo else data.replace(tzinfo=UTC)
    if tp is date:
        return date.fromisoformat(data)
    return data
