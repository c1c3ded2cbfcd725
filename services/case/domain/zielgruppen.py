"""Zielgruppen as data: the Lenkungsgruppe's versioned definitions and the eligibility check.

A Lenkungsgruppe decision defines or changes the target groups; they arrive as a new
`ZielgruppenCatalogue` version (from the conference service) and are never edited in place, so
a case can always say which version it was checked against. The default (version 1) is the
Kreis Mettmann decision reported in the Hilden Mitteilungsvorlage WP 20-25 SV 51/205.

A definition's criteria are all optional and combined with AND; a person belongs to a
Zielgruppe when every criterion it sets is met. The check returns, per definition, either a
match or the German reasons why not, so a Fallkonferenz sees why a proposal did not fit.

Age rule: ages are completed years (see `person.age_on`). "älter als 27" is stored as
`min_age=28`: a person who is exactly 27 (from the 27th birthday to the day before the 28th)
is not older than 27; from the 28th birthday on they are.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date

from kimnetz.validation import Violations, format_date
from services.case.domain.person import Person, PersonData, age_on, build_person, legal_basis_key
from services.case.domain.vocabulary import ResidenceStatusKind, country_label


@dataclass(frozen=True)
class CountryRule:
    """A country of origin, optionally narrowed to a region (Türkei: nur Ostthrakien)."""

    country: str
    region: str = ""

    def matches(self, country: str, region: str) -> bool:
        if country != self.country:
            return False
        return not self.region or _fold(region) == _fold(self.region)

    @property
    def label(self) -> str:
        name = country_label(self.country)
        return f"{name} (nur {self.region})" if self.region else name


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

    def check(self, person: Person, on: date) -> tuple[str, ...]:
        """German reasons why `person` is not in this Zielgruppe on `on`; empty means it is."""
        reasons: list[str] = []
        age = person.age_on(on)
        if self.min_age is not None and age < self.min_age:
            reasons.append(f"Alter {age} Jahre, erforderlich ist mindestens {self.min_age}.")
        if self.max_age is not None and age > self.max_age:
            reasons.append(f"Alter {age} Jahre, erforderlich ist höchstens {self.max_age}.")
        if self.residence_kinds and person.residence.kind not in self.residence_kinds:
            allowed = ", ".join(k.label for k in self.residence_kinds)
            reasons.append(f"Aufenthaltsstatus „{person.residence.kind.label}“, erforderlich: {allowed}.")
        if self.legal_bases:
            wanted = {legal_basis_key(b) for b in self.legal_bases}
            held = {legal_basis_key(person.residence.legal_basis),
                    legal_basis_key(person.residence.prospective_legal_basis)} - {None}
            if not wanted & held:
                reasons.append(
                    "Weder die Rechtsgrundlage des Aufenthalts noch die angestrebte ist "
                    + " oder ".join(self.legal_bases) + "."
                )
        if self.countries_of_origin and not any(
            rule.matches(person.country_of_origin, person.region_of_origin)
            for rule in self.countries_of_origin
        ):
            where = country_label(person.country_of_origin)
            if person.region_of_origin:
                where += f" ({person.region_of_origin})"
            reasons.append(f"Herkunft {where} gehört nicht zu den Ländern dieser Zielgruppe.")
        if self.requires_umf:
            if not person.received_as_umf or person.umf_received_on is None:
                reasons.append("Nicht als unbegleitete*r minderjährige*r Geflüchtete*r aufgenommen.")
            elif age_on(person.birth_date, person.umf_received_on) >= 18:
                reasons.append(
                    f"Bei der Aufnahme am {format_date(person.umf_received_on)} bereits volljährig."
                )
        return tuple(reasons)


@dataclass(frozen=True)
class ZielgruppenCatalogue:
    """One version of a Kreis' Zielgruppen, as decided by its Lenkungsgruppe."""

    version: int
    decided_on: date | None
    decision_reference: str
    definitions: tuple[ZielgruppeDefinition, ...]

    def definition(self, key: str) -> ZielgruppeDefinition | None:
        return next((d for d in self.definitions if d.key == key), None)


@dataclass(frozen=True)
class Mismatch:
    key: str
    reasons: tuple[str, ...]
    # The name as the checked catalogue gave it: a catalogue received from the Lenkungsgruppe
    # is not at hand where the summary is written, and users read names, not keys.
    name: str = ""


@dataclass(frozen=True)
class EligibilityResult:
    """What a case records about its check: the version, every matching Zielgruppe (the first
    is the one the case is counted under), and why each other one did not match."""

    catalogue_version: int
    checked_on: date
    matched: tuple[str, ...]
    mismatches: tuple[Mismatch, ...] = field(default_factory=tuple)
    # Names of `matched`, position by position, as the checked catalogue gave them (empty in
    # results stored before names were recorded).
    matched_names: tuple[str, ...] = ()

    @property
    def eligible(self) -> bool:
        return bool(self.matched)

    @property
    def primary(self) -> str:
        return self.matched[0] if self.matched else ""

    def summary(self, catalogue: ZielgruppenCatalogue | None = None) -> str:
        """German, for users: every Zielgruppe by its name. The names come from `catalogue` if
        given, else from the check itself; a result stored before names were recorded falls back
        to the shipped version 1 (the only one such a result can name without its catalogue)."""
        recorded = dict(zip(self.matched, self.matched_names, strict=False))
        recorded.update((m.key, m.name) for m in self.mismatches if m.name)

        def name(key: str) -> str:
            d = catalogue.definition(key) if catalogue else None
            if d:
                return d.name
            if recorded.get(key):
                return recorded[key]
            shipped = METTMANN_V1.definition(key) if self.catalogue_version == 1 else None
            return shipped.name if shipped else key
        if self.matched:
            return "Zielgruppe: " + ", ".join(name(k) for k in self.matched)
        return "Keine Zielgruppe trifft zu: " + " ".join(
            f"{name(m.key)}: {' '.join(m.reasons)}" for m in self.mismatches
        )


def check_eligibility(person: Person, catalogue: ZielgruppenCatalogue, on: date) -> EligibilityResult:
    matched: list[ZielgruppeDefinition] = []
    mismatches: list[Mismatch] = []
    for definition in catalogue.definitions:
        reasons = definition.check(person, on)
        if reasons:
            mismatches.append(Mismatch(definition.key, reasons, definition.name))
        else:
            matched.append(definition)
    return EligibilityResult(
        catalogue.version, on, tuple(d.key for d in matched), tuple(mismatches),
        matched_names=tuple(d.name for d in matched),
    )


def check_entered_person(data: PersonData, catalogue: ZielgruppenCatalogue, on: date) -> EligibilityResult:
    """The check of a Fallvorschlag still being entered: only what the Zielgruppen read is
    validated (birth date, Aufenthaltsstatus and legal bases, Herkunft, UMF; German violations
    under "person."), the fields the check never reads (name, nationalities, languages,
    household, contact) are set aside, so the check can be shown before they are filled in."""
    probe = replace(data, given_name="-", family_name="-", nationalities=("XX",), languages=(),
                    household_adults=1, household_children=0, household_note="", phone="",
                    email="", address="")
    v = Violations()
    person = build_person("", probe, on, v)
    v.raise_if_any("Für die Zielgruppenprüfung fehlen Angaben.")
    assert person is not None
    return check_eligibility(person, catalogue, on)


def validate_catalogue(catalogue: ZielgruppenCatalogue) -> None:
    """A catalogue arriving from the Lenkungsgruppe must be usable before it replaces the last."""
    v = Violations()
    if catalogue.version < 1:
        v.add("version", "Die Version muss mindestens 1 sein.")
    if not catalogue.definitions:
        v.add("definitions", "Mindestens eine Zielgruppe ist erforderlich.")
    seen: set[str] = set()
    for i, d in enumerate(catalogue.definitions):
        v.identifier(f"definitions[{i}].key", d.key)
        if d.key in seen:
            v.add(f"definitions[{i}].key", f"Der Schlüssel „{d.key}“ ist doppelt vergeben.")
        seen.add(d.key)
        v.text(f"definitions[{i}].name", d.name, max_len=200)
        v.text(f"definitions[{i}].description", d.description, required=False, max_len=2000)
        if d.min_age is not None and d.max_age is not None and d.min_age > d.max_age:
            v.add(f"definitions[{i}].max_age", "Das Höchstalter liegt unter dem Mindestalter.")
        for j, basis in enumerate(d.legal_bases):
            if legal_basis_key(basis) is None:
                v.add(f"definitions[{i}].legal_bases[{j}]", "Rechtsgrundlage wie „§ 25a AufenthG“ angeben.")
        for j, rule in enumerate(d.countries_of_origin):
            v.country(f"definitions[{i}].countries_of_origin[{j}].country", rule.country)
        if not (d.min_age is not None or d.max_age is not None or d.residence_kinds or d.legal_bases
                or d.countries_of_origin or d.requires_umf):
            v.add(f"definitions[{i}]", "Eine Zielgruppe braucht mindestens ein Kriterium.")
    v.raise_if_any("Die Zielgruppen-Definition ist unvollständig.")


def _fold(text: str) -> str:
    return " ".join(text.split()).casefold()


#: Süd-Ost-Europa as listed in the Mettmann decision (Hilden seed), in its order.
SOUTH_EAST_EUROPE: tuple[CountryRule, ...] = (
    CountryRule("AL"), CountryRule("BA"), CountryRule("BG"), CountryRule("GR"), CountryRule("XK"),
    CountryRule("HR"), CountryRule("MD"), CountryRule("ME"), CountryRule("MK"), CountryRule("RO"),
    CountryRule("RS"), CountryRule("SI"), CountryRule("TR", region="Ostthrakien"),
    # The Türkische Republik Nordzypern has no ISO code of its own; it is recorded as CY with
    # the region "Nordzypern", and the Republik Zypern entry covers the whole island anyway.
    CountryRule("CY", region="Nordzypern"), CountryRule("HU"), CountryRule("CY"),
)

METTMANN_V1 = ZielgruppenCatalogue(
    version=1,
    # The seed reports the decision but not its date.
    decided_on=None,
    decision_reference="Lenkungsgruppe KIM Kreis Mettmann (berichtet in WP 20-25 SV 51/205, Hilden)",
    definitions=(
        ZielgruppeDefinition(
            key="umf",
            name="Unbegleitete minderjährige Geflüchtete",
            description="Menschen, die als unbegleitete minderjährige Geflüchtete im Kreis "
                        "aufgenommen wurden (auch nach Eintritt der Volljährigkeit).",
            requires_umf=True,
        ),
        ZielgruppeDefinition(
            key="bleiberecht_25a_25b",
            name="Bleiberecht nach §§ 25a, 25b AufenthG",
            description="Menschen, die nach §§ 25a, 25b AufenthG berechtigt sind, ihren "
                        "Aufenthaltsstatus zu verbessern.",
            legal_bases=("§ 25a AufenthG", "§ 25b AufenthG"),
        ),
        ZielgruppeDefinition(
            key="geduldete_gestattete_ueber_27",
            name="Geduldete und Gestattete älter als 27 Jahre",
            description="„Geduldete“ und „Gestattete“, die älter als 27 Jahre alt sind "
                        "(also ab dem 28. Geburtstag).",
            min_age=28,
            residence_kinds=(ResidenceStatusKind.DULDUNG, ResidenceStatusKind.AUFENTHALTSGESTATTUNG),
        ),
        ZielgruppeDefinition(
            key="suedosteuropa",
            name="Zugewanderte aus Süd-Ost-Europa",
            description="Menschen, die aus Süd-Ost-Europa zugewandert sind.",
            countries_of_origin=SOUTH_EAST_EUROPE,
        ),
    ),
)

DEFAULT_CATALOGUE = METTMANN_V1
