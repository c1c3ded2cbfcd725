"""Every case and data protection page in a real Chromium with axe-core (WCAG 2.1 AA), including
the states a walk through real nodes rarely reaches: error summaries, a revoked consent with an
unconfirmed erasure, a broken chain. The portal runs in this process on the hand-written fake
apis (tests/support/fakes/portal.py); the browser carries the session cookie of a logged-in
test client. Screenshots go to out/portal/axe-*.png."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from selenium.webdriver.common.by import By
from werkzeug.serving import make_server

from kim.case.v1 import case_pb2
from kimnetz.errors import InvalidArgument
from kimnetz.validation import FieldViolation
from tests.support.browser import Browser, browser, check_page, visit
from tests.support.fakes.portal import CASE_MANAGER_STADT, DPO_STADT, Portal, make_portal
from tests.unit.portal.test_einwilligungen_pages import with_consents
from tests.unit.portal.test_faelle_pages import CASE_ID, plan_case, zielgruppen_result

__all__ = ["browser"]  # the fixture, used by name

CASE = f"/faelle/{CASE_ID}"
CASE_PAGES = [
    "/faelle/",
    "/faelle/neu",
    CASE,
    f"{CASE}/einwilligungen",
    f"{CASE}/einwilligungen/k1/widerruf",
    f"{CASE}/fallkonferenz",
    f"{CASE}/bedarfe",
    f"{CASE}/plan",
    f"{CASE}/plan/g1/schritte",
    f"{CASE}/plan/g1/fortschritt",
    f"{CASE}/plan/g1/s1/abschluss",
    f"{CASE}/barrieren",
    f"{CASE}/barrieren/b1/status",
    f"{CASE}/journal",
    f"{CASE}/zustaendigkeit",
    f"{CASE}/abschluss",
    f"{CASE}/einsichten",
]


def stocked(person: Any) -> Portal:
    """A portal on fakes whose case has a plan, a barrier, consents (one revoked) and a trail."""
    portal = make_portal(person)
    case = plan_case()
    consents = with_consents(make_portal()).apis.case.answers["GetCase"]
    case.consents.extend(consents.consents)  # type: ignore[union-attr]
    portal.apis.case.answer("GetCase", case)
    portal.apis.case.answer("GetPerson", case_pb2.Person(given_name="Amina", family_name="Haddad"))
    portal.apis.case.answer("CheckEligibility", zielgruppen_result())
    portal.apis.case.answer(
        "ListCases",
        case_pb2.ListCasesResponse(
            cases=[
                case_pb2.CaseBrief(
                    case_id=CASE_ID,
                    pseudonym="KIM-2026-7F3K9Q",
                    status_label="Integrationsplanung",
                    zielgruppe="umf",
                )
            ]
        ),
    )
    trail = case_pb2.ListAuditEntriesResponse()
    trail.entries.add(
        sequence=1,
        call="GetPerson",
        actor_subject="c.manager",
        actor_org="stadt-hilden",
        actor_roles=["case_manager"],
        case_id=CASE_ID,
        purpose="Fallakte",
        allowed=True,
    )
    trail.entries.add(
        sequence=2,
        call="RevokeConsent",
        actor_subject="c.manager",
        actor_org="stadt-hilden",
        case_id=CASE_ID,
        allowed=True,
        detail="Widerruf: Einwilligung aaaa1111bbbb für kreis-mettmann; Löschersuchen an kreis-mettmann",
    )
    trail.entries.add(
        sequence=3,
        call="GetCase",
        actor_subject="m.beratung",
        actor_org="caritas-mettmann",
        case_id=CASE_ID,
        allowed=False,
        detail="fremder Fall",
    )
    portal.apis.case.answer("ListAuditEntries", trail)
    portal.apis.case.answer(
        "VerifyAuditChain",
        case_pb2.VerifyAuditChainResponse(
            intact=False, checked=3, first_broken_sequence=2, reason="Prüfsumme stimmt nicht"
        ),
    )
    return portal


@pytest.fixture
def served(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Portal]:
    portal = stocked(request.param)
    portal.client.get("/")
    cookie = next(iter(portal.client._cookies.values()))
    server = make_server("127.0.0.1", 0, portal.app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    browser.portal_url = f"http://127.0.0.1:{server.server_port}"
    browser.driver.get(f"{browser.portal_url}/healthz")
    browser.driver.add_cookie({"name": cookie.key, "value": cookie.value, "path": "/"})
    try:
        yield portal
    finally:
        server.shutdown()


def submit(browser: Browser, element_id: str) -> None:
    element = browser.driver.find_element(By.ID, element_id)
    browser.driver.execute_script(
        "arguments[0].scrollIntoView({block: 'center', behavior: 'instant'});", element
    )
    element.click()


@pytest.mark.parametrize("served", [CASE_MANAGER_STADT], indirect=True)
def test_every_case_page_and_its_error_summary_passes_axe(served: Portal, browser: Browser) -> None:
    for path in CASE_PAGES:
        visit(browser, path, "axe" + path.replace(CASE_ID, "fall").replace("/", "-").rstrip("-"))
    served.apis.case.answer(
        "ProposeCase",
        InvalidArgument(
            [
                FieldViolation("person.given_name", "Angabe fehlt."),
                FieldViolation("person.birth_date", "Datum fehlt."),
            ]
        ),
    )
    visit(browser, "/faelle/neu", "axe-faelle-neu")
    submit(browser, "vorschlagen")
    browser.wait().until(lambda d: d.find_elements(By.ID, "fehler"))
    check_page(browser, "axe-faelle-neu-fehler")
    assert [a.text for a in browser.driver.find_elements(By.CSS_SELECTOR, "#fehler a")] == [
        "Vorname: Angabe fehlt.",
        "Geburtsdatum: Datum fehlt.",
    ]
    served.apis.case.answer(
        "RecordConsent",
        InvalidArgument(
            [
                FieldViolation("categories", "Mindestens einen Wert angeben."),
                FieldViolation("expires_on", "Das Ablaufdatum muss nach dem Datum der Unterschrift liegen."),
            ]
        ),
    )
    visit(browser, f"{CASE}/einwilligungen", "axe-einwilligungen")
    browser.driver.find_element(By.ID, "f-signed_on").send_keys("04.03.2026")
    submit(browser, "einwilligung-erfassen")
    browser.wait().until(lambda d: d.find_elements(By.ID, "fehler"))
    check_page(browser, "axe-einwilligungen-fehler")
    links = [a.text for a in browser.driver.find_elements(By.CSS_SELECTOR, "#fehler a")]
    assert links == [
        "Mindestens einen Wert angeben.",
        "Das Ablaufdatum muss nach dem Datum der Unterschrift liegen.",
    ]


@pytest.mark.parametrize("served", [DPO_STADT], indirect=True)
def test_every_data_protection_page_passes_axe(served: Portal, browser: Browser) -> None:
    for path in (
        "/datenschutz/",
        "/datenschutz/?abgewiesen=1",
        "/datenschutz/pruefung",
        "/datenschutz/einwilligungen",
    ):
        visit(browser, path, "axe" + path.replace("/", "-").replace("?", "-").replace("=", "").rstrip("-"))
    visit(browser, "/datenschutz/pruefung", "axe-datenschutz-pruefung")
    submit(browser, "kette-pruefen")
    browser.wait().until(lambda d: d.find_elements(By.ID, "ergebnis"))
    check_page(browser, "axe-datenschutz-pruefung-beschaedigt")
    assert "Die Kette ist beschädigt." in browser.text()
