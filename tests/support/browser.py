"""Browser tests of the portal (tests/e2e/portal): a real, headless Chromium from Debian's
packages (`chromium`, `chromium-driver`, installed by `scripts/infra.sh tools`), driven by
selenium.

- `browser` (pytest fixture): a fresh Chromium with its own profile folder, closed afterwards.
- `login(browser, portal_url, username, password)`: opens the portal, which sends the browser to
  Keycloak with the organisation's `kc_idp_hint`, fills the home identity provider's login form
  (a realm of the same local Keycloak), passes the broker's first-login page if it comes, and
  waits until the portal shows its start page. `browser.portal_url` is then that portal.
- `visit(browser, path, name)`: opens `path` (on `browser.portal_url`, or a full URL), saves a
  screenshot to out/portal/<name>.png and runs axe-core in the page (WCAG 2.1 AA: tags wcag2a,
  wcag2aa, wcag21a, wcag21aa); fails with a readable list of what axe found. `check_page`
  does the same for the page already open (after a form was sent).
Every portal page a test looks at goes through `visit` or `check_page`.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import pytest
from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "out" / "portal"
AXE = ROOT / "services" / "portal" / "node_modules" / "axe-core" / "axe.min.js"
WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--window-size=1280,1000", "--lang=de-DE"]


@dataclass
class Browser:
    driver: WebDriver
    profile: Path
    portal_url: str = ""
    visited: list[str] = field(default_factory=list)

    def wait(self, seconds: float = 20) -> WebDriverWait[WebDriver]:
        return WebDriverWait(self.driver, seconds)

    def url(self, path: str) -> str:
        return path if "://" in path else urljoin(self.portal_url + "/", path.lstrip("/"))

    @property
    def page(self) -> str:
        return str(self.driver.page_source)

    def text(self) -> str:
        return str(self.driver.find_element(By.TAG_NAME, "body").text)


def chromium() -> tuple[str, str]:
    """Debian's Chromium and its driver; a clear message where the set-up has not run."""
    binary = shutil.which("chromium") or ""
    driver = shutil.which("chromedriver") or ""
    if not binary or not driver:
        raise RuntimeError("Chromium fehlt: `scripts/infra.sh tools` (oder make test) installiert "
                           "die Debian-Pakete chromium und chromium-driver.")
    if not AXE.exists():
        raise RuntimeError(f"axe-core fehlt ({AXE}): `make setup` installiert die Pakete des Portals.")
    return binary, driver


def open_browser() -> Browser:
    binary, driver = chromium()
    profile = Path(tempfile.mkdtemp(prefix="kim-chromium-"))
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for argument in [*CHROMIUM_ARGS, f"--user-data-dir={profile}"]:
        options.add_argument(argument)
    options.add_experimental_option("prefs", {"intl.accept_languages": "de-DE,de"})
    return Browser(webdriver.Chrome(options=options, service=Service(driver)), profile)


@pytest.fixture
def browser() -> Iterator[Browser]:
    opened = open_browser()
    try:
        yield opened
    finally:
        opened.driver.quit()
        shutil.rmtree(opened.profile, ignore_errors=True)


def login(browser: Browser, portal_url: str, username: str, password: str, *,
          path: str = "/", home_login: str = "") -> None:
    """Log in through the portal, Keycloak and the home identity provider; afterwards the
    browser is on `path` of the portal (the page the person wanted). Where the portal offers
    several home logins (a Kreis's, hosting its Ausländerbehörde), `home_login` (an identity
    provider alias) is chosen, else the first: the node's own organisation."""
    browser.portal_url = portal_url.rstrip("/")
    browser.driver.get(browser.url(path))
    choose_home_login(browser, home_login)
    fill_home_login(browser, username, password)
    finish_login(browser)


def choose_home_login(browser: Browser, home_login: str) -> None:
    """On the portal's choice of logins, the link of `home_login` (or the first)."""
    def choice_or_login_form(driver: WebDriver) -> bool:
        return bool(driver.find_elements(By.ID, "anmeldung-auswahl")
                    or driver.find_elements(By.ID, "username"))
    browser.wait().until(choice_or_login_form)
    if not browser.driver.find_elements(By.ID, "anmeldung-auswahl"):
        return
    links = browser.driver.find_elements(By.CSS_SELECTOR, "#anmeldung-auswahl a")
    chosen = [a for a in links if a.get_attribute("id") == f"anmelden-{home_login}"] or links[:1]
    assert chosen, "the portal offers a choice of logins without any link"
    browser.driver.get(str(chosen[0].get_attribute("href")))


def fill_home_login(browser: Browser, username: str, password: str) -> None:
    """The home identity provider's login form (Keycloak's), as a person fills it."""
    wait = browser.wait()
    field = wait.until(expected_conditions.presence_of_element_located((By.ID, "username")))
    field.clear()
    field.send_keys(username)
    browser.driver.find_element(By.ID, "password").send_keys(password)
    browser.driver.find_element(By.ID, "kc-login").click()


def finish_login(browser: Browser, seconds: float = 30) -> None:
    """Pass the broker's first-login pages (review profile) and wait until the portal is back."""
    def back_or_interstitial(driver: WebDriver) -> bool:
        if driver.current_url.startswith(browser.portal_url):
            return True
        for form_id in ("kc-idp-review-profile-form", "kc-update-profile-form"):
            forms = driver.find_elements(By.ID, form_id)
            if forms:
                forms[0].submit()
                return False
        return False
    try:
        browser.wait(seconds).until(back_or_interstitial)
    except TimeoutException:
        raise AssertionError("Die Anmeldung kam nicht zum Portal zurück; Seite "
                             f"{browser.driver.current_url}:\n" + browser.text()[:1500]) from None
    browser.wait().until(expected_conditions.presence_of_element_located((By.ID, "inhalt")))


def visit(browser: Browser, path: str, name: str) -> None:
    """Open a portal page, save its screenshot and check it with axe-core (0 violations)."""
    browser.driver.get(browser.url(path))
    browser.wait().until(expected_conditions.presence_of_element_located((By.TAG_NAME, "main")))
    check_page(browser, name)


def check_page(browser: Browser, name: str) -> None:
    """Screenshot and axe-core check of the page that is open now."""
    OUT.mkdir(parents=True, exist_ok=True)
    browser.driver.save_screenshot(str(OUT / f"{name}.png"))
    browser.visited.append(browser.driver.current_url)
    violations = axe_violations(browser)
    assert not violations, (f"axe-core (WCAG 2.1 AA) fand auf {browser.driver.current_url} "
                            f"({name}):\n" + describe(violations))


def axe_violations(browser: Browser) -> list[dict[str, Any]]:
    driver = browser.driver
    if not driver.execute_script("return typeof window.axe === 'object'"):
        driver.execute_script(AXE.read_text(encoding="utf-8"))
    result = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {runOnly: {type: 'tag', values: arguments[0]}, resultTypes: ['violations']})"
        ".then(r => done(JSON.stringify(r.violations)), e => done(JSON.stringify([{id: 'axe-error', "
        "impact: 'critical', help: String(e), nodes: []}])));", WCAG_21_AA)
    violations: list[dict[str, Any]] = json.loads(result)
    return violations


def describe(violations: list[dict[str, Any]]) -> str:
    lines = []
    for violation in violations:
        lines.append(f"- {violation['id']} ({violation.get('impact')}): {violation.get('help')}")
        for node in violation.get("nodes", [])[:5]:
            lines.append(f"    {', '.join(map(str, node.get('target', [])))}: "
                         f"{node.get('failureSummary', '').replace(chr(10), ' ')[:300]}")
    return "\n".join(lines)
