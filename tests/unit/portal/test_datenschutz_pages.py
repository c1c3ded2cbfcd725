"""The data protection officer's pages (services/portal/pages/datenschutz.py) on the fake stubs:
the audit trail with filters and paging, the chain check, consents and erasures."""

from __future__ import annotations

from typing import Any

from kim.case.v1 import case_pb2
from tests.support.fakes.portal import CASE_MANAGER_STADT, DPO_STADT, make_portal
from tests.unit.portal.test_faelle_pages import text

CASE = "0123456789abcdef0123456789abcdef"


def trail(*entries: dict[str, Any], next_after: int = 0) -> case_pb2.ListAuditEntriesResponse:
    response = case_pb2.ListAuditEntriesResponse(next_after_sequence=next_after)
    for i, entry in enumerate(entries, 1):
        response.entries.add(**{"sequence": i, "allowed": True, "actor_org": "stadt-hilden", **entry})
    return response


def test_the_trail_is_filtered_by_person_call_and_refusals() -> None:
    portal = make_portal(DPO_STADT)
    portal.apis.case.answer(
        "ListAuditEntries",
        trail(
            {"call": "GetPerson", "actor_subject": "c.manager", "case_id": CASE, "purpose": "Fallakte"},
            {
                "call": "GetPerson",
                "actor_subject": "m.beratung",
                "actor_org": "caritas-mettmann",
                "case_id": CASE,
                "allowed": False,
                "detail": "Die Rollen in caritas-mettmann erlauben auf einem fremden Fall nicht",
            },
            {"call": "ListCases", "actor_subject": "c.manager"},
        ),
    )
    page = text(portal.client.get("/datenschutz/?abgewiesen=1&aufruf=getperson"))
    assert "m.beratung" in page and "c.manager" not in page.split("<table", 1)[1]
    assert "<strong>abgewiesen</strong>: Die Rollen in caritas-mettmann" in page
    assert "Das ist das Ende des Protokolls (gelesen bis Nr. 3)." in page
    page = text(portal.client.get(f"/datenschutz/?fall={CASE}&person=c.man"))
    [*_, request] = portal.apis.case.requests("ListAuditEntries")
    assert request.case_id == CASE and request.after_sequence == 0
    assert "Fallakte" in page and "ListCases" in page  # the fake answers every case alike


def test_the_trail_pages_on_by_sequence() -> None:
    portal = make_portal(DPO_STADT)
    portal.apis.case.answer(
        "ListAuditEntries",
        lambda request: trail(
            *({"call": "GetCase", "actor_subject": f"p{request.after_sequence}"} for _ in range(500)),
            next_after=request.after_sequence + 500,
        ),
    )
    page = text(portal.client.get("/datenschutz/?ab=1000"))
    assert portal.apis.case.requests("ListAuditEntries")[0].after_sequence == 1000
    assert "Einträge ab Nr. 1001" in page and "Weitere Einträge ab Nr. 201" in page  # 200 shown


def test_the_chain_check_runs_on_post_and_says_where_it_broke() -> None:
    portal = make_portal(DPO_STADT)
    assert "Kette jetzt prüfen" in text(portal.client.get("/datenschutz/pruefung"))
    assert portal.apis.case.requests("VerifyAuditChain") == []
    portal.apis.case.answer("VerifyAuditChain", case_pb2.VerifyAuditChainResponse(intact=True, checked=1234))
    page = text(portal.post("/datenschutz/pruefung"))
    assert "Die Kette ist unversehrt." in page and "1.234 Einträge geprüft." in page
    portal.apis.case.answer(
        "VerifyAuditChain",
        case_pb2.VerifyAuditChainResponse(
            intact=False, checked=17, first_broken_sequence=17, reason="Prüfsumme stimmt nicht"
        ),
    )
    page = text(portal.post("/datenschutz/pruefung"))
    assert "Die Kette ist beschädigt." in page and "Nr. 17. Prüfsumme stimmt nicht" in page
    assert portal.client.post("/datenschutz/pruefung").status_code == 400  # no CSRF token


def test_consents_revocations_and_unconfirmed_erasures() -> None:
    portal = make_portal(DPO_STADT)
    portal.apis.case.answer(
        "ListAuditEntries",
        trail(
            {
                "call": "RecordConsent",
                "case_id": CASE,
                "detail": "Einwilligung aaaa1111bbbb für kreis-mettmann: x",
            },
            {"call": "RecordConsent", "case_id": CASE, "detail": "Einwilligung cccc2222dddd für abh: x"},
            {
                "call": "RevokeConsent",
                "case_id": CASE,
                "detail": "Widerruf: Einwilligung aaaa1111bbbb für kreis-mettmann: x; "
                "Löschersuchen an kreis-mettmann",
            },
            {
                "call": "RevokeConsent",
                "case_id": CASE,
                "detail": "Widerruf: Einwilligung cccc2222dddd für abh: x; Löschersuchen an abh",
            },
            {
                "call": "ConfirmErasure",
                "case_id": CASE,
                "actor_node": "kreis-node",
                "detail": "Einwilligung aaaa1111bbbb: Fallvorschlag gelöscht",
            },
            {"call": "GetCase", "case_id": CASE},
        ),
    )
    page = text(portal.client.get("/datenschutz/einwilligungen"))
    outstanding = page.split('id="offene-loeschungen"', 1)[1].split("</ul>", 1)[0]
    assert "cccc2222dddd" in outstanding and "aaaa1111bbbb" not in outstanding
    assert "Unbestätigte Löschersuchen (1)" in page
    assert "Einwilligungen und Widerrufe (4)" in page and "Löschersuchen und Bestätigungen (3)" in page
    assert "GetCase" not in page


def test_the_pages_are_the_data_protection_officers() -> None:
    portal = make_portal(CASE_MANAGER_STADT)
    for path in ("/datenschutz/", "/datenschutz/pruefung", "/datenschutz/einwilligungen"):
        assert portal.client.get(path).status_code == 404
    assert "Datenschutz" in text(make_portal(DPO_STADT).client.get("/"))
