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
from services.case.domain.vocabulary import Gender, Kommune, ResidenceStatusKind

_PARAGRAPH = re.compile(r"§+\s*(\d+[a-z]?)(?![a-z])", re.IGNORECASE)
_LAW = re.compile(r"([A-ZÄÖÜ][A-Za-zÄÖÜäöüß]*G|SGB\s*[IVX]+)\s*$")
LANGUAGE_PATTERN = re.compile(r"^[a-z]{2,3}$")
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PHONE_PATTERN = re.compile(r"^\+?[0-9 ()/-]{5,30}$")


def normalise_legal_basis(text: str) -> str:
    """"§25a  AufenthG" -> "§ 25a AufenthG": one spelling, so lists and checks compare."""
    cleaned = " ".join(text.split())
    return re.sub(r"§+\s*", "§ ", cleaned)


def legal_basis_key(text: str) -> tuple[str, str] | None:
    """(paragraph, law) of a legal basis, e.g. ("25a", "aufenthg") for
    "§ 25a Abs. 1 AufenthG", so that a Zielgruppe naming "§ 25a AufenthG" covers every Absatz."""
    paragraph = _PARAGRAPH.search(text)
    law = _LAW.search(text.strip())
    if not paragraph or not law:
        return None
    return paragraph.group(1).lower(), law.group(1).replace(" ", "").lower()


def age_on(birth_date: date, on: date) -> int:
    """Completed years on `on` (German Lebensalter, § 187 Abs. 2 BGB): one turns n at the start
    of the birthday; someone born on 29 February turns a year older on 1 March in common years."""
    before_birthday = (on.month, on.day) < (birth_date.month, birth_date.day)
    return on.year - birth_date.year - (1 if before_birthday else 0)


@dataclass(frozen=True)
class ResidenceStatus:
    """Aufenthaltsstatus: kind, legal basis ("§ 60a AufenthG"), validity, and where the
    proposer sees a path to a better status, the prospective legal basis ("§ 25b AufenthG")."""

    kind: ResidenceStatusKind
    legal_basis: str = ""
    valid_from: date | None = None
    valid_until: date | None = None
    prospective_legal_basis: str = ""


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
    kind = v.enum(f"{prefix}.residence.kind", ResidenceStatusKind, data.residence_kind)
    legal_basis = normalise_legal_basis(
        v.text(f"{prefix}.residence.legal_basis", data.legal_basis, required=False, max_len=100))
    prospective = normalise_legal_basis(v.text(
        f"{prefix}.residence.prospective_legal_basis", data.prospective_legal_basis,
        required=False, max_len=100))
    for name, value in (("legal_basis", legal_basis), ("prospective_legal_basis", prospective)):
        if value and legal_basis_key(value) is None:
            v.add(f"{prefix}.residence.{name}",
                  "Rechtsgrundlage in der Form „§ 60a AufenthG“ oder „§ 25 Abs. 2 AufenthG“ angeben.")
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
        residence=ResidenceStatus(
            kind=kind, legal_basis=legal_basis, valid_from=valid_from, valid_until=valid_until,
            prospective_legal_basis=prospective,
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
