"""Brokered login of the local development federation's test users, as a browser does it.

For the local federation only (services/identity/federations/local.yaml, whose home identity
providers are realms of the same local Keycloak): `kim demo`, `kim node join --dev-user` and the
tests log people in through the real broker (redirects, HTML forms of the home realm,
authorization code with PKCE), so their tokens carry what Keycloak really puts there. The
passwords are the ones `kim identity apply` generated into its passwords file; a real
organisation's people log in with `kim login` (device code) instead.
"""

from __future__ import annotations

import base64
import hashlib
import html
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import requests

from services.identity.domain import Federation
from services.identity.keycloak_sync import LocalPasswords

#: The login client allows http://127.0.0.1/* (services/identity/domain.py); nothing listens
#: there: the browser stops at the redirect and takes the code from its URL.
REDIRECT_URI = "http://127.0.0.1/kim-test-callback"
_FORM = re.compile(r'<form[^>]*id="kc-form-login"[^>]*action="([^"]+)"', re.S)
_ANY_FORM = re.compile(r'<form[^>]*action="([^"]+)"', re.S)


class LoginFailed(Exception):
    pass


def _pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def browser_login(
    server_url: str, realm: str, client_id: str, idp_alias: str, username: str, password: str,
    *, redirect_uri: str = REDIRECT_URI, timeout: float = 10.0,
) -> dict[str, Any]:
    """Brokered login as a browser does it; returns Keycloak's token response.

    The broker is asked for the organisation's IdP (`kc_idp_hint`), redirects to the home
    realm's login form, the form is posted, and the redirects lead back through the broker
    (first broker login creates the user and makes it a member of the organisation) to the
    client's redirect URI, whose code is exchanged for tokens."""
    browser = _Browser(timeout, redirect_uri)
    verifier, challenge = _pkce()
    base = f"{server_url.rstrip('/')}/realms/{realm}/protocol/openid-connect"
    response = browser.go("GET", f"{base}/auth", params={
        "client_id": client_id, "redirect_uri": redirect_uri, "response_type": "code",
        "scope": "openid", "state": secrets.token_hex(8), "nonce": secrets.token_hex(8),
        "code_challenge": challenge, "code_challenge_method": "S256", "kc_idp_hint": idp_alias,
    })
    match = _FORM.search(response.text) if isinstance(response, requests.Response) else None
    if match is None:
        raise LoginFailed(f"no login form of the home realm: {_describe(response)}")
    response = browser.go("POST", html.unescape(match.group(1)),
                          data={"username": username, "password": password, "credentialId": ""})
    for _ in range(3):
        if not isinstance(response, requests.Response):
            break
        form = _ANY_FORM.search(response.text)
        if response.status_code != 200 or form is None or _FORM.search(response.text):
            raise LoginFailed(f"login stopped: {_describe(response)}")
        # An interstitial form (e.g. review profile on first broker login): submit as is.
        fields = dict(re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', response.text))
        response = browser.go("POST", html.unescape(form.group(1)), data=fields)
    if not isinstance(response, str):
        raise LoginFailed(f"login did not finish: {_describe(response)}")
    query = parse_qs(urlsplit(response).query)
    if "code" not in query:
        raise LoginFailed(f"login refused: {query}")
    token = requests.post(f"{base}/token", timeout=timeout, data={
        "grant_type": "authorization_code", "client_id": client_id, "code": query["code"][0],
        "redirect_uri": redirect_uri, "code_verifier": verifier,
    })
    if token.status_code != 200:
        raise LoginFailed(f"code exchange refused: {token.status_code} {token.text}")
    result: dict[str, Any] = token.json()
    return result


class _Browser:
    """Follows redirects itself, keeping cookies as a browser does, and stops at the client's
    redirect URI (nothing listens there), returning that URL instead of a response.

    Keycloak marks its session cookies `Secure` and `Version=1`; a browser still sends them to
    http://127.0.0.1 (a trustworthy origin), requests' cookie jar does not, so they are kept
    plain."""

    def __init__(self, timeout: float, redirect_uri: str) -> None:
        self.session = requests.Session()
        self.timeout = timeout
        self.redirect_uri = redirect_uri

    def go(self, method: str, url: str, **kwargs: Any) -> requests.Response | str:
        response = self.session.request(method, url, timeout=self.timeout, allow_redirects=False, **kwargs)
        for _ in range(20):
            for cookie in self.session.cookies:
                cookie.secure = False
                cookie.version = 0
            if response.status_code not in (301, 302, 303, 307, 308):
                return response
            location = urljoin(response.url, response.headers["Location"])
            if location.startswith(self.redirect_uri):
                return location
            response = self.session.get(location, timeout=self.timeout, allow_redirects=False)
        raise LoginFailed("too many redirects")


def _describe(response: requests.Response | str) -> str:
    if isinstance(response, str):
        return response
    return f"{response.status_code} {response.url}: {_message(response.text)}"


def _message(page: str) -> str:
    found = re.search(r'class="[^"]*(?:kc-feedback-text|alert)[^"]*"[^>]*>(.*?)<', page, re.S)
    return html.unescape(found.group(1).strip()) if found else page[:300]


# --- the local federation's test users -----------------------------------------------------------

@dataclass(frozen=True)
class LocalUsers:
    """The test users of a federation applied to the local Keycloak, with the passwords its
    `apply` generated (`LocalPasswords` file)."""

    server_url: str
    federation: Federation
    passwords: LocalPasswords

    def password(self, organization: str, username: str) -> str:
        local = self.federation.organization(organization).identity_provider.local_realm
        if local is None:
            raise LoginFailed(f"{organization} hat keine lokale Anmeldung (kein Testsystem).")
        password = self.passwords.get(local.realm, username)
        if password is None:
            raise LoginFailed(
                f"Kein Passwort für {username} ({organization}) in {self.passwords.path}; "
                "zuerst `kim identity apply` ausführen.")
        return password

    def login(self, organization: str, username: str) -> dict[str, Any]:
        """A fresh brokered login of `username` through `organization`'s home realm."""
        org = self.federation.organization(organization)
        return browser_login(self.server_url, self.federation.realm, self.federation.clients.login,
                             org.identity_provider.alias, username,
                             self.password(organization, username))

    def access_token(self, organization: str, username: str) -> str:
        return str(self.login(organization, username)["access_token"])

    def with_role(self, organization: str, role: str) -> str | None:
        """The first test user of `organization` whose home groups map to `role`, or None."""
        org = self.federation.organization(organization)
        local = org.identity_provider.local_realm
        if local is None:
            return None
        groups = {m.value for m in org.role_mappings if m.role == role and m.claim == local.groups_claim}
        return next((u.username for u in local.users if groups & set(u.groups)), None)


    def holder_of(self, organization: str, role: str) -> str:
        """Like `with_role`, for a role the story needs: a federation file without such a user
        cannot run it."""
        username = self.with_role(organization, role)
        if username is None:
            raise LoginFailed(f"{organization} hat keine Testperson mit der Rolle {role}.")
        return username


def parse_user(value: str) -> tuple[str, str]:
    """`ORGANISATION/USERNAME` as the command line takes it."""
    organization, slash, username = value.partition("/")
    if not slash or not organization or not username:
        raise ValueError(f"erwartet ORGANISATION/BENUTZER, nicht {value!r}")
    return organization, username


def passwords_file(home: Path) -> Path:
    """Where `kim demo` lets `kim identity apply` keep the generated passwords."""
    return home / "identity" / "passwords.json"
