"""compose.yaml: valid against the Compose specification (check-jsonschema's vendored schema,
no Docker engine needed), and the topology of the three-node demo, checked against what the
code expects: the nodes of `kim demo` (kimctl/demo.py) as the federation file declares them, each
with its own MongoDB and its own RabbitMQ broker with the federation plugin, one Keycloak, each
node's settings as `kim node init` writes them, the one-shots in their order, and the links of
the local demo."""

from __future__ import annotations

import re
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from kimctl.demo import DEMO_LINKS, DEMO_NODES, DIRECTORY_NODE
from services.identity import federation as federation_file

ROOT = Path(__file__).resolve().parents[3]
COMPOSE = ROOT / "compose.yaml"
NODE_IDS = [node_id for node_id, _, _ in DEMO_NODES]
#: What `kim node init --federation-file ... --federation-port ...` writes into node.env.
NODE_ENV_KEYS = {"KIM_NODE_ID", "KIM_ORGANIZATION_ID", "KIM_GRPC_PORT", "AMQP_URI_FILE",
                 "RABBITMQ_MANAGEMENT_URL", "KIM_FEDERATION_FILE", "KIM_KEYCLOAK_REALM",
                 "KIM_CLIENT_ID", "KIM_CLIENT_SECRET_FILE", "KIM_FEDERATION_PORT", "KIM_TLS_DIR"}
_VARIABLE = re.compile(r"\$\{(\w+):-([^}]*)\}")


def interpolate(value: Any) -> Any:
    """Compose's `${NAME:-default}` with nothing set: the documented local-trial defaults."""
    if isinstance(value, str):
        return _VARIABLE.sub(lambda m: m.group(2), value)
    if isinstance(value, dict):
        return {k: interpolate(v) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v) for v in value]
    return value


@cache
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = interpolate(yaml.safe_load(COMPOSE.read_text(encoding="utf-8")))
    return loaded


def service(name: str) -> dict[str, Any]:
    services: dict[str, Any] = compose()["services"]
    assert name in services, f"compose.yaml has no service {name}"
    return services[name]  # type: ignore[no-any-return]


def env(name: str) -> dict[str, str]:
    return {k: str(v) for k, v in service(name).get("environment", {}).items()}


def federation_in_image() -> Path:
    """The federation file the containers name, as the Dockerfile puts it into the image."""
    named = Path(env("federation-setup")["KIM_FEDERATION_FILE"])
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    copied = re.search(r"^COPY (services/identity/federations) (/etc/kim/federations)$", dockerfile, re.M)
    assert copied, "the Dockerfile copies the federation files to /etc/kim/federations"
    assert named.parent == Path(copied.group(2))
    return ROOT / copied.group(1) / named.name


def test_compose_file_validates_against_the_compose_specification() -> None:
    checker = Path(sys.executable).with_name("check-jsonschema")
    done = subprocess.run([str(checker), "--builtin-schema", "vendor.compose-spec", str(COMPOSE)],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_federation_file_the_containers_use_is_valid_and_declares_the_demo_nodes() -> None:
    federation = federation_file.load(federation_in_image())
    assert [n.id for n in federation.nodes] == NODE_IDS
    assert env("federation-setup")["KIM_KEYCLOAK_REALM"] == federation.realm


def test_one_keycloak_and_per_node_its_own_mongodb_broker_api_and_worker() -> None:
    services = compose()["services"]
    assert [name for name, s in services.items() if "keycloak" in str(s.get("image", ""))] == ["keycloak"]
    assert sorted(name for name, s in services.items() if str(s.get("image")).startswith("mongo:")) \
        == sorted(f"{n}-mongo" for n in NODE_IDS)
    assert sorted(name for name, s in services.items() if str(s.get("image")).startswith("rabbitmq:")) \
        == sorted(f"{n}-rabbitmq" for n in NODE_IDS)
    plugins = compose()["configs"]["rabbitmq_plugins"]["content"]
    for node_id in NODE_IDS:
        broker = service(f"{node_id}-rabbitmq")
        assert broker["hostname"] == f"{node_id}-rabbitmq"  # the broker's data belong to its node name
        assert {"source": "rabbitmq_plugins", "target": "/etc/rabbitmq/enabled_plugins"} in broker["configs"]
        assert service(node_id)["command"] == ["kim", "node", "api"]
        assert service(f"{node_id}-worker")["command"] == ["kim", "node", "worker"]
        for store in ("mongo", "rabbitmq"):  # a volume of its own, shared with nobody
            volume = f"{node_id}-{store}"
            assert volume in compose()["volumes"]
            users = [n for n, s in compose()["services"].items()
                     if any(str(v).startswith(f"{volume}:") for v in s.get("volumes", []))]
            assert users == [volume]
    assert "rabbitmq_federation" in plugins and "rabbitmq_federation_management" in plugins


@pytest.mark.parametrize("node_id", NODE_IDS)
def test_node_settings_are_those_kim_node_init_writes_on_its_own_broker(node_id: str) -> None:
    settings = env(node_id)
    assert settings == env(f"{node_id}-worker")
    assert settings.keys() >= NODE_ENV_KEYS
    federation = federation_file.load(federation_in_image())
    declared = next(n for n in federation.nodes if n.id == node_id)
    home = Path(settings["KIM_HOME"]) / "nodes" / node_id
    setup = env("federation-setup")
    assert settings["KIM_NODE_ID"] == node_id
    assert settings["KIM_ORGANIZATION_ID"] == declared.organization
    assert settings["KIM_CLIENT_ID"] == declared.client_id
    assert settings["KIM_CLIENT_SECRET_FILE"] == str(home / "client-secret")
    assert settings["KIM_TLS_DIR"] == str(home / "tls")
    # The node's own broker user (rights on its vhost only), as `kim node init` wrote it.
    assert settings["AMQP_URI_FILE"] == str(home / "amqp-uri")
    assert "AMQP_URI" not in settings
    assert settings["RABBITMQ_MANAGEMENT_URL"] == f"http://{node_id}-rabbitmq:15672"
    assert urlsplit(settings["MONGODB_URI"]).hostname == f"{node_id}-mongo"
    for key in ("KEYCLOAK_URL", "KIM_KEYCLOAK_REALM", "KIM_FEDERATION_FILE", "KIM_GRPC_PORT",
                "KIM_FEDERATION_PORT", "KIM_HOME"):
        assert settings[key] == setup[key], key
    directory = f"{DIRECTORY_NODE}:{settings['KIM_FEDERATION_PORT']}"
    assert settings.get("KIM_DIRECTORY_TARGET", "") == ("" if node_id == DIRECTORY_NODE else directory)


@pytest.mark.parametrize("node_id", NODE_IDS)
def test_node_processes_read_their_secrets_from_the_setup_volume_and_never_the_ca_key(node_id: str) -> None:
    for name in (node_id, f"{node_id}-worker"):
        process = service(name)
        assert process["volumes"] == ["kim-home:/var/lib/kim:ro"]
        assert process["read_only"] is True and process["cap_drop"] == ["ALL"]
        assert not any("PASSWORD" in key for key in env(name))
    assert "kim-pki:/var/lib/kim/pki" in service("federation-setup")["volumes"]


def test_no_broker_has_a_default_account_or_a_default_password() -> None:
    raw = COMPOSE.read_text(encoding="utf-8")
    for node_id in NODE_IDS:
        broker = yaml.safe_load(raw)["services"][f"{node_id}-rabbitmq"]
        settings = {**yaml.safe_load(raw)["x-rabbitmq"]["environment"], **broker.get("environment", {})}
        assert settings["RABBITMQ_DEFAULT_USER"] not in ("guest", "")
        assert settings["RABBITMQ_DEFAULT_PASS"].startswith("${RABBITMQ_PASSWORD:?")
    setup = yaml.safe_load(raw)["services"]["federation-setup"]["environment"]
    assert setup["KIM_RABBITMQ_ADMIN"].startswith("kim-admin:${RABBITMQ_PASSWORD:?")


def test_order_setup_then_nodes_then_join_then_the_story() -> None:
    def needs(name: str) -> dict[str, str]:
        return {k: v["condition"] for k, v in service(name)["depends_on"].items()}

    setup = needs("federation-setup")
    assert setup == {"keycloak": "service_healthy",
                     **{f"{n}-rabbitmq": "service_healthy" for n in NODE_IDS}}
    for node_id in NODE_IDS:
        own = {"federation-setup": "service_completed_successfully", "keycloak": "service_healthy",
               f"{node_id}-mongo": "service_healthy", f"{node_id}-rabbitmq": "service_healthy"}
        assert needs(f"{node_id}-worker") == own
        directory = {} if node_id == DIRECTORY_NODE else {DIRECTORY_NODE: "service_healthy"}
        assert needs(node_id) == {**own, **directory}
    assert needs("federation-join") == {n: "service_healthy" for n in NODE_IDS}
    assert needs("demo") == {"federation-join": "service_completed_successfully",
                             **{f"{n}-worker": "service_healthy" for n in NODE_IDS}}
    for one_shot in ("federation-setup", "federation-join", "demo"):
        assert service(one_shot)["restart"] == "no"
    assert service("demo")["command"][:2] == ["kim", "story"]


def test_healthchecks_are_grpc_health_on_the_api_and_the_node_check_on_the_worker() -> None:
    for node_id in NODE_IDS:
        api = " ".join(service(node_id)["healthcheck"]["test"])
        assert "HealthStub" in api and "127.0.0.1:50051" in api
        worker = " ".join(service(f"{node_id}-worker")["healthcheck"]["test"])
        assert "kim node check --target $$KIM_NODE_ID:50051" in worker


def test_setup_links_as_the_local_demo_does_and_joins_with_node_administrators() -> None:
    setup = env("federation-setup")
    assert setup["KIM_NODES"].split() == NODE_IDS
    assert setup["KIM_DIRECTORY_NODE"] == DIRECTORY_NODE
    links = {entry.split(":")[0]: entry.split(":")[1].split(",") for entry in setup["KIM_LINKS"].split()}
    assert links == DEMO_LINKS

    join = env("federation-join")
    federation = federation_file.load(federation_in_image())
    joiners = dict(entry.split(":") for entry in join["KIM_JOIN_AS"].split())
    assert list(joiners) == NODE_IDS
    for node_id, user in {**joiners, "approver": join["KIM_APPROVER"]}.items():
        organization, username = user.split("/")
        own = next((n.organization for n in federation.nodes if n.id == node_id), DIRECTORY_NODE)
        assert organization in (own, DIRECTORY_NODE), f"{user} may not enter {node_id}"
        org = federation.organization(organization)
        groups = {m.value for m in org.role_mappings if m.role == "node_admin"}
        local = org.identity_provider.local_realm
        assert local is not None
        assert any(u.username == username and groups & set(u.groups) for u in local.users), \
            f"{user} is no node administrator in {federation_in_image().name}"


@pytest.mark.parametrize("script", ["federation-setup", "federation-join"])
def test_one_shot_scripts_are_mounted_and_valid_shell(script: str) -> None:
    config = script.replace("-", "_")
    path = ROOT / compose()["configs"][config]["file"]
    assert service(script)["command"] == ["bash", f"/etc/kim/compose/{path.name}"]
    assert {"source": config, "target": f"/etc/kim/compose/{path.name}"} in service(script)["configs"]
    done = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    text = path.read_text(encoding="utf-8")
    variables = set(re.findall(r"\$\{?([A-Z][A-Z_]+)", text))
    missing = variables - env(script).keys()
    assert not missing, f"{path.name} uses variables compose.yaml does not give it: {missing}"


def test_demo_runs_kim_story_with_its_documents_in_a_volume() -> None:
    demo = service("demo")
    command = demo["command"]
    assert command[:2] == ["kim", "story"]
    out = command[command.index("--out") + 1]
    assert f"demo-out:{out}" in demo["volumes"]
    kim = Path(sys.executable).with_name("kim")
    done = subprocess.run([str(kim), "story", "--help"], capture_output=True, text=True, check=True,
                          env={"COLUMNS": "200", "PATH": ""})
    assert "--out" in done.stdout


def kim_help(*command: str) -> str:
    kim = Path(sys.executable).with_name("kim")
    done = subprocess.run([str(kim), *command, "--help"], capture_output=True, text=True,
                          check=False, env={"COLUMNS": "200", "PATH": ""})
    assert done.returncode == 0, f"kim {' '.join(command)}: {done.stdout}{done.stderr}"
    return done.stdout


@pytest.mark.parametrize("script", ["federation-setup.sh", "federation-join.sh"])
def test_every_kim_command_of_the_one_shots_exists_with_the_options_used(script: str) -> None:
    """The scripts run only inside Docker; their command lines are checked against the real
    command line here (a renamed option would otherwise show only at `docker compose up`)."""
    text = (ROOT / "deploy" / "compose" / script).read_text(encoding="utf-8").replace("\\\n", " ")
    commands = [found.group(1) for line in text.splitlines() if not line.lstrip().startswith("#")
                and (found := re.search(r"(?:^|\s)(kim \w+ \w+.*)$", line))]
    assert len(commands) == {"federation-setup.sh": 3, "federation-join.sh": 2}[script]
    for line in commands:
        words = line.split()
        command = words[1:3]
        usage = kim_help(*command)
        for option in (w for w in words if w.startswith("--")):
            assert re.search(rf"{re.escape(option)}(?![\w-])", usage), \
                f"{script}: kim {' '.join(command)} has no {option}"


@pytest.mark.parametrize("node_id", NODE_IDS)
def test_each_node_has_its_portal_with_its_client_home_idp_and_api(node_id: str) -> None:
    from kimctl.demo import DEMO_PORTAL_PORTS

    portal = service(f"{node_id}-portal")
    settings = env(f"{node_id}-portal")
    federation = federation_file.load(federation_in_image())
    declared = next(n for n in federation.nodes if n.id == node_id)
    organization = federation.organization(declared.organization)
    home = Path(settings["KIM_HOME"]) / "nodes" / node_id
    assert portal["command"] == ["kim", "node", "portal"]
    assert {k: v for k, v in settings.items() if not k.startswith("KIM_PORTAL_")} == env(node_id)
    assert settings["KIM_PORTAL_CLIENT_ID"] == declared.portal_client_id
    assert settings["KIM_PORTAL_IDP_HINT"] == organization.identity_provider.alias
    assert settings["KIM_PORTAL_ORGANIZATION_NAME"] == organization.name
    assert settings["KIM_PORTAL_CLIENT_SECRET_FILE"] == str(home / "portal-client-secret")
    assert settings["KIM_PORTAL_SESSION_SECRET_FILE"] == str(home / "portal-session-secret")
    assert settings["KIM_PORTAL_API_TARGET"] == f"{node_id}:{settings['KIM_GRPC_PORT']}"
    port = DEMO_PORTAL_PORTS[node_id]
    assert portal["ports"] == [f"127.0.0.1:{port}:{settings['KIM_PORTAL_PORT']}"]
    assert settings["KIM_PORTAL_PUBLIC_URL"] == f"http://127.0.0.1:{port}"
    assert portal["depends_on"] == {node_id: {"condition": "service_healthy"}}
    assert portal["read_only"] is True and portal["cap_drop"] == ["ALL"]
    assert portal["volumes"] == ["kim-home:/var/lib/kim:ro"]
    assert "/healthz" in " ".join(portal["healthcheck"]["test"])
