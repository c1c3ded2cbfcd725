"""A corpus of forged events against a real node: its case and conference workers (`kim node
worker`, real nameko) on the session's vhost, federated (RabbitMQ exchange federation, a link
user of its own) from the vhost of a Caritas node, and every forgery published there with the
Caritas node's OWN broker user, as an operator of that node could. None is applied; each is
refused with its reason, logged, and kept in the node database for the operator. Genuine events
of the same peers still are applied.

The receiving node is the Kreis (koordinierende Stelle, role "district": a node outside any
federation file coordinates itself). Its directory snapshot knows a Caritas node (welfare_org)
and a Stadt node (municipality), as its api process would copy them from the node directory.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from google.protobuf.message import Message

from kim.case.v1 import case_pb2, events_pb2 as case_events, types_pb2 as case_types
from kim.common.v1.event_pb2 import EventEnvelope
from kim.conference.v1 import events_pb2 as conference, types_pb2 as conference_types
from kim.node.v1.probe_pb2 import ProbeRequested
from kimnetz.runtime import events, mongo, node
from kimnetz.runtime.amqp import Publisher
from kimnetz.runtime.broker_admin import link_user, node_user, with_credentials, with_vhost
from kimnetz.runtime.directory_snapshot import RefusedEvents
from kimnetz.runtime.event_trust import EnvelopeSigner
from kimnetz.runtime.pki import DevCertificateAuthority
from kimnetz.runtime.settings import Settings
from services.case.composition import CaseServices, case_services
from services.case.domain import commands as c
from services.case.domain.dates import local_date
from services.case.domain.policy import Actor
from services.case.domain.vocabulary import CaseStatus
from services.case.repository import MongoCaseRepository
from services.conference.repository import MongoConferenceRepository
from tests.support import security_figures, servers, signing
from tests.support.waiting import wait_until

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "unit" / "case"))
from case_factories import make_proposal

KREIS = "kreis-mettmann"
HILDEN = "stadt-hilden"
CARITAS = "caritas-mettmann"
CM = Actor("cm.kreis", KREIS, frozenset({"case_manager"}))
EXCHANGES = ["case.events", "conference.events", "node.events"]


@dataclass(frozen=True)
class Peers:
    kreis: Settings
    caritas: str  # node ids
    stadt: str
    caritas_uri: str  # the Caritas node's OWN broker user on its own vhost


@pytest.fixture(scope="module")
def peers(node_settings: Settings) -> Iterator[Peers]:
    """The Kreis (the session node) and the vhost of a Caritas node linked into it."""
    kreis = node_settings.model_copy(update={"organization_id": KREIS})
    admin = servers.broker_admin(kreis)
    caritas, stadt = f"{kreis.node_id}-caritas", f"{kreis.node_id}-stadt"
    admin.ensure_vhost(caritas)
    password = uuid.uuid4().hex
    admin.ensure_node_user(caritas, node_user(caritas), password)
    caritas_uri = with_credentials(with_vhost(kreis.amqp_uri, caritas), node_user(caritas), password)
    try:
        yield Peers(kreis, caritas, stadt, caritas_uri)
    finally:
        admin.delete_vhost(caritas)
        for user in (node_user(caritas), link_user(kreis.node_id, caritas)):
            admin.delete_user(user)


@pytest.fixture(scope="module")
def worker(peers: Peers, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The Kreis's case and conference workers, then the federation link from the Caritas vhost
    (its link user may read the Caritas exchanges and publish into none)."""
    kreis = peers.kreis
    signing.trust(kreis, {peers.caritas: (CARITAS, "welfare_org"),
                          peers.stadt: (HILDEN, "municipality")})
    log = tmp_path_factory.mktemp("forged") / "worker.log"
    extra = {"KIM_GRPC_SERVICES": "case,conference", "KIM_ORGANIZATION_ID": KREIS}
    ready = {"CaseRejectionDecided": 1, "ConsentRevoked": 1, "BarrierRecorded": 1,
             "ZielgruppenDefined": 1}
    with servers.running_worker(kreis, log, ready, extra):
        admin = servers.broker_admin(kreis)
        password = uuid.uuid4().hex
        admin.ensure_link_user(peers.caritas, link_user(kreis.node_id, peers.caritas), password, EXCHANGES)
        upstream = with_credentials(with_vhost(kreis.amqp_uri, peers.caritas),
                                    link_user(kreis.node_id, peers.caritas), password)
        admin.link_upstream(kreis.node_id, peers.caritas, upstream, EXCHANGES)
        deadline = time.monotonic() + 30
        while sum(link.get("status") == "running" for link in admin.federation_links(kreis.node_id)) < 3:
            assert time.monotonic() < deadline, admin.federation_links(kreis.node_id)
            time.sleep(0.3)
        yield log


def publish_at_caritas(peers: Peers, envelope: EventEnvelope, body: bytes | None = None) -> None:
    """With the Caritas node's own broker user on its own vhost: all an operator there has."""
    exchange = events.exchange_name(envelope.source_service)
    with Publisher(peers.caritas_uri) as publisher:
        publisher.publish(exchange, envelope.type, body or envelope.SerializeToString(), envelope.id)


def pack(message: Message, service: str, source_node: str) -> EventEnvelope:
    return events.pack(message, source_service=service, source_node=source_node)


def in_review(service: CaseServices) -> str:
    case = service.fallvorschlaege.propose_case(CM, make_proposal(owner_org=KREIS, coordination_org=KREIS))
    service.fallvorschlaege.submit_for_review(CM, c.SubmitForReview(case.case_id))
    return case.case_id


def revoked_for(service: CaseServices, recipient: str) -> tuple[str, str]:
    case = service.fallvorschlaege.propose_case(CM, make_proposal(owner_org=KREIS, coordination_org=KREIS))
    today = local_date(case.created_at)
    service.einwilligungen.record_consent(CM, c.RecordConsent(case.case_id, "einwilligung", recipient,
                                                              ("fallkonferenz",),
                                                              ("falldokumentation",), today))
    consent_id = service.repository.get(case.case_id).consents[0].consent_id
    service.einwilligungen.revoke_consent(CM, c.RevokeConsent(case.case_id, consent_id, today, ""))
    return case.case_id, consent_id


def context(case_id: str, owner_node: str) -> conference.CaseDecisionContext:
    return conference.CaseDecisionContext(
        conference_id="fk-erfunden", case_id=case_id, owner_node=owner_node, owner_org=KREIS,
        decision_reference="Fallkonferenz vom 01.01.2026", decided_by="koord.kreis")


def proposal_event(case_id: str, owner_node: str, source_node: str, consent_id: str) -> EventEnvelope:
    pseudonym = f"KIM-{case_id[:6].upper()}"
    message = case_events.CaseSubmittedForReview(
        case_id=case_id, pseudonym=pseudonym, owner_org=HILDEN, coordination_org=KREIS,
        conference_orgs=[KREIS], owner_node=owner_node, consent_id=consent_id,
        brief=case_pb2.CaseBrief(case_id=case_id, pseudonym=pseudonym, owner_org=HILDEN,
                                 zielgruppen_version=1, zielgruppe="umf"))
    message.occurred_at.FromDatetime(datetime.now(UTC))
    return pack(message, "case", source_node)


def barrier(category: int) -> case_events.BarrierRecorded:
    return case_events.BarrierRecorded(
        case_id="case-x", pseudonym="KIM-X", owner_org=CARITAS, barrier_id=str(uuid.uuid4()),
        rechtskreise=[case_types.RECHTSKREIS_SGB_II], category=category)


def test_no_forged_event_is_applied_each_is_refused_with_its_reason_and_genuine_ones_still_are(
        peers: Peers, worker: Path) -> None:
    kreis = peers.kreis
    mongo.connect(kreis, "case")
    mongo.connect(kreis, "conference")
    node.connect(kreis)
    cases = case_services(MongoCaseRepository(kreis.node_id), node_org=KREIS)
    registry = MongoConferenceRepository(kreis.node_id)
    caritas_key = signing.credentials(peers.caritas)
    caritas_signer = EnvelopeSigner(caritas_key.key, caritas_key.certificate)

    # -- genuine events of the same peers, which must still be applied ---------------------------
    stadt_case, stadt_consent = str(uuid.uuid4()), f"consent-{uuid.uuid4().hex[:6]}"
    genuine_proposal = signing.sign(proposal_event(stadt_case, peers.stadt, peers.stadt, stadt_consent))
    genuine_barrier = signing.sign(
        pack(barrier(case_types.BARRIER_CATEGORY_WARTEZEIT), "case", peers.caritas))
    publish_at_caritas(peers, genuine_proposal)  # (the Stadt's event, relayed by the Caritas operator)
    publish_at_caritas(peers, genuine_barrier)
    wait_until(lambda: f"proposal {genuine_proposal.id} of case {stadt_case} registered"
               in worker.read_text(), 30, lambda: f"the genuine proposal\n{worker.read_text()[-3000:]}")
    wait_until(lambda: f"barrier event {genuine_barrier.id} counted" in worker.read_text(),
               30, lambda: f"the genuine barrier\n{worker.read_text()[-3000:]}")

    # -- what the forgeries are about --------------------------------------------------------------
    decided_here = in_review(cases)
    erased_case, erased_consent = revoked_for(cases, HILDEN)
    catalogue_before = cases.repository.current_catalogue().version

    corpus: list[tuple[str, str, EventEnvelope, bytes | None]] = []

    def forged(name: str, reason: str, envelope: EventEnvelope, body: bytes | None = None) -> None:
        corpus.append((name, reason, envelope, body))

    rejection = conference.CaseRejectionDecided(context=context(decided_here, kreis.node_id),
                                                reason=conference_types.DECISION_REASON_OTHER)
    forged("unsigniert", "unsigned", pack(rejection, "conference", peers.caritas))
    rogue = f"{kreis.node_id}-rogue"
    forged("Schlüssel, den das Verzeichnis nicht kennt", "unknown-node",
           signing.sign(pack(rejection, "conference", rogue)))
    outsider = DevCertificateAuthority.create("Fremde CA").issue(kreis.node_id)
    forged("Zertifikat einer fremden CA im Namen des Kreis-Knotens", "untrusted-certificate",
           EnvelopeSigner(outsider.key, outsider.certificate).sign_envelope(
               pack(rejection, "conference", kreis.node_id)))
    forged("gültiger Knoten signiert als der Kreis-Knoten", "wrong-node",
           caritas_signer.sign_envelope(pack(rejection, "conference", kreis.node_id)))
    changed = caritas_signer.sign_envelope(
        pack(barrier(case_types.BARRIER_CATEGORY_SPRACHE), "case", peers.caritas))
    changed.payload.Pack(barrier(case_types.BARRIER_CATEGORY_FEHLENDES_ANGEBOT))
    forged("gültige Signatur, veränderter Inhalt", "bad-signature", changed)
    copied = pack(barrier(case_types.BARRIER_CATEGORY_SPRACHE), "case", peers.caritas)
    copied.signer_certificate = genuine_barrier.signer_certificate
    copied.signature = genuine_barrier.signature
    forged("Signatur auf ein anderes Ereignis kopiert", "bad-signature", copied)
    replay = pack(barrier(case_types.BARRIER_CATEGORY_SPRACHE), "case", peers.caritas)
    replay.id = genuine_barrier.id
    forged("bekannte Kennung, anderer Inhalt", "replayed", caritas_signer.sign_envelope(replay))
    forged("Caritas-Knoten verkündet einen Beschluss des Kreises", "sender-not-allowed",
           caritas_signer.sign_envelope(pack(rejection, "conference", peers.caritas)))
    catalogue = conference.ZielgruppenDefined(
        beschluss_id="lg-erfunden", coordination_org=HILDEN,
        catalogue=conference_types.ZielgruppenCatalogue(
            version=6,
            decided_on=conference_types.Date(year=2026, month=3, day=4), decision_reference="erfunden",
            definitions=[conference_types.ZielgruppeDefinition(key="alle", name="Alle")]))
    forged("Stadt-Knoten legt Zielgruppen fest", "sender-not-allowed",
           signing.sign(pack(catalogue, "conference", peers.stadt)))
    revocation = case_events.ConsentRevoked(
        case_id=stadt_case, pseudonym="KIM-X", owner_org=HILDEN, consent_id=stadt_consent,
        recipient_org=KREIS, owner_node=peers.stadt)
    forged("ConsentRevoked eines Knotens, dem der Fall nicht gehört", "sender-not-allowed",
           caritas_signer.sign_envelope(pack(revocation, "case", peers.caritas)))
    erased = conference.CaseDataErased(
        case_id=erased_case, pseudonym="KIM-X", owner_node=kreis.node_id, owner_org=KREIS,
        consent_id=erased_consent, erased_by_node=peers.caritas, erased_by_org=CARITAS,
        summary="gelöscht")
    erased.erased_at.FromDatetime(datetime.now(UTC))
    forged("CaseDataErased eines Knotens, den die Einwilligung nicht nannte", "sender-not-allowed",
           caritas_signer.sign_envelope(pack(erased, "conference", peers.caritas)))
    forged("Fallvorschlag im Namen eines anderen Knotens", "sender-not-allowed",
           caritas_signer.sign_envelope(
               proposal_event(str(uuid.uuid4()), peers.stadt, peers.caritas, "k-1")))
    forged("Prüfereignis ohne Signatur", "unsigned",
           pack(ProbeRequested(probe_id="fremd"), "node", peers.caritas))

    # The snapshot is newer than every event (an unknown key is then refused, not retried), and
    # the workers' cached view of it has expired.
    signing.trust(kreis, {})
    time.sleep(2.5)
    for _, _, envelope, body in corpus:
        publish_at_caritas(peers, envelope, body)

    def refused(envelope: EventEnvelope, reason: str) -> bool:
        return (f"event {envelope.id} ({envelope.type}) from {envelope.source_node} refused [{reason}]"
                in worker.read_text())

    for name, reason, envelope, _ in corpus:
        wait_until(lambda e=envelope, r=reason: refused(e, r),  # type: ignore[misc]
                   30, lambda n=name, r=reason: f"{n}: refused [{r}]\n{worker.read_text()[-4000:]}")
    # The worker logs a refusal before it has stored it for the operator: wait for the store too.
    def kept_events() -> dict[str, dict[str, object]]:
        return {d["event_id"]: d for d in RefusedEvents().list(limit=1000)}

    wait_until(lambda: all(envelope.id in kept_events() for _, _, envelope, _ in corpus),
               30, lambda: f"every refused event kept: {sorted(kept_events())}")
    kept = kept_events()
    for name, reason, envelope, _ in corpus:
        assert envelope.id in kept and kept[envelope.id]["reason"] == reason, (name, kept.get(envelope.id))

    # Nothing applied: the case undecided, the catalogue, the registry, the consent as they were.
    assert cases.repository.get(decided_here).status is CaseStatus.IN_REVIEW
    assert cases.repository.current_catalogue().version == catalogue_before
    assert [p.owner_node for p in registry.proposals_of_case(stadt_case)] == [peers.stadt]
    [consent] = cases.repository.get(erased_case).consents
    assert consent.erasure_confirmations == ()
    assert node.receipts("fremd") == {}
    # The operator sees them: `kim node refused-events` lists each with its reason.
    shown = subprocess.run(
        [str(Path(sys.executable).with_name("kim")), "node", "refused-events"], capture_output=True,
        text=True, timeout=60, check=True,
        env={**os.environ, "KIM_NODE_ID": kreis.node_id, "MONGODB_URI": kreis.mongodb_uri,
             "COLUMNS": "400"}).stdout
    for _, reason, envelope, _ in corpus:
        assert envelope.id in shown and reason in shown, shown[-2000:]
    refused_count = sum(refused(e, r) and e.id in kept for _, r, e, _ in corpus)
    assert refused_count == len(corpus)
    security_figures.record(
        "forged-events", "Korpus gefälschter Ereignisse",
        f"{refused_count} von {len(corpus)} abgewiesen",
        "Echter Knoten (case- und conference-Worker), per RabbitMQ-Föderation mit eigenem Link-Benutzer "
        "an den vhost eines Caritas-Knotens angebunden; jede Fälschung mit dem eigenen Broker-Benutzer "
        "des Caritas-Knotens veröffentlicht: " + "; ".join(name for name, _, _, _ in corpus)
        + ". Echte Ereignisse derselben Knoten (Fallvorschlag, Barriere) werden weiter angewandt.")

