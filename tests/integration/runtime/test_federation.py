"""RabbitMQ exchange federation between two nodes' vhosts, set up by the runtime's broker
administration: what one node publishes reaches the other's consumers, also when the receiving
node's consumer was away while it was sent."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest
from kombu import Connection, Exchange, Queue

from kim.node.v1.probe_pb2 import ProbeRequested
from kimnetz.runtime import events
from kimnetz.runtime.amqp import Publisher
from kimnetz.runtime.broker_admin import BrokerAdmin, with_vhost
from kimnetz.runtime.settings import Settings
from tests.support import servers


@pytest.fixture
def two_nodes(node_settings: Settings) -> Iterator[tuple[str, str, BrokerAdmin]]:
    admin = servers.broker_admin(node_settings)
    caritas, kreis = (f"{node_settings.node_id}-{name}" for name in ("caritas", "kreis"))
    for vhost in (caritas, kreis):
        admin.ensure_vhost(vhost)
    yield caritas, kreis, admin
    for vhost in (caritas, kreis):
        admin.delete_vhost(vhost)


def wait_for_link(admin: BrokerAdmin, vhost: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if any(link.get("status") == "running" for link in admin.federation_links(vhost)):
            return
        time.sleep(0.2)
    pytest.fail(f"federation link of {vhost} did not start: {admin.federation_links(vhost)}")


def test_event_published_on_one_node_reaches_a_queue_of_the_linked_node(
    node_settings: Settings, two_nodes: tuple[str, str, BrokerAdmin]
) -> None:
    caritas, kreis, admin = two_nodes
    routing_key = events.event_type(ProbeRequested)
    exchange = Exchange("node.events", type="topic", durable=True)
    with Connection(with_vhost(node_settings.amqp_uri, kreis)) as kreis_connection:
        # The receiving node's worker declares its queue (durable) and then goes away.
        queue = Queue(f"evt-test-{uuid.uuid4().hex[:6]}", exchange, routing_key=routing_key,
                      durable=True)
        queue(kreis_connection.default_channel).declare()
        admin.link_upstream(kreis, caritas, with_vhost(node_settings.amqp_uri, caritas), ["node.events"])
        wait_for_link(admin, kreis)

        envelope = events.pack(ProbeRequested(probe_id="über-knoten"), source_service="node",
                               source_node=caritas)
        with Publisher(with_vhost(node_settings.amqp_uri, caritas)) as publisher:
            publisher.publish("node.events", routing_key, envelope.SerializeToString(), envelope.id)

        deadline = time.monotonic() + 15
        message = None
        while message is None and time.monotonic() < deadline:
            message = queue(kreis_connection.default_channel).get(
                no_ack=True, accept=[events.CONTENT_TYPE])
            time.sleep(0.1)
    assert message is not None, "the event did not cross to the linked node"
    received = message.decode()
    assert received.id == envelope.id
    assert received.source_node == caritas
    assert events.unpack(received) == ProbeRequested(probe_id="über-knoten")


def test_linking_twice_changes_nothing(
    node_settings: Settings, two_nodes: tuple[str, str, BrokerAdmin]
) -> None:
    caritas, kreis, admin = two_nodes
    uri = with_vhost(node_settings.amqp_uri, caritas)
    admin.link_upstream(kreis, caritas, uri, ["case.events"])
    admin.link_upstream(kreis, caritas, uri, ["case.events"])
    assert admin.upstreams(kreis) == [caritas]
