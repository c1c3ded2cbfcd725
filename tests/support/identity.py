"""Real tokens from a real Keycloak for tests of every service.

`LocalFederation` applies a federation file (by default services/identity/federations/local.yaml)
to the local Keycloak under unique realm names, so many test sessions share one server, and
deletes those realms afterwards. `browser_login` logs a home-realm user in through the broker
exactly as a browser does (redirects, HTML forms, authorization code with PKCE), so the token
carries what Keycloak really puts there: the `organization` claim and the mapped realm roles.

Use it through the pytest fixtures at the end of this module (`local_federation`, `token_for`,
`federation_validator`); a conftest.py makes them available with

    from tests.support.identity import federation_validator, local_federation, token_for  # noqa: F401

or directly:

    federation = LocalFederation.start()          # fails with a hint if Keycloak is down
    token = federation.token_for("stadt-hilden", "c.manager")
    ...
    federation.close()
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import html
import os
import re
import secrets
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests

from kim.runtime.auth import TokenValidator
from kim.runtime.settings import Settings
from services.identity import federation as federation_file
from services.identity.domain import Federation
from services.identity.keycloak_sync import KeycloakSync, LocalPasswords

LOCAL_FILE = Path(__file__).resolve().parents[2] / "services" / "identity" / "federations" / "local.yaml"
START_HINT = "start Keycloak with `make infra-up` (or set KEYCLOAK_URL)"
ADMIN_USER = os.environ.get("KIM_KEYCLOAK_ADMIN_USER", "admin")
ADMIN_PASSWORD = os.environ.get("KIM_KEYCLOAK_ADMIN_PASSWORD", "admin")
REDIRECT_URI = "http://127.0.0.1/kim-test-callback"
_FORM = re.compile(r'<form[^>]*id="kc-form-login"[^>]*action="([^"]+)"', re.S)
_ANY_FORM = re.compile(r'<form[^>]*action="([^"]+)"', re.S)


def keycloak_url() -> str:
    return Settings().keycloak_url.rstrip("/")


def require_keycloak(url: str | None = None) -> str:
    """The Keycloak URL, or a FAILED test saying what to start (never a skip)."""
    url = (url or keycloak_url()).rstrip("/")
    try:
        requests.get(f"{url}/realms/master", timeout=5).raise_for_status()
    except requests.RequestException as exc:
        pytest.fail(f"Keycloak is not reachable at {url} ({exc}); {START_HINT}", pytrace=False)
    return url


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


@dataclass
class LocalFederation:
    """A federation applied to the real Keycloak under unique realm names, for one test session."""

    server_url: str
    federation: Federation
    sync: KeycloakSync
    apply_seconds: float = 0.0
    _tokens: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def start(cls, path: Path = LOCAL_FILE, *, url: str | None = None) -> LocalFederation:
        server_url = require_keycloak(url)
        suffix = uuid.uuid4().hex[:8]
        federation = federation_file.load(path).renamed(suffix)
        passwords = LocalPasswords(Path(tempfile.mkdtemp(prefix="kim-identity-")) / "passwords.json")
        sync = KeycloakSync(server_url, admin_user=ADMIN_USER, admin_password=ADMIN_PASSWORD,
                            passwords=passwords)
        result = sync.apply(federation)
        return cls(server_url, federation, sync, result.seconds)

    @property
    def realm(self) -> str:
        return self.federation.realm

    @property
    def issuer(self) -> str:
        return f"{self.server_url}/realms/{self.realm}"

    def password(self, organization: str, username: str) -> str:
        local = self.federation.organization(organization).identity_provider.local_realm
        assert local is not None, f"{organization} has no local home realm"
        password = self.sync.passwords.get(local.realm, username)
        assert password is not None, f"no password for {username} (not in the federation file?)"
        return password

    def login(self, organization: str, username: str) -> dict[str, Any]:
        """A fresh brokered login of `username` of `organization`'s home realm."""
        org = self.federation.organization(organization)
        return browser_login(self.server_url, self.realm, self.federation.clients.login,
                             org.identity_provider.alias, username, self.password(organization, username))

    def token_for(self, organization: str, username: str) -> str:
        """An access token of that user (logins are cached per session; tokens live 5 minutes,
        longer than a test needs, and a new login is made when one is older than 4)."""
        import time

        key = (organization, username)
        cached = self._tokens.get(key)
        if cached is None or time.time() - cached["_at"] > 240:
            cached = {**self.login(organization, username), "_at": time.time()}
            self._tokens[key] = cached
        return str(cached["access_token"])

    def service_account_secret(self, node_id: str) -> str:
        node = next(n for n in self.federation.nodes if n.id == node_id)
        admin = self.sync.admin(self.realm)
        secret: str = admin.get_client_secrets(admin.get_client_id(node.client_id))["value"]
        return secret

    def close(self) -> None:
        admin = self.sync.admin("master")
        for realm in [self.realm, *(r.realm for r in self.federation.local_realms())]:
            # A realm that is already gone is what we want.
            with contextlib.suppress(Exception):
                admin.delete_realm(realm)


# --- pytest fixtures (import them into a conftest.py to use them) ---------------------------------

@pytest.fixture(scope="session")
def local_federation() -> Iterator[LocalFederation]:
    """The local demo federation (Kreis Mettmann with KI and ABH, Stadt Hilden, Caritas) applied
    to the real Keycloak under unique realm names for this test session, deleted afterwards.
    Fails (never skips) with `make infra-up` as the hint when Keycloak is not reachable."""
    federation = LocalFederation.start()
    try:
        yield federation
    finally:
        federation.close()


@pytest.fixture(scope="session")
def token_for(local_federation: LocalFederation) -> Callable[[str, str], str]:
    """`token_for(organization_alias, username)` -> a real access token from a brokered login.

    Users and their roles (services/identity/federations/local.yaml):
    kreis-mettmann: k.koordination (coordinator, steering_member), d.schutz
    (data_protection_officer), n.admin (node_admin); abh-kreis-mettmann: l.lotsin
    (immigration_liaison); stadt-hilden: c.manager (case_manager), r.buero (clerk),
    h.technik (node_admin);
    caritas-mettmann: m.beratung (case_manager). Audience `kim-api`, issuer
    `local_federation.issuer`."""
    return local_federation.token_for


@pytest.fixture(scope="session")
def federation_validator(local_federation: LocalFederation) -> TokenValidator:
    """The validator an api process of this federation uses: issuer and audience of the
    federation, persons and nodes only of the organisations in the federation file."""
    from services.identity.organizations import FederationOrganizations

    return TokenValidator(local_federation.issuer, local_federation.federation.clients.api,
                          organizations=FederationOrganizations(local_federation.federation))
