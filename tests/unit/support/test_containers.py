"""The test servers in containers (tests/support/containers.py), checked without Docker: the
definitions are built (their Docker client is given an API version, so nothing asks an engine)
and read back; the choice runs on probes written here; the real probe runs against addresses
where no engine answers and must come back in time."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
import yaml
from testcontainers.core.container import DockerContainer
from testcontainers.core.wait_strategies import (
    CompositeWaitStrategy,
    HttpWaitStrategy,
    LogMessageWaitStrategy,
)

from kimnetz.runtime.broker_admin import vhost_of, with_credentials, with_vhost
from kimnetz.runtime.settings import Settings
from tests.support import containers
from tests.support.containers import Address, Choice, ChoiceError, Engine, NoEngine

DOCKER = {"version": "1.44"}  # any API version: building a definition must not ask an engine
PINS = containers.compose_pins()
COMPOSE: dict[str, Any] = yaml.safe_load(containers.COMPOSE_FILE.read_text(encoding="utf-8"))
ADMIN = ("kim-admin", "p@ss/w:rd")
AMQP_PORT, KEYCLOAK_PORT = 41234, 41235


def services(suffix: str) -> list[dict[str, Any]]:
    found = [s for name, s in COMPOSE["services"].items() if name.endswith(suffix)]
    assert found, f"compose.yaml has no *{suffix} service"
    return found


def transfers(container: DockerContainer) -> dict[str, Any]:
    """What is copied into the container before it starts: destination -> bytes or Path."""
    return {destination: source for source, destination, *_ in container._transferable_specs}


# --- one place of truth: compose.yaml --------------------------------------------------------

def test_the_images_are_compose_yamls() -> None:
    assert {s["image"] for s in services("-mongo")} == {PINS.mongo_image}
    assert {s["image"] for s in services("-rabbitmq")} == {PINS.rabbitmq_image}
    assert services("keycloak")[0]["image"] == PINS.keycloak_image


def test_the_versions_are_the_ones_the_issue_names_and_keycloak_is_the_local_one() -> None:
    assert re.fullmatch(r"mongo:7(\.\d+)*", PINS.mongo_image)
    assert PINS.rabbitmq_image.startswith("rabbitmq:") and PINS.rabbitmq_image.endswith("-management")
    keycloak_version = PINS.keycloak_image.rpartition(":")[2]
    assert keycloak_version.startswith("26.")
    infra = (containers.ROOT / "scripts" / "infra.sh").read_text(encoding="utf-8")
    assert re.search(rf"KEYCLOAK_VERSION=\$\{{KIM_KEYCLOAK_VERSION:-{re.escape(keycloak_version)}\}}", infra)


def test_plugins_and_administrators_are_compose_yamls() -> None:
    broker = services("-rabbitmq")[0]
    source = next(c["source"] for c in broker["configs"] if c["target"] == "/etc/rabbitmq/enabled_plugins")
    assert PINS.rabbitmq_plugins == COMPOSE["configs"][source]["content"]
    for plugin in ("rabbitmq_management", "rabbitmq_federation", "rabbitmq_federation_management"):
        assert plugin in PINS.rabbitmq_plugins
    assert PINS.rabbitmq_admin_user == broker["environment"]["RABBITMQ_DEFAULT_USER"] == "kim-admin"
    assert PINS.keycloak_command == tuple(services("keycloak")[0]["command"])
    assert PINS.keycloak_admin_user == services("keycloak")[0]["environment"]["KC_BOOTSTRAP_ADMIN_USERNAME"]


def test_nodes_on_different_images_in_compose_yaml_are_refused(tmp_path: Path) -> None:
    changed = yaml.safe_load(containers.COMPOSE_FILE.read_text(encoding="utf-8"))
    changed["services"]["stadt-hilden-mongo"]["image"] = "mongo:6"
    path = tmp_path / "compose.yaml"
    path.write_text(yaml.safe_dump(changed), encoding="utf-8")
    with pytest.raises(ValueError, match="mongo:6"):
        containers.compose_pins(path)


# --- the definitions -------------------------------------------------------------------------

def test_mongo_runs_compose_yamls_image_with_a_small_cache_and_waits_for_connections() -> None:
    mongo = containers.mongo_container(PINS, DOCKER)
    assert mongo.image == "mongo:7"
    assert mongo._command == ["mongod", "--bind_ip_all", "--wiredTigerCacheSizeGB", "0.25"]
    assert mongo.ports == {"27017": None}
    wait = mongo._wait_strategy
    assert isinstance(wait, LogMessageWaitStrategy)
    # mongod 7 logs JSON; this is its line once it listens.
    line = ('{"t":{"$date":"2026-01-05T10:00:00.000+00:00"},"s":"I",  "c":"NETWORK",  "id":23016,   '
            '"ctx":"listener","msg":"Waiting for connections","attr":{"port":27017,"ssl":"off"}}')
    assert wait._message.search(line)
    assert not wait._message.search('{"msg":"Initializing full-time diagnostic data capture"}')
    assert wait._startup_timeout == 90


def test_rabbitmq_has_compose_yamls_plugins_and_administrator_and_no_guest() -> None:
    broker = containers.rabbitmq_container(PINS, DOCKER, amqp_port=AMQP_PORT, admin=ADMIN)
    assert broker.image == "rabbitmq:3-management"
    assert broker.env == {"RABBITMQ_DEFAULT_USER": "kim-admin", "RABBITMQ_DEFAULT_PASS": ADMIN[1]}
    copied = transfers(broker)
    assert copied["/etc/rabbitmq/enabled_plugins"] == PINS.rabbitmq_plugins.encode()
    listener = f"listeners.tcp.default = {AMQP_PORT}\n".encode()
    assert copied["/etc/rabbitmq/conf.d/90-kim-tests.conf"] == listener


def test_rabbitmq_listens_on_the_published_port_and_exposes_its_management_api() -> None:
    broker = containers.rabbitmq_container(PINS, DOCKER, amqp_port=AMQP_PORT, admin=ADMIN)
    # AMQP: the same number inside and on the host; management: any host port.
    assert broker.ports == {str(AMQP_PORT): AMQP_PORT, "15672": None}


def test_rabbitmq_is_ready_after_its_startup_line_and_an_answer_of_the_management_api() -> None:
    wait = containers.rabbitmq_container(PINS, DOCKER, amqp_port=AMQP_PORT, admin=ADMIN)._wait_strategy
    assert isinstance(wait, CompositeWaitStrategy)
    log, http = wait._strategies
    assert isinstance(log, LogMessageWaitStrategy)
    assert log._message.search("2026-01-05 10:00:00.000 [info] <0.9.0> Server startup complete; "
                               "6 plugins started.")
    assert isinstance(http, HttpWaitStrategy)
    assert (http._port, http._path, http._basic_auth, http._status_codes) == (
        15672, "/api/overview", ADMIN, {200})
    assert log._startup_timeout == http._startup_timeout == 150


def test_keycloak_runs_compose_yamls_command_with_the_realm_import_on_the_published_port() -> None:
    keycloak = containers.keycloak_container(PINS, DOCKER, http_port=KEYCLOAK_PORT, admin=("admin", "secret"),
                                             realms=containers.realm_files())
    assert keycloak.image == "quay.io/keycloak/keycloak:26.4.7"
    assert keycloak._command == ["start-dev", "--health-enabled=true", "--import-realm",
                                 f"--http-port={KEYCLOAK_PORT}"]
    assert keycloak.env == {"KC_BOOTSTRAP_ADMIN_USERNAME": "admin", "KC_BOOTSTRAP_ADMIN_PASSWORD": "secret"}
    assert keycloak.ports == {str(KEYCLOAK_PORT): KEYCLOAK_PORT, "9000": None}


def test_keycloak_imports_every_realm_file_of_the_project_as_the_local_one_does() -> None:
    realms = sorted((containers.ROOT / "services" / "identity" / "realms").glob("*.json"))
    assert realms, "the project has realm files to import"
    keycloak = containers.keycloak_container(PINS, DOCKER, http_port=KEYCLOAK_PORT, admin=("admin", "x"),
                                             realms=containers.realm_files())
    assert transfers(keycloak) == {f"/opt/keycloak/data/import/{realm.name}": realm for realm in realms}
    assert "--import-realm" in keycloak._command


def test_keycloak_is_ready_when_its_health_says_so() -> None:
    wait = containers.keycloak_container(PINS, DOCKER, http_port=KEYCLOAK_PORT, admin=("admin", "x"),
                                         realms=[])._wait_strategy
    assert isinstance(wait, HttpWaitStrategy)
    assert (wait._port, wait._path, wait._status_codes, wait._method) == (9000, "/health/ready", {200}, "GET")
    assert wait._startup_timeout == 300


# --- from containers to the environment the tests read ----------------------------------------

def endpoints(host: str = "localhost") -> containers.Endpoints:
    return containers.Endpoints(mongo=Address(host, 32768), amqp=Address(host, AMQP_PORT),
                                rabbitmq_management=Address(host, 32769),
                                keycloak=Address(host, KEYCLOAK_PORT))


CREDENTIALS = containers.Credentials(rabbitmq_admin=ADMIN, keycloak_admin=("admin", "kc-secret"))


def test_the_environment_names_every_server_the_tests_read() -> None:
    environment = containers.server_environment(endpoints(), CREDENTIALS)
    assert set(environment) == set(containers.SERVER_VARIABLES)
    assert environment == {
        "MONGODB_URI": "mongodb://localhost:32768/",
        "AMQP_URI": f"amqp://kim-admin:p%40ss%2Fw%3Ard@localhost:{AMQP_PORT}/",
        "RABBITMQ_MANAGEMENT_URL": "http://localhost:32769",
        "KIM_RABBITMQ_ADMIN": "kim-admin:p@ss/w:rd",
        "KEYCLOAK_URL": f"http://localhost:{KEYCLOAK_PORT}",
        "KIM_KEYCLOAK_ADMIN_USER": "admin",
        "KIM_KEYCLOAK_ADMIN_PASSWORD": "kc-secret",
    }


def test_settings_read_from_that_environment_reach_the_containers(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in containers.server_environment(endpoints(), CREDENTIALS).items():
        monkeypatch.setenv(name, value)
    settings = Settings()
    assert settings.mongodb_uri == "mongodb://localhost:32768/"
    assert settings.rabbitmq_management_url == "http://localhost:32769"
    assert settings.rabbitmq_admin == "kim-admin:p@ss/w:rd"
    assert settings.keycloak_url == f"http://localhost:{KEYCLOAK_PORT}"
    amqp = urlsplit(settings.amqp_uri)
    assert (unquote(amqp.username or ""), unquote(amqp.password or ""), amqp.port) == (*ADMIN, AMQP_PORT)


def test_an_upstream_uri_the_tests_build_reaches_the_broker_from_inside_its_container() -> None:
    """Federation links are opened by the broker: the URI the tests build from AMQP_URI (as
    test_federation.py and `kim node link` do) must name the port the broker listens on inside
    its container, on a host that is the container itself there (localhost)."""
    environment = containers.server_environment(endpoints(), CREDENTIALS)
    upstream = with_credentials(with_vhost(environment["AMQP_URI"], "test-caritas"), "kim-link", "pw")
    broker = containers.rabbitmq_container(PINS, DOCKER, amqp_port=AMQP_PORT, admin=ADMIN)
    listener = transfers(broker)["/etc/rabbitmq/conf.d/90-kim-tests.conf"].decode()
    parts = urlsplit(upstream)
    assert parts.hostname == "localhost" and vhost_of(upstream) == "test-caritas"
    assert f"listeners.tcp.default = {parts.port}\n" == listener
    assert broker.ports[str(parts.port)] == parts.port  # and the host publishes that same port


def test_keycloak_url_is_the_address_keycloak_serves_inside_its_container() -> None:
    """Brokered logins: Keycloak calls the home realm's token and key endpoints under
    KEYCLOAK_URL (KeycloakSync.oidc_endpoints) from inside its container."""
    port = urlsplit(containers.server_environment(endpoints(), CREDENTIALS)["KEYCLOAK_URL"]).port
    keycloak = containers.keycloak_container(PINS, DOCKER, http_port=KEYCLOAK_PORT, admin=("a", "b"),
                                             realms=[])
    assert f"--http-port={port}" in keycloak._command
    assert keycloak.ports[str(port)] == port


def test_an_ipv6_host_is_bracketed() -> None:
    environment = containers.server_environment(endpoints("::1"), CREDENTIALS)
    assert environment["MONGODB_URI"] == "mongodb://[::1]:32768/"
    assert urlsplit(environment["AMQP_URI"]).port == AMQP_PORT


def test_the_run_shows_where_the_servers_are_without_passwords() -> None:
    shown = containers.describe(containers.server_environment(endpoints(), CREDENTIALS))
    assert f"AMQP_URI=amqp://localhost:{AMQP_PORT}/" in shown
    assert "MONGODB_URI=mongodb://localhost:32768/" in shown
    assert "p%40ss" not in shown and "kc-secret" not in shown


def test_generated_administrators_are_compose_yamls_users_with_new_passwords() -> None:
    one, two = containers.Credentials.generate(PINS), containers.Credentials.generate(PINS)
    assert one.rabbitmq_admin[0] == "kim-admin" and one.keycloak_admin[0] == "admin"
    assert one.rabbitmq_admin[1] != two.rabbitmq_admin[1] and len(one.keycloak_admin[1]) >= 32
    assert one.environment()["KIM_RABBITMQ_ADMIN"] == ":".join(one.rabbitmq_admin)


def test_the_ports_chosen_for_both_sides_are_distinct_and_free() -> None:
    ports = containers.free_ports(2)
    assert len(set(ports)) == 2
    for port in ports:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", port))


# --- the choice --------------------------------------------------------------------------------

class Probe:
    """Answers as an engine would, and counts how often it was asked."""

    def __init__(self, answer: Engine | NoEngine) -> None:
        self.answer, self.calls = answer, 0

    def __call__(self) -> Engine | NoEngine:
        self.calls += 1
        return self.answer


ENGINE = Engine("unix:///var/run/docker.sock", "1.47")
NONE = NoEngine("unix:///var/run/docker.sock: No such file or directory")


def test_auto_takes_containers_where_an_engine_answers_and_says_why() -> None:
    choice = containers.choose({}, Probe(ENGINE))
    assert choice == Choice("containers", choice.reason, ENGINE)
    assert "unix:///var/run/docker.sock" in choice.reason and "1.47" in choice.reason
    assert choice.header().startswith("test servers: containers")


def test_auto_takes_the_local_servers_where_none_answers_and_says_why() -> None:
    choice = containers.choose({"KIM_TEST_SERVERS": "auto"}, Probe(NONE))
    assert choice.servers == "local" and choice.engine is None
    assert "no Docker engine answers" in choice.reason and "No such file" in choice.reason
    assert choice.header().startswith("test servers: local")


def test_local_is_taken_without_asking_docker() -> None:
    probe = Probe(ENGINE)
    assert containers.choose({"KIM_TEST_SERVERS": "local"}, probe).servers == "local"
    assert probe.calls == 0


def test_servers_named_by_the_environment_are_used_in_auto() -> None:
    probe = Probe(ENGINE)
    choice = containers.choose({"AMQP_URI": "amqp://broker/", "KEYCLOAK_URL": "http://kc"}, probe)
    assert choice.servers == "local" and "AMQP_URI, KEYCLOAK_URL" in choice.reason
    assert probe.calls == 0


def test_containers_replace_servers_named_by_the_environment() -> None:
    environ = {"KIM_TEST_SERVERS": "containers", "MONGODB_URI": "mongodb://x/"}
    choice = containers.choose(environ, Probe(ENGINE))
    assert choice.servers == "containers"


def test_containers_without_an_engine_fail_and_never_fall_back() -> None:
    with pytest.raises(ChoiceError, match="KIM_TEST_SERVERS=containers, but no Docker engine answers"):
        containers.choose({"KIM_TEST_SERVERS": "Containers "}, Probe(NONE))


def test_an_unknown_mode_is_refused() -> None:
    with pytest.raises(ChoiceError, match="expected one of auto, containers, local"):
        containers.choose({"KIM_TEST_SERVERS": "docker"}, Probe(ENGINE))


# --- the real probe, where no engine answers --------------------------------------------------

def test_the_probe_reports_a_missing_socket_at_once(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/docker.sock")
    started = time.monotonic()
    answer = containers.probe_engine(timeout=2)
    assert isinstance(answer, NoEngine) and str(tmp_path) in answer.reason
    assert time.monotonic() - started < 2


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never answers: an engine that hangs."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield int(server.getsockname()[1])
    stop.set()
    thread.join(2)
    for connection in accepted:
        connection.close()
    server.close()


def test_the_probe_gives_up_on_an_engine_that_does_not_answer(monkeypatch: pytest.MonkeyPatch,
                                                              silent_port: int) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"tcp://127.0.0.1:{silent_port}")
    started = time.monotonic()
    answer = containers.probe_engine(timeout=0.5)
    assert isinstance(answer, NoEngine) and f"127.0.0.1:{silent_port}" in answer.reason
    assert time.monotonic() - started < 3


def test_servers_that_cannot_start_fail_the_run_with_each_reason(monkeypatch: pytest.MonkeyPatch,
                                                                 tmp_path: Path) -> None:
    """An engine that goes away between the probe and the start: the run fails at once with
    the reason, and the removal afterwards does not raise over the report."""
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/docker.sock")
    started = time.monotonic()
    with pytest.raises(RuntimeError) as failure, \
            containers.running_servers(PINS, Engine(f"unix://{tmp_path}/docker.sock", "1.44"), CREDENTIALS):
        pytest.fail("the servers cannot have started")
    assert "did not start" in str(failure.value) and "No such file or directory" in str(failure.value)
    assert time.monotonic() - started < 10
