"""An event recorded through the outbox reaches the nameko handlers of a real `nameko run`
worker exactly once, also across a RabbitMQ outage."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from kimnetz.runtime import node
from kimnetz.runtime.outbox import OutboxRelay
from kimnetz.runtime.settings import Settings

ROOT = Path(__file__).resolve().parents[3]


def wait_for_receipts(probe_id: str, services: list[str], seconds: float = 30) -> dict[str, int]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        got = node.receipts(probe_id, services=services)
        if set(services) <= got.keys():
            time.sleep(0.5)  # a duplicate would show up as a second delivery within this
            break
        time.sleep(0.1)
    by_id = {s: r.deliveries for s, r in node.receipts(probe_id, services=services).items()}
    # The query by probe id finds the same receipts: one per service, keyed by `_id`.
    assert by_id == {s: r.deliveries for s, r in node.receipts(probe_id).items()}
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


def infra(*args: str) -> None:
    subprocess.run([str(ROOT / "scripts" / "infra.sh"), *args], check=True, timeout=180)


def test_event_written_while_the_broker_is_down_arrives_once_after_it_returns(
    connected: Settings, worker: Path, relay: OutboxRelay
) -> None:
    own_broker = f"127.0.0.1:{os.environ.get('KIM_AMQP_PORT', '5673')}"
    if connected.amqp_uri.split("@")[-1].split("/")[0] != own_broker or os.environ.get("AMQP_URI"):
        pytest.fail("the outage test stops the project's own RabbitMQ; unset AMQP_URI to run it")
    infra("stop", "rabbitmq")
    try:
        probe = node.request_probe(connected, requested_by="outage test")
        with pytest.raises(Exception):  # noqa: B017 - whatever the client raises, nothing is sent
            relay.relay_pending()
        assert pending(probe) == 1, "the event must stay in the outbox while the broker is down"
    finally:
        infra("start", "rabbitmq")
    relay.relay_pending()  # (an api process of the same test node may have sent it already)
    assert wait_until_sent(probe)
    deliveries = wait_for_receipts(probe.probe_id, connected.served_services, seconds=90)
    assert deliveries == {s: 1 for s in connected.served_services}, worker.read_text()[-3000:]
