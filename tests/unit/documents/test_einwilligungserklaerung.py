"""The Einwilligungserklärung (kind "einwilligungserklaerung", issue 16): the declaration a person
signs before the Fallmanagement records their consent, read back with python-docx; who may render
it; and its input's German field messages."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from kimnetz.errors import InvalidArgument, PermissionDenied
from kimnetz.runtime.audit import MemoryAuditSink
from kimnetz.runtime.auth import Principal
from services.documents.domain.kinds import EINWILLIGUNG
from services.documents.rendering import Renderer
from services.documents.service import DocumentsService
from tests.support.fakes.documents import InMemoryDocumentsRepository
from tests.unit.documents.documents_factories import (
    body_text,
    footer_text,
    open_docx,
    render_builtin,
    table_rows,
)

CASE_MANAGER = Principal("sub-fm", "f.mueller", "stadt-hilden", frozenset({"case_manager"}))
CLERK = Principal("sub-clerk", "r.buero", "stadt-hilden", frozenset({"clerk"}))


def declaration(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "kind": "schweigepflichtentbindung",
        "controller": {"name": "Stadt Hilden", "office": "Kommunales Integrationsmanagement",
                       "data_protection_contact": "Datenschutzbeauftragte der Stadt Hilden"},
        "person": {"name": "Amina Haddad", "birth_date": "1992-01-20"},
        "case_reference": "KIM-2026-7F3K9Q",
        "recipients": [
            {"organization": "Kreis Mettmann", "purposes": ["Beratung in der Fallkonferenz"],
             "categories": ["Falldokumentation (Bedarfe, Integrationsplan, Verlauf)"]},
            {"organization": "Ausländerbehörde Kreis Mettmann", "purposes": ["Beratung in der Fallkonferenz"],
             "categories": ["Aufenthaltsstatus", "Gesundheit (Art. 9 DSGVO)"]},
        ],
        "valid_until": "2027-03-04", "date": "2026-03-04", "place": "Hilden",
    }
    data.update(overrides)
    return data


def document(**overrides: Any) -> Any:
    return render_builtin(EINWILLIGUNG, EINWILLIGUNG.prepare(declaration(**overrides)).context)


def test_it_names_each_recipient_with_its_purposes_and_data() -> None:
    rows = table_rows(document(), "Empfangende Organisation")
    assert rows[1:] == [
        ["Kreis Mettmann", "Beratung in der Fallkonferenz",
         "Falldokumentation (Bedarfe, Integrationsplan, Verlauf)"],
        ["Ausländerbehörde Kreis Mettmann", "Beratung in der Fallkonferenz",
         "Aufenthaltsstatus, Gesundheit (Art. 9 DSGVO)"],
    ]
    assert dict(r[:2] for r in table_rows(document(), "Name")) == {
        "Name": "Amina Haddad", "Geburtsdatum": "20.01.1992", "Verantwortliche Stelle": "Stadt Hilden"}


def test_it_states_validity_revocation_rights_and_the_legal_basis() -> None:
    text = body_text(document())
    assert "Einwilligungserklärung und Entbindung von der Schweigepflicht" in text
    assert "Art. 6 Abs. 1 lit. a und Art. 7 DSGVO sowie § 67b Abs. 2 SGB X" in text
    assert "Die Einwilligung gilt bis zum 04.03.2027." in text
    assert "jederzeit" in text and "Art. 7 Abs. 3 DSGVO" in text and "wirkt für die Zukunft" in text
    assert "Art. 15 bis 18 DSGVO" in text and "Art. 77 DSGVO" in text
    assert "Fragen zum Datenschutz: Datenschutzbeauftragte der Stadt Hilden" in text
    assert "Hilden, 04.03.2026" in text and "Unterschrift der betroffenen Person" in text
    assert "Fall KIM-2026-7F3K9Q" in footer_text(document())


def test_health_data_and_the_schweigepflicht_are_named_only_where_they_apply() -> None:
    with_health = body_text(document())
    assert "Art. 9 Abs. 2 lit. a DSGVO" in with_health and "entbinde ich" in with_health
    plain = body_text(document(kind="einwilligung", valid_until=None, recipients=[
        {"organization": "Kreis Mettmann", "purposes": ["Beratung in der Fallkonferenz"],
         "categories": ["Falldokumentation"]}]))
    assert "Art. 9 Abs. 2 lit. a" not in plain and "entbinde ich" not in plain
    assert "bis zum Abschluss des Falls, längstens bis zu ihrem Widerruf" in plain


def test_wrong_input_is_named_field_by_field() -> None:
    with pytest.raises(InvalidArgument) as wrong:
        EINWILLIGUNG.prepare(declaration(recipients=[], valid_until="2026-03-01"))
    assert [v.field for v in wrong.value.violations] == ["recipients"]
    with pytest.raises(InvalidArgument) as early:
        EINWILLIGUNG.prepare(declaration(valid_until="2026-03-01"))
    assert [(v.field, v.description) for v in early.value.violations] == [
        ("valid_until", "Das Ende der Gültigkeit muss nach dem Datum der Erklärung liegen.")]


def test_the_fallmanagement_renders_it_and_a_clerk_may_not() -> None:
    store = InMemoryDocumentsRepository("hilden-node")
    service = DocumentsService(store, Renderer(), MemoryAuditSink(),
                               lambda: datetime(2026, 3, 4, 9, tzinfo=UTC))
    record, content = service.render_document(CASE_MANAGER, "einwilligungserklaerung", declaration())
    assert record.title == "Einwilligungserklärung KIM-2026-7F3K9Q (04.03.2026)"
    assert record.filename == "einwilligung-kim-2026-7f3k9q-2026-03-04.docx"
    assert "Amina Haddad" in body_text(open_docx(content))
    with pytest.raises(PermissionDenied):
        service.render_document(CLERK, "einwilligungserklaerung", declaration())
