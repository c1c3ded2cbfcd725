"""The Kreis' Drucksache and Monitoringbericht with the federation's figures, over real servers:

- the Kreis' own figures from a real case api (`kim node api`, own databases, seeded here as in
  test_live_figures: 7 Geduldete over 27 and 2 people from Romania, 5 of them admitted), read
  with the caller's real Keycloak token;
- Stadt Hilden: a real gRPC server with the runtime's mutual-TLS port (certificates of a dev CA,
  the peer check, the token check with the realm's keys, the organisation check of token and
  certificate), serving a small CaseFederation servicer with fixed figures; the Kreis' node
  calls it with the runtime's FederationClient, its certificate and its real service-account
  token;
- Caritas: in the directory, but nothing listens at its endpoint.

The documents api runs in this process (its servicer as `registration` builds it, with the
FederationClient handed in, since the directory here is the fixed list above) behind the real
token check. Asserted on the DOCX as Word reads it (python-docx): summed figures, the marks, the
nodes with their Stand, the node not reached; and that Hilden was asked on the clerk's behalf.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import grpc
import pytest
from google.protobuf.message import Message

from kim.case.v1 import case_pb2, federation_pb2_grpc
from kim.common.v1.types_pb2 import Date
from kim.documents.v1 import documents_pb2 as pb, documents_pb2_grpc
from kimnetz.runtime import mongo
from kimnetz.runtime.auth import TokenValidator
from kimnetz.runtime.federation import FederationClient, FederationNode
from kimnetz.runtime.grpc_peer import Peer, current_peer
from kimnetz.runtime.grpc_server import FederationListener, Registration, build_server
from kimnetz.runtime.peers import PeerRecord
from kimnetz.runtime.pki import DevCertificateAuthority
from kimnetz.runtime.service_account import ServiceAccount
from kimnetz.runtime.settings import Settings
from services.documents.api import DocumentsServicer
from services.documents.federation_client import GET_FIGURES, FederationPeerFigures
from services.documents.figures_client import GrpcCaseFigures
from services.documents.repository import MongoDocumentsRepository
from services.documents.service import DocumentsService
from services.identity.organizations import FederationOrganizations
from tests.integration.documents.inputs import all_text, drucksache_input, struct
from tests.integration.documents.test_live_figures import (  # noqa: F401 (module fixtures)
    api,
    federation,
    figures,
    own_node_settings,
    paragraph_text,
)
from tests.integration.documents.test_live_protocols import (
    CLERK,
    CM,
    KOORD,
    KOORD_HILDEN,
    KREIS,
    Node,
    _free_port,
)
from tests.support.grpc_calls import refusal
from tests.support.identity import LocalFederation

HILDEN, CARITAS = "stadt-hilden", "caritas-mettmann"
STATUSES = ("proposed", "in_review", "admitted", "referred", "rejected", "deferred", "assessment",
            "planning", "active", "closed")


def _cell(key: str, label: str, count: int | None, withheld: bool = False) -> case_pb2.FigureCell:
    if count is None:
        visibility = (case_pb2.FIGURE_VISIBILITY_WITHHELD if withheld
                      else case_pb2.FIGURE_VISIBILITY_SUPPRESSED)
        return case_pb2.FigureCell(key=key, label=label, visibility=visibility,
                                   shown="x" if withheld else "< 5")
    return case_pb2.FigureCell(key=key, label=label, visibility=case_pb2.FIGURE_VISIBILITY_SHOWN,
                               count=count, shown=str(count))


def hilden_figures(status_labels: dict[str, str], group_labels: dict[str, str]) -> case_pb2.Figures:
    """What Hilden's case service would release for 33 cases: 12 proposed, 10 admitted, 8
    active, 3 elsewhere (all suppressed); 20 Geduldete, a few from Südosteuropa (withheld, as
    the one small "keine Zielgruppe" would follow from the total), 4 without Zielgruppe."""
    shown = {"proposed": 12, "admitted": 10, "active": 8}
    groups = {"geduldete_gestattete_ueber_27": _cell("geduldete_gestattete_ueber_27",
                                                     group_labels["geduldete_gestattete_ueber_27"], 20),
              "suedosteuropa": _cell("suedosteuropa", group_labels["suedosteuropa"], None, withheld=True),
              "": _cell("", "keine Zielgruppe", None)}
    total = _cell("total", "Summe", 33)
    return case_pb2.Figures(
        by_status=case_pb2.FigureTable(
            cells=[_cell(k, status_labels[k], shown.get(k)) for k in STATUSES], total=total),
        by_zielgruppe=case_pb2.FigureTable(cells=list(groups.values()), total=total),
        by_handlungsfeld=case_pb2.FigureTable(cells=[_cell("ausbildung", "Ausbildung", 30)],
                                              total=_cell("total", "Summe", 30)),
        by_goal_outcome=case_pb2.FigureTable(total=_cell("total", "Summe", None)),
        by_barrier_category=case_pb2.FigureTable(total=_cell("total", "Summe", None)),
        days_to_decision=case_pb2.MeanDuration(visibility=case_pb2.FIGURE_VISIBILITY_SHOWN, mean_days=3.0),
        days_open=case_pb2.MeanDuration(visibility=case_pb2.FIGURE_VISIBILITY_SUPPRESSED),
        zielgruppen_version=1, suppression_note="")


@dataclass
class HildenServicer(federation_pb2_grpc.CaseFederationServicer):
    answer: case_pb2.Figures
    peers: list[Peer] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def GetFigures(self, request: Any, context: grpc.ServicerContext) -> Any:
        peer = current_peer.get()
        assert peer is not None  # only ever reached over the mutual-TLS port
        with self.lock:
            self.peers.append(peer)
        return self.answer


@dataclass
class Kreis:
    documents: documents_pb2_grpc.DocumentsServiceStub
    hilden: HildenServicer
    token: Any

    def call(self, method: str, request: Message, as_user: tuple[str, str]) -> Any:
        metadata = (("authorization", f"Bearer {self.token(*as_user)}"),)
        return getattr(self.documents, method)(request, metadata=metadata, timeout=60)

    def fails(self, method: str, request: Message, as_user: tuple[str, str]) -> grpc.RpcError:
        return refusal(lambda: self.call(method, request, as_user), f"{method} as {as_user}")


@pytest.fixture(scope="module")
def kreis(api: Node, figures: case_pb2.Figures, federation: LocalFederation,  # noqa: F811
          own_node_settings: Settings) -> Iterator[Kreis]:  # noqa: F811
    validator = TokenValidator(federation.issuer, federation.federation.clients.api,
                               organizations=FederationOrganizations(federation.federation))
    ca = DevCertificateAuthority.create()
    kreis_credentials, hilden_credentials = ca.issue(KREIS), ca.issue(HILDEN)

    # Stadt Hilden's node: the runtime's mutual-TLS port; the directory knows the Kreis' certificate.
    status_labels = {c.key: c.label for c in figures.by_status.cells}
    group_labels = {c.key: c.label for c in figures.by_zielgruppe.cells}
    servicer = HildenServicer(hilden_figures(status_labels, group_labels))

    def check(peer: Peer, method: str) -> PeerRecord:
        assert peer.fingerprint == kreis_credentials.fingerprint
        return PeerRecord(KREIS, KREIS, "district", "active")

    listener = FederationListener("127.0.0.1:0", hilden_credentials, {GET_FIGURES: frozenset({"district"})},
                                  check)
    hilden_server, _, _ = build_server(
        [Registration("case",
                      lambda s: federation_pb2_grpc.add_CaseFederationServicer_to_server(servicer, s))],
        address="127.0.0.1:0", validator=validator, federation=listener)
    hilden_server.start()

    node = next(n for n in federation.federation.nodes if n.id == KREIS)
    account = ServiceAccount(federation.server_url, federation.realm, node.client_id,
                             federation.service_account_secret(KREIS))
    directory = [FederationNode(KREIS, KREIS, "district", "127.0.0.1:1",
                                certificate_fingerprints=(kreis_credentials.fingerprint,)),
                 FederationNode(HILDEN, HILDEN, "municipality", f"127.0.0.1:{listener.port}",
                                certificate_fingerprints=(hilden_credentials.fingerprint,)),
                 FederationNode(CARITAS, CARITAS, "welfare_org", f"127.0.0.1:{_free_port()}",
                                certificate_fingerprints=("0" * 64,))]
    client = FederationClient(node_id=KREIS, organization=KREIS, credentials=kreis_credentials,
                              token=account.token, directory=lambda: list(directory))

    # The Kreis' documents api: figures from its own case api (caller's token), peers by the client.
    settings = own_node_settings
    mongo.connect(settings, "documents")
    documents = DocumentsServicer(DocumentsService(MongoDocumentsRepository(settings.node_id)), None,
                                  lambda token: GrpcCaseFigures(api.channel, token),
                                  FederationPeerFigures(client, keeps_directory=True))
    server, port, _ = build_server(
        [Registration("documents",
                      lambda s: documents_pb2_grpc.add_DocumentsServiceServicer_to_server(documents, s))],
        address="127.0.0.1:0", validator=validator)
    server.start()
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    try:
        yield Kreis(documents_pb2_grpc.DocumentsServiceStub(channel), servicer, federation.token_for)
    finally:
        channel.close()
        server.stop(None)
        hilden_server.stop(None)
        client.close()


BODY = "Das KIM arbeitet seit 2021.\n\n[Fallzahlen]\n\nDie Verwaltung wird weiter berichten."


def figures_block(text: str) -> str:
    start = text.index("Das KIM arbeitet seit 2021.")
    end = text.index("Die Verwaltung wird weiter berichten.")
    return text[start:end]


def test_the_drucksache_carries_the_summed_figures_marks_and_the_node_not_reached(
        kreis: Kreis, figures: case_pb2.Figures) -> None:  # noqa: F811
    groups = {c.key: c.label for c in figures.by_zielgruppe.cells}
    paper = {**drucksache_input(), "body_text": BODY}
    asked = len(kreis.hilden.peers)
    rendered = kreis.call("RenderDrucksache", pb.RenderDrucksacheRequest(
        input=struct(paper), figures_from_case_service=True), CLERK)
    assert rendered.document.kind == pb.DRUCKSACHE and rendered.document.organization == KREIS
    block = figures_block(paragraph_text(rendered.content))

    assert "Fallzahlen des Kommunalen Integrationsmanagements aller beteiligten Stellen (Stand: " in block
    assert re.search(r"Die Zahlen fassen die Angaben folgender Stellen zusammen: "
                     r"kreis-mettmann \(Stand: \d\d\.\d\d\.\d{4}, \d\d:\d\d Uhr\), "
                     r"stadt-hilden \(Stand: \d\d\.\d\d\.\d{4}, \d\d:\d\d Uhr\)\.", block)
    assert "Ohne Angaben von caritas-mettmann (nicht erreichbar)." in block
    # A council paper names no IT: no nodes, no federation, no catalogue versions.
    assert "Knoten" not in block and "Verbund" not in block and "Zielgruppenkatalog" not in block
    # The Kreis withholds its 5 admitted (its largest), its total and its 7 Geduldete (a table
    # with a small cell, kimnetz/disclosure.py): Hilden's 10 admitted, 12 proposed (+ the Kreis' 4,
    # "< 5"), 33 cases and 20 Geduldete are what the federation knows for sure.
    for expected in ("ins Case Management aufgenommen: mind. 10\n", "Fallvorschlag: mind. 12\n",
                     "\ninsgesamt: mind. 33\n",
                     f"{groups['geduldete_gestattete_ueber_27']}: mind. 20\n",
                     f"{groups['suedosteuropa']}: x\n",  # "< 5" here, withheld at Hilden: no figure
                     "keine Zielgruppe: < 5\n"):  # 0 here, "< 5" at Hilden only
        assert expected in block, expected
    assert "zzgl. nicht ausgewiesener Kleinstwerte (unter 5) oder zurückgehaltener Werte einzelner Stellen" \
        in block
    assert not re.search(r": [1-4]$", block, re.MULTILINE)  # no small number, in no line

    # Hilden was asked once, over mutual TLS, by the Kreis' node, on the clerk's behalf.
    assert len(kreis.hilden.peers) == asked + 1
    peer = kreis.hilden.peers[-1]
    assert (peer.node_id, peer.organization, peer.role, peer.acting_user) == (
        KREIS, KREIS, "district", "buero.kreis")


def test_the_node_scope_carries_only_the_own_figures_and_asks_nobody(kreis: Kreis) -> None:
    paper = {**drucksache_input(), "body_text": BODY}
    asked = len(kreis.hilden.peers)
    rendered = kreis.call("RenderDrucksache", pb.RenderDrucksacheRequest(
        input=struct(paper), figures_from_case_service=True, figures_scope=pb.FIGURES_SCOPE_NODE), CLERK)
    block = figures_block(paragraph_text(rendered.content))
    assert "aller beteiligten Stellen" not in block and "caritas" not in block
    assert "ins Case Management aufgenommen: x\n" in block and "insgesamt: x\n" in block
    assert len(kreis.hilden.peers) == asked


def test_the_monitoringbericht_names_its_data_basis_and_prints_the_marks(kreis: Kreis) -> None:
    request = pb.RenderMonitoringReportRequest(
        period_from=Date(year=2026, month=1, day=1), period_to=Date(year=2026, month=6, day=30),
        issuer="Kreis Mettmann", recipient="Kreistag",
        figures_scope=pb.FIGURES_SCOPE_FEDERATION)
    rendered = kreis.call("RenderMonitoringReport", request, KOORD)
    text = all_text(rendered.content)
    assert "Datengrundlage" in text
    assert re.search(r"– kreis-mettmann \(Stand: \d\d\.\d\d\.\d{4}, \d\d:\d\d Uhr\)", text)
    assert re.search(r"– stadt-hilden \(Stand: \d\d\.\d\d\.\d{4}, \d\d:\d\d Uhr\)", text)
    assert "Ohne Angaben von:" in text and "– caritas-mettmann (nicht erreichbar)" in text
    assert "ins Case Management aufgenommen | mind. 10" in text and "Fallvorschlag | mind. 12" in text
    assert "aktiv (Monitoring) | 8" in text and "Summe | mind. 33" in text
    assert "„mind.“: Summe der von den beteiligten Stellen ausgewiesenen Werte" in text
    assert not re.search(r"\| [1-4]$", text, re.MULTILINE)
    assert kreis.hilden.peers[-1].acting_user == "koord.kreis"


def test_a_refused_caller_gets_the_refusal_and_no_node_is_asked(kreis: Kreis) -> None:
    """A case manager may render no report (documents' roles); Hilden's coordinator is refused by
    the Kreis' own case service, which is read first: either way Hilden hears nothing."""
    asked = len(kreis.hilden.peers)
    request = pb.RenderMonitoringReportRequest(figures_scope=pb.FIGURES_SCOPE_FEDERATION)
    for refused in (CM, KOORD_HILDEN):
        error = kreis.fails("RenderMonitoringReport", request, refused)
        assert error.code() is grpc.StatusCode.PERMISSION_DENIED, refused
    assert len(kreis.hilden.peers) == asked
