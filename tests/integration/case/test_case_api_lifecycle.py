"""The whole Fall lifecycle over the real gRPC api with real tokens, the consent gating, and the
audit trail it leaves (read and verified by the data protection officer)."""

from __future__ import annotations

import time
from datetime import timedelta

import grpc
import pytest

from kim.case.v1 import case_pb2, types_pb2
from kimnetz.runtime.settings import Settings
from services.case.domain.vocabulary import CaseStatus
from services.case.repository import CaseChangeDocument
from tests.integration.case.case_requests import conference_consent, consent, day, proposal, status, today
from tests.integration.case.conftest import COORDINATION, OWNER, STRANGER, Caller, CaseApi

T = types_pb2
CM = Caller(OWNER, "case_manager")
DPO = Caller(OWNER, "data_protection_officer")
KI = Caller(COORDINATION, "coordinator")
LIAISON = Caller(COORDINATION, "immigration_liaison")


def outbox_drained(case_id: str, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not any(c.outbox for c in CaseChangeDocument.objects(aggregate_id=case_id).only("outbox")):
            return True
        time.sleep(0.05)
    return False


def test_a_case_goes_from_fallvorschlag_to_abschluss_and_every_step_is_audited(
    case_api: CaseApi, fresh_store: None, case_settings: Settings,
) -> None:
    case = case_api.call("ProposeCase", proposal(), CM)
    cid = case.case_id
    assert status(case.status) is CaseStatus.PROPOSED and case.owner_org == OWNER
    assert case.eligibility.matched == ["geduldete_gestattete_ueber_27"]
    # The relay was nudged by the save: the event left long before the 2 s sweep.
    assert outbox_drained(cid, 1.5)

    error = case_api.fails("SubmitForReview", case_pb2.SubmitForReviewRequest(case_id=cid), CM)
    assert error.code() is grpc.StatusCode.FAILED_PRECONDITION and "Einwilligung" in error.details()
    case_api.call("RecordConsent", conference_consent(cid), CM)
    case_api.call("SubmitForReview", case_pb2.SubmitForReviewRequest(case_id=cid, note="FK März"), CM)

    brief = case_api.call("GetCaseBrief", case_pb2.GetCaseBriefRequest(pseudonym=case.pseudonym), LIAISON)
    assert brief.case_id == cid and brief.age_band == "28 bis 39"
    admitted = case_api.call("AdmitCase", case_pb2.AdmitCaseRequest(
        case_id=cid, case_manager="cm.hilden", case_manager_org=OWNER, decision_reference="FK 2026/03"), KI)
    assert status(admitted.status) is CaseStatus.ADMITTED and admitted.case_manager == "cm.hilden"

    case_api.call("StartAssessment", case_pb2.CaseRef(case_id=cid), CM)
    case_api.call("RecordNeed", case_pb2.RecordNeedRequest(
        case_id=cid, handlungsfeld=T.HANDLUNGSFELD_AUFENTHALT_IDENTITAET, need="Identität ungeklärt",
        priority=T.PRIORITY_HIGH), CM)
    case_api.call("StartPlanning", case_pb2.CaseRef(case_id=cid), CM)
    planned = case_api.call("AddGoal", case_pb2.AddGoalRequest(
        case_id=cid, title="Identität klären", handlungsfeld=T.HANDLUNGSFELD_AUFENTHALT_IDENTITAET,
        due_on=day(today() + timedelta(days=90))), CM)
    goal_id = planned.goals[0].goal_id
    with_step = case_api.call("AddStep", case_pb2.AddStepRequest(
        case_id=cid, goal_id=goal_id, description="Passbeschaffung bei der Botschaft",
        responsible="Case Management", rechtskreis=T.RECHTSKREIS_AUFENTHG), CM)
    active = case_api.call("ActivatePlan", case_pb2.CaseRef(case_id=cid), CM)
    assert status(active.status) is CaseStatus.ACTIVE and active.HasField("next_review_due")

    case_api.call("RecordProgress", case_pb2.RecordProgressRequest(
        case_id=cid, goal_id=goal_id, note="Termin bei der Botschaft vereinbart"), CM)
    case_api.call("FinishStep", case_pb2.FinishStepRequest(
        case_id=cid, goal_id=goal_id, step_id=with_step.goals[0].steps[0].step_id), CM)
    barrier = case_api.call("RecordBarrier", case_pb2.RecordBarrierRequest(
        case_id=cid, rechtskreise=[T.RECHTSKREIS_AUFENTHG, T.RECHTSKREIS_SGB_III],
        category=T.BARRIER_CATEGORY_RECHTLICHE_HUERDE, description="Duldung sperrt Ausbildungsförderung"), CM)
    case_api.call("ChangeBarrierStatus", case_pb2.ChangeBarrierStatusRequest(
        case_id=cid, barrier_id=barrier.barriers[0].barrier_id, status=T.BARRIER_STATUS_ESCALATED), CM)
    case_api.call("RecordReview", case_pb2.RecordReviewRequest(
        case_id=cid, held_on=day(today()), note="Quartalsbesprechung"), KI)
    case_api.call("AddJournalNote", case_pb2.AddJournalNoteRequest(case_id=cid, text="Telefonat mit ABH"), CM)
    closed = case_api.call("CloseCase", case_pb2.CloseCaseRequest(
        case_id=cid, reason=T.CLOSURE_REASON_GOALS_ACHIEVED,
        outcomes=[case_pb2.GoalOutcomeInput(goal_id=goal_id, outcome=T.GOAL_OUTCOME_ACHIEVED)]), CM)
    assert status(closed.status) is CaseStatus.CLOSED
    assert closed.goals[0].outcome == T.GOAL_OUTCOME_ACHIEVED and closed.status_label == "abgeschlossen"
    person = case_api.call("GetPerson", case_pb2.GetPersonRequest(case_id=cid, purpose="Abschlussbericht"),
                           CM)
    assert person.family_name == "Haddad" and person.household_children == 2

    verified = case_api.call("VerifyAuditChain", case_pb2.VerifyAuditChainRequest(), DPO)
    # 19 successful calls; the submit refused for want of consent disclosed and changed nothing.
    assert verified.intact and verified.checked == 19
    entries = case_api.call("ListAuditEntries", case_pb2.ListAuditEntriesRequest(case_id=cid), DPO).entries
    calls = [(e.call, e.actor_org, e.allowed) for e in entries]
    assert ("SubmitForReview", OWNER, False) not in calls  # a state rule, not a refusal of access
    assert ("GetCaseBrief", COORDINATION, True) in calls and ("AdmitCase", COORDINATION, True) in calls
    read = next(e for e in entries if e.call == "GetPerson")
    assert (read.actor_org, read.purpose) == (OWNER, "Abschlussbericht")
    assert "case_manager" in read.actor_roles
    assert read.occurred_at.seconds > 0 and read.entry_hash and read.previous_hash


def test_a_coordinator_reads_a_shared_case_only_while_a_consent_covers_it(
    case_api: CaseApi, fresh_store: None,
) -> None:
    cid = case_api.call("ProposeCase", proposal(), CM).case_id
    refused = case_api.fails("GetCase", case_pb2.GetCaseRequest(case_id=cid), KI)
    # Answered exactly like a missing case (issue 12; before: PERMISSION_DENIED).
    assert refused.code() is grpc.StatusCode.NOT_FOUND
    assert refused.details() == "Fall nicht gefunden."

    recorded = case_api.call("RecordConsent", conference_consent(cid), CM)
    assert case_api.call("GetCase", case_pb2.GetCaseRequest(case_id=cid), KI).case_id == cid
    # The consent covers the case documentation, not the person's Stammdaten.
    assert case_api.fails("GetPerson", case_pb2.GetPersonRequest(case_id=cid), KI).code() \
        is grpc.StatusCode.NOT_FOUND

    consent_id = recorded.consents[0].consent_id
    case_api.call("RevokeConsent", case_pb2.RevokeConsentRequest(
        case_id=cid, consent_id=consent_id, revoked_on=day(today()), reason="Widerruf schriftlich"), CM)
    assert case_api.fails("GetCase", case_pb2.GetCaseRequest(case_id=cid), KI).code() \
        is grpc.StatusCode.NOT_FOUND
    # A stranger never learns more than of a missing case, whatever consents exist.
    stranger = Caller(STRANGER, "coordinator")
    assert case_api.fails("GetCaseBrief", case_pb2.GetCaseBriefRequest(case_id=cid), stranger).details() \
        == "Fall nicht gefunden."


def test_a_transfer_to_another_organisation_needs_a_consent_for_the_handover(
    case_api: CaseApi, fresh_store: None,
) -> None:
    cid = case_api.call("ProposeCase", proposal(), CM).case_id
    case_api.call("RecordConsent", conference_consent(cid), CM)
    case_api.call("SubmitForReview", case_pb2.SubmitForReviewRequest(case_id=cid), CM)
    case_api.call("AdmitCase", case_pb2.AdmitCaseRequest(
        case_id=cid, case_manager="cm.hilden", case_manager_org=OWNER), KI)
    handover = case_pb2.TransferCaseRequest(case_id=cid, to_org=STRANGER, to_case_manager="cm.caritas",
                                           reason="Umzug nach Langenfeld")
    error = case_api.fails("TransferCase", handover, CM)
    assert error.code() is grpc.StatusCode.FAILED_PRECONDITION and "Einwilligung" in error.details()
    handover_consent = consent(cid, STRANGER, [T.CONSENT_PURPOSE_FALLUEBERGABE],
                               [T.DATA_CATEGORY_STAMMDATEN, T.DATA_CATEGORY_FALLDOKUMENTATION])
    case_api.call("RecordConsent", handover_consent, CM)
    moved = case_api.call("TransferCase", handover, CM)
    # Hilden handed the case over: its answer is a receipt, not the case (no consent names it).
    assert (moved.owner_org, moved.status, list(moved.consents)) == (STRANGER, T.CASE_STATUS_ADMITTED, [])
    taken = case_api.call("GetCase", case_pb2.GetCaseRequest(case_id=cid), Caller(STRANGER, "case_manager"))
    assert OWNER in taken.access_orgs and len(taken.consents) == 2
    # Hilden no longer owns the case: for it, the case is now foreign (answered like a missing one).
    assert case_api.fails("GetCase", case_pb2.GetCaseRequest(case_id=cid), CM).code() \
        is grpc.StatusCode.NOT_FOUND


def test_a_call_without_a_token_is_unauthenticated(case_api: CaseApi) -> None:
    with pytest.raises(grpc.RpcError) as raised:
        case_api.stub.GetCase(case_pb2.GetCaseRequest(case_id="x"), timeout=10)
    assert raised.value.code() is grpc.StatusCode.UNAUTHENTICATED
