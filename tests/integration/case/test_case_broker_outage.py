"""Case writes through the real gRPC api while RabbitMQ is down: every event of those writes
arrives exactly once after the broker is back (docs/events.md, "Outbox").

The broker that goes down is a private RabbitMQ node of this test (tests/support/faults.py),
stopped and started on its own data; the shared broker (or the external one of AMQP_URI) is
never touched, so the test runs the same either way. The node is one of its own: `kim node api`
as a process with its own databases (one Python process keeps one database per service alias,
and this one's point at the session's node), whose outbox relay alone sends its events. A
consumer queue on the node's vhost, declared durable before the outage so it survives the
restart, receives what that relay sends."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pymongo
import pytest
from kombu import Connection, Exchange, Queue

from kim.case.v1 import case_pb2
from kim.common.v1.event_pb2 import EventEnvelope
from kimnetz.runtime import events
from kimnetz.runtime.broker_admin import BrokerAdmin, with_vhost
from kimnetz.runtime.settings import Settings
from services.case import SERVICE
from services.case.repository import CaseChangeDocument
from tests.integration.case.case_requests import conference_consent, person, proposal
from tests.integration.case.conftest import OWNER, Caller, CaseApi
from tests.support import faults, servers
from tests.support.identity import LocalFederation

CM = Caller(OWNER, "case_manager")


@dataclass
class OutageNode:
    settings: Settings
    broker: faults.PrivateRabbitMQ
    api: CaseApi

    def waiting(self, case_ids: list[str]) -> int:
        """Events still in the outboxes of these cases' change documents."""
        client: pymongo.MongoClient[dict[str, object]] = pymongo.MongoClient(
            self.settings.mongodb_uri, serverSelectionTimeoutMS=5000)
        try:
            changes = client[self.settings.database_name(SERVICE)][CaseChangeDocument._get_collection_name()]
            field = CaseChangeDocument._fields["aggregate_id"].db_field
            total = 0
            for stored in changes.find({field: {"$in": case_ids}}, {"outbox": 1}):
                pending = stored.get("outbox")
                total += len(pending) if isinstance(pending, list) else 0
            return total
        finally:
            client.close()


@pytest.fixture
def outage_node(case_federation: LocalFederation, tmp_path: Path) -> Iterator[OutageNode]:
    broker = faults.PrivateRabbitMQ(tmp_path / "rabbitmq")
    broker.start()
    base = servers.isolated_settings()
    settings = base.model_copy(update={
        "amqp_uri": with_vhost(broker.amqp_uri, base.node_id),
        "rabbitmq_management_url": broker.management_url,
        "organization_id": OWNER, "grpc_services": SERVICE, "grpc_port": faults.free_port(),
        "outbox_sweep_seconds": 0.5})
    BrokerAdmin(broker.management_url, broker.amqp_uri).ensure_vhost(settings.node_id)
    env = {**servers.node_environment(settings), "KIM_ORGANIZATION_ID": OWNER,
           "RABBITMQ_MANAGEMENT_URL": broker.management_url,
           "KIM_KEYCLOAK_REALM": case_federation.realm,
           "KIM_API_AUDIENCE": case_federation.federation.clients.api}
    log = tmp_path / "api.log"
    with log.open("wb") as out:
        process = subprocess.Popen([str(Path(sys.executable).with_name("kim")), "node", "api"],
                                   env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    channel = grpc.insecure_channel(f"127.0.0.1:{settings.grpc_port}")
    try:
        try:
            grpc.channel_ready_future(channel).result(timeout=60)
        except grpc.FutureTimeoutError:
            pytest.fail(f"the api did not start:\n{log.read_text()[-3000:]}")
        yield OutageNode(settings, broker, CaseApi(
            channel, lambda caller: case_federation.token_for(caller.organization, caller.username)))
    finally:
        channel.close()
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(30)
        servers.drop_databases(settings)
        broker.close()


@pytest.fixture
def case_events(outage_node: OutageNode) -> Queue:
    """A durable queue bound to every case event on the node's vhost (gone with the broker)."""
    exchange = Exchange(f"{SERVICE}.events", type="topic", durable=True)
    queue = Queue(f"case-outage-test-{uuid.uuid4().hex[:8]}", exchange=exchange, routing_key="#",
                  durable=True, auto_delete=False)
    with Connection(outage_node.settings.amqp_uri) as connection:
        queue(connection.channel()).declare()
    return queue


def received(settings: Settings, queue: Queue, case_ids: set[str], expected: int,
             seconds: float = 90) -> list[EventEnvelope]:
    """Every envelope of `case_ids` the queue gets until `expected` have come and a further
    three seconds passed without more (a duplicate would arrive within them)."""
    found: list[EventEnvelope] = []
    deadline, quiet_until = time.monotonic() + seconds, None
    with Connection(settings.amqp_uri) as connection:
        bound = queue(connection.channel())
        while time.monotonic() < deadline:
            message = bound.get(no_ack=True)
            if message is None:
                if quiet_until is not None and time.monotonic() > quiet_until:
                    break
                time.sleep(0.1)
                continue
            envelope = EventEnvelope.FromString(message.body)
            if getattr(events.unpack(envelope), "case_id", "") in case_ids:
                found.append(envelope)
                if len(found) >= expected and quiet_until is None:
                    quiet_until = time.monotonic() + 3
    return found


def test_case_events_written_while_the_broker_is_down_arrive_exactly_once(
    outage_node: OutageNode, case_events: Queue,
) -> None:
    case_api, settings = outage_node.api, outage_node.settings
    outage_node.broker.stop()
    try:
        first = case_api.call("ProposeCase", proposal(), CM).case_id
        case_api.call("RecordConsent", conference_consent(first), CM)
        case_api.call("SubmitForReview", case_pb2.SubmitForReviewRequest(case_id=first), CM)
        case_api.call("UpdatePerson", case_pb2.UpdatePersonRequest(
            case_id=first, person=person(phone="+49 2103 55555")), CM)
        second = case_api.call("ProposeCase", proposal(), CM).case_id
        case_api.call("AddJournalNote", case_pb2.AddJournalNoteRequest(
            case_id=second, text="Erstgespräch vereinbart"), CM)
        waiting = outage_node.waiting([first, second])
        assert waiting == 6, "the events wait in the change documents while the broker is down"
    finally:
        outage_node.broker.start()
    # The relay backs off while the broker is away (at most 30 s between attempts).
    got = received(settings, case_events, {first, second}, expected=6)
    assert Counter(Counter(e.id for e in got).values()) == {1: 6}, "every event exactly once"
    by_case = {cid: [e.type.rsplit(".", 1)[-1] for e in got if events.unpack(e).case_id == cid]  # type: ignore[attr-defined]
               for cid in (first, second)}
    assert sorted(by_case[first]) == sorted(
        ["CaseProposed", "ConsentRecorded", "CaseSubmittedForReview", "EligibilityRechecked"])
    assert sorted(by_case[second]) == ["CaseProposed", "JournalNoteAdded"]
    assert outage_node.waiting([first, second]) == 0
