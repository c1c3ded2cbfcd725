"""The case worker never drops a decision (issue 12, item 3): a version conflict with a
concurrent writer is retried and applied once; a decision that cannot apply yet is kept in the
dead-letter store with its reason and applied when the operator replays it after the cause is
mended (`kim node dead-letters --replay`). Real `nameko run`, RabbitMQ and FerretDB."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from kim.conference.v1 import events_pb2 as conference
from kimnetz.runtime import events
from kimnetz.runtime.amqp import Publisher
from kimnetz.runtime.settings import Settings
from services.case.composition import CaseServices, case_services
from services.case.domain import commands as c
from services.case.domain.policy import Actor
from services.case.domain.vocabulary import CaseStatus
from services.case.repository import AuditDocument, CaseChangeDocument, MongoCaseRepository
from tests.support import faults, servers, signing
from tests.support.dead_letter_store import dead_letter_of
from tests.support.waiting import polled

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "unit" / "case"))
from case_factories import make_proposal

OWNER = "stadt-hilden"
COORDINATION = "kreis-mettmann"
CM = Actor("cm.hilden", OWNER, frozenset({"case_manager"}))


@pytest.fixture(scope="module")
def conflicting_worker(case_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    log = tmp_path_factory.mktemp("conflicting-case-worker") / "worker.log"
    # The decisions come signed from the Kreis's node, which the directory lists as such.
    signing.trust(case_settings, {COORDINATION: (COORDINATION, "district")})
    extra = {"KIM_GRPC_SERVICES": "case", "KIM_ORGANIZATION_ID": OWNER,
             "KIM_EVENT_RETRY_FIRST_MS": "300", "KIM_EVENT_RETRY_MAX_MS": "2000"}
    process = faults.start_worker(case_settings, log, {"CaseAdmissionDecided": 1}, extra,
                                  services=["tests.support.conflicting_case_worker:ConflictingCaseWorker"])
    yield log
    faults.stop_worker(process)


@pytest.fixture
def service(repository: MongoCaseRepository) -> CaseServices:
    return case_services(repository, node_org=OWNER)


def proposed(service: CaseServices) -> str:
    return service.fallvorschlaege.propose_case(CM, make_proposal(owner_org=OWNER,
                                                                  coordination_org=COORDINATION)).case_id


def submit(service: CaseServices, cid: str) -> None:
    case = service.repository.get(cid)
    service.einwilligungen.record_consent(CM, c.RecordConsent(cid, "einwilligung", COORDINATION,
                                                              ("fallkonferenz",),
                                                              ("falldokumentation",), case.created_at.date()))
    service.fallvorschlaege.submit_for_review(CM, c.SubmitForReview(cid))


def admission(cid: str, settings: Settings) -> events.EventEnvelope:
    message = conference.CaseAdmissionDecided(
        context=conference.CaseDecisionContext(
            conference_id="fk-2026-03", case_id=cid, owner_node=settings.node_id, owner_org=OWNER,
            decision_reference="Fallkonferenz vom 04.03.2026", decided_by="koord.kreis"),
        case_manager="cm.hilden", case_manager_org=OWNER)
    return events.pack(message, source_service="conference", source_node=COORDINATION)


def publish(settings: Settings, envelope: events.EventEnvelope) -> None:
    with Publisher(settings.amqp_uri) as publisher:
        publisher.publish("conference.events", envelope.type, signing.signed_body(envelope), envelope.id)


def test_a_decision_that_meets_a_version_conflict_is_applied_after_a_retry(
        conflicting_worker: Path, service: CaseServices, case_settings: Settings) -> None:
    cid = proposed(service)
    submit(service, cid)
    envelope = admission(cid, case_settings)
    publish(case_settings, envelope)
    assert polled(lambda: service.repository.get(cid).status is CaseStatus.ADMITTED), \
        conflicting_worker.read_text()[-3000:]
    log = conflicting_worker.read_text()
    assert f"concurrent write of case {cid} before event {envelope.id}" in log
    assert f"event {envelope.id} failed for a passing reason" in log, "the conflict was retried"
    case = service.repository.get(cid)
    assert len(case.decisions) == 1 and case.case_manager == "cm.hilden"
    assert CaseChangeDocument.objects(cause=envelope.id).count() == 1
    # The audit entry follows the case's write: wait for it, then it must be the only one.
    assert polled(
        lambda: AuditDocument.objects(case_id=cid, call="AdmitCase", allowed=True).count() >= 1)
    assert AuditDocument.objects(case_id=cid, call="AdmitCase", allowed=True).count() == 1, "applied once"
    assert dead_letter_of(case_settings, envelope.id) is None


def test_a_decision_that_cannot_apply_yet_is_kept_and_applied_when_replayed(
        conflicting_worker: Path, service: CaseServices, case_settings: Settings) -> None:
    cid = proposed(service)  # not submitted for review: an admission cannot apply
    envelope = admission(cid, case_settings)
    publish(case_settings, envelope)
    assert polled(lambda: dead_letter_of(case_settings, envelope.id) is not None), \
        conflicting_worker.read_text()[-3000:]
    kept = dead_letter_of(case_settings, envelope.id)
    assert kept is not None and kept.handler == "case.on_admission_decided" and kept.attempts == 1
    # The consent gate answers a decision on a case not submitted to the Kreis like a missing
    # case (services/case/domain/policy.py): NotFound, kept with its reason.
    assert kept.error == "NotFound" and kept.reason, kept
    assert service.repository.get(cid).status is CaseStatus.PROPOSED

    submit(service, cid)  # the cause is mended
    replay = subprocess.run(
        [str(Path(sys.executable).with_name("kim")), "node", "dead-letters", case_settings.node_id,
         "--replay", kept.entry_id],
        env={**servers.node_environment(case_settings), "COLUMNS": "200"},
        capture_output=True, text=True, timeout=120, check=False)
    assert replay.returncode == 0, replay.stdout + replay.stderr
    assert polled(lambda: service.repository.get(cid).status is CaseStatus.ADMITTED), \
        conflicting_worker.read_text()[-3000:]
    # The audit entry follows the case's write, and the entry is closed once the handler is done:
    # wait for both, then the audit entry must be the only one.
    assert polled(lambda: AuditDocument.objects(case_id=cid, call="AdmitCase", allowed=True).count() >= 1)
    assert polled(lambda: dead_letter_of(case_settings, envelope.id) is None), \
        "the entry is closed as replayed"
    assert AuditDocument.objects(case_id=cid, call="AdmitCase", allowed=True).count() == 1
