"""The case worker as `kim node worker` runs it (a real `nameko run` on the session's vhost):
conference decisions applied once per event id, retention deletion in the audit trail, and
the monitoring figures on the real store."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from kim.conference.v1 import events_pb2 as conference
from kim.conference.v1 import types_pb2 as conference_types
from kim.runtime import events
from kim.runtime.amqp import Publisher
from kim.runtime.settings import Settings
from services.case.domain import commands as c
from services.case.domain.policy import Actor
from services.case.domain.vocabulary import CaseStatus
from services.case.repository import AuditDocument, CaseChangeDocument, CaseDocument, MongoCaseRepository
from services.case.service import CaseService
from tests.support import servers, signing

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "unit" / "case"))
from case_factories import make_proposal

OWNER = "stadt-hilden"
CM = Actor("cm.hilden", OWNER, frozenset({"case_manager"}))
KI = Actor("koord.kreis", "kreis-mettmann", frozenset({"coordinator"}))


@pytest.fixture(scope="module")
def case_worker(case_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """`kim node worker` for the case service of the test node; retention every second with a
    Löschfrist of two seconds, so the test can watch it work."""
    log = tmp_path_factory.mktemp("case-worker") / "worker.log"
    extra = {"KIM_GRPC_SERVICES": "case",
           "KIM_ORGANIZATION_ID": OWNER, "KIM_CASE_RETENTION_DAYS": str(2 / 86400),
           "KIM_CASE_RETENTION_MODE": "delete", "KIM_CASE_RETENTION_INTERVAL_SECONDS": "1"}
    # The Kreis's node as the directory knows it: the decisions and Zielgruppen below are its.
    signing.trust(case_settings, {"kreis-mettmann": ("kreis-mettmann", "district")})
    with servers.running_worker(case_settings, log, {"CaseAdmissionDecided": 1}, extra):
        yield log


@pytest.fixture
def service(repository: MongoCaseRepository, case_settings: Settings) -> CaseService:
    return CaseService(repository, OWNER)


def in_review(service: CaseService) -> str:
    case = service.propose(CM, make_proposal(owner_org=OWNER, coordination_org="kreis-mettmann"))
    service.execute(CM, c.RecordConsent(case.case_id, "einwilligung", "kreis-mettmann", ("fallkonferenz",),
                                        ("falldokumentation",), case.created_at.date()))
    service.execute(CM, c.SubmitForReview(case.case_id))
    return case.case_id


def wait_until(condition: object, seconds: float = 20) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.2)
    return False


def test_the_same_admission_delivered_twice_changes_the_case_once(
    case_worker: Path, service: CaseService, case_settings: Settings,
) -> None:
    cid = in_review(service)
    before = service.repository.get(cid).version
    message = conference.CaseAdmissionDecided(
        context=conference.CaseDecisionContext(
            conference_id="fk-2026-03", case_id=cid, owner_node=case_settings.node_id, owner_org=OWNER,
            decision_reference="Fallkonferenz vom 04.03.2026", decided_by="koord.kreis"),
        case_manager="cm.hilden", case_manager_org=OWNER)
    envelope = events.pack(message, source_service="conference", source_node="kreis-mettmann")
    with Publisher(case_settings.amqp_uri) as publisher:
        publisher.publish("conference.events", envelope.type, signing.signed_body(envelope), envelope.id)
        assert wait_until(lambda: service.repository.get(cid).status is CaseStatus.ADMITTED), \
            case_worker.read_text()[-3000:]
        # A redelivery after a lost acknowledgement, once the first has been applied.
        publisher.publish("conference.events", envelope.type, signing.signed_body(envelope), envelope.id)
    assert wait_until(lambda: f"decision {envelope.id} already applied" in case_worker.read_text()), \
        case_worker.read_text()[-3000:]
    case = service.repository.get(cid)
    assert case.version == before + 1 and len(case.decisions) == 1 and case.case_manager == "cm.hilden"
    assert CaseChangeDocument.objects(cause=envelope.id).count() == 1
    assert AuditDocument.objects(case_id=cid, call="AdmitCase").count() == 1

    referral = conference.CaseReferralDecided(context=message.context,
                                              target=conference_types.REFERRAL_TARGET_MBE)
    late = events.pack(referral, source_service="conference", source_node="kreis-mettmann")
    with Publisher(case_settings.amqp_uri) as publisher:
        publisher.publish("conference.events", late.type, signing.signed_body(late), late.id)
    assert wait_until(lambda: f"decision {late.id} (kim.conference.v1.CaseReferralDecided) not applied"
                      in case_worker.read_text())
    assert service.repository.get(cid).status is CaseStatus.ADMITTED


def test_retention_deletes_a_closed_case_after_its_period_and_logs_it(
    case_worker: Path, service: CaseService,
) -> None:
    cid = in_review(service)
    service.execute(KI, c.AdmitCase(cid, "cm.hilden", OWNER))
    service.execute(CM, c.CloseCase(cid, "moved_away"))
    open_case = in_review(service)
    assert wait_until(lambda: AuditDocument.objects(case_id=cid, call="RetentionDelete").count()), \
        case_worker.read_text()[-3000:]
    assert not CaseDocument.objects(case_id=cid).count()
    assert not CaseChangeDocument.objects(aggregate_id=cid).count()
    [entry] = AuditDocument.objects(case_id=cid, call="RetentionDelete")
    assert entry.purpose == "Löschfrist abgelaufen" and entry.actor_subject == "kim-retention"
    assert CaseDocument.objects(case_id=open_case).count() == 1, "only closed cases are ever deleted"
    dpo = Actor("dsb.hilden", OWNER, frozenset({"data_protection_officer"}))
    assert service.verify_audit(dpo).intact


def test_monitoring_figures_are_sums_and_counts_of_the_store(service: CaseService) -> None:
    first = in_review(service)
    in_review(service)
    service.execute(KI, c.AdmitCase(first, "cm.hilden", OWNER))
    service.execute(CM, c.StartAssessment(first))
    service.execute(CM, c.RecordBarrier(first, ("aufenthg",), "wartezeit", "Termin erst in 6 Monaten"))
    service.execute(CM, c.RecordBarrier(first, ("sgb_ii",), "wartezeit", "Bescheid fehlt"))
    service.execute(CM, c.CloseCase(first, "moved_away"))
    figures = service.figures()
    assert figures["status"] == {"closed": 1, "in_review": 1}
    assert sum(figures["zielgruppe"].values()) == 2
    totals = figures["totals"]
    assert totals["barrier_wartezeit"] == 2 and totals["barrier_sprache"] == 0
    assert totals["closed"] == 1 and totals["decided"] == 1 and totals["days_open"] == 0
    assert totals["handlungsfeld_aufenthalt_identitaet"] + totals["handlungsfeld_sprache"] >= 2


def test_retention_anonymises_when_so_configured(service: CaseService) -> None:
    from services.case.settings import RetentionMode
    cid = in_review(service)
    service.execute(KI, c.AdmitCase(cid, "cm.hilden", OWNER))
    service.execute(CM, c.AddJournalNote(cid, "Frau H. hat angerufen"))
    service.execute(CM, c.CloseCase(cid, "discontinued"))
    assert service.apply_retention(timedelta(days=1), RetentionMode.ANONYMISE) == []
    assert service.apply_retention(timedelta(0), RetentionMode.ANONYMISE) == [cid]
    kept = service.repository.get(cid)
    assert kept.status is CaseStatus.CLOSED and kept.journal[0].text == "[gelöscht]"
    assert CaseDocument.objects.get(case_id=cid).person_erased
    assert service.figures()["status"] == {"closed": 1}
    assert service.apply_retention(timedelta(0), RetentionMode.ANONYMISE) == [], "once is enough"


def test_a_new_zielgruppen_version_re_checks_the_undecided_proposals_once(
    case_worker: Path, service: CaseService, case_settings: Settings,
) -> None:
    undecided = in_review(service)
    proposed = service.propose(CM, make_proposal(owner_org=OWNER, coordination_org="kreis-mettmann")).case_id
    decided = in_review(service)
    service.execute(KI, c.AdmitCase(decided, "cm.hilden", OWNER))
    # Version 2 of the Lenkungsgruppe: Geduldete from 25 on (the factory's person is 34 and geduldet).
    definition = conference_types.ZielgruppeDefinition(
        key="geduldete_ab_25", name="Geduldete ab 25", min_age=25,
        residence_kinds=[conference_types.RESIDENCE_STATUS_KIND_DULDUNG])
    message = conference.ZielgruppenDefined(
        beschluss_id="lg-2026-2", coordination_org="kreis-mettmann",
        catalogue=conference_types.ZielgruppenCatalogue(
            version=2, decided_on="2026-03-04", decision_reference="Lenkungsgruppe 2/2026",
            definitions=[definition]))
    envelope = events.pack(message, source_service="conference", source_node="kreis-mettmann")
    with Publisher(case_settings.amqp_uri) as publisher:
        publisher.publish("conference.events", envelope.type, signing.signed_body(envelope), envelope.id)
        assert wait_until(lambda: AuditDocument.objects(call="RecheckEligibility").count() == 2), \
            case_worker.read_text()[-3000:]
        publisher.publish("conference.events", envelope.type, signing.signed_body(envelope), envelope.id)
    assert wait_until(lambda: "Zielgruppen version 2 known" in case_worker.read_text()), \
        case_worker.read_text()[-3000:]
    for cid in (undecided, proposed):
        case = service.repository.get(cid)
        assert (case.eligibility.catalogue_version, case.eligibility.matched) == (2, ("geduldete_ab_25",))
        [entry] = AuditDocument.objects(case_id=cid, call="RecheckEligibility")
        assert (entry.actor_subject, entry.purpose, entry.detail) == (
            "kim-zielgruppen", "Neue Zielgruppen-Version 2", "Zielgruppen: geduldete_ab_25")
    assert service.repository.get(decided).eligibility.catalogue_version == 1, \
        "a decided case keeps the check its decision was based on"
    assert AuditDocument.objects(call="RecheckEligibility").count() == 2, "the redelivery re-checked nothing"
