"""`kim node check`: proves that every real component of a running node answers, through the
project's own runtime code. Each check returns what it saw; none is assumed."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from kim.identity.v1 import identity_pb2, identity_pb2_grpc
from kim.runtime import node
from kim.runtime.auth import TokenValidator
from kim.runtime.service_account import ServiceAccount
from kim.runtime.settings import Settings


@dataclass
class CheckResult:
    component: str
    check: str
    ok: bool
    detail: str
    seconds: float


def _timed(component: str, check: str, run: Callable[[], str]) -> CheckResult:
    started = time.perf_counter()
    try:
        detail, ok = run(), True
    except Exception as exc:
        detail, ok = f"{type(exc).__name__}: {exc}", False
    return CheckResult(component, check, ok, detail, time.perf_counter() - started)


def run_checks(settings: Settings, target: str, probe_timeout: float = 30.0) -> list[CheckResult]:
    results: list[CheckResult] = []
    channel = grpc.insecure_channel(target)
    token = ""

    def health_check() -> str:
        stub = health_pb2_grpc.HealthStub(channel)
        states = {}
        for name in ("", *settings.served_services):
            response = stub.Check(health_pb2.HealthCheckRequest(service=name), timeout=5)
            states[name or "node"] = health_pb2.HealthCheckResponse.ServingStatus.Name(response.status)
        bad = {k: v for k, v in states.items() if v != "SERVING"}
        if bad:
            raise RuntimeError(f"not serving: {bad}")
        return ", ".join(sorted(states))

    def token_check() -> str:
        nonlocal token
        account = ServiceAccount(
            settings.keycloak_url, settings.keycloak_realm, settings.client_id,
            settings.client_secret,
        )
        token = account.token()
        principal = TokenValidator(settings.issuer, settings.api_audience).validate(token)
        return f"client {principal.client_id} (aud {settings.api_audience}) validated"

    def whoami_check() -> str:
        stub = identity_pb2_grpc.IdentityServiceStub(channel)  # type: ignore[no-untyped-call]
        answer = stub.WhoAmI(
            identity_pb2.WhoAmIRequest(), metadata=[("authorization", f"Bearer {token}")],
            timeout=5,
        )
        try:
            stub.WhoAmI(identity_pb2.WhoAmIRequest(), timeout=5)
            raise RuntimeError("a call without token was accepted")
        except grpc.RpcError as exc:
            if exc.code() != grpc.StatusCode.UNAUTHENTICATED:
                raise
        return f"{answer.username} on node {answer.node_id}; no token -> UNAUTHENTICATED"

    def probe_check() -> str:
        node.connect(settings)
        probe = node.request_probe(settings, requested_by="kim node check")
        deadline = time.monotonic() + probe_timeout
        expected = set(settings.served_services)
        while time.monotonic() < deadline:
            got = node.receipts(probe.probe_id)
            if expected <= got.keys():
                counts = {s: got[s].deliveries for s in sorted(expected)}
                return "received once by " + ", ".join(f"{s} ({n}x)" for s, n in counts.items())
            time.sleep(0.2)
        missing = expected - node.receipts(probe.probe_id).keys()
        raise TimeoutError(f"no receipt from {', '.join(sorted(missing))} within {probe_timeout:.0f}s")

    results.append(_timed("gRPC api", "health of every served service", health_check))
    results.append(_timed("Keycloak", "service-account token, validated", token_check))
    if token:
        results.append(_timed("gRPC api", "authenticated WhoAmI", whoami_check))
    results.append(_timed("MongoDB → RabbitMQ → nameko", "probe through the outbox", probe_check))
    channel.close()
    return results
