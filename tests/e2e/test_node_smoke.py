"""One node started as an operator starts it answers on every component: gRPC health, an
authenticated call with a real Keycloak token, and an event from MongoDB through the outbox,
RabbitMQ and every service's nameko worker."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from kimctl import devrealm
from kimctl.nodecheck import run_checks
from kimnetz.runtime.settings import Settings
from tests.support import servers


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def running_node(node_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    servers.require_tcp("Keycloak", node_settings.keycloak_url, 8080)
    settings = devrealm.settings_with_secret(
        node_settings.model_copy(update={"grpc_port": free_port(), "outbox_sweep_seconds": 0.5})
    )
    logs = tmp_path_factory.mktemp("node")
    kim = str(Path(sys.executable).with_name("kim"))
    processes = []
    for role in ("api", "worker"):
        with (logs / f"{role}.log").open("wb") as out:
            processes.append(subprocess.Popen(
                [kim, "node", role], env=servers.node_environment(settings),
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            ))
    try:
        wait_until_serving(f"127.0.0.1:{settings.grpc_port}", processes, logs)
        yield settings
    finally:
        for process in processes:
            os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            process.wait(20)


def wait_until_serving(target: str, processes: list[subprocess.Popen[bytes]], logs: Path) -> None:
    deadline = time.monotonic() + 60
    with grpc.insecure_channel(target) as channel:
        while time.monotonic() < deadline:
            if any(p.poll() is not None for p in processes):
                pytest.fail("a node process exited:\n" + "\n".join(
                    f.read_text()[-2000:] for f in logs.glob("*.log")))
            try:
                response = health_pb2_grpc.HealthStub(channel).Check(
                    health_pb2.HealthCheckRequest(), timeout=1)
                if response.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.RpcError:
                time.sleep(0.3)
    pytest.fail("the api did not report SERVING within 60 s")


def test_every_component_of_a_started_node_answers(running_node: Settings) -> None:
    results = run_checks(running_node, f"127.0.0.1:{running_node.grpc_port}", probe_timeout=60)
    failed = [f"{r.component} / {r.check}: {r.detail}" for r in results if not r.ok]
    assert not failed, failed
    assert [r.check for r in results] == [
        "Zustand aller Dienste",
        "Token des Dienstkontos, geprüft",
        "WhoAmI mit Token",
        "Probe durch die Outbox",
    ]
    probe = results[-1].detail
    for service in ("case", "conference", "documents", "identity"):
        assert f"{service} (1x)" in probe
