"""One trace across a node (issue 17, "Metrics, traces and logs"): a real api process continues
the caller's W3C trace context; an event recorded in a span carries that trace through the
outbox and the broker to a real `nameko run` worker, whose log line for the event names it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from mongoengine.connection import get_db
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from kim.case.v1 import case_pb2, case_pb2_grpc
from kimnetz.bootstrap import ApiProcess, build_api_process
from kimnetz.runtime import node, tracing
from kimnetz.runtime.amqp import Publisher
from kimnetz.runtime.audit import MemoryAuditSink
from kimnetz.runtime.event_trust import EnvelopeSigner
from kimnetz.runtime.outbox import OutboxRelay
from kimnetz.runtime.settings import Settings
from tests.integration.runtime.test_event_reliability import FAST_RETRIES, READY, SERVICE, wait_for
from tests.support import faults, servers

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT = f"00-{TRACE_ID}-00f067aa0ba902b7-01"


@pytest.fixture(scope="module")
def spans() -> InMemorySpanExporter:
    exporter = InMemorySpanExporter()
    tracing.configure("test", "test", processor=SimpleSpanProcessor(exporter))
    return exporter


@pytest.fixture(scope="module")
def process(node_settings: Settings, spans: InMemorySpanExporter) -> Iterator[ApiProcess]:
    api = build_api_process(node_settings.model_copy(update={"grpc_workers": 4}),
                            address="127.0.0.1:0", audit=MemoryAuditSink())
    api.start()
    yield api
    api.stop(None)


def test_a_call_continues_the_callers_trace(process: ApiProcess, spans: InMemorySpanExporter) -> None:
    with grpc.insecure_channel(f"127.0.0.1:{process.port}") as channel, \
            pytest.raises(grpc.RpcError) as raised:
        case_pb2_grpc.CaseServiceStub(channel).GetCase(
            case_pb2.GetCaseRequest(case_id="x"), metadata=[("traceparent", PARENT)], timeout=10)
    assert raised.value.code() is grpc.StatusCode.UNAUTHENTICATED
    [span] = [s for s in spans.get_finished_spans() if s.name == "kim.case.v1.CaseService/GetCase"
              and format(s.context.trace_id, "032x") == TRACE_ID]
    assert span.kind is SpanKind.SERVER and span.parent is not None
    assert format(span.parent.span_id, "016x") == "00f067aa0ba902b7"
    assert span.attributes is not None
    assert span.attributes["rpc.grpc.status_code"] == grpc.StatusCode.UNAUTHENTICATED.value[0]


def test_a_call_without_context_starts_a_trace_of_its_own(process: ApiProcess,
                                                         spans: InMemorySpanExporter) -> None:
    spans.clear()
    with grpc.insecure_channel(f"127.0.0.1:{process.port}") as channel, pytest.raises(grpc.RpcError):
        case_pb2_grpc.CaseServiceStub(channel).GetCase(case_pb2.GetCaseRequest(case_id="x"), timeout=10)
    [span] = [s for s in spans.get_finished_spans() if s.name.endswith("/GetCase")]
    assert span.parent is None and span.context.trace_id != int(TRACE_ID, 16)


@pytest.fixture
def worker_node() -> Iterator[Settings]:
    settings = servers.isolated_settings().model_copy(update={"grpc_services": SERVICE})
    servers.create_vhost(settings)
    yield settings
    servers.drop_databases(settings)
    servers.broker_admin(settings).delete_vhost(settings.node_id)


def test_an_event_carries_its_trace_through_the_broker_to_the_worker(
        worker_node: Settings, spans: InMemorySpanExporter, tmp_path: Path) -> None:
    log = tmp_path / "worker.log"
    worker = faults.start_worker(worker_node, log, READY, {**FAST_RETRIES, "KIM_LOG_LEVEL": "DEBUG"})
    try:
        alias = f"trace-{worker_node.node_id}"
        node.connect(worker_node, alias=alias)
        with tracing.tracer().start_as_current_span("Fallkonferenz vorbereiten") as span:
            trace_id = format(span.get_span_context().trace_id, "032x")
            probe = node.request_probe(worker_node, requested_by="trace test", alias=alias)
        collection = get_db(alias)[node.ProbeRequest._get_collection_name()]
        [entry] = collection.find_one({"_id": probe.pk})["outbox"]
        assert entry["traceparent"].split("-")[1] == trace_id
        with Publisher(worker_node.amqp_uri) as publisher:
            OutboxRelay(publisher, [collection],
                        sign=EnvelopeSigner.from_tls_dir(worker_node.tls_dir).sign).relay_pending()

        def handled_in_the_trace() -> bool:
            for line in log.read_text(errors="replace").splitlines():
                if line.startswith("{") and entry["event_id"] in line and "handled" in line:
                    record = json.loads(line)
                    return bool(record.get("trace_id") == trace_id
                                and record["node"] == worker_node.node_id
                                and record["role"] == "worker")
            return False

        assert wait_for(handled_in_the_trace, 60), log.read_text()[-3000:]
    finally:
        faults.stop_worker(worker)
