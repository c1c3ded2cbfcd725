"""Eligibility against the default Zielgruppen (Kreis Mettmann, version 1) and their edges."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest
from case_factories import TODAY, birth_date_for_age, propose

from services.case.domain.person import Person, ResidenceStatus
from services.case.domain.vocabulary import ResidenceStatusKind
from services.case.domain.zielgruppen import (
    METTMANN_V1,
    SOUTH_EAST_EUROPE,
    CountryRule,
    ZielgruppeDefinition,
    ZielgruppenCatalogue,
    check_eligibility,
    validate_catalogue,
)

K = ResidenceStatusKind


def person(**overrides: object) -> Person:
    base = Person(
        case_id="c1", given_name="A", family_name="B", birth_date=birth_date_for_age(30),
        nationalities=("AF",), country_of_origin="AF",
        residence=ResidenceStatus(K.AUFENTHALTSERLAUBNIS, "§ 25 Abs. 2 AufenthG"),
    )
    return replace(base, **overrides)  # type: ignore[arg-type]


def matched(p: Person, on: date = TODAY) -> tuple[str, ...]:
    return check_eligibility(p, METTMANN_V1, on).matched


def test_default_catalogue_is_version_1_with_mettmanns_four_zielgruppen() -> None:
    assert METTMANN_V1.version == 1
    assert [d.key for d in METTMANN_V1.definitions] == [
        "umf", "bleiberecht_25a_25b", "geduldete_gestattete_ueber_27", "suedosteuropa"]
    validate_catalogue(METTMANN_V1)


def test_person_in_no_zielgruppe_gets_a_reason_per_definition() -> None:
    result = check_eligibility(person(), METTMANN_V1, TODAY)
    assert not result.eligible and result.primary == ""
    assert {m.key for m in result.mismatches} == {d.key for d in METTMANN_V1.definitions}
    reasons = dict((m.key, " ".join(m.reasons)) for m in result.mismatches)
    assert "Afghanistan" in reasons["suedosteuropa"]
    assert "Aufenthaltserlaubnis" in reasons["geduldete_gestattete_ueber_27"]
    assert "Keine Zielgruppe trifft zu" in result.summary(METTMANN_V1)


# -- Geduldete und Gestattete älter als 27 -------------------------------------------------------

@pytest.mark.parametrize("kind", [K.DULDUNG, K.AUFENTHALTSGESTATTUNG])
def test_exactly_27_is_not_older_than_27(kind: ResidenceStatusKind) -> None:
    p = person(birth_date=birth_date_for_age(27), residence=ResidenceStatus(kind))
    assert "geduldete_gestattete_ueber_27" not in matched(p)


@pytest.mark.parametrize("kind", [K.DULDUNG, K.AUFENTHALTSGESTATTUNG])
def test_day_before_28th_birthday_is_still_27(kind: ResidenceStatusKind) -> None:
    p = person(birth_date=birth_date_for_age(28) + timedelta(days=1), residence=ResidenceStatus(kind))
    assert p.age_on(TODAY) == 27
    assert "geduldete_gestattete_ueber_27" not in matched(p)


@pytest.mark.parametrize("kind", [K.DULDUNG, K.AUFENTHALTSGESTATTUNG])
def test_on_the_28th_birthday_a_geduldete_is_older_than_27(kind: ResidenceStatusKind) -> None:
    p = person(birth_date=birth_date_for_age(28), residence=ResidenceStatus(kind))
    assert matched(p) == ("geduldete_gestattete_ueber_27",)


def test_older_than_27_with_a_residence_permit_does_not_match() -> None:
    assert "geduldete_gestattete_ueber_27" not in matched(person(birth_date=birth_date_for_age(45)))


def test_born_on_29_february_turns_a_year_older_on_1_march_in_a_common_year() -> None:
    from services.case.domain.person import age_on
    assert age_on(date(2000, 2, 29), date(2027, 2, 28)) == 26
    assert age_on(date(2000, 2, 29), date(2027, 3, 1)) == 27
    assert age_on(date(2000, 2, 29), date(2028, 2, 29)) == 28


# -- §§ 25a, 25b AufenthG -------------------------------------------------------------------------

@pytest.mark.parametrize("basis", ["§ 25a AufenthG", "§25b AufenthG", "§ 25a Abs. 1 AufenthG"])
def test_holding_25a_or_25b_is_not_improving_the_status_towards_it(basis: str) -> None:
    # Changed with issue 14: the Zielgruppe is "berechtigt, ihren Aufenthaltsstatus zu
    # verbessern" (Hilden seed); who holds the title already is not on that path.
    p = person(residence=ResidenceStatus(K.AUFENTHALTSERLAUBNIS, basis))
    result = check_eligibility(p, METTMANN_V1, TODAY)
    assert "bleiberecht_25a_25b" not in result.matched
    reasons = " ".join(next(m for m in result.mismatches if m.key == "bleiberecht_25a_25b").reasons)
    assert "Besitzt bereits einen Aufenthaltstitel nach § 25" in reasons


def test_geduldete_with_prospective_25b_matches_the_bleiberecht_zielgruppe() -> None:
    p = person(birth_date=birth_date_for_age(24),
               residence=ResidenceStatus(K.DULDUNG, "§ 60a AufenthG",
                                         prospective_legal_basis="§ 25b AufenthG"))
    assert matched(p) == ("bleiberecht_25a_25b",)


def test_paragraph_25_other_absatz_is_not_25a() -> None:
    p = person(residence=ResidenceStatus(K.AUFENTHALTSERLAUBNIS, "§ 25 Abs. 5 AufenthG"))
    assert "bleiberecht_25a_25b" not in matched(p)


# -- Süd-Ost-Europa -------------------------------------------------------------------------------

@pytest.mark.parametrize("rule", SOUTH_EAST_EUROPE, ids=lambda r: r.label)
def test_every_listed_south_east_european_country_matches(rule: CountryRule) -> None:
    p = person(country_of_origin=rule.country, origin_region=rule.regions[0] if rule.regions else None)
    assert "suedosteuropa" in matched(p)


def test_south_east_europe_list_has_the_sixteen_entries_of_the_decision() -> None:
    assert len(SOUTH_EAST_EUROPE) == 16
    assert {r.country for r in SOUTH_EAST_EUROPE} == {
        "AL", "BA", "BG", "GR", "XK", "HR", "MD", "ME", "MK", "RO", "RS", "SI", "TR", "CY", "HU"}


@pytest.mark.parametrize("country", ["UA", "PL", "AF", "SY"])
def test_a_country_not_in_the_list_does_not_match(country: str) -> None:
    assert "suedosteuropa" not in matched(person(country_of_origin=country))


def test_turkey_counts_only_for_east_thrace() -> None:
    assert "suedosteuropa" not in matched(person(country_of_origin="TR", region_of_origin="Anatolien"))
    assert "suedosteuropa" not in matched(person(country_of_origin="TR"))
    assert "suedosteuropa" in matched(person(country_of_origin="TR", region_of_origin=" ostthrakien "))


# -- UMF ------------------------------------------------------------------------------------------

def test_umf_received_at_17_matches_and_still_matches_as_an_adult() -> None:
    birth = date(2007, 5, 1)
    p = person(birth_date=birth, received_as_umf=True, umf_received_on=date(2024, 4, 30))
    assert "umf" in matched(p)
    assert p.age_on(TODAY) == 18


def test_umf_received_on_the_18th_birthday_does_not_match() -> None:
    p = person(birth_date=date(2006, 5, 1), received_as_umf=True, umf_received_on=date(2024, 5, 1))
    result = check_eligibility(p, METTMANN_V1, TODAY)
    assert "umf" not in result.matched
    assert any("bereits volljährig" in r for m in result.mismatches if m.key == "umf" for r in m.reasons)


def test_without_umf_flag_a_minor_is_not_in_the_umf_zielgruppe() -> None:
    assert "umf" not in matched(person(birth_date=birth_date_for_age(16)))


# -- several, versions ----------------------------------------------------------------------------

def test_a_person_in_two_zielgruppen_records_both_and_counts_under_the_first() -> None:
    p = person(birth_date=birth_date_for_age(35), country_of_origin="XK",
               residence=ResidenceStatus(K.DULDUNG, "§ 60a AufenthG"))
    result = check_eligibility(p, METTMANN_V1, TODAY)
    assert result.matched == ("geduldete_gestattete_ueber_27", "suedosteuropa")
    assert result.primary == "geduldete_gestattete_ueber_27"


def test_case_records_the_catalogue_version_it_was_checked_against() -> None:
    frauen = ZielgruppenCatalogue(
        version=2, decided_on=date(2026, 1, 20), decision_reference="LG 2026/1",
        definitions=(ZielgruppeDefinition("frauen_25plus", "Frauen ab 25", min_age=25),),
    )
    case, _ = propose(catalogue=frauen)
    assert case.eligibility.catalogue_version == 2
    assert case.eligibility.matched == ("frauen_25plus",)
    [event] = case.pending_events
    assert event.zielgruppen_version == 2 and event.eligible  # type: ignore[attr-defined]


def test_an_ineligible_proposal_is_still_recorded_with_its_reasons() -> None:
    from case_factories import make_person_data
    data = make_person_data(residence_kind="niederlassungserlaubnis", legal_basis="§ 9 AufenthG")
    case, _ = propose(person=data)
    assert not case.eligibility.eligible
    assert len(case.eligibility.mismatches) == 4


def test_catalogue_without_criteria_or_with_duplicate_keys_is_refused() -> None:
    from kimnetz.errors import InvalidArgument
    definitions = (ZielgruppeDefinition("a", "A"), ZielgruppeDefinition("a", "B", min_age=1))
    bad = ZielgruppenCatalogue(3, None, "x", definitions)
    with pytest.raises(InvalidArgument) as error:
        validate_catalogue(bad)
    fields = {v.field for v in error.value.violations}
    assert {"definitions[0]", "definitions[1].key"} <= fields


# -- the summary users read names every Zielgruppe -----------------------------------------------

FRAUEN = ZielgruppenCatalogue(
    version=2, decided_on=date(2025, 3, 1), decision_reference="LG 2025/03",
    definitions=(
        ZielgruppeDefinition("frauen_beratung", "Frauen in der Beratung", min_age=25),
        ZielgruppeDefinition("aeltere", "Ältere ab 60", min_age=60),
    ),
)


def test_summary_of_a_received_catalogue_names_the_zielgruppe_not_its_key() -> None:
    # The api writes the summary without the catalogue at hand (contract.eligibility_message):
    # the names must come from the check itself.
    case, _ = propose(catalogue=FRAUEN)
    assert case.eligibility.matched == ("frauen_beratung",)
    assert case.eligibility.summary() == "Zielgruppe: Frauen in der Beratung"


def test_summary_without_a_match_names_each_zielgruppe_of_a_received_catalogue() -> None:
    result = check_eligibility(person(birth_date=birth_date_for_age(24)), FRAUEN, TODAY)
    summary = result.summary()
    assert summary.startswith("Keine Zielgruppe trifft zu: Frauen in der Beratung: ")
    assert "Ältere ab 60: " in summary
    assert "frauen_beratung" not in summary and "aeltere" not in summary


def test_summary_of_a_result_stored_without_names_falls_back_to_the_shipped_catalogue() -> None:
    # Results stored before names were recorded carry keys only; version 1 can still be named.
    checked = check_eligibility(person(residence=ResidenceStatus(K.DULDUNG)), METTMANN_V1, TODAY)
    stored = replace(checked, matched_names=())
    assert stored.matched == ("geduldete_gestattete_ueber_27",)
    assert stored.summary() == "Zielgruppe: Geduldete und Gestattete älter als 27 Jahre"
