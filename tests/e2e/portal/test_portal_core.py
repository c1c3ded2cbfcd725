"""The portal's core in a real Chromium against a real node (`kim node up` starts api, worker
and portal) of a federation of its own on the real Keycloak: login through the organisation's
home identity provider (kc_idp_hint), logout that ends the Keycloak session, a session that
ends on the server returns to login and then to the page, refresh before expiry, CSRF refusal,
security headers, keyboard-only operation; axe-core on every portal page visited."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pymongo
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions

from kimctl import nodes
from kimnetz.runtime.broker_admin import node_user
from kimnetz.runtime.settings import Settings
from tests.e2e.test_node_smoke import free_port
from tests.support import servers
from tests.support.browser import Browser, browser, check_page, fill_home_login, finish_login, login, visit
from tests.support.identity import LocalFederation, unique_federation_file

__all__ = ["browser"]  # the fixture, used by name

CARITAS = "caritas-mettmann"


@dataclass
class PortalNode:
    local: LocalFederation
    node_id: str
    settings: Settings
    url: str

    def password(self, username: str) -> str:
        return self.local.password(CARITAS, username)

    def sessions(self) -> pymongo.collection.Collection[dict[str, object]]:
        client: pymongo.MongoClient[dict[str, object]] = pymongo.MongoClient(self.settings.mongodb_uri)
        return client[self.settings.database_name("portal")]["sessions"]


@pytest.fixture(scope="module")
def caritas(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PortalNode]:
    """The Caritas node of a federation of its own, with its portal."""
    home = tmp_path_factory.mktemp("kim-portal-home")
    file = unique_federation_file(home / "federation.yaml", f"p{uuid.uuid4().hex[:6]}")
    local = LocalFederation.start(file, rename=False)
    node_id = next(n.id for n in local.federation.nodes if n.organization == CARITAS)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KIM_HOME", str(home))
        base = Settings()
        try:
            servers.require_tcp("MongoDB-wire server (FerretDB)", base.mongodb_uri, 27017)
            nodes.init(nodes.NodeSpec(node_id, CARITAS, free_port(), file, free_port()), base)
            settings = nodes.up(node_id)
            yield PortalNode(local, node_id, settings, nodes.portal_url(node_id))
        finally:
            nodes.down(node_id)
            broker = servers.broker_admin(base)
            broker.delete_vhost(node_id)
            broker.delete_user(node_user(node_id))
            servers.drop_databases(base.model_copy(update={"node_id": node_id}))
            local.close()


def test_node_status_shows_the_portal_serving(caritas: PortalNode) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KIM_HOME", str(Path(caritas.settings.tls_dir).parents[2]))
        states = nodes.status(caritas.node_id)
    assert states["portal"].startswith("läuft") and f"{caritas.url}: SERVING" in states["portal"]


def test_login_at_the_caritas_node_goes_to_the_caritas_login_and_back(
        caritas: PortalNode, browser: Browser) -> None:
    browser.portal_url = caritas.url
    browser.driver.get(f"{caritas.url}/")
    browser.wait().until(expected_conditions.presence_of_element_located((By.ID, "username")))
    # kc_idp_hint skipped the broker's choice: this is the Caritas realm's own login page.
    assert f"/realms/{caritas.local.federation.organization(CARITAS).identity_provider.local_realm.realm}/" \
        in browser.driver.current_url  # type: ignore[union-attr]
    fill_home_login(browser, "m.beratung", caritas.password("m.beratung"))
    finish_login(browser)
    assert browser.driver.current_url == f"{caritas.url}/"
    visit(browser, "/", "core-start-caritas")
    text = browser.text()
    assert "Maria Beratung" in text and "Caritasverband für den Kreis Mettmann" in text
    assert "Case Manager*in" in text and "Überprüfungen Ihrer Fälle" in text
    cookies = browser.driver.get_cookies()
    assert [c["name"] for c in cookies if c["domain"] == "127.0.0.1"] == [
        f"kim_portal_{caritas.node_id.replace('-', '_')}"]
    portal_cookie = cookies[0]
    assert portal_cookie["httpOnly"] and portal_cookie["sameSite"] == "Lax"
    assert "eyJ" not in portal_cookie["value"]  # an id, no token


def test_logout_ends_the_keycloak_session_too(caritas: PortalNode, browser: Browser) -> None:
    login(browser, caritas.url, "m.beratung", caritas.password("m.beratung"))
    browser.driver.find_element(By.CSS_SELECTOR, ".portal-logout button").click()
    browser.wait().until(lambda d: d.current_url.startswith(f"{caritas.url}/abgemeldet"))
    check_page(browser, "core-abgemeldet")
    assert "Sie sind abgemeldet" in browser.text()
    # Keycloak asks for the password again: its session (broker and home) has ended.
    browser.driver.get(f"{caritas.url}/")
    browser.wait().until(expected_conditions.presence_of_element_located((By.ID, "username")))
    assert not browser.driver.current_url.startswith(caritas.url)


def test_a_session_ended_on_the_server_returns_to_login_and_then_to_the_page(
        caritas: PortalNode, browser: Browser) -> None:
    login(browser, caritas.url, "m.beratung", caritas.password("m.beratung"))
    sid = browser.driver.get_cookies()[0]["value"]
    assert caritas.sessions().delete_one({"_id": sid}).deleted_count == 1
    browser.driver.get(f"{caritas.url}/betrieb/?ansicht=1")
    # Keycloak's session still runs, so the login passes without a form, back to the page.
    browser.wait().until(lambda d: d.current_url.startswith(caritas.url) and "/anmelden" not in d.current_url
                         and "/anmeldung/" not in d.current_url)
    assert browser.driver.current_url == f"{caritas.url}/betrieb/?ansicht=1"
    assert "Nicht gefunden" in browser.text()  # a case manager has no IT page


def test_the_access_token_is_refreshed_before_it_expires(caritas: PortalNode, browser: Browser) -> None:
    login(browser, caritas.url, "m.beratung", caritas.password("m.beratung"))
    sid = browser.driver.get_cookies()[0]["value"]
    stored = caritas.sessions().find_one({"_id": sid})
    assert stored is not None
    data = json.loads(str(stored["data"]))
    old = data["tokens"]["access_token"]
    data["tokens"]["expires_at"] = time.time() + 5  # about to expire
    caritas.sessions().update_one({"_id": sid}, {"$set": {"data": json.dumps(data)}})
    visit(browser, "/", "core-start-nach-refresh")
    assert "Maria Beratung" in browser.text() and "nicht erreichbar" not in browser.text()
    fresh = json.loads(str(caritas.sessions().find_one({"_id": sid})["data"]))  # type: ignore[index]
    assert fresh["tokens"]["access_token"] != old and fresh["tokens"]["expires_at"] > time.time() + 60


def test_a_form_without_csrf_token_is_refused(caritas: PortalNode, browser: Browser) -> None:
    login(browser, caritas.url, "m.beratung", caritas.password("m.beratung"))
    # The person's own browser sends the logout form without its token (as a forged form would).
    browser.driver.execute_script(
        "document.querySelector('.portal-logout input[name=csrf_token]').remove();")
    browser.driver.find_element(By.CSS_SELECTOR, ".portal-logout button").click()
    browser.wait().until(lambda d: "Das Formular wurde nicht angenommen" in d.page_source)
    check_page(browser, "core-csrf-abgelehnt")
    visit(browser, "/", "core-start-nach-csrf")
    assert "Maria Beratung" in browser.text()  # still logged in: nothing happened


def test_security_headers_on_pages_and_assets(caritas: PortalNode) -> None:
    for path in ("/anmelden", "/healthz", "/static/kern/kern.min.css", "/static/portal.css"):
        request = urllib.request.Request(f"{caritas.url}{path}")  # noqa: S310 - http to our portal
        try:
            with urllib.request.build_opener(NoRedirect()).open(request, timeout=5) as answer:
                headers = answer.headers
        except urllib.error.HTTPError as redirect:
            headers = redirect.headers
        csp = headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp, path
        assert headers["X-Content-Type-Options"] == "nosniff" and headers["Referrer-Policy"] == "same-origin"


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def test_keyboard_alone_logs_in_and_out(caritas: PortalNode, browser: Browser) -> None:
    """The login form and the logout button, operated with the keyboard only."""
    browser.portal_url = caritas.url
    browser.driver.get(f"{caritas.url}/")
    browser.wait().until(expected_conditions.presence_of_element_located((By.ID, "username")))
    active = browser.driver.switch_to.active_element
    if active.get_attribute("id") != "username":  # Keycloak focuses the first field; else Tab there
        for _ in range(10):
            active.send_keys(Keys.TAB)
            active = browser.driver.switch_to.active_element
            if active.get_attribute("id") == "username":
                break
    assert active.get_attribute("id") == "username"
    active.send_keys("m.beratung", Keys.TAB)
    browser.driver.switch_to.active_element.send_keys(caritas.password("m.beratung"), Keys.ENTER)
    finish_login(browser)
    check_page(browser, "core-start-tastatur")
    # Tab from the top: first the skip link, which leads into the content.
    body = browser.driver.find_element(By.TAG_NAME, "body")
    body.send_keys(Keys.TAB)
    skip = browser.driver.switch_to.active_element
    assert skip.text == "Zum Inhalt springen"
    order = []
    for _ in range(8):
        element = browser.driver.switch_to.active_element
        order.append(element.text.strip())
        if element.text.strip() == "Abmelden":
            element.send_keys(Keys.ENTER)
            break
        element.send_keys(Keys.TAB)
    assert "Abmelden" in order, order
    browser.wait().until(lambda d: d.current_url.startswith(f"{caritas.url}/abgemeldet"))
    check_page(browser, "core-abgemeldet-tastatur")
