"""The test servers in containers (issue 15, item 3): where a Docker engine answers, the
integration and e2e tiers run on MongoDB 7, RabbitMQ (management and federation plugins) and
Keycloak 26 started with testcontainers, once per test session; where none answers, on the local
servers of scripts/infra.sh, as before. `KIM_TEST_SERVERS=auto|containers|local` overrides the
choice; tests/conftest.py makes it and prints it at the start of the run.

The images, RabbitMQ's plugin list and administrator and Keycloak's command are compose.yaml's,
read from it: the tests run on what the demo runs, and a version is changed in one place. The
definitions are plain functions that return configured testcontainers objects without starting
them (their Docker client is told the engine's API version, so building one asks no engine),
so tests/unit/support/test_containers.py inspects them without Docker.

One address on both sides. A RabbitMQ federation link is opened by the broker itself (it
connects to the upstream URI the tests build from AMQP_URI), and a brokered login by Keycloak
itself (it calls the token and key endpoints of the home realm under KEYCLOAK_URL, as
KeycloakSync writes them). Both addresses are the host's. So the broker's AMQP port and
Keycloak's HTTP port are the same number inside the container and on the host: a free port P,
published as P:P, the server listening on P. `amqp://...@localhost:P/` and
`http://localhost:P/realms/...` then reach the same server from the tests and from inside it.
The other ports (MongoDB, the management API, Keycloak's health) are called only by the tests
and are published on any free port.
"""

from __future__ import annotations

import os
import re
import secrets
import socket
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

import yaml
from testcontainers.core.container import DockerContainer
from testcontainers.core.wait_strategies import (
    CompositeWaitStrategy,
    HttpWaitStrategy,
    LogMessageWaitStrategy,
)

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "compose.yaml"
REALMS_DIR = ROOT / "services" / "identity" / "realms"

MODE_VARIABLE = "KIM_TEST_SERVERS"
MODES = ("auto", "containers", "local")
#: Servers named from outside (scripts/infra.sh then starts none of them): in `auto` they are
#: used, Docker or not; `containers` replaces them.
GIVEN_SERVER_VARIABLES = ("MONGODB_URI", "AMQP_URI", "KEYCLOAK_URL")
#: How long the engine probe may take; a run without Docker waits no longer than this.
PROBE_SECONDS = 3.0
#: What the test process reads to find the servers (kimnetz/runtime/settings.py,
#: services/identity/cli.py, tests/support/identity.py); node processes inherit it.
SERVER_VARIABLES = ("MONGODB_URI", "AMQP_URI", "RABBITMQ_MANAGEMENT_URL", "KIM_RABBITMQ_ADMIN",
                    "KEYCLOAK_URL", "KIM_KEYCLOAK_ADMIN_USER", "KIM_KEYCLOAK_ADMIN_PASSWORD")

MONGO_PORT = 27017
#: Small cache: three servers and the tests share two cores and a few GB.
MONGO_COMMAND = ("mongod", "--bind_ip_all", "--wiredTigerCacheSizeGB", "0.25")
MONGO_READY = r'"msg":"Waiting for connections"'
RABBITMQ_MANAGEMENT_PORT = 15672
RABBITMQ_PLUGINS_FILE = "/etc/rabbitmq/enabled_plugins"
RABBITMQ_CONFIG_FILE = "/etc/rabbitmq/conf.d/90-kim-tests.conf"
RABBITMQ_READY = "Server startup complete"
KEYCLOAK_MANAGEMENT_PORT = 9000
KEYCLOAK_IMPORT_DIR = "/opt/keycloak/data/import"
STARTUP_SECONDS = {"mongo": 90, "rabbitmq": 150, "keycloak": 300}


# --- what compose.yaml fixes ------------------------------------------------------------------

@dataclass(frozen=True)
class ComposePins:
    """What the containers take from compose.yaml."""

    mongo_image: str
    rabbitmq_image: str
    rabbitmq_admin_user: str
    rabbitmq_plugins: str  # the content of RabbitMQ's enabled_plugins file
    keycloak_image: str
    keycloak_command: tuple[str, ...]
    keycloak_admin_user: str


def compose_pins(path: Path = COMPOSE_FILE) -> ComposePins:
    """The images and settings of compose.yaml's servers; every node's MongoDB and broker must
    run the same image there, or there is no one version to test on."""
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    services: dict[str, dict[str, Any]] = data["services"]
    brokers = _same(services, "-rabbitmq")
    broker = services[brokers[0]]
    plugins_source = next(c["source"] for c in broker["configs"] if c["target"] == RABBITMQ_PLUGINS_FILE)
    keycloak = services["keycloak"]
    return ComposePins(
        mongo_image=services[_same(services, "-mongo")[0]]["image"],
        rabbitmq_image=broker["image"],
        rabbitmq_admin_user=str(broker["environment"]["RABBITMQ_DEFAULT_USER"]),
        rabbitmq_plugins=str(data["configs"][plugins_source]["content"]),
        keycloak_image=keycloak["image"],
        keycloak_command=tuple(keycloak["command"]),
        keycloak_admin_user=str(keycloak["environment"]["KC_BOOTSTRAP_ADMIN_USERNAME"]),
    )


def _same(services: Mapping[str, Mapping[str, Any]], suffix: str) -> list[str]:
    names = sorted(name for name in services if name.endswith(suffix))
    images = {services[name]["image"] for name in names}
    if len(images) != 1:
        raise ValueError(f"compose.yaml: the services *{suffix} run {sorted(images) or 'no'} "
                         "image(s), not one")
    return names


# --- the choice ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Engine:
    address: str
    api_version: str


@dataclass(frozen=True)
class NoEngine:
    reason: str


class ChoiceError(Exception):
    """The run cannot have the servers it asked for."""


@dataclass(frozen=True)
class Choice:
    servers: Literal["containers", "local"]
    reason: str
    engine: Engine | None = None

    def header(self) -> str:
        what = ("containers (testcontainers: compose.yaml's MongoDB, RabbitMQ and Keycloak, once per session)"
                if self.servers == "containers" else
                "local servers (scripts/infra.sh, or the ones the environment names)")
        return f"test servers: {what}; {self.reason}"


def choose(environ: Mapping[str, str], probe: Callable[[], Engine | NoEngine]) -> Choice:
    """Containers where a Docker engine answers, else the local servers; `KIM_TEST_SERVERS`
    overrides, and `containers` without an engine is an error, never a silent fallback."""
    mode = environ.get(MODE_VARIABLE, "").strip().lower() or "auto"
    if mode not in MODES:
        raise ChoiceError(f"{MODE_VARIABLE}={mode}: expected one of {', '.join(MODES)}")
    if mode == "local":
        return Choice("local", f"{MODE_VARIABLE}=local")
    given = [name for name in GIVEN_SERVER_VARIABLES if environ.get(name)]
    if mode == "auto" and given:
        return Choice("local", f"{', '.join(given)} given ({MODE_VARIABLE}=auto; "
                               f"{MODE_VARIABLE}=containers starts containers instead)")
    answer = probe()
    if isinstance(answer, Engine):
        return Choice("containers", f"a Docker engine answers at {answer.address} "
                                    f"(API {answer.api_version}); {MODE_VARIABLE}={mode}", answer)
    if mode == "containers":
        raise ChoiceError(f"{MODE_VARIABLE}=containers, but no Docker engine answers ({answer.reason}); "
                          f"start Docker, or run on the local servers with {MODE_VARIABLE}=local")
    return Choice("local", f"no Docker engine answers ({answer.reason}); "
                           f"{MODE_VARIABLE}=auto ({MODE_VARIABLE}=containers insists on containers)")


def probe_engine(timeout: float = PROBE_SECONDS) -> Engine | NoEngine:
    """Ask the Docker engine testcontainers would use for its API version, bounded by
    `timeout`: the socket and HTTP timeouts cover a closed or silent port, the thread's join
    anything else that could block (an ssh:// host asking for a password)."""
    answers: list[Engine | NoEngine] = []
    from testcontainers.core.docker_client import get_docker_host

    address = get_docker_host() or "unix:///var/run/docker.sock"

    def ask() -> None:
        try:
            import docker

            client = (docker.from_env(timeout=timeout) if os.environ.get("DOCKER_HOST")
                      else docker.DockerClient(base_url=address, timeout=timeout))
            try:
                client.ping()
                answers.append(Engine(address, str(client.api.api_version)))
            finally:
                client.close()
        except Exception as exc:  # every failure means "no engine", with its reason
            reason = _short(exc).removeprefix("Error while fetching server API version: ")
            answers.append(NoEngine(f"{address}: {reason}"))

    thread = threading.Thread(target=ask, name="docker-probe", daemon=True)
    thread.start()
    thread.join(timeout)
    return answers[0] if answers else NoEngine(f"{address} gave no answer within {timeout:g} s")


def _short(exc: BaseException) -> str:
    text = re.sub(r"\s+", " ", str(exc)).strip() or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."


# --- the definitions -------------------------------------------------------------------------

@dataclass(frozen=True)
class Credentials:
    """The servers' administrators, made for one session (the published ports are reachable
    from the network for as long as the session runs)."""

    rabbitmq_admin: tuple[str, str]
    keycloak_admin: tuple[str, str]

    @classmethod
    def generate(cls, pins: ComposePins) -> Credentials:
        return cls((pins.rabbitmq_admin_user, secrets.token_hex(16)),
                   (pins.keycloak_admin_user, secrets.token_hex(16)))

    def environment(self) -> dict[str, str]:
        """Read by test modules when they are imported (tests/support/identity.py), so set
        before collection, before the servers start."""
        return {"KIM_RABBITMQ_ADMIN": ":".join(self.rabbitmq_admin),
                "KIM_KEYCLOAK_ADMIN_USER": self.keycloak_admin[0],
                "KIM_KEYCLOAK_ADMIN_PASSWORD": self.keycloak_admin[1]}


def mongo_container(pins: ComposePins, docker: Mapping[str, Any]) -> DockerContainer:
    return (DockerContainer(pins.mongo_image, docker_client_kw=dict(docker))
            .with_command(list(MONGO_COMMAND))
            .with_exposed_ports(MONGO_PORT)
            .waiting_for(LogMessageWaitStrategy(MONGO_READY)
                         .with_startup_timeout(STARTUP_SECONDS["mongo"])))


def rabbitmq_config(amqp_port: int) -> str:
    """Beside the image's own conf.d: AMQP on the port the host publishes (one address on
    both sides, see the module docstring)."""
    return f"listeners.tcp.default = {amqp_port}\n"


def rabbitmq_container(pins: ComposePins, docker: Mapping[str, Any], *, amqp_port: int,
                       admin: tuple[str, str]) -> DockerContainer:
    """compose's broker: its administrator instead of guest (the image then creates no guest;
    the tests give it every vhost they create), its enabled_plugins (management, federation,
    shovel), AMQP on `amqp_port` inside and out, the management API on any port."""
    user, password = admin
    return (DockerContainer(pins.rabbitmq_image, docker_client_kw=dict(docker))
            .with_env("RABBITMQ_DEFAULT_USER", user)
            .with_env("RABBITMQ_DEFAULT_PASS", password)
            .with_bind_ports(amqp_port, amqp_port)
            .with_exposed_ports(RABBITMQ_MANAGEMENT_PORT)
            .with_copy_into_container(pins.rabbitmq_plugins.encode(), RABBITMQ_PLUGINS_FILE)
            .with_copy_into_container(rabbitmq_config(amqp_port).encode(), RABBITMQ_CONFIG_FILE)
            .waiting_for(CompositeWaitStrategy(
                LogMessageWaitStrategy(RABBITMQ_READY),
                HttpWaitStrategy(RABBITMQ_MANAGEMENT_PORT, "/api/overview")
                .with_basic_credentials(user, password),
            ).with_startup_timeout(STARTUP_SECONDS["rabbitmq"])))


def keycloak_container(pins: ComposePins, docker: Mapping[str, Any], *, http_port: int,
                       admin: tuple[str, str], realms: Sequence[Path]) -> DockerContainer:
    """compose's Keycloak (its command: dev mode, health), plus what scripts/infra.sh gives the
    local one: the project's realm files imported at start; HTTP on `http_port` inside and out,
    ready when the management port's /health/ready answers."""
    user, password = admin
    container = (DockerContainer(pins.keycloak_image, docker_client_kw=dict(docker))
                 .with_command([*pins.keycloak_command, "--import-realm", f"--http-port={http_port}"])
                 .with_env("KC_BOOTSTRAP_ADMIN_USERNAME", user)
                 .with_env("KC_BOOTSTRAP_ADMIN_PASSWORD", password)
                 .with_bind_ports(http_port, http_port)
                 .with_exposed_ports(KEYCLOAK_MANAGEMENT_PORT)
                 .waiting_for(HttpWaitStrategy(KEYCLOAK_MANAGEMENT_PORT, "/health/ready")
                              .with_startup_timeout(STARTUP_SECONDS["keycloak"])))
    for realm in realms:
        container.with_copy_into_container(realm, f"{KEYCLOAK_IMPORT_DIR}/{realm.name}")
    return container


def realm_files() -> list[Path]:
    return sorted(REALMS_DIR.glob("*.json"))


# --- from containers to what the tests read --------------------------------------------------

@dataclass(frozen=True)
class Address:
    host: str
    port: int

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


@dataclass(frozen=True)
class Endpoints:
    """Where the started servers answer, as the tests reach them (one host per container:
    where the tests themselves run in a container, each server has its own address)."""

    mongo: Address
    amqp: Address
    rabbitmq_management: Address
    keycloak: Address


def server_environment(endpoints: Endpoints, credentials: Credentials) -> dict[str, str]:
    """The variables the tests and the node processes they start read (SERVER_VARIABLES)."""
    user, password = credentials.rabbitmq_admin
    return {
        "MONGODB_URI": f"mongodb://{endpoints.mongo}/",
        "AMQP_URI": f"amqp://{quote(user, safe='')}:{quote(password, safe='')}@{endpoints.amqp}/",
        "RABBITMQ_MANAGEMENT_URL": f"http://{endpoints.rabbitmq_management}",
        "KEYCLOAK_URL": f"http://{endpoints.keycloak}",
        **credentials.environment(),
    }


def describe(environment: Mapping[str, str]) -> str:
    """Where the servers are, for the run's output: addresses without passwords."""
    shown = ("MONGODB_URI", "AMQP_URI", "RABBITMQ_MANAGEMENT_URL", "KEYCLOAK_URL")
    return ", ".join(f"{name}={re.sub(r'//[^/@]*@', '//', environment[name])}" for name in shown)


def free_ports(count: int) -> list[int]:
    """Ports free on this machine now, all different (held open together while chosen)."""
    with ExitStack() as stack:
        probes = [stack.enter_context(socket.socket()) for _ in range(count)]
        for probe in probes:
            probe.bind(("127.0.0.1", 0))
        return [int(probe.getsockname()[1]) for probe in probes]


@contextmanager
def running_servers(pins: ComposePins, engine: Engine, credentials: Credentials) -> Iterator[dict[str, str]]:
    """Start the three containers side by side, yield the environment that names them, and
    remove them afterwards (also when one did not start; testcontainers' reaper removes them
    if the session dies)."""
    docker = {"version": engine.api_version}
    amqp_port, keycloak_port = free_ports(2)
    mongo = mongo_container(pins, docker)
    broker = rabbitmq_container(pins, docker, amqp_port=amqp_port, admin=credentials.rabbitmq_admin)
    keycloak = keycloak_container(pins, docker, http_port=keycloak_port, admin=credentials.keycloak_admin,
                                  realms=realm_files())
    containers = {"MongoDB": mongo, "RabbitMQ": broker, "Keycloak": keycloak}
    try:
        _start_reaper()
        with ThreadPoolExecutor(len(containers), thread_name_prefix="container") as pool:
            started = {name: pool.submit(container.start) for name, container in containers.items()}
            failed = {name: future.exception() for name, future in started.items() if future.exception()}
        if failed:
            raise RuntimeError("; ".join(f"{name} did not start: {_short(exc)}"
                                         for name, exc in failed.items() if exc))
        yield server_environment(Endpoints(
            mongo=_address(mongo, MONGO_PORT),
            amqp=_address(broker, amqp_port),
            rabbitmq_management=_address(broker, RABBITMQ_MANAGEMENT_PORT),
            keycloak=_address(keycloak, keycloak_port),
        ), credentials)
    finally:
        for container in containers.values():
            try:
                container.stop()
            except Exception:  # noqa: S112 - the others are still removed; the reaper takes this one
                continue


def _start_reaper() -> None:
    """testcontainers' reaper (Ryuk) removes the containers if the session dies. It is
    started on the first container's start; started here, before the three start side by
    side, so they do not each start one."""
    from testcontainers.core.config import testcontainers_config
    from testcontainers.core.container import Reaper

    if not testcontainers_config.ryuk_disabled:
        try:
            Reaper.get_instance()
        except Exception as exc:
            raise RuntimeError(f"testcontainers' reaper (Ryuk) did not start: {_short(exc)}") from exc


def _address(container: DockerContainer, port: int) -> Address:
    return Address(str(container.get_container_host_ip()), int(container.get_exposed_port(port)))
