"""Access to the real servers the integration and e2e tiers use, and isolation between tests
that share them: each test session runs as its own node id (own databases) on its own RabbitMQ
virtual host, so tests can run beside `make demo` and beside each other.

A server that cannot be reached fails the test with what to start; nothing is skipped.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import pymongo
import pytest

from kimnetz.errors import Unavailable
from kimnetz.runtime.broker_admin import BrokerAdmin, with_vhost
from kimnetz.runtime.settings import Settings

START_HINT = ("start the local servers with `make infra-up` (or set MONGODB_URI, AMQP_URI, KEYCLOAK_URL, "
              "or run where Docker answers: KIM_TEST_SERVERS=containers, docs/development.md)")


def require_tcp(name: str, uri: str, default_port: int) -> None:
    parts = urlsplit(uri)
    host, port = parts.hostname or "127.0.0.1", parts.port or default_port
    try:
        socket.create_connection((host, port), timeout=3).close()
    except OSError as exc:
        pytest.fail(f"{name} is not reachable at {host}:{port} ({exc}); {START_HINT}", pytrace=False)


def broker_admin(settings: Settings) -> BrokerAdmin:
    """The broker's administrator (scripts/infra.sh's, `KIM_RABBITMQ_ADMIN`), never a node."""
    return BrokerAdmin.of(settings.rabbitmq_management_url, settings.rabbitmq_admin)


def create_vhost(settings: Settings) -> None:
    try:
        broker_admin(settings).ensure_vhost(settings.node_id)
    except Unavailable as exc:
        pytest.fail(f"{exc.message}; {START_HINT}", pytrace=False)


def isolated_settings() -> Settings:
    """Settings of a throw-away node: unique id (databases), vhost (queues) and a certificate
    of the session's test CA, so it signs and verifies events (tests/support/signing.py)."""
    from tests.support import signing

    node_id = f"test-{uuid.uuid4().hex[:8]}"
    base = Settings()
    return base.model_copy(update={
        "node_id": node_id,
        "amqp_uri": with_vhost(base.amqp_uri, node_id),
        "grpc_port": 0,
        "tls_dir": signing.tls_dir(node_id),
    })


def drop_databases(settings: Settings) -> None:
    client: pymongo.MongoClient[dict[str, object]] = pymongo.MongoClient(
        settings.mongodb_uri, serverSelectionTimeoutMS=5000
    )
    prefix = settings.database_name("")
    for name in client.list_database_names():
        if name.startswith(prefix):
            client.drop_database(name)
    client.close()


def node_environment(settings: Settings) -> dict[str, str]:
    """Environment for a node process (`kim node api|worker`) with these settings."""
    return {
        **os.environ,
        "KIM_NODE_ID": settings.node_id,
        "AMQP_URI": settings.amqp_uri,
        "MONGODB_URI": settings.mongodb_uri,
        "KEYCLOAK_URL": settings.keycloak_url,
        "KIM_GRPC_SERVICES": settings.grpc_services,
        "KIM_GRPC_PORT": str(settings.grpc_port),
        "KIM_OUTBOX_SWEEP_SECONDS": str(settings.outbox_sweep_seconds),
        "KIM_TLS_DIR": settings.tls_dir,
    }


@contextmanager
def running_worker(settings: Settings, log: Path, ready_when: Mapping[str, int],
                   extra_env: Mapping[str, str] | None = None) -> Iterator[subprocess.Popen[bytes]]:
    """`kim node worker` (`nameko run`) of the node, as an operator starts it. Ready when, for each
    event name in `ready_when`, at least that many of its queues on the node's vhost have a
    consumer; stopped (SIGTERM, then SIGKILL) when the block ends."""
    env = {**node_environment(settings), **(extra_env or {})}
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(Path(sys.executable).with_name("kim")), "node", "worker"], env=env,
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    try:
        admin, deadline = broker_admin(settings), time.monotonic() + 60
        while True:
            if process.poll() is not None:
                pytest.fail(f"the worker exited with {process.returncode}:\n{log.read_text()[-3000:]}")
            consumed = [str(q["name"]) for q in admin.queues(settings.node_id)
                        if int(str(q.get("consumers", 0))) > 0]
            if all(sum(event in name for name in consumed) >= count for event, count in ready_when.items()):
                break
            if time.monotonic() > deadline:
                pytest.fail(f"the worker did not consume within 60 s:\n{log.read_text()[-3000:]}")
            time.sleep(0.5)
        yield process
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
