"""Who may call what, over the real gRPC api with real tokens: every role of the owning
organisation (Stadt Hilden), of the koordinierende Stelle the case was proposed to (Kreis
Mettmann, no consent yet) and of a stranger (Caritas) against every method; then bad input,
unknown ids, illegal transitions, and the audit trail's tamper evidence. The consent states are
the generated matrix's (test_case_consent_matrix.py).

An allowed call must succeed, or answer exactly the refusal its request was built for
(`REFUSED_BY_DESIGN`): an allowed call that crashes, or is refused for another reason, fails."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import timedelta

import grpc
import pytest
from google.protobuf.message import Message

from kim.case.v1 import case_pb2, types_pb2
from services.case.audit_trail import audit_id
from services.case.repository import AuditDocument, CaseDocument
from tests.integration.case.case_requests import day, person, proposal, today
from tests.integration.case.conftest import (
    COORDINATION,
    OWNER,
    ROLE_SHORT,
    STRANGER,
    Caller,
    CaseApi,
)
from tests.support.grpc_calls import violations

T = types_pb2
CM = Caller(OWNER, "case_manager")
DPO = Caller(OWNER, "data_protection_officer")

CASE_WORK = ["RecordNeed", "StartAssessment", "StartPlanning", "AddGoal", "AddStep", "FinishStep",
             "RecordProgress", "ActivatePlan", "RecordBarrier", "ChangeBarrierStatus", "AddJournalNote"]
# ListAuditEntries with the case's id: "Wer hat diesen Fall eingesehen" (READ_CASE_AUDIT).
CASE_WORKER = {"ProposeCase", "CheckEligibility", "ListCases", "GetCaseBrief", "GetCase", "GetPerson",
               "UpdatePerson", "RecordConsent", "RevokeConsent", "SubmitForReview", *CASE_WORK,
               "TransferCase", "CloseCase", "ListAuditEntries"}
DECISIONS = {"AdmitCase", "ReferCase", "RejectCase", "DeferCase"}

#: What each role may call, written out from docs/case.md ("Authorisation"), not from the code.
ALLOWED: dict[tuple[str, str], set[str]] = {
    (OWNER, "case_manager"): CASE_WORKER,
    (OWNER, "coordinator"): CASE_WORKER | DECISIONS | {"RecordReview", "AssignCaseManager", "ReopenCase",
                                                       "GetFigures"},
    (OWNER, "immigration_liaison"): {"ProposeCase", "CheckEligibility", "ListCases", "GetCaseBrief",
                                     "GetCase", "GetPerson", "RecordConsent", "RevokeConsent",
                                     "SubmitForReview"},
    (OWNER, "data_protection_officer"): {"ListAuditEntries", "VerifyAuditChain"},
    (OWNER, "steering_member"): {"GetFigures"},
    (OWNER, "clerk"): {"GetFigures"},
    # The matrix case is proposed to the Kreis but neither submitted nor covered by a consent:
    # being proposed to releases nothing (docs/case.md, "Consent is the gate").
}

#: Requests that change nothing on a proposed case without consent when allowed (they fail
#: validation or a state rule), so one case serves the whole matrix.
def requests(case_id: str) -> dict[str, Message]:
    ref = case_pb2.CaseRef(case_id=case_id)
    return {
        "ProposeCase": proposal(),
        "CheckEligibility": case_pb2.CheckEligibilityRequest(),
        "GetCase": case_pb2.GetCaseRequest(case_id=case_id),
        "GetPerson": case_pb2.GetPersonRequest(case_id=case_id),
        "UpdatePerson": case_pb2.UpdatePersonRequest(case_id=case_id),
        "GetCaseBrief": case_pb2.GetCaseBriefRequest(case_id=case_id),
        "RecordConsent": case_pb2.RecordConsentRequest(case_id=case_id),
        "RevokeConsent": case_pb2.RevokeConsentRequest(case_id=case_id),
        "SubmitForReview": case_pb2.SubmitForReviewRequest(case_id=case_id),
        "AdmitCase": case_pb2.AdmitCaseRequest(case_id=case_id),
        "ReferCase": case_pb2.ReferCaseRequest(case_id=case_id),
        "RejectCase": case_pb2.RejectCaseRequest(case_id=case_id),
        "DeferCase": case_pb2.DeferCaseRequest(case_id=case_id),
        "StartAssessment": ref, "StartPlanning": ref, "ActivatePlan": ref,
        "CloseCase": case_pb2.CloseCaseRequest(case_id=case_id),
        "ReopenCase": case_pb2.ReopenCaseRequest(case_id=case_id),
        "RecordNeed": case_pb2.RecordNeedRequest(case_id=case_id),
        "AddGoal": case_pb2.AddGoalRequest(case_id=case_id),
        "AddStep": case_pb2.AddStepRequest(case_id=case_id),
        "FinishStep": case_pb2.FinishStepRequest(case_id=case_id),
        "RecordProgress": case_pb2.RecordProgressRequest(case_id=case_id),
        "RecordReview": case_pb2.RecordReviewRequest(case_id=case_id),
        "RecordBarrier": case_pb2.RecordBarrierRequest(case_id=case_id),
        "ChangeBarrierStatus": case_pb2.ChangeBarrierStatusRequest(case_id=case_id),
        "AddJournalNote": case_pb2.AddJournalNoteRequest(case_id=case_id),
        "AssignCaseManager": case_pb2.AssignCaseManagerRequest(case_id=case_id),
        "TransferCase": case_pb2.TransferCaseRequest(case_id=case_id),
        "ListAuditEntries": case_pb2.ListAuditEntriesRequest(case_id=case_id),
        "VerifyAuditChain": case_pb2.VerifyAuditChainRequest(),
        "GetFigures": case_pb2.GetFiguresRequest(),
    }


FAILED_PRECONDITION, INVALID_ARGUMENT = grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.INVALID_ARGUMENT
PROPOSED = "Der Fall ist im Status „Fallvorschlag“"
INVALID = "Ungültige Eingabe."

#: What an allowed caller gets from a request of `requests` that is built to change nothing: the
#: code, the message and the fields of a violation (sorted). Every call not named here must succeed.
REFUSED_BY_DESIGN: dict[str, tuple[grpc.StatusCode, str, tuple[str, ...]]] = {
    # Empty requests: the required fields are missing.
    "CheckEligibility": (INVALID_ARGUMENT, "Für die Zielgruppenprüfung fehlen Angaben.",
                         ("person.birth_date", "person.country_of_origin", "person.residence.kind")),
    "UpdatePerson": (INVALID_ARGUMENT, "Die Personendaten sind unvollständig oder fehlerhaft.", ("person",)),
    "RecordConsent": (INVALID_ARGUMENT, "Die Einwilligung ist unvollständig oder fehlerhaft.",
                      ("categories", "kind", "purposes", "recipient_org", "signed_on")),
    "RevokeConsent": (INVALID_ARGUMENT, INVALID, ("revoked_on",)),
    "AdmitCase": (INVALID_ARGUMENT, INVALID, ("case_manager", "case_manager_org")),
    "ReferCase": (INVALID_ARGUMENT, INVALID, ("target",)),
    "RejectCase": (INVALID_ARGUMENT, INVALID, ("reason",)),
    "DeferCase": (INVALID_ARGUMENT, INVALID, ("reason",)),
    "CloseCase": (INVALID_ARGUMENT, "Der Abschluss ist unvollständig.", ("reason",)),
    "ReopenCase": (INVALID_ARGUMENT, INVALID, ("reason",)),
    "RecordNeed": (INVALID_ARGUMENT, INVALID, ("handlungsfeld", "need")),
    "AddGoal": (INVALID_ARGUMENT, INVALID, ("handlungsfeld", "title")),
    "AddStep": (INVALID_ARGUMENT, INVALID, ("description", "responsible")),
    "RecordProgress": (INVALID_ARGUMENT, INVALID, ("note",)),
    "RecordReview": (INVALID_ARGUMENT, INVALID, ("held_on",)),
    "RecordBarrier": (INVALID_ARGUMENT, INVALID, ("category", "description", "rechtskreise")),
    "ChangeBarrierStatus": (INVALID_ARGUMENT, INVALID, ("status",)),
    "AddJournalNote": (INVALID_ARGUMENT, INVALID, ("text",)),
    "AssignCaseManager": (INVALID_ARGUMENT, INVALID, ("case_manager",)),
    "TransferCase": (INVALID_ARGUMENT, INVALID, ("reason", "to_case_manager", "to_org")),
    # The case is only proposed: the case work of later states cannot start.
    "StartAssessment": (FAILED_PRECONDITION, f"{PROPOSED} und kann nicht in die Bedarfsermittlung gehen.",
                        ()),
    "StartPlanning": (FAILED_PRECONDITION, f"{PROPOSED} und kann nicht in die Integrationsplanung gehen.",
                      ()),
    "ActivatePlan": (FAILED_PRECONDITION,
                     f"{PROPOSED} und kann nicht mit aktivem Integrationsplan ins Monitoring gehen.", ()),
    "FinishStep": (FAILED_PRECONDITION,
                   "Einen Schritt abzuschließen ist im Status „Fallvorschlag“ nicht möglich.", ()),
    # No consent covers the Fallkonferenz: the case cannot be submitted (docs/case.md).
    "SubmitForReview": (FAILED_PRECONDITION, "Für die Beratung in der Fallkonferenz fehlt eine gültige "
                        "Einwilligung. Keine Einwilligung für die Weitergabe an „kreis-mettmann“ zum Zweck "
                        "„Beratung in der Fallkonferenz“.", ()),
}

METHODS = sorted([*requests("x"), "ListCases"])
CALLERS = [Caller(org, role) for org, role in itertools.product((OWNER, COORDINATION, STRANGER), ROLE_SHORT)]


def test_every_expected_outcome_is_checked() -> None:
    assert set(REFUSED_BY_DESIGN) < set(METHODS)
    assert set().union(*ALLOWED.values()) == set(METHODS), "every call is allowed to somebody"


@pytest.fixture(scope="module")
def shared_case(case_api: CaseApi) -> Iterator[str]:
    case = case_api.call("ProposeCase", proposal(), CM)
    yield case.case_id


@pytest.mark.parametrize("caller", CALLERS, ids=str)
@pytest.mark.parametrize("method", METHODS)
def test_every_role_of_every_organisation_gets_exactly_its_calls(
    case_api: CaseApi, shared_case: str, method: str, caller: Caller,
) -> None:
    allowed = method in ALLOWED.get((caller.organization, caller.role), set())
    if method == "ListCases":
        listed = case_api.call("ListCases", case_pb2.ListCasesRequest(page_size=100), caller)
        assert (shared_case in [b.case_id for b in listed.cases]) is allowed
        return
    try:
        case_api.call(method, requests(shared_case)[method], caller)
    except grpc.RpcError as error:
        answered = (error.code(), error.details(), tuple(sorted(violations(error))))
        if allowed:
            assert answered == REFUSED_BY_DESIGN.get(method), f"{method} as {caller} (allowed): {answered}"
            return
        refused = error.code() is grpc.StatusCode.PERMISSION_DENIED or (
            error.code() is grpc.StatusCode.NOT_FOUND and error.details() == "Fall nicht gefunden.")
        assert refused, f"{method} as {caller}: {answered}"
        if caller.organization != OWNER and method not in (
                "ProposeCase", "CheckEligibility", "ListAuditEntries", "VerifyAuditChain", "GetFigures"):
            # A foreign case answers exactly like a missing one (issue 12).
            assert (error.code(), error.details()) == (grpc.StatusCode.NOT_FOUND, "Fall nicht gefunden.")
        return
    assert allowed, f"{method} answered {caller} although it must be refused"
    assert method not in REFUSED_BY_DESIGN, f"{method} as {caller} succeeded although built to be refused"
    assert case_api.call("GetCase", case_pb2.GetCaseRequest(case_id=shared_case), CM).status == \
        T.CASE_STATUS_PROPOSED, "the matrix case must stay as it was"


def test_refusals_are_audited_with_who_and_which_call(case_api: CaseApi, shared_case: str) -> None:
    stranger = Caller(STRANGER, "case_manager")
    case_api.fails("GetPerson", case_pb2.GetPersonRequest(case_id=shared_case, purpose="Neugier"), stranger)
    entries, after = [], 0
    while True:  # page through the trail by sequence, as the DPO's client does
        page = case_api.call("ListAuditEntries", case_pb2.ListAuditEntriesRequest(
            case_id=shared_case, after_sequence=after, page_size=500), DPO)
        entries += page.entries
        if not (after := page.next_after_sequence):
            break
    refused = [e for e in entries
               if not e.allowed and e.call == "GetPerson" and e.actor_org == STRANGER]
    # The caller heard "Fall nicht gefunden."; the trail keeps why, for the DPO.
    assert refused[-1].purpose == "Neugier"
    assert refused[-1].detail == ("Die Rollen in caritas-mettmann erlauben auf einem fremden Fall nicht, "
                                  "die Personendaten zu lesen.")


def test_bad_input_is_answered_with_german_field_violations_and_writes_nothing(
    case_api: CaseApi, fresh_store: None,
) -> None:
    bad = proposal(handlungsfelder=[], person=person(
        birth_date=day(today() + timedelta(days=3)), nationalities=["Syrien"], email="kein-at-zeichen",
        residence=case_pb2.ResidenceStatus(kind=99)))
    error = case_api.fails("ProposeCase", bad, CM)
    assert error.code() is grpc.StatusCode.INVALID_ARGUMENT
    found = violations(error)
    assert "liegt in der Zukunft" in found["person.birth_date"]
    assert found["handlungsfelder"] == "Mindestens ein Eintrag ist erforderlich."
    assert "ISO 3166-1" in found["person.nationalities[0]"]
    assert found["person.contact.email"] == "Keine gültige E-Mail-Adresse."
    assert "Unbekannter Wert" in found["person.residence.kind"]
    impossible = case_api.fails("ProposeCase", proposal(person=person(
        birth_date=T.Date(year=1990, month=2, day=31))), CM)
    assert "Kein gültiges Kalenderdatum" in violations(impossible)["person.birth_date"]
    assert CaseDocument.objects.count() == 0 and AuditDocument.objects(call="ProposeCase").count() == 0

    case = case_api.call("ProposeCase", proposal(), CM)
    expired = case_pb2.RecordConsentRequest(
        case_id=case.case_id, kind=T.CONSENT_KIND_EINWILLIGUNG, recipient_org=COORDINATION,
        purposes=[T.CONSENT_PURPOSE_FALLKONFERENZ], categories=[T.DATA_CATEGORY_FALLDOKUMENTATION],
        signed_on=day(today() - timedelta(days=400)), expires_on=day(today() - timedelta(days=35)))
    error = case_api.fails("RecordConsent", expired, CM)
    assert error.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert "bereits am" in violations(error)["expires_on"]
    after = case_api.call("GetCase", case_pb2.GetCaseRequest(case_id=case.case_id), CM)
    assert after.version == case.version and not after.consents


def test_unknown_ids_illegal_moves_and_foreign_cases_answer_their_codes(
    case_api: CaseApi, fresh_store: None,
) -> None:
    unknown = case_api.fails("GetCase", case_pb2.GetCaseRequest(case_id="0" * 32), CM)
    assert unknown.code() is grpc.StatusCode.NOT_FOUND and unknown.details() == "Fall nicht gefunden."
    malformed = case_api.fails("GetCase", case_pb2.GetCaseRequest(case_id="../x"), CM)
    assert malformed.code() is grpc.StatusCode.INVALID_ARGUMENT and "case_id" in violations(malformed)

    cid = case_api.call("ProposeCase", proposal(), CM).case_id
    illegal = case_api.fails("CloseCase", case_pb2.CloseCaseRequest(
        case_id=cid, reason=T.CLOSURE_REASON_MOVED_AWAY), CM)
    assert illegal.code() is grpc.StatusCode.FAILED_PRECONDITION
    assert illegal.details() == "Der Fall ist im Status „Fallvorschlag“ und kann nicht abgeschlossen werden."
    foreign = case_api.fails("GetCaseBrief", case_pb2.GetCaseBriefRequest(case_id=cid),
                             Caller(STRANGER, "coordinator"))
    assert (foreign.code(), foreign.details()) == (unknown.code(), unknown.details())


def test_the_data_protection_officer_detects_an_altered_audit_entry(
    case_api: CaseApi, fresh_store: None,
) -> None:
    cid = case_api.call("ProposeCase", proposal(), CM).case_id
    for purpose in ("Erstgespräch", "Vorbereitung Fallkonferenz", "Aktenprüfung"):
        case_api.call("GetPerson", case_pb2.GetPersonRequest(case_id=cid, purpose=purpose), CM)
    intact = case_api.call("VerifyAuditChain", case_pb2.VerifyAuditChainRequest(), DPO)
    assert (intact.intact, intact.checked) == (True, 4)

    # Someone with database access hides who read the person's data, and why.
    AuditDocument._get_collection().update_one({"_id": audit_id(3)}, {"$set": {"purpose": "Routine"}})
    broken = case_api.call("VerifyAuditChain", case_pb2.VerifyAuditChainRequest(), DPO)
    assert (broken.intact, broken.first_broken_sequence) == (False, 3)
    assert broken.reason == "Eintrag 3 wurde nachträglich verändert."
    page = case_api.call("ListAuditEntries", case_pb2.ListAuditEntriesRequest(page_size=2), DPO)
    assert [e.sequence for e in page.entries] == [1, 2] and page.next_after_sequence == 2


def test_a_burst_of_anonymous_calls_is_counted_not_chained_into_the_case_audit_trail(
        case_api: CaseApi, fresh_store: None) -> None:
    """Anyone can make calls without a valid token at no cost; chained one by one into the
    hash-chained trail under the process lock they flooded it (issue 12). They are counted per
    reason in the process instead (and logged at a bounded rate)."""
    from kimnetz.runtime.audit import anonymous_refusals

    cid = case_api.call("ProposeCase", proposal(), CM).case_id
    request = case_pb2.GetPersonRequest(case_id=cid, purpose="ohne Anmeldung")
    before = anonymous_refusals.counts()
    for metadata in [()] * 25 + [(("authorization", "Bearer kein.gueltiges.token"),)] * 25:
        with pytest.raises(grpc.RpcError) as refused:
            case_api.stub.GetPerson(request, metadata=metadata, timeout=30)
        assert refused.value.code() is grpc.StatusCode.UNAUTHENTICATED
    after = anonymous_refusals.counts()
    assert after["Anmeldung erforderlich: kein Zugangstoken übermittelt."] - before.get(
        "Anmeldung erforderlich: kein Zugangstoken übermittelt.", 0) == 25
    assert after["Das Zugangstoken ist nicht lesbar."] - before.get(
        "Das Zugangstoken ist nicht lesbar.", 0) == 25
    page = case_api.call("ListAuditEntries", case_pb2.ListAuditEntriesRequest(page_size=500), DPO)
    assert [e.call for e in page.entries if not e.allowed] == []
    # Granted calls at the door add nothing there: the service audits those itself, once.
    assert [e.call for e in page.entries if e.allowed] == ["ProposeCase", "ListAuditEntries"]
    verified = case_api.call("VerifyAuditChain", case_pb2.VerifyAuditChainRequest(), DPO)
    assert verified.intact and verified.checked == 2
