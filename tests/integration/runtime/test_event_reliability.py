"""Nothing dropped (issue 12, item 3; docs/events.md): against a real `nameko run` worker, the
real RabbitMQ and FerretDB.

- An event the broker returns as unroutable stays in the outbox and is delivered once its
  queue exists.
- A malformed envelope and an unreadable body are dead-lettered with their reason, listed by
  `kim node dead-letters`, and replayed to their queue.
- Fault injection (figures of docs/security.md): a worker killed with SIGKILL in the middle of
  an event stream, the database stopped for 10 s during 1,000 events (a private FerretDB), a
  broker restart (a private RabbitMQ node). Each counts events lost and events applied twice.

The faults never touch the shared servers: the database and the broker that are stopped are
private to the test (tests/support/faults.py).
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from mongoengine.connection import get_db

from kim.conference.v1 import events_pb2 as conference
from kim.node.v1.probe_pb2 import ProbeRequested
from kimnetz.runtime import dead_letters, events, node
from kimnetz.runtime.amqp import Publisher
from kimnetz.runtime.broker_admin import BrokerAdmin, with_vhost
from kimnetz.runtime.event_trust import EnvelopeSigner
from kimnetz.runtime.outbox import OutboxRelay
from kimnetz.runtime.settings import Settings
from tests.support import faults, security_figures, servers

SERVICE = "identity"  # the lightest worker: only the probe handler every worker carries
FAST_RETRIES = {"KIM_GRPC_SERVICES": SERVICE, "KIM_EVENT_RETRY_FIRST_MS": "200",
                "KIM_EVENT_RETRY_MAX_MS": "2000", "KIM_EVENT_MAX_ATTEMPTS": "10000"}
READY = {"ProbeRequested": 1}


@pytest.fixture
def own_node() -> Iterator[Settings]:
    """A node of this test alone: own id, databases and vhost on the shared servers."""
    settings = servers.isolated_settings().model_copy(update={"grpc_services": SERVICE})
    servers.create_vhost(settings)
    yield settings
    servers.drop_databases(settings)
    servers.broker_admin(settings).delete_vhost(settings.node_id)


def wait_for(condition: object, seconds: float, step: float = 0.3) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(step)
    return bool(condition())  # type: ignore[operator]


def cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**servers.node_environment(settings), "COLUMNS": "250"}
    return subprocess.run(
        [str(Path(sys.executable).with_name("kim")), "node", "dead-letters", settings.node_id, *args],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )


def test_an_unroutable_event_is_kept_in_the_outbox_and_delivered_once_its_queue_exists(
        connected: Settings, own_node: Settings, tmp_path: Path) -> None:
    alias = f"node-{own_node.node_id}"
    node.connect(own_node, alias=alias)
    probe = node.request_probe(own_node, requested_by="unroutable test", alias=alias)
    collection = get_db(alias)[node.ProbeRequest._get_collection_name()]
    with Publisher(own_node.amqp_uri) as publisher:
        relay = OutboxRelay(publisher, [collection], sweep_seconds=0.5,
                            sign=EnvelopeSigner.from_tls_dir(own_node.tls_dir).sign)
        assert relay.relay_pending() == 0, "no queue is bound yet: nothing may count as sent"
        kept = collection.find_one({"_id": probe.pk})
        assert kept is not None and len(kept["outbox"]) == 1 and kept["outbox_returns"] == 1
        held = kept["outbox_claimed_until"]
        assert (held if held.tzinfo else held.replace(tzinfo=UTC)) > datetime.now(UTC), \
            "held back for its back-off"
        worker = faults.start_worker(own_node, tmp_path / "worker.log", READY, FAST_RETRIES)
        try:
            def sent() -> bool:
                relay.relay_pending()
                stored = collection.find_one({"_id": probe.pk})
                return stored is not None and not stored["outbox"]
            assert wait_for(sent, 30), "the event was not sent once its queue existed"
            assert wait_for(lambda: faults.receipts(own_node.mongodb_uri, own_node, SERVICE) == {
                probe.probe_id: 1}, 30), (tmp_path / "worker.log").read_text()[-3000:]
            stored = collection.find_one({"_id": probe.pk})
            assert stored is not None and "outbox_returns" not in stored
        finally:
            faults.stop_worker(worker)


def test_a_returned_event_without_a_consumer_by_design_is_sent_and_a_kept_one_blocks_no_other(
        own_node: Settings) -> None:
    alias = f"raw-{own_node.node_id}"
    node.connect(own_node, alias=alias)
    collection = get_db(alias)["returns"]
    now = datetime.now(UTC)

    def entry(exchange: str, routing_key: str) -> dict[str, object]:
        return {"event_id": f"e-{routing_key}", "exchange": exchange, "routing_key": routing_key,
                "body": b"\x00", "recorded_at": now}

    # One sweep: whichever it claims first, holding the kept one back does not stop the other.
    collection.insert_one({"_id": "kept", "outbox": [entry("node.events", "kim.node.v1.ProbeRequested")]})
    collection.insert_one({"_id": "record", "outbox": [entry("case.events", "kim.case.v1.GoalAdded")]})
    with Publisher(own_node.amqp_uri) as publisher:
        relay = OutboxRelay(publisher, [collection], sweep_seconds=30)  # raw bodies: no receiver
        assert relay.relay_pending() == 1
    record, kept = collection.find_one({"_id": "record"}), collection.find_one({"_id": "kept"})
    assert record is not None and record["outbox"] == [], "no consumer by design: the return is expected"
    assert kept is not None and len(kept["outbox"]) == 1 and kept["outbox_returns"] == 1


def test_a_malformed_envelope_is_dead_lettered_with_its_reason_listed_and_replayable(
        own_node: Settings, tmp_path: Path) -> None:
    log = tmp_path / "worker.log"
    worker = faults.start_worker(own_node, log, READY, FAST_RETRIES)
    try:
        # A ProbeRequested envelope whose payload is a decision: it can never apply.
        wrong = events.pack(conference.CaseRejectionDecided(), source_service="node", source_node="x")
        wrong.type = events.event_type(ProbeRequested)
        # Bytes that are no envelope at all.
        garbage = b"\xff\xfe not protobuf \x00\x01"
        # A probe whose text holds a NUL character: no store behind PostgreSQL could keep it.
        nul = events.pack(ProbeRequested(probe_id="probe-\x00", requested_by="x"),
                          source_service="node", source_node="x")
        with Publisher(own_node.amqp_uri) as publisher:
            publisher.publish("node.events", wrong.type, wrong.SerializeToString(), wrong.id)
            publisher.publish("node.events", wrong.type, garbage, "garbage-1")
            publisher.publish("node.events", nul.type, nul.SerializeToString(), nul.id)
        node.connect(own_node, alias=f"dl-{own_node.node_id}")
        alias = f"dl-{own_node.node_id}"
        assert wait_for(lambda: len(dead_letters.entries(alias)) == 3, 30), log.read_text()[-3000:]
        by_event = {d.event_id: d for d in dead_letters.entries(alias)}
        malformed, unreadable = by_event[wrong.id], by_event["garbage-1"]
        assert by_event[nul.id].reason == "Nullzeichen (U+0000) in payload.probe_id", by_event[nul.id]
        assert malformed.reason.startswith("Nutzlast passt nicht zum Typ kim.node.v1.ProbeRequested")
        assert malformed.queue == "evt-node-kim.node.v1.ProbeRequested--identity.on_probe_requested"
        assert malformed.handler == "identity.on_probe_requested" and malformed.attempts == 1
        assert malformed.body == wrong.SerializeToString() and malformed.source_node == "x"
        assert malformed.first_failure <= malformed.last_failure
        assert unreadable.body == garbage and unreadable.reason, unreadable
        assert faults.receipts(own_node.mongodb_uri, own_node, SERVICE) == {}, "nothing applied"

        listed = cli(own_node)
        assert listed.returncode == 0, listed.stderr
        for column in ("ID", "Ereignis", "Warteschlange", "Grund", "Versuche", "Erster Fehler"):
            assert column in listed.stdout
        assert malformed.entry_id in listed.stdout and unreadable.entry_id in listed.stdout
        assert "Nutzlast passt nicht" in listed.stdout

        replayed = cli(own_node, "--replay", malformed.entry_id)
        assert replayed.returncode == 0, replayed.stdout + replayed.stderr
        assert f"{malformed.entry_id}: erneut zugestellt" in replayed.stdout
        # It reached its queue again (and, still malformed, was kept again: replayed once).
        assert wait_for(lambda: (e := dead_letters.get(malformed.entry_id, alias)) is not None
                        and e.state == dead_letters.DEAD and e.replays == 1, 30), log.read_text()[-3000:]
        everything = cli(own_node, "--replay-all")
        assert everything.returncode == 0, everything.stdout + everything.stderr
        assert everything.stdout.count("erneut zugestellt") == 3
        assert cli(own_node, "--replay", "000000000000").returncode == 1
    finally:
        faults.stop_worker(worker)


def _stream(publisher: Publisher, source_node: str, count: int, seconds: float,
            published: list[str]) -> None:
    pause = seconds / count
    for _ in range(count):
        published.append(faults.publish_probe(publisher, source_node))
        time.sleep(pause)


def test_fault_worker_sigkill_in_the_middle_of_an_event_stream(own_node: Settings, tmp_path: Path) -> None:
    count = 500
    log = tmp_path / "worker.log"
    worker = faults.start_worker(own_node, log, READY, FAST_RETRIES)
    published: list[str] = []
    try:
        with Publisher(own_node.amqp_uri) as publisher:
            stream = threading.Thread(target=_stream,
                                      args=(publisher, own_node.node_id, count, 6.0, published))
            stream.start()
            assert wait_for(lambda: len(faults.receipts(own_node.mongodb_uri, own_node, SERVICE)) >= 50, 60)
            faults.kill_worker(worker)
            killed_at = len(faults.receipts(own_node.mongodb_uri, own_node, SERVICE))
            worker = faults.start_worker(own_node, log, READY, FAST_RETRIES)
            stream.join(60)
        assert len(published) == count
        assert wait_for(lambda: len(faults.receipts(own_node.mongodb_uri, own_node, SERVICE)) >= count,
                        120, 1), log.read_text()[-3000:]
        time.sleep(2)  # a late duplicate would show up within this
        applied = faults.receipts(own_node.mongodb_uri, own_node, SERVICE)
    finally:
        faults.stop_worker(worker)
    lost = sum(1 for probe_id in published if probe_id not in applied)
    twice = sum(1 for n in applied.values() if n > 1)
    redelivered = faults.redeliveries(own_node.mongodb_uri, own_node, SERVICE)
    assert (lost, twice) == (0, 0)
    assert killed_at < count, "the kill came in the middle of the stream"
    security_figures.record(
        "fault-worker-kill", "Worker per SIGKILL mitten im Ereignisstrom",
        f"{lost} verloren, {twice} doppelt",
        f"{count} Ereignisse (ProbeRequested) an einen echten `nameko run`-Worker; nach {killed_at} "
        f"angewandten SIGKILL an die Prozessgruppe, neuer Worker; {redelivered} erneute Zustellungen "
        "von der Ereignis-ID-Prüfung abgefangen")


def test_fault_database_stopped_10_s_during_1000_events(own_node: Settings, tmp_path: Path) -> None:
    count = 1000
    database = faults.PrivateFerretDB(tmp_path / "ferretdb")
    database.start()
    settings = own_node.model_copy(update={"mongodb_uri": database.uri})
    log = tmp_path / "worker.log"
    worker = None
    published: list[str] = []
    try:
        worker = faults.start_worker(settings, log, READY, FAST_RETRIES)
        with Publisher(settings.amqp_uri) as publisher:
            stream = threading.Thread(target=_stream,
                                      args=(publisher, settings.node_id, count, 12.0, published))
            stream.start()
            time.sleep(2.0)
            database.stop()
            stopped = time.monotonic()
            time.sleep(10.0)
            database.start()
            outage = time.monotonic() - stopped
            stream.join(60)
        assert len(published) == count
        assert wait_for(lambda: len(faults.receipts(database.uri, settings, SERVICE)) >= count, 240, 1), \
            log.read_text()[-3000:]
        time.sleep(2)
        applied = faults.receipts(database.uri, settings, SERVICE)
        redelivered = faults.redeliveries(database.uri, settings, SERVICE)
        retried = log.read_text().count("failed for a passing reason")
    finally:
        if worker is not None:
            faults.stop_worker(worker)
        database.stop()
    lost = sum(1 for probe_id in published if probe_id not in applied)
    twice = sum(1 for n in applied.values() if n > 1)
    assert (lost, twice) == (0, 0)
    assert retried > 0, "the outage must have hit handlers (else the test proved nothing)"
    security_figures.record(
        "fault-database-stop", "Datenbank 10 s gestoppt während 1.000 Ereignissen",
        f"{lost} verloren, {twice} doppelt",
        f"{count} Ereignisse in 12 s an einen echten Worker; eigene FerretDB {outage:.0f} s gestoppt; "
        f"{retried} Fehlversuche mit Back-off erneut zugestellt, {redelivered} Doppelzustellungen "
        "von der Ereignis-ID-Prüfung abgefangen")


def test_fault_broker_restart(connected: Settings, tmp_path: Path) -> None:
    """Events written through the outbox while a private RabbitMQ node restarts: the relay keeps
    them until the broker is back, the worker reconnects, persistent messages in the quorum
    queues (also those waiting in retry queues) survive the restart."""
    count = 300
    broker = faults.PrivateRabbitMQ(tmp_path / "rabbitmq")
    broker.start()
    try:
        _broker_restart(broker, count, tmp_path)
    finally:
        broker.close()


def _broker_restart(broker: faults.PrivateRabbitMQ, count: int, tmp_path: Path) -> None:
    base = servers.isolated_settings()
    settings = base.model_copy(update={
        "amqp_uri": with_vhost(broker.amqp_uri, base.node_id),
        "rabbitmq_management_url": broker.management_url, "grpc_services": SERVICE})
    admin = BrokerAdmin(broker.management_url, broker.amqp_uri)
    admin.ensure_vhost(settings.node_id)
    alias = f"node-{settings.node_id}"
    node.connect(settings, alias=alias)
    collection = get_db(alias)[node.ProbeRequest._get_collection_name()]
    log = tmp_path / "worker.log"
    worker = None
    publisher = Publisher(settings.amqp_uri)
    # Signed as the node's api process signs (kimnetz/runtime/event_trust.py).
    relay = OutboxRelay(publisher, [collection], sweep_seconds=0.5,
                        sign=EnvelopeSigner.from_tls_dir(settings.tls_dir).sign)
    published: list[str] = []
    try:
        worker = faults.start_worker(settings, log, READY, FAST_RETRIES, admin=admin)
        relay.start()

        def write() -> None:
            for _ in range(count):
                published.append(node.request_probe(settings, requested_by="broker restart",
                                                    alias=alias).probe_id)
                relay.notify()
                time.sleep(0.03)

        writer = threading.Thread(target=write)
        writer.start()
        time.sleep(2.0)
        started = time.monotonic()
        broker.restart()
        restart = time.monotonic() - started
        writer.join(120)
        assert len(published) == count
        assert wait_for(lambda: len(faults.receipts(settings.mongodb_uri, settings, SERVICE)) >= count,
                        240, 1), log.read_text()[-3000:]
        time.sleep(2)
        applied = faults.receipts(settings.mongodb_uri, settings, SERVICE)
        redelivered = faults.redeliveries(settings.mongodb_uri, settings, SERVICE)
        # The stream ran through quorum queues (kimnetz.runtime.queues), as on Kubernetes.
        service_queues = {str(q["name"]): q.get("type") for q in admin.queues(settings.node_id)
                          if str(q["name"]).startswith("evt-")}
    finally:
        relay.stop()
        publisher.close()
        if worker is not None:
            faults.stop_worker(worker)
        servers.drop_databases(settings)
    lost = sum(1 for probe_id in published if probe_id not in applied)
    twice = sum(1 for n in applied.values() if n > 1)
    assert (lost, twice) == (0, 0)
    assert service_queues and set(service_queues.values()) == {"quorum"}, service_queues
    security_figures.record(
        "fault-broker-restart", "Broker-Neustart während des Ereignisstroms",
        f"{lost} verloren, {twice} doppelt",
        f"{count} Ereignisse über Outbox und Relay an einen echten Worker; eigener RabbitMQ-Knoten "
        f"neu gestartet ({restart:.0f} s); {redelivered} Doppelzustellungen von der "
        "Ereignis-ID-Prüfung abgefangen")
