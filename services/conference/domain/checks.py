"""Collects every field violation of one command before raising, so a user sees all at once."""

from __future__ import annotations

import re
from datetime import date, datetime

from kimnetz import identifiers
from kimnetz.errors import FieldViolation, InvalidArgument

_IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


class Violations:
    def __init__(self) -> None:
        self.items: list[FieldViolation] = []

    def add(self, field: str, description: str) -> None:
        self.items.append(FieldViolation(field, description))

    def text(self, field: str, value: str, *, required: bool = True, max_len: int = 500) -> None:
        if required and not value.strip():
            self.add(field, "Angabe fehlt.")
        elif len(value) > max_len:
            self.add(field, f"Höchstens {max_len} Zeichen.")

    def shared_identifier(self, field: str, value: str) -> None:
        """An identifier another service stores too (a user, organisation, node or case id): the
        one rule of `kimnetz.identifiers`, so the case service never refuses what was accepted here."""
        problem = identifiers.problem(value)
        if problem is not None:
            self.add(field, problem)

    def identifier(self, field: str, value: str) -> None:
        if not _IDENTIFIER.match(value):
            self.add(field, "Nur Kleinbuchstaben, Ziffern und Unterstrich, beginnend mit einem Buchstaben.")

    def not_in_past(self, field: str, value: date | None, today: date) -> None:
        if value is not None and value < today:
            self.add(field, f"Das Datum {format_date(value)} liegt in der Vergangenheit.")

    def raise_if_any(self, message: str = "Ungültige Eingabe.") -> None:
        if self.items:
            raise InvalidArgument(self.items, message)


def format_date(value: date) -> str:
    """German date as users write it (16.11.2021)."""
    return value.strftime("%d.%m.%Y")


def format_datetime(value: datetime) -> str:
    return value.strftime("%d.%m.%Y %H:%M")
