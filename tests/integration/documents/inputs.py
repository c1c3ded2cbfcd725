"""Input data of every kind as the api receives it (the shape of the YAML files), and helpers
to send it as google.protobuf.Struct and to read DOCX back as a user's Word would."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import docx
import yaml
from google.protobuf import struct_pb2

from kim.documents.v1 import documents_pb2

EXAMPLES = Path(__file__).resolve().parents[3] / "services" / "documents" / "examples"


def struct(data: dict[str, Any]) -> struct_pb2.Struct:
    message = struct_pb2.Struct()
    message.update(data)
    return message


def contract_input(**overrides: Any) -> dict[str, Any]:
    data = rbk_allocation()
    data["allocations"] = [data["allocations"][2]]
    data.update(overrides)
    return data


def rbk_allocation() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((EXAMPLES / "rbk-allocation-2026.yaml").read_text(encoding="utf-8"))
    return _plain(data)


def drucksache_input() -> dict[str, Any]:
    return _plain(
        yaml.safe_load((EXAMPLES / "voerde-beschlussvorlage-2021.yaml").read_text(encoding="utf-8"))
    )


def fallkonferenz_input() -> dict[str, Any]:
    return {
        "coordination_office": "Kreis Mettmann – Kommunales Integrationszentrum",
        "date": "2026-03-12",
        "start": "09:00",
        "end": "11:30",
        "place": "Kreishaus Mettmann, Raum 2.14",
        "next_date": "2026-06-11",
        "participants": [
            {"name": "Katrin Koordination", "role": "coordinator", "organization": "Kreis Mettmann"},
            {"name": "Clara Manager", "role": "case_manager", "organization": "Stadt Hilden"},
            {"name": "Maria Beratung", "role": "case_manager", "organization": "Caritas Mettmann"},
            {"name": "Leyla Lotsin", "role": "immigration_liaison", "organization": "ABH Kreis Mettmann"},
        ],
        "items": [
            {
                "pseudonym": "KIM-2026-7F3K9Q",
                "kind": "proposal",
                "brief": "Geduldet seit 2019, Ausbildungsplatz in Aussicht, Identitätsklärung offen.",
                "decision": "admission",
                "assigned_to": "Caritas Mettmann",
                "reasoning": "Drei Rechtskreise beteiligt (AufenthG, SGB II, SGB III); Ausbildungsduldung.",
            },
            {
                "pseudonym": "KIM-2026-2M8XQA",
                "kind": "review",
                "brief": "Sprachkurs abgeschlossen (B1).",
                "decision": "continue",
                "reasoning": "Ziele im Integrationsplan teilweise erreicht.",
            },
        ],
        "signature": {"name": "Katrin Koordination", "function": "Koordinatorin KIM"},
    }


def lenkungsgruppe_input() -> dict[str, Any]:
    return {
        "issuer": "Kreis Mettmann",
        "session": "2. Sitzung 2026",
        "date": "2026-05-20",
        "place": "Kreishaus Mettmann",
        "chair": "Dezernentin Dr. Weber",
        "minute_taker": "Katrin Koordination",
        "members": [
            {
                "name": "Dr. Weber",
                "organization": "Kreis Mettmann",
                "function": "Dezernentin",
                "present": True,
            },
            {
                "name": "H. Jobs",
                "organization": "Jobcenter ME-aktiv",
                "function": "Geschäftsführer",
                "present": True,
            },
            {
                "name": "A. Recht",
                "organization": "ABH Kreis Mettmann",
                "function": "Leitung",
                "present": True,
            },
            {"name": "S. Stadt", "organization": "Stadt Hilden", "function": "Amtsleitung", "present": False},
        ],
        "beschluesse": [
            {
                "number": "LG 3/2026",
                "title": "Sprechstunde der ABH im Jobcenter",
                "wording": "Die ABH bietet ab 01.07.2026 eine monatliche Sprechstunde im Jobcenter an.",
                "votes": {"ja": 2, "nein": 0, "enthaltung": 1},
                "responsible": "ABH Kreis Mettmann",
                "due": "2026-07-01",
            },
        ],
        "tracking": [
            {
                "number": "LG 7/2025",
                "title": "Wartezeiten Integrationskurse erheben",
                "decided_on": "2025-11-12",
                "responsible": "Kommunales Integrationszentrum",
                "due": "2026-03-31",
                "status": "in_progress",
            },
            {
                "number": "LG 5/2025",
                "title": "Zielgruppe UMF bestätigt",
                "decided_on": "2025-09-10",
                "responsible": "Lenkungsgruppe",
                "due": "2025-12-31",
                "status": "implemented",
            },
        ],
        "signature": {"name": "Dr. Weber", "function": "Vorsitzende der Lenkungsgruppe"},
    }


def monitoring_input() -> dict[str, Any]:
    return {
        "issuer": "Kreis Mettmann",
        "office": "Kommunales Integrationszentrum",
        "recipient": "Sozialausschuss",
        "period": {"from": "2026-01-01", "to": "2026-06-30"},
        "cases_by_status": {"proposed": 9, "in_review": 3, "active": 41, "closed": 12},
        "cases_by_zielgruppe": [
            {"label": "Unbegleitete minderjährige Geflüchtete", "count": 14},
            {"label": "§§ 25a, 25b AufenthG", "count": 27},
            {"label": "Geduldete und Gestattete über 27", "count": 2},
            {"label": "Süd-Ost-Europa", "count": 22},
        ],
        "barriers_by_category": [
            {"label": "Wartezeit", "count": 17},
            {"label": "rechtliche Hürde", "count": 6},
        ],
        "summary": "Im ersten Halbjahr wurden 65 Fälle geführt.",
        "signature": {"name": "Katrin Koordination", "function": "Koordinatorin KIM"},
    }


def einwilligung_input() -> dict[str, Any]:
    return {
        "kind": "einwilligung",
        "controller": {"name": "Stadt Hilden", "office": "Kommunales Integrationsmanagement"},
        "person": {"name": "Amina Haddad", "birth_date": "1992-01-20"},
        "case_reference": "KIM-2026-7F3K9Q",
        "recipients": [{"organization": "Kreis Mettmann", "purposes": ["Beratung in der Fallkonferenz"],
                        "categories": ["Falldokumentation"]}],
        "date": "2026-03-04",
    }


INPUTS = {
    documents_pb2.CONTRACT: contract_input,
    documents_pb2.DRUCKSACHE: drucksache_input,
    documents_pb2.FALLKONFERENZ_PROTOKOLL: fallkonferenz_input,
    documents_pb2.LENKUNGSGRUPPE_PROTOKOLL: lenkungsgruppe_input,
    documents_pb2.MONITORINGBERICHT: monitoring_input,
    documents_pb2.EINWILLIGUNGSERKLAERUNG: einwilligung_input,
}


def _plain(data: Any) -> Any:
    """Dates as ISO text, as JSON carries them."""
    if isinstance(data, dict):
        return {key: _plain(value) for key, value in data.items()}
    if isinstance(data, list):
        return [_plain(value) for value in data]
    if hasattr(data, "isoformat"):
        return data.isoformat()
    return data


def open_docx(content: bytes) -> docx.document.Document:
    return docx.Document(io.BytesIO(content))


def all_text(content: bytes) -> str:
    """Every text of the body in reading order, table cells joined by " | "."""
    document = open_docx(content)
    lines: list[str] = []
    for element in document.element.body.iterchildren():
        if element.tag.endswith("}p"):
            lines.append(_text(element))
        elif element.tag.endswith("}tbl"):
            for row in element.iter("{*}tr"):
                lines.append(" | ".join(_text(cell) for cell in row.iterchildren("{*}tc")))
    return "\n".join(line for line in lines if line)


def _text(element: Any) -> str:
    return "".join(node.text or "" for node in element.iter("{*}t"))
