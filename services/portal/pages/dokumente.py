"""Dokumente (Kreistagsbüro / Ratsbüro and Koordination): Weiterleitungsverträge for an
allocation, Drucksachen, the Monitoringbericht, and every document of the organisation to
download as DOCX or PDF.

- Verträge: entered in a form (the Kreis, term, rate and up to `ALLOCATION_ROWS` partners) or
  uploaded as the YAML file `kim documents contract --allocation` takes; the documents worker
  renders them as a batch (RequestContracts). The batch's page shows its progress (GetBulkJob):
  with the pages' script it updates itself, without it the person follows a refresh link; when
  the batch is done, all contracts come as one ZIP.
- Drucksache: a form in the fields of `kim documents drucksache`; "Vorschau" shows its text as
  HTML before anything is stored, "Erzeugen" stores it (RenderDrucksache), optionally with the
  monitoring figures in the Sachdarstellung.
- Monitoringbericht: RenderMonitoringReport; its charts are shown in the page (GetDocumentCharts),
  each with its figures as a table, so nothing is told by the picture alone.

Downloads stream from the documents service with Content-Disposition: attachment.
"""

from __future__ import annotations

import base64
import io
import zipfile
from datetime import date, datetime
from typing import Any

import yaml
from flask import Blueprint, flash, redirect, render_template, request, url_for
from google.protobuf import struct_pb2
from werkzeug.wrappers import Response

from kim.documents.v1 import documents_pb2 as dpb
from kimnetz.runtime.proto_mapping import to_proto_date
from services.portal.apis import apis, call
from services.portal.auth import role_required
from services.portal.forms import FormErrors, field_text, field_texts, parse_date, parse_decimal
from services.portal.kreis_support import (
    DOCX,
    PDF,
    ZIP,
    View,
    download,
    install_filters,
    is_fetch,
    lines,
    renumbered,
    rows,
)
from services.portal.navigation import NavItem

bp = Blueprint("dokumente", __name__, url_prefix="/dokumente")
install_filters(bp)

WRITERS = ("clerk", "coordinator")
NAV = (NavItem("Dokumente", "dokumente.index", frozenset(WRITERS), order=60),)

ALLOCATION_ROWS = 4
ALLOCATION_FIELDS = ("partner.name", "partner.kind", "partner.address", "municipality", "fte")
PARTNER_KINDS = [("municipality", "Kommune"), ("welfare_org", "Träger der Freien Wohlfahrtspflege")]
CONSULTATION_ROWS = 3
CONSULTATION_FIELDS = ("body", "date", "role")
CONSULTATION_ROLES = [
    ("vorberatend", "vorberatend"),
    ("beschließend", "beschließend"),
    ("Kenntnisnahme", "zur Kenntnisnahme"),
]
CLIMATE = [("nein", "nein"), ("ja_positiv", "ja, positiv"), ("ja_negativ", "ja, negativ")]
DRUCKSACHE_KINDS = [("Beschlussvorlage", "Beschlussvorlage"), ("Mitteilungsvorlage", "Mitteilungsvorlage")]
MAX_YAML_BYTES = 1024 * 1024


def struct(data: dict[str, Any]) -> struct_pb2.Struct:
    message = struct_pb2.Struct()
    message.update(_plain(data))
    return message


def _plain(value: Any) -> Any:
    """YAML's days and times as the ISO text the documents' input takes."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


# --- every document ---------------------------------------------------------------------------------


@bp.get("/")
@role_required(*WRITERS)
def index() -> str:
    listed = call(apis().documents.ListDocuments, dpb.ListDocumentsRequest(limit=100))
    return render_template("dokumente/index.html", documents=listed.documents)


@bp.get("/<document_id>")
@role_required(*WRITERS)
def show(document_id: str) -> str:
    document = call(apis().documents.GetDocument, dpb.GetDocumentRequest(document_id=document_id))
    charts: list[dict[str, Any]] = []
    if document.document.kind == dpb.MONITORINGBERICHT:
        drawn = call(
            apis().documents.GetDocumentCharts, dpb.GetDocumentChartsRequest(document_id=document_id)
        )
        charts = [
            {
                "key": c.key,
                "title": c.title,
                "axis_label": c.axis_label,
                "bars": list(c.bars),
                "src": "data:image/png;base64," + base64.b64encode(c.png).decode(),
            }
            for c in drawn.charts
        ]
    return render_template("dokumente/dokument.html", info=document.document, charts=charts)


@bp.get("/<document_id>/docx")
@role_required(*WRITERS)
def docx(document_id: str) -> Response:
    document = call(apis().documents.GetDocument, dpb.GetDocumentRequest(document_id=document_id))
    return download(document.content, document.document.filename, DOCX)


@bp.get("/<document_id>/pdf")
@role_required(*WRITERS)
def pdf(document_id: str) -> Response:
    converted = call(
        apis().documents.GetDocumentPdf, dpb.GetDocumentPdfRequest(document_id=document_id), timeout=120
    )
    return download(converted.content, converted.filename, PDF)


# --- Weiterleitungsverträge -----------------------------------------------------------------------


def _allocation_file(form: Any, errors: FormErrors) -> tuple[dict[str, Any], list[int]]:
    """The allocation file from the form, in the YAML's shape; the form rows of its allocations."""
    text = field_texts(form)
    term_from = parse_date(
        text.get("term.from"), "term.from", errors, label="Beginn der Laufzeit", required=True
    )
    term_to = parse_date(text.get("term.to"), "term.to", errors, label="Ende der Laufzeit", required=True)
    rate = parse_decimal(
        text.get("rates.case_management_per_fte"),
        "rates.case_management_per_fte",
        errors,
        label="Pauschale je VZÄ",
        required=True,
    )
    allocations, form_rows = [], []
    for i, values in rows(form, "allocations", ALLOCATION_FIELDS, ALLOCATION_ROWS):
        fte = parse_decimal(
            values["fte"], f"allocations[{i}].fte", errors, label="Stellenanteile (VZÄ)", required=True
        )
        allocation: dict[str, Any] = {
            "partner": {
                "name": values["partner.name"],
                "kind": values["partner.kind"],
                "address": values["partner.address"],
            },
            "fte": float(fte) if fte is not None else 0,
        }
        if values["municipality"]:
            allocation["municipality"] = values["municipality"]
        allocations.append(allocation)
        form_rows.append(i)
    if not allocations:
        errors.add("allocations[0].partner.name", "Bitte geben Sie mindestens einen Vertragspartner an.")
    data = {
        "kreis": {
            "name": text.get("kreis.name", ""),
            "address": text.get("kreis.address", ""),
            "office": text.get("kreis.office", ""),
            "represented_by": text.get("kreis.represented_by", ""),
        },
        "term": {
            "from": term_from.isoformat() if term_from else "",
            "to": term_to.isoformat() if term_to else "",
        },
        "rates": {"case_management_per_fte": float(rate) if rate is not None else 0},
        "allocations": allocations,
    }
    return data, form_rows


def _uploaded_allocation_file(errors: FormErrors) -> dict[str, Any] | None:
    """The uploaded YAML as data; None (and the reason in `errors`) when it cannot be read."""
    upload = request.files["datei"]
    content = upload.read(MAX_YAML_BYTES + 1)
    if len(content) > MAX_YAML_BYTES:
        errors.add("datei", "Die Datei ist größer als 1 MB.")
        return None
    try:
        data = yaml.safe_load(content.decode("utf-8"))
    except (UnicodeDecodeError, yaml.YAMLError) as problem:
        errors.add("datei", f"Die Datei ist keine lesbare YAML-Datei ({type(problem).__name__}).")
        return None
    if not isinstance(data, dict):
        errors.add("datei", "Die Datei enthält keine Verteilung (kreis, term, rates, allocations).")
        return None
    return data


@bp.route("/vertraege", methods=["GET", "POST"])
@role_required(*WRITERS)
def contracts() -> View:
    values: dict[str, str] = (
        dict(request.form)
        if request.method == "POST"
        else {
            "term.from": f"01.01.{date.today().year}",
            "term.to": f"31.12.{date.today().year}",
            "rates.case_management_per_fte": "55.000",
            "kreis.office": "Kommunales Integrationszentrum",
            "kreis.represented_by": "den Landrat",
        }
    )
    errors = FormErrors()
    if request.method == "POST":
        upload = request.files.get("datei")
        uploaded = _uploaded_allocation_file(errors) if upload and upload.filename else None
        data, form_rows = (
            (uploaded or {}, []) if upload and upload.filename else _allocation_file(request.form, errors)
        )
        if not errors:
            try:
                job = call(
                    apis().documents.RequestContracts,
                    dpb.RequestContractsRequest(allocation_file=struct(data)),
                )
            except FormErrors as refused:
                if uploaded is not None:  # the file's problems, with their paths in the file
                    errors = FormErrors(
                        general=[
                            "Die hochgeladene Datei enthält Fehler:",
                            *(f"{field}: {message}" for field, message in refused.items()),
                            *refused.general,
                        ]
                    )
                else:
                    errors = renumbered(refused, "allocations", form_rows)
            else:
                flash(f"{job.expected} Verträge werden erzeugt.", "success")
                return redirect(url_for(".job", job_id=job.job_id))
    return render_template(
        "dokumente/vertraege.html",
        values=values,
        errors=errors,
        rows=range(ALLOCATION_ROWS),
        kinds=PARTNER_KINDS,
    ), 400 if errors else 200


@bp.get("/vertraege/<job_id>")
@role_required(*WRITERS)
def job(job_id: str) -> str:
    state = call(apis().documents.GetBulkJob, dpb.GetBulkJobRequest(job_id=job_id))
    template = "dokumente/_auftrag.html" if is_fetch() else "dokumente/auftrag.html"
    return render_template(
        template, job=state, done=state.state == dpb.BulkJob.DONE, failed=state.state == dpb.BulkJob.FAILED
    )


@bp.get("/vertraege/<job_id>/vertraege.zip")
@role_required(*WRITERS)
def job_zip(job_id: str) -> Response:
    state = call(apis().documents.GetBulkJob, dpb.GetBulkJobRequest(job_id=job_id))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for info in state.documents:
            document = call(
                apis().documents.GetDocument, dpb.GetDocumentRequest(document_id=info.document_id)
            )
            archive.writestr(info.filename, document.content)
    return download(buffer.getvalue(), f"Weiterleitungsvertraege-{job_id[:8]}.zip", ZIP)


# --- Drucksache -----------------------------------------------------------------------------------


def _drucksache(form: Any, errors: FormErrors) -> dict[str, Any]:
    text = field_texts(form)
    day = parse_date(text.get("date"), "date", errors, label="Datum der Drucksache", required=True)
    consultations = []
    for i, values in rows(form, "consultations", CONSULTATION_FIELDS, CONSULTATION_ROWS):
        on = parse_date(
            values["date"], f"consultations[{i}].date", errors, label="Sitzungstermin", required=True
        )
        consultations.append(
            {"body": values["body"], "date": on.isoformat() if on else "", "role": values["role"]}
        )
    data: dict[str, Any] = {
        "kind": text.get("kind", ""),
        "number": text.get("number", ""),
        "date": day.isoformat() if day else "",
        "public": text.get("public", "ja") == "ja",
        "department": {
            "fachbereich": text.get("department.fachbereich", ""),
            "fachdienst": text.get("department.fachdienst", ""),
        },
        "title": text.get("title", ""),
        "consultations": consultations,
        "resolution": text.get("resolution", ""),
        "financial_impact": text.get("financial_impact", ""),
        "climate_relevance": text.get("climate_relevance", ""),
        "body_text": field_text(form, "body_text").replace("\r\n", "\n"),
        "attachments": lines(text.get("attachments")),
        "signature": {"name": text.get("signature.name", ""), "function": text.get("signature.function", "")},
    }
    if text.get("issuer"):
        data["issuer"] = text["issuer"]
    return data


def _paragraphs(body_text: str) -> list[str]:
    return [p.strip() for p in body_text.split("\n\n") if p.strip()]


@bp.route("/drucksache", methods=["GET", "POST"])
@role_required(*WRITERS)
def drucksache() -> View:
    values: dict[str, str] = (
        dict(request.form)
        if request.method == "POST"
        else {
            "kind": "Mitteilungsvorlage",
            "public": "ja",
            "climate_relevance": "nein",
            "financial_impact": "keine",
            "date": f"{date.today():%d.%m.%Y}",
        }
    )
    errors = FormErrors()
    preview: dict[str, Any] | None = None
    if request.method == "POST":
        data = _drucksache(request.form, errors)
        if request.form.get("aktion") == "vorschau":
            preview = {**data, "paragraphs": _paragraphs(data["body_text"])}
        elif not errors:
            try:
                rendered = call(
                    apis().documents.RenderDrucksache,
                    dpb.RenderDrucksacheRequest(
                        input=struct(data), figures_from_case_service=request.form.get("figures") == "ja"
                    ),
                    timeout=60,
                )
            except FormErrors as refused:
                errors = refused
            else:
                flash("Die Drucksache ist erzeugt.", "success")
                return redirect(url_for(".show", document_id=rendered.document.document_id))
    return render_template(
        "dokumente/drucksache.html",
        values=values,
        errors=errors,
        preview=preview,
        rows=range(CONSULTATION_ROWS),
        roles=CONSULTATION_ROLES,
        climate=CLIMATE,
        kinds=DRUCKSACHE_KINDS,
    ), 400 if errors else 200


# --- Monitoringbericht ----------------------------------------------------------------------------


@bp.route("/monitoringbericht", methods=["GET", "POST"])
@role_required(*WRITERS)
def monitoring() -> View:
    values: dict[str, str] = dict(request.form)
    errors = FormErrors()
    if request.method == "POST":
        period_from = parse_date(
            request.form.get("period_from"), "period_from", errors, label="Beginn des Berichtszeitraums"
        )
        period_to = parse_date(
            request.form.get("period_to"), "period_to", errors, label="Ende des Berichtszeitraums"
        )
        report = dpb.RenderMonitoringReportRequest(
            issuer=request.form.get("issuer", "").strip(),
            office=request.form.get("office", "").strip(),
            title=request.form.get("title", "").strip(),
            recipient=request.form.get("recipient", "").strip(),
            summary=field_text(request.form, "summary"),
            signature_function=request.form.get("signature_function", "").strip(),
        )
        if period_from is not None:
            report.period_from.CopyFrom(to_proto_date(period_from))
        if period_to is not None:
            report.period_to.CopyFrom(to_proto_date(period_to))
        if not errors:
            try:
                rendered = call(apis().documents.RenderMonitoringReport, report, timeout=60)
            except FormErrors as refused:
                errors = refused
            else:
                flash("Der Monitoringbericht ist erzeugt.", "success")
                return redirect(url_for(".show", document_id=rendered.document.document_id))
    return render_template("dokumente/monitoring.html", values=values, errors=errors), 400 if errors else 200
