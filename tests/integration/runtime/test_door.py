"""The door of a real api process (kimnetz.bootstrap) against calls that cost nothing to make:
open health streams hold no server thread and are bounded, and calls refused from nobody are
counted, not audited one by one (issue 12, "No cost without a login")."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from kimnetz.bootstrap import ApiProcess, build_api_process
from kimnetz.runtime.audit import MemoryAuditSink, anonymous_refusals
from kimnetz.runtime.grpc_interceptors import MAX_OPEN_STREAMS
from kimnetz.runtime.settings import Settings

WORKERS = 4


@pytest.fixture(scope="module")
def audit() -> MemoryAuditSink:
    return MemoryAuditSink()


@pytest.fixture(scope="module")
def process(node_settings: Settings, audit: MemoryAuditSink) -> Iterator[ApiProcess]:
    """The node's api process with all four services, with few server threads, so that
    streams holding threads would show at once."""
    settings = node_settings.model_copy(update={"grpc_workers": WORKERS})
    api = build_api_process(settings, address="127.0.0.1:0", audit=audit)
    api.start()
    yield api
    api.stop(None)


def open_watches(channel: grpc.Channel, count: int) -> list[grpc.Future]:
    stub = health_pb2_grpc.HealthStub(channel)
    streams = []
    for _ in range(count):
        stream = stub.Watch(health_pb2.HealthCheckRequest())
        # Each stream answers its first status; it is then open until cancelled.
        assert next(stream).status == health_pb2.HealthCheckResponse.SERVING
        streams.append(stream)
    return streams


def test_open_watch_streams_hold_no_server_thread_and_check_still_answers(process: ApiProcess) -> None:
    with grpc.insecure_channel(f"127.0.0.1:{process.port}") as channel:
        streams = open_watches(channel, 5 * WORKERS)
        try:
            with grpc.insecure_channel(f"127.0.0.1:{process.port}") as other:
                answer = health_pb2_grpc.HealthStub(other).Check(
                    health_pb2.HealthCheckRequest(), timeout=10)
            assert answer.status == health_pb2.HealthCheckResponse.SERVING
            assert all(stream.is_active() for stream in streams), "the streams stay open"
        finally:
            for stream in streams:
                stream.cancel()


def test_streams_over_the_limit_are_refused_and_freed_when_cancelled(process: ApiProcess) -> None:
    with grpc.insecure_channel(f"127.0.0.1:{process.port}") as channel:
        streams = open_watches(channel, MAX_OPEN_STREAMS)
        try:
            refused = health_pb2_grpc.HealthStub(channel).Watch(health_pb2.HealthCheckRequest(),
                                                                timeout=10)
            with pytest.raises(grpc.RpcError) as raised:
                next(refused)
            assert raised.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            assert "Datenströme" in str(raised.value.details())
        finally:
            for stream in streams:
                stream.cancel()
        # Cancelled streams free their places (the server learns of it asynchronously).
        admitted = None
        for _ in range(50):
            stream = health_pb2_grpc.HealthStub(channel).Watch(health_pb2.HealthCheckRequest(),
                                                               timeout=10)
            try:
                admitted = next(stream)
                stream.cancel()
                break
            except grpc.RpcError as error:
                assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
                import time
                time.sleep(0.1)
        assert admitted is not None and admitted.status == health_pb2.HealthCheckResponse.SERVING


def test_anonymous_refusals_are_counted_not_audited(process: ApiProcess, audit: MemoryAuditSink) -> None:
    from kim.case.v1 import case_pb2, case_pb2_grpc

    before, audited = anonymous_refusals.counts(), len(audit.events)
    with grpc.insecure_channel(f"127.0.0.1:{process.port}") as channel:
        stub = case_pb2_grpc.CaseServiceStub(channel)  # type: ignore[no-untyped-call]
        for metadata in [()] * 30 + [(("authorization", "Bearer kein.gueltiges.token"),)] * 30:
            with pytest.raises(grpc.RpcError) as raised:
                stub.GetCase(case_pb2.GetCaseRequest(case_id="c-1"), metadata=metadata, timeout=10)
            assert raised.value.code() == grpc.StatusCode.UNAUTHENTICATED
    after = anonymous_refusals.counts()
    grown = {reason: after[reason] - before.get(reason, 0) for reason in after
             if after[reason] != before.get(reason, 0)}
    assert grown == {"Anmeldung erforderlich: kein Zugangstoken übermittelt.": 30,
                     "Das Zugangstoken ist nicht lesbar.": 30}
    assert len(audit.events) == audited, "no refusal of nobody reaches the audit sink"
