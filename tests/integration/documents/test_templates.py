"""Template versions over the api: node_admin uploads an organisation's own version, which is
checked first (sandbox escapes and syntax errors refused with their place, unknown variables
listed), numbered, stored in GridFS and used for that organisation's next documents."""

from __future__ import annotations

import io
import zipfile

import grpc
import pytest

from kim.documents.v1 import documents_pb2 as pb
from services.documents.rendering import TEMPLATES_DIR
from tests.integration.documents.conftest import Call
from tests.integration.documents.inputs import INPUTS, all_text, struct
from tests.integration.documents.test_api import CLERK, COORDINATOR, NODE_ADMIN, violations

BUILTIN = (TEMPLATES_DIR / "fallkonferenz.docx").read_bytes()


def edited(old: str, new: str) -> bytes:
    """The built-in Fallkonferenz template with one text of its body replaced."""
    source, target = zipfile.ZipFile(io.BytesIO(BUILTIN)), io.BytesIO()
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as out:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "word/document.xml":
                assert old.encode() in data
                data = data.replace(old.encode(), new.encode(), 1)
            out.writestr(info, data)
    return target.getvalue()


def upload(call: Call, content: bytes, as_user=NODE_ADMIN, comment: str = "") -> pb.TemplateVersion:
    request = pb.UploadTemplateRequest(
        kind=pb.FALLKONFERENZ_PROTOKOLL, content=content, filename="fk.docx", comment=comment
    )
    return call("UploadTemplate", request, as_user=as_user)


def render_protocol(call: Call, version: int | None = None) -> pb.RenderDocumentResponse:
    request = pb.RenderDocumentRequest(
        kind=pb.FALLKONFERENZ_PROTOKOLL, input=struct(INPUTS[pb.FALLKONFERENZ_PROTOKOLL]())
    )
    if version is not None:
        request.template_version = version
    return call("RenderDocument", request, as_user=COORDINATOR)


def test_uploaded_version_is_used_for_the_organisations_next_documents(call: Call) -> None:
    own = edited("Für die Richtigkeit:", "Für die Richtigkeit (Vorlage des Kreises):")
    first = upload(call, own, comment="Zeichnungszeile angepasst")
    second = upload(call, edited("Für die Richtigkeit:", "Gezeichnet:"))
    assert second.version == first.version + 1
    assert (first.organization, first.uploaded_by) == ("kreis-mettmann", "n.admin")
    assert "items" in first.variables

    newest = render_protocol(call)
    assert (newest.document.template_version, newest.document.template_id) == (
        second.version,
        "kreis-mettmann:fallkonferenz_protokoll",
    )
    assert "Gezeichnet:" in all_text(newest.content)
    chosen = render_protocol(call, first.version)
    assert "Vorlage des Kreises" in all_text(chosen.content)
    builtin = render_protocol(call, 0)
    assert builtin.document.template_id == "builtin:fallkonferenz_protokoll"
    assert "Für die Richtigkeit:" in all_text(builtin.content)

    listed = call(
        "ListTemplateVersions",
        pb.ListTemplateVersionsRequest(kind=pb.FALLKONFERENZ_PROTOKOLL),
        as_user=COORDINATOR,
    ).versions
    numbers = [v.version for v in listed]
    assert numbers[-1] == 0 and numbers[:2] == [second.version, first.version]
    assert listed[1].comment == "Zeichnungszeile angepasst"


def test_a_template_reaching_python_internals_is_rejected_at_upload(call: Call) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        upload(call, edited("{{ place }}", "{{ ''.__class__ }}"))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "__class__" in violations(caught.value)["template"]


def test_a_syntax_error_is_reported_with_its_place_and_nothing_is_stored(call: Call) -> None:
    before = call(
        "ListTemplateVersions",
        pb.ListTemplateVersionsRequest(kind=pb.FALLKONFERENZ_PROTOKOLL),
        as_user=NODE_ADMIN,
    ).versions
    with pytest.raises(grpc.RpcError) as caught:
        upload(call, edited("{{ place }}", "{% if place %}{{ place }}"))
    message = violations(caught.value)["template"]
    assert "Syntaxfehler in dem Haupttext, Absatz" in message and "Text:" in message
    after = call(
        "ListTemplateVersions",
        pb.ListTemplateVersionsRequest(kind=pb.FALLKONFERENZ_PROTOKOLL),
        as_user=NODE_ADMIN,
    ).versions
    assert [v.version for v in after] == [v.version for v in before]


def test_validation_lists_variables_the_kind_does_not_provide(call: Call) -> None:
    response = call(
        "ValidateTemplate",
        pb.ValidateTemplateRequest(
            kind=pb.FALLKONFERENZ_PROTOKOLL, content=edited("{{ place }}", "{{ ort }} {{ item_count }}")
        ),
        as_user=NODE_ADMIN,
    )
    assert any("„ort“" in p for p in response.problems)
    assert any("„item_count“" in p for p in response.problems)
    fine = call(
        "ValidateTemplate",
        pb.ValidateTemplateRequest(kind=pb.FALLKONFERENZ_PROTOKOLL, content=BUILTIN),
        as_user=NODE_ADMIN,
    )
    assert list(fine.problems) == []


@pytest.mark.parametrize("user", [CLERK, COORDINATOR], ids=lambda u: u[1])
def test_only_the_node_admin_uploads_and_checks_templates(call: Call, user: tuple[str, str]) -> None:
    for method, request in (
        ("UploadTemplate", pb.UploadTemplateRequest(kind=pb.FALLKONFERENZ_PROTOKOLL, content=BUILTIN)),
        ("ValidateTemplate", pb.ValidateTemplateRequest(kind=pb.FALLKONFERENZ_PROTOKOLL, content=BUILTIN)),
    ):
        with pytest.raises(grpc.RpcError) as caught:
            call(method, request, as_user=user)
        assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED


def test_another_organisations_versions_are_not_used(call: Call) -> None:
    upload(call, edited("Für die Richtigkeit:", "Nur im Kreis:"))
    # The clerk of Stadt Hilden has no own version of the contract: the built-in one is used.
    data = INPUTS[pb.CONTRACT]()
    hilden = call(
        "RenderDocument", pb.RenderDocumentRequest(kind=pb.CONTRACT, input=struct(data)), as_user=CLERK
    )
    assert hilden.document.template_version == 0
    with pytest.raises(grpc.RpcError) as caught:
        request = pb.RenderDocumentRequest(kind=pb.CONTRACT, input=struct(data), template_version=1)
        call("RenderDocument", request, as_user=CLERK)
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
