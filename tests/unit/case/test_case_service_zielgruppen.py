"""The Zielgruppen criteria of issue 14 through the case service on the in-memory fake: a
catalogue the Lenkungsgruppe decided (HSK's "Frauen in der Frauenberatungsstelle", Mettmann's
"älter als 27" in a chosen reading) checks each Fallvorschlag with the person's Geschlecht and
the proposal's Zugangsweg; a new version re-checks an open proposal with its Zugangsweg; the
German reasons and programme hints are what the case records."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

from kimnetz.runtime.event_trust import Sender
from kimnetz.vocabulary import AccessRoute, AgeReading, Gender, LegalBasis, LegalBasisReading
from services.case.composition import case_services
from services.case.domain.vocabulary import ResidenceStatusKind
from services.case.domain.zielgruppen import ZielgruppeDefinition, ZielgruppenCatalogue
from tests.support.fakes.case import InMemoryCaseRepository

sys.path.insert(0, str(Path(__file__).resolve().parent))
from case_factories import CM, COORDINATION, OWNER, birth_date_for_age, make_person_data, make_proposal
from test_case_service import Ticking

KREIS = Sender("kreis-node", COORDINATION, "district")

HSK = ZielgruppenCatalogue(
    version=2, decided_on=date(2026, 2, 10), decision_reference="Lenkungsgruppe 2026/3",
    definitions=(
        ZielgruppeDefinition("frauen_fbs", "Frauen in der Frauenberatungsstelle",
                             genders=(Gender.WEIBLICH,), access_routes=(AccessRoute.FRAUENBERATUNGSSTELLE,)),
        ZielgruppeDefinition("geduldete_ue27", "Geduldete älter als 27", older_than=27,
                             age_reading=AgeReading.YEARS_OF_LIFE,
                             residence_kinds=(ResidenceStatusKind.DULDUNG,)),
        ZielgruppeDefinition("bleiberecht", "Bleiberecht §§ 25a, 25b",
                             bases=(LegalBasis.AUFENTHG_25A, LegalBasis.AUFENTHG_25B),
                             legal_basis_reading=LegalBasisReading.INTENDED),
    ),
)


def test_a_woman_from_the_frauenberatungsstelle_is_matched_and_a_jobcenter_proposal_refused() -> None:
    cases = InMemoryCaseRepository("hilden-node")
    service = case_services(cases, node_org=OWNER, clock=Ticking())
    assert service.zielgruppen.store_catalogue(HSK, KREIS, COORDINATION)
    woman = make_person_data(gender="weiblich", birth_date=birth_date_for_age(20))
    matched = service.fallvorschlaege.propose_case(
        CM, make_proposal(woman, access_route="frauenberatungsstelle"))
    assert matched.eligibility.catalogue_version == 2
    assert matched.eligibility.matched == ("frauen_fbs",)
    refused = service.fallvorschlaege.propose_case(CM, make_proposal(woman, access_route="jobcenter"))
    assert "frauen_fbs" not in refused.eligibility.matched
    summary = refused.eligibility.summary()
    assert "Frauen in der Frauenberatungsstelle: Zugangsweg „Jobcenter“; die Zielgruppe umfasst den " \
           "Zugang über: Frauenberatungsstelle." in summary


def test_a_new_version_rechecks_an_open_proposal_with_its_access_route() -> None:
    cases = InMemoryCaseRepository("hilden-node")
    service = case_services(cases, node_org=OWNER, clock=Ticking())
    woman = make_person_data(gender="weiblich", country_of_origin="AF", nationalities=("AF",),
                             birth_date=birth_date_for_age(20), residence_kind="aufenthaltserlaubnis",
                             legal_basis="§ 25 Abs. 2 AufenthG")
    case = service.fallvorschlaege.propose_case(
        CM, make_proposal(woman, access_route="frauenberatungsstelle"))
    assert not case.eligibility.eligible  # Mettmann's four do not cover her
    assert service.zielgruppen.store_catalogue(HSK, KREIS, COORDINATION)
    assert cases.get(case.case_id).eligibility.matched == ("frauen_fbs",)


def test_a_27_year_old_geduldete_is_in_by_the_years_of_life_reading() -> None:
    cases = InMemoryCaseRepository("hilden-node")
    service = case_services(cases, node_org=OWNER, clock=Ticking())
    assert service.zielgruppen.store_catalogue(HSK, KREIS, COORDINATION)
    data = make_person_data(birth_date=birth_date_for_age(27))  # the 27th birthday is today
    case = service.fallvorschlaege.propose_case(CM, make_proposal(data))
    assert case.eligibility.matched == ("geduldete_ue27",)


def test_an_intended_25a_at_35_is_recorded_with_the_reason_of_the_aufenthg() -> None:
    cases = InMemoryCaseRepository("hilden-node")
    service = case_services(cases, node_org=OWNER, clock=Ticking())
    assert service.zielgruppen.store_catalogue(HSK, KREIS, COORDINATION)
    data = make_person_data(birth_date=birth_date_for_age(35), prospective_basis="aufenthg_25a")
    case = service.fallvorschlaege.propose_case(CM, make_proposal(data, access_route="auslaenderbehoerde"))
    stored = cases.get(case.case_id).eligibility
    [bleiberecht] = [m for m in stored.mismatches if m.key == "bleiberecht"]
    assert bleiberecht.reasons[0].startswith("Für § 25a Abs. 1 AufenthG muss der Antrag vor dem "
                                             "27. Geburtstag gestellt werden")
    assert stored.matched == ("geduldete_ue27",)
