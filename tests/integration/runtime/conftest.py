"""Integration tier of the shared runtime: real FerretDB, RabbitMQ (own vhost), Keycloak, and a
real `nameko run` worker process; nothing faked."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kimnetz.runtime import mongo, node
from kimnetz.runtime.amqp import Publisher
from kimnetz.runtime.event_trust import EnvelopeSigner
from kimnetz.runtime.outbox import OutboxRelay
from kimnetz.runtime.settings import Settings
from tests.support import servers


@pytest.fixture(scope="session")
def connected(node_settings: Settings) -> Settings:
    node.connect(node_settings)
    mongo.connect(node_settings, "case")
    return node_settings


@pytest.fixture(scope="module")
def worker(node_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """`kim node worker` (nameko run) for all four services of the test node; per module, so it
    never competes for the session vhost's queues with another module's worker."""
    log = tmp_path_factory.mktemp("worker") / "worker.log"
    ready = {"ProbeRequested": len(node_settings.served_services)}
    with servers.running_worker(node_settings, log, ready):
        yield log


@pytest.fixture
def relay(connected: Settings) -> Iterator[OutboxRelay]:
    publisher = Publisher(connected.amqp_uri)
    # Signed as the node's api process signs (the workers refuse unsigned events).
    yield OutboxRelay(publisher, [node.ProbeRequest._get_collection()],
                      sign=EnvelopeSigner.from_tls_dir(connected.tls_dir).sign)
    publisher.close()
