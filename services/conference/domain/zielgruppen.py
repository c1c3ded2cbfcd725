"""Zielgruppen as the Lenkungsgruppe decides them: structured, versioned definitions.

The conference side owns the decision; the case side checks Fallvorschläge against the newest
version it received. A Beschluss of the kind "Zielgruppen festlegen" carries a whole catalogue
(it replaces the previous version, nothing is edited in place), so every case can say which
version it was checked against.

Criteria of one definition are combined with AND and are all optional, but at least one must be
set. Ages: `min_age`/`max_age` are exact completed years ("ab dem 28. Geburtstag"); the
Beschluss's own words "älter als 27" / "bis 27" are `older_than`/`up_to` with the reading the
Lenkungsgruppe decides (`age_reading`: completed years or years of life), and every definition
states its boundary in words (`age_words`) so the Lenkungsgruppe sees what it decides. Legal bases
are choices (`bases`), held or intended as `legal_basis_reading` says (Hilden: "berechtigt, ihren
Aufenthaltsstatus zu verbessern" = intended). Regions are choices too (Ostthrakien's provinces).
Version 1 is the catalogue
the case service ships (Kreis Mettmann); the first Lenkungsgruppe decision therefore yields
version 2 unless the node starts from another baseline (`next_version`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from kimnetz.validation import Violations
from kimnetz.vocabulary import (
    AccessRoute,
    AgeReading,
    Gender,
    LegalBasis,
    LegalBasisReading,
    OriginRegion,
    age_boundary_words,
    legal_bases_from_text,
    origin_regions_from_text,
)
from services.conference.domain.vocabulary import ResidenceStatusKind

#: The version the case service ships before any Lenkungsgruppe decision.
SHIPPED_VERSION = 1

_COUNTRY = re.compile(r"^[A-Z]{2}$")


@dataclass(frozen=True)
class CountryRule:
    """A country of origin (ISO 3166-1 alpha-2, Kosovo "XK"), optionally narrowed to a region
    (Türkei: nur Ostthrakien)."""

    country: str
    # Old free text ("Ostthrakien"); new decisions name `regions`.
    region: str = ""
    regions: tuple[OriginRegion, ...] = ()


@dataclass(frozen=True)
class ZielgruppeDefinition:
    key: str
    name: str
    description: str = ""
    min_age: int | None = None
    max_age: int | None = None
    residence_kinds: tuple[ResidenceStatusKind, ...] = ()
    # Old free text ("§ 25a AufenthG"), still accepted when it names a basis of the list.
    legal_bases: tuple[str, ...] = ()
    countries_of_origin: tuple[CountryRule, ...] = ()
    requires_umf: bool = False
    bases: tuple[LegalBasis, ...] = ()
    legal_basis_reading: LegalBasisReading = LegalBasisReading.INTENDED
    older_than: int | None = None
    up_to: int | None = None
    age_reading: AgeReading | None = None
    # HSK's "Frauen in der Frauenberatungsstelle": the person's Geschlecht and the Zugangsweg
    # of the Fallvorschlag.
    genders: tuple[Gender, ...] = ()
    access_routes: tuple[AccessRoute, ...] = ()

    @property
    def lowest_age(self) -> int | None:
        bounds = [a for a in (self.min_age,) if a is not None]
        if self.older_than is not None and self.age_reading is not None:
            bounds.append(self.age_reading.min_age_older_than(self.older_than))
        return max(bounds) if bounds else None

    @property
    def highest_age(self) -> int | None:
        bounds = [a for a in (self.max_age,) if a is not None]
        if self.up_to is not None and self.age_reading is not None:
            bounds.append(self.age_reading.max_age_up_to(self.up_to))
        return min(bounds) if bounds else None

    @property
    def age_words(self) -> str:
        """The boundary as a coordinator checks it: "ab dem 28. Geburtstag" ("" without one)."""
        return age_boundary_words(self.lowest_age, self.highest_age)

    @property
    def has_criterion(self) -> bool:
        return bool(
            self.min_age is not None
            or self.max_age is not None
            or self.older_than is not None
            or self.up_to is not None
            or self.residence_kinds
            or self.legal_bases
            or self.bases
            or self.countries_of_origin
            or self.requires_umf
            or self.genders
            or self.access_routes
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
        for name, age in (("min_age", d.min_age), ("max_age", d.max_age),
                          ("older_than", d.older_than), ("up_to", d.up_to)):
            if age is not None and not 0 <= age <= 120:
                v.add(f"{at}.{name}", "Alter zwischen 0 und 120 Jahren angeben.")
        if (d.older_than is not None or d.up_to is not None) and d.age_reading is None:
            v.add(f"{at}.age_reading", "Festlegen, wie „älter als“ und „bis“ zu lesen sind: nach "
                                       "vollendeten Lebensjahren oder nach Lebensjahren.")
        low, high = d.lowest_age, d.highest_age
        if low is not None and high is not None and low > high:
            v.add(f"{at}.max_age", "Das Höchstalter liegt unter dem Mindestalter.")
        for j, basis in enumerate(d.legal_bases):
            if not legal_bases_from_text(basis):
                v.add(f"{at}.legal_bases[{j}]",
                      "Rechtsgrundlage aus der Liste wählen (z. B. „§ 25a AufenthG“).")
        for j, rule in enumerate(d.countries_of_origin):
            if not _COUNTRY.match(rule.country):
                v.add(
                    f"{at}.countries_of_origin[{j}].country",
                    "Ländercode nach ISO 3166-1 (zwei Großbuchstaben, Kosovo „XK“) angeben.",
                )
            if rule.region and not rule.regions and not origin_regions_from_text(rule.region):
                v.add(f"{at}.countries_of_origin[{j}].region",
                      "Region aus der Liste wählen (z. B. die Provinzen Ostthrakiens).")
            for region in rule.regions:
                if region.country != rule.country:
                    v.add(f"{at}.countries_of_origin[{j}].regions",
                          f"„{region.label}“ liegt nicht im Land „{rule.country}“.")
        if not d.has_criterion:
            v.add(at, "Eine Zielgruppe braucht mindestens ein Kriterium.")
    v.raise_if_any("Die Zielgruppen-Definition ist unvollständig.")


def next_version(latest_adopted: int | None) -> int:
    """The version a newly adopted catalogue gets, after the latest one this Lenkungsgruppe
    adopted (None: none yet, so after the shipped default)."""
    return max(latest_adopted or SHIPPED_VERSION, SHIPPED_VERSION) + 1
