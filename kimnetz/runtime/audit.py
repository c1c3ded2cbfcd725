"""Audit events of access decisions, and the small sink interface they are written to.

Every api process records who was refused at the door (authentication) and who was allowed
or refused an action (authorisation). The runtime only defines the event and the interface;
the case service writes events to its hash-chained audit log, tests collect them in memory,
and a process without a store logs them (logger `kim.audit`) so none is lost silently.

Calls refused from nobody (no valid token, no client certificate) are not audit events: anyone
can make them at no cost, so they are counted per reason (`anonymous_refusals`, readable in
the process, e.g. by a metrics endpoint) and logged at a bounded rate instead.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from kimnetz.errors import KimError
    from kimnetz.runtime.auth import Principal

audit_log = logging.getLogger("kim.audit")


@dataclass(frozen=True)
class AuditEvent:
    kind: str  # "authentication" | "authorization"
    outcome: str  # "granted" | "denied"
    action: str  # the gRPC method or the domain action ("Fall lesen")
    at: datetime
    subject: str | None = None
    username: str | None = None
    organization: str | None = None
    node: str | None = None
    reason: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    @classmethod
    def now(cls, **fields: object) -> AuditEvent:
        return cls(at=datetime.now(UTC), **fields)  # type: ignore[arg-type]

    def as_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["at"] = self.at.isoformat()
        return data


class RefusalCounter:
    """Counts calls refused at the door without a verified identity, per reason, and logs them
    at most once per `log_interval` seconds per reason (with how many came since the last
    line), so a flood costs neither the audit trail nor the log. Reasons beyond
    `max_reasons` distinct ones are counted together under OTHER_REASONS."""

    OTHER_REASONS = "(weitere Gründe)"

    def __init__(self, log_interval: float = 60.0, max_reasons: int = 64,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._log_interval = log_interval
        self._max_reasons = max_reasons
        self._clock = clock
        self._counts: dict[str, int] = {}
        self._unlogged: dict[str, int] = {}
        self._logged_at: dict[str, float] = {}
        self._lock = threading.Lock()

    def count(self, method: str, reason: str) -> None:
        now = self._clock()
        with self._lock:
            if reason not in self._counts and len(self._counts) >= self._max_reasons:
                reason = self.OTHER_REASONS
            self._counts[reason] = self._counts.get(reason, 0) + 1
            self._unlogged[reason] = self._unlogged.get(reason, 0) + 1
            last = self._logged_at.get(reason)
            if last is not None and now - last < self._log_interval:
                return
            self._logged_at[reason] = now
            calls = self._unlogged.pop(reason)
        audit_log.warning("door refused %d anonymous call(s) (last %s): %s", calls, method, reason)

    def counts(self) -> dict[str, int]:
        """Refused calls per reason since the process started."""
        with self._lock:
            return dict(self._counts)

    def total(self) -> int:
        with self._lock:
            return sum(self._counts.values())


#: The process's counter of anonymous refusals (every server of the process counts here).
anonymous_refusals = RefusalCounter()


class AuditSink(Protocol):
    def record(self, event: AuditEvent) -> None: ...


class LoggingAuditSink:
    """Writes each event as one structured log line; the default where no store is wired."""

    def record(self, event: AuditEvent) -> None:
        audit_log.info("audit %s %s %s", event.kind, event.outcome, event.action,
                       extra={"audit": event.as_dict()})


class MemoryAuditSink:
    """Keeps events in a list (tests, and short-lived tools that print them)."""

    def __init__(self) -> None:
        self.events: list[AuditEvent] = []
        self._lock = threading.Lock()

    def record(self, event: AuditEvent) -> None:
        with self._lock:
            self.events.append(event)


def auth_listener(sink: AuditSink) -> Callable[[str, Principal | None, KimError | None], None]:
    """The `on_auth_decision` of `build_server`: records the door's decisions about somebody
    (accepted principals, refused tokens of peer nodes); refusals of nobody are only counted
    (`anonymous_refusals`)."""

    def listen(method: str, principal: Principal | None, error: KimError | None) -> None:
        sink.record(AuditEvent.now(
            kind="authentication", outcome="denied" if error is not None else "granted",
            action=method,
            subject=principal.subject if principal else None,
            username=principal.username if principal else None,
            organization=principal.organization if principal else None,
            node=principal.node if principal else None,
            reason=error.message if error is not None else "",
        ))

    return listen
