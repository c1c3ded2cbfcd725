"""Test tiers (ARCHITECTURE.md, "Tests"):

- tests/unit: domain cores and pure runtime code with hand-written fakes; no servers.
- tests/integration: one service against the REAL MongoDB-wire server (FerretDB locally),
  RabbitMQ and Keycloak that `make infra-up` starts (or MONGODB_URI, AMQP_URI, KEYCLOAK_URL),
  or, where a Docker engine answers, compose.yaml's MongoDB 7, RabbitMQ and Keycloak started
  once per session with testcontainers (tests/support/containers.py; KIM_TEST_SERVERS=
  auto|containers|local chooses, and the run's header says which and why).
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
from tests.support import containers, servers

TIERS = ("unit", "integration", "e2e")
SERVER_TIERS = ("integration", "e2e")
CHOICE = pytest.StashKey[containers.Choice]()
CREDENTIALS = pytest.StashKey[containers.Credentials]()

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
    """Which servers the run uses, decided once (containers where a Docker engine answers);
    with containers, their administrators are made now, before test modules that read them
    on import are collected.

    The broker's administrator is read once from the KIM_HOME the run starts with: tests
    that give nodes a KIM_HOME of their own keep reaching the broker's management API (the
    local broker has no guest once `scripts/infra.sh` secured it)."""
    try:
        choice = containers.choose(os.environ, containers.probe_engine)
    except containers.ChoiceError as exc:
        raise pytest.UsageError(str(exc)) from None
    config.stash[CHOICE] = choice
    if choice.servers == "containers":
        credentials = containers.Credentials.generate(containers.compose_pins())
        config.stash[CREDENTIALS] = credentials
        os.environ.update(credentials.environment())
    os.environ.setdefault("KIM_RABBITMQ_ADMIN", Settings().rabbitmq_admin)


def pytest_report_header(config: pytest.Config) -> str:
    return config.stash[CHOICE].header()


def pytest_sessionstart(session: pytest.Session) -> None:
    """`-q` leaves out the header; the choice is still the run's first line."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None and session.config.get_verbosity() < 0:
        reporter.write_line(session.config.stash[CHOICE].header())


@pytest.fixture(scope="session", autouse=True)
def test_servers(request: pytest.FixtureRequest) -> Iterator[containers.Choice]:
    """With containers: started once, before the first test, if the run has an integration or
    e2e test, and removed at its end; the environment names them meanwhile (node processes
    inherit it). With local servers: nothing to do, the environment already names them."""
    choice = request.config.stash[CHOICE]
    needed = any(item.get_closest_marker(tier) for item in request.session.items for tier in SERVER_TIERS)
    if choice.servers != "containers" or not needed:
        yield choice
        return
    assert choice.engine is not None
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    with containers.running_servers(containers.compose_pins(), choice.engine,
                                    request.config.stash[CREDENTIALS]) as environment:
        if reporter is not None:
            reporter.write_line(f"\n[test servers] {containers.describe(environment)}")
        before = {name: os.environ.get(name) for name in environment}
        os.environ.update(environment)
        try:
            yield choice
        finally:
            for name, value in before.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


@pytest.fixture(scope="session")
def node_settings(test_servers: containers.Choice) -> Iterator[Settings]:
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
