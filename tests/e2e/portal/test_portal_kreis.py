"""The Kreis' portal pages in a real Chromium against a real Kreis node (`kim node up` starts
api, worker and portal) of a federation of its own on the real Keycloak: the coordinator plans a
Fallkonferenz and builds its agenda (with the page's script), constitutes a Lenkungsgruppe, runs
a session to a Beschluss and downloads the Beschlussprotokoll; the Kreistagsbüro enters contracts
in the form and follows the batch to its ZIP, previews and renders a Drucksache (DOCX and PDF)
and a Monitoringbericht with its charts in the page. axe-core (WCAG 2.1 AA) checks every page
visited; screenshots go to out/portal/kreis-*.png.

The cross-node story (proposals from the Stadt and the Caritas on the agenda) is
test_portal_story.py's."""

from __future__ import annotations

import io
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions

from kimctl import nodes
from kimnetz.runtime.broker_admin import node_user
from kimnetz.runtime.settings import Settings
from tests.e2e.portal.kreis_support import SCROLL, choose, download, fill, link_path, press
from tests.e2e.test_node_smoke import free_port
from tests.support import servers
from tests.support.browser import Browser, browser, check_page, login, visit
from tests.support.identity import LocalFederation, unique_federation_file

__all__ = ["browser"]  # the fixture, used by name

KREIS = "kreis-mettmann"
TOMORROW = (date.today() + timedelta(days=1)).strftime("%d.%m.%Y")
IN_A_QUARTER = (date.today() + timedelta(days=90)).strftime("%d.%m.%Y")


@dataclass
class KreisNode:
    local: LocalFederation
    url: str

    def password(self, username: str) -> str:
        return self.local.password(KREIS, username)


@pytest.fixture(scope="module")
def kreis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KreisNode]:
    """The Kreis' node of a federation of its own, with its portal."""
    home = tmp_path_factory.mktemp("kim-portal-kreis")
    file = unique_federation_file(home / "federation.yaml", f"k{uuid.uuid4().hex[:6]}")
    local = LocalFederation.start(file, rename=False)
    node_id = next(n.id for n in local.federation.nodes if n.organization == KREIS)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KIM_HOME", str(home))
        base = Settings()
        try:
            servers.require_tcp("MongoDB-wire server (FerretDB)", base.mongodb_uri, 27017)
            nodes.init(nodes.NodeSpec(node_id, KREIS, free_port(), file, free_port()), base)
            nodes.up(node_id)
            yield KreisNode(local, nodes.portal_url(node_id))
        finally:
            nodes.down(node_id)
            broker = servers.broker_admin(base)
            broker.delete_vhost(node_id)
            broker.delete_user(node_user(node_id))
            servers.drop_databases(base.model_copy(update={"node_id": node_id}))
            local.close()


def test_the_coordinator_plans_a_fallkonferenz_and_builds_its_agenda(
    kreis: KreisNode, browser: Browser
) -> None:
    login(browser, kreis.url, "k.koordination", kreis.password("k.koordination"), path="/fallkonferenzen/")
    visit(browser, "/fallkonferenzen/", "kreis-fallkonferenzen-leer")
    visit(browser, "/fallkonferenzen/neu", "kreis-fallkonferenz-planen")
    press(browser, "Fallkonferenz ansetzen", wait_for="Bitte prüfen Sie Ihre Angaben")
    assert "Bitte geben Sie Tag der Fallkonferenz an." in browser.text()
    check_page(browser, "kreis-fallkonferenz-planen-fehler")
    fill(browser, "starts_at", TOMORROW)
    fill(browser, "starts_at.uhrzeit", "10:00")
    fill(browser, "place", "Kreishaus Mettmann, Raum 2.14")
    fill(browser, "participants[1].person", "l.lotsin")
    fill(browser, "participants[1].name", "Leyla Lotsin")
    fill(browser, "participants[1].role", "3")
    fill(browser, "participants[1].organisation", "abh-kreis-mettmann")
    press(browser, "Fallkonferenz ansetzen", wait_for="Die Fallkonferenz ist angesetzt.")
    assert "Leyla Lotsin" in browser.text() and "geplant" in browser.text()
    check_page(browser, "kreis-fallkonferenz-geplant")
    # The page's script sends the agenda form in the background and replaces the agenda.
    page_url = browser.driver.current_url
    press(browser, "Tagesordnung erstellen")
    browser.wait(60).until(
        expected_conditions.text_to_be_present_in_element(
            (By.ID, "tagesordnung-status"), "Die Tagesordnung ist aktualisiert."
        )
    )
    assert browser.driver.current_url == page_url  # no page load
    assert "Die Tagesordnung ist noch leer." in browser.text()
    check_page(browser, "kreis-fallkonferenz-tagesordnung")


def test_the_coordinator_runs_a_lenkungsgruppe_session_to_its_beschlussprotokoll(
    kreis: KreisNode, browser: Browser
) -> None:
    login(browser, kreis.url, "k.koordination", kreis.password("k.koordination"), path="/lenkungsgruppe/")
    visit(browser, "/lenkungsgruppe/", "kreis-lenkungsgruppe-leer")
    fill(browser, "name", "Lenkungsgruppe KIM Kreis Mettmann")
    press(browser, "Lenkungsgruppe einrichten", wait_for="Die Lenkungsgruppe ist eingerichtet.")
    for name, value in (
        ("person", "k.koordination"),
        ("name", "Katrin Koordination"),
        ("organisation", KREIS),
        ("function", "Leitung Kommunales Integrationszentrum"),
    ):
        fill(browser, name, value)
    press(browser, "Mitglied aufnehmen", wait_for="gehört jetzt der Lenkungsgruppe an")
    check_page(browser, "kreis-lenkungsgruppe")
    gremium_path = browser.driver.current_url.split("#")[0]

    browser.driver.get(link_path(browser, "Sitzung ansetzen"))
    fill(browser, "starts_at", TOMORROW)
    fill(browser, "starts_at.uhrzeit", "14:00")
    fill(browser, "place", "Kreishaus Mettmann, Sitzungssaal")
    check_page(browser, "kreis-sitzung-ansetzen")
    press(browser, "Sitzung ansetzen", wait_for="Die Sitzung ist angesetzt.")
    browser.driver.get(link_path(browser, "Beschlussvorlage auf die Tagesordnung setzen"))
    fill(browser, "title", "Clearingstelle Ausbildung und Aufenthalt einrichten")
    fill(
        browser,
        "proposed_wording",
        "Jobcenter, Agentur für Arbeit und ABH richten eine gemeinsame Clearingstelle ein.",
    )
    fill(browser, "responsible_org", KREIS)
    fill(browser, "responsible_person", "k.koordination")
    fill(browser, "due_on", IN_A_QUARTER)
    check_page(browser, "kreis-vorlage")
    press(browser, "Auf die Tagesordnung setzen", wait_for="Die Beschlussvorlage steht auf der Tagesordnung.")
    choose(browser, "attendees", f"{KREIS}/k.koordination")
    press(browser, "Sitzung eröffnen", wait_for="Die Sitzung ist eröffnet.")
    assert "beschlussfähig" in browser.text()
    check_page(browser, "kreis-sitzung-eroeffnet")
    vorlage = (
        browser.driver.find_element(By.CSS_SELECTOR, 'input[name^="choice-"]').get_attribute("name") or ""
    )
    choose(browser, vorlage, "1")
    press(browser, "Stimme abgeben", wait_for="Ihre Stimme ist gezählt.")
    summary = browser.driver.find_element(By.CSS_SELECTOR, "details.portal-details summary")
    browser.driver.execute_script(SCROLL, summary)
    summary.click()
    choose(browser, "mode", "2")  # einvernehmlich: the Lenkungsgruppe decides by Konsens
    press(browser, "Ergebnis feststellen", wait_for="Die Lenkungsgruppe hat beschlossen.")
    assert "beschlossen" in browser.text() and "1 ja, 0 nein, 0 Enthaltung" in browser.text()
    check_page(browser, "kreis-sitzung-beschlossen")
    press(browser, "Sitzung schließen", wait_for="Die Sitzung ist geschlossen.")
    fill(browser, "issuer", "Kreis Mettmann")
    press(browser, "Beschlussprotokoll erzeugen", wait_for="Das Beschlussprotokoll ist erzeugt.")
    check_page(browser, "kreis-beschlussprotokoll")
    docx = download(browser, link_path(browser, "(Word"))
    assert docx.status == 200 and docx.content.startswith(b"PK")
    assert docx.disposition.startswith("attachment;") and ".docx" in docx.disposition

    visit(browser, f"{gremium_path}/beschluesse", "kreis-beschlussverfolgung")
    assert "Clearingstelle Ausbildung und Aufenthalt einrichten" in browser.text()
    assert "Kein Beschluss ist überfällig." in browser.text()
    visit(browser, f"{gremium_path}/zielgruppen", "kreis-zielgruppen")
    visit(browser, "/projektgruppen/", "kreis-projektgruppen")
    visit(browser, "/projektgruppen/barrierenregister", "kreis-barrierenregister")


def test_the_kreistagsbuero_makes_contracts_a_drucksache_and_the_monitoringbericht(
    kreis: KreisNode, browser: Browser
) -> None:
    login(browser, kreis.url, "v.vertrag", kreis.password("v.vertrag"), path="/dokumente/")
    visit(browser, "/dokumente/", "kreis-dokumente-leer")
    visit(browser, "/dokumente/vertraege", "kreis-vertraege")
    fill(browser, "kreis.name", "Kreis Mettmann")
    fill(browser, "kreis.address", "Düsseldorfer Straße 26\n40822 Mettmann")
    fill(browser, "allocations[0].partner.name", "Stadt Hilden")
    fill(browser, "allocations[0].partner.kind", "municipality")
    fill(browser, "allocations[0].partner.address", "Am Rathaus 1\n40721 Hilden")
    fill(browser, "allocations[0].fte", "1,5")
    fill(browser, "allocations[1].partner.name", "Caritasverband für den Kreis Mettmann e. V.")
    fill(browser, "allocations[1].partner.kind", "welfare_org")
    fill(browser, "allocations[1].partner.address", "Johannes-Flintrop-Straße 19\n40822 Mettmann")
    fill(browser, "allocations[1].municipality", "Stadt Mettmann")
    fill(browser, "allocations[1].fte", "1,0")
    press(browser, "Verträge erzeugen", wait_for="Verträge werden erzeugt.")
    # The page follows the batch by itself (script) until it is done.
    browser.wait(90).until(
        expected_conditions.text_to_be_present_in_element((By.ID, "auftrag"), "Alle Verträge sind erzeugt.")
    )
    assert "2 von 2 Verträgen erzeugt" in browser.text()
    check_page(browser, "kreis-vertraege-fertig")
    archive = download(browser, link_path(browser, "als ZIP herunterladen"))
    assert archive.content_type == "application/zip" and archive.disposition.startswith("attachment;")
    with zipfile.ZipFile(io.BytesIO(archive.content)) as opened:
        names = opened.namelist()
        assert len(names) == 2 and all(n.endswith(".docx") for n in names)

    visit(browser, "/dokumente/drucksache", "kreis-drucksache")
    for name, value in (
        ("number", "WP 20-25 SV 51/205"),
        ("department.fachbereich", "Jugend, Schule und Integration"),
        ("department.fachdienst", "Kommunales Integrationszentrum"),
        ("consultations[0].body", "Ausschuss für Soziales und Integration"),
        ("consultations[0].date", IN_A_QUARTER),
        ("consultations[0].role", "Kenntnisnahme"),
        ("title", "Kommunales Integrationsmanagement: Stand der Fallarbeit"),
        ("resolution", "Der Ausschuss nimmt den Bericht zur Kenntnis."),
        ("body_text", "Die Fallarbeit wird gemeinsam getragen.\n\n[Fallzahlen]"),
        ("signature.name", "Thomas Hendele"),
        ("signature.function", "Landrat"),
    ):
        fill(browser, name, value)
    press(browser, "Vorschau anzeigen", wait_for="Vorschau des Textes")
    assert "Die Fallarbeit wird gemeinsam getragen." in browser.text()
    check_page(browser, "kreis-drucksache-vorschau")
    press(browser, "Drucksache erzeugen", wait_for="Die Drucksache ist erzeugt.")
    check_page(browser, "kreis-drucksache")
    pdf = download(browser, link_path(browser, "Als PDF herunterladen"))
    assert pdf.content.startswith(b"%PDF-") and pdf.content_type == "application/pdf"
    assert ".pdf" in pdf.disposition

    visit(browser, "/dokumente/monitoringbericht", "kreis-monitoringbericht-formular")
    fill(browser, "recipient", "Ausschuss für Soziales und Integration")
    press(browser, "Monitoringbericht erstellen", wait_for="Der Monitoringbericht ist erzeugt.")
    images = browser.driver.find_elements(By.CSS_SELECTOR, "figure.portal-chart img")
    assert len(images) == 2 and all(
        (i.get_attribute("src") or "").startswith("data:image/png") for i in images
    )
    check_page(browser, "kreis-monitoringbericht")
    visit(browser, "/dokumente/", "kreis-dokumente")


def test_the_integrationslotsin_chooses_her_home_login_at_the_kreis_portal(
    kreis: KreisNode, browser: Browser
) -> None:
    """The Ausländerbehörde has no node of its own: the Kreis's portal offers its login beside
    the Kreis's, and the Integrationslotsin arrives at her Fallkonferenzen."""
    abh = kreis.local.federation.organization("abh-kreis-mettmann")
    browser.portal_url = kreis.url.rstrip("/")
    visit(browser, "/anmelden?next=/fallkonferenzen/", "kreis-anmeldung-auswahl")
    assert f"Anmelden als Mitarbeiter*in: {abh.name}" in browser.text()
    login(browser, kreis.url, "l.lotsin", kreis.local.password(abh.alias, "l.lotsin"),
          path="/fallkonferenzen/", home_login=abh.identity_provider.alias)
    visit(browser, "/fallkonferenzen/", "kreis-lotsin-fallkonferenzen")
    assert "Meine Fallkonferenzen" in browser.text()
    assert "Leyla Lotsin" in browser.text()  # logged in as herself, through her home login
