"""Prometheus metrics of a node's processes (issue 17, "Metrics, traces and logs").

What an IT operator of a Kreis watches, by the names Prometheus users expect:

- `kim_grpc_requests_total{method,code}` and `kim_grpc_request_seconds{method}`: every call of
  an api process by rpc and status, with its latency (MetricsInterceptor, outermost, so the
  refusals at the door are counted too);
- `kim_grpc_refused_total{reason}`: calls refused at the door or by a rule (UNAUTHENTICATED,
  PERMISSION_DENIED, RESOURCE_EXHAUSTED, INVALID_ARGUMENT, NOT_FOUND) — the reasons an attack
  or a misconfigured peer shows up as;
- `kim_outbox_pending{collection}`: documents whose events are not yet confirmed by the broker;
- `kim_events_handled_total{queue,outcome}` and `kim_event_lag_seconds{queue}`: what a worker
  did with each event and how long after it happened it was handled;
- `kim_dead_letters{queue}`: events kept for the operator (docs/operations.md);
- `kim_documents_rendered_total{kind}`: documents the documents service rendered.

Labels carry rpc names, queue names, status codes and document kinds only: never a case id,
a person or an organisation's user. Each process serves its own metrics on the port its
settings give (`KIM_METRICS_PORT` for the api, `KIM_WORKER_METRICS_PORT` for the worker; 0: off).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import grpc
from prometheus_client import REGISTRY, Counter, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

log = logging.getLogger(__name__)

#: Status codes that mean the caller was refused, as opposed to failures of the node.
REFUSALS = frozenset({
    grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED,
    grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.INVALID_ARGUMENT,
    grpc.StatusCode.NOT_FOUND, grpc.StatusCode.FAILED_PRECONDITION,
})

REQUESTS = Counter("kim_grpc_requests", "gRPC calls answered, by rpc and status code.",
                   ["method", "code"])
LATENCY = Histogram("kim_grpc_request_seconds", "Time to answer a gRPC call, by rpc.", ["method"],
                    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
REFUSED = Counter("kim_grpc_refused", "gRPC calls refused, by reason (status code).", ["reason"])
EVENTS = Counter("kim_events_handled", "Events a worker took from its queue, by outcome "
                 "(handled, retried, dead_lettered, refused).", ["queue", "outcome"])
EVENT_LAG = Histogram("kim_event_lag_seconds", "Time from an event's occurrence to its handling.",
                      ["queue"], buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600))
DOCUMENTS = Counter("kim_documents_rendered", "Documents rendered, by kind.", ["kind"])


def code_of(context: grpc.ServicerContext) -> grpc.StatusCode:
    code = context.code()
    return code if isinstance(code, grpc.StatusCode) else grpc.StatusCode.OK


def observe_call(method: str, code: grpc.StatusCode, seconds: float) -> None:
    REQUESTS.labels(method, code.name).inc()
    LATENCY.labels(method).observe(seconds)
    if code in REFUSALS:
        REFUSED.labels(code.name).inc()


class OutboxCollector(Collector):
    """`kim_outbox_pending`, counted when Prometheus scrapes (every 15–60 s), not on each save:
    documents with events the broker has not yet confirmed."""

    def __init__(self, collections: Callable[[], Iterable[Any]]) -> None:
        self._collections = collections

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily("kim_outbox_pending", "Documents with unconfirmed events.",
                                   labels=["collection"])
        for collection in self._collections():
            try:
                pending = collection.count_documents({"outbox.0": {"$exists": True}})
            except Exception as exc:  # a scrape must not fail because the database is away
                log.warning("outbox depth of %s not readable: %s", collection.full_name, exc)
                continue
            family.add_metric([collection.name], pending)
        yield family


class DeadLetterCollector(Collector):
    """`kim_dead_letters`: the events kept for the operator and not yet replayed, per queue."""

    def __init__(self, count_by_queue: Callable[[], dict[str, int]]) -> None:
        self._count = count_by_queue

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily("kim_dead_letters", "Events kept for the operator, per queue.",
                                   labels=["queue"])
        try:
            counts = self._count()
        except Exception as exc:
            log.warning("dead letters not readable: %s", exc)
            counts = {}
        for queue, count in sorted(counts.items()):
            family.add_metric([queue], count)
        yield family


_served: dict[int, Any] = {}
_lock = threading.Lock()


def serve(port: int, host: str = "127.0.0.1", collectors: Iterable[Collector] = ()) -> int:
    """Serve this process's metrics on `port` (0: off) once per process; returns the port.
    `collectors` join the registry the first time (they read the databases at scrape time)."""
    if port <= 0:
        return 0
    with _lock:
        if port not in _served:
            for collector in collectors:
                REGISTRY.register(collector)
            server, _thread = start_http_server(port, addr=host)
            _served[port] = server
            log.info("metrics on http://%s:%d/metrics", host, port)
    return port
