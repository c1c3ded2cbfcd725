"""The start page (what is due today, who the person is) and the IT page (/betrieb) on fakes."""

from __future__ import annotations

from datetime import date

from grpc_health.v1 import health_pb2

from kim.case.v1 import case_pb2
from kim.common.v1 import types_pb2 as common
from kim.conference.v1 import conference_pb2
from kim.identity.v1 import identity_pb2
from kimnetz.errors import PermissionDenied
from tests.support.fakes.portal import (
    CASE_MANAGER_STADT,
    COORDINATOR_KREIS,
    DPO_STADT,
    NODE_ADMIN_KREIS,
    Portal,
    make_portal,
    unavailable,
)


def test_a_case_manager_sees_her_due_reviews_and_who_she_is(portal: Portal) -> None:
    portal.apis.case.answer("ListCases", case_pb2.ListCasesResponse(cases=[case_pb2.CaseBrief(
        case_id="c-1", pseudonym="HIL-7F3A", status=common.CASE_STATUS_ACTIVE, zielgruppe="zg-1",
        next_review_due=common.Date(year=2026, month=12, day=1))]))
    page = portal.client.get("/").get_data(as_text=True)
    (asked,) = portal.apis.case.requests("ListCases")
    today = date.today()
    assert (asked.review_due_by.year, asked.review_due_by.month, asked.review_due_by.day) == (
        today.year, today.month, today.day)
    assert asked.case_manager == CASE_MANAGER_STADT.username
    assert "HIL-7F3A" in page and "aktiv (Monitoring)" in page and "01.12.2026" in page
    assert "<caption" in page and 'scope="col"' in page and 'scope="row"' in page
    assert "Clara Manager" in page and "Stadt Hilden" in page and "Case Manager*in" in page
    assert portal.apis.conference.calls == []  # no Beschlüsse for a case manager


def test_the_coordinator_sees_overdue_beschluesse_of_every_lenkungsgruppe_of_the_node() -> None:
    portal = make_portal(COORDINATOR_KREIS)
    portal.apis.conference.answer("ListLenkungsgruppen", lambda request: (
        conference_pb2.ListLenkungsgruppenResponse(
            lenkungsgruppen=[conference_pb2.Lenkungsgruppe(gremium_id="lg-1", name="Lenkungsgruppe KIM")],
            next_page_token="2") if not request.page_token else
        conference_pb2.ListLenkungsgruppenResponse(
            lenkungsgruppen=[conference_pb2.Lenkungsgruppe(gremium_id="lg-2", name="Projektbeirat")])))
    overdue = conference_pb2.Beschluss(beschluss_id="b-1", title="Sprachkurse ausweiten",
                                       responsible_org="stadt-hilden",
                                       due_on=common.Date(year=2026, month=10, day=31))
    portal.apis.conference.answer("ListOverdueBeschluesse", lambda request: (
        conference_pb2.ListBeschluesseResponse(beschluesse=[overdue] if request.gremium_id == "lg-1" else [])
    ))
    page = portal.client.get("/").get_data(as_text=True)
    assert [r.page_token for r in portal.apis.conference.requests("ListLenkungsgruppen")] == ["", "2"]
    asked = portal.apis.conference.requests("ListOverdueBeschluesse")
    assert [r.gremium_id for r in asked] == ["lg-1", "lg-2"]
    assert "Sprachkurse ausweiten" in page and "überfällig seit 31.10.2026" in page
    assert "Lenkungsgruppe KIM" in page
    assert portal.apis.case.calls == []


def test_without_a_lenkungsgruppe_no_beschluss_is_overdue() -> None:
    portal = make_portal(COORDINATOR_KREIS)
    page = portal.client.get("/").get_data(as_text=True)
    assert "Kein Beschluss ist überfällig." in page
    assert portal.apis.conference.requests("ListOverdueBeschluesse") == []


def test_a_list_the_api_refuses_or_cannot_answer_is_named_and_the_page_still_opens(portal: Portal) -> None:
    portal.apis.case.answer("ListCases", unavailable())
    page = portal.client.get("/")
    assert page.status_code == 200
    assert "Im Moment ist die Fallverwaltung nicht erreichbar." in page.get_data(as_text=True)
    portal.apis.case.answer("ListCases", PermissionDenied("nein"))
    assert "Diese Liste steht Ihnen nicht zur Verfügung." in portal.client.get("/").get_data(as_text=True)


def test_a_role_without_deadlines_gets_a_plain_start_page() -> None:
    portal = make_portal(DPO_STADT)
    page = portal.client.get("/").get_data(as_text=True)
    assert "Für Ihre Rollen gibt es hier keine Fristen." in page
    assert portal.apis.case.calls == [] and portal.apis.conference.calls == []


def test_the_it_page_shows_each_component_the_directory_entry_and_the_peers() -> None:
    portal = make_portal(NODE_ADMIN_KREIS)

    def health(request: health_pb2.HealthCheckRequest) -> health_pb2.HealthCheckResponse:
        status = (health_pb2.HealthCheckResponse.NOT_SERVING
                  if request.service == "kim.documents.v1.DocumentsService"
                  else health_pb2.HealthCheckResponse.SERVING)
        return health_pb2.HealthCheckResponse(status=status)

    portal.apis.health.answer("Check", health)
    portal.apis.identity.answer("ListNodes", identity_pb2.ListNodesResponse(nodes=[
        identity_pb2.Node(node_id="stadt-hilden", organization="stadt-hilden",
                          status=identity_pb2.NODE_STATUS_ACTIVE, api_endpoint="127.0.0.1:50052",
                          federation_endpoint="127.0.0.1:50152"),
        identity_pb2.Node(node_id="caritas-mettmann", organization="caritas-mettmann",
                          status=identity_pb2.NODE_STATUS_PENDING, federation_endpoint="127.0.0.1:50153")]))
    page = portal.client.get("/betrieb/").get_data(as_text=True)
    assert [r.service for r in portal.apis.health.requests("Check")] == [
        "kim.case.v1.CaseService", "kim.conference.v1.ConferenceService",
        "kim.documents.v1.DocumentsService", "kim.identity.v1.IdentityService"]
    assert page.count("in Ordnung:") == 4  # three services and the session database
    assert "Störung:</span> NOT_SERVING" in page  # said in words, not by colour alone
    assert "Eintrag im Knotenverzeichnis" in page and "freigegeben" in page  # this node (stadt-hilden)
    assert "caritas-mettmann" in page and "beantragt" in page
    assert "kim node check stadt-hilden" in page


def test_the_it_page_says_when_the_api_is_unreachable() -> None:
    portal = make_portal(NODE_ADMIN_KREIS)
    portal.apis.health.answer("Check", unavailable())
    portal.apis.identity.answer("ListNodes", unavailable())
    page = portal.client.get("/betrieb/").get_data(as_text=True)
    assert page.count("keine Antwort (Schnittstelle nicht erreichbar)") == 4
    assert "Das Knotenverzeichnis ist nicht erreichbar" in page


def test_the_navigation_shows_betrieb_to_node_admins_only(portal: Portal) -> None:
    assert 'href="/betrieb/"' not in portal.client.get("/").get_data(as_text=True)
    portal.login(NODE_ADMIN_KREIS)
    assert 'href="/betrieb/"' in portal.client.get("/").get_data(as_text=True)
