"""The case manager's and the data protection officer's portal pages in a real Chromium against
real nodes (`kim node up` starts api, worker and portal) of a federation of its own on the real
Keycloak: the Stadt's case manager proposes a case with the live Zielgruppen check and records the
consent, submits it, works the case file with a plan, reads who looked at the case; the Stadt's
data protection officer verifies the chain; a Caritas case manager opening a Stadt case URL gets
the page of a missing case. axe-core (WCAG 2.1 AA) checks every page visited; screenshots go to
out/portal/faelle-*.png.

The Fallkonferenz's decision itself is the cross-node story's (tests/e2e/portal, portal-kreis);
here the Kreis' coordinator admits the case over the Stadt node's api, as the conference's event
would."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

import grpc
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import Select

from kim.case.v1 import case_pb2, case_pb2_grpc, types_pb2 as case_types
from kim.common.v1 import types_pb2 as common
from kimctl import nodes
from kimnetz.runtime.broker_admin import node_user
from kimnetz.runtime.proto_mapping import to_proto_date
from kimnetz.runtime.settings import Settings
from tests.e2e.test_node_smoke import free_port
from tests.support import servers
from tests.support.browser import Browser, browser, check_page, login, visit
from tests.support.identity import LocalFederation, unique_federation_file

__all__ = ["browser"]  # the fixture, used by name

KREIS, STADT, CARITAS = "kreis-mettmann", "stadt-hilden", "caritas-mettmann"
TODAY = date.today().strftime("%d.%m.%Y")


@dataclass
class Nodes:
    local: LocalFederation
    settings: dict[str, Settings]
    urls: dict[str, str]

    def password(self, organization: str, username: str) -> str:
        return self.local.password(organization, username)

    def case_api(
        self, organization: str, as_organization: str, username: str
    ) -> tuple[object, tuple[tuple[str, str]]]:
        settings = self.settings[organization]
        channel = grpc.insecure_channel(f"{settings.grpc_host}:{settings.grpc_port}")
        token = self.local.token_for(as_organization, username)
        return case_pb2_grpc.CaseServiceStub(channel), (("authorization", f"Bearer {token}"),)  # type: ignore[no-untyped-call]


@pytest.fixture(scope="module")
def federation(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Nodes]:
    """The Stadt's and the Caritas' nodes of a federation of their own, each with its portal."""
    home = tmp_path_factory.mktemp("kim-portal-faelle")
    file = unique_federation_file(home / "federation.yaml", f"f{uuid.uuid4().hex[:6]}")
    local = LocalFederation.start(file, rename=False)
    ids = {n.organization: n.id for n in local.federation.nodes}
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KIM_HOME", str(home))
        base = Settings()
        started: list[str] = []
        try:
            servers.require_tcp("MongoDB-wire server (FerretDB)", base.mongodb_uri, 27017)
            settings, urls = {}, {}
            for organization in (STADT, CARITAS):
                node_id = ids[organization]
                nodes.init(nodes.NodeSpec(node_id, organization, free_port(), file, free_port()), base)
                started.append(node_id)
                settings[organization] = nodes.up(node_id)
                urls[organization] = nodes.portal_url(node_id)
            yield Nodes(local, settings, urls)
        finally:
            broker = servers.broker_admin(base)
            for node_id in started:
                nodes.down(node_id)
                broker.delete_vhost(node_id)
                broker.delete_user(node_user(node_id))
                servers.drop_databases(base.model_copy(update={"node_id": node_id}))
            local.close()


def person() -> case_pb2.Person:
    return case_pb2.Person(
        given_name="Amina",
        family_name="Haddad",
        birth_date=common.Date(year=1990, month=5, day=17),
        nationalities=["SY"],
        country_of_origin="SY",
        residence=case_pb2.ResidenceStatus(
            kind=common.RESIDENCE_STATUS_KIND_DULDUNG, legal_basis="§ 60a AufenthG"
        ),
    )


def admitted_case(nodes_: Nodes) -> str:
    """A Stadt case proposed, consented and submitted by the case manager, admitted by the Kreis'
    coordinator (as the Fallkonferenz's event would): ready for the Bedarfsermittlung."""
    api, cm = nodes_.case_api(STADT, STADT, "c.manager")
    case = api.ProposeCase(
        case_pb2.ProposeCaseRequest(  # type: ignore[attr-defined]
            coordination_org=KREIS,
            proposer_kind=case_types.PROPOSER_KIND_CASE_MANAGER,
            reason="Ausbildung in Aussicht",
            handlungsfelder=[common.HANDLUNGSFELD_AUSBILDUNG],
            person=person(),
        ),
        metadata=cm,
    )
    api.RecordConsent(
        case_pb2.RecordConsentRequest(  # type: ignore[attr-defined]
            case_id=case.case_id,
            kind=case_types.CONSENT_KIND_EINWILLIGUNG,
            recipient_org=KREIS,
            purposes=[case_types.CONSENT_PURPOSE_FALLKONFERENZ],
            categories=[case_types.DATA_CATEGORY_FALLDOKUMENTATION],
            signed_on=to_proto_date(date.today()),
        ),
        metadata=cm,
    )
    api.SubmitForReview(case_pb2.SubmitForReviewRequest(case_id=case.case_id), metadata=cm)  # type: ignore[attr-defined]
    kreis_api, coordinator = nodes_.case_api(STADT, KREIS, "k.koordination")
    kreis_api.AdmitCase(
        case_pb2.AdmitCaseRequest(  # type: ignore[attr-defined]
            case_id=case.case_id,
            case_manager="c.manager",
            case_manager_org=STADT,
            decision_reference="FK 1/2026",
        ),
        metadata=coordinator,
    )
    return str(case.case_id)


def fill(browser: Browser, field_id: str, value: str) -> None:
    element = browser.driver.find_element(By.ID, field_id)
    element.clear()
    element.send_keys(value)


def click(browser: Browser, element_id: str) -> None:
    browser.driver.find_element(By.ID, element_id).click()
    browser.wait().until(expected_conditions.presence_of_element_located((By.ID, "inhalt")))


def test_propose_with_the_live_check_and_consent_then_submit(federation: Nodes, browser: Browser) -> None:
    login(
        browser, federation.urls[STADT], "c.manager", federation.password(STADT, "c.manager"), path="/faelle/"
    )
    visit(browser, "/faelle/", "faelle-liste-leer")
    visit(browser, "/faelle/neu", "faelle-neu")
    fill(browser, "f-person-given_name", "Amina")
    fill(browser, "f-person-family_name", "Haddad")
    fill(browser, "f-person-birth_date", "17.05.1990")
    fill(browser, "f-person-nationalities", "SY")
    fill(browser, "f-person-country_of_origin", "SY")
    Select(browser.driver.find_element(By.ID, "f-person-residence-kind")).select_by_value("duldung")
    fill(browser, "f-person-residence-legal_basis", "§ 60a AufenthG")
    browser.driver.find_element(By.ID, "f-reason").click()  # leaves the field: the script checks
    browser.wait().until(
        expected_conditions.text_to_be_present_in_element(
            (By.ID, "zielgruppen-ergebnis"), "Geduldete und Gestattete älter als 27 Jahre"
        )
    )
    assert "Zielgruppe trifft zu" in browser.driver.find_element(By.ID, "zielgruppen-ergebnis").text
    check_page(browser, "faelle-neu-zielgruppen")
    coordination = browser.driver.find_element(By.ID, "f-coordination_org")
    if coordination.tag_name == "select":
        Select(coordination).select_by_value(KREIS)
    else:
        fill(browser, "f-coordination_org", KREIS)
    Select(browser.driver.find_element(By.ID, "f-proposer_kind")).select_by_value("case_manager")
    fill(browser, "f-reason", "Ausbildungsplatz in Aussicht, die Duldung verhindert die Zustimmung.")
    browser.driver.find_element(By.ID, "f-handlungsfelder").click()  # Aufenthalt und Identität
    click(browser, "vorschlagen")
    assert "/einwilligungen" in browser.driver.current_url
    assert "ist angelegt" in browser.text()
    check_page(browser, "faelle-einwilligungen-neu")

    recipient = browser.driver.find_element(By.ID, "f-recipient_org")
    if recipient.tag_name == "select":
        Select(recipient).select_by_value(KREIS)
    else:
        fill(browser, "f-recipient_org", KREIS)
    fill(browser, "f-signed_on", TODAY)
    click(browser, "einwilligung-erfassen")
    assert "Die Einwilligung ist erfasst." in browser.text()
    table = browser.driver.find_element(By.ID, "einwilligungen").text
    assert KREIS in table and "gültig" in table and "Beratung in der Fallkonferenz" in table
    check_page(browser, "faelle-einwilligungen")

    case_path = browser.driver.current_url.split("/einwilligungen")[0]
    visit(browser, f"{case_path}/fallkonferenz", "faelle-fallkonferenz")
    browser.driver.find_element(By.CSS_SELECTOR, "form button[type=submit].kern-btn--primary").click()
    browser.wait().until(expected_conditions.presence_of_element_located((By.ID, "weiter-titel")))
    assert "Der Fall ist zur Fallkonferenz angemeldet." in browser.text()
    assert "in der Fallkonferenz" in browser.text()
    check_page(browser, "faelle-akte-angemeldet")


def test_the_case_file_with_assessment_plan_barrier_and_journal(federation: Nodes, browser: Browser) -> None:
    case_id = admitted_case(federation)
    login(
        browser,
        federation.urls[STADT],
        "c.manager",
        federation.password(STADT, "c.manager"),
        path=f"/faelle/{case_id}",
    )
    visit(browser, f"/faelle/{case_id}", "faelle-akte-aufgenommen")
    assert "Amina Haddad" in browser.text()
    click(browser, "schritt-bedarfsermittlung")
    assert "Die Bedarfsermittlung hat begonnen." in browser.text()

    visit(browser, f"/faelle/{case_id}/bedarfe", "faelle-bedarfe")
    Select(browser.driver.find_element(By.ID, "f-handlungsfeld")).select_by_value("ausbildung")
    fill(browser, "f-need", "Zustimmung der ABH zur Ausbildung")
    browser.driver.find_element(By.CSS_SELECTOR, "#inhalt form button[type=submit]").click()
    browser.wait().until(expected_conditions.presence_of_element_located((By.ID, "bedarfe")))
    assert "Zustimmung der ABH zur Ausbildung" in browser.driver.find_element(By.ID, "bedarfe").text
    check_page(browser, "faelle-bedarfe-erfasst")

    visit(browser, f"/faelle/{case_id}", "faelle-akte-bedarfsermittlung")
    click(browser, "schritt-planung")
    visit(browser, f"/faelle/{case_id}/plan", "faelle-plan-leer")
    fill(browser, "f-title", "Ausbildungsduldung erreichen")
    Select(browser.driver.find_element(By.ID, "f-handlungsfeld")).select_by_value("aufenthalt_identitaet")
    browser.driver.find_element(By.CSS_SELECTOR, "#inhalt form button[type=submit]").click()
    browser.wait().until(
        expected_conditions.text_to_be_present_in_element(
            (By.ID, "inhalt"), "Ziel: Ausbildungsduldung erreichen"
        )
    )
    browser.driver.find_element(By.PARTIAL_LINK_TEXT, "Schritt zum Ziel").click()
    browser.wait().until(expected_conditions.presence_of_element_located((By.ID, "f-description")))
    check_page(browser, "faelle-schritt-neu")
    fill(browser, "f-description", "Antrag auf Ausbildungsduldung stellen")
    fill(browser, "f-responsible", "Fallmanagement")
    browser.driver.find_element(By.CSS_SELECTOR, "#inhalt form button[type=submit]").click()
    browser.wait().until(
        expected_conditions.text_to_be_present_in_element(
            (By.ID, "inhalt"), "Antrag auf Ausbildungsduldung stellen"
        )
    )
    check_page(browser, "faelle-plan")
    browser.driver.find_element(By.PARTIAL_LINK_TEXT, "abschließen").click()
    browser.wait().until(expected_conditions.presence_of_element_located((By.ID, "f-status")))
    check_page(browser, "faelle-schritt-abschluss")
    browser.driver.find_element(By.CSS_SELECTOR, "#inhalt form button[type=submit]").click()
    browser.wait().until(expected_conditions.text_to_be_present_in_element((By.ID, "inhalt"), "erledigt"))
    browser.driver.find_element(By.PARTIAL_LINK_TEXT, "Fortschritt zum Ziel").click()
    browser.wait().until(expected_conditions.presence_of_element_located((By.ID, "f-note")))
    fill(browser, "f-note", "Antrag liegt der ABH vor.")
    browser.driver.find_element(By.CSS_SELECTOR, "#inhalt form button[type=submit]").click()
    browser.wait().until(
        expected_conditions.text_to_be_present_in_element((By.ID, "inhalt"), "Antrag liegt der ABH vor.")
    )
    check_page(browser, "faelle-plan-fortschritt")

    visit(browser, f"/faelle/{case_id}/barrieren", "faelle-barrieren")
    Select(browser.driver.find_element(By.ID, "f-category")).select_by_value("wartezeit")
    fill(browser, "f-description", "Termin bei der ABH erst in vier Monaten")
    browser.driver.find_element(By.ID, "f-rechtskreise-6").click()  # AufenthG
    browser.driver.find_element(By.CSS_SELECTOR, "#inhalt form button[type=submit]").click()
    browser.wait().until(expected_conditions.presence_of_element_located((By.ID, "barrieren")))
    assert "Termin bei der ABH" in browser.driver.find_element(By.ID, "barrieren").text
    check_page(browser, "faelle-barrieren-erfasst")

    visit(browser, f"/faelle/{case_id}/journal", "faelle-journal")
    fill(browser, "f-text", "Gespräch mit dem Ausbildungsbetrieb geführt.")
    browser.driver.find_element(By.CSS_SELECTOR, "#inhalt form button[type=submit]").click()
    browser.wait().until(
        expected_conditions.text_to_be_present_in_element(
            (By.ID, "journal"), "Gespräch mit dem Ausbildungsbetrieb geführt."
        )
    )
    check_page(browser, "faelle-journal-eintrag")

    visit(browser, f"/faelle/{case_id}", "faelle-akte-planung")
    click(browser, "schritt-monitoring")
    assert "Der Integrationsplan ist aktiv" in browser.text()
    check_page(browser, "faelle-akte-aktiv")
    for page in ("zustaendigkeit", "abschluss"):
        visit(browser, f"/faelle/{case_id}/{page}", f"faelle-{page}")


def test_who_read_the_case_and_the_data_protection_officers_pages(
    federation: Nodes, browser: Browser
) -> None:
    case_id = admitted_case(federation)
    login(
        browser,
        federation.urls[STADT],
        "c.manager",
        federation.password(STADT, "c.manager"),
        path=f"/faelle/{case_id}/einsichten",
    )
    visit(browser, f"/faelle/{case_id}/einsichten", "faelle-einsichten")
    table = browser.driver.find_element(By.ID, "einsichten").text
    assert "ProposeCase" in table and "AdmitCase" in table and "k.koordination" in table
    assert "Wer hat diesen Fall eingesehen" in table  # this reading is in the trail too

    browser.driver.find_element(By.CSS_SELECTOR, ".portal-logout button").click()  # ends Keycloak's too
    browser.wait().until(lambda d: "/abgemeldet" in d.current_url)
    login(
        browser,
        federation.urls[STADT],
        "j.datenschutz",
        federation.password(STADT, "j.datenschutz"),
        path="/datenschutz/",
    )
    visit(browser, "/datenschutz/", "datenschutz-protokoll")
    assert "GetPerson" in browser.text() or "GetCase" in browser.text()
    visit(browser, f"/datenschutz/?fall={case_id}&aufruf=RecordConsent", "datenschutz-protokoll-gefiltert")
    assert "Einwilligung" in browser.driver.find_element(By.ID, "protokoll").text
    visit(browser, "/datenschutz/pruefung", "datenschutz-pruefung")
    click(browser, "kette-pruefen")
    assert "Die Kette ist unversehrt." in browser.text()
    check_page(browser, "datenschutz-pruefung-ergebnis")
    visit(browser, "/datenschutz/einwilligungen", "datenschutz-einwilligungen")
    assert KREIS in browser.driver.find_element(By.ID, "einwilligungen").text


def test_a_caritas_case_manager_gets_the_page_of_a_missing_case_for_a_stadt_case(
    federation: Nodes, browser: Browser
) -> None:
    case_id = admitted_case(federation)
    login(
        browser,
        federation.urls[CARITAS],
        "m.beratung",
        federation.password(CARITAS, "m.beratung"),
        path="/faelle/",
    )
    visit(browser, f"/faelle/{case_id}", "faelle-fremder-fall")
    foreign = browser.text()
    visit(browser, f"/faelle/{uuid.uuid4().hex}", "faelle-fehlender-fall")
    assert "Nicht gefunden" in foreign and foreign == browser.text()
    assert "Amina" not in foreign and "KIM-" not in foreign
