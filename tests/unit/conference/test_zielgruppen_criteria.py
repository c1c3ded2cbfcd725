"""What the Lenkungsgruppe decides about Zielgruppen since issue 14: Geschlecht and Zugangsweg
(HSK), the Beschluss's age words with their reading, stated as birthdays, legal bases and
Ostthrakien's provinces as choices. Checked in the domain, through the request mapper, and
through the service on the fake up to the ZielgruppenDefined event the case services receive."""

from __future__ import annotations

import pytest

from kim.common.v1 import types_pb2 as common
from kim.conference.v1 import types_pb2 as types
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
)
from services.conference.application import VorlageDraft
from services.conference.contracts import catalogue as catalogue_message
from services.conference.domain import events as ev
from services.conference.domain.vocabulary import ResidenceStatusKind, VorlageKind
from services.conference.domain.zielgruppen import CountryRule, ZielgruppeDefinition, validate_definitions
from services.conference.messages import definitions_from
from tests.unit.conference.factories import KI
from tests.unit.conference.service_fixtures import DUE, adopt, on_fake

HSK = (
    ZielgruppeDefinition("frauen_fbs", "Frauen in der Frauenberatungsstelle", genders=(Gender.WEIBLICH,),
                         access_routes=(AccessRoute.FRAUENBERATUNGSSTELLE,)),
    ZielgruppeDefinition("ue27", "Geduldete älter als 27", older_than=27,
                         age_reading=AgeReading.COMPLETED_YEARS,
                         residence_kinds=(ResidenceStatusKind.DULDUNG,)),
    ZielgruppeDefinition("bleiberecht", "Bleiberecht",
                         bases=(LegalBasis.AUFENTHG_25A, LegalBasis.AUFENTHG_25B)),
    ZielgruppeDefinition("soe", "Süd-Ost-Europa", countries_of_origin=(
        CountryRule("AL"), CountryRule("TR", regions=EAST_THRACE))),
)


def test_the_hsk_catalogue_is_valid_and_states_its_age_boundary_in_birthdays() -> None:
    validate_definitions(HSK)
    assert HSK[1].age_words == "ab dem 28. Geburtstag"
    years_of_life = ZielgruppeDefinition("j", "J", up_to=27, age_reading=AgeReading.YEARS_OF_LIFE)
    assert years_of_life.age_words == "bis zum Tag vor dem 27. Geburtstag"


def test_the_beschluss_words_need_a_reading_and_regions_their_country() -> None:
    bad = (
        ZielgruppeDefinition("a", "A", older_than=27),
        ZielgruppeDefinition("b", "B", countries_of_origin=(
            CountryRule("GR", regions=(OriginRegion.TR_EDIRNE,)),)),
        ZielgruppeDefinition("c", "C", countries_of_origin=(CountryRule("TR", region="Kappadokien"),)),
        ZielgruppeDefinition("d", "D", legal_bases=("§ 25 b SGB II",)),
    )
    with pytest.raises(InvalidArgument) as error:
        validate_definitions(bad)
    assert {v.field for v in error.value.violations} == {
        "zielgruppen[0].age_reading", "zielgruppen[1].countries_of_origin[0].regions",
        "zielgruppen[2].countries_of_origin[0].region", "zielgruppen[3].legal_bases[0]"}


def test_old_free_text_criteria_are_still_accepted_when_they_name_the_list() -> None:
    validate_definitions((ZielgruppeDefinition("x", "X", legal_bases=("§ 25 a AufenthG",),
                                               countries_of_origin=(CountryRule("TR", "Ost-Thrakien"),)),))


def test_the_request_mapper_reads_every_new_field_and_refuses_unknown_numbers() -> None:
    request = types.ZielgruppeDefinition(
        key="frauen_fbs", name="Frauen", genders=[common.GENDER_WEIBLICH],
        access_routes=[common.ACCESS_ROUTE_FRAUENBERATUNGSSTELLE], older_than=27,
        age_reading=common.AGE_READING_YEARS_OF_LIFE, bases=[common.LEGAL_BASIS_AUFENTHG_25B],
        countries_of_origin=[types.CountryRule(country="TR", regions=[common.ORIGIN_REGION_TR_EDIRNE])])
    v = Violations()
    [d] = definitions_from([request], v, "zielgruppen")
    assert not v.items
    assert (d.genders, d.access_routes, d.older_than, d.age_reading, d.bases, d.legal_basis_reading) == (
        (Gender.WEIBLICH,), (AccessRoute.FRAUENBERATUNGSSTELLE,), 27, AgeReading.YEARS_OF_LIFE,
        (LegalBasis.AUFENTHG_25B,), LegalBasisReading.INTENDED)
    assert d.countries_of_origin[0].regions == (OriginRegion.TR_EDIRNE,)
    definitions_from([types.ZielgruppeDefinition(key="x", name="X", genders=[99])], v, "zielgruppen")
    assert [i.field for i in v.items] == ["zielgruppen[0].genders[0]"]


def test_an_adopted_catalogue_reaches_the_event_with_every_criterion_and_its_words() -> None:
    fake = on_fake()
    draft = VorlageDraft(title="Zielgruppen HSK", proposed_wording="Die Zielgruppen sind festgelegt.",
                         kind=VorlageKind.ZIELGRUPPEN, zielgruppen=HSK, responsible_org=KI,
                         responsible_person="koord-1", due_on=DUE)
    beschluss = adopt(fake, draft)
    [defined] = [e.event for e in fake.repository.events if isinstance(e.event, ev.ZielgruppenDefined)]
    assert defined.catalogue.definitions == HSK
    message = catalogue_message(defined.catalogue)
    frauen, ue27, bleiberecht, soe = message.definitions
    assert list(frauen.genders) == [common.GENDER_WEIBLICH]
    assert list(frauen.access_routes) == [common.ACCESS_ROUTE_FRAUENBERATUNGSSTELLE]
    assert (ue27.older_than, ue27.age_reading, ue27.age_words) == (
        27, common.AGE_READING_COMPLETED_YEARS, "ab dem 28. Geburtstag")
    assert bleiberecht.legal_basis_reading == common.LEGAL_BASIS_READING_INTENDED
    assert len(soe.countries_of_origin[1].regions) == 5
    assert beschluss.zielgruppen is not None and beschluss.zielgruppen.version == 2
