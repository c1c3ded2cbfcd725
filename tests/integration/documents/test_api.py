"""The DocumentsService over real gRPC with real tokens: who may render which kind, documents
stay with their organisation (a foreign one is refused exactly like a missing one), what is
stored (GridFS content with its SHA-256, template version, input, who), and bad input."""

from __future__ import annotations

import hashlib
import json

import grpc
import pytest

from kim.documents.v1 import documents_pb2 as pb
from tests.integration.documents.conftest import Call
from tests.integration.documents.inputs import INPUTS, all_text, contract_input, struct
from tests.support.grpc_calls import violations

CLERK = ("stadt-hilden", "r.buero")
CASE_MANAGER = ("stadt-hilden", "c.manager")
COORDINATOR = ("kreis-mettmann", "k.koordination")
NODE_ADMIN = ("kreis-mettmann", "n.admin")
CARITAS = ("caritas-mettmann", "m.beratung")

ALLOWED = {
    pb.CONTRACT: {CLERK},
    pb.DRUCKSACHE: {CLERK, COORDINATOR},
    pb.FALLKONFERENZ_PROTOKOLL: {COORDINATOR},
    pb.LENKUNGSGRUPPE_PROTOKOLL: {COORDINATOR},
    pb.MONITORINGBERICHT: {COORDINATOR, CLERK},
    # The declaration a person signs: who works cases (issue 16).
    pb.EINWILLIGUNGSERKLAERUNG: {CASE_MANAGER, COORDINATOR},
}


def render(
    call: Call, kind: int, as_user: tuple[str, str], data: dict | None = None
) -> pb.RenderDocumentResponse:
    request = pb.RenderDocumentRequest(kind=kind, input=struct(data or INPUTS[kind]()))
    return call("RenderDocument", request, as_user=as_user)


@pytest.mark.parametrize("kind", list(ALLOWED), ids=pb.DocumentKind.Name)
@pytest.mark.parametrize("user", [CLERK, CASE_MANAGER, COORDINATOR, NODE_ADMIN], ids=lambda u: u[1])
def test_each_role_renders_exactly_the_kinds_it_is_responsible_for(
    call: Call, kind: int, user: tuple
) -> None:
    if user in ALLOWED[kind]:
        response = render(call, kind, user)
        assert response.document.kind == kind
        assert response.document.organization == user[0]
        assert response.content.startswith(b"PK")
    else:
        with pytest.raises(grpc.RpcError) as caught:
            render(call, kind, user)
        assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED


def test_stored_document_keeps_content_hash_template_input_and_author(call: Call) -> None:
    data = contract_input()
    rendered = render(call, pb.CONTRACT, CLERK, data)
    info = rendered.document
    assert info.sha256 == hashlib.sha256(rendered.content).hexdigest()
    assert (info.template_id, info.template_version) == ("builtin:contract", 0)
    assert info.generated_by_username == "r.buero" and info.generated_by
    assert info.title == "Weiterleitungsvertrag Gemeinde Kürten"

    # A colleague of the same organisation fetches it: the very bytes, from GridFS.
    fetched = call("GetDocument", pb.GetDocumentRequest(document_id=info.document_id), as_user=CASE_MANAGER)
    assert fetched.content == rendered.content
    assert hashlib.sha256(fetched.content).hexdigest() == fetched.document.sha256 == info.sha256
    assert json.loads(fetched.input_json) == json.loads(json.dumps(data))
    assert "Gemeinde Kürten" in all_text(fetched.content)


def test_another_organisations_document_is_refused_like_a_missing_one(call: Call) -> None:
    info = render(call, pb.CONTRACT, CLERK).document
    refusals = []
    for user, document_id in (
        (COORDINATOR, info.document_id),
        (CARITAS, info.document_id),
        (CASE_MANAGER, "00000000-0000-0000-0000-000000000000"),
    ):
        with pytest.raises(grpc.RpcError) as caught:
            call("GetDocument", pb.GetDocumentRequest(document_id=document_id), as_user=user)
        refusals.append((caught.value.code(), caught.value.details()))
    assert len(set(refusals)) == 1, refusals
    assert refusals[0][0] == grpc.StatusCode.PERMISSION_DENIED


def test_lists_show_only_the_own_organisations_documents(call: Call) -> None:
    hilden = render(call, pb.DRUCKSACHE, CLERK).document.document_id
    kreis = render(call, pb.MONITORINGBERICHT, COORDINATOR).document.document_id
    listed_hilden = call("ListDocuments", pb.ListDocumentsRequest(), as_user=CASE_MANAGER).documents
    listed_kreis = call("ListDocuments", pb.ListDocumentsRequest(), as_user=NODE_ADMIN).documents
    assert hilden in {d.document_id for d in listed_hilden}
    assert kreis not in {d.document_id for d in listed_hilden}
    assert kreis in {d.document_id for d in listed_kreis}
    assert {d.organization for d in listed_hilden} == {"stadt-hilden"}
    only_reports = call(
        "ListDocuments", pb.ListDocumentsRequest(kind=pb.MONITORINGBERICHT), as_user=NODE_ADMIN
    )
    assert {d.kind for d in only_reports.documents} == {pb.MONITORINGBERICHT}
    caritas = call("ListDocuments", pb.ListDocumentsRequest(), as_user=CARITAS).documents
    assert not {hilden, kreis} & {d.document_id for d in caritas}


def test_invalid_input_lists_every_problem_with_its_path(call: Call) -> None:
    data = contract_input()
    data["allocations"][0]["fte"] = -1
    data["term"] = {"from": "2026-12-31", "to": "2026-01-01"}
    with pytest.raises(grpc.RpcError) as caught:
        render(call, pb.CONTRACT, CLERK, data)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    found = violations(caught.value)
    assert "größer als 0" in found["allocations[0].fte"]
    assert "vor ihrem Beginn" in found["term.to"]


def test_a_name_in_place_of_a_pseudonym_is_refused(call: Call) -> None:
    data = INPUTS[pb.FALLKONFERENZ_PROTOKOLL]()
    data["items"][0]["pseudonym"] = "Ahmad Beispiel"
    with pytest.raises(grpc.RpcError) as caught:
        render(call, pb.FALLKONFERENZ_PROTOKOLL, COORDINATOR, data)
    assert "Pseudonym" in violations(caught.value)["items[0].pseudonym"]


def test_unauthenticated_call_is_refused(stub) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        stub.ListDocuments(pb.ListDocumentsRequest(), timeout=10)
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_input_with_a_control_character_is_refused_in_german_with_its_field(call: Call) -> None:
    data = contract_input()
    data["allocations"][0]["partner"] = {**data["allocations"][0].get("partner", {}),
                                         "name": "Caritas\x0b e. V."}
    with pytest.raises(grpc.RpcError) as caught:
        render(call, pb.CONTRACT, CLERK, data)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "Steuerzeichen (U+000B)" in violations(caught.value)["allocations[0].partner.name"]


def test_a_document_comes_as_pdf_a_and_a_report_with_its_charts(call: Call) -> None:
    """GetDocumentPdf with the real LibreOffice (the test set-up installs it) and
    GetDocumentCharts, both refused for another organisation like GetDocument."""
    drucksache = render(call, pb.DRUCKSACHE, CLERK).document
    converted = call("GetDocumentPdf", pb.GetDocumentPdfRequest(document_id=drucksache.document_id),
                     as_user=CLERK)
    assert converted.content.startswith(b"%PDF-") and b"pdfaid:part" in converted.content
    assert converted.filename == drucksache.filename.removesuffix(".docx") + ".pdf"
    assert converted.document.document_id == drucksache.document_id

    report = render(call, pb.MONITORINGBERICHT, COORDINATOR).document
    charts = call("GetDocumentCharts", pb.GetDocumentChartsRequest(document_id=report.document_id),
                  as_user=COORDINATOR).charts
    assert [c.key for c in charts] == ["cases_by_status", "cases_by_zielgruppe"]
    assert all(c.png.startswith(b"\x89PNG") and c.title and c.bars for c in charts)
    none = call("GetDocumentCharts", pb.GetDocumentChartsRequest(document_id=drucksache.document_id),
                as_user=CLERK)
    assert list(none.charts) == []
    for rpc, request in (("GetDocumentPdf", pb.GetDocumentPdfRequest(document_id=report.document_id)),
                         ("GetDocumentCharts", pb.GetDocumentChartsRequest(document_id=report.document_id))):
        with pytest.raises(grpc.RpcError) as caught:
            call(rpc, request, as_user=CLERK)
        assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
