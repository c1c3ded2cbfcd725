"""Helpers of the Kreis' browser tests (test_portal_kreis.py, test_portal_story.py): filling
fields by the api's field names, pressing a form's button, and reading a download with the
browser's session cookie (a headless Chromium saves files where a test cannot see them)."""

from __future__ import annotations

import urllib.request
from dataclasses import dataclass
from typing import Any

from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import Select

from services.portal.forms import field_id
from tests.support.browser import Browser

#: Into view at once: the page scrolls smoothly (CSS), and a click during the scroll misses.
SCROLL = "arguments[0].scrollIntoView({block: 'center', behavior: 'instant'});"


def click(browser: Browser, element: Any) -> None:
    """Clicks `element` after scrolling it into view."""
    browser.driver.execute_script(SCROLL, element)
    element.click()


def fill(browser: Browser, name: str, value: str) -> None:
    """Types `value` into the field the api calls `name` (its id is `field_id(name)`)."""
    element = browser.driver.find_element(By.ID, field_id(name))
    if element.tag_name == "select":
        Select(element).select_by_value(value)
        return
    element.clear()
    element.send_keys(value)


def choose(browser: Browser, name: str, value: str) -> None:
    """Ticks the radio button or checkbox `value` of the group `name`."""
    element = browser.driver.find_element(By.CSS_SELECTOR, f'input[name="{name}"][value="{value}"]')
    browser.driver.execute_script(SCROLL, element)
    element.click()


def press(browser: Browser, label: str, *, wait_for: str = "") -> None:
    """Presses the submit button labelled `label`; waits for `wait_for` in the page afterwards."""
    button = browser.driver.find_element(
        By.XPATH, f'//main//button[@type="submit"][normalize-space(.)="{label}"]'
    )
    browser.driver.execute_script(SCROLL, button)
    button.click()
    if wait_for:
        browser.wait(60).until(
            expected_conditions.text_to_be_present_in_element((By.TAG_NAME, "main"), wait_for)
        )


@dataclass
class Download:
    status: int
    content_type: str
    disposition: str
    content: bytes


def download(browser: Browser, path: str) -> Download:
    """GET `path` as the logged-in browser (its cookies), as a click on a download link would."""
    cookies = "; ".join(f"{c['name']}={c['value']}" for c in browser.driver.get_cookies())
    request = urllib.request.Request(browser.url(path), headers={"Cookie": cookies})  # noqa: S310
    with urllib.request.urlopen(request, timeout=120) as response:  # noqa: S310 - the test's own portal
        return Download(
            response.status,
            response.headers.get("Content-Type", ""),
            response.headers.get("Content-Disposition", ""),
            response.read(),
        )


def link_path(browser: Browser, text: str) -> str:
    """The href of the link in the main part whose text contains `text`."""
    element = browser.driver.find_element(By.XPATH, f'//main//a[contains(normalize-space(.), "{text}")]')
    return str(element.get_attribute("href"))
