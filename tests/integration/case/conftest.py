"""Integration tests of the case service: everything real, nothing faked.

- Storage: the session's own databases on the real FerretDB/MongoDB (`node_settings`: a random
  node id, dropped afterwards).
- The gRPC api: the api process the node runs (`kimnetz.bootstrap.build_api_process`, with its
  auth interceptor, error mapping and outbox relay) on 127.0.0.1:0, serving `case` for the
  organisation stadt-hilden.
- Tokens: real brokered logins at the real Keycloak, in the federation of federation.yaml
  (one user per role in the owning, the coordinating and a foreign organisation), applied
  under unique realm names and deleted afterwards (tests/support/identity.py).
- Worker tests: a real `kim node worker` (`nameko run`) on the session's own RabbitMQ vhost.

A server that cannot be reached fails the tests with what to start; nothing is skipped.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import mongoengine
import pytest
from google.protobuf.message import Message
from mongoengine.context_managers import switch_db

from kim.case.v1 import case_pb2_grpc
from kimnetz.bootstrap import ApiProcess, build_api_process
from kimnetz.runtime.mongo import connect
from kimnetz.runtime.settings import Settings
from services.case import SERVICE, read_models
from services.case.repository import (
    AuditDocument,
    CaseChangeDocument,
    CaseDocument,
    MongoCaseRepository,
    PseudonymDocument,
    ZielgruppenDocument,
)
from tests.support import servers
from tests.support.grpc_calls import refusal
from tests.support.identity import LocalFederation

FEDERATION_FILE = Path(__file__).with_name("federation.yaml")
OWNER = "stadt-hilden"
COORDINATION = "kreis-mettmann"
STRANGER = "caritas-mettmann"
ABH = "abh-kreis-mettmann"
ORG_SHORT = {OWNER: "hilden", COORDINATION: "kreis", STRANGER: "caritas", ABH: "abh"}
ROLE_SHORT = {
    "case_manager": "cm", "coordinator": "koord", "immigration_liaison": "lotse",
    "steering_member": "lenkung", "clerk": "buero", "data_protection_officer": "dsb",
    "node_admin": "admin",
}
DOCUMENTS = (CaseDocument, CaseChangeDocument, AuditDocument, ZielgruppenDocument, PseudonymDocument)


@pytest.fixture(scope="session")
def case_settings(node_settings: Settings) -> Settings:
    """The test node as the case service sees it: Hilden's node, its own "case" database."""
    settings = node_settings.model_copy(update={"organization_id": OWNER, "grpc_services": SERVICE})
    connect(settings, SERVICE)
    for document in DOCUMENTS:
        document.ensure_indexes()
    return settings


def clear_store() -> None:
    for document in DOCUMENTS:
        document.objects.delete()
    database = CaseDocument._get_db()
    for name in (read_models.PENDING, read_models.MODELS):  # the lists and figures of those cases
        database[name].delete_many({})


@contextmanager
def own_case_database(settings: Settings) -> Iterator[str]:
    """The case adapter's Documents switched to a database of the caller's own, for tests that
    look at outboxes: the session's api process runs a relay on the session database (its fast
    path queues by collection name), which would send their events while they look. Yields the
    node id that names the database. `connect` is idempotent per alias, so a fresh alias is
    what gives a fresh database."""
    own = settings.model_copy(update={"node_id": f"{settings.node_id}-{uuid.uuid4().hex[:8]}"})
    alias = f"{SERVICE}-{own.node_id}"
    connect(own, SERVICE, alias=alias)
    try:
        with ExitStack() as switched:
            for document in DOCUMENTS:
                switched.enter_context(switch_db(document, alias))
                document.ensure_indexes()
            yield own.node_id
    finally:
        mongoengine.disconnect(alias=alias)
        servers.drop_databases(own)


@pytest.fixture
def repository(case_settings: Settings) -> Iterator[MongoCaseRepository]:
    clear_store()
    yield MongoCaseRepository(case_settings.node_id)
    clear_store()


@pytest.fixture(scope="session")
def case_federation() -> Iterator[LocalFederation]:
    federation = LocalFederation.start(FEDERATION_FILE)
    try:
        yield federation
    finally:
        federation.close()


@pytest.fixture(scope="session")
def api_process(case_settings: Settings, case_federation: LocalFederation) -> Iterator[ApiProcess]:
    """Hilden's api process as `kim node api` builds it, trusting the test federation's realm."""
    settings = case_settings.model_copy(update={
        "keycloak_realm": case_federation.realm,
        "api_audience": case_federation.federation.clients.api,
    })
    process = build_api_process(settings, address="127.0.0.1:0")
    process.start()
    yield process
    process.stop()


@dataclass(frozen=True)
class Caller:
    organization: str
    role: str

    @property
    def username(self) -> str:
        return f"{ROLE_SHORT[self.role]}.{ORG_SHORT[self.organization]}"

    def __str__(self) -> str:
        return f"{self.role}@{self.organization}"


class CaseApi:
    """A CaseService client that calls as a given user: `api.call("GetCase", request, caller)`."""

    def __init__(self, channel: grpc.Channel, token: Callable[[Caller], str]) -> None:
        self.stub = case_pb2_grpc.CaseServiceStub(channel)  # type: ignore[no-untyped-call]
        self._token = token

    def call(self, method: str, request: Message, caller: Caller) -> Any:
        metadata = (("authorization", f"Bearer {self._token(caller)}"),)
        return getattr(self.stub, method)(request, metadata=metadata, timeout=30)

    def fails(self, method: str, request: Message, caller: Caller) -> grpc.RpcError:
        """The error the call answers with (the test fails if it succeeds)."""
        return refusal(lambda: self.call(method, request, caller), f"{method} as {caller}")


@pytest.fixture(scope="session")
def case_api(api_process: ApiProcess, case_federation: LocalFederation) -> Iterator[CaseApi]:
    channel = grpc.insecure_channel(f"127.0.0.1:{api_process.port}")
    yield CaseApi(channel, lambda caller: case_federation.token_for(caller.organization, caller.username))
    channel.close()


@pytest.fixture
def fresh_store(case_settings: Settings) -> Iterator[None]:
    """Tests that count audit entries or list cases start from an empty store."""
    clear_store()
    yield
    clear_store()
