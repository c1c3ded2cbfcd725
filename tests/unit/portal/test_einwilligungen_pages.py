"""The consent pages (services/portal/pages/einwilligungen.py) on the fake stubs: recording a
consent per recipient, purposes, categories and validity; the Einwilligungserklärung as a DOCX
download from the documents service; revoking; error summaries and CSRF refusal."""

from __future__ import annotations

from typing import Any

from google.protobuf import json_format

from kim.case.v1 import case_pb2, types_pb2 as case_types
from kim.common.v1 import types_pb2 as common
from kim.documents.v1 import documents_pb2
from kimnetz.errors import InvalidArgument
from kimnetz.validation import FieldViolation
from tests.support.fakes.portal import Portal
from tests.unit.portal.test_faelle_pages import CASE_ID, a_case, summary_links, text

FORM = {
    "kind": "einwilligung",
    "recipient_org": "kreis-mettmann",
    "purposes": ["fallkonferenz"],
    "categories": ["falldokumentation", "aufenthalt"],
    "signed_on": "04.03.2026",
    "expires_on": "03.03.2027",
    "aktion": "erfassen",
}


def with_consents(portal: Portal) -> Portal:
    case = a_case()
    case.consents.add(
        consent_id="k1",
        kind=case_types.CONSENT_KIND_EINWILLIGUNG,
        recipient_org="kreis-mettmann",
        purposes=[case_types.CONSENT_PURPOSE_FALLKONFERENZ],
        categories=[case_types.DATA_CATEGORY_FALLDOKUMENTATION],
        signed_on=common.Date(year=2026, month=3, day=4),
    )
    revoked = case.consents.add(
        consent_id="k2",
        kind=case_types.CONSENT_KIND_EINWILLIGUNG,
        recipient_org="kreis-mettmann-abh",
        signed_on=common.Date(year=2026, month=1, day=2),
        revoked_on=common.Date(year=2026, month=2, day=1),
        erasure_outstanding=True,
    )
    revoked.purposes.append(case_types.CONSENT_PURPOSE_FALLKONFERENZ)
    portal.apis.case.answer("GetCase", case)
    return portal


def test_the_consents_are_listed_with_their_state_in_words(portal: Portal) -> None:
    page = text(with_consents(portal).client.get(f"/faelle/{CASE_ID}/einwilligungen"))
    assert (
        "Beratung in der Fallkonferenz" in page
        and "Falldokumentation (Bedarfe, Integrationsplan, Verlauf)" in page
    )
    assert "<strong>gültig</strong>" in page and "<strong>widerrufen</strong>\n         am 01.02.2026" in page
    assert "Löschung bei kreis-mettmann-abh noch nicht bestätigt." in page
    assert f'href="/faelle/{CASE_ID}/einwilligungen/k1/widerruf"' in page
    assert '/einwilligungen/k2/widerruf"' not in page


def test_a_consent_is_recorded_per_recipient_purpose_category_and_validity(portal: Portal) -> None:
    portal.apis.case.answer("GetCase", a_case())
    response = portal.post(f"/faelle/{CASE_ID}/einwilligungen", FORM)
    assert response.status_code == 302 and response.headers["Location"] == f"/faelle/{CASE_ID}/einwilligungen"
    [request] = portal.apis.case.requests("RecordConsent")
    assert (request.kind, request.recipient_org) == (case_types.CONSENT_KIND_EINWILLIGUNG, "kreis-mettmann")
    assert list(request.purposes) == [case_types.CONSENT_PURPOSE_FALLKONFERENZ]
    assert list(request.categories) == [
        case_types.DATA_CATEGORY_FALLDOKUMENTATION,
        case_types.DATA_CATEGORY_AUFENTHALT,
    ]
    assert (request.signed_on.day, request.expires_on.year) == (4, 2027)
    assert "Die Einwilligung ist erfasst." in text(portal.client.get(response.headers["Location"]))


def test_the_apis_violations_and_a_missing_signature_day_are_shown_at_their_fields(portal: Portal) -> None:
    portal.apis.case.answer("GetCase", a_case())
    missing = text(portal.post(f"/faelle/{CASE_ID}/einwilligungen", {**FORM, "signed_on": ""}))
    assert summary_links(missing) == {"f-signed_on": "Bitte geben Sie das Datum der Unterschrift an."}
    assert portal.apis.case.requests("RecordConsent") == []
    portal.apis.case.answer(
        "RecordConsent",
        InvalidArgument(
            [
                FieldViolation("expires_on", "Das Ablaufdatum muss nach dem Datum der Unterschrift liegen."),
                FieldViolation("categories", "Mindestens einen Wert angeben."),
            ]
        ),
    )
    refused = portal.post(f"/faelle/{CASE_ID}/einwilligungen", FORM)
    assert refused.status_code == 400
    assert summary_links(text(refused)) == {
        "f-expires_on": "Das Ablaufdatum muss nach dem Datum der Unterschrift liegen.",
        "f-categories": "Mindestens einen Wert angeben.",
    }


def test_the_declaration_is_rendered_by_the_documents_service_and_downloaded(portal: Portal) -> None:
    portal.apis.case.answer("GetCase", a_case())
    portal.apis.case.answer(
        "GetPerson",
        case_pb2.Person(
            given_name="Amina", family_name="Haddad", birth_date=common.Date(year=1992, month=1, day=20)
        ),
    )
    portal.apis.documents.answer(
        "RenderDocument",
        documents_pb2.RenderDocumentResponse(
            document=documents_pb2.DocumentInfo(filename="einwilligung-kim-2026-7f3k9q-2026-03-04.docx"),
            content=b"PK-docx",
        ),
    )
    response = portal.post(
        f"/faelle/{CASE_ID}/einwilligungen", {**FORM, "signed_on": "", "aktion": "erklaerung"}
    )
    assert response.status_code == 200 and response.data == b"PK-docx"
    assert (
        response.headers["Content-Disposition"]
        == 'attachment; filename="einwilligung-kim-2026-7f3k9q-2026-03-04.docx"'
    )
    assert response.mimetype.endswith("wordprocessingml.document")
    [render] = portal.apis.documents.requests("RenderDocument")
    assert render.kind == documents_pb2.EINWILLIGUNGSERKLAERUNG
    data: dict[str, Any] = json_format.MessageToDict(render.input)
    assert data["person"] == {"name": "Amina Haddad", "birth_date": "1992-01-20"}
    assert data["case_reference"] == "KIM-2026-7F3K9Q" and data["valid_until"] == "2027-03-03"
    assert data["recipients"] == [
        {
            "organization": "kreis-mettmann",
            "purposes": ["Beratung in der Fallkonferenz"],
            "categories": ["Falldokumentation (Bedarfe, Integrationsplan, Verlauf)", "Aufenthaltsstatus"],
        }
    ]
    assert portal.apis.case.requests("GetPerson")[0].purpose == "Einwilligungserklärung drucken"
    assert portal.apis.case.requests("RecordConsent") == []


def test_a_declaration_needs_recipient_purpose_and_category(portal: Portal) -> None:
    portal.apis.case.answer("GetCase", a_case())
    page = text(
        portal.post(
            f"/faelle/{CASE_ID}/einwilligungen",
            {"aktion": "erklaerung", "recipient_org": "", "kind": "einwilligung"},
        )
    )
    assert summary_links(page) == {
        "f-recipient_org": "Bitte geben Sie die empfangende Organisation an.",
        "f-purposes": "Bitte wählen Sie mindestens einen Zweck.",
        "f-categories": "Bitte wählen Sie mindestens eine Datenkategorie.",
    }
    assert portal.apis.documents.requests("RenderDocument") == []


def test_a_consent_is_revoked_with_its_day(portal: Portal) -> None:
    with_consents(portal)
    form = text(portal.client.get(f"/faelle/{CASE_ID}/einwilligungen/k1/widerruf"))
    assert "Einwilligung für kreis-mettmann" in form and 'id="f-revoked_on"' in form
    response = portal.post(
        f"/faelle/{CASE_ID}/einwilligungen/k1/widerruf", {"revoked_on": "05.03.2026", "reason": "mündlich"}
    )
    assert response.headers["Location"] == f"/faelle/{CASE_ID}/einwilligungen"
    [request] = portal.apis.case.requests("RevokeConsent")
    assert (request.consent_id, request.revoked_on.day, request.reason) == ("k1", 5, "mündlich")
    wrong = portal.post(f"/faelle/{CASE_ID}/einwilligungen/k1/widerruf", {"revoked_on": "5.3."})
    assert summary_links(text(wrong)) == {
        "f-revoked_on": "das Datum des Widerrufs: bitte im Format TT.MM.JJJJ angeben, "
        "zum Beispiel 16.11.2021."
    }
    assert portal.client.get(f"/faelle/{CASE_ID}/einwilligungen/unbekannt/widerruf").status_code == 404


def test_consent_forms_without_csrf_token_are_refused(portal: Portal) -> None:
    with_consents(portal)
    assert portal.client.post(f"/faelle/{CASE_ID}/einwilligungen", data=FORM).status_code == 400
    assert (
        portal.client.post(
            f"/faelle/{CASE_ID}/einwilligungen/k1/widerruf", data={"revoked_on": "05.03.2026"}
        ).status_code
        == 400
    )
    assert portal.apis.case.requests("RecordConsent") == [] == portal.apis.case.requests("RevokeConsent")
