"""A page request is one SERVER span named by its route (never by the ids in its path), so
the api calls it makes join its trace (kimnetz.runtime.tracing, docs/operations.md)."""

from __future__ import annotations

from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from kimnetz.runtime import tracing
from tests.support.fakes.portal import Portal


def test_a_page_request_is_one_span_named_by_its_route(portal: Portal) -> None:
    spans = InMemorySpanExporter()
    tracing.configure("test", "portal", processor=SimpleSpanProcessor(spans))
    assert portal.client.get("/").status_code == 200
    assert portal.client.get("/gibt-es-nicht/c-4711").status_code == 404
    names = [(s.name, s.kind) for s in spans.get_finished_spans()]
    assert ("GET /", SpanKind.SERVER) in names
    assert ("GET unbekannt", SpanKind.SERVER) in names
    assert not any("c-4711" in name for name, _ in names)
