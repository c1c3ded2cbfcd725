"""Parsing of structured input (YAML from the command line, later protobuf from the api) into the
domain's models, with every problem reported at once.

pydantic does the walking; this module turns its English errors into German FieldViolations with
the path a clerk can find in the file ("allocations[2].fte"), because one round trip per typo is
what makes people give up on a form.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, StringConstraints, ValidationError
from pydantic_core import ErrorDetails, PydanticCustomError

from kimnetz.errors import FieldViolation, InvalidArgument

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class Model(BaseModel):
    """Base of every input model: unknown fields are errors (a misspelt `ftee` must not vanish)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def rule_error(message: str) -> PydanticCustomError:
    """A domain rule broken; `message` is German and shown as is."""
    return PydanticCustomError("kim_rule", message)


def located_error(problems: Sequence[tuple[Sequence[int | str], str]]) -> InvalidArgument:
    """Rules across fields of a top-level model, each reported at its own path. Raised from a
    model validator, it passes pydantic untouched (pydantic wraps only ValueError and its own),
    and a model validator runs only once every field is valid, so nothing is reported twice."""
    return InvalidArgument(
        [FieldViolation(field_path(loc), message) for loc, message in problems],
        message="Die Eingabe enthält Fehler.",
    )


def _iso_date(value: Any) -> date:
    # pydantic's lax mode reads integers as Unix timestamps: `from: 2026` would become 1970-01-01.
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise rule_error("Datum im Format JJJJ-MM-TT erwartet, z. B. 2026-01-01.")


def _decimal(value: Any) -> Decimal:
    # Decimal(str(float)) keeps 0.1 as 0.1; bools are ints in Python and must not count as 1 VZÄ.
    if isinstance(value, bool):
        raise rule_error("Zahl erwartet.")
    if isinstance(value, int | Decimal):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, str) and "." not in value:
        try:
            number = Decimal(value.strip().replace(",", "."))
        except InvalidOperation:
            pass
        else:
            if number.is_finite():
                return number
    raise rule_error("Zahl erwartet, z. B. 0,5 oder 55000 (ohne Tausenderpunkt).")


IsoDate = Annotated[date, BeforeValidator(_iso_date)]
Number = Annotated[Decimal, BeforeValidator(_decimal)]

M = TypeVar("M", bound=BaseModel)


def parse(model: type[M], data: Any) -> M:
    """Build `model` from plain data or raise InvalidArgument listing every problem with its path."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidArgument(
            [FieldViolation(field_path(e["loc"]), german_description(e)) for e in exc.errors()],
            message="Die Eingabe enthält Fehler.",
        ) from None


def field_path(loc: Sequence[int | str]) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "(gesamte Eingabe)"


def german_description(error: ErrorDetails) -> str:
    kind, ctx = error["type"], error.get("ctx") or {}
    if kind == "kim_rule":
        return error["msg"]
    if kind == "literal_error":
        allowed = ctx.get("expected", "").replace("'", "").replace(" or ", ", ")
        return f"Unzulässiger Wert „{error['input']}“; erlaubt: {allowed}."
    if kind in _MESSAGES:
        return _MESSAGES[kind].format(**ctx)
    return f"Ungültiger Wert ({error['msg']})."


_MESSAGES: Mapping[str, str] = {
    "missing": "Pflichtangabe fehlt.",
    "extra_forbidden": "Unbekanntes Feld (Tippfehler?).",
    "string_type": "Text erwartet.",
    "string_too_short": "Darf nicht leer sein.",
    "bool_type": "Wahrheitswert erwartet (true oder false).",
    "bool_parsing": "Wahrheitswert erwartet (true oder false).",
    "list_type": "Liste erwartet.",
    "too_short": "Mindestens {min_length} Eintrag/Einträge erforderlich.",
    "model_type": "Abschnitt mit Feldern erwartet.",
    "model_attributes_type": "Abschnitt mit Feldern erwartet.",
    "dict_type": "Abschnitt mit Feldern erwartet.",
}
