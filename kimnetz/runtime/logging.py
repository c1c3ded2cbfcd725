"""One log format for api and worker processes: one JSON object per line with the node, the
process role and, inside a traced call, the trace and span ids; `KIM_LOG_FORMAT=text` gives
plain lines for a developer's terminal.

Log messages never carry a person's name, birth date or the text of a case (tests/e2e scans
every log of the story run for them): log ids, pseudonyms and reasons, not data."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from datetime import UTC, datetime

#: Returns (trace id, span id) of the current span as hex, or empty strings outside one;
#: set by the tracing set-up (kimnetz.runtime.tracing) where it runs.
current_trace: Callable[[], tuple[str, str]] = lambda: ("", "")  # noqa: E731

#: Attributes every LogRecord has; anything else a caller passes in `extra` is logged as a field.
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time (UTC, ISO 8601), level, node, role, logger, message,
    trace/span ids where a span is current, the exception's traceback, and `extra` fields."""

    def __init__(self, node: str, role: str) -> None:
        super().__init__()
        self.node = node
        self.role = role

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "node": self.node,
            "role": self.role,
            "logger": record.name,
            "message": record.getMessage(),
        }
        trace_id, span_id = current_trace()
        if trace_id:
            entry["trace_id"], entry["span_id"] = trace_id, span_id
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value if isinstance(value, (str, int, float, bool)) else str(value)
        return json.dumps(entry, ensure_ascii=False)


def formatter(node: str, role: str, log_format: str = "json") -> logging.Formatter:
    if log_format == "text":
        return logging.Formatter(f"%(asctime)s %(levelname)s [{node}] %(name)s: %(message)s")
    return JsonFormatter(node, role)


def worker_formatter() -> logging.Formatter:
    """The worker's formatter, named in nameko.yaml: nameko configures logging before any
    settings object exists, so it reads the two variables itself."""
    return formatter(os.environ.get("KIM_NODE_ID", ""), "worker",
                     os.environ.get("KIM_LOG_FORMAT", "json"))


def configure_logging(level: str, node_id: str, log_format: str = "json", role: str = "api") -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(formatter(node_id, role, log_format))
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)
    # pika-style chatter from kombu and the Keycloak client's HTTP pool is noise at INFO.
    for noisy in ("kombu", "amqp", "urllib3"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLogger().level))
