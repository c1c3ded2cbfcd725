"""Integration tier of the documents service. Real: FerretDB (GridFS and the service's
collections in the test node's database), RabbitMQ (the test node's vhost), Keycloak (brokered
logins of the local federation's users), the api process as `kimnetz.bootstrap` builds it (grpcio,
token validation, outbox relay), and for bulk jobs a `kim node worker` process. Nothing faked.

Users (services/identity/federations/local.yaml): r.buero is the clerk of Stadt Hilden,
c.manager a case manager there; k.koordination the coordinator and n.admin the node_admin of
Kreis Mettmann; m.beratung a case manager of the Caritas.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import grpc
import pytest

from kim.documents.v1 import documents_pb2_grpc
from kimnetz.bootstrap import ApiProcess, build_api_process
from kimnetz.runtime import mongo
from kimnetz.runtime.settings import Settings
from tests.support.identity import LocalFederation, local_federation, token_for  # noqa: F401

Call = Callable[..., Any]


@pytest.fixture(scope="session")
def documents_settings(node_settings: Settings, local_federation: LocalFederation) -> Settings:  # noqa: F811
    """The test node serving only the documents service, trusting the test federation's realm."""
    return node_settings.model_copy(
        update={
            "grpc_services": "documents",
            "keycloak_realm": local_federation.realm,
            "api_audience": local_federation.federation.clients.api,
            "outbox_sweep_seconds": 0.5,
        }
    )


@pytest.fixture(scope="session")
def api_process(documents_settings: Settings) -> Iterator[ApiProcess]:
    process = build_api_process(documents_settings, address="127.0.0.1:0")
    process.start()
    yield process
    process.stop()


@pytest.fixture(scope="session")
def stub(api_process: ApiProcess) -> Iterator[documents_pb2_grpc.DocumentsServiceStub]:
    channel = grpc.insecure_channel(f"127.0.0.1:{api_process.port}")
    yield documents_pb2_grpc.DocumentsServiceStub(channel)
    channel.close()


@pytest.fixture(scope="session")
def call(stub: documents_pb2_grpc.DocumentsServiceStub, token_for: Callable[[str, str], str]) -> Call:  # noqa: F811
    """`call("RenderDocument", request, as_user=("stadt-hilden", "r.buero"))` with a real token."""

    def invoke(method: str, request: Any, *, as_user: tuple[str, str]) -> Any:
        token = token_for(*as_user)
        return getattr(stub, method)(request, metadata=[("authorization", f"Bearer {token}")], timeout=30)

    return invoke


@pytest.fixture(scope="session")
def documents_db(documents_settings: Settings, api_process: ApiProcess) -> Settings:
    """The service's mongoengine alias connected (the api process did it) for direct checks."""
    mongo.connect(documents_settings, "documents")
    return documents_settings
