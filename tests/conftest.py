"""Test tiers (ARCHITECTURE.md, "Tests"):

- tests/unit: domain cores and pure runtime code with hand-written fakes; no servers.
- tests/integration: one service against the REAL MongoDB-wire server (FerretDB locally),
  RabbitMQ and Keycloak that `make infra-up` starts (or MONGODB_URI, AMQP_URI, KEYCLOAK_URL).
- tests/e2e: whole nodes as processes (`kim node api|worker`), driven from outside.

Nothing real is faked in the integration and e2e tiers; a missing server fails the test with
what to start. Each test session is its own node (databases) on its own RabbitMQ vhost.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

from kimnetz.runtime.settings import Settings
from tests.support import servers

TIERS = ("unit", "integration", "e2e")

# CI runs the property tests on fixed examples, so a run is repeatable; locally they stay
# random and find new counterexamples (pin each one with @example).
hypothesis_settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Folders are the tiers; the marker follows the folder, so `-m unit` works too."""
    for item in items:
        parts = Path(str(item.fspath)).parts
        for tier in TIERS:
            if tier in parts:
                item.add_marker(getattr(pytest.mark, tier))


def pytest_configure(config: pytest.Config) -> None:
    """The broker's administrator is read once from the KIM_HOME the run starts with: tests
    that give nodes a KIM_HOME of their own keep reaching the broker's management API (the
    local broker has no guest once `scripts/infra.sh` secured it)."""
    import os

    os.environ.setdefault("KIM_RABBITMQ_ADMIN", Settings().rabbitmq_admin)


@pytest.fixture(scope="session")
def node_settings() -> Iterator[Settings]:
    """A throw-away node on the real servers: own databases and own RabbitMQ vhost."""
    settings = servers.isolated_settings()
    servers.require_tcp("MongoDB-wire server (FerretDB)", settings.mongodb_uri, 27017)
    servers.require_tcp("RabbitMQ", settings.amqp_uri, 5672)
    servers.create_vhost(settings)
    yield settings
    servers.drop_databases(settings)
    servers.broker_admin(settings).delete_vhost(settings.node_id)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """The security figures recorded by this run, as the table docs/security.md quotes."""
    from tests.support import security_figures

    table = security_figures.write_table()
    if table is not None:
        print(f"\n[security] figures table: {table.relative_to(security_figures.ROOT)}")
