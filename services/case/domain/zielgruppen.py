"""Zielgruppen as data: the Lenkungsgruppe's versioned definitions and the eligibility check.

A Lenkungsgruppe decision defines or changes the target groups; they arrive as a new
`ZielgruppenCatalogue` version (from the conference service) and are never edited in place, so
a case can always say which version it was checked against. The default (version 1) is the
Kreis Mettmann decision reported in the Hilden Mitteilungsvorlage WP 20-25 SV 51/205.

A definition's criteria are all optional and combined with AND; a person belongs to a
Zielgruppe when every criterion it sets is met. The check returns, per definition, either a
match or the German reasons why not, so a Fallkonferenz sees why a proposal did not fit.

Age rule: ages are completed years (see `person.age_on`). "älter als 27" is the Beschluss's
word `older_than=27` with the Lenkungsgruppe's reading: in completed years (Mettmann, version 1)
a person who is exactly 27 is not older than 27, from the 28th birthday on she is; read by
years of life she is from the 27th birthday on. Every catalogue states its boundary in those
words ("ab dem 28. Geburtstag"), and a person who misses a Zielgruppe by age alone gets a hint
naming the programme that covers her (`programmes.py`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date

from kimnetz.validation import Violations, format_date
from kimnetz.vocabulary import (
    EAST_THRACE,
    AccessRoute,
    AgeReading,
    Gender,
    LegalBasis,
    LegalBasisReading,
    OriginRegion,
    age_boundary_words,
    legal_bases_from_text,
    origin_regions_from_text,
    regions_label,
)
from services.case.domain.bleiberecht import improvement_obstacles
from services.case.domain.person import Person, PersonData, age_on, build_person
from services.case.domain.programmes import PROGRAMMES, Programme, programmes_for
from services.case.domain.vocabulary import ResidenceStatusKind, country_label


@dataclass(frozen=True)
class CountryRule:
    """A country of origin, optionally narrowed to regions (Türkei: nur Ostthrakien). `region`
    is the free text of catalogues decided before regions were a choice (read tolerantly)."""

    country: str
    region: str = ""
    regions: tuple[OriginRegion, ...] = ()

    @property
    def narrowed_to(self) -> tuple[OriginRegion, ...]:
        """The regions that count; empty: the whole country."""
        return self.regions or origin_regions_from_text(self.region)

    def matches(self, country: str, regions: tuple[OriginRegion, ...]) -> bool:
        """`regions` are what the person's region can mean; all of them must count, so
        "Istanbul" without its part does not match Ostthrakien."""
        if country != self.country:
            return False
        wanted = self.narrowed_to
        if not wanted and self.region:
            return False  # a region text that names no known region matches nobody
        return not wanted or (bool(regions) and set(regions) <= set(wanted))

    @property
    def label(self) -> str:
        name = country_label(self.country)
        wanted = self.narrowed_to
        if wanted:
            return f"{name} nur {regions_label(wanted)}"
        return f"{name} (nur {self.region})" if self.region else name


@dataclass(frozen=True)
class ZielgruppeDefinition:
    """One Zielgruppe; criteria combine with AND.

    Ages: `min_age`/`max_age` are exact completed-year bounds; `older_than`/`up_to` are the
    Beschluss's own words ("älter als 27", "bis 27") read as `age_reading` says (see
    `kimnetz.vocabulary.AgeReading`). Legal bases: `bases` (choices) and the old free-text
    `legal_bases`, read as `legal_basis_reading` says."""

    key: str
    name: str
    description: str = ""
    min_age: int | None = None
    max_age: int | None = None
    residence_kinds: tuple[ResidenceStatusKind, ...] = ()
    legal_bases: tuple[str, ...] = ()
    countries_of_origin: tuple[CountryRule, ...] = ()
    requires_umf: bool = False
    bases: tuple[LegalBasis, ...] = ()
    legal_basis_reading: LegalBasisReading = LegalBasisReading.INTENDED
    older_than: int | None = None
    up_to: int | None = None
    age_reading: AgeReading | None = None
    genders: tuple[Gender, ...] = ()
    access_routes: tuple[AccessRoute, ...] = ()

    @property
    def all_bases(self) -> tuple[LegalBasis, ...]:
        """The chosen bases and those the old texts name ("§ 25a AufenthG": both Absätze)."""
        found = list(self.bases)
        for text in self.legal_bases:
            found += [b for b in legal_bases_from_text(text) if b not in found]
        return tuple(found)

    @property
    def lowest_age(self) -> int | None:
        """The first completed age in the Zielgruppe, from both ways of stating it."""
        bounds = [a for a in (self.min_age,) if a is not None]
        if self.older_than is not None:
            reading = self.age_reading or AgeReading.COMPLETED_YEARS
            bounds.append(reading.min_age_older_than(self.older_than))
        return max(bounds) if bounds else None

    @property
    def highest_age(self) -> int | None:
        bounds = [a for a in (self.max_age,) if a is not None]
        if self.up_to is not None:
            reading = self.age_reading or AgeReading.COMPLETED_YEARS
            bounds.append(reading.max_age_up_to(self.up_to))
        return min(bounds) if bounds else None

    @property
    def age_words(self) -> str:
        """The age boundary as a coordinator checks it: "ab dem 28. Geburtstag"."""
        return age_boundary_words(self.lowest_age, self.highest_age)

    def check(self, person: Person, on: date, access_route: AccessRoute | None = None) -> tuple[str, ...]:
        """German reasons why `person` (proposed by `access_route`) is not in this Zielgruppe on
        `on`; empty means it is."""
        return tuple(text for _, text in self.assess(person, on, access_route))

    def assess(self, person: Person, on: date,
               access_route: AccessRoute | None = None) -> list[tuple[str, str]]:
        """(criterion, German reason) for every criterion `person` misses on `on`."""
        reasons: list[tuple[str, str]] = []
        if self.genders and person.gender not in self.genders:
            given = ("nicht angegeben" if person.gender is Gender.OHNE_ANGABE
                     else f"„{person.gender.label}“")
            genders = ", ".join(g.label for g in self.genders)
            reasons.append(("gender", f"Geschlecht {given}; die Zielgruppe umfasst: {genders}."))
        if self.access_routes and access_route not in self.access_routes:
            given = f"„{access_route.label}“" if access_route else "nicht angegeben"
            routes = ", ".join(r.label for r in self.access_routes)
            reasons.append(("access_route",
                            f"Zugangsweg {given}; die Zielgruppe umfasst den Zugang über: {routes}."))
        age = person.age_on(on)
        low, high = self.lowest_age, self.highest_age
        if (low is not None and age < low) or (high is not None and age > high):
            reasons.append(("age", f"Alter {age} Jahre; die Zielgruppe gilt {self.age_words}"
                                   f"{self._reading_words()}."))
        if self.residence_kinds and person.residence.kind not in self.residence_kinds:
            allowed = ", ".join(k.label for k in self.residence_kinds)
            reasons.append(("residence",
                            f"Aufenthaltsstatus „{person.residence.kind.label}“, erforderlich: {allowed}."))
        wanted = self.all_bases
        if wanted:
            reasons += [("legal_basis", r) for r in self._legal_basis_reasons(person, wanted, on)]
        if self.countries_of_origin:
            reason = self._origin_reason(person)
            if reason:
                reasons.append(("origin", reason))
        if self.requires_umf:
            if not person.received_as_umf or person.umf_received_on is None:
                reasons.append(("umf", "Nicht als unbegleitete*r minderjährige*r Geflüchtete*r aufgenommen."))
            elif age_on(person.birth_date, person.umf_received_on) >= 18:
                received = format_date(person.umf_received_on)
                reasons.append(("umf", f"Bei der Aufnahme am {received} bereits volljährig."))
        return reasons

    def _reading_words(self) -> str:
        if self.age_reading is None or (self.older_than is None and self.up_to is None):
            return ""
        said = " und ".join(w for w in (
            f"„älter als {self.older_than} Jahre“" if self.older_than is not None else "",
            f"„bis {self.up_to} Jahre“" if self.up_to is not None else "") if w)
        return f" ({said}, gelesen als {self.age_reading.label})"

    def _legal_basis_reasons(self, person: Person, wanted: tuple[LegalBasis, ...],
                             on: date) -> list[str]:
        names = " oder ".join(b.label for b in wanted)
        held, intended = person.residence.current, person.residence.intended
        if self.legal_basis_reading is LegalBasisReading.HELD:
            if held in wanted:
                return []
            return [f"Die Rechtsgrundlage des Aufenthalts ({held.label if held else 'keine angegeben'}) "
                    f"ist nicht {names}."]
        if held in wanted and (intended is None or intended is held):
            return [f"Besitzt bereits einen Aufenthaltstitel nach {held.label}; die Zielgruppe "
                    "umfasst Menschen, die berechtigt sind, ihren Aufenthaltsstatus zu verbessern."]
        if intended not in wanted or intended is None:
            given = intended.label if intended else "keine"
            now = held.label if held else "nicht angegeben"
            return [f"Rechtsgrundlage des Aufenthalts: {now}; angestrebt ist keine Verbesserung "
                    f"nach {names} (angegeben: {given})."]
        return list(improvement_obstacles(person, intended, on))

    def _origin_reason(self, person: Person) -> str:
        regions = person.origin_regions
        if any(rule.matches(person.country_of_origin, regions) for rule in self.countries_of_origin):
            return ""
        where = country_label(person.country_of_origin)
        given = ", ".join(r.label for r in regions) or person.region_of_origin
        narrowed = [r for r in self.countries_of_origin
                    if r.country == person.country_of_origin and (r.narrowed_to or r.region)]
        if narrowed and not any(r.country == person.country_of_origin and not (r.narrowed_to or r.region)
                                for r in self.countries_of_origin):
            counts = " oder ".join(regions_label(r.narrowed_to) if r.narrowed_to else r.region
                                   for r in narrowed)
            return (f"Aus dem Herkunftsland {where} zählt nur {counts}; angegeben: "
                    f"{given or 'keine Region'}.")
        if given:
            where += f" ({given})"
        return f"Herkunft {where} gehört nicht zu den Ländern dieser Zielgruppe."


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
    # Where the person misses by age alone: the programmes that cover her (German hints).
    hints: tuple[str, ...] = ()


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
            f"{name(m.key)}: {' '.join(m.reasons + m.hints)}" for m in self.mismatches
        )


def check_eligibility(person: Person, catalogue: ZielgruppenCatalogue, on: date,
                      access_route: AccessRoute | None = None,
                      programmes: tuple[Programme, ...] = PROGRAMMES) -> EligibilityResult:
    """`access_route` is the Zugangsweg of the case's Fallvorschlag (None: not recorded)."""
    matched: list[ZielgruppeDefinition] = []
    mismatches: list[Mismatch] = []
    for definition in catalogue.definitions:
        assessed = definition.assess(person, on, access_route)
        if assessed:
            by_age_alone = all(criterion == "age" for criterion, _ in assessed)
            hints = tuple(p.hint for p in programmes_for(person, on, programmes)) if by_age_alone else ()
            mismatches.append(Mismatch(definition.key, tuple(text for _, text in assessed),
                                       definition.name, hints))
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
        low, high = d.lowest_age, d.highest_age
        if low is not None and high is not None and low > high:
            v.add(f"definitions[{i}].max_age", "Das Höchstalter liegt unter dem Mindestalter.")
        if (d.older_than is not None or d.up_to is not None) and d.age_reading is None:
            v.add(f"definitions[{i}].age_reading",
                  "Angeben, wie „älter als“/„bis“ zu lesen ist (vollendete Lebensjahre oder Lebensjahre).")
        for j, basis in enumerate(d.legal_bases):
            if not legal_bases_from_text(basis):
                v.add(f"definitions[{i}].legal_bases[{j}]", "Rechtsgrundlage wie „§ 25a AufenthG“ angeben.")
        for j, rule in enumerate(d.countries_of_origin):
            v.country(f"definitions[{i}].countries_of_origin[{j}].country", rule.country)
            for region in rule.regions:
                if region.country != rule.country:
                    v.add(f"definitions[{i}].countries_of_origin[{j}].regions",
                          f"„{region.label}“ liegt nicht in {country_label(rule.country)}.")
        if not (low is not None or high is not None or d.residence_kinds or d.all_bases
                or d.countries_of_origin or d.requires_umf or d.genders or d.access_routes):
            v.add(f"definitions[{i}]", "Eine Zielgruppe braucht mindestens ein Kriterium.")
    v.raise_if_any("Die Zielgruppen-Definition ist unvollständig.")


#: Süd-Ost-Europa as listed in the Mettmann decision (Hilden seed), in its order.
SOUTH_EAST_EUROPE: tuple[CountryRule, ...] = (
    CountryRule("AL"), CountryRule("BA"), CountryRule("BG"), CountryRule("GR"), CountryRule("XK"),
    CountryRule("HR"), CountryRule("MD"), CountryRule("ME"), CountryRule("MK"), CountryRule("RO"),
    CountryRule("RS"), CountryRule("SI"), CountryRule("TR", regions=EAST_THRACE),
    # The Türkische Republik Nordzypern has no ISO code of its own; it is recorded as CY with
    # the region Nordzypern, and the Republik Zypern entry covers the whole island anyway.
    CountryRule("CY", regions=(OriginRegion.CY_NORTH,)), CountryRule("HU"), CountryRule("CY"),
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
            bases=(LegalBasis.AUFENTHG_25A, LegalBasis.AUFENTHG_25A_2, LegalBasis.AUFENTHG_25B),
            legal_basis_reading=LegalBasisReading.INTENDED,
        ),
        ZielgruppeDefinition(
            key="geduldete_gestattete_ueber_27",
            name="Geduldete und Gestattete älter als 27 Jahre",
            description="„Geduldete“ und „Gestattete“, die älter als 27 Jahre alt sind "
                        "(also ab dem 28. Geburtstag).",
            older_than=27, age_reading=AgeReading.COMPLETED_YEARS,
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
