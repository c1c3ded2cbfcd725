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

import contextlib
import os
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

# The browser flow lives in kimctl/devlogin.py (the demo logs in the same way); these names stay
# importable from here for the tests that use them.
from kimctl.devlogin import (  # noqa: F401 - re-exported
    _ANY_FORM,
    _FORM,
    REDIRECT_URI,
    LocalUsers,
    LoginFailed,
    _Browser,
    browser_login,
)
from kimnetz.runtime.auth import TokenValidator
from kimnetz.runtime.settings import Settings
from services.identity import federation as federation_file
from services.identity.domain import Federation
from services.identity.keycloak_sync import KeycloakSync, LocalPasswords

LOCAL_FILE = Path(__file__).resolve().parents[2] / "services" / "identity" / "federations" / "local.yaml"
START_HINT = ("start Keycloak with `make infra-up` (or set KEYCLOAK_URL, "
              "or run with Docker: KIM_TEST_SERVERS=containers)")
ADMIN_USER = os.environ.get("KIM_KEYCLOAK_ADMIN_USER", "admin")
ADMIN_PASSWORD = os.environ.get("KIM_KEYCLOAK_ADMIN_PASSWORD", "admin")


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


@dataclass
class LocalFederation:
    """A federation applied to the real Keycloak under unique realm names, for one test session."""

    server_url: str
    federation: Federation
    sync: KeycloakSync
    apply_seconds: float = 0.0
    _tokens: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def start(cls, path: Path = LOCAL_FILE, *, url: str | None = None,
              rename: bool = True) -> LocalFederation:
        """`rename=False` applies the file as it is: for a file whose realm names are already
        unique (`unique_federation_file`), which node processes read too."""
        server_url = require_keycloak(url)
        suffix = uuid.uuid4().hex[:8]
        federation = federation_file.load(path)
        if rename:
            federation = federation.renamed(suffix)
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

    @property
    def users(self) -> LocalUsers:
        return LocalUsers(self.server_url, self.federation, self.sync.passwords)

    def password(self, organization: str, username: str) -> str:
        return self.users.password(organization, username)

    def login(self, organization: str, username: str) -> dict[str, Any]:
        """A fresh brokered login of `username` of `organization`'s home realm."""
        return self.users.login(organization, username)

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


def unique_federation_file(target: Path, suffix: str, path: Path = LOCAL_FILE) -> Path:
    """A copy of a federation file with every realm name suffixed and every node id prefixed
    with `suffix`, for tests that run real node processes: those read the file themselves
    (`KIM_FEDERATION_FILE`), and a node's id names its databases and broker vhost, so the
    demo's nodes (kreis-mettmann, ...) and other test sessions are never touched."""
    import yaml

    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["realm"] = f"{data['realm']}-{suffix}"
    for organization in data["organizations"]:
        local = organization["identity_provider"].get("local_realm")
        if local is not None:
            local["realm"] = f"{local['realm']}-{suffix}"
    for node in data.get("nodes", []):
        node["id"] = f"{suffix}-{node['id']}"
    target.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return target


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
    (immigration_liaison), a.datenschutz (data_protection_officer); stadt-hilden: c.manager
    (case_manager), r.buero (clerk), h.technik (node_admin), j.datenschutz
    (data_protection_officer); caritas-mettmann: m.beratung (case_manager), s.datenschutz
    (data_protection_officer). Audience `kim-api`, issuer
    `local_federation.issuer`."""
    return local_federation.token_for


@pytest.fixture(scope="session")
def federation_validator(local_federation: LocalFederation) -> TokenValidator:
    """The validator an api process of this federation uses: issuer and audience of the
    federation, persons and nodes only of the organisations in the federation file."""
    from services.identity.organizations import FederationOrganizations

    return TokenValidator(local_federation.issuer, local_federation.federation.clients.api,
                          organizations=FederationOrganizations(local_federation.federation))
