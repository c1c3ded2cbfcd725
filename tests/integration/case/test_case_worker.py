"""The case worker as `kim node worker` runs it (a real `nameko run` on the session's vhost):
conference decisions applied once per event id, retention deletion in the audit trail, and
the monitoring figures on the real store."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from bson import json_util

from kim.conference.v1 import events_pb2 as conference, types_pb2 as conference_types
from kimnetz.runtime import events
from kimnetz.runtime.amqp import Publisher
from kimnetz.runtime.settings import Settings
from services.case.composition import CaseServices, case_services
from services.case.domain import commands as c
from services.case.domain.policy import Actor
from services.case.domain.vocabulary import CaseStatus
from services.case.repository import AuditDocument, CaseChangeDocument, CaseDocument, MongoCaseRepository
from tests.support import servers, signing
from tests.support.dead_letter_store import dead_letter_of
from tests.support.waiting import polled

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
def service(repository: MongoCaseRepository, case_settings: Settings) -> CaseServices:
    return case_services(repository, node_org=OWNER)


def in_review(service: CaseServices) -> str:
    case = service.fallvorschlaege.propose_case(CM, make_proposal(owner_org=OWNER,
                                                                  coordination_org="kreis-mettmann"))
    service.einwilligungen.record_consent(CM, c.RecordConsent(case.case_id, "einwilligung", "kreis-mettmann",
                                                              ("fallkonferenz",), ("falldokumentation",),
                                                              case.created_at.date()))
    service.fallvorschlaege.submit_for_review(CM, c.SubmitForReview(case.case_id))
    return case.case_id


def test_the_same_admission_delivered_twice_changes_the_case_once(
    case_worker: Path, service: CaseServices, case_settings: Settings,
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
        assert polled(lambda: service.repository.get(cid).status is CaseStatus.ADMITTED), \
            case_worker.read_text()[-3000:]
        # A redelivery after a lost acknowledgement, once the first has been applied.
        publisher.publish("conference.events", envelope.type, signing.signed_body(envelope), envelope.id)
    assert polled(lambda: f"decision {envelope.id} already applied" in case_worker.read_text()), \
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
    # A refusal that can never apply: kept in the dead-letter store with its reason, not dropped.
    assert polled(lambda: dead_letter_of(case_settings, late.id) is not None), \
        case_worker.read_text()[-3000:]
    kept = dead_letter_of(case_settings, late.id)
    assert kept is not None and kept.event_type == late.type and kept.attempts == 1
    assert kept.handler == "case.on_referral_decided" and kept.reason, kept
    assert service.repository.get(cid).status is CaseStatus.ADMITTED


def test_retention_deletes_a_closed_case_after_its_period_and_logs_it(
    case_worker: Path, service: CaseServices,
) -> None:
    cid = in_review(service)
    service.fallvorschlaege.admit_case(KI, c.AdmitCase(cid, "cm.hilden", OWNER))
    service.fallarbeit.close_case(CM, c.CloseCase(cid, "moved_away"))
    open_case = in_review(service)
    assert polled(lambda: AuditDocument.objects(case_id=cid, call="RetentionDelete").count()), \
        case_worker.read_text()[-3000:]
    assert not CaseDocument.objects(case_id=cid).count()
    # Of the case's history only the erase request to the Kreis is left, waiting for the relay
    # (this node runs none here): a change without any field of the case.
    [left] = CaseChangeDocument.objects(aggregate_id=cid)
    assert left.fields == {"erased": True, "version": left.version}
    assert "kim.case.v1.CaseErased" in [e.routing_key for e in left.outbox]
    [entry] = AuditDocument.objects(case_id=cid, call="RetentionDelete")
    assert entry.purpose == "Löschfrist abgelaufen" and entry.actor_subject == "kim-retention"
    assert entry.detail.endswith("Löschersuchen an: kreis-mettmann")
    assert CaseDocument.objects(case_id=open_case).count() == 1, "only closed cases are ever deleted"
    dpo = Actor("dsb.hilden", OWNER, frozenset({"data_protection_officer"}))
    assert service.datenschutz.verify_audit_chain(dpo).intact


def test_monitoring_figures_are_sums_and_counts_of_the_store(service: CaseServices) -> None:
    first = in_review(service)
    in_review(service)
    service.fallvorschlaege.admit_case(KI, c.AdmitCase(first, "cm.hilden", OWNER))
    service.fallarbeit.start_assessment(CM, c.StartAssessment(first))
    service.fallarbeit.record_barrier(CM, c.RecordBarrier(first, ("aufenthg",), "wartezeit",
                                                          "Termin erst in 6 Monaten"))
    service.fallarbeit.record_barrier(CM, c.RecordBarrier(first, ("sgb_ii",), "wartezeit", "Bescheid fehlt"))
    service.fallarbeit.close_case(CM, c.CloseCase(first, "moved_away"))
    figures = service.verbund.figures()
    assert figures["status"] == {"closed": 1, "in_review": 1}
    assert sum(figures["zielgruppe"].values()) == 2
    totals = figures["totals"]
    assert totals["barrier_wartezeit"] == 2 and totals["barrier_sprache"] == 0
    assert totals["closed"] == 1 and totals["decided"] == 1 and totals["days_open"] == 0
    assert totals["handlungsfeld_aufenthalt_identitaet"] + totals["handlungsfeld_sprache"] >= 2


def test_retention_anonymises_when_so_configured(service: CaseServices) -> None:
    from services.case.settings import RetentionMode
    cid = in_review(service)
    service.fallvorschlaege.admit_case(KI, c.AdmitCase(cid, "cm.hilden", OWNER))
    service.fallarbeit.add_journal_note(CM, c.AddJournalNote(cid, "Frau H. hat angerufen"))
    service.fallarbeit.close_case(CM, c.CloseCase(cid, "discontinued"))
    assert service.datenschutz.apply_retention(timedelta(days=1), RetentionMode.ANONYMISE) == []
    assert service.datenschutz.apply_retention(timedelta(0), RetentionMode.ANONYMISE) == [cid]
    kept = service.repository.get(cid)
    assert kept.status is CaseStatus.CLOSED and kept.journal[0].text == "[gelöscht]"
    assert CaseDocument.objects.get(case_id=cid).person_erased
    assert service.verbund.figures()["status"] == {"closed": 1}
    assert service.datenschutz.apply_retention(timedelta(0), RetentionMode.ANONYMISE) == [], "once is enough"


PERSON_DETAILS = ("Amina", "Haddad", "+49 2103 12345", "amina@example.org")


def _case_database_text(case_id: str) -> dict[str, str]:
    """Every document of every collection of the case database that names `case_id`, as text
    by collection (dates in ISO form), the collections scanned included as keys."""
    database = CaseDocument._get_db()
    found: dict[str, str] = {}
    for name in database.list_collection_names():
        documents = [d for d in database[name].find() if case_id in json_util.dumps(d)]
        found[name] = json_util.dumps(documents, ensure_ascii=False)
    return found


@pytest.mark.parametrize("mode", ["anonymise", "delete"])
def test_retention_leaves_nothing_of_the_person_in_any_collection(service: CaseServices, mode: str) -> None:
    from services.case.settings import RetentionMode
    cid = in_review(service)
    before = service.repository.get(cid)
    reasons = [r for m in before.eligibility.mismatches for r in m.reasons]
    birth = service.repository.get_person(cid).birth_date.isoformat()
    service.fallvorschlaege.admit_case(KI,
                                       c.AdmitCase(cid, "cm.hilden", OWNER, "FK GEHEIM-ref", "GEHEIM-admit"))
    service.fallarbeit.start_assessment(CM, c.StartAssessment(cid))
    service.fallarbeit.record_need(CM, c.RecordNeed(cid, "ausbildung", "GEHEIM-need", "GEHEIM-resources"))
    service.fallarbeit.start_planning(CM, c.StartPlanning(cid))
    goal = service.fallarbeit.add_goal(CM, c.AddGoal(cid, "GEHEIM-goal", "ausbildung")).goals[0]
    service.fallarbeit.add_step(CM,
                                c.AddStep(cid, goal.goal_id, "GEHEIM-step", "GEHEIM-responsible", "aufenthg"))
    service.fallarbeit.record_barrier(CM, c.RecordBarrier(cid, ("aufenthg",), "wartezeit", "GEHEIM-barrier"))
    service.fallarbeit.add_journal_note(CM, c.AddJournalNote(cid, "Frau Haddad GEHEIM-journal"))
    service.fallarbeit.close_case(CM, c.CloseCase(cid, "other", "GEHEIM-close",
                                                  (c.GoalOutcomeInput(goal.goal_id, "achieved",
                                                                      "GEHEIM-outcome"),)))
    needles = [*PERSON_DETAILS, birth, "GEHEIM", *reasons]
    written = _case_database_text(cid)
    assert all(any(n in text for text in written.values()) for n in needles), "the counter-check"

    assert service.datenschutz.apply_retention(timedelta(0), RetentionMode(mode)) == [cid]
    left = _case_database_text(cid)
    found = {n: [name for name, text in left.items() if n in text] for n in needles}
    assert not {n: where for n, where in found.items() if where}, f"scanned {sorted(left)}"
    assert {"cases", "case_changes", "audit"} <= set(left)
    if mode == "anonymise":
        assert service.verbund.figures()["totals"]["barrier_wartezeit"] == 1, "the figures keep counting it"


def test_a_new_zielgruppen_version_re_checks_the_undecided_proposals_once(
    case_worker: Path, service: CaseServices, case_settings: Settings,
) -> None:
    undecided = in_review(service)
    proposed = service.fallvorschlaege.propose_case(
        CM, make_proposal(owner_org=OWNER, coordination_org="kreis-mettmann")).case_id
    decided = in_review(service)
    service.fallvorschlaege.admit_case(KI, c.AdmitCase(decided, "cm.hilden", OWNER))
    # Version 2 of the Lenkungsgruppe: Geduldete from 25 on (the factory's person is 34 and geduldet).
    definition = conference_types.ZielgruppeDefinition(
        key="geduldete_ab_25", name="Geduldete ab 25", min_age=25,
        residence_kinds=[conference_types.RESIDENCE_STATUS_KIND_DULDUNG])
    message = conference.ZielgruppenDefined(
        beschluss_id="lg-2026-2", coordination_org="kreis-mettmann",
        catalogue=conference_types.ZielgruppenCatalogue(
            version=2,
            decided_on=conference_types.Date(year=2026, month=3, day=4),
            decision_reference="Lenkungsgruppe 2/2026",
            definitions=[definition]))
    envelope = events.pack(message, source_service="conference", source_node="kreis-mettmann")
    with Publisher(case_settings.amqp_uri) as publisher:
        publisher.publish("conference.events", envelope.type, signing.signed_body(envelope), envelope.id)
        assert polled(lambda: AuditDocument.objects(call="RecheckEligibility").count() == 2), \
            case_worker.read_text()[-3000:]
        publisher.publish("conference.events", envelope.type, signing.signed_body(envelope), envelope.id)
    assert polled(lambda: "Zielgruppen version 2 known" in case_worker.read_text()), \
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


def test_the_kreis_confirming_a_retention_erasure_is_recorded_once_in_the_audit_trail(
    service: CaseServices,
) -> None:
    from datetime import UTC, datetime

    from kimnetz.runtime.event_trust import Sender
    from services.case.settings import RetentionMode
    cid = in_review(service)
    service.fallvorschlaege.admit_case(KI, c.AdmitCase(cid, "cm.hilden", OWNER))
    service.fallarbeit.close_case(CM, c.CloseCase(cid, "moved_away"))
    assert service.datenschutz.apply_retention(timedelta(0), RetentionMode.DELETE) == [cid]
    report = c.ErasureReport("this-node", c.ConfirmErasure(
        cid, "", "kreis-node", "kreis-mettmann", datetime.now(UTC), "Fallvorschlag gelöscht"))
    kreis = Sender("kreis-node", "kreis-mettmann", "district")  # verified by the worker's trust
    assert service.einwilligungen.confirm_erasure(report, "event-1", kreis) is None
    assert service.einwilligungen.confirm_erasure(report, "event-2",
                                                  kreis) is None  # the same node answering again
    [entry] = AuditDocument.objects(case_id=cid, call="ConfirmRetentionErasure")
    assert (entry.actor_node, entry.actor_org) == ("kreis-node", "kreis-mettmann")
    assert "Fallvorschlag gelöscht" in entry.detail
    unknown = c.ErasureReport("this-node", c.ConfirmErasure(
        "nie-gesehen", "", "kreis-node", "kreis-mettmann", datetime.now(UTC), ""))
    service.einwilligungen.confirm_erasure(unknown, "event-3", kreis)
    assert not AuditDocument.objects(case_id="nie-gesehen").count(), "no retention erased it here"
