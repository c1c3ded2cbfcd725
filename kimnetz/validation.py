"""The one validator of every domain core: collects every field violation of one command before
anything changes.

A command is checked completely first, so the user sees all problems at once (German messages,
field paths as in the request), and the aggregate is only touched when `raise_if_any()` has
passed: nothing is half-applied. Every check returns the cleaned value (stripped text, the enum
member, the date), so a caller validates and normalises in one line and every service refuses
and cleans the same input the same way (issue 13: the conference once accepted control
characters and untrimmed text the case service refused). Pure Python: domain cores import it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, datetime
from enum import StrEnum
from typing import TypeVar

from kimnetz import identifiers
from kimnetz.errors import FieldViolation, InvalidArgument
from kimnetz.vocabulary import GEMEINDESCHLUESSEL_PATTERN, NRW_LAND_KEY, Kommune

E = TypeVar("E", bound=StrEnum)

SHORT_TEXT = 200
LONG_TEXT = 4000
ID_PATTERN = identifiers.ID_PATTERN  # the rule every service shares (kimnetz.identifiers)
COUNTRY_PATTERN = re.compile(r"^[A-Z]{2}$")
#: A key a service chooses for its own vocabulary entries (a Zielgruppe's key): lower case,
#: stable in stored documents and events.
KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


def control_character(value: str) -> str | None:
    """The first control character in `value` other than line feed and tab, or None."""
    return next((ch for ch in value if ord(ch) < 32 and ch not in "\n\t"), None)


class Violations:
    def __init__(self) -> None:
        self.items: list[FieldViolation] = []

    def add(self, field: str, description: str) -> None:
        self.items.append(FieldViolation(field, description))

    def __bool__(self) -> bool:
        return bool(self.items)

    def raise_if_any(self, message: str = "Ungültige Eingabe.") -> None:
        if self.items:
            raise InvalidArgument(self.items, message)

    # Checks. Each returns the cleaned value (or None when it reported a violation), so a
    # caller can validate and normalise in one line.

    def text(
        self, field: str, value: str | None, *, required: bool = True, max_len: int = SHORT_TEXT
    ) -> str:
        """`value` stripped; missing, too long or with control characters is a violation."""
        cleaned = (value or "").strip()
        if required and not cleaned:
            self.add(field, "Angabe fehlt.")
        elif len(cleaned) > max_len:
            self.add(field, f"Höchstens {max_len} Zeichen erlaubt (angegeben: {len(cleaned)}).")
        elif control_character(cleaned) is not None:
            self.add(field, "Enthält unzulässige Steuerzeichen.")
        return cleaned

    def identifier(self, field: str, value: str | None, *, required: bool = True) -> str:
        """An identifier another service stores too (a user, organisation, node or case id): the
        one rule of `kimnetz.identifiers`, so no service refuses what another accepted."""
        problem = identifiers.problem(value, required=required)
        if problem is not None:
            self.add(field, problem)
        return identifiers.clean(value)

    def key(self, field: str, value: str | None) -> str:
        """A key of a service's own vocabulary (`KEY_PATTERN`), stripped."""
        cleaned = (value or "").strip()
        if not KEY_PATTERN.match(cleaned):
            self.add(field, "Nur Kleinbuchstaben, Ziffern und Unterstrich, beginnend mit einem Buchstaben.")
        return cleaned

    def enum(self, field: str, enum_type: type[E], value: str | None, *, required: bool = True) -> E | None:
        if value is None or value == "":
            if required:
                self.add(field, "Angabe fehlt.")
            return None
        try:
            return enum_type(value)
        except ValueError:
            allowed = ", ".join(m.value for m in enum_type)
            self.add(field, f"Unbekannter Wert „{value}“ (erlaubt: {allowed}).")
            return None

    def enums(
        self, field: str, enum_type: type[E], values: Iterable[str], *, min_items: int = 0
    ) -> tuple[E, ...]:
        found: list[E] = []
        for index, value in enumerate(values):
            member = self.enum(f"{field}[{index}]", enum_type, value)
            if member is not None and member not in found:
                found.append(member)
        if len(found) < min_items and not any(v.field.startswith(f"{field}[") for v in self.items):
            self.add(field, "Mindestens ein Eintrag ist erforderlich." if min_items == 1
                     else f"Mindestens {min_items} Einträge sind erforderlich.")
        return tuple(found)

    def country(self, field: str, value: str | None, *, required: bool = True) -> str:
        cleaned = (value or "").strip().upper()
        if not cleaned:
            if required:
                self.add(field, "Angabe fehlt.")
        elif not COUNTRY_PATTERN.match(cleaned):
            self.add(field, "Ländercode nach ISO 3166-1 (zwei Buchstaben, z. B. „SY“) erwartet.")
        return cleaned

    def date_value(
        self, field: str, value: date | None, *, required: bool = True,
        not_after: date | None = None, not_before: date | None = None,
    ) -> date | None:
        if value is None:
            if required:
                self.add(field, "Datum fehlt.")
            return None
        if isinstance(value, datetime) or not isinstance(value, date):
            self.add(field, "Ein Kalenderdatum wird erwartet.")
            return None
        if not_after is not None and value > not_after:
            self.add(field, f"Das Datum {format_date(value)} liegt in der Zukunft.")
        elif not_before is not None and value < not_before:
            self.add(field, f"Das Datum {format_date(value)} liegt vor dem {format_date(not_before)}.")
        return value

    def kommune(self, field: str, key: str | None, name: str | None, *,
                required: bool = False) -> Kommune | None:
        """A Kommune from its amtlicher Gemeindeschlüssel (8 digits, in NRW beginning with 05)
        and its name; both or neither (then None, a violation if `required`)."""
        key_clean = (key or "").strip().replace(" ", "")
        name_clean = self.text(f"{field}.name", name, required=bool(key_clean) or required, max_len=100)
        if not key_clean:
            if required or name_clean:
                self.add(f"{field}.key", "Amtlichen Gemeindeschlüssel (8 Ziffern, z. B. „05158016“) angeben.")
            return None
        if not GEMEINDESCHLUESSEL_PATTERN.match(key_clean):
            self.add(f"{field}.key", "Der amtliche Gemeindeschlüssel hat 8 Ziffern (z. B. „05158016“).")
            return None
        if not key_clean.startswith(NRW_LAND_KEY):
            self.add(f"{field}.key", "Eine Kommune in Nordrhein-Westfalen angeben "
                                     "(der Gemeindeschlüssel beginnt mit „05“).")
            return None
        if not name_clean:
            return None
        return Kommune(key_clean, name_clean)

    def not_in_past(self, field: str, value: date | None, today: date) -> date | None:
        """An optional date that must not lie before `today` (a due date being set)."""
        if value is not None and value < today:
            self.add(field, f"Das Datum {format_date(value)} liegt in der Vergangenheit.")
        return value


def format_date(value: date) -> str:
    """German date format, as users read it (16.11.2021)."""
    return value.strftime("%d.%m.%Y")


def format_datetime(value: datetime) -> str:
    return value.strftime("%d.%m.%Y %H:%M")


def parse_iso_date(field: str, value: str, violations: Violations, *, required: bool = True) -> date | None:
    """For adapters that receive ISO strings ("2026-03-01"); reports a German violation."""
    if not value:
        if required:
            violations.add(field, "Datum fehlt.")
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        violations.add(field, f"„{value}“ ist kein Datum im Format JJJJ-MM-TT.")
        return None
