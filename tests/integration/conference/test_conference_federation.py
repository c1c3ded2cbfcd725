"""The Kreis' conference in the federation: Fallvorschläge of other nodes registered by the real
worker, the agenda with fresh briefs from the owning nodes over mutual TLS, unreachable nodes
named, withdrawn cases taken off, decisions addressed to the owning node, and the erasure on a
revoked consent confirmed once.

Real: FerretDB, RabbitMQ (the session's vhost), Keycloak tokens, the Kreis' api process (case and
conference; its relay publishes the conference's outboxes), `kim node worker` with the conference
worker, and gRPC with mutual TLS between the Kreis' `FederationClient` and a peer node.

The peer node is a small CaseFederation servicer written here (a test double of a Stadt node on
its own mutual-TLS port, with certificates of a test CA): it answers briefs of the cases it
releases and names the others unavailable, and records who asked. The real owning nodes come
with the e2e tests. The conference servicer under test is the node's own `registration`, with a
`FederationClient` whose directory is fixed here (the real directory belongs to identity).
"""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent import futures
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import grpc
import pytest

from kim.case.v1 import (
    case_pb2,
    events_pb2 as case_events,
    federation_pb2,
    federation_pb2_grpc,
    types_pb2 as C,
)
from kim.common.v1.event_pb2 import EventEnvelope
from kim.conference.v1 import conference_pb2 as pb, events_pb2 as ev, types_pb2 as T
from kimnetz.runtime import events
from kimnetz.runtime.amqp import Publisher
from kimnetz.runtime.auth import TokenValidator
from kimnetz.runtime.federation import ACTING_USER_HEADER, FederationClient, FederationNode
from kimnetz.runtime.grpc_server import build_server, mutual_tls
from kimnetz.runtime.pki import DevCertificateAuthority, NodeCredentials
from kimnetz.runtime.settings import Settings
from services.conference.api import registration
from services.conference.repository import MongoConferenceRepository
from tests.integration.conference.conftest import (
    HILDEN,
    KREIS,
    Api,
    Caller,
    EventTap,
    _purge_left_over_events,
)
from tests.integration.conference.requests import conference, day, proposal
from tests.support import servers, signing
from tests.support.identity import LocalFederation
from tests.support.waiting import wait_until

KOORD = Caller(KREIS, "coordinator")
CM = Caller(KREIS, "case_manager")
CARITAS = "caritas-mettmann"
KREIS_SERVICE_TOKEN = "service-account-token-of-the-kreis"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ---------------------------------------------------------------- the peer node (test double)


@dataclass
class Asked:
    peer: str
    acting_user: str
    token: str
    purpose: str
    case_ids: list[str]


@dataclass
class StadtNode(federation_pb2_grpc.CaseFederationServicer):
    """What a Stadt node's CaseFederation answers: the briefs of the cases it releases."""

    released: dict[str, case_pb2.CaseBrief] = field(default_factory=dict)
    asked: list[Asked] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def GetCaseBriefs(
        self, request: federation_pb2.GetCaseBriefsRequest, context: grpc.ServicerContext
    ) -> federation_pb2.GetCaseBriefsResponse:
        metadata = dict(context.invocation_metadata() or ())
        common_name = context.auth_context().get("x509_common_name", [b""])[0].decode()
        with self.lock:
            self.asked.append(Asked(common_name, str(metadata.get(ACTING_USER_HEADER, "")),
                                    str(metadata.get("authorization", "")), request.purpose,
                                    list(request.case_ids)))
            briefs = [self.released[c] for c in request.case_ids if c in self.released]
        return federation_pb2.GetCaseBriefsResponse(
            briefs=briefs, unavailable_case_ids=[c for c in request.case_ids if c not in self.released]
        )

    def asked_for(self, case_id: str) -> list[Asked]:
        with self.lock:
            return [a for a in self.asked if case_id in a.case_ids]


@dataclass(frozen=True)
class Federation:
    stadt: StadtNode
    stadt_node: str
    stadt_endpoint: str
    down_node: str  # in the directory, nothing listens on its port
    unknown_node: str  # not (or no longer) in the directory
    kreis_credentials: NodeCredentials
    stadt_fingerprint: str  # of the certificate the Stadt's port presents (the directory's pin)


@pytest.fixture(scope="module")
def federation(kreis_settings: Settings) -> Iterator[Federation]:
    """A Stadt node on its own mutual-TLS port; its certificate and the Kreis' from one test CA."""
    ca = DevCertificateAuthority.create("KIM-Netz Test-CA Fallkonferenz")
    suffix = uuid.uuid4().hex[:8]
    stadt_node = f"stadt-hilden-{suffix}"
    stadt = StadtNode()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    federation_pb2_grpc.add_CaseFederationServicer_to_server(stadt, server)  # type: ignore[no-untyped-call]
    stadt_credentials = ca.issue(stadt_node)
    port = server.add_secure_port("127.0.0.1:0", mutual_tls(stadt_credentials))
    server.start()
    try:
        yield Federation(stadt, stadt_node, f"127.0.0.1:{port}", f"caritas-{suffix}",
                         f"unbekannt-{suffix}", ca.issue(kreis_settings.node_id),
                         stadt_credentials.fingerprint)
    finally:
        server.stop(None)


@pytest.fixture(scope="module")
def conference_api(
    kreis_settings: Settings, federation: Federation, api_process: Any,
    conference_federation: LocalFederation,
) -> Iterator[Api]:
    """The Kreis' ConferenceService as its api process builds it (`registration`), with a
    FederationClient whose directory lists the Stadt node and a Caritas node that is down. Local
    briefs come from the module's api process (case service), whose relay also publishes the
    conference's events."""
    directory = [
        FederationNode(kreis_settings.node_id, KREIS, "district", "127.0.0.1:1",
                       certificate_fingerprints=(federation.kreis_credentials.fingerprint,)),
        FederationNode(federation.stadt_node, HILDEN, "municipality", federation.stadt_endpoint,
                       certificate_fingerprints=(federation.stadt_fingerprint,)),
        FederationNode(federation.down_node, CARITAS, "welfare_org", f"127.0.0.1:{_free_port()}",
                       certificate_fingerprints=("0" * 64,)),
    ]
    client = FederationClient(
        node_id=kreis_settings.node_id, organization=KREIS, credentials=federation.kreis_credentials,
        token=lambda: KREIS_SERVICE_TOKEN, directory=lambda: list(directory),
    )
    validator = TokenValidator(kreis_settings.issuer, kreis_settings.api_audience)
    server, port, _ = build_server(
        [registration(kreis_settings, federation=client)], address="127.0.0.1:0", validator=validator,
        max_workers=4,
    )
    server.start()
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    try:
        yield Api(channel, lambda c: conference_federation.token_for(c.organization, c.username))
    finally:
        channel.close()
        server.stop(None)
        client.close()


@pytest.fixture(scope="module")
def worker(
    kreis_settings: Settings, api_process: Any, federation: Federation,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Path]:
    """`kim node worker` with the conference worker of the Kreis' node (registry and erasure).
    The proposing nodes are in its directory snapshot (the unknown node was, when it proposed:
    the agenda's directory no longer lists it), so their signed events are believed."""
    log = tmp_path_factory.mktemp("federation-worker") / "worker.log"
    _purge_left_over_events(kreis_settings)
    signing.trust(kreis_settings, {federation.stadt_node: (HILDEN, "municipality"),
                                   federation.down_node: (CARITAS, "welfare_org"),
                                   federation.unknown_node: (CARITAS, "welfare_org")})
    extra = {"KIM_GRPC_SERVICES": "conference", "KIM_ORGANIZATION_ID": KREIS}
    with servers.running_worker(kreis_settings, log, {"CaseSubmittedForReview": 1, "ConsentRevoked": 1,
                                                      "CaseErased": 1},
                                extra):
        yield log


@pytest.fixture
def repository(conference_db: Settings) -> MongoConferenceRepository:
    return MongoConferenceRepository(conference_db.node_id)


# ---------------------------------------------------------------- helpers


def brief_of(case_id: str, pseudonym: str, **fields: Any) -> case_pb2.CaseBrief:
    values: dict[str, Any] = dict(
        case_id=case_id, pseudonym=pseudonym, status=C.CASE_STATUS_IN_REVIEW, owner_org=HILDEN,
        zielgruppen_version=1, zielgruppe="geduldete_gestattete_ueber_27",
        handlungsfelder=[C.HANDLUNGSFELD_AUSBILDUNG], rechtskreise=[C.RECHTSKREIS_AUFENTHG],
        age_band="28 bis 39",
    )
    values.update(fields)
    return case_pb2.CaseBrief(**values)


def submitted_event(case_id: str, owner_node: str, *, owner_org: str = HILDEN,
                    coordination_org: str = KREIS, consent_id: str = "") -> EventEnvelope:
    pseudonym = f"KIM-{case_id[:6].upper()}"
    message = case_events.CaseSubmittedForReview(
        case_id=case_id, pseudonym=pseudonym, owner_org=owner_org, coordination_org=coordination_org,
        conference_orgs=[coordination_org], owner_node=owner_node,
        consent_id=consent_id or f"consent-{case_id[:8]}", brief=brief_of(case_id, pseudonym),
    )
    message.occurred_at.FromDatetime(datetime.now(UTC))
    return events.pack(message, source_service="case", source_node=owner_node)


def publish(settings: Settings, *envelopes: EventEnvelope) -> None:
    with Publisher(settings.amqp_uri) as publisher:
        for envelope in envelopes:
            publisher.publish(events.exchange_name("case"), envelope.type,
                              signing.signed_body(envelope), envelope.id)


def new_case() -> str:
    return str(uuid.uuid4())


def worker_says(worker: Path, text: str) -> bool:
    return text in worker.read_text()


def register(settings: Settings, worker: Path, *envelopes: EventEnvelope) -> None:
    """Publish Fallvorschläge as their nodes do and wait until the worker handled each."""
    publish(settings, *envelopes)
    for envelope in envelopes:
        wait_until(lambda e=envelope: worker_says(worker, f"proposal {e.id} of case"),  # type: ignore[misc]
                   what=f"proposal {envelope.id} handled\n{worker.read_text()[-3000:]}")


def schedule(api: Api, days: int = 100) -> str:
    request = conference([("koord.kreis", T.PARTICIPANT_ROLE_COORDINATOR, KREIS)], days=days)
    return str(api.call("ScheduleConference", request, KOORD).conference_id)


def case_id_of(envelope: EventEnvelope) -> str:
    return str(events.unpack(envelope).case_id)  # type: ignore[attr-defined]


# ---------------------------------------------------------------- registry (worker)


def test_a_proposal_is_registered_once_and_only_for_this_koordinierende_stelle(
    worker: Path, kreis_settings: Settings, repository: MongoConferenceRepository, federation: Federation
) -> None:
    mine, theirs = new_case(), new_case()
    envelope = submitted_event(mine, federation.stadt_node)
    # The same envelope again (lost acknowledgement), and the same submission in a new envelope
    # (the owner's relay sent it twice), and a proposal to another Kreis.
    again = EventEnvelope()
    again.CopyFrom(envelope)
    resent = events.pack(events.unpack(envelope), source_service="case", source_node=federation.stadt_node)
    other = submitted_event(theirs, federation.stadt_node, coordination_org="kreis-viersen")
    publish(kreis_settings, envelope, again, resent, other)

    wait_until(lambda: worker_says(worker, f"proposal {other.id} of case {theirs} is for kreis-viersen"),
               what=f"the foreign proposal handled\n{worker.read_text()[-3000:]}")
    wait_until(lambda: worker.read_text().count(f"of case {mine} already registered") >= 2,
               what=f"both repetitions handled\n{worker.read_text()[-3000:]}")
    assert worker.read_text().count(f"of case {mine} registered") == 1
    [registered] = repository.proposals_of_case(mine)
    message = events.unpack(envelope)
    assert (registered.owner_node, registered.owner_org, registered.coordination_org, registered.pseudonym,
            registered.consent_id, registered.zielgruppe, registered.age_band.value if registered.age_band
            else None) == (
        federation.stadt_node, HILDEN, KREIS, message.pseudonym, message.consent_id,  # type: ignore[attr-defined]
        "geduldete_gestattete_ueber_27", "28_39")
    submitted = message.occurred_at.ToDatetime(tzinfo=UTC)  # type: ignore[attr-defined]
    assert registered.submitted_at == submitted.replace(microsecond=submitted.microsecond // 1000 * 1000)
    assert repository.proposals_of_case(theirs) == []


# ---------------------------------------------------------------- agenda with remote briefs


def test_agenda_takes_fresh_remote_briefs_names_unreachable_nodes_and_decides_for_the_owner(
    worker: Path, kreis_settings: Settings, conference_api: Api, api: Api, federation: Federation,
    conference_events: EventTap,
) -> None:
    stadt = federation.stadt
    released, revoked, at_caritas, unknown = new_case(), new_case(), new_case(), new_case()
    stadt.released[released] = brief_of(released, "KIM-STADT1", zielgruppe="umf")
    proposals = [
        submitted_event(released, federation.stadt_node),
        submitted_event(revoked, federation.stadt_node),
        submitted_event(at_caritas, federation.down_node, owner_org=CARITAS),
        submitted_event(unknown, federation.unknown_node, owner_org=CARITAS),
    ]
    register(kreis_settings, worker, *proposals)
    # A Fallvorschlag of the Kreis' own case management: listed by its own case service as before.
    local = str(api.case_call("ProposeCase", proposal(), CM).case_id)
    api.case_call("SubmitForReview", case_pb2.SubmitForReviewRequest(case_id=local), CM)

    cid = schedule(conference_api)
    started = time.monotonic()
    built = conference_api.call("BuildAgenda", pb.BuildAgendaRequest(conference_id=cid), KOORD)
    took = time.monotonic() - started

    assert {local, released} <= set(built.added_case_ids)
    assert not {revoked, at_caritas, unknown} & set(built.added_case_ids)
    items = {i.brief.case_id: i for i in built.conference.agenda}
    remote = items[released].brief
    assert (remote.owner_node, remote.owner_org, remote.pseudonym, remote.zielgruppe, remote.coordination_org,
            remote.proposed_on) == (federation.stadt_node, HILDEN, "KIM-STADT1", "umf", KREIS,
                                    day(datetime.now(UTC).date()))
    assert items[local].brief.owner_node == kreis_settings.node_id
    skipped = {s.case_id: s.reason for s in built.skipped}
    assert "nicht mehr frei" in skipped[revoked] and federation.stadt_node in skipped[revoked]
    unreachable = {u.node_id: u for u in built.unreachable_nodes}
    assert set(unreachable) >= {federation.down_node, federation.unknown_node}
    down = unreachable[federation.down_node]
    assert (list(down.case_ids), list(down.pseudonyms), down.organisation) == (
        [at_caritas], [f"KIM-{at_caritas[:6].upper()}"], CARITAS)
    assert "nicht erreichbar" in down.reason
    assert "nicht (oder nicht mehr) freigegeben" in unreachable[federation.unknown_node].reason
    assert took < 10, f"an unreachable node held the agenda up for {took:.1f} s"

    # One call to the Stadt node for both its proposals, as the Kreis, for the coordinator.
    # (Proposals of the Stadt node from earlier tests of this module come along in the same call.)
    [asked] = stadt.asked_for(released)
    assert {released, revoked} <= set(asked.case_ids) and len(stadt.asked) == 1
    assert (asked.peer, asked.acting_user, asked.token, asked.purpose) == (
        kreis_settings.node_id, "koord.kreis", f"Bearer {KREIS_SERVICE_TOKEN}", "Fallkonferenz")
    assert not any(local in a.case_ids for a in stadt.asked)  # the Kreis' own case stays local

    # RefreshBrief asks the owning node again.
    stadt.released[released] = brief_of(released, "KIM-STADT1", zielgruppe="frauen_beratung")
    refreshed = conference_api.call(
        "RefreshBrief", pb.RefreshBriefRequest(conference_id=cid, case_id=released), KOORD)
    [item] = [i for i in refreshed.agenda if i.brief.case_id == released]
    assert item.brief.zielgruppe == "frauen_beratung"
    assert len(stadt.asked_for(released)) == 2

    # The decision names the owning node: the Stadt node's case worker applies it.
    conference_api.call("StartConference", pb.StartConferenceRequest(conference_id=cid), KOORD)
    conference_api.call("DecideItem", pb.DecideItemRequest(
        conference_id=cid, case_id=released,
        decision=pb.Decision(rejection=pb.Rejection(reason="Kein Bedarf an Rechtskreisabstimmung"))), KOORD)
    rejection = events.event_type(ev.CaseRejectionDecided)

    def decided(got: list[Any]) -> list[Any]:
        return [m for e in got if e.type == rejection
                and (m := events.unpack(e)).context.case_id == released]  # type: ignore[attr-defined]

    [decision] = decided(conference_events.drain(settle_seconds=1, until=lambda got: bool(decided(got))))
    assert (decision.context.owner_node, decision.context.owner_org, decision.context.pseudonym) == (
        federation.stadt_node, HILDEN, "KIM-STADT1")

    # The next agenda: the decided proposal is not asked for again; the unreachable ones still wait.
    later = conference_api.call("BuildAgenda", pb.BuildAgendaRequest(conference_id=schedule(conference_api)),
                                KOORD)
    assert len(stadt.asked_for(released)) == 2
    assert at_caritas in {c for u in later.unreachable_nodes for c in u.case_ids}


# ---------------------------------------------------------------- erasure


def test_a_revoked_consent_erases_the_proposal_and_open_briefs_keeps_the_closed_record_and_confirms_once(
    worker: Path, kreis_settings: Settings, conference_api: Api, federation: Federation,
    conference_events: EventTap, repository: MongoConferenceRepository,
) -> None:
    case_id, consent_id = new_case(), f"consent-{uuid.uuid4().hex[:8]}"
    federation.stadt.released[case_id] = brief_of(case_id, "KIM-ERASE")
    register(kreis_settings, worker, submitted_event(case_id, federation.stadt_node, consent_id=consent_id))
    # Conference 1 decided about the case and closed (the frozen record); conference 2, prepared
    # later for a second submission of the case, still has it on its agenda.
    closed = schedule(conference_api, days=50)
    conference_api.call("BuildAgenda", pb.BuildAgendaRequest(conference_id=closed), KOORD)
    conference_api.call("StartConference", pb.StartConferenceRequest(conference_id=closed), KOORD)
    conference_api.call("DecideItem", pb.DecideItemRequest(
        conference_id=closed, case_id=case_id,
        decision=pb.Decision(deferral=pb.Deferral(reason="Unterlagen der ABH fehlen"))), KOORD)
    conference_api.call("CloseConference", pb.CloseConferenceRequest(conference_id=closed), KOORD)
    register(kreis_settings, worker, submitted_event(case_id, federation.stadt_node, consent_id=consent_id))
    prepared = schedule(conference_api, days=60)
    built = conference_api.call("BuildAgenda", pb.BuildAgendaRequest(conference_id=prepared), KOORD)
    assert case_id in built.added_case_ids
    assert len(repository.proposals_of_case(case_id)) == 2

    revocation = case_events.ConsentRevoked(
        case_id=case_id, pseudonym="KIM-ERASE", owner_org=HILDEN, consent_id=consent_id,
        recipient_org=KREIS, revoked_on=C.Date(year=2026, month=11, day=21))
    envelope = events.pack(revocation, source_service="case", source_node=federation.stadt_node)
    again = EventEnvelope()
    again.CopyFrom(envelope)
    resent = events.pack(revocation, source_service="case", source_node=federation.stadt_node)
    elsewhere = events.pack(case_events.ConsentRevoked(
        case_id=case_id, pseudonym="KIM-ERASE", owner_org=HILDEN, consent_id="consent-jobcenter",
        recipient_org="jobcenter-mettmann"), source_service="case", source_node=federation.stadt_node)
    publish(kreis_settings, elsewhere, envelope)
    wait_until(lambda: worker_says(worker, f"erase request {envelope.id} for case {case_id} erased"),
               what=f"the erasure\n{worker.read_text()[-3000:]}")
    publish(kreis_settings, again, resent)
    for repeated in (again, resent):
        wait_until(lambda r=repeated: worker_says(worker, f"erase request {r.id} for case {case_id} already"),  # type: ignore[misc]
                   what=f"the repeated request handled\n{worker.read_text()[-3000:]}")

    erased = events.event_type(ev.CaseDataErased)

    def confirmations(got: list[Any]) -> list[Any]:
        return [m for e in got if e.type == erased
                and (m := events.unpack(e)).case_id == case_id]  # type: ignore[attr-defined]

    received = conference_events.drain(settle_seconds=3, until=lambda got: bool(confirmations(got)))
    [confirmation] = confirmations(received)
    assert (confirmation.owner_node, confirmation.owner_org, confirmation.consent_id, confirmation.pseudonym,
            confirmation.erased_by_node, confirmation.erased_by_org) == (
        federation.stadt_node, HILDEN, consent_id, "KIM-ERASE", kreis_settings.node_id, KREIS)
    assert confirmation.summary == (
        "2 Fallvorschläge und 1 Kurzinformation gelöscht; im Protokoll einer abgeschlossenen "
        "Fallkonferenz bleibt der Fall mit Pseudonym und Entscheidung unverändert.")

    assert repository.proposals_of_case(case_id) == []
    open_agenda = conference_api.call("GetConference", pb.GetConferenceRequest(conference_id=prepared), KOORD)
    assert case_id not in {i.brief.case_id for i in open_agenda.agenda}
    record = conference_api.call("GetConference", pb.GetConferenceRequest(conference_id=closed), KOORD)
    [kept] = [i for i in record.agenda if i.brief.case_id == case_id]
    assert (kept.brief.pseudonym, kept.brief.zielgruppe, kept.decision.WhichOneof("kind")) == (
        "KIM-ERASE", "geduldete_gestattete_ueber_27", "deferral")

    # A proposal under the revoked consent that arrives late is not registered again.
    late = submitted_event(case_id, federation.stadt_node, consent_id=consent_id)
    register(kreis_settings, worker, late)
    assert worker_says(worker, f"proposal {late.id} of case {case_id} consent revoked")
    assert repository.proposals_of_case(case_id) == []


def test_a_retention_deletion_on_the_owning_node_erases_the_registry_entry_and_confirms_once(
    worker: Path, kreis_settings: Settings, conference_api: Api, federation: Federation,
    conference_events: EventTap, repository: MongoConferenceRepository,
) -> None:
    case_id = new_case()
    federation.stadt.released[case_id] = brief_of(case_id, "KIM-LOESCH")
    register(kreis_settings, worker, submitted_event(case_id, federation.stadt_node))
    prepared = schedule(conference_api, days=70)
    built = conference_api.call("BuildAgenda", pb.BuildAgendaRequest(conference_id=prepared), KOORD)
    assert case_id in built.added_case_ids and len(repository.proposals_of_case(case_id)) == 1

    retention = case_events.CaseErased(case_id=case_id, pseudonym="KIM-LOESCH", owner_org=HILDEN,
                                       recipient_orgs=[KREIS], mode="delete")
    envelope = events.pack(retention, source_service="case", source_node=federation.stadt_node)
    not_ours = events.pack(case_events.CaseErased(
        case_id=case_id, pseudonym="KIM-LOESCH", owner_org=HILDEN, recipient_orgs=["jobcenter-mettmann"],
        mode="delete"), source_service="case", source_node=federation.stadt_node)
    publish(kreis_settings, not_ours, envelope)
    said = f"retention erase request {envelope.id} for case {case_id}"
    wait_until(lambda: worker_says(worker, f"{said} erased"),
               what=f"the erasure\n{worker.read_text()[-3000:]}")
    publish(kreis_settings, envelope)
    wait_until(lambda: worker_says(worker, f"{said} already"),
               what=f"the redelivery handled\n{worker.read_text()[-3000:]}")

    erased = events.event_type(ev.CaseDataErased)

    def confirmations(got: list[Any]) -> list[Any]:
        return [m for e in got if e.type == erased
                and (m := events.unpack(e)).case_id == case_id]  # type: ignore[attr-defined]

    received = conference_events.drain(settle_seconds=3, until=lambda got: bool(confirmations(got)))
    [confirmation] = confirmations(received)
    assert (confirmation.owner_node, confirmation.consent_id, confirmation.erased_by_org) == (
        federation.stadt_node, "", KREIS)
    assert repository.proposals_of_case(case_id) == []
    agenda = conference_api.call("GetConference", pb.GetConferenceRequest(conference_id=prepared), KOORD)
    assert case_id not in {i.brief.case_id for i in agenda.agenda}
