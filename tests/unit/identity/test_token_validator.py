"""The shared token validator against a JWKS this test serves itself over real HTTP (own RSA
keys), so clock, key rotation and an unreachable login service can be controlled exactly."""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from kimnetz.errors import Unauthenticated
from kimnetz.runtime.auth import MAX_LEEWAY_SECONDS, TokenValidator

ISSUER = "https://login.example/realms/kim"
NOW = 1_800_000_000.0


class Keys:
    def __init__(self) -> None:
        self.private: dict[str, rsa.RSAPrivateKey] = {}
        self.published: list[str] = []

    def add(self, kid: str, publish: bool = True) -> None:
        self.private[kid] = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        if publish:
            self.published.append(kid)

    def jwks(self) -> dict[str, Any]:
        keys = []
        for kid in self.published:
            jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.private[kid].public_key()))
            keys.append({**jwk, "kid": kid, "alg": "RS256", "use": "sig"})
        return {"keys": keys}


@pytest.fixture
def keys() -> Keys:
    k = Keys()
    k.add("k1")
    return k


@pytest.fixture
def jwks_server(keys: Keys) -> Iterator[tuple[str, ThreadingHTTPServer, list[int]]]:
    hits: list[int] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(1)
            body = json.dumps(keys.jwks()).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/certs", server, hits
    server.shutdown()
    server.server_close()


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


def sign(keys: Keys, kid: str = "k1", **overrides: Any) -> str:
    claims = {"iss": ISSUER, "aud": "kim-api", "sub": "u1", "iat": NOW, "exp": NOW + 300,
              "preferred_username": "c.manager", "organization": ["stadt-hilden"],
              "realm_access": {"roles": ["case_manager"]}, **overrides}
    return jwt.encode(claims, keys.private[kid], algorithm="RS256", headers={"kid": kid})


def make(url: str, clock: Clock, **kwargs: Any) -> TokenValidator:
    return TokenValidator(ISSUER, "kim-api", jwks_url=url, clock=clock, leeway_seconds=30, **kwargs)


def test_valid_token_yields_principal_with_organization_and_roles(keys: Keys, jwks_server: Any) -> None:
    principal = make(jwks_server[0], Clock()).validate(sign(keys))
    assert principal.organization == "stadt-hilden"
    assert principal.roles == frozenset({"case_manager"})
    assert principal.node is None


def test_token_before_its_not_before_time_is_rejected(keys: Keys, jwks_server: Any) -> None:
    with pytest.raises(Unauthenticated, match="noch nicht gültig"):
        make(jwks_server[0], Clock()).validate(sign(keys, nbf=NOW + 60))


def test_not_before_within_the_leeway_is_accepted(keys: Keys, jwks_server: Any) -> None:
    assert make(jwks_server[0], Clock()).validate(sign(keys, nbf=NOW + 20)).subject == "u1"


def test_token_issued_in_the_future_beyond_the_leeway_is_rejected(keys: Keys, jwks_server: Any) -> None:
    with pytest.raises(Unauthenticated, match="noch nicht gültig"):
        make(jwks_server[0], Clock()).validate(sign(keys, iat=NOW + 90, exp=NOW + 400))


def test_expiry_is_judged_with_the_bounded_leeway(keys: Keys, jwks_server: Any) -> None:
    clock = Clock()
    validator = make(jwks_server[0], clock)
    token = sign(keys)
    clock.now = NOW + 300 + 29
    assert validator.validate(token).subject == "u1"
    clock.now = NOW + 300 + 30
    with pytest.raises(Unauthenticated, match="abgelaufen"):
        validator.validate(token)


def test_leeway_beyond_the_bound_is_refused(jwks_server: Any) -> None:
    with pytest.raises(ValueError, match="leeway"):
        make(jwks_server[0], Clock()).leeway = MAX_LEEWAY_SECONDS + 1


def test_rotated_key_is_fetched_when_a_token_names_it(keys: Keys, jwks_server: Any) -> None:
    url, _, hits = jwks_server
    validator = make(url, Clock(), refresh_cooldown_seconds=0)
    validator.validate(sign(keys))
    keys.add("k2")
    assert validator.validate(sign(keys, "k2")).subject == "u1"
    assert len(hits) == 2


def test_unknown_key_does_not_refetch_within_the_cooldown(keys: Keys, jwks_server: Any) -> None:
    url, _, hits = jwks_server
    validator = make(url, Clock(), refresh_cooldown_seconds=10)
    validator.validate(sign(keys))
    keys.add("secret-key", publish=False)
    for _ in range(3):
        with pytest.raises(Unauthenticated, match="unbekannten Schlüssel"):
            validator.validate(sign(keys, "secret-key"))
    assert len(hits) == 1  # a flood of forged kids cannot hammer Keycloak


def test_issued_tokens_keep_validating_while_keycloak_is_down(keys: Keys, jwks_server: Any) -> None:
    url, server, _ = jwks_server
    clock = Clock()
    validator = make(url, clock, jwks_cache_seconds=60)
    token = sign(keys, exp=NOW + 3000)
    validator.validate(token)
    server.shutdown()
    server.server_close()
    clock.now = NOW + 600  # keys aged out; the refresh fails; the known key still works
    assert validator.validate(token).subject == "u1"
    keys.add("k2")
    with pytest.raises(Unauthenticated, match="nicht erreichbar"):
        validator.validate(sign(keys, "k2", iat=NOW + 600, exp=NOW + 900))


def test_first_validation_without_keycloak_says_it_is_unreachable(keys: Keys) -> None:
    validator = make("http://127.0.0.1:9/certs", Clock(), timeout_seconds=1)
    with pytest.raises(Unauthenticated, match="nicht erreichbar"):
        validator.validate(sign(keys))


def test_hmac_token_signed_with_the_public_key_is_rejected(keys: Keys, jwks_server: Any) -> None:
    """Algorithm confusion: HS256 with the RSA public key as secret."""
    token = jwt.api_jws.PyJWS().encode(
        json.dumps({"iss": ISSUER, "aud": "kim-api", "sub": "x", "iat": NOW, "exp": NOW + 60}).encode(),
        b"not-the-key-but-long-enough-for-hs256", algorithm="HS256", headers={"kid": "k1"})
    with pytest.raises(Unauthenticated, match="nicht zulässig signiert"):
        make(jwks_server[0], Clock()).validate(token)


def test_person_without_organization_is_refused_in_a_federation(keys: Keys, jwks_server: Any) -> None:
    validator = make(jwks_server[0], Clock(), require_organization=True)
    with pytest.raises(Unauthenticated, match="keiner Organisation"):
        validator.validate(sign(keys, organization=[]))


def test_principal_of_a_disabled_organization_is_refused(keys: Keys, jwks_server: Any) -> None:
    enabled = {"stadt-hilden", "caritas-mettmann"}
    validator = make(jwks_server[0], Clock(), organizations=lambda: enabled)
    assert validator.validate(sign(keys)).organization == "stadt-hilden"
    enabled.discard("stadt-hilden")
    with pytest.raises(Unauthenticated, match="nicht \\(mehr\\) freigeschaltet"):
        validator.validate(sign(keys))


def test_service_account_principal_names_its_node(keys: Keys, jwks_server: Any) -> None:
    token = sign(keys, organization=["kreis-mettmann"], kim_node="kreis-mettmann",
                 azp="kim-node-kreis-mettmann")
    principal = make(jwks_server[0], Clock()).validate(token)
    assert (principal.node, principal.client_id) == ("kreis-mettmann", "kim-node-kreis-mettmann")


def test_clock_is_real_time_by_default(keys: Keys, jwks_server: Any) -> None:
    now = time.time()
    token = sign(keys, iat=now, exp=now + 60)
    validator = TokenValidator(ISSUER, "kim-api", jwks_url=jwks_server[0])
    assert validator.validate(token).subject == "u1"


# -- tokens whose signature was already checked (issue 8: the door's cost) --------------------


def test_a_repeated_token_is_not_decoded_again(keys: Keys, jwks_server: Any,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    validator = make(jwks_server[0], Clock())
    token = sign(keys)
    validator.validate(token)
    decoded: list[str] = []
    real_decode = jwt.decode
    monkeypatch.setattr(jwt, "decode", lambda *a, **k: decoded.append("x") or real_decode(*a, **k))
    assert validator.validate(token).username == "c.manager"
    assert decoded == []
    assert validator.validate(sign(keys, sub="u2")).subject == "u2"  # another token is checked
    assert decoded == ["x"]


def test_a_remembered_token_still_expires(keys: Keys, jwks_server: Any) -> None:
    clock = Clock()
    validator = make(jwks_server[0], clock)
    token = sign(keys)
    validator.validate(token)
    clock.now = NOW + 300 + 30
    with pytest.raises(Unauthenticated, match="abgelaufen"):
        validator.validate(token)


def test_a_remembered_token_ends_when_its_key_is_retired(keys: Keys, jwks_server: Any) -> None:
    clock = Clock()
    validator = make(jwks_server[0], clock, jwks_cache_seconds=60)
    token = sign(keys, exp=NOW + 3000)
    validator.validate(token)
    keys.add("k2")
    keys.published.remove("k1")
    clock.now = NOW + 61  # the key set is refreshed: k1 is gone, and so are its tokens
    with pytest.raises(Unauthenticated, match="unbekannten Schlüssel"):
        validator.validate(token)


def test_a_remembered_token_of_a_disabled_organization_is_refused(keys: Keys, jwks_server: Any) -> None:
    enabled = {"stadt-hilden"}
    validator = make(jwks_server[0], Clock(), organizations=lambda: enabled)
    token = sign(keys)
    validator.validate(token)
    enabled.clear()
    with pytest.raises(Unauthenticated, match="nicht \\(mehr\\) freigeschaltet"):
        validator.validate(token)


def test_a_token_differing_in_one_character_is_checked_in_full(keys: Keys, jwks_server: Any) -> None:
    validator = make(jwks_server[0], Clock())
    token = sign(keys)
    validator.validate(token)
    head, payload, signature = token.split(".")
    forged = ".".join((head, payload, signature[:-2] + ("AA" if signature[-2:] != "AA" else "BB")))
    with pytest.raises(Unauthenticated):
        validator.validate(forged)


def test_the_memory_of_checked_tokens_is_bounded(keys: Keys, jwks_server: Any,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("kimnetz.runtime.auth.VERIFIED_TOKENS", 3)
    validator = make(jwks_server[0], Clock())
    tokens = [sign(keys, sub=f"u{i}") for i in range(5)]
    for token in tokens:
        validator.validate(token)
    decoded: list[str] = []
    real_decode = jwt.decode
    monkeypatch.setattr(jwt, "decode", lambda *a, **k: decoded.append("x") or real_decode(*a, **k))
    validator.validate(tokens[0])  # the oldest was forgotten: checked in full again
    validator.validate(tokens[4])  # the newest is remembered
    assert decoded == ["x"]


# --- Keycloak outage: back-off, cached keys, no lock across a fetch (issue 12) ------------------

class FakeJwks:
    """A JWKS source that counts fetches, fails while `down`, and can be held mid-fetch."""

    def __init__(self, keys: Keys) -> None:
        self.keys = keys
        self.down = False
        self.fetches = 0
        self.hold: threading.Event | None = None
        self.entered = threading.Event()

    def __call__(self) -> dict[str, Any]:
        self.fetches += 1
        self.entered.set()
        if self.hold is not None:
            self.hold.wait(10)
        if self.down:
            raise ConnectionError("login service unreachable")
        return self.keys.jwks()


def fake_validator(source: FakeJwks, clock: Clock, **kwargs: Any) -> TokenValidator:
    return TokenValidator(ISSUER, "kim-api", jwks_source=source, clock=clock, leeway_seconds=30,
                          jwks_cache_seconds=60, refresh_cooldown_seconds=10, **kwargs)


def test_refresh_backs_off_exponentially_while_keycloak_is_down(keys: Keys) -> None:
    source, clock = FakeJwks(keys), Clock()
    validator = fake_validator(source, clock)
    token = sign(keys, exp=NOW + 100_000)
    validator.validate(token)
    source.down = True
    keys.add("k2")
    unknown = sign(keys, "k2", exp=NOW + 100_000)
    tries = []
    # One hour of outage, a call with the known and one with an unknown key every second.
    for second in range(61, 3661):
        clock.now = NOW + second
        before = source.fetches
        assert validator.validate(token).subject == "u1"
        with pytest.raises(Unauthenticated, match="nicht erreichbar"):
            validator.validate(unknown)
        if source.fetches > before:
            tries.append(second)
    gaps = [b - a for a, b in itertools.pairwise(tries)]
    assert gaps[:5] == [10, 20, 40, 80, 160]
    assert set(gaps[5:]) == {300}, "the back-off is bounded"
    assert source.fetches == 1 + len(tries) < 20
    source.down = False
    clock.now = NOW + 3661 + 300  # the next try succeeds and ends the back-off
    assert validator.validate(unknown).subject == "u1"


def test_no_call_waits_for_a_slow_refresh_that_another_call_runs(keys: Keys) -> None:
    source, clock = FakeJwks(keys), Clock()
    validator = fake_validator(source, clock)
    token = sign(keys, exp=NOW + 3000)
    validator.validate(token)
    clock.now = NOW + 61  # the keys aged out
    source.hold, source.down = threading.Event(), True
    slow = threading.Thread(target=lambda: validator.validate(token))
    slow.start()
    assert source.entered.wait(5)
    answered = []
    others = [threading.Thread(target=lambda: answered.append(validator.validate(token).subject))
              for _ in range(20)]
    for thread in others:
        thread.start()
    for thread in others:
        thread.join(5)
    # They all answered from the cached key while the refresh was still held; none fetched.
    assert answered == ["u1"] * 20 and slow.is_alive() and source.fetches == 2
    source.hold.set()
    slow.join(5)
    assert not slow.is_alive()


def test_a_flood_of_unknown_key_ids_during_an_outage_fails_fast_without_fetching(keys: Keys) -> None:
    source, clock = FakeJwks(keys), Clock()
    validator = fake_validator(source, clock)
    validator.validate(sign(keys))
    source.down = True
    clock.now = NOW + 61
    validator.validate(sign(keys, iat=NOW + 61, exp=NOW + 400))  # the one fetch that fails
    keys.add("forged", publish=False)
    for i in range(200):
        with pytest.raises(Unauthenticated, match="nicht erreichbar"):
            validator.validate(sign(keys, "forged", sub=f"u{i}", iat=NOW + 61, exp=NOW + 400))
    assert source.fetches == 2


def test_without_any_key_the_refresh_is_tried_every_cooldown_not_backed_off(keys: Keys) -> None:
    source, clock = FakeJwks(keys), Clock()
    source.down = True
    validator = fake_validator(source, clock)
    token = sign(keys, exp=NOW + 10_000)
    for second in range(0, 600):
        clock.now = NOW + second
        with pytest.raises(Unauthenticated, match="nicht erreichbar"):
            validator.validate(token)
    assert source.fetches == 60  # one per 10 s, however many calls
    source.down = False
    clock.now = NOW + 600
    assert validator.validate(token).subject == "u1"
