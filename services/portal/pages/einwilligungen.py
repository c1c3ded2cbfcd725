"""Einwilligungen of a case: record consent per recipient organisation, purposes and data
categories with its validity, revoke it, and print the Einwilligungserklärung the person signs
(DOCX from the documents service, kind EINWILLIGUNGSERKLAERUNG).

The consent form has two submit buttons: "Erklärung zum Unterschreiben (DOCX)" renders the
declaration from what is entered (the person's name is read for it, audited with the purpose
"Einwilligungserklärung drucken") and downloads it; "Einwilligung erfassen" records the signed
consent. A consent is recorded only with the day of the signature.

URLs (stable):

    /faelle/<id>/einwilligungen                          list, the form, the declaration
    /faelle/<id>/einwilligungen/<consent_id>/widerruf    revoke one consent
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, Response, flash, redirect, request, url_for
from google.protobuf import struct_pb2
from werkzeug.exceptions import NotFound
from werkzeug.wrappers import Response as WerkzeugResponse

from kim.case.v1 import case_pb2
from kim.documents.v1 import documents_pb2
from services.portal.apis import apis, call
from services.portal.forms import FormErrors, field_text
from services.portal.pages import fallvokabular as vocab
from services.portal.pages.faelle import case_page, load_case, local_date, organisations, render_case

bp = Blueprint("einwilligungen", __name__, url_prefix="/faelle")

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def consent_state(consent: Any, today: date) -> str:
    """German state of a consent on `today`, in words (never by colour alone)."""
    if consent.HasField("revoked_on"):
        return "widerrufen"
    if consent.HasField("expires_on"):
        expires = date(consent.expires_on.year, consent.expires_on.month, consent.expires_on.day)
        if expires < today:
            return "abgelaufen"
    return "gültig"


def render_consents(case_id: str, *, errors: FormErrors | None = None, status: int = 200,
                    case: Any = None) -> tuple[str, int]:
    return render_case("faelle/einwilligungen.html", case_id, errors=errors,
                       form=request.form if request.method == "POST" else None, status=status,
                       case=case, organisations=organisations(), today=date.today(), state=consent_state)


@bp.get("/<case_id>/einwilligungen")
@case_page
def liste(case_id: str) -> tuple[str, int]:
    return render_consents(case_id)


@bp.post("/<case_id>/einwilligungen")
@case_page
def erfassen(case_id: str) -> WerkzeugResponse | tuple[str, int]:
    form = request.form
    if form.get("aktion") == "erklaerung":
        return erklaerung(case_id)
    errors = FormErrors()
    signed = local_date("signed_on", errors, "das Datum der Unterschrift", required=True)
    expires = local_date("expires_on", errors, "das Ende der Gültigkeit")
    if errors:
        return render_consents(case_id, errors=errors, status=400)
    try:
        call(apis().case.RecordConsent, case_pb2.RecordConsentRequest(
            case_id=case_id, kind=vocab.number("ConsentKind", form.get("kind", "")),
            recipient_org=field_text(form, "recipient_org"),
            purposes=vocab.numbers("ConsentPurpose", form.getlist("purposes")),
            categories=vocab.numbers("DataCategory", form.getlist("categories")),
            signed_on=signed, expires_on=expires))
    except FormErrors as refused:
        return render_consents(case_id, errors=refused, status=400)
    flash("Die Einwilligung ist erfasst.", "success")
    return redirect(url_for("einwilligungen.liste", case_id=case_id))


def erklaerung(case_id: str) -> WerkzeugResponse | tuple[str, int]:
    """The Einwilligungserklärung from the form as entered, as a DOCX download."""
    form = request.form
    errors = FormErrors()
    recipient = field_text(form, "recipient_org")
    purposes = [vocab.label("ConsentPurpose", p) for p in form.getlist("purposes")]
    categories = [vocab.label("DataCategory", c) for c in form.getlist("categories")]
    if not recipient:
        errors.add("recipient_org", "Bitte geben Sie die empfangende Organisation an.")
    if not purposes:
        errors.add("purposes", "Bitte wählen Sie mindestens einen Zweck.")
    if not categories:
        errors.add("categories", "Bitte wählen Sie mindestens eine Datenkategorie.")
    expires = local_date("expires_on", errors, "das Ende der Gültigkeit")
    if errors:
        return render_consents(case_id, errors=errors, status=400)
    case = load_case(case_id, purpose="Einwilligungserklärung drucken")
    person = call(apis().case.GetPerson, case_pb2.GetPersonRequest(
        case_id=case_id, purpose="Einwilligungserklärung drucken"))
    names = dict(organisations())
    data: dict[str, Any] = {
        "kind": form.get("kind") or "einwilligung",
        "controller": {"name": names.get(case.owner_org, case.owner_org),
                       "office": "Kommunales Integrationsmanagement"},
        "person": {"name": f"{person.given_name} {person.family_name}".strip()},
        "case_reference": case.pseudonym,
        "recipients": [{"organization": names.get(recipient, recipient), "purposes": purposes,
                        "categories": categories}],
        "date": date.today().isoformat(),
    }
    if person.HasField("birth_date"):
        b = person.birth_date
        data["person"]["birth_date"] = date(b.year, b.month, b.day).isoformat()
    if expires is not None:
        data["valid_until"] = date(expires.year, expires.month, expires.day).isoformat()
    struct = struct_pb2.Struct()
    struct.update(data)
    try:
        rendered = call(apis().documents.RenderDocument, documents_pb2.RenderDocumentRequest(
            kind=documents_pb2.EINWILLIGUNGSERKLAERUNG, input=struct))
    except FormErrors as refused:
        shown = FormErrors(general=[*refused.general, *(m for _, m in refused.items())])
        return render_consents(case_id, errors=shown, status=400, case=case)
    filename = rendered.document.filename or f"einwilligung-{case.pseudonym.lower()}.docx"
    return Response(rendered.content, mimetype=DOCX, headers={
        "Content-Disposition": f'attachment; filename="{filename}"'})


@bp.route("/<case_id>/einwilligungen/<consent_id>/widerruf", methods=["GET", "POST"])
@case_page
def widerruf(case_id: str, consent_id: str) -> WerkzeugResponse | tuple[str, int]:
    case = load_case(case_id)
    consent = next((k for k in case.consents if k.consent_id == consent_id), None)
    if consent is None:
        raise NotFound()
    if request.method == "GET":
        return render_case("faelle/widerruf.html", case_id, case=case, consent=consent, today=date.today())
    form = request.form
    errors = FormErrors()
    revoked = local_date("revoked_on", errors, "das Datum des Widerrufs", required=True)
    if not errors:
        try:
            call(apis().case.RevokeConsent, case_pb2.RevokeConsentRequest(
                case_id=case_id, consent_id=consent_id, revoked_on=revoked,
                reason=field_text(form, "reason")))
        except FormErrors as refused:
            errors = refused
    if errors:
        return render_case("faelle/widerruf.html", case_id, case=case, consent=consent, errors=errors,
                           form=form, status=400, today=date.today())
    flash("Die Einwilligung ist widerrufen. Die empfangenden Organisationen werden um Löschung gebeten.",
          "success")
    return redirect(url_for("einwilligungen.liste", case_id=case_id))
