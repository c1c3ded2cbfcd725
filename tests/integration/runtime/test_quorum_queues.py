"""Quorum queues (kimnetz.runtime.queues) on the real broker, in a vhost of this test alone:
the retry queue the runtime declares is a quorum queue that still holds a message for its TTL
and dead-letters it back to the handler's queue (RabbitMQ >= 3.10), and an earlier release's
classic queues are moved to quorum queues of the same names while events keep arriving:
none lost, none doubled, bindings and routing kept. An upgraded node: `kim node migrate` moves
its classic queue, and its new worker then handles every event that waited there, once."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from amqp.exceptions import PreconditionFailed  # type: ignore[import-untyped]
from kombu import Connection, Exchange, Queue

from kimnetz.runtime import queues
from kimnetz.runtime.amqp import Publisher
from kimnetz.runtime.broker_admin import BrokerAdmin
from kimnetz.runtime.consume import retry_entities
from kimnetz.runtime.settings import Settings
from tests.support import faults, servers

HANDLER_QUEUE = "evt-case-kim.case.v1.CaseCreated--conference.on_case_created"
ROUTING_KEY = "kim.case.v1.CaseCreated"


@pytest.fixture
def vhost() -> Iterator[tuple[Settings, BrokerAdmin]]:
    settings = servers.isolated_settings()
    servers.create_vhost(settings)
    admin = servers.broker_admin(settings)
    yield settings, admin
    admin.delete_vhost(settings.node_id)


def queue_types(admin: BrokerAdmin, vhost: str) -> dict[str, str]:
    return {str(q["name"]): str(q.get("type")) for q in admin.queues(vhost)}


def drain(uri: str, name: str) -> list[str]:
    """Every message id in `name`, consumed."""
    ids = []
    with Connection(uri) as connection:
        channel = connection.channel()
        while (message := channel.basic_get(queue=name, no_ack=True)) is not None:
            ids.append(str(message.properties.get("message_id")))
    return ids


def test_retry_queue_is_quorum_and_dead_letters_back_after_its_ttl(
        vhost: tuple[Settings, BrokerAdmin]) -> None:
    settings, admin = vhost
    exchange, retry = retry_entities(300)
    handler = Queue(HANDLER_QUEUE, durable=True, queue_arguments=queues.quorum())
    with Connection(settings.amqp_uri) as connection:
        handler(connection.channel()).declare()
    with Publisher(settings.amqp_uri) as publisher:
        publisher.send(exchange, HANDLER_QUEUE, b"x", message_id="m-1", declare=[retry],
                       content_type="application/octet-stream")
    types = queue_types(admin, settings.node_id)
    assert types == {HANDLER_QUEUE: "quorum", "kim.retry.300ms": "quorum"}
    assert drain(settings.amqp_uri, HANDLER_QUEUE) == []  # still held for its TTL
    time.sleep(1.0)
    assert drain(settings.amqp_uri, HANDLER_QUEUE) == ["m-1"]


def test_classic_queues_become_quorum_queues_with_none_lost_and_none_doubled(
        vhost: tuple[Settings, BrokerAdmin]) -> None:
    settings, admin = vhost
    uri = settings.amqp_uri
    events = Exchange("case.events", type="topic", durable=True)
    retry_exchange, retry = retry_entities(600_000)  # long: nothing expires during the test
    classic_retry = Queue(retry.name, exchange=retry_exchange, routing_key="", durable=True,
                          queue_arguments={"x-message-ttl": 600_000, "x-dead-letter-exchange": ""})
    with Connection(uri) as connection:
        channel = connection.channel()
        Queue(HANDLER_QUEUE, exchange=events, routing_key=ROUTING_KEY, durable=True)(channel).declare()
        classic_retry(channel).declare()
    assert set(queue_types(admin, settings.node_id).values()) == {"classic"}

    sent: list[str] = []
    with Publisher(uri) as publisher:
        for n in range(200):  # waiting in the old queues
            sent.append(f"old-{n}")
            publisher.publish("case.events", ROUTING_KEY, b"e", sent[-1])
        for n in range(20):  # waiting for a retry, addressed to the handler's queue
            publisher.send(retry_exchange, HANDLER_QUEUE, b"r", message_id=f"retry-{n}",
                           content_type="application/octet-stream")

        stop = threading.Event()
        errors: list[BaseException] = []

        def keep_publishing() -> None:  # an outbox relay of the node's api, or a federation link
            with Publisher(uri) as live:
                n = 0
                while not stop.is_set():
                    event_id = f"live-{n}"
                    try:
                        live.publish("case.events", ROUTING_KEY, b"e", event_id)
                    except Exception as exc:  # the relay keeps an unconfirmed event and retries
                        errors.append(exc)
                        time.sleep(0.01)
                        continue
                    sent.append(event_id)
                    n += 1
                    time.sleep(0.002)

        writer = threading.Thread(target=keep_publishing)
        writer.start()
        try:
            moved = queues.to_quorum(uri, admin)
        finally:
            stop.set()
            writer.join(30)
    assert len([s for s in sent if s.startswith("live-")]) > 10, "events must arrive during the move"

    types = queue_types(admin, settings.node_id)
    assert types == {HANDLER_QUEUE: "quorum", retry.name: "quorum"}  # holding queues gone
    assert {m.target for m in moved} >= {HANDLER_QUEUE, retry.name}
    bindings = admin.bindings(settings.node_id, HANDLER_QUEUE)
    assert {(b["source"], b["routing_key"]) for b in bindings if b["source"]} == {
        ("case.events", ROUTING_KEY)}
    arguments = next(q for q in admin.queues(settings.node_id) if q["name"] == retry.name)["arguments"]
    assert arguments == {"x-queue-type": "quorum", "x-message-ttl": 600_000, "x-dead-letter-exchange": ""}

    received = drain(uri, HANDLER_QUEUE)
    assert sorted(received) == sorted(s for s in sent)  # none lost, none doubled
    with Connection(uri) as connection:
        channel = connection.channel()
        waiting = []
        while (message := channel.basic_get(queue=retry.name, no_ack=True)) is not None:
            waiting.append((message.properties["message_id"], message.delivery_info["routing_key"]))
    # Retry messages keep the routing key that sends them back to the handler's queue.
    assert sorted(waiting) == sorted((f"retry-{n}", HANDLER_QUEUE) for n in range(20))
    # Run again: nothing left to do.
    assert queues.to_quorum(uri, admin) == []


def test_migration_refuses_while_a_worker_consumes(vhost: tuple[Settings, BrokerAdmin]) -> None:
    settings, admin = vhost
    name = f"evt-case-x--y.z{uuid.uuid4().hex[:4]}"
    with Connection(settings.amqp_uri) as connection:
        channel = connection.channel()
        Queue(name, durable=True)(channel).declare()
        channel.basic_consume(queue=name, callback=lambda message: None)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # the management API shows consumers with a delay
            if any(q["name"] == name and q.get("consumers") for q in admin.queues(settings.node_id)):
                break
            time.sleep(0.5)
        with pytest.raises(queues.QueueInUse, match="Worker"):
            queues.to_quorum(settings.amqp_uri, admin)
    assert queue_types(admin, settings.node_id) == {name: "classic"}


PROBE_QUEUE = "evt-node-kim.node.v1.ProbeRequested--identity.on_probe_requested"


def migrate(settings: Settings) -> subprocess.CompletedProcess[str]:
    """`kim node migrate` as the operator runs it, with the node's environment."""
    return subprocess.run([str(Path(sys.executable).with_name("kim")), "node", "migrate", settings.node_id],
                          env={**servers.node_environment(settings), "COLUMNS": "400"},
                          capture_output=True, text=True, timeout=120, check=False)


def test_an_upgraded_node_moves_its_classic_queue_and_its_worker_handles_what_waited(
        vhost: tuple[Settings, BrokerAdmin], tmp_path: Path) -> None:
    settings, admin = vhost
    settings = settings.model_copy(update={"grpc_services": "identity"})
    # What the previous release left: the worker's queue as a classic queue, events waiting.
    with Connection(settings.amqp_uri) as connection:
        Queue(PROBE_QUEUE, Exchange("node.events", type="topic", durable=True),
              routing_key="kim.node.v1.ProbeRequested", durable=True)(connection.channel()).declare()
    with Publisher(settings.amqp_uri) as publisher:
        waiting = [faults.publish_probe(publisher, settings.node_id) for _ in range(40)]
    with Connection(settings.amqp_uri) as connection, pytest.raises(PreconditionFailed, match="x-queue-type"):
        # Why the migration: the new worker could not declare its queue.
        Queue(PROBE_QUEUE, durable=True, queue_arguments=queues.quorum())(connection.channel()).declare()
    worker = None
    try:
        done = migrate(settings)
        assert done.returncode == 0, done.stdout + done.stderr
        holding = f"{PROBE_QUEUE}.quorum-migration"
        assert f"Warteschlange {PROBE_QUEUE} -> {holding}: 40 Nachricht(en)" in done.stdout
        assert "Quorum-Warteschlangen" in done.stdout
        assert queue_types(admin, settings.node_id) == {PROBE_QUEUE: "quorum"}
        worker = faults.start_worker(settings, tmp_path / "worker.log", {"ProbeRequested": 1},
                                     {"KIM_GRPC_SERVICES": "identity"})
        deadline = time.monotonic() + 60
        while len(faults.receipts(settings.mongodb_uri, settings, "identity")) < len(waiting):
            assert time.monotonic() < deadline, (tmp_path / "worker.log").read_text()[-3000:]
            time.sleep(0.5)
        applied = faults.receipts(settings.mongodb_uri, settings, "identity")
        again = migrate(settings)
    finally:
        if worker is not None:
            faults.stop_worker(worker)
        servers.drop_databases(settings)
    assert [applied.get(probe, 0) for probe in waiting] == [1] * len(waiting)  # none lost, none twice
    assert again.returncode == 0 and "Warteschlange" not in again.stdout  # nothing left to move


def test_two_workers_compete_for_the_quorum_queue_and_apply_each_event_once(
        vhost: tuple[Settings, BrokerAdmin], tmp_path: Path) -> None:
    """Two worker pods of one node (Kubernetes runs two): competing consumers of the same quorum
    queue, each event applied by one of them, once."""
    settings, admin = vhost
    settings = settings.model_copy(update={"grpc_services": "identity"})
    env = {"KIM_GRPC_SERVICES": "identity", "KIM_LOG_LEVEL": "DEBUG", "KIM_WORKER_METRICS_PORT": "0"}
    logs = [tmp_path / "worker-1.log", tmp_path / "worker-2.log"]
    workers = []
    try:
        for log in logs:
            workers.append(faults.start_worker(settings, log, {"ProbeRequested": 1}, env))
        deadline = time.monotonic() + 30
        while not any(q["name"] == PROBE_QUEUE and q.get("consumers") == 2
                      for q in admin.queues(settings.node_id)):
            assert time.monotonic() < deadline, "both workers must consume the queue"
            time.sleep(0.5)
        with Publisher(settings.amqp_uri) as publisher:
            published = [faults.publish_probe(publisher, settings.node_id) for _ in range(200)]
        deadline = time.monotonic() + 90
        while len(faults.receipts(settings.mongodb_uri, settings, "identity")) < len(published):
            assert time.monotonic() < deadline, logs[0].read_text()[-2000:]
            time.sleep(0.5)
        time.sleep(2)  # a late second application would show up within this
        applied = faults.receipts(settings.mongodb_uri, settings, "identity")
    finally:
        for worker in workers:
            faults.stop_worker(worker)
        servers.drop_databases(settings)
    lost = sum(1 for probe in published if probe not in applied)
    twice = sum(1 for probe in published if applied.get(probe, 0) > 1)
    assert (lost, twice) == (0, 0)
    handled = [log.read_text().count("handled") for log in logs]
    assert all(n > 0 for n in handled), handled  # both took their share
    assert queue_types(admin, settings.node_id)[PROBE_QUEUE] == "quorum"
