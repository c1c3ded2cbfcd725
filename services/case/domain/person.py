"""The person a case is about: the only place that holds directly identifying data.

Kept apart from `Case` on purpose: a case travels as a pseudonymised brief, a person never
leaves the owning node without a covering consent, and retention can erase the person while
anonymised case figures stay for statistics. `Person` is immutable; a change is a new value
(validated as a whole), so a rejected change leaves nothing half-updated.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from kimnetz.validation import LONG_TEXT, Violations
from kimnetz.vocabulary import LegalBasis, OriginRegion, origin_regions_from_text
from services.case.domain.vocabulary import Gender, Kommune, ResidenceStatusKind, country_label

LANGUAGE_PATTERN = re.compile(r"^[a-z]{2,3}$")
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PHONE_PATTERN = re.compile(r"^\+?[0-9 ()/-]{5,30}$")


def normalise_legal_basis(text: str) -> str:
    """"§25a  AufenthG" -> "§ 25a AufenthG": one spelling, so lists and checks compare."""
    cleaned = " ".join(text.split())
    return re.sub(r"§+\s*", "§ ", cleaned)


def _basis(v: Violations, at: str, name: str, value: str, text_name: str,
           text: str) -> LegalBasis | None:
    """A basis chosen (`value`), else read from old free text: "§ 25 a AufenthG" is § 25a. Text
    that names no basis of the list, or a text contradicting the choice, is a violation."""
    chosen = v.enum(f"{at}.{name}", LegalBasis, value, required=False)
    if not text:
        return chosen
    read = LegalBasis.from_text(text)
    if read is None:
        v.add(f"{at}.{text_name}",
              "Rechtsgrundlage aus der Liste wählen (z. B. „§ 60a AufenthG“, „§ 25 Abs. 2 AufenthG“).")
        return chosen
    if chosen is not None and chosen is not read:
        v.add(f"{at}.{text_name}", f"Der Text nennt {read.label}, gewählt ist {chosen.label}.")
    return chosen or read


def age_on(birth_date: date, on: date) -> int:
    """Completed years on `on` (German Lebensalter, § 187 Abs. 2 BGB): one turns n at the start
    of the birthday; someone born on 29 February turns a year older on 1 March in common years."""
    before_birthday = (on.month, on.day) < (birth_date.month, birth_date.day)
    return on.year - birth_date.year - (1 if before_birthday else 0)


def birthday(birth_date: date, years: int) -> date:
    """The day a person born on `birth_date` turns `years` (a 29 February birthday falls on
    1 March in common years, as in `age_on`)."""
    try:
        return birth_date.replace(year=birth_date.year + years)
    except ValueError:
        return date(birth_date.year + years, 3, 1)


@dataclass(frozen=True)
class ResidenceStatus:
    """Aufenthaltsstatus: kind, legal basis (§ 60a AufenthG), validity, and where the proposer
    sees a path to a better status, the prospective legal basis (§ 25b AufenthG) and when it was
    applied for.

    The bases are choices (`basis`, `prospective_basis`); the texts `legal_basis` and
    `prospective_legal_basis` are what persons stored before carry (and, for a choice, its
    label). Read the bases through `current` and `intended`, which fall back to the text."""

    kind: ResidenceStatusKind
    legal_basis: str = ""
    valid_from: date | None = None
    valid_until: date | None = None
    prospective_legal_basis: str = ""
    basis: LegalBasis | None = None
    prospective_basis: LegalBasis | None = None
    prospective_applied_on: date | None = None

    @property
    def current(self) -> LegalBasis | None:
        return self.basis or LegalBasis.from_text(self.legal_basis)

    @property
    def intended(self) -> LegalBasis | None:
        return self.prospective_basis or LegalBasis.from_text(self.prospective_legal_basis)


@dataclass(frozen=True)
class Contact:
    phone: str = ""
    email: str = ""
    address: str = ""


@dataclass(frozen=True)
class Household:
    """Who lives with the person; counts only, names of relatives belong in their own cases."""

    adults: int = 1
    children: int = 0
    note: str = ""


@dataclass(frozen=True)
class Person:
    case_id: str
    given_name: str
    family_name: str
    birth_date: date
    nationalities: tuple[str, ...]
    country_of_origin: str
    residence: ResidenceStatus
    region_of_origin: str = ""
    languages: tuple[str, ...] = ()
    household: Household = field(default_factory=Household)
    contact: Contact = field(default_factory=Contact)
    received_as_umf: bool = False
    umf_received_on: date | None = None
    origin_region: OriginRegion | None = None
    gender: Gender = Gender.OHNE_ANGABE
    #: Wohnort: the kreisangehörige Kommune where the person lives (None: not recorded).
    home_kommune: Kommune | None = None
    #: Einreisedatum: first entry into Germany.
    entry_date: date | None = None
    #: Dolmetschbedarf, and the language to interpret from (ISO 639).
    interpreter_needed: bool = False
    interpreter_language: str = ""

    def age_on(self, on: date) -> int:
        return age_on(self.birth_date, on)

    @property
    def origin_regions(self) -> tuple[OriginRegion, ...]:
        """Where in the country of origin the person comes from, as far as known: the chosen
        region, else what an older free-text region can mean ("Istanbul": both parts)."""
        if self.origin_region is not None:
            return (self.origin_region,)
        return origin_regions_from_text(self.region_of_origin)


@dataclass(frozen=True)
class PersonData:
    """What a command carries about a person, before validation (ISO codes, dates)."""

    given_name: str
    family_name: str
    birth_date: date | None
    nationalities: tuple[str, ...]
    country_of_origin: str
    residence_kind: str
    legal_basis: str = ""
    residence_valid_from: date | None = None
    residence_valid_until: date | None = None
    prospective_legal_basis: str = ""
    region_of_origin: str = ""
    languages: tuple[str, ...] = ()
    household_adults: int = 1
    household_children: int = 0
    household_note: str = ""
    phone: str = ""
    email: str = ""
    address: str = ""
    received_as_umf: bool = False
    umf_received_on: date | None = None
    # Choices by their values ("aufenthg_25b", "tr_edirne"); "" = not given.
    basis: str = ""
    prospective_basis: str = ""
    prospective_applied_on: date | None = None
    origin_region: str = ""
    gender: str = ""
    home_kommune_key: str = ""
    home_kommune_name: str = ""
    entry_date: date | None = None
    interpreter_needed: bool = False
    interpreter_language: str = ""


def build_person(
    case_id: str, data: PersonData, today: date, v: Violations, prefix: str = "person"
) -> Person | None:
    """Validates `data` into a Person, reporting into `v` with field paths under `prefix`.
    Returns None when anything was invalid (the caller raises)."""
    before = len(v.items)
    given = v.text(f"{prefix}.given_name", data.given_name, max_len=100)
    family = v.text(f"{prefix}.family_name", data.family_name, max_len=100)
    birth = v.date_value(f"{prefix}.birth_date", data.birth_date, not_after=today,
                         not_before=date(today.year - 120, 1, 1))
    nationalities = tuple(
        v.country(f"{prefix}.nationalities[{i}]", code) for i, code in enumerate(data.nationalities)
    )
    if not data.nationalities:
        v.add(f"{prefix}.nationalities",
              "Mindestens eine Staatsangehörigkeit angeben (ggf. „XX“ für ungeklärt).")
    origin = v.country(f"{prefix}.country_of_origin", data.country_of_origin)
    region = v.text(f"{prefix}.region_of_origin", data.region_of_origin, required=False, max_len=100)
    origin_region = v.enum(f"{prefix}.origin_region", OriginRegion, data.origin_region, required=False)
    if origin_region is None and region:
        read = origin_regions_from_text(region)
        origin_region = read[0] if len(read) == 1 else None
    if origin_region is not None and origin and origin_region.country != origin:
        v.add(f"{prefix}.origin_region",
              f"„{origin_region.label}“ liegt nicht im Herkunftsland {country_label(origin)}.")
    kind = v.enum(f"{prefix}.residence.kind", ResidenceStatusKind, data.residence_kind)
    legal_basis = normalise_legal_basis(
        v.text(f"{prefix}.residence.legal_basis", data.legal_basis, required=False, max_len=100))
    prospective = normalise_legal_basis(v.text(
        f"{prefix}.residence.prospective_legal_basis", data.prospective_legal_basis,
        required=False, max_len=100))
    basis = _basis(v, f"{prefix}.residence", "basis", data.basis, "legal_basis", legal_basis)
    intended = _basis(v, f"{prefix}.residence", "prospective_basis", data.prospective_basis,
                      "prospective_legal_basis", prospective)
    if basis is not None and kind is not None and basis.kind is not kind:
        v.add(f"{prefix}.residence.basis",
              f"{basis.label} ({basis.meaning}) gibt den Status „{basis.kind.label}“, "
              f"angegeben ist „{kind.label}“.")
    if basis is not None and intended is basis:
        v.add(f"{prefix}.residence.prospective_basis",
              f"{basis.label} ist schon die Rechtsgrundlage des Aufenthalts, keine angestrebte.")
    applied_on = v.date_value(f"{prefix}.residence.prospective_applied_on",
                              data.prospective_applied_on, required=False, not_after=today)
    if applied_on is not None and intended is None:
        v.add(f"{prefix}.residence.prospective_applied_on",
              "Ein Antragsdatum gibt es nur zu einer angestrebten Rechtsgrundlage.")
    valid_from = v.date_value(f"{prefix}.residence.valid_from", data.residence_valid_from, required=False)
    valid_until = v.date_value(f"{prefix}.residence.valid_until", data.residence_valid_until, required=False)
    if valid_from and valid_until and valid_until < valid_from:
        v.add(f"{prefix}.residence.valid_until", "Das Ende der Gültigkeit liegt vor ihrem Beginn.")
    languages: list[str] = []
    for i, code in enumerate(data.languages):
        code = code.strip().lower()
        if not LANGUAGE_PATTERN.match(code):
            v.add(f"{prefix}.languages[{i}]", "Sprachcode nach ISO 639 (z. B. „ar“, „de“, „prs“) erwartet.")
        elif code not in languages:
            languages.append(code)
    if not 0 <= data.household_adults <= 30:
        v.add(f"{prefix}.household.adults", "Zahl der Erwachsenen zwischen 0 und 30 angeben.")
    if not 0 <= data.household_children <= 30:
        v.add(f"{prefix}.household.children", "Zahl der Kinder zwischen 0 und 30 angeben.")
    household_note = v.text(f"{prefix}.household.note", data.household_note, required=False,
                            max_len=LONG_TEXT)
    phone = v.text(f"{prefix}.contact.phone", data.phone, required=False, max_len=30)
    if phone and not PHONE_PATTERN.match(phone):
        v.add(f"{prefix}.contact.phone", "Telefonnummer aus Ziffern, Leerzeichen und + ( ) / - angeben.")
    email = v.text(f"{prefix}.contact.email", data.email, required=False, max_len=254)
    if email and not EMAIL_PATTERN.match(email):
        v.add(f"{prefix}.contact.email", "Keine gültige E-Mail-Adresse.")
    address = v.text(f"{prefix}.contact.address", data.address, required=False, max_len=300)
    umf_on = v.date_value(f"{prefix}.umf_received_on", data.umf_received_on, required=False, not_after=today)
    if data.received_as_umf and umf_on is None:
        v.add(f"{prefix}.umf_received_on", "Bei UMF das Datum der Aufnahme (Inobhutnahme) angeben.")
    if umf_on is not None and not data.received_as_umf:
        v.add(f"{prefix}.umf_received_on", "Ein Aufnahmedatum gibt es nur bei Aufnahme als UMF.")
    if birth and umf_on and umf_on < birth:
        v.add(f"{prefix}.umf_received_on", "Die Aufnahme liegt vor dem Geburtsdatum.")
    gender = v.enum(f"{prefix}.gender", Gender, data.gender, required=False) or Gender.OHNE_ANGABE
    home = v.kommune(f"{prefix}.home_kommune", data.home_kommune_key, data.home_kommune_name)
    entry = v.date_value(f"{prefix}.entry_date", data.entry_date, required=False, not_after=today)
    if birth and entry and entry < birth:
        v.add(f"{prefix}.entry_date", "Die Einreise liegt vor dem Geburtsdatum.")
    interpreter_language = _interpreter_language(data, prefix, v)
    if len(v.items) > before or birth is None or kind is None:
        return None
    return Person(
        case_id=case_id,
        given_name=given,
        family_name=family,
        birth_date=birth,
        nationalities=nationalities,
        country_of_origin=origin,
        region_of_origin=region,
        origin_region=origin_region,
        residence=ResidenceStatus(
            kind=kind, legal_basis=legal_basis or (basis.label if basis else ""),
            valid_from=valid_from, valid_until=valid_until,
            prospective_legal_basis=prospective or (intended.label if intended else ""),
            basis=basis, prospective_basis=intended, prospective_applied_on=applied_on,
        ),
        languages=tuple(languages),
        household=Household(data.household_adults, data.household_children, household_note),
        contact=Contact(phone, email, address),
        received_as_umf=data.received_as_umf,
        umf_received_on=umf_on,
        gender=gender,
        home_kommune=home,
        entry_date=entry,
        interpreter_needed=data.interpreter_needed,
        interpreter_language=interpreter_language,
    )


def _interpreter_language(data: PersonData, prefix: str, v: Violations) -> str:
    """Dolmetschbedarf names the language to interpret from: required when there is a need,
    meaningless without one, and never German."""
    field_name = f"{prefix}.interpreter_language"
    code = data.interpreter_language.strip().lower()
    if data.interpreter_needed and not code:
        v.add(field_name, "Bei Dolmetschbedarf die Sprache angeben (ISO 639, z. B. „ar“, „prs“).")
    elif code and not data.interpreter_needed:
        v.add(field_name, "Eine Dolmetschsprache gibt es nur bei Dolmetschbedarf.")
    elif code and not LANGUAGE_PATTERN.match(code):
        v.add(field_name, "Sprachcode nach ISO 639 (z. B. „ar“, „de“, „prs“) erwartet.")
    elif code == "de":
        v.add(field_name, "Gedolmetscht wird aus einer anderen Sprache als Deutsch.")
    return code
