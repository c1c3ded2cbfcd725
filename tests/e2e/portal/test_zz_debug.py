from tests.e2e.portal.test_portal_core import *  # noqa
from tests.e2e.portal.test_portal_core import caritas, browser  # noqa

def test_debug_logout(caritas, browser) -> None:  # noqa
    login(browser, caritas.url, "m.beratung", caritas.password("m.beratung"))
    browser.driver.find_element(By.CSS_SELECTOR, ".portal-logout button").click()
    time.sleep(4)
    print("URL", browser.driver.current_url)
    print(browser.text()[:1000])
    browser.driver.save_screenshot("/tmp/logout.png")
    assert False
