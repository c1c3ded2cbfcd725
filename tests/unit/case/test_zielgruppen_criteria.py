"""The Zielgruppen criteria of issue 14, each rule at its boundary: the Beschluss's age words in
both readings (birthdays and 29 February, with hypothesis), the programme hint when a person
misses by age alone, Ostthrakien by province, and the § 25a/§ 25b conditions (Hilden and RBK
seeds, AufenthG)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest
from case_factories import TODAY, birth_date_for_age, make_person_data
from hypothesis import example, given, settings, strategies as st

from kimnetz.errors import InvalidArgument
from kimnetz.validation import Violations
from kimnetz.vocabulary import (
    EAST_THRACE,
    AccessRoute,
    AgeReading,
    Gender,
    LegalBasis,
    LegalBasisReading,
    OriginRegion,
    age_boundary_words,
    origin_regions_from_text,
)
from services.case.domain.person import Person, ResidenceStatus, age_on, birthday, build_person
from services.case.domain.vocabulary import ResidenceStatusKind
from services.case.domain.zielgruppen import (
    METTMANN_V1,
    CountryRule,
    ZielgruppeDefinition,
    ZielgruppenCatalogue,
    check_eligibility,
    validate_catalogue,
)

K = ResidenceStatusKind
B = LegalBasis


def person(**overrides: object) -> Person:
    base = Person(
        case_id="c1", given_name="A", family_name="B", birth_date=birth_date_for_age(30),
        nationalities=("AF",), country_of_origin="AF",
        residence=ResidenceStatus(K.DULDUNG, basis=B.AUFENTHG_60A),
    )
    return replace(base, **overrides)  # type: ignore[arg-type]


def catalogue(*definitions: ZielgruppeDefinition) -> ZielgruppenCatalogue:
    return ZielgruppenCatalogue(2, date(2026, 1, 20), "LG 2026/1", definitions)


def mismatch(p: Person, key: str, cat: ZielgruppenCatalogue = METTMANN_V1, on: date = TODAY):  # type: ignore[no-untyped-def]
    result = check_eligibility(p, cat, on)
    assert key not in result.matched
    return next(m for m in result.mismatches if m.key == key)


# -- age words and readings -----------------------------------------------------------------------

def older_than_27(reading: AgeReading) -> ZielgruppeDefinition:
    return ZielgruppeDefinition("ue27", "Geduldete älter als 27", older_than=27, age_reading=reading,
                                residence_kinds=(K.DULDUNG, K.AUFENTHALTSGESTATTUNG))


def up_to_27(reading: AgeReading) -> ZielgruppeDefinition:
    return ZielgruppeDefinition("bis27", "Junge bis 27", up_to=27, age_reading=reading)


def test_the_catalogue_states_each_boundary_in_words_a_coordinator_checks() -> None:
    assert older_than_27(AgeReading.COMPLETED_YEARS).age_words == "ab dem 28. Geburtstag"
    assert older_than_27(AgeReading.YEARS_OF_LIFE).age_words == "ab dem 27. Geburtstag"
    assert up_to_27(AgeReading.COMPLETED_YEARS).age_words == "bis zum Tag vor dem 28. Geburtstag"
    assert up_to_27(AgeReading.YEARS_OF_LIFE).age_words == "bis zum Tag vor dem 27. Geburtstag"
    assert age_boundary_words(18, 27) == "ab dem 18. Geburtstag bis zum Tag vor dem 28. Geburtstag"
    assert METTMANN_V1.definition("geduldete_gestattete_ueber_27").age_words == "ab dem 28. Geburtstag"  # type: ignore[union-attr]


birth_dates = st.dates(min_value=date(1950, 1, 1), max_value=date(2010, 12, 31))
check_days = st.dates(min_value=date(2000, 1, 1), max_value=date(2060, 12, 31))


@given(birth_dates, check_days, st.sampled_from(list(AgeReading)))
@example(date(2000, 2, 29), date(2028, 3, 1), AgeReading.COMPLETED_YEARS)
@example(date(2000, 2, 29), date(2027, 2, 28), AgeReading.YEARS_OF_LIFE)
@example(date(2000, 2, 29), date(2027, 3, 1), AgeReading.YEARS_OF_LIFE)
@settings(max_examples=300, deadline=None)
def test_older_than_27_starts_on_the_birthday_its_words_name(
        birth: date, on: date, reading: AgeReading) -> None:
    definition = older_than_27(reading)
    first = 28 if reading is AgeReading.COMPLETED_YEARS else 27
    assert definition.age_words == f"ab dem {first}. Geburtstag"
    p = person(birth_date=birth)
    inside = not definition.check(p, on)
    assert inside == (on >= birthday(birth, first))


@given(birth_dates, check_days, st.sampled_from(list(AgeReading)))
@example(date(2000, 2, 29), date(2028, 2, 29), AgeReading.COMPLETED_YEARS)
@example(date(2000, 2, 29), date(2027, 2, 28), AgeReading.YEARS_OF_LIFE)
@settings(max_examples=300, deadline=None)
def test_up_to_27_ends_the_day_before_the_birthday_its_words_name(
        birth: date, on: date, reading: AgeReading) -> None:
    definition = up_to_27(reading)
    end = 28 if reading is AgeReading.COMPLETED_YEARS else 27
    assert definition.age_words == f"bis zum Tag vor dem {end}. Geburtstag"
    inside = not definition.check(person(birth_date=birth), on)
    assert inside == (on < birthday(birth, end))


@given(birth_dates, st.integers(min_value=1, max_value=80))
def test_a_birthday_is_the_day_the_completed_age_turns(birth: date, years: int) -> None:
    day = birthday(birth, years)
    assert age_on(birth, day) == years
    assert age_on(birth, day - timedelta(days=1)) == years - 1


def test_a_27_year_old_geduldete_is_in_or_out_by_the_kreis_reading_of_its_beschluss() -> None:
    p = person(birth_date=birth_date_for_age(27))
    assert check_eligibility(p, catalogue(older_than_27(AgeReading.YEARS_OF_LIFE)), TODAY).eligible
    m = mismatch(p, "ue27", catalogue(older_than_27(AgeReading.COMPLETED_YEARS)))
    assert m.reasons == ("Alter 27 Jahre; die Zielgruppe gilt ab dem 28. Geburtstag („älter als 27 "
                         "Jahre“, gelesen als vollendete Lebensjahre (Lebensalter)).",)


def test_a_definition_with_the_beschluss_words_needs_a_reading() -> None:
    bad = catalogue(ZielgruppeDefinition("x", "X", older_than=27))
    with pytest.raises(InvalidArgument) as error:
        validate_catalogue(bad)
    assert "definitions[0].age_reading" in {v.field for v in error.value.violations}


# -- programme hints ------------------------------------------------------------------------------

def test_a_27_year_old_geduldete_who_misses_by_age_alone_is_pointed_to_durchstarten_and_the_jmd() -> None:
    m = mismatch(person(birth_date=birth_date_for_age(27)), "geduldete_gestattete_ueber_27")
    assert len(m.hints) == 2
    assert "Durchstarten in Ausbildung und Arbeit" in m.hints[0]
    assert "ab dem 18. Geburtstag bis zum Tag vor dem 28. Geburtstag" in m.hints[0]
    assert "Jugendmigrationsdienst" in m.hints[1]
    assert "Hinweis: " in check_eligibility(person(birth_date=birth_date_for_age(27)),
                                            METTMANN_V1, TODAY).summary(METTMANN_V1)


def test_a_person_over_27_who_misses_an_age_limit_is_pointed_to_the_mbe() -> None:
    m = mismatch(person(birth_date=birth_date_for_age(40)), "bis27",
                 catalogue(up_to_27(AgeReading.COMPLETED_YEARS)))
    assert len(m.hints) == 1 and "Migrationsberatung für erwachsene Zuwanderer (MBE)" in m.hints[0]
    assert "ab dem 28. Geburtstag" in m.hints[0]


def test_no_hint_when_more_than_the_age_is_missing() -> None:
    p = person(birth_date=birth_date_for_age(27), residence=ResidenceStatus(K.AUFENTHALTSERLAUBNIS,
                                                                            basis=B.AUFENTHG_25_2))
    m = mismatch(p, "geduldete_gestattete_ueber_27")
    assert len(m.reasons) == 2 and m.hints == ()


def test_durchstarten_is_only_for_geduldete_and_gestattete() -> None:
    p = person(birth_date=birth_date_for_age(40), residence=ResidenceStatus(K.AUFENTHALTSERLAUBNIS,
                                                                            basis=B.AUFENTHG_25_2))
    m = mismatch(p, "jung", catalogue(ZielgruppeDefinition("jung", "Junge", max_age=25)))
    assert not any("Durchstarten" in h for h in m.hints)


# -- Türkei nur Ostthrakien -----------------------------------------------------------------------

@pytest.mark.parametrize("region", EAST_THRACE, ids=lambda r: r.value)
def test_every_province_of_ostthrakien_is_in_suedosteuropa(region: OriginRegion) -> None:
    p = person(country_of_origin="TR", origin_region=region)
    assert "suedosteuropa" in check_eligibility(p, METTMANN_V1, TODAY).matched


@pytest.mark.parametrize("text", ["Ost-Thrakien", "Ostthrakien", "Edirne", "kirklareli", "Tekirdağ",
                                  "Istanbul (europäischer Teil)"])
def test_old_free_text_regions_are_read_tolerantly(text: str) -> None:
    p = person(country_of_origin="TR", region_of_origin=text)
    assert "suedosteuropa" in check_eligibility(p, METTMANN_V1, TODAY).matched


@pytest.mark.parametrize("region", [OriginRegion.TR_ANATOLIA, OriginRegion.TR_ISTANBUL_ASIA, None])
def test_the_refusal_says_which_part_of_turkey_counts(region: OriginRegion | None) -> None:
    m = mismatch(person(country_of_origin="TR", origin_region=region), "suedosteuropa")
    [reason] = m.reasons
    assert reason.startswith("Aus dem Herkunftsland Türkei zählt nur Ostthrakien (europäischer Teil: "
                             "Edirne, Kırklareli, Tekirdağ")
    assert "gehört nicht zu den Ländern" not in reason


def test_istanbul_without_its_part_is_not_enough() -> None:
    assert len(origin_regions_from_text("Istanbul")) == 2
    mismatch(person(country_of_origin="TR", region_of_origin="Istanbul"), "suedosteuropa")


def test_a_region_outside_the_country_of_origin_is_refused() -> None:
    v = Violations()
    assert build_person("c", make_person_data(country_of_origin="SY", origin_region="tr_edirne"),
                        TODAY, v) is None
    assert [i.field for i in v.items] == ["person.origin_region"]


def test_a_catalogue_region_outside_its_country_is_refused() -> None:
    bad = catalogue(ZielgruppeDefinition("x", "X", countries_of_origin=(
        CountryRule("GR", regions=(OriginRegion.TR_EDIRNE,)),)))
    with pytest.raises(InvalidArgument):
        validate_catalogue(bad)


# -- legal bases as a choice ----------------------------------------------------------------------

@pytest.mark.parametrize(("text", "basis"), [
    ("§ 25 a AufenthG", B.AUFENTHG_25A), ("§25a", B.AUFENTHG_25A),
    ("§ 25a Abs. 2 AufenthG", B.AUFENTHG_25A_2), ("§ 25 Abs. 2 AufenthG", B.AUFENTHG_25_2),
    ("§ 25 b AufenthG", B.AUFENTHG_25B), ("§ 55 AsylVfG", B.ASYLG_55),
    ("§ 60 c AufenthG", B.AUFENTHG_60C), ("§ 24 Abs. 1 AufenthG", B.AUFENTHG_24),
])
def test_old_free_text_bases_are_read_tolerantly(text: str, basis: LegalBasis) -> None:
    assert LegalBasis.from_text(text) is basis


@pytest.mark.parametrize("text", ["§ 25 AufenthG", "Paragraph 25", "Duldung", "§ 25b SGB II"])
def test_text_that_names_no_single_basis_is_not_guessed(text: str) -> None:
    assert LegalBasis.from_text(text) is None


def test_a_basis_and_the_status_kind_must_agree() -> None:
    v = Violations()
    data = make_person_data(residence_kind="aufenthaltserlaubnis", legal_basis="", basis="aufenthg_60c")
    assert build_person("c", data, TODAY, v) is None
    assert "„Duldung“" in v.items[0].description and v.items[0].field == "person.residence.basis"


def test_a_chosen_basis_is_stored_with_its_label_for_older_readers() -> None:
    v = Violations()
    data = make_person_data(residence_kind="duldung", legal_basis="", basis="aufenthg_60a",
                            prospective_basis="aufenthg_25b")
    built = build_person("c", data, TODAY, v)
    assert built is not None and not v.items
    assert built.residence.legal_basis == "§ 60a AufenthG"
    assert built.residence.intended is B.AUFENTHG_25B


def test_25_a_with_a_space_is_25a_not_25() -> None:
    v = Violations()
    data = make_person_data(residence_kind="duldung", legal_basis="§ 60a AufenthG",
                            prospective_legal_basis="§ 25 a AufenthG", birth_date=birth_date_for_age(20))
    built = build_person("c", data, TODAY, v)
    assert built is not None and built.residence.prospective_basis is B.AUFENTHG_25A
    assert "bleiberecht_25a_25b" in check_eligibility(built, METTMANN_V1, TODAY).matched


# -- § 25a / § 25b conditions ---------------------------------------------------------------------

def intends(basis: LegalBasis, age: int = 24, kind: ResidenceStatusKind = K.DULDUNG,
            held: LegalBasis | None = B.AUFENTHG_60A, applied: date | None = None) -> Person:
    return person(birth_date=birth_date_for_age(age), residence=ResidenceStatus(
        kind, basis=held, prospective_basis=basis, prospective_applied_on=applied))


def test_a_holder_of_25b_is_not_entitled_to_improve_towards_25b() -> None:
    p = person(residence=ResidenceStatus(K.AUFENTHALTSERLAUBNIS, basis=B.AUFENTHG_25B))
    [reason] = mismatch(p, "bleiberecht_25a_25b").reasons
    assert "Besitzt bereits einen Aufenthaltstitel nach § 25b AufenthG" in reason


def test_a_holder_of_25a_on_the_way_to_25b_is_improving() -> None:
    p = intends(B.AUFENTHG_25B, kind=K.DULDUNG, held=B.AUFENTHG_60A)
    assert "bleiberecht_25a_25b" in check_eligibility(p, METTMANN_V1, TODAY).matched


def test_an_intended_25a_at_35_is_refused_with_the_age_limit_of_the_aufenthg() -> None:
    [reason] = mismatch(intends(B.AUFENTHG_25A, age=35), "bleiberecht_25a_25b").reasons
    assert reason.startswith("Für § 25a Abs. 1 AufenthG muss der Antrag vor dem 27. Geburtstag "
                             "gestellt werden (§ 25a Abs. 1 Satz 1 Nr. 3 AufenthG)")
    assert "im Alter von 35 Jahren" in reason


def test_25a_parents_under_absatz_2_have_no_age_limit() -> None:
    p = intends(B.AUFENTHG_25A_2, age=35)
    assert "bleiberecht_25a_25b" in check_eligibility(p, METTMANN_V1, TODAY).matched


@given(birth_dates, check_days)
@example(date(2000, 2, 29), date(2027, 2, 28))
@example(date(2000, 2, 29), date(2027, 3, 1))
@settings(max_examples=300, deadline=None)
def test_25a_requires_the_application_before_the_27th_birthday(birth: date, applied: date) -> None:
    on = max(applied, birth)
    p = person(birth_date=birth, residence=ResidenceStatus(
        K.DULDUNG, basis=B.AUFENTHG_60A, prospective_basis=B.AUFENTHG_25A,
        prospective_applied_on=on))
    reasons = ZielgruppeDefinition("b", "B", bases=(B.AUFENTHG_25A,)).check(p, on + timedelta(days=400))
    assert (not reasons) == (age_on(birth, on) < 27)


def test_without_an_application_the_day_of_the_check_counts() -> None:
    p = intends(B.AUFENTHG_25A, age=26)
    assert "bleiberecht_25a_25b" in check_eligibility(p, METTMANN_V1, TODAY).matched
    assert "bleiberecht_25a_25b" not in check_eligibility(p, METTMANN_V1, TODAY + timedelta(days=366)).matched


def test_25b_requires_a_duldung_or_104c() -> None:
    [reason] = mismatch(intends(B.AUFENTHG_25B, kind=K.AUFENTHALTSGESTATTUNG, held=B.ASYLG_55),
                        "bleiberecht_25a_25b").reasons
    assert "setzt eine Duldung oder eine Aufenthaltserlaubnis nach § 104c AufenthG voraus" in reason
    p = intends(B.AUFENTHG_25B, kind=K.AUFENTHALTSERLAUBNIS, held=B.AUFENTHG_104C)
    assert "bleiberecht_25a_25b" in check_eligibility(p, METTMANN_V1, TODAY).matched


def test_a_held_reading_matches_holders() -> None:
    schutz = catalogue(ZielgruppeDefinition("schutz", "Vorübergehender Schutz", bases=(B.AUFENTHG_24,),
                                            legal_basis_reading=LegalBasisReading.HELD))
    holder = person(residence=ResidenceStatus(K.AUFENTHALTSERLAUBNIS, "§ 24 Abs. 1 AufenthG"))
    assert check_eligibility(holder, schutz, TODAY).matched == ("schutz",)
    assert "Rechtsgrundlage des Aufenthalts" in mismatch(person(), "schutz", schutz).reasons[0]


def test_an_old_catalogue_text_without_absatz_covers_every_absatz() -> None:
    old = ZielgruppeDefinition("b", "B", legal_bases=("§ 25a AufenthG",))
    assert old.all_bases == (B.AUFENTHG_25A, B.AUFENTHG_25A_2)


# -- Geschlecht and Zugangsweg (HSK: "Frauen in der Frauenberatungsstelle") ----------------------

FRAUEN_FBS = ZielgruppeDefinition(
    "frauen_fbs", "Frauen in der Frauenberatungsstelle", genders=(Gender.WEIBLICH,),
    access_routes=(AccessRoute.FRAUENBERATUNGSSTELLE,))


def test_a_woman_proposed_by_the_frauenberatungsstelle_is_in_the_hsk_zielgruppe() -> None:
    p = person(gender=Gender.WEIBLICH)
    result = check_eligibility(p, catalogue(FRAUEN_FBS), TODAY, AccessRoute.FRAUENBERATUNGSSTELLE)
    assert result.matched == ("frauen_fbs",)
    assert result.summary() == "Zielgruppe: Frauen in der Frauenberatungsstelle"


@pytest.mark.parametrize(("gender", "route", "reasons"), [
    (Gender.MAENNLICH, AccessRoute.FRAUENBERATUNGSSTELLE,
     ("Geschlecht „männlich“; die Zielgruppe umfasst: weiblich.",)),
    (Gender.OHNE_ANGABE, AccessRoute.FRAUENBERATUNGSSTELLE,
     ("Geschlecht nicht angegeben; die Zielgruppe umfasst: weiblich.",)),
    (Gender.WEIBLICH, AccessRoute.JOBCENTER,
     ("Zugangsweg „Jobcenter“; die Zielgruppe umfasst den Zugang über: Frauenberatungsstelle.",)),
    (Gender.WEIBLICH, None,
     ("Zugangsweg nicht angegeben; die Zielgruppe umfasst den Zugang über: Frauenberatungsstelle.",)),
])
def test_gender_and_access_route_are_refused_with_german_reasons(
        gender: Gender, route: AccessRoute | None, reasons: tuple[str, ...]) -> None:
    result = check_eligibility(person(gender=gender), catalogue(FRAUEN_FBS), TODAY, route)
    assert not result.eligible
    assert result.mismatches[0].reasons == reasons and result.mismatches[0].hints == ()


def test_a_catalogue_may_name_only_gender_or_only_access_route() -> None:
    validate_catalogue(catalogue(ZielgruppeDefinition("f", "Frauen", genders=(Gender.WEIBLICH,)),
                                 ZielgruppeDefinition("s", "Über die Schule",
                                                      access_routes=(AccessRoute.SCHULE,))))
