"""Audit events of access decisions, and the small sink interface they are written to.

Every api process records who was refused at the door (authentication) and who was allowed
or refused an action (authorisation). The runtime only defines the event and the interface;
the case service writes events to its hash-chained audit log, tests collect them in memory,
and a process without a store logs them (logger `kim.audit`) so none is lost silently.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from kim.errors import KimError
    from kim.runtime.auth import Principal

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
    """The `on_auth_decision` of `build_server`: records every call refused at the door."""

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
