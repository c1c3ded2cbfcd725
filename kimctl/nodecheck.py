"""`kim node check`: proves that every real component of a running node answers, through the
project's own runtime code. Each check returns what it saw; none is assumed. Check names and
details are shown to operators (`kim node check`, `kim demo`), so they are German."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from kim.identity.v1 import identity_pb2, identity_pb2_grpc
from kimnetz.runtime import node
from kimnetz.runtime.auth import TokenValidator
from kimnetz.runtime.service_account import ServiceAccount
from kimnetz.runtime.service_names import grpc_services
from kimnetz.runtime.settings import Settings


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


def node_alias(settings: Settings) -> str:
    """Each node's database under its own alias: one command line may check several nodes."""
    alias = f"node:{settings.node_id}"
    node.connect(settings, alias)
    # mongoengine's switch_db also opens the document class's own alias; any node will do.
    node.connect(settings)
    return alias


def probe_between(sender: Settings, receiver: Settings, timeout: float) -> str:
    """Record a probe on `sender` and wait until every service worker of `receiver` has it:
    across nodes this crosses the RabbitMQ federation between their brokers."""
    probe = node.request_probe(sender, requested_by="kim node check", alias=node_alias(sender))
    counts = wait_for_receipts(probe.probe_id, receiver, timeout)
    missing = set(receiver.served_services) - counts.keys()
    if missing:
        raise TimeoutError(
            f"kein Empfang auf {receiver.node_id} bei {', '.join(sorted(missing))} "
            f"innerhalb von {timeout:.0f} s"
        )
    return "empfangen von " + ", ".join(f"{s} ({n}x)" for s, n in sorted(counts.items()))


def wait_for_receipts(probe_id: str, receiver: Settings, timeout: float) -> dict[str, int]:
    """Deliveries per service of `receiver` once all have the probe (or when time is up)."""
    alias = node_alias(receiver)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = node.receipts(probe_id, alias)
        if set(receiver.served_services) <= got.keys():
            break
        time.sleep(0.2)
    return {service: receipt.deliveries for service, receipt in node.receipts(probe_id, alias).items()}


def check_federation(sender: Settings, receiver: Settings, timeout: float = 30.0) -> CheckResult:
    return _timed(
        f"{sender.node_id} → {receiver.node_id}", "Ereignis über den Verbund",
        lambda: probe_between(sender, receiver, timeout),
    )


def run_checks(settings: Settings, target: str, probe_timeout: float = 30.0) -> list[CheckResult]:
    results: list[CheckResult] = []
    channel = grpc.insecure_channel(target)
    token = ""

    def health_check() -> str:
        stub = health_pb2_grpc.HealthStub(channel)
        states = {}
        for name in ("", *grpc_services(settings.served_services)):
            response = stub.Check(health_pb2.HealthCheckRequest(service=name), timeout=5)
            states[name or "node"] = health_pb2.HealthCheckResponse.ServingStatus.Name(response.status)
        bad = {k: v for k, v in states.items() if v != "SERVING"}
        if bad:
            raise RuntimeError(f"nicht bereit: {bad}")
        return ", ".join(sorted(states))

    def token_check() -> str:
        nonlocal token
        account = ServiceAccount(
            settings.keycloak_url, settings.keycloak_realm, settings.client_id,
            settings.client_secret,
        )
        token = account.token()
        principal = TokenValidator(settings.issuer, settings.api_audience).validate(token)
        return f"Client {principal.client_id} (Zielgruppe {settings.api_audience}) geprüft"

    def whoami_check() -> str:
        stub = identity_pb2_grpc.IdentityServiceStub(channel)  # type: ignore[no-untyped-call]
        answer = stub.WhoAmI(
            identity_pb2.WhoAmIRequest(), metadata=[("authorization", f"Bearer {token}")],
            timeout=5,
        )
        try:
            stub.WhoAmI(identity_pb2.WhoAmIRequest(), timeout=5)
            raise RuntimeError("ein Aufruf ohne Token wurde angenommen")
        except grpc.RpcError as exc:
            if exc.code() != grpc.StatusCode.UNAUTHENTICATED:
                raise
        return f"{answer.username} auf Knoten {answer.node_id}; ohne Token: UNAUTHENTICATED"

    def probe_check() -> str:
        return probe_between(settings, settings, probe_timeout)

    results.append(_timed("gRPC-api", "Zustand aller Dienste", health_check))
    results.append(_timed("Keycloak", "Token des Dienstkontos, geprüft", token_check))
    if token:
        results.append(_timed("gRPC-api", "WhoAmI mit Token", whoami_check))
    results.append(_timed("MongoDB → RabbitMQ → nameko", "Probe durch die Outbox", probe_check))
    channel.close()
    return results
