"""Bearer-token validation for every api process, the Principal a call acts as, and the
authorisation helpers the servicers use.

Keys come from the realm's JWKS and are kept in memory: refreshed when they age out, and at
once (at most every `refresh_cooldown` seconds) when a token names an unknown key id (key
rotation). A failed refresh keeps the keys already known, so while Keycloak is down tokens
already issued keep validating until they expire; only tokens signed with a key never seen
fail, with a message saying the login service is unreachable. During an outage refreshes
back off exponentially (at most every `MAX_JWKS_BACKOFF_SECONDS`), and no call waits for a
refresh another call runs unless it needs a key not known yet. Only RS256/ES256/PS256 are
accepted, so a token with `alg=none` or an HMAC algorithm is refused before any key is used.
Expiry, not-before and issued-at are checked against this process's clock with a bounded
leeway (at most `MAX_LEEWAY_SECONDS`), so a node with a wrong clock cannot stretch validity.

A person must act for an organisation: a principal without one, or (where the api process
knows the federation's enabled organisations) with one that is not enabled, is refused.
"""

from __future__ import annotations

import contextvars
import hashlib
import logging
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any

import jwt

from kimnetz.errors import PermissionDenied, Unauthenticated
from kimnetz.runtime.audit import AuditEvent, AuditSink

log = logging.getLogger(__name__)

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
    #: The node whose service account acts (`kim_node` claim); None for persons.
    node: str | None = None
    claims: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def has_role(self, role: str) -> bool:
        return role in self.roles


class TokenRefused(Unauthenticated):
    """A token whose signature, issuer and audience are good, refused for what it says (expired,
    not yet valid, an organisation not enabled): unlike a missing or forged token it names
    somebody, `principal`, so the door audits the refusal instead of only counting it."""

    def __init__(self, message: str, principal: Principal) -> None:
        super().__init__(message)
        self.principal = principal


#: Upper bound of the clock skew a validator tolerates (seconds).
MAX_LEEWAY_SECONDS = 120

#: Tokens whose signature a validator remembers having checked (most recently used kept).
VERIFIED_TOKENS = 4096

#: German labels of the realm roles (DOMAIN.md), for reasons users read.
ROLE_LABELS: dict[str, str] = {
    "case_manager": "Case Manager*in",
    "coordinator": "Koordinator*in (Fachaufsicht)",
    "immigration_liaison": "Integrationslots*in der Ausländerbehörde",
    "steering_member": "Mitglied der Lenkungsgruppe",
    "clerk": "Verwaltung / Ratsbüro",
    "data_protection_officer": "Datenschutzbeauftragte*r",
    "node_admin": "Administration eines Knotens",
}

#: The organisations currently enabled in the federation (e.g. from the node's federation
#: file or the node directory); called for every token, so it should be cheap.
EnabledOrganizations = Callable[[], Collection[str]]


#: Longest wait between two JWKS fetches while the login service is unreachable (seconds).
MAX_JWKS_BACKOFF_SECONDS = 300.0

#: Where the realm's JWKS comes from: returns the JWKS document, raises when unreachable.
JwksSource = Callable[[], dict[str, Any]]


class _KeyCache:
    """The realm's signing keys by key id, kept across failed refreshes.

    A refresh is due when the keys are older than `max_age`, or when a token names a key id
    not known (at most every `cooldown` seconds: key rotation). While the login service is
    unreachable, refreshes back off exponentially (`cooldown`, doubled per failure, at most
    MAX_JWKS_BACKOFF_SECONDS; with no key known yet, every `cooldown`), so an outage costs one
    fetch per back-off, not one per call.
    Only one refresh runs at a time, and never under the lock: the caller that starts it waits
    for it (bounded by the fetch's timeout); every other caller goes on with the known keys at
    once, and only one that needs a key not known yet waits for the running refresh."""

    def __init__(self, fetch: JwksSource, max_age: float, timeout: float, cooldown: float,
                 clock: Callable[[], float],
                 max_backoff: float = MAX_JWKS_BACKOFF_SECONDS) -> None:
        self._fetch = fetch
        self._max_age = max_age
        self._timeout = timeout
        self._cooldown = cooldown
        self._max_backoff = max_backoff
        self._clock = clock
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at = -math.inf
        self._failures = 0  # consecutive failed refreshes
        self._retry_at = -math.inf  # no refresh before (cooldown after success, back-off after failure)
        self._running: threading.Event | None = None  # set when the running refresh ends
        self._lock = threading.Lock()
        #: Fetches tried since the start (for tests and a future metrics endpoint).
        self.fetches = 0

    def key(self, kid: str) -> jwt.PyJWK:
        with self._lock:
            now = self._clock()
            known = self._keys.get(kid)
            wanted = known is None or now - self._fetched_at > self._max_age
            running, starts = self._running, False
            if wanted and running is None and now >= self._retry_at:
                running = self._running = threading.Event()
                starts = True
        if starts:
            assert running is not None
            self._refresh(running)
        elif known is None and running is not None:
            running.wait(self._timeout + 1.0)
        with self._lock:
            found = self._keys.get(kid)
            if found is not None:
                return found
            if self._failures:
                raise Unauthenticated(
                    "Der Anmeldedienst ist nicht erreichbar; bitte später erneut versuchen.")
            raise Unauthenticated("Das Zugangstoken ist mit einem unbekannten Schlüssel signiert.")

    def _refresh(self, done: threading.Event) -> None:
        keys: list[jwt.PyJWK] | None = None
        try:
            self.fetches += 1
            keys = jwt.PyJWKSet.from_dict(self._fetch()).keys
        except Exception as exc:  # any failure of the login service: keep the known keys
            failure: Exception | None = exc
        else:
            failure = None
        finally:
            with self._lock:
                now = self._clock()
                if keys is not None:
                    # Keys that disappeared from the JWKS were retired on purpose: drop them.
                    self._keys = {k.key_id: k for k in keys
                                  if k.key_id and k.public_key_use in (None, "sig")}
                    self._fetched_at = now
                    self._failures = 0
                    self._retry_at = now + self._cooldown
                else:
                    self._failures += 1
                    base = max(self._cooldown, 1.0)
                    # Without any key every call fails anyway: try again every `cooldown`, so a
                    # process that started before Keycloak serves soon after Keycloak is up.
                    ceiling = self._max_backoff if self._keys else base
                    self._retry_at = now + min(ceiling, base * 2 ** min(self._failures - 1, 32))
                self._running = None
            done.set()
        if failure is not None:
            log.warning("JWKS refresh failed (%d in a row), keeping %d known keys, next try in "
                        "%.0f s: %s", self._failures, len(self._keys),
                        max(0.0, self._retry_at - self._clock()), failure)


def _http_jwks(url: str, timeout: float) -> JwksSource:
    client = jwt.PyJWKClient(url, cache_keys=False, cache_jwk_set=False, timeout=max(1, int(timeout)))

    def fetch() -> dict[str, Any]:
        data: dict[str, Any] = client.fetch_data()
        return data

    return fetch


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
        refresh_cooldown_seconds: float = 10.0,
        organizations: EnabledOrganizations | None = None,
        require_organization: bool = False,
        clock: Callable[[], float] = time.time,
        jwks_source: JwksSource | None = None,
    ) -> None:
        """`organizations`: where given, every principal must act for one of them.
        `require_organization`: refuse principals without any organisation (set it wherever
        the realm is a federation realm; the bare development realm has none).
        `jwks_source`: where the keys come from instead of `jwks_url` (tests)."""
        self.issuer = issuer.rstrip("/")
        self.audience = audience
        self.leeway = leeway_seconds
        self.organizations = organizations
        self.require_organization = require_organization or organizations is not None
        self._clock = clock
        self._keys = _KeyCache(
            jwks_source or _http_jwks(jwks_url or f"{self.issuer}/protocol/openid-connect/certs",
                                      timeout_seconds),
            jwks_cache_seconds, timeout_seconds, refresh_cooldown_seconds, clock,
        )
        # SHA-256 of a token -> (its key id, its claims), for tokens that passed every check.
        self._verified: OrderedDict[bytes, tuple[str, dict[str, Any]]] = OrderedDict()
        self._verified_lock = threading.Lock()

    @property
    def jwks_fetches(self) -> int:
        """JWKS fetches tried since the start (readable in-process, e.g. for metrics)."""
        return self._keys.fetches

    @property
    def leeway(self) -> int:
        return self._leeway

    @leeway.setter
    def leeway(self, seconds: int) -> None:
        if not 0 <= seconds <= MAX_LEEWAY_SECONDS:
            raise ValueError(f"leeway must be 0..{MAX_LEEWAY_SECONDS} seconds, not {seconds}")
        self._leeway = seconds

    def validate(self, token: str) -> Principal:
        """The token's principal, or `Unauthenticated` with a German reason.

        A client sends the same token with every call until it expires, and checking its RSA
        signature is most of the cost of a call's door (issue 8: about 0.6 ms). So a token whose
        signature was checked is remembered by its SHA-256; a repeat skips only the signature
        and claim decoding. Everything that can change in the token's lifetime is judged again
        on every call: its times, its organisation being enabled, and its signing key still
        being published (a key dropped from the JWKS ends its tokens at the same moment as
        without the memory)."""
        digest = hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()
        with self._verified_lock:
            known = self._verified.get(digest)
            if known is not None:
                self._verified.move_to_end(digest)
        try:
            if known is not None:
                kid, claims = known
                self._keys.key(kid)
            else:
                kid, claims = self._verify(token)
            principal = principal_from_claims(claims)
            try:
                self._check_times(claims)
                self._check_organization(principal)
            except Unauthenticated as exc:
                raise TokenRefused(exc.message, principal) from None
        except Unauthenticated:
            if known is not None:
                with self._verified_lock:
                    self._verified.pop(digest, None)
            raise
        if known is None:
            with self._verified_lock:
                self._verified[digest] = (kid, claims)
                while len(self._verified) > VERIFIED_TOKENS:
                    self._verified.popitem(last=False)
        return principal

    def _verify(self, token: str) -> tuple[str, dict[str, Any]]:
        """Signature, algorithm, audience and issuer: the token's key id and claims."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise Unauthenticated("Das Zugangstoken ist nicht lesbar.") from exc
        if header.get("alg") not in ALGORITHMS:
            raise Unauthenticated("Das Zugangstoken ist nicht zulässig signiert.")
        key = self._keys.key(str(header.get("kid", "")))
        if key.algorithm_name != header["alg"] and key.algorithm_name:
            raise Unauthenticated("Das Zugangstoken ist nicht zulässig signiert.")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=[header["alg"]],
                audience=self.audience,
                issuer=self.issuer,
                # Time claims are judged by validate() on every call, against this clock.
                options={"require": ["exp", "iat", "iss", "aud", "sub"], "verify_exp": False,
                         "verify_nbf": False, "verify_iat": False},
            )
        except jwt.InvalidAudienceError as exc:
            raise Unauthenticated("Das Zugangstoken ist nicht für KIM-Netz ausgestellt.") from exc
        except jwt.InvalidIssuerError as exc:
            raise Unauthenticated("Das Zugangstoken stammt von einem fremden Aussteller.") from exc
        except jwt.PyJWTError as exc:
            raise Unauthenticated("Das Zugangstoken ist ungültig.") from exc
        return str(header.get("kid", "")), claims

    def _check_times(self, claims: dict[str, Any]) -> None:
        now = self._clock()
        try:
            expires, issued = float(claims["exp"]), float(claims["iat"])
            not_before = float(claims.get("nbf", issued))
        except (TypeError, ValueError) as exc:
            raise Unauthenticated("Das Zugangstoken ist ungültig.") from exc
        if now >= expires + self.leeway:
            raise Unauthenticated("Das Zugangstoken ist abgelaufen.")
        if now + self.leeway < max(not_before, issued):
            raise Unauthenticated("Das Zugangstoken ist noch nicht gültig.")

    def _check_organization(self, principal: Principal) -> None:
        if not self.require_organization:
            return
        if principal.organization is None:
            raise Unauthenticated(
                "Ihr Konto gehört zu keiner Organisation im KIM-Netz; kein Zugang.")
        if self.organizations is not None and principal.organization not in self.organizations():
            raise Unauthenticated(
                f"Die Organisation {principal.organization!r} ist im KIM-Netz nicht (mehr) "
                "freigeschaltet; kein Zugang.")


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
        node=claims.get("kim_node"),
        claims=claims,
    )


# --- authorisation -----------------------------------------------------------------------------

def _audit(audit: AuditSink | None, principal: Principal, action: str, allowed: bool,
           reason: str = "") -> None:
    if audit is not None:
        audit.record(AuditEvent.now(
            kind="authorization", outcome="granted" if allowed else "denied", action=action,
            subject=principal.subject, username=principal.username,
            organization=principal.organization, node=principal.node, reason=reason,
        ))


def require_role(principal: Principal, *roles: str, action: str,
                 audit: AuditSink | None = None) -> None:
    """Allowed if the principal holds any of `roles`; else `PermissionDenied` naming them.
    Both outcomes go to the audit sink (who, which action, why not)."""
    if any(principal.has_role(role) for role in roles):
        _audit(audit, principal, action, True)
        return
    needed = ", ".join(ROLE_LABELS.get(role, role) for role in roles)
    reason = f"Für „{action}“ ist eine dieser Rollen nötig: {needed}."
    _audit(audit, principal, action, False, reason)
    raise PermissionDenied(reason)


def require_organization(principal: Principal, *organizations: str, action: str,
                         audit: AuditSink | None = None) -> None:
    """Allowed if the principal acts for one of `organizations` (e.g. the organisation that
    owns a case); else `PermissionDenied`. Both outcomes are audited."""
    if principal.organization is not None and principal.organization in organizations:
        _audit(audit, principal, action, True)
        return
    reason = (f"„{action}“ ist nur für Mitarbeitende von {', '.join(organizations)} erlaubt; "
              f"Sie handeln für {principal.organization or 'keine Organisation'}.")
    _audit(audit, principal, action, False, reason)
    raise PermissionDenied(reason)
