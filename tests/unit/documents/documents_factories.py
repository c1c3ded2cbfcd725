"""Factories for documents test data (plain input dicts as the YAML gives them, every field
overridable) and helpers that read a rendered DOCX back with python-docx, as a user's Word would."""

from __future__ import annotations

import copy
import io
from typing import Any

import docx
from docx.oxml.ns import qn

from services.documents.domain.kinds import Kind
from services.documents.rendering import Renderer


def make_allocation_file(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "kreis": {
            "name": "Rheinisch-Bergischer Kreis",
            "address": "Am Rübezahlwald 7\n51469 Bergisch Gladbach",
            "office": "Kommunales Integrationszentrum",
            "represented_by": "den Landrat",
        },
        "term": {"from": "2026-01-01", "to": "2026-12-31"},
        "rates": {"case_management_per_fte": 55000},
        "allocations": [make_allocation()],
    }
    data.update(overrides)
    return data


def make_allocation(
    name: str = "Gemeinde Kürten", kind: str = "municipality", fte: Any = 0.5, **overrides: Any
) -> dict[str, Any]:
    allocation: dict[str, Any] = {
        "partner": {"name": name, "kind": kind, "address": "Karlheinz-Stockhausen-Platz 1\n51515 Kürten"},
        "fte": fte,
    }
    allocation.update(overrides)
    return allocation


def make_drucksache(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "kind": "Beschlussvorlage",
        "issuer": "Stadt Voerde (Niederrhein)",
        "number": "17/342",
        "date": "2021-11-03",
        "public": True,
        "department": {"fachbereich": "Soziales und Jugend", "fachdienst": "Soziales"},
        "title": "Einführung des kommunalen Integrationsmanagements",
        "consultations": [
            {"body": "Sozialausschuss", "date": "2021-11-16", "role": "vorberatend"},
            {"body": "Haupt- und Finanzausschuss", "date": "2021-11-30", "role": "vorberatend"},
            {"body": "Stadtrat", "date": "2021-12-07", "role": "beschließend"},
        ],
        "resolution": "Die Verwaltung wird beauftragt, Vertragsverhandlungen aufzunehmen.",
        "financial_impact": "keine",
        "climate_relevance": "nein",
        "body_text": "Erster Absatz.\n\nZweiter Absatz.",
        "attachments": ["KIM - Entwurf Kooperationsvertrag", "Handlungskonzept KIM"],
        "signature": {"name": "Haarmann", "function": "Bürgermeister"},
    }
    data.update(copy.deepcopy(overrides))
    return data


def render_builtin(kind: Kind, context: dict[str, Any]) -> docx.document.Document:
    renderer = Renderer()
    return open_docx(renderer.render(renderer.builtin(kind), context))


def open_docx(content: bytes) -> docx.document.Document:
    return docx.Document(io.BytesIO(content))


def body_text(document: docx.document.Document) -> str:
    """Every paragraph of the body, including those inside tables, one per line."""
    return "\n".join(
        "".join(t.text or "" for t in p.iter(qn("w:t"))) for p in document.element.body.iter(qn("w:p"))
    )


def table_rows(document: docx.document.Document, first_cell: str) -> list[list[str]]:
    """The rows of the first table whose first row starts with `first_cell`."""
    for table in document.tables:
        rows = [[cell.text for cell in row.cells] for row in table.rows]
        if rows and rows[0][0] == first_cell:
            return rows
    raise AssertionError(f"no table starting with {first_cell!r}")


def footer_text(document: docx.document.Document) -> str:
    return "\n".join(p.text for p in document.sections[0].footer.paragraphs)


def template_with(*paragraphs: str, footer: str | None = None) -> bytes:
    """A minimal DOCX template whose body holds `paragraphs`, one paragraph each."""
    document = docx.Document()
    for text in paragraphs:
        document.add_paragraph(text)
    if footer is not None:
        document.sections[0].footer.paragraphs[0].text = footer
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()
