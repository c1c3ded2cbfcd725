"""Real tokens against a real gRPC server built with the shared runtime (127.0.0.1:0)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import grpc
import pytest

from kim.identity.v1 import identity_pb2, identity_pb2_grpc
from kimnetz.runtime.audit import MemoryAuditSink, auth_listener
from kimnetz.runtime.auth import TokenValidator
from kimnetz.runtime.grpc_server import build_server
from kimnetz.runtime.service_account import ServiceAccount
from kimnetz.runtime.settings import Settings
from services.identity import api
from services.identity.organizations import FederationOrganizations
from tests.support.identity import LocalFederation


@pytest.fixture(scope="module")
def audit() -> MemoryAuditSink:
    return MemoryAuditSink()


@pytest.fixture(scope="module")
def organizations(local_federation: LocalFederation) -> FederationOrganizations:
    return FederationOrganizations(local_federation.federation)


@pytest.fixture(scope="module")
def stub(local_federation: LocalFederation, organizations: FederationOrganizations,
         audit: MemoryAuditSink) -> Iterator[identity_pb2_grpc.IdentityServiceStub]:
    validator = TokenValidator(local_federation.issuer, "kim-api", organizations=organizations)
    settings = Settings().model_copy(update={"node_id": "kreis-mettmann"})
    server, port, _ = build_server([api.registration(settings)], address="127.0.0.1:0",
                                   validator=validator, on_auth_decision=auth_listener(audit))
    server.start()
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    yield identity_pb2_grpc.IdentityServiceStub(channel)
    channel.close()
    server.stop(None)


def who(stub: identity_pb2_grpc.IdentityServiceStub, token: str) -> identity_pb2.WhoAmIResponse:
    response: identity_pb2.WhoAmIResponse = stub.WhoAmI(
        identity_pb2.WhoAmIRequest(), metadata=[("authorization", f"Bearer {token}")], timeout=10)
    return response


def test_brokered_users_token_is_accepted(
    stub: identity_pb2_grpc.IdentityServiceStub, token_for: Callable[[str, str], str],
) -> None:
    response = who(stub, token_for("stadt-hilden", "c.manager"))
    assert (response.organization, response.username, response.node_id) == (
        "stadt-hilden", "c.manager", "kreis-mettmann")
    assert "case_manager" in response.roles


def test_call_without_token_is_unauthenticated_and_counted_not_audited(
    stub: identity_pb2_grpc.IdentityServiceStub, audit: MemoryAuditSink,
) -> None:
    """A call from nobody costs the caller nothing, so it is counted, not audited (issue 12)."""
    from kimnetz.runtime.audit import anonymous_refusals

    before, audited = anonymous_refusals.total(), len(audit.events)
    with pytest.raises(grpc.RpcError) as caught:
        stub.WhoAmI(identity_pb2.WhoAmIRequest(), timeout=10)
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert anonymous_refusals.total() == before + 1
    assert len(audit.events) == audited


def test_token_of_a_disabled_organisation_is_refused(
    stub: identity_pb2_grpc.IdentityServiceStub, token_for: Callable[[str, str], str],
    local_federation: LocalFederation, organizations: FederationOrganizations,
    audit: MemoryAuditSink,
) -> None:
    token = token_for("caritas-mettmann", "m.beratung")
    assert who(stub, token).organization == "caritas-mettmann"
    without_caritas = local_federation.federation.__class__(**{
        **local_federation.federation.__dict__,
        "organizations": tuple(o for o in local_federation.federation.organizations
                               if o.alias != "caritas-mettmann"),
    })
    organizations.update(without_caritas)
    try:
        with pytest.raises(grpc.RpcError) as caught:
            who(stub, token)
        assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
        assert "nicht (mehr) freigeschaltet" in str(caught.value.details())
        # The token names somebody: the refusal is audited, with who it was.
        assert audit.events[-1].reason == caught.value.details()
        assert (audit.events[-1].outcome, audit.events[-1].username) == ("denied", "m.beratung")
    finally:
        organizations.update(local_federation.federation)


def test_service_account_token_works_node_to_node(
    stub: identity_pb2_grpc.IdentityServiceStub, local_federation: LocalFederation,
) -> None:
    """The Stadt Hilden node calls the Kreis node with its client-credentials token."""
    account = ServiceAccount(local_federation.server_url, local_federation.realm,
                             "kim-node-stadt-hilden", local_federation.service_account_secret("stadt-hilden"))
    response = who(stub, account.token())
    assert response.client_id == "kim-node-stadt-hilden"
    assert response.organization == "stadt-hilden"
