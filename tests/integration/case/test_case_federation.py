"""What the case service serves to peer nodes, through a real gRPC server with its mutual-TLS
port: certificates of a dev CA, the node directory as a plain PeerResolver, real service-account
tokens of the test federation's Keycloak, the case store on the real FerretDB/MongoDB.

Hilden's node serves; the Kreis node (role "district") asks for briefs and figures, the Caritas
node (role "welfare_org") may not. Every answer and refusal is in Hilden's case audit trail.
The Fallvorschlag itself (CaseSubmittedForReview with brief, consent and owner node) is read
from the session's broker, as the Kreis node would receive it.
"""

from __future__ import annotations

import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import pytest
from kombu import Connection, Exchange, Queue

from kim.case.v1 import case_pb2, events_pb2, federation_pb2, federation_pb2_grpc
from kim.common.v1.event_pb2 import EventEnvelope
from kimnetz.bootstrap import ApiProcess
from kimnetz.runtime import events
from kimnetz.runtime.audit import MemoryAuditSink, auth_listener
from kimnetz.runtime.auth import TokenValidator
from kimnetz.runtime.grpc_channels import peer_channel
from kimnetz.runtime.grpc_server import FederationListener, build_server
from kimnetz.runtime.peers import DirectoryPeerCheck, PeerRecord
from kimnetz.runtime.pki import DevCertificateAuthority, NodeCredentials
from kimnetz.runtime.service_account import ServiceAccount
from kimnetz.runtime.settings import Settings
from services.case import api, contract
from services.case.composition import CaseServices, case_services
from services.case.domain import commands as c
from services.case.domain.brief import build_brief
from services.case.domain.dates import local_date
from services.case.domain.policy import Actor
from services.case.repository import AuditDocument, MongoCaseRepository
from tests.integration.case import case_requests as rq
from tests.integration.case.conftest import COORDINATION, OWNER, STRANGER, Caller, CaseApi
from tests.support.grpc_calls import violations
from tests.support.identity import LocalFederation

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "unit" / "case"))
from case_factories import make_proposal

CM = Actor("cm.hilden", OWNER, frozenset({"case_manager"}))
COORDINATOR_HILDEN = Actor("koord.hilden", OWNER, frozenset({"coordinator"}))
DPO = Actor("dsb.hilden", OWNER, frozenset({"data_protection_officer"}))
BRIEFS = "GetCaseBriefs"


@dataclass
class PeerNode:
    """A peer node as the test plays it: its certificate and its service account's token."""

    node_id: str
    credentials: NodeCredentials
    token: str


@dataclass
class HildenNode:
    mutual: str
    plain: str
    kreis: PeerNode
    caritas: PeerNode
    audit: MemoryAuditSink

    def stub(self, peer: PeerNode) -> tuple[grpc.Channel, federation_pb2_grpc.CaseFederationStub]:
        channel = peer_channel(self.mutual, peer.credentials, server_name="stadt-hilden")
        return channel, federation_pb2_grpc.CaseFederationStub(channel)  # type: ignore[no-untyped-call]

    def call(self, peer: PeerNode, method: str, request: object, *, acting_user: str = "koord.kreis",
             token: str | None = None) -> object:
        metadata = [("authorization", f"Bearer {token or peer.token}")]
        if acting_user:
            metadata.append(("x-kim-acting-user", acting_user))
        channel, stub = self.stub(peer)
        with channel:
            return getattr(stub, method)(request, metadata=metadata, timeout=15)

    def refused(self, peer: PeerNode, method: str, request: object, **kwargs: str) -> grpc.RpcError:
        try:
            self.call(peer, method, request, **kwargs)
        except grpc.RpcError as error:
            return error
        pytest.fail(f"{method} as {peer.node_id} was served but should have been refused")


def service_token(federation: LocalFederation, node_id: str) -> str:
    return ServiceAccount(federation.server_url, federation.realm, f"kim-node-{node_id}",
                          federation.service_account_secret(node_id)).token()


@pytest.fixture(scope="module")
def hilden(case_settings: Settings, case_federation: LocalFederation) -> Iterator[HildenNode]:
    """Hilden's case service with its mutual-TLS port, wired as kimnetz.bootstrap wires it (the door's
    refusals also reach the case audit trail), the node directory a plain function."""
    ca = DevCertificateAuthority.create()
    kreis, caritas = ca.issue("kreis-mettmann"), ca.issue("caritas-mettmann")
    directory = {
        kreis.fingerprint: PeerRecord("kreis-mettmann", COORDINATION, "district", "active"),
        caritas.fingerprint: PeerRecord("caritas-mettmann", STRANGER, "welfare_org", "active"),
    }
    settings = case_settings.model_copy(update={
        "keycloak_realm": case_federation.realm, "api_audience": case_federation.federation.clients.api})
    memory = MemoryAuditSink()
    sink = api.door_audit(settings, memory)
    listener = FederationListener("127.0.0.1:0", ca.issue("stadt-hilden"), api.FEDERATION_METHODS,
                                  DirectoryPeerCheck(directory.get, cache_seconds=0, audit=sink), sink)
    server, port, _ = build_server(
        [api.registration(settings)], address="127.0.0.1:0",
        validator=TokenValidator(settings.issuer, settings.api_audience),
        on_auth_decision=auth_listener(sink), federation=listener)
    server.start()
    try:
        yield HildenNode(
            f"127.0.0.1:{listener.port}", f"127.0.0.1:{port}",
            PeerNode("kreis-mettmann", kreis, service_token(case_federation, "kreis-mettmann")),
            PeerNode("caritas-mettmann", caritas, service_token(case_federation, "caritas-mettmann")),
            memory)
    finally:
        server.stop(None)


@pytest.fixture
def service(repository: MongoCaseRepository) -> CaseServices:
    return case_services(repository, node_org=OWNER)


def proposed_to_kreis(service: CaseServices) -> str:
    """A case of Hilden proposed to the Kreis, with the consent for its Fallkonferenz."""
    case = service.fallvorschlaege.propose_case(
        CM, make_proposal(owner_org=OWNER, coordination_org=COORDINATION))
    service.einwilligungen.record_consent(CM, c.RecordConsent(
        case.case_id, "einwilligung", COORDINATION, ("fallkonferenz",), ("falldokumentation",),
        local_date(case.created_at)))
    service.fallvorschlaege.submit_for_review(CM, c.SubmitForReview(case.case_id))
    return case.case_id


def brief_request(*case_ids: str) -> federation_pb2.GetCaseBriefsRequest:
    return federation_pb2.GetCaseBriefsRequest(case_ids=list(case_ids), purpose="Fallkonferenz")


def entries(case_id: str, call: str = BRIEFS) -> list[AuditDocument]:
    return list(AuditDocument.objects(case_id=case_id, call=call).order_by("sequence"))


def test_the_kreis_node_gets_briefs_of_the_cases_proposed_to_it_and_nothing_else(
        hilden: HildenNode, service: CaseServices) -> None:
    shared = proposed_to_kreis(service)
    own = service.fallvorschlaege.propose_case(CM,
                                               make_proposal(owner_org=OWNER, coordination_org=OWNER)).case_id
    unknown = uuid.uuid4().hex
    answer = hilden.call(hilden.kreis, BRIEFS, brief_request(shared, own, unknown, shared))
    assert isinstance(answer, federation_pb2.GetCaseBriefsResponse)
    case = service.repository.get(shared)
    expected = contract.brief_message(shared, build_brief(
        case, service.repository.get_person(shared), local_date(datetime.now(UTC))))
    assert list(answer.briefs) == [expected], "the same brief GetCaseBrief builds, once"
    assert answer.briefs[0].pseudonym == case.pseudonym and answer.briefs[0].age_band == "28 bis 39"
    assert list(answer.unavailable_case_ids) == [own, unknown]

    [served] = entries(shared)
    assert (served.allowed, served.actor_node, served.actor_org, served.actor_subject, served.purpose,
            served.actor_roles) == (True, "kreis-mettmann", COORDINATION, "koord.kreis", "Fallkonferenz",
                                    ["district"])
    assert served.detail == f"Kurzinformation übermittelt (Einwilligung {case.consents[0].consent_id})"
    [refused_own] = entries(own)
    assert not refused_own.allowed and "nicht vorgeschlagen" in refused_own.detail
    [refused_unknown] = entries(unknown)
    assert (refused_unknown.allowed, refused_unknown.detail) == (False, "unbekannter Fall")
    assert service.datenschutz.verify_audit_chain(DPO).intact


def test_after_the_revocation_the_case_is_unavailable_without_a_reason(
        hilden: HildenNode, service: CaseServices) -> None:
    cid = proposed_to_kreis(service)
    consent = service.repository.get(cid).consents[0]
    first = hilden.call(hilden.kreis, BRIEFS, brief_request(cid))
    assert [b.case_id for b in first.briefs] == [cid]  # type: ignore[attr-defined]
    service.einwilligungen.revoke_consent(CM, c.RevokeConsent(cid, consent.consent_id,
                                                              local_date(datetime.now(UTC))))
    answer = hilden.call(hilden.kreis, BRIEFS, brief_request(cid))
    assert isinstance(answer, federation_pb2.GetCaseBriefsResponse)
    assert (list(answer.briefs), list(answer.unavailable_case_ids)) == ([], [cid])
    served, refused = entries(cid)
    assert served.allowed and not refused.allowed
    assert "widerrufen" in refused.detail and refused.actor_node == "kreis-mettmann"


def test_a_welfare_node_is_refused_at_the_door_and_the_refusal_is_in_the_case_audit_trail(
        hilden: HildenNode, service: CaseServices) -> None:
    cid = proposed_to_kreis(service)
    for method, request in ((BRIEFS, brief_request(cid)), ("GetFigures", case_pb2.GetFiguresRequest())):
        error = hilden.refused(hilden.caritas, method, request, acting_user="cm.caritas")
        assert error.code() == grpc.StatusCode.PERMISSION_DENIED
        assert "welfare_org" in str(error.details())
        [door] = AuditDocument.objects(call=method, actor_node="caritas-mettmann")
        assert (door.allowed, door.actor_org, door.actor_subject, door.case_id) == (
            False, STRANGER, "cm.caritas", "")
        assert door.detail.startswith("Knoten abgewiesen:")
    assert entries(cid) == [], "no case was read"
    assert service.datenschutz.verify_audit_chain(DPO).intact


def test_a_node_calling_with_another_organisations_token_is_refused(
        hilden: HildenNode, service: CaseServices) -> None:
    cid = proposed_to_kreis(service)
    error = hilden.refused(hilden.kreis, BRIEFS, brief_request(cid), token=hilden.caritas.token)
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    assert entries(cid) == []


def test_a_node_without_a_valid_token_is_refused_and_the_refusal_is_audited(
        hilden: HildenNode, service: CaseServices) -> None:
    cid = proposed_to_kreis(service)
    error = hilden.refused(hilden.kreis, BRIEFS, brief_request(cid), token="kein.gueltiges.token")
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    [door] = AuditDocument.objects(call=BRIEFS, allowed=False)
    assert door.case_id == "" and door.detail.startswith("Anmeldung abgewiesen:")
    assert entries(cid) == []


def test_nobody_gets_briefs_over_the_plain_port(
        hilden: HildenNode, service: CaseServices, case_federation: LocalFederation) -> None:
    cid = proposed_to_kreis(service)
    token = case_federation.token_for(COORDINATION, "koord.kreis")
    with grpc.insecure_channel(hilden.plain) as channel:
        stub = federation_pb2_grpc.CaseFederationStub(channel)  # type: ignore[no-untyped-call]
        with pytest.raises(grpc.RpcError) as raised:
            stub.GetCaseBriefs(brief_request(cid), metadata=[("authorization", f"Bearer {token}")],
                               timeout=15)
    assert raised.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert entries(cid) == []


@pytest.mark.parametrize(("request_", "acting_user", "field"), [
    (brief_request(), "koord.kreis", "case_ids"),
    (brief_request(*(f"case-{i}" for i in range(201))), "koord.kreis", "case_ids"),
    (brief_request("gut", "nicht gut"), "koord.kreis", "case_ids[1]"),
    (brief_request("gut"), "", "x-kim-acting-user"),
], ids=["none", "201", "bad-id", "no-acting-user"])
def test_bad_requests_are_invalid_arguments_and_read_nothing(
        hilden: HildenNode, fresh_store: None, request_: federation_pb2.GetCaseBriefsRequest,
        acting_user: str, field: str) -> None:
    error = hilden.refused(hilden.kreis, BRIEFS, request_, acting_user=acting_user)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field in violations(error)
    assert AuditDocument.objects(call=BRIEFS).count() == 0


def test_two_hundred_ids_are_answered_in_one_call(hilden: HildenNode, service: CaseServices) -> None:
    cid = proposed_to_kreis(service)
    ids = [cid, *(f"unbekannt-{i}" for i in range(199))]
    answer = hilden.call(hilden.kreis, BRIEFS, brief_request(*ids))
    assert isinstance(answer, federation_pb2.GetCaseBriefsResponse)
    assert [b.case_id for b in answer.briefs] == [cid] and len(answer.unavailable_case_ids) == 199
    assert AuditDocument.objects(call=BRIEFS).count() == 200


def test_the_kreis_node_gets_the_same_suppressed_figures_as_the_node_shows_its_own_people(
        hilden: HildenNode, service: CaseServices) -> None:
    for _ in range(5):
        proposed_to_kreis(service)
    service.fallvorschlaege.propose_case(CM, make_proposal(owner_org=OWNER, coordination_org=COORDINATION))
    figures = hilden.call(hilden.kreis, "GetFigures", case_pb2.GetFiguresRequest())
    local, version, period = service.verbund.get_figures(COORDINATOR_HILDEN)
    assert figures == contract.figures_message(local, version, period)  # the period's figures too
    assert isinstance(figures, case_pb2.Figures)
    by_status = {cell.key: cell for cell in figures.by_status.cells}
    # 1 proposed is "< 5"; so neither the total nor the largest cell (5 in review) is given.
    assert (by_status["in_review"].shown, by_status["in_review"].count) == ("x", 0)
    assert by_status["proposed"].visibility == case_pb2.FIGURE_VISIBILITY_SUPPRESSED
    assert by_status["proposed"].count == 0, "a small number does not travel"
    assert (by_status["closed"].shown, by_status["closed"].count) == ("0", 0)
    assert figures.by_status.total.visibility == case_pb2.FIGURE_VISIBILITY_WITHHELD
    [entry] = AuditDocument.objects(call="GetFigures", actor_node="kreis-mettmann")
    assert (entry.allowed, entry.case_id, entry.actor_subject, entry.detail) == (
        True, "", "koord.kreis", "Aggregierte Kennzahlen, kleine Zahlen unterdrückt")


# -- the Fallvorschlag as the Kreis node receives it ------------------------------------------------

@pytest.fixture
def proposals(case_settings: Settings) -> Iterator[Queue]:
    """A queue bound to the proposals on the session's case.events (deleted afterwards)."""
    exchange = Exchange("case.events", type="topic", durable=True)
    queue = Queue(f"case-proposals-test-{uuid.uuid4().hex[:8]}", exchange=exchange,
                  routing_key=events.event_type(events_pb2.CaseSubmittedForReview), durable=True,
                  auto_delete=False)
    with Connection(case_settings.amqp_uri) as connection:
        queue(connection.channel()).declare()
    yield queue
    with Connection(case_settings.amqp_uri) as connection:
        queue(connection.channel()).delete()


def proposal_of(settings: Settings, queue: Queue, case_id: str,
                seconds: float = 30) -> tuple[EventEnvelope, events_pb2.CaseSubmittedForReview]:
    deadline = time.monotonic() + seconds
    with Connection(settings.amqp_uri) as connection:
        bound = queue(connection.channel())
        while time.monotonic() < deadline:
            message = bound.get(no_ack=True)
            if message is None:
                time.sleep(0.1)
                continue
            envelope = EventEnvelope.FromString(message.body)
            event = events.unpack(envelope)
            if isinstance(event, events_pb2.CaseSubmittedForReview) and event.case_id == case_id:
                return envelope, event
    pytest.fail(f"no CaseSubmittedForReview of {case_id} within {seconds} s")


def test_the_proposal_event_carries_brief_consent_and_owner_node(
        case_api: CaseApi, api_process: ApiProcess, case_settings: Settings, proposals: Queue) -> None:
    cm = Caller(OWNER, "case_manager")
    case = case_api.call("ProposeCase", rq.proposal(), cm)
    recorded = case_api.call("RecordConsent", rq.conference_consent(case.case_id), cm)
    case_api.call("SubmitForReview", case_pb2.SubmitForReviewRequest(case_id=case.case_id), cm)
    envelope, event = proposal_of(case_settings, proposals, case.case_id)
    assert envelope.source_node == case_settings.node_id
    assert (event.owner_node, event.owner_org, event.coordination_org) == (
        case_settings.node_id, OWNER, COORDINATION)
    assert event.consent_id == recorded.consents[0].consent_id
    coordinator = Caller(COORDINATION, "coordinator")
    brief = case_api.call("GetCaseBrief", case_pb2.GetCaseBriefRequest(case_id=case.case_id), coordinator)
    assert event.brief == brief, "the brief the Kreis may read is the one it receives"
    assert event.brief.status_label == "in der Fallkonferenz" and event.brief.pseudonym == case.pseudonym
    [audit] = AuditDocument.objects(case_id=case.case_id, call="SubmitForReview")
    assert audit.detail == (f"Kurzinformation an {COORDINATION} übermittelt "
                            f"(Einwilligung {event.consent_id})")
    assert abs(event.occurred_at.ToDatetime(tzinfo=UTC) - datetime.now(UTC)) < timedelta(minutes=1)
