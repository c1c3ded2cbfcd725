"""Errors that domain cores raise, free of any framework.

The gRPC layer (`kim.runtime.grpc_errors`) maps each to its standard status code; messages are
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


class Unauthenticated(KimError):
    pass


class PermissionDenied(KimError):
    pass


class Unavailable(KimError):
    """A server the call depends on (database, broker, identity provider) is not reachable."""


class VersionConflict(FailedPrecondition):
    """Another writer took the version this write was based on (`kim.runtime.changes`): to an
    api caller a FailedPrecondition ("bitte neu laden"), to an event handler a passing failure
    that a redelivery after back-off overcomes (docs/events.md, "Failures")."""


class UntrustedEvent(KimError):
    """An event whose sender could not be verified, or may not assert it (issue 12, item 2):
    permanent, so the consuming wrapper (`kim.runtime.consume`) keeps it in the dead-letter store
    with this message as its reason instead of applying or retrying it."""
