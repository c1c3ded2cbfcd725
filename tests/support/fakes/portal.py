"""Hand-written fakes for unit tests of the portal's views (no Keycloak, no api, no database).

- `FakeStub`: one gRPC service's stub. Every rpc of the service (read from its descriptor)
  answers the empty response of its type until a test sets an answer with `answer(rpc, value)`
  (a message, a callable `request -> message`, or a `kimnetz.errors` error, which is raised as
  the `grpc.RpcError` the real api would send: `status_for` builds the same status with the same
  German field violations). Each call is recorded in `calls` with its request and metadata.
- `FakeApis()`: the portal's `Apis` with a fake stub for each service.
- `portal_app(apis)`: the portal with these fakes, a memory session store and no Keycloak.
- `login_as(client, person)`: a logged-in session for the test client, as the OIDC callback
  leaves it (the person, a token that is not about to expire).
- `csrf_token(client)` / `post_form(client, path, data)`: a form post with a valid CSRF token.

Persons for tests: `CASE_MANAGER_STADT`, `CASE_MANAGER_CARITAS`, `COORDINATOR_KREIS`,
`NODE_ADMIN_KREIS`, `DPO_STADT`, `CLERK_KREIS`, `LIAISON_ABH`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeAlias

import grpc
from flask import Flask
from flask.testing import FlaskClient
from google.protobuf import message_factory
from google.protobuf.message import Message
from grpc_health.v1 import health_pb2
from itsdangerous import URLSafeTimedSerializer
from werkzeug.test import TestResponse

from kim.case.v1 import case_pb2
from kim.conference.v1 import conference_pb2
from kim.documents.v1 import documents_pb2
from kim.identity.v1 import identity_pb2
from kimnetz.errors import KimError
from kimnetz.runtime.grpc_errors import status_for
from services.portal.apis import Apis
from services.portal.app import create_app
from services.portal.auth import MemorySessionStore, Person
from services.portal.settings import PortalSettings

CASE_MANAGER_STADT = Person("Clara Manager", "c.manager", "stadt-hilden", frozenset({"case_manager"}))
CASE_MANAGER_CARITAS = Person("Maria Beratung", "m.beratung", "caritas-mettmann", frozenset({"case_manager"}))
COORDINATOR_KREIS = Person("Katrin Koordination", "k.koordination", "kreis-mettmann",
                           frozenset({"coordinator", "steering_member"}))
NODE_ADMIN_KREIS = Person("Nina Admin", "n.admin", "kreis-mettmann", frozenset({"node_admin"}))
DPO_STADT = Person("Jonas Datenschutz", "j.datenschutz", "stadt-hilden",
                   frozenset({"data_protection_officer"}))
CLERK_KREIS = Person("Vera Vertrag", "v.vertrag", "kreis-mettmann", frozenset({"clerk"}))
LIAISON_ABH = Person("Leyla Lotsin", "l.lotsin", "abh-kreis-mettmann", frozenset({"immigration_liaison"}))

FAKE_TOKEN = "fake-access-token"


class FakeRpcError(grpc.RpcError, grpc.Call):
    """The error a real channel raises: code, details and the status with its details in the
    trailing metadata (`grpc-status-details-bin`), so `grpc_status.rpc_status.from_call` reads it."""

    def __init__(self, code: grpc.StatusCode, details: str, status_bytes: bytes = b"") -> None:
        super().__init__(details)
        self._code = code
        self._details = details
        self._status = status_bytes

    @classmethod
    def of(cls, error: KimError) -> FakeRpcError:
        status = status_for(error)
        code = next(c for c in grpc.StatusCode if c.value[0] == status.code)
        return cls(code, status.message, status.SerializeToString())

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str:
        return self._details

    def trailing_metadata(self) -> tuple[tuple[str, bytes], ...]:
        return (("grpc-status-details-bin", self._status),) if self._status else ()

    def initial_metadata(self) -> tuple[tuple[str, bytes], ...]:
        return ()

    def is_active(self) -> bool:
        return False

    def time_remaining(self) -> float | None:
        return None

    def cancel(self) -> bool:
        return False

    def add_callback(self, callback: Any) -> bool:
        return False


@dataclass
class Call:
    rpc: str
    request: Any
    metadata: tuple[tuple[str, str], ...]


Answer: TypeAlias = Message | Callable[[Any], Message] | KimError | grpc.RpcError


class _FakeMethod:
    def __init__(self, stub: FakeStub, rpc: str) -> None:
        self._stub = stub
        self.rpc = rpc
        #: As a real multicallable names its method: the 503 page names the service from it.
        self._method = f"/{stub.service_name}/{rpc}".encode()

    def __call__(self, request: Any, metadata: Any = (), timeout: float | None = None,
                 **_: Any) -> Any:
        return self._stub.invoke(self.rpc, request, tuple(metadata or ()))


class FakeStub:
    def __init__(self, file_descriptor: Any, service: str) -> None:
        self.descriptor = file_descriptor.services_by_name[service]
        self.service_name = self.descriptor.full_name
        self.calls: list[Call] = []
        self.answers: dict[str, Answer] = {}

    def answer(self, rpc: str, value: Answer) -> None:
        self._method_descriptor(rpc)
        self.answers[rpc] = value

    def requests(self, rpc: str) -> list[Any]:
        return [c.request for c in self.calls if c.rpc == rpc]

    def _method_descriptor(self, rpc: str) -> Any:
        try:
            return self.descriptor.methods_by_name[rpc]
        except KeyError:
            raise AttributeError(f"{self.service_name} has no rpc {rpc}") from None

    def invoke(self, rpc: str, request: Any, metadata: tuple[tuple[str, str], ...]) -> Any:
        method = self._method_descriptor(rpc)
        if type(request).DESCRIPTOR is not method.input_type:
            raise TypeError(f"{rpc} takes {method.input_type.full_name}, not {type(request).__name__}")
        self.calls.append(Call(rpc, request, metadata))
        answer = self.answers.get(rpc)
        if answer is None:
            return message_factory.GetMessageClass(method.output_type)()
        if isinstance(answer, KimError):
            raise FakeRpcError.of(answer)
        if isinstance(answer, grpc.RpcError):
            raise answer
        if isinstance(answer, Message):
            return answer
        return answer(request)

    def __getattr__(self, rpc: str) -> _FakeMethod:
        if rpc.startswith("_"):
            raise AttributeError(rpc)
        self._method_descriptor(rpc)
        return _FakeMethod(self, rpc)


def unavailable(details: str = "connection refused") -> FakeRpcError:
    return FakeRpcError(grpc.StatusCode.UNAVAILABLE, details)


class FakeApis(Apis):
    def __init__(self) -> None:
        super().__init__(
            case=FakeStub(case_pb2.DESCRIPTOR, "CaseService"),
            conference=FakeStub(conference_pb2.DESCRIPTOR, "ConferenceService"),
            documents=FakeStub(documents_pb2.DESCRIPTOR, "DocumentsService"),
            identity=FakeStub(identity_pb2.DESCRIPTOR, "IdentityService"),
            health=FakeStub(health_pb2.DESCRIPTOR, "Health"),
        )


def portal_settings(**overrides: Any) -> PortalSettings:
    values: dict[str, Any] = {
        "node_id": "stadt-hilden", "organization_id": "stadt-hilden",
        "portal_organization_name": "Stadt Hilden", "portal_idp_hint": "stadt-hilden-idp",
        "portal_session_secret": "unit-test-secret", "portal_port": 8401,
        **overrides,
    }
    return PortalSettings(**values)


def portal_app(apis: FakeApis | None = None, **settings: Any) -> Flask:
    app = create_app(portal_settings(**settings), apis=apis or FakeApis(),
                     session_store=MemorySessionStore(), oidc=None)
    app.config["TESTING"] = True
    return app


def login_as(client: FlaskClient, person: Person, *, expires_in: float = 3600) -> None:
    with client.session_transaction() as session:
        session["person"] = person.as_dict()
        session["tokens"] = {"access_token": FAKE_TOKEN, "refresh_token": "", "id_token": "",
                             "expires_at": time.time() + expires_in, "refresh_expires_at": 0}


def csrf_token(client: FlaskClient) -> str:
    """A valid CSRF token for the client's session (as `{{ csrf_token() }}` renders it)."""
    import secrets

    app = client.application
    with client.session_transaction() as session:
        raw = session.setdefault("csrf_token", secrets.token_hex(20))
    signer = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt="wtf-csrf-token")
    return str(signer.dumps(raw))


def post_form(client: FlaskClient, path: str, data: dict[str, Any] | None = None,
              **kwargs: Any) -> TestResponse:
    return client.post(path, data={**(data or {}), "csrf_token": csrf_token(client)}, **kwargs)


@dataclass
class Portal:
    """What a portal unit test works with: the app, a client logged in as `person`, the fakes."""

    app: Flask
    client: FlaskClient
    apis: FakeApis
    person: Person | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def login(self, person: Person) -> None:
        login_as(self.client, person)
        self.person = person

    def post(self, path: str, data: dict[str, Any] | None = None, **kwargs: Any) -> TestResponse:
        return post_form(self.client, path, data, **kwargs)


def make_portal(person: Person | None = CASE_MANAGER_STADT, **settings: Any) -> Portal:
    apis = FakeApis()
    app = portal_app(apis, **settings)
    portal = Portal(app, app.test_client(), apis)
    if person is not None:
        portal.login(person)
    return portal
