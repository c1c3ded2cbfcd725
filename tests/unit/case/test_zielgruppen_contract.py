"""The Zielgruppen catalogue the conference service publishes (`ZielgruppenDefined`) is read by
the case service into the same criteria: Geschlecht, Zugangsweg, the Beschluss's age words with
their reading, legal bases with their reading, Ostthrakien's provinces. An event from a sender
that left the new fields unset (an older node) keeps the Hilden reading of legal bases."""

from __future__ import annotations

from datetime import date

import pytest

from kim.conference.v1 import events_pb2
from kimnetz.vocabulary import (
    EAST_THRACE,
    AccessRoute,
    AgeReading,
    Gender,
    LegalBasis,
    LegalBasisReading,
)
from services.case import inbound
from services.case.domain.zielgruppen import check_eligibility
from services.conference import contracts
from services.conference.domain import zielgruppen as conference
from services.conference.domain.vocabulary import ResidenceStatusKind


def published(*definitions: conference.ZielgruppeDefinition) -> events_pb2.ZielgruppenDefined:
    decided = conference.ZielgruppenCatalogue(4, date(2026, 2, 10), "LG 2026/3", definitions)
    return events_pb2.ZielgruppenDefined(catalogue=contracts.catalogue(decided))


def test_every_new_criterion_arrives_at_the_case_service() -> None:
    received = inbound.catalogue(published(
        conference.ZielgruppeDefinition(
            "frauen_fbs", "Frauen in der Frauenberatungsstelle", genders=(Gender.WEIBLICH,),
            access_routes=(AccessRoute.FRAUENBERATUNGSSTELLE,), older_than=27,
            age_reading=AgeReading.YEARS_OF_LIFE,
            residence_kinds=(ResidenceStatusKind.DULDUNG,)),
        conference.ZielgruppeDefinition(
            "schutz", "Schutz", bases=(LegalBasis.AUFENTHG_24,), legal_basis_reading=LegalBasisReading.HELD,
            countries_of_origin=(conference.CountryRule("TR", regions=EAST_THRACE),)),
    ))
    frauen, schutz = received.definitions
    assert (frauen.genders, frauen.access_routes, frauen.older_than, frauen.age_reading) == (
        (Gender.WEIBLICH,), (AccessRoute.FRAUENBERATUNGSSTELLE,), 27, AgeReading.YEARS_OF_LIFE)
    assert frauen.age_words == "ab dem 27. Geburtstag"
    assert (schutz.bases, schutz.legal_basis_reading) == ((LegalBasis.AUFENTHG_24,), LegalBasisReading.HELD)
    assert schutz.countries_of_origin[0].regions == EAST_THRACE


def test_an_old_sender_s_free_text_keeps_working_with_the_hilden_reading() -> None:
    message = published(conference.ZielgruppeDefinition(
        "b", "Bleiberecht", legal_bases=("§ 25b AufenthG",),
        countries_of_origin=(conference.CountryRule("TR", "Ostthrakien"),)))
    [received] = inbound.catalogue(message).definitions
    assert received.legal_basis_reading is LegalBasisReading.INTENDED
    assert received.all_bases == (LegalBasis.AUFENTHG_25B,)
    assert received.countries_of_origin[0].narrowed_to == EAST_THRACE


def test_an_unknown_criterion_value_refuses_the_whole_catalogue() -> None:
    message = published(conference.ZielgruppeDefinition("f", "F", genders=(Gender.WEIBLICH,)))
    message.catalogue.definitions[0].genders.append(99)
    with pytest.raises(ValueError):
        inbound.catalogue(message)


def test_a_received_catalogue_checks_as_decided() -> None:
    from case_factories import TODAY
    from test_zielgruppen_criteria import person
    received = inbound.catalogue(published(conference.ZielgruppeDefinition(
        "frauen_fbs", "Frauen in der Frauenberatungsstelle", genders=(Gender.WEIBLICH,),
        access_routes=(AccessRoute.FRAUENBERATUNGSSTELLE,))))
    assert check_eligibility(person(gender=Gender.WEIBLICH), received, TODAY,
                             AccessRoute.FRAUENBERATUNGSSTELLE).eligible


def test_structured_residence_and_region_travel_both_ways_with_the_old_text_for_older_readers() -> None:
    from case_factories import CM, NOW

    from kim.case.v1 import case_pb2, types_pb2
    from kim.common.v1 import types_pb2 as common
    from services.case import contract
    from services.case.domain.case import Case
    from services.case.domain.zielgruppen import METTMANN_V1

    request = case_pb2.ProposeCaseRequest(
        coordination_org="kreis-mettmann", proposer_kind=types_pb2.PROPOSER_KIND_OFFICE, reason="Grund",
        handlungsfelder=[common.HANDLUNGSFELD_AUFENTHALT_IDENTITAET],
        access_route=common.ACCESS_ROUTE_FRAUENBERATUNGSSTELLE,
        person=case_pb2.Person(
            given_name="Elif", family_name="Yılmaz", birth_date=common.Date(year=2004, month=5, day=1),
            nationalities=["TR"], country_of_origin="TR", origin_region=common.ORIGIN_REGION_TR_EDIRNE,
            gender=common.GENDER_WEIBLICH,
            residence=case_pb2.ResidenceStatus(
                kind=common.RESIDENCE_STATUS_KIND_DULDUNG, basis=common.LEGAL_BASIS_AUFENTHG_60A,
                prospective_basis=common.LEGAL_BASIS_AUFENTHG_25A,
                prospective_applied_on=common.Date(year=2026, month=2, day=1))))
    case, person = Case.propose(contract.proposal_command(request, "stadt-hilden"), CM, NOW, METTMANN_V1)
    assert case.eligibility.matched == ("bleiberecht_25a_25b", "suedosteuropa")
    message = contract.person_message(person)
    assert (message.origin_region, message.residence.basis, message.residence.prospective_basis) == (
        common.ORIGIN_REGION_TR_EDIRNE, common.LEGAL_BASIS_AUFENTHG_60A, common.LEGAL_BASIS_AUFENTHG_25A)
    assert (message.residence.legal_basis, message.residence.prospective_legal_basis) == (
        "§ 60a AufenthG", "§ 25a Abs. 1 AufenthG")
    assert message.residence.prospective_applied_on.month == 2
