"""Control characters never reach the DOCX XML, and validating an uploaded template is bounded in
size, parts, placeholders, repetition and time, each with a German error (issue 12)."""

from __future__ import annotations

import io
import zipfile

import pytest

from kimnetz.errors import InvalidArgument
from services.documents import rendering
from services.documents.domain.kinds import CONTRACT, DRUCKSACHE
from services.documents.rendering import (
    MAX_PARTS,
    MAX_PLACEHOLDERS,
    MAX_TEMPLATE_BYTES,
    compile_template,
    control_character_violations,
    sandbox,
    validate_template,
)
from tests.unit.documents.documents_factories import (
    body_text,
    make_drucksache,
    open_docx,
    render_builtin,
    template_with,
)

CONTROLS = "".join(chr(c) for c in range(0x20) if chr(c) not in "\t\n\r") + "\ufffe\uffff"


def descriptions(exc: InvalidArgument) -> str:
    return "\n".join(v.description for v in exc.violations)


def test_control_characters_in_values_are_removed_and_word_can_open_the_file() -> None:
    compiled = validate_template(template_with("Partner: {{ partner.name }}"), CONTRACT)
    context = {**CONTRACT.variables,
               "partner": {**CONTRACT.variables["partner"], "name": f"Caritas{CONTROLS}e. V."}}
    content = compiled.render(context)
    with zipfile.ZipFile(io.BytesIO(content)) as docx:
        xml = "".join(docx.read(name).decode("utf-8") for name in docx.namelist()
                      if name.endswith(".xml"))
    assert rendering.ILLEGAL_XML.search(xml) is None
    # python-docx parses the parts as Word does; \a and \f became docxtpl's paragraph and page breaks.
    text = body_text(open_docx(content))
    assert text.startswith("Partner: Caritas") and text.endswith("e. V.")


def test_a_builtin_document_with_control_characters_in_its_input_opens() -> None:
    data = make_drucksache()
    data["title"] = f"Bericht\x0b zur\x01 Integration{CONTROLS}"
    document = render_builtin(DRUCKSACHE, DRUCKSACHE.prepare(data).context)
    assert "Bericht zur Integration" in body_text(document)


def test_input_with_control_characters_is_named_field_by_field() -> None:
    violations = control_character_violations(
        {"title": "gut", "items": [{"name": "ok"}, {"name": "schlecht\x07"}], "note": "\x00"})
    assert {v.field for v in violations} == {"items[1].name", "note"}
    assert all("Steuerzeichen" in v.description for v in violations)
    assert control_character_violations({"text": "Zeile\nZeile\tTab\r"}) == []


def test_a_template_with_a_control_character_in_a_text_is_refused() -> None:
    with pytest.raises(InvalidArgument) as caught:
        validate_template(template_with('Vertrag {{ "A\\x01B" }} mit {{ partner.name }}'), CONTRACT)
    assert "Steuerzeichen (U+0001)" in descriptions(caught.value)


def test_a_template_part_that_is_no_xml_is_refused_in_german() -> None:
    source = io.BytesIO(template_with("{{ partner.name }}"))
    out = io.BytesIO()
    with zipfile.ZipFile(source) as docx, zipfile.ZipFile(out, "w") as broken:
        for info in docx.infolist():
            data = docx.read(info)
            if info.filename == "word/document.xml":
                data = data.replace(b"</w:body>", b"\x01</w:body>")
            broken.writestr(info, data)
    with pytest.raises(InvalidArgument) as caught:
        validate_template(out.getvalue(), CONTRACT)
    assert "kein gültiges XML" in descriptions(caught.value)


def test_an_upload_over_the_size_limit_is_refused() -> None:
    with pytest.raises(InvalidArgument) as caught:
        validate_template(b"PK" + b"\0" * MAX_TEMPLATE_BYTES, CONTRACT)
    assert "höchstens 10 MB" in descriptions(caught.value)


def with_extra_parts(data: bytes, parts: dict[str, bytes]) -> bytes:
    out = io.BytesIO(data)
    with zipfile.ZipFile(out, "a", zipfile.ZIP_DEFLATED) as docx:
        for name, content in parts.items():
            docx.writestr(name, content)
    return out.getvalue()


def test_too_many_parts_are_refused() -> None:
    data = with_extra_parts(template_with("x"), {f"customXml/kim{i}.xml": b"<a/>" for i in range(MAX_PARTS)})
    with pytest.raises(InvalidArgument) as caught:
        validate_template(data, CONTRACT)
    assert f"höchstens {MAX_PARTS}" in descriptions(caught.value)


def test_a_zip_bomb_is_refused_before_it_is_unpacked() -> None:
    data = with_extra_parts(template_with("x"), {"word/media/leer.bin": b"\0" * (70 * 1024 * 1024)})
    assert len(data) < MAX_TEMPLATE_BYTES
    with pytest.raises(InvalidArgument) as caught:
        validate_template(data, CONTRACT)
    assert "entpackt größer als 60 MB" in descriptions(caught.value)


def test_too_many_placeholders_are_refused() -> None:
    data = template_with(*["{{ partner.name }}"] * (MAX_PLACEHOLDERS + 1))
    with pytest.raises(InvalidArgument) as caught:
        validate_template(data, CONTRACT)
    assert f"höchstens {MAX_PLACEHOLDERS}" in descriptions(caught.value)


@pytest.mark.parametrize("expression", ['{{ "x" * 100000000 }}', "{{ 10 ** 100000 }}",
                                        "{{ [1] * 100000000 }}"])
def test_huge_repetitions_are_refused(expression: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        validate_template(template_with(expression), CONTRACT)
    assert "gesperrt" in descriptions(caught.value)


def test_a_template_that_renders_too_long_is_stopped_by_the_time_budget(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rendering, "VALIDATION_SECONDS", 0.5)
    loop = "{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}"
    with pytest.raises(InvalidArgument) as caught:
        validate_template(template_with(loop), CONTRACT)
    assert "dauert zu lange" in descriptions(caught.value)


def test_a_part_that_grows_too_large_is_refused_at_render() -> None:
    compiled = compile_template(template_with(
        '{% for a in range(100000) %}{{ "x" * 999 }}{% endfor %}'), sandbox())
    with pytest.raises(InvalidArgument) as caught:
        compiled.render(CONTRACT.variables)
    assert "größer als 40 Mio. Zeichen" in descriptions(caught.value)


def test_ordinary_multiplication_still_works() -> None:
    compiled = validate_template(template_with('{{ "-" * 20 }} {{ 2 ** 10 }}'), CONTRACT)
    assert "-------------------- 1024" in body_text(open_docx(compiled.render(CONTRACT.variables)))
