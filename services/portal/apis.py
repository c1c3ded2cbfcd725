"""The node's gRPC apis as the logged-in person calls them, and what their errors become.

`apis()` gives the stubs of the node's own api (one channel per portal process); `call(method,
request)` sends the session's access token as bearer metadata and maps gRPC errors:

- INVALID_ARGUMENT -> `FormErrors` with the api's German field violations (the error summary
  links each to its field); FAILED_PRECONDITION and ALREADY_EXISTS -> `FormErrors` with the
  api's German message for the whole form;
- NOT_FOUND and PERMISSION_DENIED -> the same 404 page "Nicht gefunden": a case of another
  organisation looks exactly like a missing one;
- UNAUTHENTICATED -> login, and back to the page afterwards;
- UNAVAILABLE and DEADLINE_EXCEEDED -> a 503 page naming what cannot be reached.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import grpc
from flask import current_app, session
from werkzeug.exceptions import NotFound

from services.portal.auth import LoginRequired, access_token
from services.portal.forms import FormErrors

T = TypeVar("T")

#: German names of the services, for the 503 page ("nicht erreichbar: die Fallverwaltung").
SERVICE_NAMES = {
    "kim.case.v1": "die Fallverwaltung",
    "kim.conference.v1": "die Fallkonferenzen und Gremien",
    "kim.documents.v1": "die Dokumente",
    "kim.identity.v1": "das Knotenverzeichnis",
    "grpc.health.v1": "die Schnittstelle des Knotens",
}


@dataclass(frozen=True)
class Apis:
    """Stubs on the node's own api channel. Typed loosely on purpose: the generated stubs are
    untyped, and unit tests put hand-written fakes with the same methods in their place."""

    case: Any
    conference: Any
    documents: Any
    identity: Any
    health: Any
    channel: Any = None

    @classmethod
    def connect(cls, target: str) -> Apis:
        from grpc_health.v1 import health_pb2_grpc

        from kim.case.v1 import case_pb2_grpc
        from kim.conference.v1 import conference_pb2_grpc
        from kim.documents.v1 import documents_pb2_grpc
        from kim.identity.v1 import identity_pb2_grpc

        channel = grpc.insecure_channel(target, options=[
            ("grpc.max_receive_message_length", 64 * 1024 * 1024)])
        return cls(
            case=case_pb2_grpc.CaseServiceStub(channel),  # type: ignore[no-untyped-call]
            conference=conference_pb2_grpc.ConferenceServiceStub(channel),  # type: ignore[no-untyped-call]
            documents=documents_pb2_grpc.DocumentsServiceStub(channel),  # type: ignore[no-untyped-call]
            identity=identity_pb2_grpc.IdentityServiceStub(channel),  # type: ignore[no-untyped-call]
            health=health_pb2_grpc.HealthStub(channel),
            channel=channel,
        )


def apis() -> Apis:
    """The stubs of this portal's node (set by create_app; fakes in unit tests)."""
    found: Apis = current_app.extensions["kim_apis"]
    return found


class ApiUnavailable(Exception):
    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


def call(method: Callable[..., T], request: Any, *, timeout: float | None = None) -> T:
    """`method(request)` as the logged-in person, with the errors mapped (module docstring)."""
    metadata = (("authorization", f"Bearer {access_token()}"),)
    limit = timeout if timeout is not None else current_app.config["KIM_API_TIMEOUT"]
    try:
        return method(request, metadata=metadata, timeout=limit)
    except grpc.RpcError as error:
        raise mapped(error, method) from None


def mapped(error: grpc.RpcError, method: Any = None) -> Exception:
    """The exception the portal raises for a gRPC error (see the module docstring)."""
    code = error.code() if isinstance(error, grpc.Call) else grpc.StatusCode.UNKNOWN
    message = (error.details() if isinstance(error, grpc.Call) else "") or ""
    if code == grpc.StatusCode.INVALID_ARGUMENT:
        fields = field_violations(error)
        return FormErrors(fields, [] if fields else [message or "Die Angaben sind unvollständig."])
    if code in (grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.ALREADY_EXISTS,
                grpc.StatusCode.OUT_OF_RANGE, grpc.StatusCode.RESOURCE_EXHAUSTED):
        return FormErrors(general=[message or "Das ist gerade nicht möglich."])
    if code in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.PERMISSION_DENIED):
        return NotFound()
    if code == grpc.StatusCode.UNAUTHENTICATED:
        session.pop("person", None)
        session.pop("tokens", None)
        return LoginRequired()
    if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
        return ApiUnavailable(service_name(method))
    return error if isinstance(error, Exception) else RuntimeError(str(error))


def field_violations(error: grpc.RpcError) -> dict[str, str]:
    """The `google.rpc.BadRequest` field violations of an error (field path -> German text)."""
    from google.rpc import error_details_pb2
    from grpc_status import rpc_status

    try:
        status = rpc_status.from_call(error)
    except ValueError:
        return {}
    fields: dict[str, str] = {}
    for detail in status.details if status is not None else ():
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            for violation in bad.field_violations:
                fields.setdefault(violation.field, violation.description)
    return fields


def service_name(method: Any) -> str:
    """German name of the service a stub method belongs to ("die Fallverwaltung")."""
    path = getattr(method, "_method", b"") or getattr(method, "grpc_path", b"")
    text = path.decode() if isinstance(path, bytes) else str(path)
    package = text.lstrip("/").split("/")[0].rsplit(".", 1)[0] if "/" in text else ""
    return SERVICE_NAMES.get(package, "die Schnittstelle des Knotens")
