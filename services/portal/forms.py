"""Form input and form errors in German.

`FormErrors` carries what is wrong with a form: messages per field (the api's field violations,
keyed by the field path the api names, e.g. `person.birth_date`) and messages about the whole
form. Views name their inputs after the api's field paths, so an api violation lands at its
field without a mapping table; the macros in templates/macros/forms.html turn a field name into
the element id `field_id(name)` that the error summary links to.

The parsers read what German users type: dates as "16.11.2021", numbers as "0,75" or "1.250,50".
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from datetime import date
from decimal import Decimal, InvalidOperation


class FormErrors(Exception):
    """What is wrong with a submitted form; raised by `apis.call` and by the parsers' callers."""

    def __init__(self, fields: Mapping[str, str] | None = None, general: list[str] | None = None) -> None:
        self.fields: dict[str, str] = dict(fields or {})
        self.general: list[str] = list(general or [])
        super().__init__("; ".join([*self.general, *self.fields.values()]) or "Formularfehler")

    def add(self, field: str, message: str) -> None:
        """The first message of a field is kept: it is the one the person must fix first."""
        self.fields.setdefault(field, message)

    def add_general(self, message: str) -> None:
        self.general.append(message)

    def __bool__(self) -> bool:
        return bool(self.fields or self.general)

    def __contains__(self, field: object) -> bool:
        return field in self.fields

    def get(self, field: str) -> str | None:
        return self.fields.get(field)

    def items(self) -> Iterator[tuple[str, str]]:
        return iter(self.fields.items())

    def raise_if_any(self) -> None:
        if self:
            raise self

    def merged(self, other: FormErrors) -> FormErrors:
        merged = FormErrors(self.fields, self.general)
        for field, message in other.items():
            merged.add(field, message)
        merged.general.extend(other.general)
        return merged


def field_text(form: Mapping[str, str | None], name: str) -> str:
    """The posted text of input `name`, without surrounding blanks; "" where it was not sent."""
    return (form.get(name) or "").strip()


def field_texts(form: Mapping[str, str | None]) -> dict[str, str]:
    """Every posted input's text, without surrounding blanks (the first value of a repeated name)."""
    return {name: field_text(form, name) for name in form}


def field_id(name: str) -> str:
    """The HTML id of the input named `name` ("person.birth_date" -> "f-person-birth_date");
    the error summary links to `#` + this id."""
    return "f-" + re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-")


_DATE = re.compile(r"^\s*(\d{1,2})\.(\d{1,2})\.(\d{4})\s*$")
_ISO_DATE = re.compile(r"^\s*(\d{4})-(\d{2})-(\d{2})\s*$")


def parse_date(value: str | None, field: str, errors: FormErrors, *, label: str = "Datum",
               required: bool = False) -> date | None:
    """A German date "16.11.2021" (or ISO "2021-11-16", as a browser's date input sends it);
    an empty value is None, or an error where `required`."""
    text = (value or "").strip()
    if not text:
        if required:
            errors.add(field, f"Bitte geben Sie {label} an.")
        return None
    match = _DATE.match(text)
    parts = (match.group(3), match.group(2), match.group(1)) if match else None
    if parts is None and (iso := _ISO_DATE.match(text)):
        parts = (iso.group(1), iso.group(2), iso.group(3))
    if parts is None:
        errors.add(field, f"{label}: bitte im Format TT.MM.JJJJ angeben, zum Beispiel 16.11.2021.")
        return None
    try:
        return date(int(parts[0]), int(parts[1]), int(parts[2]))
    except ValueError:
        errors.add(field, f"{label}: diesen Tag gibt es nicht.")
        return None


_NUMBER = re.compile(r"^[+-]?(\d{1,3}(\.\d{3})+|\d+)(,\d+)?$")


def parse_decimal(value: str | None, field: str, errors: FormErrors, *, label: str = "Zahl",
                  required: bool = False) -> Decimal | None:
    """A German number: "0,75", "1.250,50" or "1250.5" (a point with exactly one to two digits
    after it is read as the decimal point, as people paste from other programs)."""
    text = (value or "").strip().replace(" ", "").replace("\u00a0", "").removesuffix("€").strip()
    if not text:
        if required:
            errors.add(field, f"Bitte geben Sie {label} an.")
        return None
    if _NUMBER.match(text):
        normal = text.replace(".", "").replace(",", ".")
    elif re.fullmatch(r"[+-]?\d+\.\d{1,2}", text):
        normal = text
    else:
        errors.add(field, f"{label}: bitte als Zahl angeben, zum Beispiel 0,75 oder 1.250,50.")
        return None
    try:
        return Decimal(normal)
    except InvalidOperation:
        errors.add(field, f"{label}: bitte als Zahl angeben, zum Beispiel 0,75.")
        return None


def parse_int(value: str | None, field: str, errors: FormErrors, *, label: str = "Anzahl",
              required: bool = False) -> int | None:
    text = (value or "").strip().replace(".", "")
    if not text:
        if required:
            errors.add(field, f"Bitte geben Sie {label} an.")
        return None
    if not re.fullmatch(r"[+-]?\d+", text):
        errors.add(field, f"{label}: bitte als ganze Zahl angeben.")
        return None
    return int(text)


def required_text(value: str | None, field: str, errors: FormErrors, *, label: str) -> str:
    text = (value or "").strip()
    if not text:
        errors.add(field, f"Bitte geben Sie {label} an.")
    return text
