"""Prometheus metrics of a real api process (issue 17, "Metrics, traces and logs"): calls by
rpc and status code with their latency, refusals by reason, the outbox depth and the dead
letters, scraped over HTTP as Prometheus does. No label carries a case, a person or a user."""

from __future__ import annotations

import re
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from mongoengine.connection import get_db

from kim.case.v1 import case_pb2, case_pb2_grpc
from kim.conference.v1 import events_pb2 as conference
from kim.node.v1.probe_pb2 import ProbeRequested
from kimnetz.bootstrap import ApiProcess, build_api_process
from kimnetz.runtime import events, node
from kimnetz.runtime.amqp import Publisher
from kimnetz.runtime.audit import MemoryAuditSink
from kimnetz.runtime.event_trust import EnvelopeSigner
from kimnetz.runtime.outbox import OutboxRelay
from kimnetz.runtime.settings import Settings
from tests.integration.runtime.test_event_reliability import FAST_RETRIES, READY, SERVICE, wait_for
from tests.support import faults, servers
from tests.support.faults import free_port

GET_CASE = "/kim.case.v1.CaseService/GetCase"


@pytest.fixture(scope="module")
def process(node_settings: Settings) -> Iterator[ApiProcess]:
    settings = node_settings.model_copy(update={"grpc_workers": 4, "metrics_port": free_port()})
    api = build_api_process(settings, address="127.0.0.1:0", audit=MemoryAuditSink())
    api.start()
    yield api
    api.stop(None)


@pytest.fixture
def worker_node() -> Iterator[Settings]:
    """A node of this test alone: own id, databases and vhost on the shared servers."""
    settings = servers.isolated_settings().model_copy(update={"grpc_services": SERVICE})
    servers.create_vhost(settings)
    yield settings
    servers.drop_databases(settings)
    servers.broker_admin(settings).delete_vhost(settings.node_id)


def scrape(process: ApiProcess) -> str:
    host, port = process.metrics_address
    with urllib.request.urlopen(f"http://{host}:{port}/metrics", timeout=10) as answer:
        text: str = answer.read().decode()
    return text


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample, 0 where Prometheus would show none."""
    for line in text.splitlines():
        if not line.startswith(name + "{") and line.split(" ")[0] != name:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.split("}")[0]))
        if all(found.get(key) == value for key, value in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_calls_are_counted_by_rpc_and_code_with_latency(process: ApiProcess) -> None:
    before = scrape(process)
    with grpc.insecure_channel(f"127.0.0.1:{process.port}") as channel:
        for _ in range(3):
            with pytest.raises(grpc.RpcError) as raised:
                case_pb2_grpc.CaseServiceStub(channel).GetCase(case_pb2.GetCaseRequest(case_id="x"),
                                                               timeout=10)
            assert raised.value.code() is grpc.StatusCode.UNAUTHENTICATED
        health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=10)
    after = scrape(process)

    def grew(name: str, **labels: str) -> float:
        return sample(after, name, **labels) - sample(before, name, **labels)

    assert grew("kim_grpc_requests_total", method=GET_CASE, code="UNAUTHENTICATED") == 3
    assert grew("kim_grpc_refused_total", reason="UNAUTHENTICATED") >= 3
    assert grew("kim_grpc_request_seconds_count", method=GET_CASE) == 3
    assert grew("kim_grpc_requests_total", method="/grpc.health.v1.Health/Check", code="OK") == 1


def test_outbox_depth_and_dead_letters_are_reported(process: ApiProcess) -> None:
    text = scrape(process)
    assert "# TYPE kim_outbox_pending gauge" in text
    assert re.search(r'^kim_outbox_pending\{collection="[^"]+"\} \d+', text, re.MULTILINE)
    assert "# TYPE kim_dead_letters gauge" in text


def test_no_label_names_a_case_or_a_person(process: ApiProcess) -> None:
    text = scrape(process)
    labels = {name for name in re.findall(r'(\w+)="', text)}
    assert labels <= {"method", "code", "reason", "collection", "queue", "kind", "le",
                      "version", "implementation", "major", "minor", "patchlevel", "generation"}, labels
    assert 'case_id="' not in text


def test_a_worker_counts_what_it_did_with_each_event_and_its_lag(
        worker_node: Settings, tmp_path: Path) -> None:
    """A real `nameko run` worker: one event handled, one that can never apply kept; the lag of
    both measured from the events' occurrence."""
    port = free_port()
    log = tmp_path / "worker.log"
    worker = faults.start_worker(worker_node, log, READY,
                                 {**FAST_RETRIES, "KIM_WORKER_METRICS_PORT": str(port)})
    try:
        alias = f"metrics-{worker_node.node_id}"
        node.connect(worker_node, alias=alias)
        probe = node.request_probe(worker_node, requested_by="metrics test", alias=alias)
        collection = get_db(alias)[node.ProbeRequest._get_collection_name()]
        wrong = events.pack(conference.CaseRejectionDecided(), source_service="node", source_node="x")
        wrong.type = events.event_type(ProbeRequested)
        with Publisher(worker_node.amqp_uri) as publisher:
            OutboxRelay(publisher, [collection],
                        sign=EnvelopeSigner.from_tls_dir(worker_node.tls_dir).sign).relay_pending()
            publisher.publish("node.events", wrong.type, wrong.SerializeToString(), wrong.id)
        queue = "evt-node-kim.node.v1.ProbeRequested--identity.on_probe_requested"

        def scraped() -> str:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
                return str(answer.read().decode())

        def both_counted() -> bool:
            try:
                text = scraped()
            except OSError:
                return False
            return (sample(text, "kim_events_handled_total", queue=queue, outcome="handled") == 1
                    and sample(text, "kim_events_handled_total", queue=queue, outcome="refused") == 1)

        assert wait_for(both_counted, 60), log.read_text()[-3000:]
        text = scraped()
        assert sample(text, "kim_event_lag_seconds_count", queue=queue) >= 1
        assert probe.probe_id in faults.receipts(worker_node.mongodb_uri, worker_node, SERVICE)
    finally:
        faults.stop_worker(worker)
