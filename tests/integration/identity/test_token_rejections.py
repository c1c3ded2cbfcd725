"""Each kind of bad token, made from a REAL token of the federation, is rejected."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from kimctl import devrealm
from kimnetz.errors import Unauthenticated
from kimnetz.runtime.auth import TokenValidator
from kimnetz.runtime.service_account import ServiceAccount
from kimnetz.runtime.settings import Settings
from tests.support.identity import LocalFederation


@pytest.fixture(scope="module")
def token(token_for: Callable[[str, str], str]) -> str:
    return token_for("stadt-hilden", "c.manager")


def _claims(token: str) -> dict[str, object]:
    payload = token.split(".")[1]
    data: dict[str, object] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return data


def test_real_token_is_accepted(token: str, federation_validator: TokenValidator) -> None:
    assert federation_validator.validate(token).organization == "stadt-hilden"


def test_expired_token_is_rejected(token: str, local_federation: LocalFederation) -> None:
    """The real token, judged by a node whose clock has passed its expiry and the leeway."""
    expires = float(_claims(token)["exp"])  # type: ignore[arg-type]
    late = TokenValidator(local_federation.issuer, "kim-api", clock=lambda: expires + 31)
    with pytest.raises(Unauthenticated, match="abgelaufen"):
        late.validate(token)


def test_wrongly_signed_token_is_rejected(token: str, federation_validator: TokenValidator) -> None:
    """Same claims and key id, signed with a key that is not the realm's."""
    header = jwt.get_unverified_header(token)
    foreign_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode(_claims(token), foreign_key, algorithm="RS256", headers={"kid": header["kid"]})
    with pytest.raises(Unauthenticated, match="ungültig"):
        federation_validator.validate(forged)


def test_token_for_another_audience_is_rejected(token: str, local_federation: LocalFederation) -> None:
    other = TokenValidator(local_federation.issuer, "kim-documents-portal")
    with pytest.raises(Unauthenticated, match="nicht für KIM-Netz"):
        other.validate(token)


def test_unsigned_token_is_rejected(token: str, federation_validator: TokenValidator) -> None:
    _, payload, _ = token.split(".")
    header = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=").decode()
    with pytest.raises(Unauthenticated, match="nicht zulässig signiert"):
        federation_validator.validate(f"{header}.{payload}.")


def test_token_of_a_foreign_issuer_is_rejected(local_federation: LocalFederation) -> None:
    """A real token with the right audience from another realm of the same server (the
    development realm `kim`), checked with that realm's keys so only the issuer is wrong."""
    settings = devrealm.settings_with_secret(Settings())
    foreign = ServiceAccount(settings.keycloak_url, settings.keycloak_realm, settings.client_id,
                             settings.client_secret).token()
    validator = TokenValidator(local_federation.issuer, "kim-api",
                               jwks_url=f"{settings.issuer}/protocol/openid-connect/certs")
    with pytest.raises(Unauthenticated, match="fremden Aussteller"):
        validator.validate(foreign)
    # and with the federation's own keys it is not even recognised
    with pytest.raises(Unauthenticated, match="unbekannten Schlüssel"):
        TokenValidator(local_federation.issuer, "kim-api").validate(foreign)


def test_clock_is_checked_against_now(token: str, local_federation: LocalFederation) -> None:
    early = TokenValidator(local_federation.issuer, "kim-api", clock=lambda: time.time() - 3600)
    with pytest.raises(Unauthenticated, match="noch nicht gültig"):
        early.validate(token)
