"""Hypothesis strategies for protobuf messages, built from their descriptors: every field of a
request, set or not, with values chosen to break servers rather than please them (control
characters, very long texts, extreme and negative numbers, NaN, unknown enum values, nested
messages, repeated fields, maps, Struct input, timestamps out of range) and, mixed in, a few
plausible identifiers so that requests also reach past the first check."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from google.protobuf import struct_pb2, timestamp_pb2
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass
from hypothesis import strategies as st

# Protobuf strings are UTF-8: lone surrogates cannot be sent at all, everything else can.
_CHARACTERS = st.characters(exclude_categories=("Cs",))
_CONTROLS = st.sampled_from([chr(c) for c in range(0x20)] + ["\x7f", "\u200b", "\ufeff", "\ufffe"])
_NASTY = ["", " ", "\x00", "a\x01b", "../../etc/passwd", "' OR 1=1 --", "{{ 7*7 }}", "${jndi:x}",
          "<w:p>", "&amp;", "%s%n", "\u202e", "Ä" * 300, "x" * 5000, "c-1", "case-1", "1", "-1",
          "stadt-hilden", "kreis-mettmann", "caritas-mettmann", "2026-01-01", "9999-99-99",
          "beratung", "integration", "0" * 64]

Sized = tuple[int, int]
_INT_RANGES: dict[int, Sized] = {
    FieldDescriptor.TYPE_INT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_SINT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_SFIXED32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_INT64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_SINT64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_SFIXED64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_UINT32: (0, 2**32 - 1),
    FieldDescriptor.TYPE_FIXED32: (0, 2**32 - 1),
    FieldDescriptor.TYPE_UINT64: (0, 2**64 - 1),
    FieldDescriptor.TYPE_FIXED64: (0, 2**64 - 1),
}


def texts(known: Sequence[str] = ()) -> st.SearchStrategy[str]:
    """Texts of every kind: arbitrary, with control characters, the nasty list, known ids."""
    with_controls = st.lists(st.one_of(_CHARACTERS, _CONTROLS), max_size=40).map("".join)
    return st.one_of(
        st.text(_CHARACTERS, max_size=40),
        with_controls,
        st.sampled_from(_NASTY + list(known)),
        st.text(_CHARACTERS, min_size=1000, max_size=3000),
    )


def _integers(field: FieldDescriptor) -> st.SearchStrategy[int]:
    low, high = _INT_RANGES[field.type]
    return st.one_of(st.integers(-3, 1000).filter(lambda v: low <= v <= high),
                     st.sampled_from([low, high, low + 1, high - 1, 0]),
                     st.integers(low, high))


def _json_values() -> st.SearchStrategy[Any]:
    scalars = st.one_of(st.none(), st.booleans(), st.floats(allow_nan=False, allow_infinity=False),
                        st.integers(-(10**18), 10**18).map(float), texts())
    return st.recursive(
        scalars,
        lambda inner: st.one_of(st.lists(inner, max_size=4),
                                st.dictionaries(texts(), inner, max_size=4)),
        max_leaves=12,
    )


def _struct(known: Sequence[str]) -> st.SearchStrategy[struct_pb2.Struct]:
    keys = st.one_of(texts(known), st.sampled_from(
        ["allocations", "term", "title", "items", "partner", "name", "fte", "from", "to",
         "period", "figures", "organization", "date", "amount"]))

    def build(data: dict[str, Any]) -> struct_pb2.Struct:
        message = struct_pb2.Struct()
        message.update(data)
        return message

    return st.dictionaries(keys, _json_values(), max_size=6).map(build)


def _timestamp() -> st.SearchStrategy[timestamp_pb2.Timestamp]:
    return st.builds(
        lambda seconds, nanos: timestamp_pb2.Timestamp(seconds=seconds, nanos=nanos),
        st.one_of(st.integers(1_790_000_000, 1_900_000_000), st.integers(1_790_000_000, 1_900_000_000),
                  st.integers(-62135596800, 253402300799), st.integers(-(2**63), 2**63 - 1),
                  st.sampled_from([0, -1])),
        st.one_of(st.just(0), st.just(0), st.integers(0, 999_999_999),
                  st.integers(-(2**31), 2**31 - 1)),
    )


_ORGANIZATIONS = ["stadt-hilden", "kreis-mettmann", "caritas-mettmann", "abh-kreis-mettmann"]
_USERS = ["c.manager", "r.buero", "k.koordination", "d.schutz", "n.admin", "l.lotsin", "m.beratung"]


def _plausible_text(name: str, known: Sequence[str]) -> st.SearchStrategy[str]:
    """Texts that pass a first check for a field of this name, so requests get further."""
    if name.endswith(("_on", "date", "_from", "_to", "_until", "due", "deadline")) or name in (
            "from", "to", "day"):
        return st.dates().map(lambda d: d.isoformat())
    if name.endswith(("_org", "organization", "organisation")) or name == "recipient":
        return st.sampled_from(_ORGANIZATIONS)
    if name.endswith(("_id", "_ids")) or name == "id":
        return st.sampled_from(list(known) or ["c-1"])
    if name in ("person", "case_manager", "username", "member", "deputy", "user", "chair"):
        return st.sampled_from(_USERS)
    return st.sampled_from(["Beratung", "Integration in Arbeit", "Fallkonferenz", "Ja", "A-1",
                            "Sprachkurs B1", "Protokoll", "1", "2026"])


def _plausible(field: FieldDescriptor, known: Sequence[str]) -> st.SearchStrategy[Any]:
    kind = field.type
    if kind == FieldDescriptor.TYPE_STRING:
        return _plausible_text(field.name, known)
    if kind == FieldDescriptor.TYPE_ENUM:
        return st.sampled_from([v.number for v in field.enum_type.values if v.number] or [0])
    if kind == FieldDescriptor.TYPE_BOOL:
        return st.booleans()
    if kind in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
        return st.sampled_from([0.5, 1.0, 12.5])
    if kind == FieldDescriptor.TYPE_BYTES:
        return st.sampled_from([b"", b"PK\x03\x04"])
    return st.integers(0, 50)


def scalar(field: FieldDescriptor, known: Sequence[str]) -> st.SearchStrategy[Any]:
    """Three in four values plausible for the field, one hostile."""
    plausible = _plausible(field, known)
    return st.one_of(plausible, plausible, plausible, hostile(field, known))


def hostile(field: FieldDescriptor, known: Sequence[str]) -> st.SearchStrategy[Any]:
    kind = field.type
    if kind == FieldDescriptor.TYPE_STRING:
        return texts(known)
    if kind == FieldDescriptor.TYPE_BYTES:
        return st.one_of(st.binary(max_size=64), st.sampled_from([b"", b"PK\x03\x04", b"\0" * 4096]))
    if kind == FieldDescriptor.TYPE_BOOL:
        return st.booleans()
    if kind in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
        return st.floats(width=32 if kind == FieldDescriptor.TYPE_FLOAT else 64)
    if kind == FieldDescriptor.TYPE_ENUM:
        declared = [v.number for v in field.enum_type.values]
        return st.one_of(st.sampled_from(declared), st.integers(-5, 1000),
                         st.sampled_from([-(2**31), 2**31 - 1]))
    return _integers(field)


Draw = Any  # hypothesis' draw function inside a composite strategy


@st.composite
def messages(draw: Draw, message_class: type[Message], known: Sequence[str] = (),
             depth: int = 3) -> Message:
    """Messages of `message_class`, nested at most `depth` deep."""
    message = message_class()
    _fill(draw, message, known, depth)
    return message


def _message(draw: Draw, field: FieldDescriptor, known: Sequence[str], depth: int) -> Message:
    full_name = field.message_type.full_name
    if full_name == "google.protobuf.Timestamp":
        return draw(_timestamp())  # type: ignore[no-any-return]
    if full_name == "google.protobuf.Struct":
        return draw(_struct(known))  # type: ignore[no-any-return]
    message = GetMessageClass(field.message_type)()
    if depth > 0:
        _fill(draw, message, known, depth - 1)
    return message


def _fill(draw: Draw, message: Message, known: Sequence[str], depth: int) -> None:
    for field in message.DESCRIPTOR.fields:
        if not draw(st.booleans()):
            continue  # unset: the default, which servers must also cope with
        target = getattr(message, field.name)
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            value_field = field.message_type.fields_by_name["value"]
            for _ in range(draw(st.integers(0, 3))):
                key = draw(scalar(field.message_type.fields_by_name["key"], known))
                if value_field.type == FieldDescriptor.TYPE_MESSAGE:
                    target[key].CopyFrom(_message(draw, value_field, known, depth))
                else:
                    target[key] = draw(scalar(value_field, known))
        elif field.is_repeated:
            count = draw(st.one_of(st.integers(0, 4), st.sampled_from([0, 201, 600])))
            drawn = min(count, 4)
            if field.type == FieldDescriptor.TYPE_MESSAGE:
                items = [_message(draw, field, known, depth) for _ in range(drawn)]
            else:
                items = [draw(scalar(field, known)) for _ in range(drawn)]
            if count > drawn and items:  # many entries: copies of the drawn ones
                items = (items * (count // len(items) + 1))[:count]
            target.extend(items)
        elif field.type == FieldDescriptor.TYPE_MESSAGE:
            target.CopyFrom(_message(draw, field, known, depth))
        else:
            setattr(message, field.name, draw(scalar(field, known)))


@st.composite
def mutations(draw: Draw, seed: Message, known: Sequence[str] = ()) -> Message:
    """A valid request `seed` with some of its top-level fields replaced by generated ones (a
    Struct field keeps its shape and has some of its values replaced): requests that get past
    the first check and break further in."""
    fuzzed = draw(messages(type(seed), known))
    result = type(seed)()
    result.CopyFrom(seed)
    for field in seed.DESCRIPTOR.fields:
        if draw(st.integers(0, 3)) != 0:
            continue
        if field.message_type is not None and field.message_type.full_name == "google.protobuf.Struct" \
                and not field.is_repeated:
            mutated = struct_pb2.Struct()
            mutated.update(draw(mutated_json(_plain_json(getattr(seed, field.name)))))
            getattr(result, field.name).CopyFrom(mutated)
            continue
        result.ClearField(field.name)
        if field.is_repeated:
            getattr(result, field.name).extend(getattr(fuzzed, field.name))
        elif field.message_type is not None:
            if fuzzed.HasField(field.name):
                getattr(result, field.name).CopyFrom(getattr(fuzzed, field.name))
        else:
            setattr(result, field.name, getattr(fuzzed, field.name))
    return result


def _plain_json(struct: struct_pb2.Struct) -> dict[str, Any]:
    from google.protobuf.json_format import MessageToDict

    return MessageToDict(struct)


@st.composite
def mutated_json(draw: Draw, data: Any) -> Any:
    """`data` (JSON-like) with about one value in six replaced, removed or joined by another."""
    if isinstance(data, dict):
        result = {}
        for key, value in data.items():
            choice = draw(st.integers(0, 11))
            if choice == 0:
                continue  # removed
            result[key] = draw(_json_values()) if choice == 1 else draw(mutated_json(value))
        if draw(st.integers(0, 7)) == 0:
            result[draw(texts())] = draw(_json_values())
        return result
    if isinstance(data, list):
        items = [draw(mutated_json(item)) for item in data]
        if items and draw(st.integers(0, 7)) == 0:
            items = items * draw(st.sampled_from([2, 50]))
        return items
    return draw(_json_values()) if draw(st.integers(0, 5)) == 0 else data
