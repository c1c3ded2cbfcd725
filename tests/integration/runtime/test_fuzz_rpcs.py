"""Every rpc of every service's api, fuzzed from its protos (hypothesis) against real api
processes with real tokens of a permitted role: whatever arrives, the answer is never INTERNAL
or UNKNOWN (a crash); INVALID_ARGUMENT, NOT_FOUND, PERMISSION_DENIED, FAILED_PRECONDITION and
the like are answers. Issue 12, item 10 ("requests fuzzed per rpc from the protos").

Two api processes as `kimnetz.bootstrap` builds them, each its own node (databases, vhost):
Stadt Hilden (case, documents, identity) and Kreis Mettmann (case, conference, documents), in
the local federation on the real Keycloak. Each rpc is called as a user whose role may call
it, where the node offers one. To get past the first check, three in four generated values are
plausible for their field (tests/support/proto_fuzz.py), identifiers the nodes answered with
(a case proposed up front, Lenkungsgruppen created by the fuzzing, ...) are offered to later
rpcs, and where a valid request is known (ProposeCase, RenderDocument, RequestContracts) it is
also mutated. The budget is bounded and derandomized: a fixed number of examples per rpc, the
same ones in every run (the whole file: about 2 minutes on 2 cores). Run with -s to see the
answers per rpc. Not covered here: CaseFederation (mutual-TLS port only)."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import grpc
import pytest
from google.protobuf.descriptor import ServiceDescriptor
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass
from hypothesis import HealthCheck, given, settings, strategies as st

from kim.case.v1 import case_pb2
from kim.conference.v1 import conference_pb2
from kim.documents.v1 import documents_pb2
from kim.identity.v1 import identity_pb2
from kimnetz.bootstrap import ApiProcess, build_api_process
from kimnetz.runtime.settings import Settings
from tests.integration.case.case_requests import proposal
from tests.integration.documents.inputs import INPUTS, contract_input, rbk_allocation, struct
from tests.support import security_figures, servers
from tests.support.identity import LocalFederation, local_federation, token_for  # noqa: F401
from tests.support.proto_fuzz import messages, mutations

EXAMPLES = 20  # per rpc
FORBIDDEN = (grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN)
STADT, KREIS = "stadt-hilden", "kreis-mettmann"

SERVICES: list[ServiceDescriptor] = [
    case_pb2.DESCRIPTOR.services_by_name["CaseService"],
    conference_pb2.DESCRIPTOR.services_by_name["ConferenceService"],
    documents_pb2.DESCRIPTOR.services_by_name["DocumentsService"],
    identity_pb2.DESCRIPTOR.services_by_name["IdentityService"],
]

#: Where each rpc is called and as whom (node, organisation, user); the rest as DEFAULTS say.
DEFAULTS = {"CaseService": (STADT, STADT, "c.manager"),
            "ConferenceService": (KREIS, KREIS, "k.koordination"),
            "DocumentsService": (STADT, STADT, "r.buero"),
            "IdentityService": (STADT, STADT, "h.technik")}
CALLERS = {
    "CaseService/GetFigures": (STADT, STADT, "r.buero"),
    "CaseService/GetCaseBrief": (KREIS, KREIS, "k.koordination"),
    "CaseService/AdmitCase": (KREIS, KREIS, "k.koordination"),
    "CaseService/ReferCase": (KREIS, KREIS, "k.koordination"),
    "CaseService/RejectCase": (KREIS, KREIS, "k.koordination"),
    "CaseService/DeferCase": (KREIS, KREIS, "k.koordination"),
    "CaseService/ListAuditEntries": (KREIS, KREIS, "d.schutz"),
    "CaseService/VerifyAuditChain": (KREIS, KREIS, "d.schutz"),
    "DocumentsService/RenderConferenceProtocol": (KREIS, KREIS, "k.koordination"),
    "DocumentsService/RenderSessionProtocol": (KREIS, KREIS, "k.koordination"),
    "DocumentsService/RenderMonitoringReport": (KREIS, KREIS, "k.koordination"),
}

RPCS = [(service, method) for service in SERVICES for method in service.methods]


def seeds(key: str) -> list[Message]:
    """Valid requests of an rpc, where known, that the fuzzer mutates (besides free messages)."""
    if key == "CaseService/ProposeCase":
        return [proposal()]
    if key == "DocumentsService/RenderDocument":
        return [documents_pb2.RenderDocumentRequest(
            kind=kind, input=struct(contract_input() if kind == documents_pb2.CONTRACT else make()))
            for kind, make in INPUTS.items()]
    if key == "DocumentsService/RequestContracts":
        return [documents_pb2.RequestContractsRequest(allocation_file=struct(rbk_allocation()))]
    return []


@dataclass
class Tally:
    """Requests made and answers seen, per rpc (read by the figure at the end)."""

    requests: dict[str, int] = field(default_factory=dict)
    codes: dict[str, dict[str, int]] = field(default_factory=dict)
    clean: set[str] = field(default_factory=set)


TALLY = Tally()

#: Identifiers the nodes answered with (cases, conferences, Lenkungsgruppen, …), offered to the
#: requests of later rpcs (the order of RPCS: cases first, then what refers to them).
KNOWN: list[str] = []


def harvest(message: Message) -> None:
    """Collect the identifiers in an answer (string fields named id or *_id)."""
    for described, value in message.ListFields():
        if described.type == described.TYPE_MESSAGE:
            for item in value if described.is_repeated else [value]:
                if isinstance(item, Message):
                    harvest(item)
        elif described.type == described.TYPE_STRING and (
                described.name == "id" or described.name.endswith("_id")):
            for item in value if described.is_repeated else [value]:
                if item and item not in KNOWN and len(KNOWN) < 200:
                    KNOWN.append(item)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def nodes(node_settings: Settings, local_federation: LocalFederation) -> Iterator[dict[str, ApiProcess]]:  # noqa: F811
    realm = {"keycloak_realm": local_federation.realm,
             "api_audience": local_federation.federation.clients.api}
    stadt = node_settings.model_copy(update={
        **realm, "organization_id": STADT, "grpc_services": "case,documents,identity"})
    kreis = servers.isolated_settings().model_copy(update={
        **realm, "organization_id": KREIS, "grpc_services": "case,conference,documents",
        "grpc_port": _free_port()})  # the conference calls the case api of its own process
    servers.create_vhost(kreis)
    processes = {STADT: build_api_process(stadt, address="127.0.0.1:0"),
                 KREIS: build_api_process(kreis)}
    for process in processes.values():
        process.start()
    try:
        yield processes
    finally:
        for process in processes.values():
            process.stop(None)
        servers.drop_databases(kreis)
        servers.broker_admin(kreis).delete_vhost(kreis.node_id)


@pytest.fixture(scope="module")
def channels(nodes: dict[str, ApiProcess]) -> Iterator[dict[str, grpc.Channel]]:
    opened = {name: grpc.insecure_channel(f"127.0.0.1:{process.port}")
              for name, process in nodes.items()}
    yield opened
    for channel in opened.values():
        channel.close()


@pytest.fixture(scope="module")
def known_ids(channels: dict[str, grpc.Channel], token_for: Callable[[str, str], str]) -> tuple[str, ...]:  # noqa: F811
    """Identifiers that exist, mixed into the generated texts: a case proposed by the Stadt."""
    stub = channels[STADT].unary_unary("/kim.case.v1.CaseService/ProposeCase",
                                       request_serializer=case_pb2.ProposeCaseRequest.SerializeToString,
                                       response_deserializer=case_pb2.Case.FromString)
    case = stub(proposal(), metadata=[("authorization", f"Bearer {token_for(STADT, 'c.manager')}")],
                timeout=30)
    KNOWN.append(case.case_id)
    return (case.case_id,)


@pytest.mark.parametrize(("service", "method"), RPCS,
                         ids=[f"{s.name}.{m.name}" for s, m in RPCS])
def test_no_request_makes_an_rpc_fail_internally(
        service: ServiceDescriptor, method: Any, channels: dict[str, grpc.Channel],
        token_for: Callable[[str, str], str], known_ids: tuple[str, ...]) -> None:  # noqa: F811
    key = f"{service.name}/{method.name}"
    node, organization, user = CALLERS.get(key, DEFAULTS[service.name])
    request_class = GetMessageClass(method.input_type)
    response_class = GetMessageClass(method.output_type)
    call = channels[node].unary_unary(f"/{service.full_name}/{method.name}",
                                      request_serializer=lambda m: m.SerializeToString(),
                                      response_deserializer=response_class.FromString)
    token = token_for(organization, user)
    crashes: list[str] = []

    known = tuple(KNOWN) or known_ids
    strategy = st.one_of(messages(request_class, known),
                         *(mutations(seed, known) for seed in seeds(key)))

    @settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(request=strategy, _=st.just(None))
    def fuzz(request: Message, _: None) -> None:
        TALLY.requests[key] = TALLY.requests.get(key, 0) + 1
        try:
            harvest(call(request, metadata=[("authorization", f"Bearer {token}")], timeout=60))
            code = grpc.StatusCode.OK
        except grpc.RpcError as error:
            code = error.code()
            if code in FORBIDDEN:
                crashes.append(f"{code.name}: {error.details()} <- {request!r:.800}")
        TALLY.codes.setdefault(key, {}).setdefault(code.name, 0)
        TALLY.codes[key][code.name] += 1
        assert code not in FORBIDDEN, crashes[-1]

    fuzz()
    assert crashes == []
    TALLY.clean.add(key)


def test_the_figure_of_the_fuzzing_is_recorded() -> None:
    every = {f"{s.name}/{m.name}" for s, m in RPCS}
    assert TALLY.clean == every, f"rpcs not fuzzed cleanly: {sorted(every - TALLY.clean)}"
    requests = sum(TALLY.requests.values())
    assert requests >= EXAMPLES * len(every) // 2
    answered = sorted({code for codes in TALLY.codes.values() for code in codes})
    for key in sorted(TALLY.codes):  # shown with -s: how deep the requests got, per rpc
        print(key, TALLY.codes[key])
    security_figures.record(
        "fuzz", "Anfragen je rpc aus den protos gefuzzt (hypothesis)",
        f"0 INTERNAL bei {requests} Anfragen über {len(every)} rpcs",
        f"{', '.join(s.name for s in SERVICES)}: Nachrichten aus den Deskriptoren (Texte mit "
        "Steuerzeichen und Überlänge, extreme und negative Zahlen, unbekannte Enum-Werte, "
        f"verschachtelte und wiederholte Felder), {EXAMPLES} je rpc derandomisiert, gegen echte "
        f"api-Prozesse mit echten Tokens einer berechtigten Rolle; Antworten: {', '.join(answered)}")
