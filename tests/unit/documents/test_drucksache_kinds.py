"""Drucksachen as the Kreise and Kommunen write them: the kind „Antwort auf Anfrage“ (DOMAIN.md),
Sichtvermerke (Voerde), the signature of whoever signs for the Kreis or Kommune (from the
organisation's settings when the input names none), and no words of the technique."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from kimnetz.errors import InvalidArgument
from kimnetz.runtime.audit import MemoryAuditSink
from kimnetz.runtime.auth import Principal
from services.documents.domain.drucksache import drucksache_context, parse_drucksache
from services.documents.domain.kinds import DRUCKSACHE
from services.documents.rendering import Renderer
from services.documents.service import DocumentsService
from services.documents.settings import DocumentsSettings, Signatory
from tests.support.fakes.documents import InMemoryDocumentsRepository
from tests.unit.documents.documents_factories import (
    body_text,
    make_drucksache,
    open_docx,
    render_builtin,
    table_rows,
)

ANSWER = {
    "kind": "Antwort auf Anfrage",
    "consultations": [{"body": "Sozialausschuss", "date": "2021-11-16", "role": "Kenntnisnahme"}],
    "resolution": None,
    "inquiry": {"by": "der Fraktion Bündnis 90/Die Grünen", "date": "2021-10-20", "number": "A 17/12"},
    "answers": [
        {"question": "Wie viele Case-Management-Stellen erhält die Stadt Voerde?",
         "answer": "Rechnerisch eine Vollzeitstelle.\n\nDie Verhandlungen mit dem Kreis Wesel laufen."},
        {"question": "Wer trägt den Eigenanteil?", "answer": "Die Stadt als Dienstherrin."},
    ],
}


def violations(data) -> dict[str, str]:
    with pytest.raises(InvalidArgument) as caught:
        parse_drucksache(data)
    return {v.field: v.description for v in caught.value.violations}


def document(**overrides):
    return render_builtin(DRUCKSACHE, drucksache_context(parse_drucksache(make_drucksache(**overrides))))


def test_an_antwort_auf_anfrage_prints_the_anfrage_and_each_question_with_its_answer():
    text = body_text(document(**ANSWER))
    assert "Antwort auf Anfrage" in text
    assert "Anfrage der Fraktion Bündnis 90/Die Grünen vom 20.10.2021 (Nr. A 17/12)" in text
    lines = text.splitlines()
    start = lines.index("Antwort der Verwaltung")
    assert lines[start + 1:start + 6] == [
        "Frage 1", "Wie viele Case-Management-Stellen erhält die Stadt Voerde?", "Antwort",
        "Rechnerisch eine Vollzeitstelle.", "Die Verhandlungen mit dem Kreis Wesel laufen."]
    assert "Beschlussvorschlag" not in lines


def test_an_antwort_auf_anfrage_needs_the_anfrage_and_answers_and_is_not_decided():
    problems = violations(make_drucksache(kind="Antwort auf Anfrage", resolution=None))
    assert problems["consultations"].startswith("Eine Antwort auf Anfrage wird nicht beschlossen")
    problems = violations(make_drucksache(**{**ANSWER, "inquiry": None, "answers": []}))
    assert problems == {"inquiry": "Eine Antwort auf Anfrage nennt die Anfrage (wer, wann).",
                        "answers": "Eine Antwort auf Anfrage beantwortet mindestens eine Frage."}


def test_a_beschlussvorlage_still_needs_its_beschlussvorschlag_and_has_no_answers():
    assert violations(make_drucksache(resolution=None)) == {"resolution": "Pflichtangabe fehlt."}
    assert violations(make_drucksache(answers=ANSWER["answers"])) == {
        "answers": "Anfrage und Antworten gehören nur in eine Antwort auf Anfrage."}


def test_sichtvermerke_list_the_offices_that_saw_the_paper():
    doc = document(sichtvermerke=[
        {"office": "Erste Beigeordnete", "by": "Sch.", "date": "2021-11-02"},
        {"office": "Beigeordneter"},
        {"office": "Kämmerer", "by": "Mü."}])
    assert table_rows(doc, "Stelle") == [
        ["Stelle", "Sichtvermerk", "Datum"], ["Erste Beigeordnete", "Sch.", "02.11.2021"],
        ["Beigeordneter", "", ""], ["Kämmerer", "Mü.", ""]]


def test_without_sichtvermerke_there_is_no_such_section():
    assert "Sichtvermerke" not in body_text(document()).splitlines()


@pytest.mark.parametrize("function", ["Landrat", "Bürgermeisterin", "Dezernentin für Soziales",
                                      "Erster Beigeordneter", "Kreisdirektor"])
def test_whoever_signs_for_kreis_or_kommune_may_sign(function):
    text = body_text(document(signature={"name": "Dr. Claus Pommer", "function": function}))
    assert f"Dr. Claus Pommer\n{function}" in text


@pytest.mark.parametrize("function", ["Kreistagsbüro", "Ratsbüro", "Sachbearbeiterin"])
def test_a_buero_does_not_sign_a_drucksache(function):
    problems = violations(make_drucksache(signature={"name": "Vera Vertrag", "function": function}))
    assert problems["signature.function"].startswith("Eine Drucksache unterschreibt, wer für den Kreis oder "
                                                     "die Kommune zeichnet")
    assert f"(angegeben: „{function}“)" in problems["signature.function"]


@pytest.mark.parametrize(("field", "text", "word"), [
    ("body_text", "Die Knoten des Verbunds melden ihre Zahlen.", "Knoten"),
    ("title", "Zahlen aus dem KIM-Verbund", "KIM-Verbund"),
    ("body_text", "Nach Zielgruppenkatalog Version 3 zählen 12 Fälle.", "Zielgruppenkatalog"),
    ("resolution", "Der Rat nimmt die Zahlen des KIM-Netz zur Kenntnis.", "KIM-Netz"),
])
def test_no_words_of_the_technique_in_a_paper_for_politicians(field, text, word):
    problems = violations(make_drucksache(**{field: text}))
    assert problems == {field: f"„{word}“ ist ein Wort der Technik, nicht der Politik; bitte z. B. "
                               "„beteiligte Stellen“ schreiben."}


def test_a_knotenpunkt_of_traffic_is_no_word_of_the_technique():
    parse_drucksache(make_drucksache(body_text="Die Beratungsstelle liegt am Knotenpunkt der Buslinien."))


# --- the signer from the organisation's settings ----------------------------------------------

CLERK = Principal("sub-clerk", "v.vertrag", "kreis-mettmann", frozenset({"clerk"}))
NOW = datetime(2026, 5, 12, 7, 15, tzinfo=UTC)


def service(**signatories: Signatory) -> DocumentsService:
    return DocumentsService(InMemoryDocumentsRepository("kreis-node"), Renderer(), MemoryAuditSink(),
                            clock=lambda: NOW, signatories=signatories)


def unsigned() -> dict[str, object]:
    data = make_drucksache(issuer="Kreis Mettmann")
    del data["signature"]
    return data


def test_the_signer_comes_from_the_organisations_settings_not_from_the_clerk():
    documents = service(**{"kreis-mettmann": Signatory(name="Thomas Hendele", function="Landrat")})
    record, content = documents.render_document(CLERK, "drucksache", unsigned())
    assert "Thomas Hendele\nLandrat" in body_text(open_docx(content))
    assert "v.vertrag" not in body_text(open_docx(content))
    # Stored with the signature, so the input renders again from the command line.
    assert '"signature": {"function": "Landrat", "name": "Thomas Hendele"}' in record.input_json


def test_a_signature_in_the_input_is_kept():
    documents = service(**{"kreis-mettmann": Signatory(name="Thomas Hendele", function="Landrat")})
    data = {**unsigned(), "signature": {"name": "Marion Prell", "function": "Dezernentin"}}
    _, content = documents.render_document(CLERK, "drucksache", data)
    assert "Marion Prell\nDezernentin" in body_text(open_docx(content))


def test_without_signer_in_input_or_settings_the_drucksache_is_refused():
    with pytest.raises(InvalidArgument) as caught:
        service().render_document(CLERK, "drucksache", unsigned())
    assert [(v.field, v.description) for v in caught.value.violations] == [
        ("signature", "Wer unterschreibt? Unterschrift angeben oder für kreis-mettmann in den Einstellungen "
                      "eintragen (KIM_DOCUMENTS_SIGNATORIES).")]


def test_the_setting_is_read_as_json_by_organisation(monkeypatch):
    monkeypatch.setenv("KIM_DOCUMENTS_SIGNATORIES",
                       '{"stadt-hilden": {"name": "Dr. Claus Pommer", "function": "Bürgermeister"}}')
    assert DocumentsSettings().signatories == {
        "stadt-hilden": Signatory(name="Dr. Claus Pommer", function="Bürgermeister")}
