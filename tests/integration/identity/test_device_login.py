"""`kim login`'s device authorization grant against the real Keycloak: the person confirms in
a browser (identity-first login by e-mail domain -> home realm form -> consent), the command
line's poll then gets a token of the person's organisation, stored with mode 0600."""

from __future__ import annotations

import html
import stat
from dataclasses import replace
from pathlib import Path
from urllib.parse import urljoin

from services.identity.device_login import DeviceLogin, current_token, save_token
from tests.support.identity import _ANY_FORM, _FORM, LocalFederation, _Browser


def test_device_login_yields_a_stored_token_of_the_organisation(
    local_federation: LocalFederation, federation_validator: object, tmp_path: Path,
) -> None:
    device = DeviceLogin(local_federation.issuer, "kim-cli")
    authorization = device.start()
    browser = _Browser(10, "http://127.0.0.1/unused")
    page = browser.go("GET", authorization.verification_uri_complete)
    assert not isinstance(page, str)
    # Organizations make the login identity-first: the e-mail domain picks the home IdP.
    page = browser.go("POST", html.unescape(_ANY_FORM.search(page.text).group(1)),  # type: ignore[union-attr]
                      data={"username": "r.buero@hilden.de"})
    assert not isinstance(page, str) and _FORM.search(page.text), "no home-realm login form"
    page = browser.go("POST", html.unescape(_FORM.search(page.text).group(1)),  # type: ignore[union-attr]
                      data={"username": "r.buero",
                            "password": local_federation.password("stadt-hilden", "r.buero")})
    assert not isinstance(page, str) and "Grant Access" in page.text
    consent = urljoin(page.url, html.unescape(_ANY_FORM.search(page.text).group(1)))  # type: ignore[union-attr]
    browser.go("POST", consent, data={"accept": "Yes"})

    token = device.poll(replace(authorization, interval=0.5))
    path = save_token(token, local_federation.issuer, "kim-cli", tmp_path / "kim" / "token.json")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    principal = federation_validator.validate(current_token(path))  # type: ignore[attr-defined]
    assert principal.organization == "stadt-hilden"
    assert "clerk" in principal.roles
