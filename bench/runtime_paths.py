"""Hot paths of the shared runtime: an authenticated gRPC call and the event path from a
MongoDB write to a nameko worker, on one node and across the federation."""

from __future__ import annotations

import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import grpc
from kombu import Connection, Consumer, Exchange, Queue
from mongoengine.context_managers import switch_db
from pymongo import MongoClient
from pymongo.collection import Collection
from pymongo.database import Database

from bench.measure import AUTHENTICATED_CALL, EVENT_PATH, Row, Sample, sample, summed
from kim.identity.v1 import identity_pb2, identity_pb2_grpc
from kimctl.nodecheck import node_alias
from kimnetz.bootstrap import event_signer
from kimnetz.runtime import events, node
from kimnetz.runtime.amqp import Publisher
from kimnetz.runtime.outbox import OutboxRelay
from kimnetz.runtime.service_account import ServiceAccount
from kimnetz.runtime.settings import Settings


@contextmanager
def echo_server() -> Iterator[str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.echo_server"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
    )
    assert process.stdout is not None and process.stdin is not None
    port = int(process.stdout.readline())
    try:
        yield f"127.0.0.1:{port}"
    finally:
        process.stdin.close()
        process.wait(10)


def grpc_echo(target: str, count: int) -> Sample:
    with grpc.insecure_channel(target) as channel:
        echo = channel.unary_unary("/bench.Echo/Echo")
        return sample(lambda: echo(b"x" * 64, timeout=5), count)


def authenticated_call(settings: Settings, echo_target: str, count: int) -> Row:
    token = ServiceAccount(settings.keycloak_url, settings.keycloak_realm, settings.client_id,
                           settings.client_secret).token()
    metadata = [("authorization", f"Bearer {token}")]
    with grpc.insecure_channel(f"127.0.0.1:{settings.grpc_port}") as channel:
        stub = identity_pb2_grpc.IdentityServiceStub(channel)  # type: ignore[no-untyped-call]
        project = sample(lambda: stub.WhoAmI(identity_pb2.WhoAmIRequest(), metadata=metadata,
                                             timeout=5), count)
    floor = grpc_echo(echo_target, count)
    return Row.of("authenticated gRPC call (WhoAmI: token validation, principal)",
                  "bare grpcio unary echo", project, floor, AUTHENTICATED_CALL)


def kombu_round_trip(amqp_uri: str, count: int) -> Sample:
    """Publish with confirms to a topic exchange and receive it from a bound queue."""
    # Declared as the publisher declares every events exchange (durable topic), removed after.
    exchange = Exchange(f"bench-{uuid.uuid4().hex[:6]}", type="topic", durable=True)
    queue = Queue(exchange.name, exchange, routing_key="#", exclusive=True, auto_delete=True)
    received = threading.Event()
    with Connection(amqp_uri) as connection, Publisher(amqp_uri) as publisher:
        channel = connection.channel()
        exchange(channel).declare()
        with Consumer(channel, [queue], callbacks=[lambda body, message: received.set()],
                      accept=["application/data", "application/x-protobuf"], no_ack=True):

            def one() -> None:
                received.clear()
                publisher.publish(exchange.name, "bench", b"x" * 200, uuid.uuid4().hex)
                while not received.is_set():
                    connection.drain_events(timeout=5)

            try:
                return sample(one, count)
            finally:
                exchange(channel).delete()


class _Tap:
    """A queue of its own on the sender's probe exchange, drained in a thread: when each event
    left the relay (arrival at the broker's queue, `time.time()`), for the stage breakdown."""

    def __init__(self, amqp_uri: str) -> None:
        self.arrived: dict[str, float] = {}
        self._stop = threading.Event()
        self._connection = Connection(amqp_uri)
        exchange = Exchange(events.exchange_name(node.NODE_ALIAS), type="topic", durable=True)
        queue = Queue(f"bench-tap-{uuid.uuid4().hex[:6]}", exchange, routing_key="#", exclusive=True,
                      auto_delete=True)
        channel = self._connection.channel()
        exchange(channel).declare()
        self._consumer = Consumer(channel, [queue], callbacks=[self._arrive], no_ack=True,
                                  accept=["application/data", "application/x-protobuf"])
        self._consumer.consume()
        self._thread = threading.Thread(target=self._drain, daemon=True)
        self._thread.start()

    def _arrive(self, body: object, message: Any) -> None:
        self.arrived[message.properties.get("message_id", "")] = time.time()

    def _drain(self) -> None:
        while not self._stop.is_set():
            try:
                self._connection.drain_events(timeout=0.2)
            except TimeoutError:
                continue
            except OSError:  # socket timeout on some transports
                continue

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self._consumer.cancel()
        self._connection.close()


#: How long one probe may take until every receiver's worker has written its receipt.
RECEIPT_TIMEOUT = 30.0
#: How long a receiver may take to take the first event: its worker binding its queues, its
#: directory snapshot taking a peer that just joined.
SETTLE_SECONDS = 90.0


def _median_ms(values: list[float]) -> float:
    return statistics.median(values) * 1000 if values else float("nan")


def _event_path(sender: Settings, receiver: Settings, count: int, notes: list[str], label: str,
                settle_seconds: float = 0.0) -> Sample:
    """Probe written on `sender` (MongoDB, outbox) and relayed at once, as the api process does
    after a save, until every worker of `receiver` has handled it (receipt in MongoDB).
    The note names the median of each stage: the write, write -> at the broker (the relay's
    claim, publish with confirm), -> the last worker's receipt, -> seen by the bench's poll.
    With `settle_seconds`, probes are sent first until one arrives within that time: a worker
    that just started has not bound its queues yet (the relay holds what the broker returns,
    with a doubling pause), and a peer that just joined is trusted once the receiver's
    directory snapshot holds its certificate (refreshed every few seconds); probes sent before
    are refused and kept as dead letters."""
    sender_alias, receiver_alias = node_alias(sender), node_alias(receiver)
    publisher = Publisher(sender.amqp_uri)
    with switch_db(node.ProbeRequest, sender_alias) as Request:
        # Signed as the node's own relay signs (kimnetz.bootstrap): receivers refuse unsigned events.
        relay = OutboxRelay(publisher, [Request._get_collection()], sweep_seconds=5,
                            sign=event_signer(sender))
    relay.start()
    tap = _Tap(sender.amqp_uri)
    services = set(receiver.served_services)
    stages: dict[str, list[float]] = {"write": [], "relay": [], "workers": [], "poll": []}

    def one(timeout: float = RECEIPT_TIMEOUT) -> None:
        begin = time.time()
        probe = node.request_probe(sender, requested_by="bench", alias=sender_alias)
        written = time.time()
        relay.notify()
        seen: dict[str, node.ProbeReceipt] = {}
        deadline = time.monotonic() + timeout
        while missing := services - seen.keys():  # `_id` lookups of the receipts not seen yet
            seen |= node.receipts(probe.probe_id, receiver_alias, missing)
            if services - seen.keys():
                if time.monotonic() > deadline:  # e.g. refused by the receivers: see their worker.log
                    raise TimeoutError(f"{label}: no receipt of {sorted(services - seen.keys())} "
                                       f"within {timeout:.0f} s")
                time.sleep(0.005)
        done = time.time()
        event_id = probe.outbox[0].event_id
        last = max(r.received_at.replace(tzinfo=UTC).timestamp() for r in seen.values())
        if event_id in tap.arrived:
            stages["write"].append(written - begin)
            stages["relay"].append(tap.arrived[event_id] - written)
            stages["workers"].append(last - tap.arrived[event_id])
            stages["poll"].append(done - last)

    try:
        settle_until = time.monotonic() + settle_seconds
        while settle_seconds:
            try:
                one(timeout=5.0)
                break
            except TimeoutError:
                if time.monotonic() > settle_until:
                    raise
        if settle_seconds:
            notes.append(f"{label}: the first probe that arrived was sent "
                         f"{settle_seconds - max(settle_until - time.monotonic(), 0):.0f} s after the "
                         "first probe (settling: the workers' queues bound, the sender trusted).")
        for values in stages.values():
            values.clear()
        measured = sample(one, count, max_seconds=40, warmup=3)
    finally:
        tap.close()
        relay.stop()
        publisher.close()
    notes.append(f"{label}: median per stage (ms): " + ", ".join(
        f"{name} {_median_ms(values):.0f}" for name, values in stages.items())
        + " (write: probe insert with outbox; relay: notify -> claim -> publish confirmed, arrival in "
        "a tap queue; workers: -> the last of the receiver's workers wrote its receipt, on "
        "`received_at`; poll: -> the bench's 5 ms poll of the receipts saw it).")
    return measured


def bare_insert(settings: Settings, document: Callable[[], dict[str, Any]], count: int) -> Sample:
    """`count` bare insert_one of `document()` into a scratch collection of the node's database
    (same server, same database as the path's own writes), dropped after."""
    client: MongoClient[dict[str, Any]]
    with MongoClient(settings.mongodb_uri) as client:
        database: Database[dict[str, Any]] = client[settings.database_name(node.NODE_ALIAS)]
        scratch: Collection[dict[str, Any]] = database[f"bench_floor_{uuid.uuid4().hex[:6]}"]
        try:
            return sample(lambda: scratch.insert_one(document()), count)
        finally:
            scratch.drop()


def _probe_document() -> dict[str, Any]:
    """As big as a probe request with its event in the outbox."""
    now = datetime.now(UTC)
    return {"_id": uuid.uuid4().hex, "probe_id": str(uuid.uuid4()), "requested_by": "bench",
            "requested_at": now, "outbox": [{"event_id": uuid.uuid4().hex, "exchange": "kim.node.events",
                                             "routing_key": "kim.node.v1.ProbeRequested",
                                             "body": b"x" * 200, "recorded_at": now}]}


def _receipt_document() -> dict[str, Any]:
    probe = str(uuid.uuid4())
    return {"_id": f"{probe}:case", "probe_id": probe, "service": "case", "event_id": uuid.uuid4().hex,
            "received_at": datetime.now(UTC), "deliveries": 1}


def event_floor(sender: Settings, receiver: Settings, count: int, notes: list[str], label: str) -> Sample:
    """The event path's honest floor (issue 15, item 5): the sum of the bare steps it takes on the
    same servers, each measured here: one insert (the write with its outbox), one publish with
    confirm and one consume (a kombu round trip), one insert of the receipt."""
    write = bare_insert(sender, _probe_document, count)
    trip = kombu_round_trip(sender.amqp_uri, count)
    receipt = bare_insert(receiver, _receipt_document, count)
    notes.append(f"{label}, bare steps (p50 ms): insert {write.p50_ms:.2f}, publish with confirm → "
                 f"consume {trip.p50_ms:.2f}, insert of the receipt {receipt.p50_ms:.2f}.")
    return summed(write, trip, receipt)


EVENT_FLOOR = ("sum of the bare steps: insert + kombu publish (confirm) → consume + insert of the "
               "receipt")


def event_latency(settings: Settings, count: int, notes: list[str]) -> Row:
    return _event_row("event: write + outbox + relay → every service worker handled it (one node)",
                      settings, settings, count, notes, "Event path, one node")


def federated_event_latency(sender: Settings, receiver: Settings, count: int,
                            notes: list[str]) -> Row:
    """`sender` and `receiver` are linked nodes of one federation, both joined to its directory
    (the agenda part's nodes): since events are signed, a receiver takes a peer's events only
    once the peer's certificate is in its directory snapshot."""
    return _event_row("event across nodes (RabbitMQ federation) → every worker of the peer handled it",
                      sender, receiver, count, notes, "Event path across nodes")


def _event_row(path: str, sender: Settings, receiver: Settings, count: int, notes: list[str],
               label: str) -> Row:
    """The path against its floor. The first probes settle the path (see `_event_path`): a
    worker that just started binds its queues, a peer that just joined is trusted only once the
    receiver's directory snapshot holds its certificate. A path that never delivers is a row
    "not measured" with the reason, not the end of the run."""
    try:
        project = _event_path(sender, receiver, count, notes, label, settle_seconds=SETTLE_SECONDS)
    except TimeoutError as error:
        reason = f"{error}: the receiver's workers took none of the events (see their worker.log)"
        notes.append(f"{label} not measured: {reason}.")
        return Row.not_measured(path, EVENT_FLOOR, EVENT_PATH, reason)
    floor = event_floor(sender, receiver, count, notes, label)
    return Row.of(path, EVENT_FLOOR, project, floor, EVENT_PATH)
