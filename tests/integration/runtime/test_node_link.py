"""`kim node link` on the real broker, both layouts: nodes as vhosts of one local broker (the
peer's URI from its node.env), and nodes with brokers of their own (compose, Kubernetes), where
the peer's broker is named by its URI (`--peer-uri`, `--peer-uris FOLDER`) and the node may run
from its environment alone. Only one broker runs here, so "another broker" is another vhost
reached by its own URI: what the code does with it is the same."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
import requests
from amqp.exceptions import NotAllowed
from kombu import Connection, Exchange, Queue

from kim.node.v1.probe_pb2 import ProbeRequested
from kimctl import nodes
from kimnetz.runtime import events
from kimnetz.runtime.amqp import Publisher
from kimnetz.runtime.broker_admin import link_user, node_user, vhost_of, with_vhost
from kimnetz.runtime.settings import Settings
from tests.support import servers

KIM = str(Path(sys.executable).with_name("kim"))


@pytest.fixture
def vhosts(node_settings: Settings) -> Iterator[list[str]]:
    """Names for throw-away vhosts; every one of them is deleted afterwards."""
    made: list[str] = []
    yield made
    admin = servers.broker_admin(node_settings)
    for vhost in made:
        admin.delete_vhost(vhost)


def upstream(settings: Settings, vhost: str, peer: str) -> dict[str, object]:
    response = requests.get(
        f"{settings.rabbitmq_management_url}/api/parameters/federation-upstream/"
        f"{quote(vhost, safe='')}/{quote(peer, safe='')}",
        auth=servers.broker_admin(settings)._auth, timeout=10)
    response.raise_for_status()
    value: dict[str, object] = response.json()["value"]
    return value


def kim(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([KIM, *args], env=env, capture_output=True, text=True, timeout=60,
                          check=False)


def test_one_broker_many_vhosts_the_peer_uri_comes_from_its_node_env(
    node_settings: Settings, vhosts: list[str], tmp_path: Path
) -> None:
    prefix = f"t{uuid.uuid4().hex[:6]}"
    kreis, caritas = f"{prefix}-kreis", f"{prefix}-caritas"
    vhosts += [kreis, caritas]
    # Another KIM_HOME: the broker's administrator comes along explicitly.
    env = {**os.environ, "KIM_HOME": str(tmp_path), "KIM_RABBITMQ_ADMIN": node_settings.rabbitmq_admin}
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KIM_HOME", str(tmp_path))
        patch.setenv("KIM_RABBITMQ_ADMIN", node_settings.rabbitmq_admin)
        base = Settings()
        for node_id in (kreis, caritas):
            nodes.init(nodes.NodeSpec(node_id, f"{node_id}-org", 0), base)
        written = nodes.read_env_file(nodes.node_dir(kreis) / "node.env")
        mode = stat.S_IMODE((nodes.node_dir(kreis) / "node.env").stat().st_mode)
        caritas_uri = nodes.read_env_file(nodes.node_dir(caritas) / "node.env")["AMQP_URI"]
    assert written["RABBITMQ_MANAGEMENT_URL"] == base.rabbitmq_management_url
    assert vhost_of(written["AMQP_URI"]) == kreis
    # The node logs in as its own user, which has rights on its own vhost only.
    assert urlsplit(written["AMQP_URI"]).username == node_user(kreis)
    assert mode == 0o600
    with pytest.raises(NotAllowed), Connection(with_vhost(written["AMQP_URI"], caritas)) as other:
        other.connect()

    done = kim("node", "link", kreis, caritas, env=env)

    assert done.returncode == 0, done.stdout + done.stderr
    # The link logs in at the peer as a user of its own, never as the peer node or an admin.
    linked = urlsplit(str(upstream(base, kreis, caritas)["uri"]))
    assert (linked.username, vhost_of(linked.geturl())) == (link_user(kreis, caritas), caritas)
    assert linked.password and linked.password != urlsplit(caritas_uri).password
    assert servers.broker_admin(base).upstreams(caritas) == []  # one direction only
    for user in (node_user(kreis), node_user(caritas), link_user(kreis, caritas)):
        servers.broker_admin(base).delete_user(user)


def test_own_broker_the_peer_is_named_by_its_uri_and_events_cross(
    node_settings: Settings, vhosts: list[str], tmp_path: Path
) -> None:
    """The node runs from its environment (no node.env, as in a Kubernetes Job), its vhost is
    the one its AMQP URI names (not its node id), and the peer exists only as a URI in a folder
    with one file per peer (a mounted Secret)."""
    prefix = f"t{uuid.uuid4().hex[:6]}"
    kreis, stadt = f"{prefix}-kreis", f"{prefix}-stadt"
    kreis_vhost, stadt_vhost = f"{prefix}-vh-kreis", f"{prefix}-vh-stadt"
    vhosts += [kreis_vhost, stadt_vhost]
    admin = servers.broker_admin(node_settings)
    for vhost in (kreis_vhost, stadt_vhost):
        admin.ensure_vhost(vhost)
    stadt_uri = with_vhost(node_settings.amqp_uri, stadt_vhost)
    secret = tmp_path / "upstreams"
    secret.mkdir()
    (secret / stadt).write_text(stadt_uri + "\n")
    (secret / "..data").mkdir()  # what a mounted Secret has besides its keys
    env = {**os.environ, "KIM_HOME": str(tmp_path / "home"), "KIM_NODE_ID": kreis,
           "KIM_RABBITMQ_ADMIN": node_settings.rabbitmq_admin,
           "AMQP_URI": with_vhost(node_settings.amqp_uri, kreis_vhost),
           "RABBITMQ_MANAGEMENT_URL": node_settings.rabbitmq_management_url}

    routing_key = events.event_type(ProbeRequested)
    with Connection(with_vhost(node_settings.amqp_uri, kreis_vhost)) as connection:
        queue = Queue(f"evt-link-{prefix}", Exchange("case.events", type="topic", durable=True),
                      routing_key=routing_key, durable=True)
        queue(connection.default_channel).declare()

        done = kim("node", "link", kreis, "--peer-uris", str(secret), env=env)
        assert done.returncode == 0, done.stdout + done.stderr
        assert f"receives the events of {stadt}" in done.stdout
        assert admin.upstreams(kreis_vhost) == [stadt]
        assert upstream(node_settings, kreis_vhost, stadt)["uri"] == stadt_uri

        deadline = time.monotonic() + 30
        while not any(link.get("status") == "running" for link in admin.federation_links(kreis_vhost)):
            assert time.monotonic() < deadline, admin.federation_links(kreis_vhost)
            time.sleep(0.2)
        envelope = events.pack(ProbeRequested(probe_id="eigener-broker"), source_service="case",
                               source_node=stadt)
        with Publisher(stadt_uri) as publisher:
            publisher.publish("case.events", routing_key, envelope.SerializeToString(), envelope.id)
        message = None
        deadline = time.monotonic() + 15
        while message is None and time.monotonic() < deadline:
            message = queue(connection.default_channel).get(no_ack=True, accept=[events.CONTENT_TYPE])
            time.sleep(0.1)
    assert message is not None, "the event did not cross from the peer's broker"
    assert message.decode().id == envelope.id


def test_link_refuses_what_cannot_be_meant(node_settings: Settings, tmp_path: Path) -> None:
    env = {**os.environ, "KIM_HOME": str(tmp_path), "KIM_NODE_ID": "kreis-x"}
    two = kim("node", "link", "kreis-x", "a", "b", "--peer-uri", "amqp://peer/", env=env)
    assert two.returncode == 2 and "genau einen Peer-Knoten" in two.stdout
    other = kim("node", "link", "stadt-y", "kreis-x", "--peer-uri", "amqp://peer/", env=env)
    assert other.returncode == 1 and "has no configuration here" in other.stdout
    nothing = kim("node", "link", "kreis-x", env=env)
    assert nothing.returncode == 2 and "Kein Peer-Knoten" in nothing.stdout
