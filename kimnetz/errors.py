"""Errors that domain cores raise, free of any framework.

The gRPC layer (`kimnetz.runtime.grpc_errors`) maps each to its standard status code; messages are
German because they reach users (case managers, coordinators, clerks).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldViolation:
    """One invalid field: `field` is its path in the request ("person.birth_date")."""

    field: str
    description: str


class KimError(Exception):
    """Base of every error that a user may see; `message` is German."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidArgument(KimError):
    def __init__(self, violations: list[FieldViolation], message: str = "Ungültige Eingabe.") -> None:
        super().__init__(message)
        self.violations = list(violations)

    def __str__(self) -> str:
        details = "; ".join(f"{v.field}: {v.description}" for v in self.violations)
        return f"{self.message} {details}".strip()


class NotFound(KimError):
    pass


class AlreadyExists(KimError):
    pass


class FailedPrecondition(KimError):
    pass


class VersionConflict(FailedPrecondition):
    """Another writer took the version this write was based on (`kimnetz.runtime.changes`): to an
    api caller a FailedPrecondition ("bitte neu laden"), to an event handler a passing failure
    that a redelivery after back-off overcomes (docs/events.md, "Failures")."""


class Unauthenticated(KimError):
    pass


class PermissionDenied(KimError):
    pass


class Unavailable(KimError):
    """A server the call depends on (database, broker, identity provider) is not reachable."""


class UntrustedEvent(KimError):
    """An event this node must never apply: unsigned, signed by a key the federation does not
    know, replayed with other content, or asserted by a node that may not assert it. Permanent
    (a redelivery is refused alike): the handler refuses it, audits it and keeps it for the
    operator (dead letter with `reason`). `reason` is a short English code for logs and the
    dead-letter store ("unsigned", "bad-signature", "sender-not-allowed", ...); the message is
    German, for the operator."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason

    def __str__(self) -> str:
        return f"{self.reason}: {self.message}"
