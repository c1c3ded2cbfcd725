"""The person's and the case's fields of issue 14: Geschlecht, Wohnort (home Kommune with its
amtlicher Gemeindeschlüssel), Einreisedatum, Dolmetschbedarf, Zugangsweg; each rule with its
German violation, the case's copies of Kommune and Geschlecht, and the brief."""

from __future__ import annotations

from datetime import date

import pytest
from case_factories import CM, TODAY, later, make_case_with_person, make_person_data, propose

from kimnetz.errors import InvalidArgument
from kimnetz.validation import Violations
from services.case.domain import commands as c
from services.case.domain.brief import build_brief
from services.case.domain.vocabulary import AccessRoute, CaseStatus, Gender, Kommune
from services.case.domain.zielgruppen import METTMANN_V1

HILDEN = {"home_kommune_key": "05158016", "home_kommune_name": "Hilden"}


def violations(error: pytest.ExceptionInfo[InvalidArgument]) -> dict[str, str]:
    return {v.field: v.description for v in error.value.violations}


def refused(**person: object) -> dict[str, str]:
    with pytest.raises(InvalidArgument) as error:
        propose(person=make_person_data(**person))
    return violations(error)


# -- Geschlecht ---------------------------------------------------------------------------------

@pytest.mark.parametrize("value", list(Gender))
def test_each_gender_is_kept_and_labelled_in_german(value: Gender) -> None:
    case, person = propose(person=make_person_data(gender=value.value))
    assert person.gender is value and case.gender is value
    assert value.label in {"weiblich", "männlich", "divers", "ohne Angabe"}


def test_a_person_without_a_stated_gender_reads_as_ohne_angabe() -> None:
    case, person = propose()
    assert person.gender is Gender.OHNE_ANGABE and case.gender is Gender.OHNE_ANGABE


def test_an_unknown_gender_is_refused_naming_the_allowed_values() -> None:
    assert refused(gender="frau") == {"person.gender": "Unbekannter Wert „frau“ (erlaubt: weiblich, "
                                                      "maennlich, divers, ohne_angabe)."}


# -- Wohnort (home Kommune) ---------------------------------------------------------------------

def test_the_home_kommune_is_kept_on_person_and_case() -> None:
    case, person = propose(person=make_person_data(home_kommune_key=" 05158016 ",
                                                   home_kommune_name=" Hilden "))
    assert person.home_kommune == Kommune("05158016", "Hilden") == case.home_kommune
    assert case.home_kommune is not None and case.home_kommune.kreis_key == "05158"


def test_a_home_kommune_may_be_left_open() -> None:
    case, person = propose()
    assert person.home_kommune is None and case.home_kommune is None


@pytest.mark.parametrize(("key", "name", "expected"), [
    ("0515801", "Hilden", {"person.home_kommune.key":
                           "Der amtliche Gemeindeschlüssel hat 8 Ziffern (z. B. „05158016“)."}),
    ("05158O16", "Hilden", {"person.home_kommune.key":
                            "Der amtliche Gemeindeschlüssel hat 8 Ziffern (z. B. „05158016“)."}),
    ("09162000", "München", {"person.home_kommune.key": "Eine Kommune in Nordrhein-Westfalen angeben "
                                                        "(der Gemeindeschlüssel beginnt mit „05“)."}),
    ("05158016", "", {"person.home_kommune.name": "Angabe fehlt."}),
    ("", "Hilden", {"person.home_kommune.key":
                    "Amtlichen Gemeindeschlüssel (8 Ziffern, z. B. „05158016“) angeben."}),
])
def test_a_home_kommune_needs_an_nrw_key_of_8_digits_and_a_name(key: str, name: str,
                                                                 expected: dict[str, str]) -> None:
    assert refused(home_kommune_key=key, home_kommune_name=name) == expected


def test_a_required_kommune_without_key_and_name_is_reported() -> None:
    v = Violations()
    assert v.kommune("kommune", "", "", required=True) is None
    assert {i.field for i in v.items} == {"kommune.key", "kommune.name"}


def test_a_move_to_another_kommune_moves_the_case_too() -> None:
    case, person = make_case_with_person(CaseStatus.ACTIVE, person=make_person_data(**HILDEN))
    data = make_person_data(home_kommune_key="05158020", home_kommune_name="Langenfeld (Rhld.)",
                            gender="weiblich")
    new, changed = case.update_person(c.UpdatePerson(case.case_id, data), person, CM, later(30),
                                      METTMANN_V1)
    assert set(changed) == {"home_kommune", "gender"}
    assert case.home_kommune == Kommune("05158020", "Langenfeld (Rhld.)") == new.home_kommune
    assert case.gender is Gender.WEIBLICH


# -- Einreisedatum ------------------------------------------------------------------------------

def test_the_entry_date_is_kept() -> None:
    _, person = propose(person=make_person_data(entry_date=date(2015, 9, 5)))
    assert person.entry_date == date(2015, 9, 5)


def test_an_entry_date_in_the_future_is_refused() -> None:
    assert refused(entry_date=date(2026, 3, 5)) == {
        "person.entry_date": "Das Datum 05.03.2026 liegt in der Zukunft."}


def test_an_entry_before_birth_is_refused() -> None:
    assert refused(birth_date=date(2000, 1, 1), entry_date=date(1999, 12, 31)) == {
        "person.entry_date": "Die Einreise liegt vor dem Geburtsdatum."}


def test_entry_on_the_day_of_birth_is_possible() -> None:
    _, person = propose(person=make_person_data(birth_date=date(2000, 1, 1), entry_date=date(2000, 1, 1)))
    assert person.entry_date == date(2000, 1, 1)


# -- Dolmetschbedarf ----------------------------------------------------------------------------

def test_a_need_for_interpretation_names_its_language() -> None:
    _, person = propose(person=make_person_data(interpreter_needed=True, interpreter_language=" PRS "))
    assert person.interpreter_needed and person.interpreter_language == "prs"


@pytest.mark.parametrize(("needed", "language", "message"), [
    (True, "", "Bei Dolmetschbedarf die Sprache angeben (ISO 639, z. B. „ar“, „prs“)."),
    (False, "ar", "Eine Dolmetschsprache gibt es nur bei Dolmetschbedarf."),
    (True, "arabisch", "Sprachcode nach ISO 639 (z. B. „ar“, „de“, „prs“) erwartet."),
    (True, "de", "Gedolmetscht wird aus einer anderen Sprache als Deutsch."),
])
def test_interpretation_rules(needed: bool, language: str, message: str) -> None:
    assert refused(interpreter_needed=needed, interpreter_language=language) == {
        "person.interpreter_language": message}


# -- Duldung / Gestattung: end date ---------------------------------------------------------------

def test_the_end_of_a_duldung_is_kept_and_may_not_precede_its_start() -> None:
    _, person = propose(person=make_person_data(residence_valid_until=date(2026, 6, 30)))
    assert person.residence.valid_until == date(2026, 6, 30)
    assert refused(residence_valid_from=date(2026, 4, 1), residence_valid_until=date(2026, 3, 31)) == {
        "person.residence.valid_until": "Das Ende der Gültigkeit liegt vor ihrem Beginn."}


# -- Zugangsweg -----------------------------------------------------------------------------------

def test_the_access_route_is_recorded_on_the_proposal() -> None:
    case, _ = propose(access_route="frauenberatungsstelle")
    assert case.proposal.access_route is AccessRoute.FRAUENBERATUNGSSTELLE
    assert case.proposal.access_route.label == "Frauenberatungsstelle"


def test_a_proposal_without_access_route_records_none() -> None:
    case, _ = propose()
    assert case.proposal.access_route is None


def test_an_unknown_access_route_is_refused() -> None:
    with pytest.raises(InvalidArgument) as error:
        propose(access_route="nachbarschaft")
    assert list(violations(error)) == ["access_route"]


def test_every_access_route_of_the_brief_has_a_german_label() -> None:
    assert {r.label for r in AccessRoute} >= {
        "Frauenberatungsstelle", "Jobcenter", "Ausländerbehörde", "Schule", "Jugendamt", "Sozialamt",
        "Beratungsstelle/Migrationsberatung (MBE/JMD)", "Träger", "Selbstmelder*in"}


# -- the brief ------------------------------------------------------------------------------------

def test_the_brief_carries_kommune_gender_and_access_route_but_no_entry_date() -> None:
    case, person = propose(access_route="jobcenter",
                           person=make_person_data(gender="weiblich", entry_date=date(2016, 1, 1),
                                                   interpreter_needed=True, interpreter_language="ar",
                                                   **HILDEN))
    brief = build_brief(case, person, TODAY)
    assert brief.home_kommune == Kommune("05158016", "Hilden")
    assert brief.gender is Gender.WEIBLICH and brief.access_route is AccessRoute.JOBCENTER
    assert not hasattr(brief, "entry_date") and not hasattr(brief, "interpreter_language")
