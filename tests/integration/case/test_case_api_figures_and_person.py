"""Over the real gRPC api with real tokens: the monitoring figures (exact where 5 or more,
suppressed below, who may read them) and UpdatePerson (validated, audited, eligibility
re-checked against the current Zielgruppen version)."""

from __future__ import annotations

import grpc

from kim.case.v1 import case_pb2, types_pb2
from services.case.repository import AuditDocument
from tests.integration.case.case_requests import day, person, proposal, today
from tests.integration.case.conftest import COORDINATION, OWNER, Caller, CaseApi
from tests.support.grpc_calls import violations

T = types_pb2
CM = Caller(OWNER, "case_manager")
KOORD = Caller(OWNER, "coordinator")
SHOWN, SUPPRESSED = case_pb2.FIGURE_VISIBILITY_SHOWN, case_pb2.FIGURE_VISIBILITY_SUPPRESSED
WITHHELD = case_pb2.FIGURE_VISIBILITY_WITHHELD


def cells(table: case_pb2.FigureTable) -> dict[str, tuple[int, int, str]]:
    return {c.key: (c.visibility, c.count, c.shown) for c in table.cells}


def test_figures_are_exact_from_five_on_suppressed_below_and_only_for_their_roles(
    case_api: CaseApi, fresh_store: None,
) -> None:
    # 12 Fallvorschläge to Hilden's own koordinierende Stelle (no consent needed to submit):
    # 11 Geduldete over 27, one from Romania; 7 submitted, 5 of those admitted.
    ids = [case_api.call("ProposeCase", proposal(OWNER), CM).case_id for _ in range(11)]
    romanian = person(nationalities=["RO"], country_of_origin="RO", residence=case_pb2.ResidenceStatus(
        kind=T.RESIDENCE_STATUS_KIND_EU_FREIZUEGIGKEIT))
    ids.append(case_api.call("ProposeCase", proposal(OWNER, person=romanian), CM).case_id)
    for cid in ids[:7]:
        case_api.call("SubmitForReview", case_pb2.SubmitForReviewRequest(case_id=cid), CM)
    for cid in ids[:5]:
        case_api.call("AdmitCase", case_pb2.AdmitCaseRequest(
            case_id=cid, case_manager="cm.hilden", case_manager_org=OWNER), KOORD)

    for reader in (KOORD, Caller(OWNER, "steering_member"), Caller(OWNER, "clerk")):
        figures = case_api.call("GetFigures", case_pb2.GetFiguresRequest(), reader)
        status = cells(figures.by_status)
        # 2 in review must not be told: "< 5", and so that no subtraction tells it, neither the
        # total nor the largest cell (proposed, the first of two fives); 0 closed is shown as 0.
        assert status["in_review"] == (SUPPRESSED, 0, "< 5"), "2 must not be told"
        assert status["proposed"] == (WITHHELD, 0, "x") and status["admitted"] == (SHOWN, 5, "5")
        assert status["closed"] == (SHOWN, 0, "0")
        assert (figures.by_status.total.visibility, figures.by_status.total.count) == (WITHHELD, 0)
        # Zielgruppen and Handlungsfelder count the same 12 cases: they withhold with it.
        groups = cells(figures.by_zielgruppe)
        assert groups["geduldete_gestattete_ueber_27"] == (WITHHELD, 0, "x")
        assert groups["suedosteuropa"] == (SUPPRESSED, 0, "< 5")
        assert figures.by_zielgruppe.total.visibility == WITHHELD
        assert [c.label for c in figures.by_zielgruppe.cells][-1] == "keine Zielgruppe"
        # Each proposal names two Handlungsfelder (12 each): the first of the largest goes.
        fields = cells(figures.by_handlungsfeld)
        assert [k for k, c in fields.items() if c[0] == WITHHELD] == ["aufenthalt_identitaet"]
        assert fields["ausbildung"] == (SHOWN, 12, "12")
        assert figures.by_handlungsfeld.total.visibility == WITHHELD
        for table in (figures.by_status, figures.by_zielgruppe, figures.by_handlungsfeld):
            assert not [c for c in table.cells if c.visibility == SHOWN and 0 < c.count < 5]
        assert figures.days_to_decision.visibility == SHOWN and figures.days_to_decision.mean_days == 0.0
        assert figures.days_open.visibility == SUPPRESSED, "no case closed: no mean over nobody"
        assert figures.zielgruppen_version == 1 and "„< 5“" in figures.suppression_note

    for refused in (CM, Caller(OWNER, "immigration_liaison"), Caller(OWNER, "data_protection_officer"),
                    Caller(COORDINATION, "coordinator"), Caller(COORDINATION, "steering_member")):
        error = case_api.fails("GetFigures", case_pb2.GetFiguresRequest(), refused)
        assert error.code() is grpc.StatusCode.PERMISSION_DENIED
        assert error.details() == "Ihre Rolle erlaubt nicht, die Monitoring-Kennzahlen abzurufen."
    assert AuditDocument.objects(call="GetFigures", allowed=False, actor_org=COORDINATION).count() == 2
    assert AuditDocument.objects(call="GetFigures", allowed=True).count() == 3


def test_update_person_re_checks_eligibility_and_writes_nothing_on_bad_input(
    case_api: CaseApi, fresh_store: None,
) -> None:
    case = case_api.call("ProposeCase", proposal(), CM)
    assert list(case.eligibility.matched) == ["geduldete_gestattete_ueber_27"]

    # Granted a residence permit under § 25b AufenthG, valid for two years; new phone number.
    granted = person(residence=case_pb2.ResidenceStatus(
        kind=T.RESIDENCE_STATUS_KIND_AUFENTHALTSERLAUBNIS, legal_basis="§25b AufenthG",
        valid_from=day(today()), valid_until=day(today().replace(year=today().year + 2))),
        languages=["ar", "de", "en"], phone="+49 2103 99999")
    answer = case_api.call("UpdatePerson", case_pb2.UpdatePersonRequest(
        case_id=case.case_id, person=granted, purpose="Aufenthaltserlaubnis erteilt"), CM)
    # Issue 14: who holds § 25b is no longer "berechtigt, ihren Aufenthaltsstatus zu verbessern",
    # and with the Aufenthaltserlaubnis she has left the Geduldete.
    assert list(answer.case.eligibility.matched) == []
    [bleiberecht] = [m.reasons for m in answer.case.eligibility.mismatches
                     if m.zielgruppe == "bleiberecht_25a_25b"]
    assert bleiberecht[0].startswith("Besitzt bereits einen Aufenthaltstitel nach § 25b AufenthG")
    assert answer.case.eligibility.zielgruppen_version == 1 and answer.case.version == case.version + 1
    stored = case_api.call("GetPerson", case_pb2.GetPersonRequest(case_id=case.case_id), CM)
    assert stored.residence.legal_basis == "§ 25b AufenthG" and list(stored.languages) == ["ar", "de", "en"]
    assert stored.residence.kind == T.RESIDENCE_STATUS_KIND_AUFENTHALTSERLAUBNIS
    [entry] = AuditDocument.objects(case_id=case.case_id, call="UpdatePerson")
    assert (entry.actor_org, entry.purpose, entry.allowed) == (OWNER, "Aufenthaltserlaubnis erteilt", True)
    assert "case_manager" in entry.actor_roles
    assert entry.detail == "Geändert: residence, languages, contact", "names of parts, never values"

    bad = person(given_name="", birth_date=day(today().replace(year=today().year + 1)),
                 languages=["Arabisch"], email="kein-at", household_children=-2,
                 residence=case_pb2.ResidenceStatus(kind=T.RESIDENCE_STATUS_KIND_DULDUNG,
                                                    legal_basis="Paragraph 60a"))
    error = case_api.fails("UpdatePerson", case_pb2.UpdatePersonRequest(case_id=case.case_id, person=bad), CM)
    assert error.code() is grpc.StatusCode.INVALID_ARGUMENT
    found = violations(error)
    assert found["person.given_name"] and "liegt in der Zukunft" in found["person.birth_date"]
    assert "ISO 639" in found["person.languages[0]"]
    assert found["person.contact.email"] == "Keine gültige E-Mail-Adresse."
    assert "Kinder" in found["person.household.children"]
    assert "§ 60a AufenthG" in found["person.residence.legal_basis"]
    missing = case_api.fails("UpdatePerson", case_pb2.UpdatePersonRequest(case_id=case.case_id), CM)
    assert violations(missing)["person"] == "Angaben zur Person fehlen."
    impossible = case_api.fails("UpdatePerson", case_pb2.UpdatePersonRequest(
        case_id=case.case_id, person=person(birth_date=T.Date(year=1990, month=2, day=30))), CM)
    assert "Kein gültiges Kalenderdatum" in violations(impossible)["person.birth_date"]

    after = case_api.call("GetCase", case_pb2.GetCaseRequest(case_id=case.case_id), CM)
    assert after.version == answer.case.version, "nothing written on error"
    unchanged = case_api.call("GetPerson", case_pb2.GetPersonRequest(case_id=case.case_id), CM)
    assert unchanged == stored
    assert AuditDocument.objects(case_id=case.case_id, call="UpdatePerson").count() == 1

    foreign = case_api.fails("UpdatePerson", case_pb2.UpdatePersonRequest(
        case_id=case.case_id, person=granted), Caller(COORDINATION, "coordinator"))
    assert foreign.code() is grpc.StatusCode.NOT_FOUND  # like a missing case (issue 12)
    assert foreign.details() == "Fall nicht gefunden."
    assert AuditDocument.objects(case_id=case.case_id, call="UpdatePerson", allowed=False).count() == 1
