"""The generated black-box matrix of issue 12: role × organisation × consent state × call,
against Hilden's real case api with real tokens of the local federation (federation.yaml).

- Roles: every realm role. Organisations: the owner (Stadt Hilden), the koordinierende Stelle
  (Kreis Mettmann), the Ausländerbehörde named as conference organisation at SubmitForReview
  and an organisation the case was never sent to (Caritas).
- Consent states, the same for every receiving organisation of one case: none (the case is then
  only proposed: the submission needs a consent), valid, expired, revoked, wrong purpose
  (Fallübergabe/Fallbearbeitung), missing category (Stammdaten only, no Falldokumentation).
  The api refuses to record an already expired consent, so "expired" is a valid consent whose
  dates are moved into the past in storage: what the passing of time does.
- Calls: GetCase, GetPerson, GetCaseBrief, ListCases, AddJournalNote (case work), DeferCase (a
  decision of the Fallkonferenz).

The expectation (`expected`) is written out from docs/case.md ("Consent is the gate"), not from
the policy's tables. An allowed cell must succeed with the case's data (ListCases: lists it); a
state rule after granted access is FAILED_PRECONDITION; a refused cell is PERMISSION_DENIED
inside the owning organisation and NOT_FOUND with the message of a missing case everywhere
else (ListCases: does not list it). A DeferCase that is expected to succeed runs on a fresh
case of the same state, so the shared case stays as arranged for every other cell.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import grpc
import pytest

from kim.case.v1 import case_pb2, types_pb2
from services.case.repository import CaseDocument
from tests.integration.case.case_requests import consent, day, proposal, today
from tests.integration.case.conftest import ABH, COORDINATION, OWNER, ROLE_SHORT, STRANGER, Caller, CaseApi
from tests.support.security_figures import record

T = types_pb2
CM = Caller(OWNER, "case_manager")
ORGS = {"eigene": OWNER, "koordinierend": COORDINATION, "abh": ABH, "fremd": STRANGER}
RECEIVERS = (COORDINATION, ABH, STRANGER)
STATES = ("keine", "gueltig", "abgelaufen", "widerrufen", "falscher_zweck", "fehlende_kategorie")
CALLS = ("GetCase", "GetPerson", "GetCaseBrief", "ListCases", "AddJournalNote", "DeferCase")
FD, SD = T.DATA_CATEGORY_FALLDOKUMENTATION, T.DATA_CATEGORY_STAMMDATEN
FALLKONFERENZ = [T.CONSENT_PURPOSE_FALLKONFERENZ]
NOT_FOUND = (grpc.StatusCode.NOT_FOUND, "Fall nicht gefunden.")

OK, DENIED, HIDDEN, STATE_RULE = "erlaubt", "verweigert", "wie nicht vorhanden", "Zustandsregel"

#: docs/case.md, "Authorisation": the calls each role makes on a case of its own organisation.
OWN_CALLS = {
    "case_manager": {"GetCase", "GetPerson", "GetCaseBrief", "ListCases", "AddJournalNote"},
    "coordinator": {"GetCase", "GetPerson", "GetCaseBrief", "ListCases", "AddJournalNote", "DeferCase"},
    "immigration_liaison": {"GetCase", "GetPerson", "GetCaseBrief", "ListCases"},
}
#: docs/case.md, "Consent is the gate": what another organisation may read, by role, and the
#: category the consent (purpose Fallkonferenz, valid today) must cover for it.
FOREIGN_READS = {
    "GetCaseBrief": ({"coordinator", "immigration_liaison"}, FD),
    "ListCases": ({"coordinator", "immigration_liaison"}, FD),
    "GetCase": ({"coordinator"}, FD),
    "GetPerson": ({"coordinator"}, SD),
}
COVERED_TODAY = {"gueltig": {FD, SD}, "fehlende_kategorie": {SD}}


def submitted(state: str) -> bool:
    return state != "keine"


def expected(role: str, org: str, state: str, call: str) -> str:
    if org == OWNER:
        if call not in OWN_CALLS.get(role, set()):
            return DENIED
        return STATE_RULE if call == "DeferCase" and not submitted(state) else OK
    if org == STRANGER:
        return HIDDEN  # never sent there: a consent alone makes no recipient
    if call == "DeferCase":
        # A decision releases nothing: the koordinierende Stelle the case was submitted to.
        return OK if role == "coordinator" and org == COORDINATION and submitted(state) else HIDDEN
    if call not in FOREIGN_READS:
        return HIDDEN
    roles, category = FOREIGN_READS[call]
    return OK if role in roles and category in COVERED_TODAY.get(state, set()) else HIDDEN


def arrange(api: CaseApi, state: str) -> str:
    """A Hilden case proposed to the Kreis whose consents for every receiving organisation are
    in `state`; submitted with the ABH as conference organisation unless no consent exists."""
    cid: str = api.call("ProposeCase", proposal(), CM).case_id
    if state == "keine":
        return cid
    stelle = api.call("RecordConsent", consent(cid, COORDINATION, FALLKONFERENZ, [FD, SD]), CM)
    api.call("SubmitForReview", case_pb2.SubmitForReviewRequest(case_id=cid, conference_orgs=[ABH]), CM)
    if state in ("gueltig", "abgelaufen"):
        for org in (ABH, STRANGER):
            api.call("RecordConsent", consent(cid, org, FALLKONFERENZ, [FD, SD]), CM)
        if state == "abgelaufen":
            expire_all(cid)
        return cid
    revoke(api, cid, stelle.consents[0].consent_id)
    for org in RECEIVERS:
        if state == "widerrufen" and org != COORDINATION:
            recorded = api.call("RecordConsent", consent(cid, org, FALLKONFERENZ, [FD, SD]), CM)
            revoke(api, cid, next(k.consent_id for k in recorded.consents if k.recipient_org == org))
        elif state == "falscher_zweck":
            api.call("RecordConsent", consent(cid, org, [T.CONSENT_PURPOSE_FALLUEBERGABE,
                                                         T.CONSENT_PURPOSE_FALLBEARBEITUNG], [FD, SD]), CM)
        elif state == "fehlende_kategorie":
            api.call("RecordConsent", consent(cid, org, FALLKONFERENZ, [SD]), CM)
    return cid


def revoke(api: CaseApi, cid: str, consent_id: str) -> None:
    api.call("RevokeConsent", case_pb2.RevokeConsentRequest(
        case_id=cid, consent_id=consent_id, revoked_on=day(today()), reason="Widerruf"), CM)


def expire_all(cid: str) -> None:
    collection = CaseDocument._get_collection()
    stored = collection.find_one({"_id": cid})
    consents = stored["state"]["consents"]
    for k in consents:
        k["signed_on"] = (today() - timedelta(days=400)).isoformat()
        k["expires_on"] = (today() - timedelta(days=30)).isoformat()
    collection.update_one({"_id": cid}, {"$set": {"state.consents": consents}})


def request(call: str, cid: str) -> Any:
    return {
        "GetCase": case_pb2.GetCaseRequest(case_id=cid, purpose="Matrix"),
        "GetPerson": case_pb2.GetPersonRequest(case_id=cid, purpose="Matrix"),
        "GetCaseBrief": case_pb2.GetCaseBriefRequest(case_id=cid, purpose="Matrix"),
        "AddJournalNote": case_pb2.AddJournalNoteRequest(case_id=cid, text="Matrix"),
        "DeferCase": case_pb2.DeferCaseRequest(case_id=cid, reason="Unterlagen fehlen."),
    }[call]


def succeeded(call: str, cid: str, answer: Any) -> bool:
    """Whether an answer carries what the call promises (not merely "no error")."""
    if call in ("GetCase", "GetCaseBrief"):
        return bool(answer.case_id == cid and answer.pseudonym)
    if call == "GetPerson":
        return bool(answer.given_name == "Amina")
    if call == "AddJournalNote":
        return any(n.text == "Matrix" for n in answer.journal)
    if call == "DeferCase":
        return bool(answer.case_id == cid and answer.status == T.CASE_STATUS_DEFERRED)
    raise AssertionError(call)


def outcome(api: CaseApi, call: str, cid: str, caller: Caller) -> tuple[str, str]:
    """What the api did, in the matrix's words, and the detail for a failure message."""
    if call == "ListCases":
        page = api.call("ListCases", case_pb2.ListCasesRequest(page_size=100, purpose="Matrix"), caller)
        listed = cid in [b.case_id for b in page.cases]
        return (OK if listed else "nicht gelistet"), f"{len(page.cases)} gelistet"
    try:
        answer = api.call(call, request(call, cid), caller)
    except grpc.RpcError as error:
        code, details = error.code(), error.details()
        if (code, details) == NOT_FOUND:
            return HIDDEN, details
        if code is grpc.StatusCode.PERMISSION_DENIED:
            return DENIED, details
        if code is grpc.StatusCode.FAILED_PRECONDITION:
            return STATE_RULE, details
        return f"{code.name}", details
    return (OK if succeeded(call, cid, answer) else "Antwort ohne Falldaten"), ""


def as_listed(want: str, call: str) -> str:
    """ListCases never refuses: a refused cell there means "not listed"."""
    return "nicht gelistet" if call == "ListCases" and want != OK else want


@pytest.mark.parametrize("state", STATES)
def test_every_cell_answers_as_specified(case_api: CaseApi, state: str) -> None:
    shared = arrange(case_api, state)
    fresh: Callable[[], str] = lambda: arrange(case_api, state)  # noqa: E731
    cells = list(itertools.product(ROLE_SHORT, ORGS.values(), CALLS))
    wrong = []
    for role, org, call in cells:
        want = as_listed(expected(role, org, state, call), call)
        # A successful decision changes the case: it gets a case of its own.
        cid = fresh() if call == "DeferCase" and want == OK else shared
        got, detail = outcome(case_api, call, cid, Caller(org, role))
        if got != want:
            wrong.append(f"{role}@{org} {call}: erwartet {want}, erhalten {got} ({detail})")
    assert not wrong, "\n".join(wrong)
    _TALLY[state] = len(cells)


_TALLY: dict[str, int] = {}


def test_the_matrix_is_complete_and_its_figure_recorded() -> None:
    """Runs after the cells (file order): records the row only when every state's cells passed."""
    assert sorted(_TALLY) == sorted(STATES), f"nicht alle Zustände geprüft: {sorted(_TALLY)}"
    total = sum(_TALLY.values())
    assert total == len(ROLE_SHORT) * len(ORGS) * len(STATES) * len(CALLS)
    allowed = sum(expected(r, o, s, c) == OK for r, o, s, c in
                  itertools.product(ROLE_SHORT, ORGS.values(), STATES, CALLS))
    assert 0 < allowed < total, "the specification separates allowed from refused cells"
    ok = total  # every cell of every state matched, or a test above failed
    record("access-matrix", "Rolle × Organisation × Einwilligungsstand × Aufruf, black box gegen echte api",
           f"{ok} von {total} Zellen wie spezifiziert",
           f"{len(ROLE_SHORT)} Rollen × {len(ORGS)} Organisationen (eigene, koordinierende Stelle, ABH, "
           f"nie beteiligte) × {len(STATES)} Einwilligungsstände × {len(CALLS)} Aufrufe "
           f"({', '.join(CALLS)}), echte Tokens aus Keycloak gegen den case-api-Prozess; "
           f"{allowed} erlaubte Zellen müssen mit Falldaten gelingen, die übrigen wie ein fehlender "
           "Fall (NOT_FOUND) bzw. in der eigenen Organisation PERMISSION_DENIED antworten; "
           "tests/integration/case/test_case_consent_matrix.py")
