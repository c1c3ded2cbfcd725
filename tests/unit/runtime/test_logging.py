"""The log format of api and worker processes (kimnetz/runtime/logging.py): JSON lines with the
node, the role and the trace ids inside a span; the worker's nameko.yaml builds the same."""

from __future__ import annotations

import io
import json
import logging
import logging.config
from collections.abc import Iterator

import pytest
import yaml

from kimnetz.runtime import logging as kim_logging
from kimnetz.runtime.worker import NAMEKO_CONFIG


@pytest.fixture
def captured() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(kim_logging.formatter("stadt-hilden", "api"))
    logger = logging.getLogger("kim.test.logging")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    yield logger, stream
    logger.removeHandler(handler)


def lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_a_record_is_one_json_line_with_node_role_and_extra_fields(
        captured: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = captured
    logger.info("event %s relayed", "e-1", extra={"queue": "evt-case"})
    [entry] = lines(stream)
    assert entry["message"] == "event e-1 relayed" and entry["level"] == "INFO"
    assert entry["node"] == "stadt-hilden" and entry["role"] == "api" and entry["queue"] == "evt-case"
    assert str(entry["time"]).endswith("+00:00") and "trace_id" not in entry


def test_inside_a_span_the_trace_and_span_ids_are_logged(
        captured: tuple[logging.Logger, io.StringIO], monkeypatch: pytest.MonkeyPatch) -> None:
    logger, stream = captured
    monkeypatch.setattr(kim_logging, "current_trace", lambda: ("4bf92f3577b34da6a3ce929d0e0e4736",
                                                               "00f067aa0ba902b7"))
    logger.warning("slow")
    [entry] = lines(stream)
    assert entry["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert entry["span_id"] == "00f067aa0ba902b7"


def test_an_exception_keeps_its_traceback_in_the_line(captured: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = captured
    try:
        raise ValueError("kaputt")
    except ValueError:
        logger.exception("handler failed")
    [entry] = lines(stream)
    assert "ValueError: kaputt" in str(entry["exception"])


def test_text_format_for_a_terminal() -> None:
    record = logging.LogRecord("kim", logging.INFO, __file__, 1, "bereit", None, None)
    assert kim_logging.formatter("kreis", "api", "text").format(record).endswith("INFO [kreis] kim: bereit")


def test_the_worker_config_builds_the_json_formatter(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KIM_NODE_ID", "caritas-mettmann")
    monkeypatch.delenv("KIM_LOG_FORMAT", raising=False)
    config = yaml.safe_load(NAMEKO_CONFIG.read_text())["LOGGING"]
    built = logging.config.DictConfigurator(config).configure_custom(dict(config["formatters"]["kim"]))
    assert isinstance(built, kim_logging.JsonFormatter)
    assert (built.node, built.role) == ("caritas-mettmann", "worker")
