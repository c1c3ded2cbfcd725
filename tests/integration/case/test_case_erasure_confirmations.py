"""Erase confirmations through the real case worker (`kim node worker`, a real `nameko run` on the
session's vhost): a `kim.conference.v1.CaseDataErased` published on conference.events, as the
Kreis node's conference sends it after a ConsentRevoked, is recorded on the revoked consent of
this node's case once per event id, shown by GetCase, and written to the audit trail."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from kim.case.v1 import case_pb2
from kim.conference.v1 import events_pb2 as conference
from kimnetz.runtime import events
from kimnetz.runtime.amqp import Publisher
from kimnetz.runtime.settings import Settings
from services.case.composition import CaseServices, case_services
from services.case.domain import commands as c
from services.case.domain.dates import local_date
from services.case.domain.policy import Actor
from services.case.repository import AuditDocument, CaseChangeDocument, MongoCaseRepository
from tests.integration.case.conftest import COORDINATION, OWNER, Caller, CaseApi
from tests.support import servers, signing
from tests.support.dead_letter_store import dead_letter_of
from tests.support.waiting import polled

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "unit" / "case"))
from case_factories import make_proposal

CM = Actor("cm.hilden", OWNER, frozenset({"case_manager"}))
DPO = Actor("dsb.hilden", OWNER, frozenset({"data_protection_officer"}))
ERASED_AT = datetime(2026, 3, 4, 13, 15, tzinfo=UTC)
SUMMARY = "Fallvorschlag und 1 Kurzinformation gelöscht"


@pytest.fixture(scope="module")
def case_worker(case_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    log = tmp_path_factory.mktemp("case-erasure-worker") / "worker.log"
    extra = {"KIM_GRPC_SERVICES": "case", "KIM_ORGANIZATION_ID": OWNER}
    signing.trust(case_settings, {"kreis-mettmann": (COORDINATION, "district"),
                                  "caritas-mettmann": ("caritas-mettmann", "welfare_org")})
    with servers.running_worker(case_settings, log, {"CaseDataErased": 1}, extra):
        yield log


@pytest.fixture
def service(repository: MongoCaseRepository) -> CaseServices:
    return case_services(repository, node_org=OWNER)


def revoked(service: CaseServices) -> tuple[str, str]:
    """A case proposed to the Kreis whose Fallkonferenz consent the person revoked."""
    case = service.fallvorschlaege.propose_case(CM,
                                                make_proposal(owner_org=OWNER, coordination_org=COORDINATION))
    today = local_date(case.created_at)
    service.einwilligungen.record_consent(CM, c.RecordConsent(case.case_id, "einwilligung", COORDINATION,
                                                              ("fallkonferenz",),
                                                              ("falldokumentation",), today))
    service.fallvorschlaege.submit_for_review(CM, c.SubmitForReview(case.case_id))
    consent_id = service.repository.get(case.case_id).consents[0].consent_id
    service.einwilligungen.revoke_consent(CM, c.RevokeConsent(case.case_id, consent_id, today,
                                                              "widerruft schriftlich"))
    return case.case_id, consent_id


def erased(case_id: str, consent_id: str, owner_node: str, **overrides: str) -> conference.CaseDataErased:
    at = Timestamp()
    at.FromDatetime(ERASED_AT)
    fields = dict(case_id=case_id, pseudonym="KIM-2026-XXXXXX", owner_node=owner_node, owner_org=OWNER,
                  consent_id=consent_id, erased_by_node="kreis-mettmann", erased_by_org=COORDINATION,
                  summary=SUMMARY)
    fields.update(overrides)
    return conference.CaseDataErased(erased_at=at, **fields)


def publish(settings: Settings, *messages: conference.CaseDataErased,
            sender: str = "kreis-mettmann") -> list[str]:
    ids = []
    with Publisher(settings.amqp_uri) as publisher:
        for message in messages:
            envelope = events.pack(message, source_service="conference", source_node=sender)
            publisher.publish("conference.events", envelope.type, signing.signed_body(envelope),
                              envelope.id)
            ids.append(envelope.id)
            first_occurred[envelope.id] = envelope.occurred_at
    return ids


#: A redelivery is the same envelope: same id, same content (else it is a replay and refused).
first_occurred: dict[str, Timestamp] = {}


def republish(settings: Settings, message: conference.CaseDataErased, event_id: str) -> None:
    envelope = events.pack(message, source_service="conference", source_node="kreis-mettmann")
    envelope.id = event_id
    envelope.occurred_at.CopyFrom(first_occurred[event_id])
    with Publisher(settings.amqp_uri) as publisher:
        publisher.publish("conference.events", envelope.type, signing.signed_body(envelope), envelope.id)


def test_a_confirmation_is_recorded_once_and_shown_on_the_case(
        case_worker: Path, service: CaseServices, case_settings: Settings, case_api: CaseApi) -> None:
    cid, consent_id = revoked(service)
    # A confirmation for the same case id at another node is that node's business.
    foreign = erased(cid, consent_id, "other-node", erased_by_node="kreis-2")
    mine = erased(cid, consent_id, case_settings.node_id)
    _, event_id = publish(case_settings, foreign, mine)

    def confirmations() -> int:
        return len(service.repository.get(cid).consents[0].erasure_confirmations)

    assert polled(lambda: confirmations() == 1), case_worker.read_text()[-3000:]
    republish(case_settings, mine, event_id)  # a redelivery after a lost acknowledgement
    assert polled(lambda: f"erase confirmation {event_id} already recorded" in case_worker.read_text()), \
        case_worker.read_text()[-3000:]
    case = service.repository.get(cid)
    [confirmation] = case.consents[0].erasure_confirmations
    assert (confirmation.node, confirmation.organization, confirmation.erased_at, confirmation.summary) == (
        "kreis-mettmann", COORDINATION, ERASED_AT, SUMMARY)
    assert not case.consents[0].erasure_outstanding
    assert CaseChangeDocument.objects(cause=event_id).count() == 1

    shown = case_api.call("GetCase", case_pb2.GetCaseRequest(case_id=cid), Caller(OWNER, "case_manager"))
    consent = shown.consents[0]
    assert not consent.erasure_outstanding
    assert [(k.node, k.organization, k.summary) for k in consent.erasure_confirmations] == [
        ("kreis-mettmann", COORDINATION, SUMMARY)]
    assert shown.journal[-1].text == (f"Löschung bestätigt durch {COORDINATION} (Knoten kreis-mettmann) "
                                      f"am 04.03.2026 um 14:15 Uhr: {SUMMARY}")

    [entry] = AuditDocument.objects(case_id=cid, call="ConfirmErasure")
    assert (entry.actor_node, entry.actor_org, entry.actor_subject, entry.allowed, entry.purpose) == (
        "kreis-mettmann", COORDINATION, "Knoten kreis-mettmann", True, "Löschbestätigung")
    assert entry.detail == f"Einwilligung {consent_id}: {SUMMARY}"
    assert service.datenschutz.verify_audit_chain(DPO).intact


def test_a_confirmation_of_a_holder_the_revocation_did_not_ask_is_refused_kept_and_changes_nothing(
        case_worker: Path, service: CaseServices, case_settings: Settings) -> None:
    cid, consent_id = revoked(service)
    before = service.repository.get(cid)
    [event_id] = publish(case_settings, erased(cid, consent_id, case_settings.node_id,
                                               erased_by_node="caritas-mettmann",
                                               erased_by_org="caritas-mettmann"),
                         sender="caritas-mettmann")
    assert polled(lambda: f"event {event_id} (kim.conference.v1.CaseDataErased) from "
                      "caritas-mettmann refused [sender-not-allowed]"
                      in case_worker.read_text()), case_worker.read_text()[-3000:]
    # Refused as untrusted, and kept for the operator with its reason (not acknowledged and gone).
    assert polled(lambda: dead_letter_of(case_settings, event_id) is not None), \
        case_worker.read_text()[-3000:]
    kept = dead_letter_of(case_settings, event_id)
    assert kept is not None and kept.handler == "case.on_case_data_erased"
    assert "sender-not-allowed" in kept.reason, kept.reason
    after = service.repository.get(cid)
    assert after.version == before.version and after.consents[0].erasure_outstanding
    assert AuditDocument.objects(case_id=cid, call="ConfirmErasure").count() == 0
