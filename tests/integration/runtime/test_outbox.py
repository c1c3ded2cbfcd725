"""An event recorded through the outbox reaches the nameko handlers of a real `nameko run`
worker exactly once, also across a RabbitMQ outage (of a private broker node: the shared
or external one is never stopped)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from mongoengine.connection import get_db

from kimnetz.runtime import node
from kimnetz.runtime.amqp import Publisher
from kimnetz.runtime.broker_admin import BrokerAdmin, with_vhost
from kimnetz.runtime.event_trust import EnvelopeSigner
from kimnetz.runtime.outbox import OutboxRelay
from kimnetz.runtime.settings import Settings
from tests.support import faults, servers


def wait_for_receipts(probe_id: str, services: list[str], seconds: float = 30,
                      alias: str = node.NODE_ALIAS) -> dict[str, int]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        got = node.receipts(probe_id, alias=alias, services=services)
        if set(services) <= got.keys():
            time.sleep(0.5)  # a duplicate would show up as a second delivery within this
            break
        time.sleep(0.1)
    by_id = {s: r.deliveries for s, r in node.receipts(probe_id, alias=alias, services=services).items()}
    # The query by probe id finds the same receipts: one per service, keyed by `_id`.
    assert by_id == {s: r.deliveries for s, r in node.receipts(probe_id, alias=alias).items()}
    return by_id


def pending(probe: node.ProbeRequest) -> int:
    return len(node.ProbeRequest.objects.get(id=probe.id).outbox)


def wait_until_sent(probe: node.ProbeRequest, seconds: float = 30) -> bool:
    """Every relay of the node (ours, or an api process of the same test node) may send it."""
    deadline = time.monotonic() + seconds
    while pending(probe) and time.monotonic() < deadline:
        time.sleep(0.1)
    return pending(probe) == 0


def test_event_is_written_with_the_state_and_kept_until_relayed(connected: Settings) -> None:
    probe = node.request_probe(connected, requested_by="test")
    stored = node.ProbeRequest.objects.get(probe_id=probe.probe_id)
    assert len(stored.outbox) == 1
    assert stored.outbox[0].routing_key == "kim.node.v1.ProbeRequested"
    assert stored.outbox[0].exchange == "node.events"


def test_outbox_event_reaches_every_service_worker_once(
    connected: Settings, worker: Path, relay: OutboxRelay
) -> None:
    probe = node.request_probe(connected, requested_by="test")
    relay.relay_pending()  # (an api process of the same test node may have sent it already)
    assert wait_until_sent(probe)
    deliveries = wait_for_receipts(probe.probe_id, connected.served_services)
    assert deliveries == {s: 1 for s in connected.served_services}, worker.read_text()[-2000:]


def test_event_written_while_the_broker_is_down_arrives_once_after_it_returns(tmp_path: Path) -> None:
    """The outage is a private RabbitMQ node's (tests/support/faults.py), stopped and started on
    its own data: the shared broker of the session (or the external one of AMQP_URI) is never
    touched, so the test runs the same with and without AMQP_URI."""
    broker = faults.PrivateRabbitMQ(tmp_path / "rabbitmq")
    broker.start()
    try:
        _outage(broker, tmp_path)
    finally:
        broker.close()


def _outage(broker: faults.PrivateRabbitMQ, tmp_path: Path) -> None:
    # A node of its own (databases, alias): no relay of the session's node sends its probes
    # to the session's broker behind the test's back.
    base = servers.isolated_settings()
    settings = base.model_copy(update={
        "amqp_uri": with_vhost(broker.amqp_uri, base.node_id),
        "rabbitmq_management_url": broker.management_url})
    admin = BrokerAdmin(broker.management_url, broker.amqp_uri)
    admin.ensure_vhost(settings.node_id)
    alias = f"node-{settings.node_id}"
    node.connect(settings, alias=alias)
    outbox = get_db(alias)[node.ProbeRequest._get_collection_name()]
    services = settings.served_services
    log = tmp_path / "worker.log"
    worker = None
    publisher = Publisher(settings.amqp_uri)
    relay = OutboxRelay(publisher, [outbox], sign=EnvelopeSigner.from_tls_dir(settings.tls_dir).sign)

    def waiting(probe_id: str) -> int:
        stored = outbox.find_one({"probe_id": probe_id}, {"outbox": 1})
        assert stored is not None
        return len(stored.get("outbox", []))

    try:
        worker = faults.start_worker(settings, log, {"ProbeRequested": len(services)}, admin=admin)
        broker.stop()
        probe = node.request_probe(settings, requested_by="outage test", alias=alias)
        with pytest.raises(Exception):  # noqa: B017 - whatever the client raises, nothing is sent
            relay.relay_pending()
        assert waiting(probe.probe_id) == 1, "the event must stay in the outbox while the broker is down"
        broker.start()
        deadline = time.monotonic() + 60
        while True:  # the publisher reconnects to the broker that is back
            try:
                relay.relay_pending()
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(1)
        assert waiting(probe.probe_id) == 0
        deliveries = wait_for_receipts(probe.probe_id, services, seconds=90, alias=alias)
        assert deliveries == {s: 1 for s in services}, log.read_text()[-3000:]
    finally:
        publisher.close()
        if worker is not None:
            faults.stop_worker(worker)
        servers.drop_databases(settings)
