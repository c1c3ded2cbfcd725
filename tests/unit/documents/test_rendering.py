"""The renderer: sandboxed, escaping, strict about variables, checking templates like an upload,
and caching compiled templates without changing what docxtpl would produce."""

from __future__ import annotations

import io

import pytest
from docxtpl import DocxTemplate

from kimnetz.errors import InvalidArgument
from services.documents.domain.kinds import CONTRACT, DRUCKSACHE
from services.documents.rendering import (
    TEMPLATES_DIR,
    Renderer,
    TemplateRef,
    compile_template,
    sandbox,
    validate_template,
)
from tests.unit.documents.documents_factories import body_text, footer_text, open_docx, template_with

ESCAPES = [
    "{{ ''.__class__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ kreis['__class__'] }}",
    "{{ kreis|attr('__class__') }}",
]


def descriptions(exc: InvalidArgument) -> str:
    return "\n".join(v.description for v in exc.violations)


@pytest.mark.parametrize("escape", ESCAPES)
def test_access_to_python_internals_is_rejected_when_a_template_is_checked(escape):
    with pytest.raises(InvalidArgument) as caught:
        validate_template(template_with("Vertrag mit {{ partner.name }}", escape), CONTRACT)
    assert "Unzulässiger Zugriff" in descriptions(caught.value)


@pytest.mark.parametrize("escape", ESCAPES)
def test_access_to_python_internals_is_rejected_at_render_even_without_the_check(escape):
    compiled = compile_template(template_with(escape), sandbox())
    with pytest.raises(InvalidArgument) as caught:
        compiled.render(CONTRACT.variables)
    assert "Unzulässiger Zugriff" in descriptions(caught.value)


def test_text_with_angle_brackets_and_ampersands_renders_literally():
    compiled = validate_template(template_with("Partner: {{ partner.name }}"), CONTRACT)
    context = {
        **CONTRACT.variables,
        "partner": {**CONTRACT.variables["partner"], "name": '<Caritas> & Co "KG"'},
    }
    assert 'Partner: <Caritas> & Co "KG"' in body_text(open_docx(compiled.render(context)))


def test_syntax_error_is_reported_with_its_paragraph_and_text():
    data = template_with("Titel", "{{ partner.name }}", "{% if partner.name %}ohne Ende")
    with pytest.raises(InvalidArgument) as caught:
        validate_template(data, CONTRACT)
    message = descriptions(caught.value)
    assert "Syntaxfehler in dem Haupttext, Absatz 3" in message
    assert "„{% if partner.name %}ohne Ende“" in message


def test_variables_the_kind_does_not_provide_are_listed():
    data = template_with("{{ partner.name }} {{ iban }}", "{{ partner.nmae }}", footer="{{ sachbearbeiter }}")
    with pytest.raises(InvalidArgument) as caught:
        validate_template(data, CONTRACT)
    message = descriptions(caught.value)
    assert "Variable „iban“ in dem Haupttext wird von der Dokumentart" in message
    assert "Variable „sachbearbeiter“ in der Fußzeile (footer1)" in message
    assert "„partner.nmae“ in dem Haupttext gibt es nicht" in message


def test_loop_variables_are_checked_against_the_items_of_their_list():
    data = template_with("{% for c in consultations %}{{ c.gremium }}{% endfor %}")
    with pytest.raises(InvalidArgument) as caught:
        validate_template(data, DRUCKSACHE)
    assert "„c.gremium“" in descriptions(caught.value)


def test_a_variable_missing_at_render_is_an_error_not_a_gap():
    compiled = validate_template(template_with("{{ partner.name }}"), CONTRACT)
    with pytest.raises(InvalidArgument) as caught:
        compiled.render({"kreis": {}})
    assert "Fehler beim Ausfüllen" in descriptions(caught.value)


def test_a_file_that_is_no_docx_is_refused():
    with pytest.raises(InvalidArgument) as caught:
        validate_template(b"PK not really", CONTRACT)
    assert descriptions(caught.value) == "Keine gültige DOCX-Datei (Word-Dokument)."


def test_the_builtin_templates_pass_the_upload_check():
    for kind in (CONTRACT, DRUCKSACHE):
        validate_template((TEMPLATES_DIR / kind.default_template).read_bytes(), kind)


def test_renderer_compiles_each_template_version_once_and_evicts_the_least_recent():
    renderer = Renderer(capacity=2)
    first, second, third = (TemplateRef("vertrag", str(v)) for v in (1, 2, 3))
    data = template_with("{{ partner.name }}")
    compiled = renderer.load(first, data, CONTRACT)
    assert renderer.load(first, b"ignored: already loaded", CONTRACT) is compiled
    renderer.load(second, data, CONTRACT)
    renderer.load(first, data, CONTRACT)  # used again: now the most recent
    renderer.load(third, data, CONTRACT)
    renderer.render(first, CONTRACT.variables)
    with pytest.raises(KeyError):
        renderer.render(second, CONTRACT.variables)


def test_the_same_input_gives_the_same_bytes():
    renderer = Renderer()
    ref = renderer.builtin(CONTRACT)
    assert renderer.render(ref, CONTRACT.variables) == renderer.render(ref, CONTRACT.variables)


@pytest.mark.parametrize("kind", [CONTRACT, DRUCKSACHE])
def test_cached_rendering_gives_the_text_bare_docxtpl_gives(kind):
    template = TEMPLATES_DIR / kind.default_template
    bare = DocxTemplate(template)
    bare.render(kind.variables, jinja_env=sandbox(), autoescape=True)
    buffer = io.BytesIO()
    bare.save(buffer)
    renderer = Renderer()
    ours = open_docx(renderer.render(renderer.builtin(kind), kind.variables))
    theirs = open_docx(buffer.getvalue())
    assert body_text(ours) == body_text(theirs)
    assert footer_text(ours) == footer_text(theirs)


def test_line_breaks_in_values_become_line_breaks_in_the_document():
    compiled = validate_template(template_with("{{ kreis.address }}"), CONTRACT)
    document = open_docx(compiled.render(CONTRACT.variables))
    paragraph = next(p for p in document.paragraphs if "Kreishaus 1" in p.text)
    assert paragraph.text == "Kreishaus 1\n12345 Musterstadt"
