"""The Zielgruppen criteria of issue 14 over real nodes: the Kreis's Lenkungsgruppe decides a
catalogue with HSK's "Frauen in der Frauenberatungsstelle" (Geschlecht and Zugangsweg),
"Geduldete älter als 27" read by years of life, the §§ 25a/25b Bleiberecht as intended bases and
Türkei nur Ostthrakien by province; the catalogue states its age boundary in words; it reaches
the Stadt node, whose Fallvorschläge are matched or refused there with the German reasons and
the programme hint. Its own federation of three nodes (tests/e2e/story_support.py); the
Lenkungsgruppe sits as in the story (kimctl/story/driver.py)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest

from kim.case.v1 import case_pb2, types_pb2 as C
from kim.common.v1 import types_pb2 as common
from kim.conference.v1 import conference_pb2 as K, types_pb2 as KT
from kimctl.story import (
    COORDINATOR,
    KREIS,
    STADT,
    STADT_CASE_MANAGER,
    STADT_CLERK,
    Api,
    messages,
    poll,
    scenario,
)
from tests.e2e.story_support import ThreeNodes, three_nodes

TIMEOUT = 60.0

CATALOGUE = [
    KT.ZielgruppeDefinition(
        key="frauen_fbs", name="Frauen in der Frauenberatungsstelle",
        description="HSK: Frauen mit Migrations- und Fluchterfahrung in der Frauenberatungsstelle.",
        genders=[common.GENDER_WEIBLICH], access_routes=[common.ACCESS_ROUTE_FRAUENBERATUNGSSTELLE]),
    KT.ZielgruppeDefinition(
        key="geduldete_ue27", name="Geduldete und Gestattete älter als 27 Jahre", older_than=27,
        age_reading=common.AGE_READING_YEARS_OF_LIFE,
        residence_kinds=[common.RESIDENCE_STATUS_KIND_DULDUNG,
                         common.RESIDENCE_STATUS_KIND_AUFENTHALTSGESTATTUNG]),
    KT.ZielgruppeDefinition(
        key="bleiberecht", name="Bleiberecht nach §§ 25a, 25b AufenthG",
        bases=[common.LEGAL_BASIS_AUFENTHG_25A, common.LEGAL_BASIS_AUFENTHG_25A_2,
               common.LEGAL_BASIS_AUFENTHG_25B]),
    KT.ZielgruppeDefinition(
        key="suedosteuropa", name="Zugewanderte aus Süd-Ost-Europa",
        countries_of_origin=[KT.CountryRule(country="AL"), KT.CountryRule(country="TR", regions=[
            common.ORIGIN_REGION_TR_EDIRNE, common.ORIGIN_REGION_TR_KIRKLARELI,
            common.ORIGIN_REGION_TR_TEKIRDAG, common.ORIGIN_REGION_TR_ISTANBUL_EUROPE,
            common.ORIGIN_REGION_TR_CANAKKALE_EUROPE])]),
]


@pytest.fixture(scope="module")
def federation(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreeNodes]:
    with three_nodes(tmp_path_factory) as running:
        yield running


@pytest.fixture(scope="module")
def api(federation: ThreeNodes) -> Iterator[Api]:
    client = Api(federation.token)
    yield client
    client.close()


@pytest.fixture(scope="module")
def decided(federation: ThreeNodes, api: Api) -> K.Beschluss:
    """The Lenkungsgruppe of the Kreis adopts the catalogue (members, quorum and Konsens as in the
    story), and the new version arrives at the Stadt node."""
    sitting = scenario().lenkungsgruppe
    conference = api.conference(federation.node(KREIS), COORDINATOR)
    gremium = conference.CreateLenkungsgruppe(K.CreateLenkungsgruppeRequest(name=sitting.name))
    for member in sitting.members:
        conference.AddMember(K.AddMemberRequest(gremium_id=gremium.gremium_id, member=K.Member(
            person=member.person, name=member.name, organisation=member.organisation,
            function=member.function, voting=member.voting)))
    session = conference.ScheduleSession(K.ScheduleSessionRequest(
        gremium_id=gremium.gremium_id, starts_at=messages.stamp(datetime.now(UTC) + timedelta(minutes=5)),
        place=sitting.place))
    vorlage = K.Beschlussvorlage(
        kind=KT.VORLAGE_KIND_ZIELGRUPPEN, title="Zielgruppen des KIM festlegen",
        proposed_wording="Die Lenkungsgruppe legt die Zielgruppen des KIM fest.",
        responsible_org=KREIS, responsible_person=COORDINATOR.username,
        due_on=messages.day(date.today() + timedelta(days=90)), zielgruppen=CATALOGUE)
    session = conference.SubmitVorlage(K.SubmitVorlageRequest(session_id=session.session_id, vorlage=vorlage))
    session = conference.OpenSession(K.OpenSessionRequest(session_id=session.session_id,
                                                          present=list(sitting.present)))
    [item] = session.items
    # Einvernehmen of the members present, as the story decides (no member said "nein").
    declared = conference.DeclareResult(K.DeclareResultRequest(
        session_id=session.session_id, vorlage_id=item.vorlage.vorlage_id, mode=KT.DECISION_MODE_CONSENSUS))
    assert declared.HasField("beschluss")
    beschluss: K.Beschluss = declared.beschluss
    figures = api.case(federation.node(STADT), STADT_CLERK)

    def reached() -> int | None:
        shown = int(figures.GetFigures(case_pb2.GetFiguresRequest()).zielgruppen_version)
        return shown if shown >= beschluss.zielgruppen.version else None

    poll("Zielgruppen-Version auf dem Stadt-Knoten", reached, TIMEOUT)
    return beschluss


def propose(federation: ThreeNodes, api: Api, *, gender: int, access_route: int, birth: date,
            kind: int, basis: int, prospective: int = 0, country: str = "SY",
            region: int = 0) -> case_pb2.Case:
    stadt = api.case(federation.node(STADT), STADT_CASE_MANAGER)
    case: case_pb2.Case = stadt.ProposeCase(case_pb2.ProposeCaseRequest(
        coordination_org=KREIS, proposer_kind=C.PROPOSER_KIND_COUNSELLING,
        proposer_unit="Beratung", reason="Mehrere Stellen, kein Fortschritt.",
        handlungsfelder=[common.HANDLUNGSFELD_AUFENTHALT_IDENTITAET],
        rechtskreise=[common.RECHTSKREIS_AUFENTHG, common.RECHTSKREIS_ASYLBLG],
        access_route=access_route,
        person=case_pb2.Person(
            given_name="Test", family_name="Person", birth_date=messages.day(birth),
            nationalities=[country],
            country_of_origin=country, origin_region=region, gender=gender,
            residence=case_pb2.ResidenceStatus(
                kind=kind, basis=basis, prospective_basis=prospective))))
    return case


def reasons(case: case_pb2.Case, key: str) -> list[str]:
    [mismatch] = [m for m in case.eligibility.mismatches if m.zielgruppe == key]
    return list(mismatch.reasons) + list(mismatch.hints)


def years_ago(years: int, days: int = 0) -> date:
    today = date.today()
    return today.replace(year=today.year - years) - timedelta(days=days)  # not run on 29 February


def test_the_decided_catalogue_states_its_age_boundary_in_words(
        decided: K.Beschluss, federation: ThreeNodes, api: Api) -> None:
    conference = api.conference(federation.node(KREIS), COORDINATOR)
    beschluss = conference.GetBeschluss(K.GetBeschlussRequest(beschluss_id=decided.beschluss_id))
    words = {d.key: d.age_words for d in beschluss.zielgruppen.definitions}
    assert words["geduldete_ue27"] == "ab dem 27. Geburtstag"
    assert beschluss.zielgruppen.version >= 2


def test_a_woman_from_the_frauenberatungsstelle_is_matched_on_the_stadt_node(
        decided: K.Beschluss, federation: ThreeNodes, api: Api) -> None:
    case = propose(federation, api, gender=common.GENDER_WEIBLICH,
                   access_route=common.ACCESS_ROUTE_FRAUENBERATUNGSSTELLE, birth=years_ago(24),
                   kind=common.RESIDENCE_STATUS_KIND_AUFENTHALTSERLAUBNIS,
                   basis=common.LEGAL_BASIS_AUFENTHG_25_2)
    assert case.eligibility.zielgruppen_version == decided.zielgruppen.version
    assert list(case.eligibility.matched) == ["frauen_fbs"]
    assert case.eligibility.summary == "Zielgruppe: Frauen in der Frauenberatungsstelle"


def test_a_27_year_old_man_via_the_jobcenter_is_refused_with_the_german_reasons(
        decided: K.Beschluss, federation: ThreeNodes, api: Api) -> None:
    case = propose(federation, api, gender=common.GENDER_MAENNLICH,
                   access_route=common.ACCESS_ROUTE_JOBCENTER,
                   birth=years_ago(27, days=1), kind=common.RESIDENCE_STATUS_KIND_DULDUNG,
                   basis=common.LEGAL_BASIS_AUFENTHG_60A, prospective=common.LEGAL_BASIS_AUFENTHG_25A,
                   country="TR", region=common.ORIGIN_REGION_TR_ANATOLIA)
    # The Lenkungsgruppe read "älter als 27" by years of life: from the 27th birthday on.
    assert list(case.eligibility.matched) == ["geduldete_ue27"]
    assert reasons(case, "frauen_fbs") == [
        "Geschlecht „männlich“; die Zielgruppe umfasst: weiblich.",
        "Zugangsweg „Jobcenter“; die Zielgruppe umfasst den Zugang über: Frauenberatungsstelle."]
    [bleiberecht] = reasons(case, "bleiberecht")
    assert bleiberecht.startswith("Für § 25a Abs. 1 AufenthG muss der Antrag vor dem 27. Geburtstag "
                                  "gestellt werden (§ 25a Abs. 1 Satz 1 Nr. 3 AufenthG)")
    [origin] = reasons(case, "suedosteuropa")
    assert origin == ("Aus dem Herkunftsland Türkei zählt nur Ostthrakien (europäischer Teil: Edirne, "
                      "Kırklareli, Tekirdağ und die europäischen Teile von İstanbul und Çanakkale); "
                      "angegeben: übrige Türkei (Anatolien).")


def test_a_young_geduldete_who_misses_by_age_alone_is_pointed_to_durchstarten(
        decided: K.Beschluss, federation: ThreeNodes, api: Api) -> None:
    case = propose(federation, api, gender=common.GENDER_WEIBLICH,
                   access_route=common.ACCESS_ROUTE_JOBCENTER,
                   birth=years_ago(26, days=3), kind=common.RESIDENCE_STATUS_KIND_DULDUNG,
                   basis=common.LEGAL_BASIS_AUFENTHG_60A)
    assert not case.eligibility.matched
    age, *hints = reasons(case, "geduldete_ue27")
    assert age.startswith("Alter 26 Jahre; die Zielgruppe gilt ab dem 27. Geburtstag")
    assert any("Durchstarten in Ausbildung und Arbeit" in h for h in hints)
    assert "Hinweis: " in case.eligibility.summary
