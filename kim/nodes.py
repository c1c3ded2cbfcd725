"""Operating nodes on one machine: `kim node init|up|down|status`.

A node's configuration is an env file (`<KIM_HOME>/nodes/<id>/node.env`) holding the settings
that make it this node (id, organisation, ports, vhost, TLS folder); `up` starts its api and worker
processes with that environment, records their pids and waits until the api serves; `down`
stops them. The same settings files feed compose and Kubernetes, so nothing here is local-only
in shape.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from kim.runtime.broker_admin import BrokerAdmin, with_vhost
from kim.runtime.pki import DevCertificateAuthority, save_node_credentials
from kim.runtime.settings import Settings

ROLES = ("api", "worker")


def kim_home() -> Path:
    root = Path(__file__).resolve().parent.parent
    home = Path(os.environ.get("KIM_HOME", root / ".kim"))
    return home if home.is_absolute() else root / home


def node_dir(node_id: str) -> Path:
    return kim_home() / "nodes" / node_id


def read_env_file(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


@dataclass(frozen=True)
class NodeSpec:
    node_id: str
    organization_id: str
    grpc_port: int


def init(spec: NodeSpec, base: Settings) -> Path:
    """Write the node's configuration, create its vhost and issue its certificate for mutual
    TLS with peers (idempotent: an existing certificate and CA are kept)."""
    directory = node_dir(spec.node_id)
    directory.mkdir(parents=True, exist_ok=True)
    BrokerAdmin(base.rabbitmq_management_url, base.amqp_uri).ensure_vhost(spec.node_id)
    pki = kim_home() / "pki"
    if not (pki / "ca.crt").exists():
        DevCertificateAuthority.create().save(pki)
    tls = directory / "tls"
    if not (tls / "node.crt").exists():
        save_node_credentials(DevCertificateAuthority.load(pki).issue(spec.node_id), tls)
    settings = {
        "KIM_NODE_ID": spec.node_id,
        "KIM_ORGANIZATION_ID": spec.organization_id,
        "KIM_GRPC_PORT": str(spec.grpc_port),
        "AMQP_URI": with_vhost(base.amqp_uri, spec.node_id),
    }
    lines = ["# KIM-Netz node configuration, written by `kim node init`; see docs/development.md"]
    lines += [f"{key}={value}" for key, value in settings.items()]
    (directory / "node.env").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return directory / "node.env"


#: Exchanges a node federates from its peers by default: the events of every service and of
#: node operations. What crosses is decided by what services publish: events carry no
#: personal data (docs/events.md).
FEDERATED_EXCHANGES = ["case.events", "conference.events", "documents.events", "identity.events",
                       "node.events"]


def link(node_id: str, peer_id: str, exchanges: list[str] | None = None) -> None:
    """Let `node_id` receive the events `peer_id` publishes (RabbitMQ exchange federation from
    the peer's vhost into the node's); call it the other way round for the reverse direction."""
    node, peer = _settings_from(environment(node_id)), _settings_from(environment(peer_id))
    BrokerAdmin(node.rabbitmq_management_url, node.amqp_uri).link_upstream(
        node_id, peer_id, peer.amqp_uri, exchanges or FEDERATED_EXCHANGES
    )


def environment(node_id: str, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    config = node_dir(node_id) / "node.env"
    if not config.exists():
        raise FileNotFoundError(f"node {node_id!r} has no configuration; run `kim node init {node_id}`")
    return {**os.environ, **read_env_file(config), **(extra or {})}


def _pid(node_id: str, role: str) -> int | None:
    """The pid of the node's running process, or None."""
    try:
        pid = int((node_dir(node_id) / f"{role}.pid").read_text())
    except (OSError, ValueError):
        return None
    return pid if _alive(pid) else None


def _alive(pid: int) -> bool:
    try:  # a process this one started stays a zombie until reaped here
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


def up(node_id: str, timeout: float = 60.0, extra: Mapping[str, str] | None = None) -> Settings:
    """Start what is not running and wait until the api serves; returns the node's settings."""
    env = environment(node_id, extra)
    kim = str(Path(sys.executable).with_name("kim"))
    directory = node_dir(node_id)
    for role in ROLES:
        if _pid(node_id, role):
            continue
        with (directory / f"{role}.log").open("ab") as log:
            process = subprocess.Popen(  # noqa: S603 - our own command line
                [kim, "node", role], env=env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        (directory / f"{role}.pid").write_text(str(process.pid))
    settings = _settings_from(env)
    _wait_serving(node_id, f"{settings.grpc_host}:{settings.grpc_port}", timeout)
    return settings


def _settings_from(env: Mapping[str, str]) -> Settings:
    """The settings the node's processes see. pydantic-settings reads `os.environ` only, so it
    is swapped for the node's environment while they are read (command-line process only)."""
    saved = dict(os.environ)
    os.environ.update(env)
    try:
        return Settings()
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _wait_serving(node_id: str, target: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    with grpc.insecure_channel(target) as channel:
        while time.monotonic() < deadline:
            for role in ROLES:
                if _pid(node_id, role) is None:
                    log = node_dir(node_id) / f"{role}.log"
                    raise RuntimeError(
                        f"node {node_id}: {role} exited; last lines of {log}:\n"
                        + log.read_text(errors="replace")[-2000:]
                    )
            try:
                status = health_pb2_grpc.HealthStub(channel).Check(
                    health_pb2.HealthCheckRequest(), timeout=1).status
                if status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.RpcError:
                pass
            time.sleep(0.3)
    raise TimeoutError(f"node {node_id}: the api did not serve within {timeout:.0f} s")


def down(node_id: str, timeout: float = 20.0) -> list[str]:
    """Stop the node's processes (SIGTERM, then SIGKILL after `timeout`); returns what stopped."""
    stopped = []
    for role in ROLES:
        pid = _pid(node_id, role)
        if pid is None:
            continue
        os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while _pid(node_id, role) and time.monotonic() < deadline:
            time.sleep(0.2)
        if _pid(node_id, role):
            os.killpg(pid, signal.SIGKILL)
        (node_dir(node_id) / f"{role}.pid").unlink(missing_ok=True)
        stopped.append(role)
    return stopped


def status(node_id: str) -> dict[str, str]:
    """Each process's state and, where the api runs, the health of every served service."""
    states = {role: (f"läuft (pid {pid})" if (pid := _pid(node_id, role)) else "gestoppt") for role in ROLES}
    if _pid(node_id, "api"):
        settings = _settings_from(environment(node_id))
        with grpc.insecure_channel(f"{settings.grpc_host}:{settings.grpc_port}") as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            for service in settings.served_services:
                try:
                    answer = stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=2)
                    states[service] = health_pb2.HealthCheckResponse.ServingStatus.Name(answer.status)
                except grpc.RpcError as exc:
                    states[service] = f"keine Antwort ({exc.code().name})"
    return states


def nodes() -> list[str]:
    root = kim_home() / "nodes"
    return sorted(p.parent.name for p in root.glob("*/node.env")) if root.exists() else []
