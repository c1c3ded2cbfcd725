"""OpenTelemetry traces across a node and the federation (issue 17, "Metrics, traces and logs").

One trace follows a call from its first gRPC request (a portal click, the CLI) through the
servicer, the outbox, the broker (also across a federation link) and the worker that handles
the event, on this node or a peer's:

- api processes open a SERVER span per call (grpc_interceptors.TracingInterceptor), continuing
  a caller's W3C `traceparent` from the gRPC metadata;
- calls to other nodes carry the current context in their metadata (`traced_channel`);
- `outbox.record_event` keeps the current `traceparent` with the pending event, the relay
  publishes it as an AMQP header (RabbitMQ federation passes headers on), and the worker opens a
  CONSUMER span under it (worker.EventTrace);
- every log line inside a span carries its trace and span id (kimnetz.runtime.logging).

Spans are named after rpcs and event types; their attributes carry ids of events and nodes,
never a person's data. Export is OTLP over gRPC to `KIM_OTLP_ENDPOINT` (empty: ids are made
and propagated, nothing leaves the process). The context is only a correlation aid: no
decision is taken on it, so an unsigned header is no risk (the event itself is signed).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import Any

import grpc
from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from kimnetz.runtime import logging as kim_logging

log = logging.getLogger(__name__)

TRACEPARENT = "traceparent"
TRACER = "kimnetz"

_lock = threading.Lock()
_provider: TracerProvider | None = None


def configure(node_id: str, role: str, otlp_endpoint: str = "", *, insecure: bool = True,
              processor: SpanProcessor | None = None) -> TracerProvider:
    """Once per process: a tracer provider for this node and role, exporting to
    `otlp_endpoint` where one is given. `processor` is added as well (tests collect spans)."""
    global _provider
    with _lock:
        if _provider is None:
            _provider = TracerProvider(resource=Resource.create({
                "service.namespace": "kim-netz", "service.name": f"kim-{role}",
                "service.instance.id": f"{node_id}/{role}", "kim.node": node_id}))
            if otlp_endpoint:
                from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
                _provider.add_span_processor(BatchSpanProcessor(
                    OTLPSpanExporter(endpoint=otlp_endpoint, insecure=insecure)))
                log.info("traces to %s", otlp_endpoint)
            trace.set_tracer_provider(_provider)
            kim_logging.current_trace = current_ids
        if processor is not None:
            _provider.add_span_processor(processor)
        return _provider


def tracer() -> trace.Tracer:
    return trace.get_tracer(TRACER)


def current_ids() -> tuple[str, str]:
    """(trace id, span id) of the current span in hex, or empty strings outside one."""
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return "", ""
    return format(context.trace_id, "032x"), format(context.span_id, "016x")


def current_traceparent() -> str:
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier.get(TRACEPARENT, "")


def context_from(carrier: Mapping[str, Any]) -> Context:
    """The context a caller or an event's header passed on (empty where none or unreadable)."""
    value = carrier.get(TRACEPARENT)
    if isinstance(value, bytes):
        value = value.decode("ascii", errors="replace")
    return propagate.extract({TRACEPARENT: value} if isinstance(value, str) else {})


class _Metadata(grpc.ClientCallDetails):
    def __init__(self, details: grpc.ClientCallDetails, metadata: list[tuple[str, str]]) -> None:
        self.method = details.method
        self.timeout = details.timeout
        self.credentials = details.credentials
        self.wait_for_ready = getattr(details, "wait_for_ready", None)
        self.compression = getattr(details, "compression", None)
        self.metadata = metadata


class TracingClientInterceptor(grpc.UnaryUnaryClientInterceptor, grpc.UnaryStreamClientInterceptor):
    """Puts the current `traceparent` into the metadata of each outgoing call."""

    def _details(self, details: grpc.ClientCallDetails) -> grpc.ClientCallDetails:
        parent = current_traceparent()
        if not parent:
            return details
        metadata = [(k, v) for k, v in (details.metadata or ()) if k != TRACEPARENT]
        return _Metadata(details, [*metadata, (TRACEPARENT, parent)])

    def intercept_unary_unary(self, continuation: Any, details: grpc.ClientCallDetails,
                              request: Any) -> Any:
        return continuation(self._details(details), request)

    def intercept_unary_stream(self, continuation: Any, details: grpc.ClientCallDetails,
                               request: Any) -> Any:
        return continuation(self._details(details), request)


def traced_channel(channel: grpc.Channel) -> grpc.Channel:
    """`channel` whose calls carry the caller's trace context."""
    return grpc.intercept_channel(channel, TracingClientInterceptor())
