"""Integration tier of the shared runtime: real FerretDB, RabbitMQ (own vhost), Keycloak, and a
real `nameko run` worker process; nothing faked."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kim.runtime import mongo, node
from kim.runtime.amqp import Publisher
from kim.runtime.outbox import OutboxRelay
from kim.runtime.settings import Settings
from tests.support import servers


@pytest.fixture(scope="session")
def connected(node_settings: Settings) -> Settings:
    node.connect(node_settings)
    mongo.connect(node_settings, "case")
    return node_settings


@pytest.fixture(scope="session")
def worker(node_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """`kim node worker` (nameko run) for all four services of the test node."""
    log = tmp_path_factory.mktemp("worker") / "worker.log"
    kim = str(Path(sys.executable).with_name("kim"))
    with log.open("wb") as out:
        process = subprocess.Popen(
            [kim, "node", "worker"], env=servers.node_environment(node_settings),
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    try:
        _wait_for_consumers(node_settings, process, log)
        yield log
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def _wait_for_consumers(settings: Settings, process: subprocess.Popen[bytes], log: Path) -> None:
    """Ready when each service's probe queue has a consumer on the test vhost."""
    admin = servers.broker_admin(settings)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the worker exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        consumed = [q for q in admin.queues(settings.node_id) if int(str(q.get("consumers", 0))) > 0]
        if sum("ProbeRequested" in str(q["name"]) for q in consumed) >= len(settings.served_services):
            return
        time.sleep(0.5)
    pytest.fail(f"the worker did not consume within 60 s:\n{log.read_text()[-3000:]}")


@pytest.fixture
def relay(connected: Settings) -> Iterator[OutboxRelay]:
    publisher = Publisher(connected.amqp_uri)
    yield OutboxRelay(publisher, [node.ProbeRequest._get_collection()])
    publisher.close()
