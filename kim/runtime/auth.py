"""Bearer-token validation for every api process, and the Principal a call acts as.

Keys come from the realm's JWKS, cached and refreshed when a token names an unknown key id
(key rotation) or the cache ages out. While Keycloak is down, tokens already issued keep
validating with the cached keys until they expire. Only RS256/ES256/PS256 are accepted, so a
token with `alg=none` or an HMAC algorithm is refused before any key is looked at.
"""

from __future__ import annotations

import contextvars
from dataclasses import dataclass, field
from typing import Any

import jwt

from kim.errors import Unauthenticated

ALGORITHMS = ["RS256", "ES256", "PS256"]

#: The principal of the gRPC call being served (set by the auth interceptor).
current_principal: contextvars.ContextVar[Principal | None] = contextvars.ContextVar(
    "current_principal", default=None
)


@dataclass(frozen=True)
class Principal:
    """Who acts: a person (with organisation and realm roles) or a node's service account."""

    subject: str
    username: str
    organization: str | None
    roles: frozenset[str] = field(default_factory=frozenset)
    client_id: str | None = None
    claims: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def has_role(self, role: str) -> bool:
        return role in self.roles


class TokenValidator:
    def __init__(
        self,
        issuer: str,
        audience: str,
        *,
        leeway_seconds: int = 30,
        jwks_cache_seconds: int = 300,
        jwks_url: str | None = None,
        timeout_seconds: float = 5.0,
    ) -> None:
        self.issuer = issuer.rstrip("/")
        self.audience = audience
        self.leeway = leeway_seconds
        self._jwks = jwt.PyJWKClient(
            jwks_url or f"{self.issuer}/protocol/openid-connect/certs",
            cache_keys=True,
            lifespan=jwks_cache_seconds,
            timeout=int(timeout_seconds),
        )

    def validate(self, token: str) -> Principal:
        """The token's principal, or `Unauthenticated` with a German reason."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise Unauthenticated("Das Zugangstoken ist nicht lesbar.") from exc
        if header.get("alg") not in ALGORITHMS:
            raise Unauthenticated("Das Zugangstoken ist nicht zulässig signiert.")
        try:
            key = self._jwks.get_signing_key(header.get("kid", ""))
        except jwt.PyJWKClientConnectionError as exc:
            raise Unauthenticated(
                "Der Anmeldedienst ist nicht erreichbar; bitte später erneut versuchen."
            ) from exc
        except jwt.PyJWKClientError as exc:
            raise Unauthenticated("Das Zugangstoken ist mit einem unbekannten Schlüssel signiert.") from exc
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=ALGORITHMS,
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthenticated("Das Zugangstoken ist abgelaufen.") from exc
        except jwt.ImmatureSignatureError as exc:
            raise Unauthenticated("Das Zugangstoken ist noch nicht gültig.") from exc
        except jwt.InvalidAudienceError as exc:
            raise Unauthenticated("Das Zugangstoken ist nicht für KIM-Netz ausgestellt.") from exc
        except jwt.InvalidIssuerError as exc:
            raise Unauthenticated("Das Zugangstoken stammt von einem fremden Aussteller.") from exc
        except jwt.PyJWTError as exc:
            raise Unauthenticated("Das Zugangstoken ist ungültig.") from exc
        return principal_from_claims(claims)


def principal_from_claims(claims: dict[str, Any]) -> Principal:
    """Keycloak puts realm roles in `realm_access.roles` and, with Organizations enabled, the
    organisation(s) in `organization` (a list of aliases or an object keyed by alias)."""
    organization = claims.get("organization")
    if isinstance(organization, dict):
        organization = next(iter(organization), None)
    elif isinstance(organization, list):
        organization = organization[0] if organization else None
    roles = claims.get("realm_access", {}).get("roles", [])
    return Principal(
        subject=str(claims["sub"]),
        username=str(claims.get("preferred_username", claims["sub"])),
        organization=organization,
        roles=frozenset(roles),
        client_id=claims.get("azp"),
        claims=claims,
    )
