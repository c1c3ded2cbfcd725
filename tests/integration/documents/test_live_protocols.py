"""Protokolle from live data over real gRPC with real tokens: one api process of the Kreis' node
serves case, conference AND documents (the documents api reads the conference api of its own
process, as `conference_api_target` empty says), FerretDB, RabbitMQ and Keycloak are real.

A Fallkonferenz is scheduled, its agenda built from the case service, decided and closed through
the conference api; then the coordinator renders its Protokoll through the documents api. The same
for a Lenkungsgruppe session's Beschlussprotokoll. Refused: a conference or session not yet
closed (FAILED_PRECONDITION, German), a foreign organisation's coordinator (the conference service
decides: PERMISSION_DENIED), and a person's identity never reaches the document.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf.message import Message

from kim.case.v1 import case_pb2, case_pb2_grpc
from kim.common.v1.types_pb2 import Date
from kim.conference.v1 import conference_pb2 as cpb, conference_pb2_grpc, types_pb2 as T
from kim.documents.v1 import documents_pb2 as pb, documents_pb2_grpc
from kimnetz.bootstrap import ApiProcess, build_api_process
from kimnetz.runtime.settings import Settings
from services.documents import pdf
from tests.integration.conference.requests import (
    conference,
    general_vorlage,
    in_days,
    proposal,
    stamp,
)
from tests.support.grpc_calls import refusal
from tests.support.identity import LocalFederation
from tests.unit.documents.documents_factories import body_text, open_docx

KREIS = "kreis-mettmann"
HILDEN = "stadt-hilden"
KOORD = (KREIS, "koord.kreis")
CM = (KREIS, "cm.kreis")
LENKUNG = (KREIS, "lenkung.kreis")
KOORD_HILDEN = (HILDEN, "koord.hilden")
CLERK = (KREIS, "buero.kreis")


@pytest.fixture(scope="module")
def federation() -> Iterator[LocalFederation]:
    started = LocalFederation.start(Path(__file__).with_name("federation.yaml"))
    try:
        yield started
    finally:
        started.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def node(node_settings: Settings, federation: LocalFederation) -> Iterator[ApiProcess]:
    settings = node_settings.model_copy(update={
        "organization_id": KREIS,
        "grpc_services": "case,conference,documents",
        "grpc_port": _free_port(),  # known, since conference and documents call this process
        "keycloak_realm": federation.realm,
        "api_audience": federation.federation.clients.api,
        "outbox_sweep_seconds": 0.5,
    })
    process = build_api_process(settings)
    process.start()
    yield process
    process.stop()


@dataclass
class Node:
    channel: grpc.Channel
    token: Callable[[str, str], str]

    def call(self, service: str, method: str, request: Message, as_user: tuple[str, str]) -> Any:
        stubs = {"case": case_pb2_grpc.CaseServiceStub,
                 "conference": conference_pb2_grpc.ConferenceServiceStub,
                 "documents": documents_pb2_grpc.DocumentsServiceStub}
        stub = stubs[service](self.channel)
        metadata = (("authorization", f"Bearer {self.token(*as_user)}"),)
        return getattr(stub, method)(request, metadata=metadata, timeout=30)

    def fails(self, service: str, method: str, request: Message, as_user: tuple[str, str]) -> grpc.RpcError:
        return refusal(lambda: self.call(service, method, request, as_user), f"{method} as {as_user}")


@pytest.fixture(scope="module")
def api(node: ApiProcess, federation: LocalFederation) -> Iterator[Node]:
    channel = grpc.insecure_channel(f"127.0.0.1:{node.port}")
    yield Node(channel, federation.token_for)
    channel.close()


def converts_to_pdf_a(content: bytes, tmp_path: Path, name: str) -> None:
    if not pdf.available():
        pytest.fail("LibreOffice (soffice) is not installed, but the test set-up installs it: "
                    "run `scripts/infra.sh tools`", pytrace=False)
    source = tmp_path / f"{name}.docx"
    source.write_bytes(content)
    (converted,) = pdf.convert_to_pdf([source], tmp_path)
    data = converted.read_bytes()
    assert data.startswith(b"%PDF-") and b"pdfaid:part" in data


def test_the_protokoll_of_a_closed_fallkonferenz_from_the_conference_service(
        api: Node, tmp_path: Path) -> None:
    cases = [api.call("case", "ProposeCase", proposal(), CM).case_id for _ in range(2)]
    for case_id in cases:  # submitted: the agenda takes (and the case service decides) no other
        api.call("case", "SubmitForReview", case_pb2.SubmitForReviewRequest(case_id=case_id), CM)
    cid = api.call("conference", "ScheduleConference", conference([
        ("koord.kreis", T.PARTICIPANT_ROLE_COORDINATOR, KREIS),
        ("cm.kreis", T.PARTICIPANT_ROLE_CASE_MANAGER, KREIS),
        ("lotse.kreis", T.PARTICIPANT_ROLE_IMMIGRATION_LIAISON, KREIS),
    ]), KOORD).conference_id
    built = api.call("conference", "BuildAgenda", cpb.BuildAgendaRequest(conference_id=cid), KOORD)
    pseudonyms = {i.brief.case_id: i.brief.pseudonym for i in built.conference.agenda}
    assert set(cases) <= set(pseudonyms)
    render = pb.RenderConferenceProtocolRequest(
        conference_id=cid, coordination_office="Kreis Mettmann – Kommunales Integrationszentrum",
        next_date=Date(year=2026, month=12, day=10))

    early = api.fails("documents", "RenderConferenceProtocol", render, KOORD)
    assert early.code() is grpc.StatusCode.FAILED_PRECONDITION
    assert "noch nicht abgeschlossen" in early.details()

    api.call("conference", "StartConference", cpb.StartConferenceRequest(conference_id=cid), KOORD)
    decisions = {
        cases[0]: cpb.Decision(admission=cpb.Admission(assigned_org=KREIS, case_manager="cm.kreis")),
        cases[1]: cpb.Decision(referral=cpb.Referral(target=T.REFERRAL_TARGET_MBE,
                                                     reason="Ein Handlungsfeld, Regelangebot genügt.")),
    }
    for case_id, decision in decisions.items():
        api.call("conference", "DecideItem",
                 cpb.DecideItemRequest(conference_id=cid, case_id=case_id, decision=decision), KOORD)
    api.call("conference", "CloseConference", cpb.CloseConferenceRequest(conference_id=cid), KOORD)

    rendered = api.call("documents", "RenderConferenceProtocol", render, KOORD)
    info = rendered.document
    assert info.kind == pb.FALLKONFERENZ_PROTOKOLL and info.organization == KREIS
    assert info.generated_by_username == "koord.kreis" and info.template_version == 0
    text = body_text(open_docx(rendered.content))
    for expected in (pseudonyms[cases[0]], pseudonyms[cases[1]], "Aufnahme ins Case Management",
                     "Case Management: cm.kreis", "Verweisberatung",
                     "Migrationsberatung für Erwachsene (MBE)",
                     "Regelangebot genügt", "koord.kreis", "cm.kreis", "lotse.kreis",
                     "Kreis Mettmann – Kommunales Integrationszentrum", "10.12.2026", "28 bis 39 Jahre"):
        assert expected in text, expected
    person = proposal().person
    for identity in (person.given_name, person.family_name):
        assert identity not in text  # pseudonyms only, never the person

    stored = api.call("documents", "GetDocument", pb.GetDocumentRequest(document_id=info.document_id), KOORD)
    assert stored.content == rendered.content and stored.document.sha256 == info.sha256
    stored_items = json.loads(stored.input_json)["items"]
    assert {i["pseudonym"] for i in stored_items} == {pseudonyms[c] for c in cases}  # agenda order
    converts_to_pdf_a(rendered.content, tmp_path, "fallkonferenz")

    foreign = api.fails("documents", "RenderConferenceProtocol", render, KOORD_HILDEN)
    assert foreign.code() is grpc.StatusCode.PERMISSION_DENIED
    clerk = api.fails("documents", "RenderConferenceProtocol", render, CLERK)
    assert clerk.code() is grpc.StatusCode.PERMISSION_DENIED
    mine = api.call("documents", "ListDocuments",
                    pb.ListDocumentsRequest(kind=pb.FALLKONFERENZ_PROTOKOLL), KOORD)
    assert [d.document_id for d in mine.documents].count(info.document_id) == 1


def test_the_beschlussprotokoll_of_a_closed_session_with_its_beschlussverfolgung(
        api: Node, tmp_path: Path) -> None:
    gid = api.call("conference", "CreateLenkungsgruppe",
                   cpb.CreateLenkungsgruppeRequest(name="Lenkungsgruppe KIM Kreis Mettmann"),
                   KOORD).gremium_id
    for person, name, function in (("lenkung.kreis", "Lena Lenkung", "Dezernentin"),
                                   ("jc.leitung", "Leitung Jobcenter", "Geschäftsführung Jobcenter"),
                                   ("abh.leitung", "Leitung ABH", "Leitung Ausländerbehörde")):
        api.call("conference", "AddMember", cpb.AddMemberRequest(gremium_id=gid, member=cpb.Member(
            person=person, name=name, organisation=KREIS, function=function, voting=True)), KOORD)
    sid = api.call("conference", "ScheduleSession", cpb.ScheduleSessionRequest(
        gremium_id=gid, starts_at=stamp(in_days(1)), place="Kreishaus Mettmann"), KOORD).session_id
    vorlage = api.call("conference", "SubmitVorlage", cpb.SubmitVorlageRequest(
        session_id=sid, vorlage=general_vorlage()), KOORD).items[0].vorlage.vorlage_id
    api.call("conference", "OpenSession",
             cpb.OpenSessionRequest(session_id=sid, present=["lenkung.kreis", "jc.leitung"]), KOORD)
    api.call("conference", "CastVote", cpb.CastVoteRequest(
        session_id=sid, vorlage_id=vorlage, choice=T.VOTE_CHOICE_YES), LENKUNG)
    result = api.call("conference", "DeclareResult", cpb.DeclareResultRequest(
        session_id=sid, vorlage_id=vorlage, mode=T.DECISION_MODE_CONSENSUS), KOORD)
    assert result.beschluss.beschluss_id
    render = pb.RenderSessionProtocolRequest(session_id=sid, issuer="Kreis Mettmann", chair="Lena Lenkung")

    early = api.fails("documents", "RenderSessionProtocol", render, KOORD)
    assert early.code() is grpc.StatusCode.FAILED_PRECONDITION
    assert "noch nicht geschlossen" in early.details()

    api.call("conference", "CloseSession", cpb.CloseSessionRequest(session_id=sid), KOORD)
    rendered = api.call("documents", "RenderSessionProtocol", render, KOORD)
    assert rendered.document.kind == pb.LENKUNGSGRUPPE_PROTOKOLL
    document = open_docx(rendered.content)
    text = body_text(document)
    for expected in ("Lenkungsgruppe KIM Kreis Mettmann", "1. Sitzung", "Kreis Mettmann", "Lena Lenkung",
                     "Leitung Jobcenter", "Leitung ABH", "mit 2 von 3 Mitgliedern beschlussfähig",
                     "Clearingstelle Ausbildung und Duldung", "gemeinsame Clearingstelle", "angenommen",
                     "lenkung.kreis (kreis-mettmann)", "offen", "koord.kreis"):
        assert expected in text, expected
    tracked = [row for table in document.tables for row in
               ([cell.text for cell in r.cells] for r in table.rows) if "1/" in row[0]]
    assert any("Clearingstelle Ausbildung und Duldung" in " ".join(row) for row in tracked)
    converts_to_pdf_a(rendered.content, tmp_path, "beschlussprotokoll")

    foreign = api.fails("documents", "RenderSessionProtocol", render, KOORD_HILDEN)
    assert foreign.code() is grpc.StatusCode.PERMISSION_DENIED
    unknown = api.fails("documents", "RenderSessionProtocol",
                        pb.RenderSessionProtocolRequest(session_id="gibt-es-nicht"), KOORD)
    assert unknown.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.PERMISSION_DENIED)
