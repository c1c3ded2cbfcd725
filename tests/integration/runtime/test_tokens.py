"""Tokens from the real local Keycloak, obtained with python-keycloak, checked by the shared
validator: signature, issuer, audience, expiry."""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Iterator

import pytest

from kimctl import devrealm
from kimnetz.errors import Unauthenticated
from kimnetz.runtime.auth import TokenValidator
from kimnetz.runtime.service_account import ServiceAccount
from kimnetz.runtime.settings import Settings
from tests.support import servers


@pytest.fixture(scope="module")
def settings() -> Settings:
    base = Settings()
    servers.require_tcp("Keycloak", base.keycloak_url, 8080)
    return devrealm.settings_with_secret(base)


@pytest.fixture(scope="module")
def token(settings: Settings) -> str:
    account = ServiceAccount(
        settings.keycloak_url, settings.keycloak_realm, settings.client_id, settings.client_secret
    )
    return account.token()


def validator(settings: Settings, **overrides: str) -> TokenValidator:
    return TokenValidator(
        overrides.get("issuer", settings.issuer), overrides.get("audience", settings.api_audience)
    )


def test_service_account_token_is_validated(settings: Settings, token: str) -> None:
    principal = validator(settings).validate(token)
    assert principal.client_id == settings.client_id
    assert principal.subject
    assert principal.claims["iss"] == settings.issuer


def test_token_is_reused_until_shortly_before_it_expires(settings: Settings) -> None:
    account = ServiceAccount(
        settings.keycloak_url, settings.keycloak_realm, settings.client_id, settings.client_secret
    )
    assert account.token() == account.token()


def _segments(token: str) -> list[str]:
    return token.split(".")


def test_tampered_payload_is_rejected(settings: Settings, token: str) -> None:
    header, payload, signature = _segments(token)
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["realm_access"] = {"roles": ["node_admin", "data_protection_officer"]}
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    with pytest.raises(Unauthenticated, match="ungültig"):
        validator(settings).validate(f"{header}.{forged}.{signature}")


def test_tampered_signature_is_rejected(settings: Settings, token: str) -> None:
    header, payload, signature = _segments(token)
    flipped = ("A" if signature[10] != "A" else "B").join((signature[:10], signature[11:]))
    with pytest.raises(Unauthenticated):
        validator(settings).validate(f"{header}.{payload}.{flipped}")


def test_token_for_another_audience_is_rejected(settings: Settings, token: str) -> None:
    with pytest.raises(Unauthenticated, match="nicht für KIM-Netz"):
        validator(settings, audience="portal-of-someone-else").validate(token)


def test_token_of_another_issuer_is_rejected(settings: Settings, token: str) -> None:
    foreign = TokenValidator(
        settings.issuer.replace("/realms/kim", "/realms/master"), settings.api_audience,
        jwks_url=f"{settings.issuer}/protocol/openid-connect/certs",
    )
    with pytest.raises(Unauthenticated, match="fremden Aussteller"):
        foreign.validate(token)


@pytest.fixture
def short_lived_client(settings: Settings) -> Iterator[tuple[str, str]]:
    """A temporary service-account client of the realm whose tokens live one second."""
    admin = devrealm.admin(settings)
    client_id = f"test-expiry-{uuid.uuid4().hex[:8]}"
    internal = admin.create_client({
        "clientId": client_id, "publicClient": False, "serviceAccountsEnabled": True,
        "standardFlowEnabled": False, "attributes": {"access.token.lifespan": "1"},
        "protocolMappers": [{
            "name": "audience", "protocol": "openid-connect",
            "protocolMapper": "oidc-audience-mapper",
            "config": {"included.client.audience": settings.api_audience,
                       "access.token.claim": "true"},
        }],
    })
    try:
        yield client_id, admin.get_client_secrets(internal)["value"]
    finally:
        admin.delete_client(internal)


def test_expired_token_is_rejected(settings: Settings, short_lived_client: tuple[str, str]) -> None:
    client_id, secret = short_lived_client
    token = ServiceAccount(
        settings.keycloak_url, settings.keycloak_realm, client_id, secret
    ).token()
    strict = validator(settings)
    assert strict.validate(token).client_id == client_id
    strict.leeway = 0
    time.sleep(2.1)
    with pytest.raises(Unauthenticated, match="abgelaufen"):
        strict.validate(token)


def test_unsigned_token_is_rejected(settings: Settings, token: str) -> None:
    _, payload, _ = _segments(token)
    header = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=").decode()
    with pytest.raises(Unauthenticated, match="nicht zulässig signiert"):
        validator(settings).validate(f"{header}.{payload}.")


def test_tokens_keep_validating_with_cached_keys_when_the_jwks_url_becomes_unreachable(
        settings: Settings, token: str) -> None:
    """Keycloak's real JWKS through a relay on this machine, which then goes away: the URL
    refuses connections. Calls go on with the cached key, one failed fetch is made for the whole
    burst (back-off), and a token of an unknown key fails at once without another fetch."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    import jwt
    import requests
    from cryptography.hazmat.primitives.asymmetric import rsa

    certs = f"{settings.issuer}/protocol/openid-connect/certs"

    class Relay(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = requests.get(certs, timeout=10).content
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    relay = ThreadingHTTPServer(("127.0.0.1", 0), Relay)
    threading.Thread(target=relay.serve_forever, daemon=True).start()
    offset = [0.0]
    checking = TokenValidator(settings.issuer, settings.api_audience,
                              jwks_url=f"http://127.0.0.1:{relay.server_port}/certs",
                              jwks_cache_seconds=60, timeout_seconds=2,
                              clock=lambda: time.time() + offset[0])
    assert checking.validate(token).client_id == settings.client_id
    relay.shutdown()
    relay.server_close()
    offset[0] = 61.0  # the keys aged out; the relay's port now refuses connections

    answered: list[str | None] = []

    def burst() -> None:
        for _ in range(25):
            answered.append(checking.validate(token).client_id)

    threads = [threading.Thread(target=burst) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert answered == [settings.client_id] * 200
    assert checking.jwks_fetches == 2, "one fetch, then one failed try for the whole burst"

    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = int(time.time() + offset[0])
    forged = jwt.encode({"iss": settings.issuer, "aud": settings.api_audience, "sub": "x",
                         "iat": now, "exp": now + 60}, stranger, algorithm="RS256",
                        headers={"kid": "fremder-schluessel"})
    for _ in range(20):
        with pytest.raises(Unauthenticated, match="nicht erreichbar"):
            checking.validate(forged)
    assert checking.jwks_fetches == 2
