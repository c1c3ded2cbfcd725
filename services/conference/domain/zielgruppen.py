"""Zielgruppen as the Lenkungsgruppe decides them: structured, versioned definitions.

The conference side owns the decision; the case side checks Fallvorschläge against the newest
version it received. A Beschluss of the kind "Zielgruppen festlegen" carries a whole catalogue
(it replaces the previous version, nothing is edited in place), so every case can say which
version it was checked against.

Criteria of one definition are combined with AND and are all optional, but at least one must be
set. Ages are completed years; "älter als 27" is written `min_age=28`. Version 1 is the catalogue
the case service ships (Kreis Mettmann); the first Lenkungsgruppe decision therefore yields
version 2 unless the node starts from another baseline (`next_version`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from kimnetz.validation import Violations
from services.conference.domain.vocabulary import ResidenceStatusKind

#: The version the case service ships before any Lenkungsgruppe decision.
SHIPPED_VERSION = 1

_COUNTRY = re.compile(r"^[A-Z]{2}$")
_LEGAL_BASIS = re.compile(r"^§{1,2}\s*\d+[a-z]?(\s+Abs\.\s*\d+)?\s+\S+")


@dataclass(frozen=True)
class CountryRule:
    """A country of origin (ISO 3166-1 alpha-2, Kosovo "XK"), optionally narrowed to a region
    (Türkei: nur Ostthrakien)."""

    country: str
    region: str = ""


@dataclass(frozen=True)
class ZielgruppeDefinition:
    key: str
    name: str
    description: str = ""
    min_age: int | None = None
    max_age: int | None = None
    residence_kinds: tuple[ResidenceStatusKind, ...] = ()
    legal_bases: tuple[str, ...] = ()
    countries_of_origin: tuple[CountryRule, ...] = ()
    requires_umf: bool = False

    @property
    def has_criterion(self) -> bool:
        return bool(
            self.min_age is not None
            or self.max_age is not None
            or self.residence_kinds
            or self.legal_bases
            or self.countries_of_origin
            or self.requires_umf
        )


@dataclass(frozen=True)
class ZielgruppenCatalogue:
    version: int
    decided_on: date
    decision_reference: str
    definitions: tuple[ZielgruppeDefinition, ...]


def validate_definitions(definitions: tuple[ZielgruppeDefinition, ...], prefix: str = "zielgruppen") -> None:
    """Raises InvalidArgument with every problem of a proposed catalogue."""
    v = Violations()
    if not definitions:
        v.add(prefix, "Mindestens eine Zielgruppe ist erforderlich.")
    seen: set[str] = set()
    for i, d in enumerate(definitions):
        at = f"{prefix}[{i}]"
        v.key(f"{at}.key", d.key)
        if d.key in seen:
            v.add(f"{at}.key", f"Der Schlüssel „{d.key}“ ist doppelt vergeben.")
        seen.add(d.key)
        v.text(f"{at}.name", d.name, max_len=200)
        v.text(f"{at}.description", d.description, required=False, max_len=2000)
        for name, age in (("min_age", d.min_age), ("max_age", d.max_age)):
            if age is not None and not 0 <= age <= 120:
                v.add(f"{at}.{name}", "Alter zwischen 0 und 120 Jahren angeben.")
        if d.min_age is not None and d.max_age is not None and d.min_age > d.max_age:
            v.add(f"{at}.max_age", "Das Höchstalter liegt unter dem Mindestalter.")
        for j, basis in enumerate(d.legal_bases):
            if not _LEGAL_BASIS.match(basis):
                v.add(f"{at}.legal_bases[{j}]", "Rechtsgrundlage wie „§ 25a AufenthG“ angeben.")
        for j, rule in enumerate(d.countries_of_origin):
            if not _COUNTRY.match(rule.country):
                v.add(
                    f"{at}.countries_of_origin[{j}].country",
                    "Ländercode nach ISO 3166-1 (zwei Großbuchstaben, Kosovo „XK“) angeben.",
                )
        if not d.has_criterion:
            v.add(at, "Eine Zielgruppe braucht mindestens ein Kriterium.")
    v.raise_if_any("Die Zielgruppen-Definition ist unvollständig.")


def next_version(latest_adopted: int | None) -> int:
    """The version a newly adopted catalogue gets, after the latest one this Lenkungsgruppe
    adopted (None: none yet, so after the shipped default)."""
    return max(latest_adopted or SHIPPED_VERSION, SHIPPED_VERSION) + 1
