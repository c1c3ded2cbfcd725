"""Fault injection for the event path (issue 12, item 10): private servers a test may stop and
start without touching the shared ones, worker processes it may kill, and a stream of probe
events whose effects it can count.

- `PrivateFerretDB`: the project's FerretDB binary (scripts/infra.sh builds it) on free ports
  with its own SQLite directory; `stop()` ends the process, `start()` runs it again on the same
  data, as an operator's restart would.
- `PrivateRabbitMQ`: a RabbitMQ node of its own (own node name, ports, mnesia, cookie) as
  scripts/infra.sh starts the shared one, with the management plugin; `restart()` stops and
  starts it on the same data.
- `start_worker`: `kim node worker` as an operator starts it, returned as a process (the caller
  stops or kills it); ready when its queues have consumers.
- The stream: `ProbeRequested` events published straight to the node's exchange (confirmed,
  mandatory); each worker service records one receipt per event id (kimnetz.runtime.node), so
  "lost" is an event without a receipt and "applied twice" an event with two.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import pymongo
import pytest
import requests

from kim.node.v1.probe_pb2 import ProbeRequested
from kimnetz.runtime import events
from kimnetz.runtime.amqp import Publisher
from kimnetz.runtime.broker_admin import BrokerAdmin
from kimnetz.runtime.settings import Settings
from kimnetz.runtime.worker import NAMEKO_CONFIG
from tests.support import servers, signing

KIM_HOME = Path(os.environ.get("KIM_HOME", Path(__file__).resolve().parents[2] / ".kim"))
FERRETDB = KIM_HOME / "ferretdb" / "bin" / "ferretdb-1.24.2"
RABBITMQ_SERVER = Path("/usr/lib/rabbitmq/bin/rabbitmq-server")
RABBITMQCTL = Path("/usr/lib/rabbitmq/bin/rabbitmqctl")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _wait_tcp(port: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            time.sleep(0.2)
    return False


class PrivateFerretDB:
    def __init__(self, directory: Path) -> None:
        if not FERRETDB.exists():
            pytest.fail(f"FerretDB is not built at {FERRETDB}; run `scripts/infra.sh provision ferretdb`")
        self.directory = directory
        self.port = free_port()
        self.debug_port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        (directory / "data").mkdir(parents=True, exist_ok=True)
        (directory / "state").mkdir(exist_ok=True)

    @property
    def uri(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}/"

    def start(self) -> None:
        with (self.directory / "ferretdb.log").open("ab") as log:
            self.process = subprocess.Popen(
                [str(FERRETDB), "--handler=sqlite", f"--sqlite-url=file:{self.directory}/data/",
                 f"--listen-addr=127.0.0.1:{self.port}", f"--debug-addr=127.0.0.1:{self.debug_port}",
                 f"--state-dir={self.directory}/state", "--telemetry=disable", "--log-level=warn"],
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )
        _await_ready(f"http://127.0.0.1:{self.debug_port}/debug/readyz", None, 30,
                     self.directory / "ferretdb.log", "FerretDB", self.stop)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.process = None


class PrivateRabbitMQ:
    """A RabbitMQ node of this test only (guest may log in over 127.0.0.1, as on the shared one)."""

    def __init__(self, directory: Path) -> None:
        if not RABBITMQ_SERVER.exists():
            pytest.fail("RabbitMQ is not installed; run `scripts/infra.sh provision rabbitmq`")
        self.directory = directory
        self.port = free_port()
        self.management_port = free_port()
        self.dist_port = free_port()
        self.name = f"kimfault{uuid.uuid4().hex[:8]}@localhost"
        self.process: subprocess.Popen[bytes] | None = None
        for sub in ("mnesia", "log"):
            (directory / sub).mkdir(parents=True, exist_ok=True)
        (directory / "enabled_plugins").write_text("[rabbitmq_management].\n")
        (directory / "rabbitmq.conf").write_text(
            f"listeners.tcp.default = {self.port}\nmanagement.tcp.port = {self.management_port}\n"
            "management.tcp.ip = 127.0.0.1\nloopback_users = none\n")
        cookie = directory / ".erlang.cookie"
        if not cookie.exists():
            cookie.write_text(uuid.uuid4().hex)
            cookie.chmod(0o400)

    @property
    def env(self) -> dict[str, str]:
        d = str(self.directory)
        return {**os.environ, "HOME": d, "RABBITMQ_NODENAME": self.name,
                "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1", "RABBITMQ_NODE_PORT": str(self.port),
                "RABBITMQ_DIST_PORT": str(self.dist_port), "RABBITMQ_MNESIA_BASE": f"{d}/mnesia",
                "RABBITMQ_LOG_BASE": f"{d}/log", "RABBITMQ_ENABLED_PLUGINS_FILE": f"{d}/enabled_plugins",
                "RABBITMQ_CONFIG_FILE": f"{d}/rabbitmq.conf", "RABBITMQ_PID_FILE": f"{d}/pid",
                "RABBITMQ_LOGS": f"{d}/log/rabbit.log"}

    @property
    def amqp_uri(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/"

    @property
    def management_url(self) -> str:
        return f"http://127.0.0.1:{self.management_port}"

    def start(self) -> None:
        with (self.directory / "console.log").open("ab") as log:
            self.process = subprocess.Popen(
                [str(RABBITMQ_SERVER)], env=self.env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        subprocess.run([str(RABBITMQCTL), "-q", "await_startup", "--timeout", "120"],
                       env=self.env, check=False, timeout=150, capture_output=True)
        _await_ready(f"{self.management_url}/api/overview", ("guest", "guest"), 60,
                     self.directory / "console.log", "RabbitMQ", self.stop)

    def stop(self) -> None:
        if self.process is None:
            return
        subprocess.run([str(RABBITMQCTL), "-q", "stop"], env=self.env, check=False,
                       timeout=60, capture_output=True)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)


def start_worker(settings: Settings, log: Path, ready_when: Mapping[str, int],
                 extra_env: Mapping[str, str] | None = None,
                 admin: BrokerAdmin | None = None,
                 services: Sequence[str] = ()) -> subprocess.Popen[bytes]:
    """`kim node worker` of the node (or `nameko run` of `services`, "module:Class", with the
    workers' configuration); returns once its queues have consumers. The caller ends it
    (`stop_worker`, or SIGKILL to the process group)."""
    env = {**servers.node_environment(settings), **(extra_env or {})}
    command = [str(Path(sys.executable).with_name("kim")), "node", "worker"]
    if services:
        command = [str(Path(sys.executable).with_name("nameko")), "run", "--config", str(NAMEKO_CONFIG),
                   *services]
    with log.open("ab") as out:
        process = subprocess.Popen(
            command, env=env,
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    admin = admin or servers.broker_admin(settings)
    deadline = time.monotonic() + 90
    while True:
        if process.poll() is not None:
            pytest.fail(f"the worker exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            consumed = [str(q["name"]) for q in admin.queues(settings.node_id)
                        if int(str(q.get("consumers", 0))) > 0]
        except Exception:  # the broker is still starting
            consumed = []
        if all(sum(event in name for name in consumed) >= count for event, count in ready_when.items()):
            return process
        if time.monotonic() > deadline:
            stop_worker(process)
            pytest.fail(f"the worker did not consume within 90 s:\n{log.read_text()[-3000:]}")
        time.sleep(0.3)


def stop_worker(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)


def kill_worker(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL to the worker's whole process group: no handler finishes, nothing is acknowledged."""
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(10)


def probe_envelope(source_node: str) -> tuple[str, bytes]:
    message = ProbeRequested(probe_id=str(uuid.uuid4()), requested_by="fault test")
    envelope = events.pack(message, source_service="node", source_node=source_node)
    # Signed with the node's own test certificate, as its outbox relay would sign it.
    return message.probe_id, signing.signed_body(envelope)


def publish_probe(publisher: Publisher, source_node: str) -> str:
    """One probe event, confirmed and routed; returns its probe id."""
    probe_id, body = probe_envelope(source_node)
    publisher.publish("node.events", events.event_type(ProbeRequested), body, probe_id)
    return probe_id


def receipts(mongodb_uri: str, settings: Settings, service: str) -> dict[str, int]:
    """probe id -> how many receipt documents the service wrote for it (1 = applied once)."""
    client: pymongo.MongoClient[dict[str, object]] = pymongo.MongoClient(
        mongodb_uri, serverSelectionTimeoutMS=5000)
    try:
        found: dict[str, int] = {}
        for stored in client[settings.database_name("node")]["probe_receipts"].find(
                {"service": service}, {"probe_id": 1}):
            key = str(stored["probe_id"])
            found[key] = found.get(key, 0) + 1
        return found
    finally:
        client.close()


def redeliveries(mongodb_uri: str, settings: Settings, service: str) -> int:
    """Deliveries beyond the first that the event-id check absorbed (not applications)."""
    client: pymongo.MongoClient[dict[str, object]] = pymongo.MongoClient(
        mongodb_uri, serverSelectionTimeoutMS=5000)
    try:
        return sum(int(str(stored.get("deliveries", 1))) - 1 for stored in
                   client[settings.database_name("node")]["probe_receipts"].find(
                       {"service": service}, {"deliveries": 1}))
    finally:
        client.close()


def _await_ready(url: str, auth: tuple[str, str] | None, seconds: float, log: Path, name: str,
                 stop: Callable[[], None]) -> None:
    """Until the private server's `url` answers; otherwise it is stopped (no process of a test
    outlives it) and the test fails with the end of its log."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if requests.get(url, auth=auth, timeout=2).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    tail = log.read_text()[-3000:]
    stop()
    pytest.fail(f"the private {name} did not start:\n{tail}")
