"""The kinds of document this service renders: how each one's input is parsed, what context and
charts its templates get, and the variables each provides.

A template is checked against its kind before it is used: the variables it may use are those of a
context built from a small sample input, so the list can never drift from what rendering provides.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from kimnetz.errors import FieldViolation, InvalidArgument
from services.documents.domain.contract import AllocationFile, contract_context, parse_allocation_file
from services.documents.domain.drucksache import drucksache_context, parse_drucksache
from services.documents.domain.einwilligung import einwilligung_context, parse_einwilligung
from services.documents.domain.fallkonferenz import fallkonferenz_context, parse_fallkonferenz
from services.documents.domain.formats import day
from services.documents.domain.lenkungsgruppe import lenkungsgruppe_context, parse_lenkungsgruppe
from services.documents.domain.monitoring import (
    ChartSpec,
    monitoring_charts,
    monitoring_context,
    parse_monitoring,
)


@dataclass(frozen=True)
class Prepared:
    """One document's worth of rendering input, derived from checked input data."""

    context: dict[str, Any]
    title: str
    """German, for lists: "Weiterleitungsvertrag Gemeinde Kürten"."""
    filename: str
    charts: dict[str, ChartSpec] = field(default_factory=dict)


@dataclass(frozen=True)
class Kind:
    id: str
    label: str
    default_template: str
    sample_input: Callable[[], dict[str, Any]]
    prepare: Callable[[Any], Prepared]
    """Parse input data (raises InvalidArgument with every problem) and derive the context."""
    charts: tuple[str, ...] = ()
    """Names of the picture placeholders a template may hold; each is replaced by a chart."""

    @cached_property
    def variables(self) -> dict[str, Any]:
        """Top-level variable -> its sample value (nested dicts name the attributes allowed)."""
        return self.prepare(self.sample_input()).context


def slug(text: str) -> str:
    for umlaut, spelled in (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("ß", "ss")):
        text = text.lower().replace(umlaut, spelled)
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")


def contract_document(allocations: AllocationFile, index: int) -> Prepared:
    """The contract of one allocation of a file (the worker renders a whole file this way)."""
    allocation = allocations.allocations[index]
    names = [allocation.partner.name]
    if allocation.place != allocation.partner.name:
        names.append(allocation.place)
    return Prepared(
        context=contract_context(allocations, allocation),
        title="Weiterleitungsvertrag " + " – ".join(names),
        filename=f"{index + 1:02d}-" + "-".join(slug(name) for name in names) + ".docx",
    )


def _prepare_contract(data: Any) -> Prepared:
    allocations = parse_allocation_file(data)
    if len(allocations.allocations) != 1:
        raise InvalidArgument(
            [FieldViolation("allocations", "Für ein einzelnes Dokument genau eine Zuweisung angeben; "
                                           "alle Verträge einer Datei erzeugt der Sammelauftrag.")],
            message="Die Eingabe enthält Fehler.",
        )
    return contract_document(allocations, 0)


def _prepare_drucksache(data: Any) -> Prepared:
    paper = parse_drucksache(data)
    return Prepared(drucksache_context(paper), f"{paper.kind} {paper.number}: {paper.title}",
                    f"drucksache-{slug(paper.number)}.docx")


def _prepare_fallkonferenz(data: Any) -> Prepared:
    protocol = parse_fallkonferenz(data)
    return Prepared(fallkonferenz_context(protocol), f"Protokoll der Fallkonferenz vom {day(protocol.date)}",
                    f"fallkonferenz-{protocol.date.isoformat()}.docx")


def _prepare_lenkungsgruppe(data: Any) -> Prepared:
    protocol = parse_lenkungsgruppe(data)
    return Prepared(lenkungsgruppe_context(protocol),
                    f"Beschlussprotokoll {protocol.session} ({day(protocol.date)})",
                    f"lenkungsgruppe-{protocol.date.isoformat()}.docx")


def _prepare_monitoring(data: Any) -> Prepared:
    report = parse_monitoring(data)
    return Prepared(monitoring_context(report),
                    f"{report.title} {day(report.period.start)}–{day(report.period.end)}",
                    f"monitoringbericht-{report.period.start.isoformat()}-{report.period.end.isoformat()}.docx",
                    monitoring_charts(report))


def _prepare_einwilligung(data: Any) -> Prepared:
    declaration = parse_einwilligung(data)
    return Prepared(einwilligung_context(declaration),
                    f"Einwilligungserklärung {declaration.case_reference} ({day(declaration.date)})",
                    f"einwilligung-{slug(declaration.case_reference)}-{declaration.date.isoformat()}.docx")


def _sample_einwilligung() -> dict[str, Any]:
    return {
        "kind": "schweigepflichtentbindung",
        "controller": {"name": "Stadt Musterstadt", "office": "Kommunales Integrationsmanagement",
                       "address": "Markt 1\n12345 Musterstadt",
                       "data_protection_contact": "datenschutz@example.org"},
        "person": {"name": "Vorname Name", "birth_date": "1990-01-01"},
        "case_reference": "KIM-2026-7F3K9Q",
        "recipients": [{"organization": "Musterkreis", "purposes": ["Beratung in der Fallkonferenz"],
                        "categories": ["Falldokumentation", "Gesundheit (Art. 9 DSGVO)"]}],
        "valid_until": "2027-01-01", "date": "2026-01-05", "place": "Musterstadt",
    }


def _sample_contract() -> dict[str, Any]:
    return {
        "kreis": {"name": "Musterkreis", "address": "Kreishaus 1\n12345 Musterstadt",
                  "office": "Kommunales Integrationszentrum", "represented_by": "die Landrätin"},
        "term": {"from": "2026-01-01", "to": "2026-12-31"},
        "rates": {"case_management_per_fte": 55000, "kreis_topup_per_fte": 1000},
        "allocations": [{"partner": {"name": "Caritas", "kind": "welfare_org", "address": "Weg 1"},
                         "municipality": "Musterdorf", "fte": 0.5}],
    }


def _sample_drucksache() -> dict[str, Any]:
    return {
        "kind": "Beschlussvorlage", "issuer": "Stadt Musterstadt", "number": "1/2026",
        "date": "2026-01-05", "public": True,
        "department": {"fachbereich": "Soziales", "fachdienst": "Integration"},
        "title": "Betreff", "resolution": "Beschluss", "financial_impact": "keine",
        "consultations": [{"body": "Rat", "date": "2026-02-01", "role": "beschließend"}],
        "climate_relevance": "nein", "body_text": "Text", "attachments": ["Anlage"],
        "signature": {"name": "Name", "function": "Bürgermeisterin"},
    }


def _sample_fallkonferenz() -> dict[str, Any]:
    return {
        "coordination_office": "Musterkreis – Kommunales Integrationszentrum", "date": "2026-03-12",
        "start": "09:00", "end": "11:00", "place": "Kreishaus", "next_date": "2026-06-11",
        "participants": [{"name": "K. Koordination", "role": "coordinator", "organization": "Musterkreis"}],
        "items": [{"pseudonym": "KIM-2026-7F3K9Q", "kind": "proposal", "brief": "Kurzinformation",
                   "decision": "admission", "reasoning": "Begründung", "assigned_to": "Caritas"}],
        "signature": {"name": "K. Koordination", "function": "Koordinatorin"},
    }


def _sample_lenkungsgruppe() -> dict[str, Any]:
    return {
        "issuer": "Musterkreis", "session": "1. Sitzung 2026", "date": "2026-03-20", "place": "Kreishaus",
        "chair": "Dezernentin", "minute_taker": "Koordination",
        "members": [
            {"name": "A", "organization": "Jobcenter", "function": "Geschäftsführung", "present": True},
            {"name": "B", "organization": "ABH", "function": "Leitung", "present": False},
        ],
        "quorum": 1,
        "beschluesse": [{"number": "1/2026", "title": "Titel", "wording": "Wortlaut",
                         "votes": {"ja": 1, "nein": 0, "enthaltung": 0}, "responsible": "KI",
                         "due": "2026-06-30"}],
        "tracking": [{"number": "4/2025", "title": "Titel", "decided_on": "2025-11-20", "responsible": "KI",
                      "due": "2026-02-28", "status": "in_progress", "note": "Notiz"}],
        "signature": {"name": "Dezernentin", "function": "Vorsitz"},
    }


def _sample_monitoring() -> dict[str, Any]:
    return {
        "issuer": "Musterkreis", "office": "Kommunales Integrationszentrum", "recipient": "Sozialausschuss",
        "period": {"from": "2026-01-01", "to": "2026-06-30"},
        "cases_by_status": {"proposed": 7, "active": 23, "closed": 3},
        "cases_by_zielgruppe": [{"label": "UMF", "count": 12}, {"label": "Geduldete über 27", "count": 2}],
        "barriers_by_category": [{"label": "Wartezeit", "count": 9}],
        "summary": "Zusammenfassung", "signature": {"name": "Name", "function": "Koordinatorin"},
        # A federation's report, so a template's loops over its nodes are tried out on upload.
        "federation": {"nodes": [{"name": "Musterkreis", "stand": "30.06.2026, 09:00 Uhr"}],
                       "unavailable": [{"name": "Musterstadt", "reason": "nicht erreichbar"}],
                       "zielgruppen": "Version 1 (alle Knoten)", "notes": ["Erläuterung"]},
    }


CONTRACT = Kind("contract", "Kooperations-/Weiterleitungsvertrag", "contract.docx", _sample_contract,
                _prepare_contract)
DRUCKSACHE = Kind("drucksache", "Drucksache", "drucksache.docx", _sample_drucksache, _prepare_drucksache)
FALLKONFERENZ = Kind("fallkonferenz_protokoll", "Fallkonferenz-Protokoll", "fallkonferenz.docx",
                     _sample_fallkonferenz, _prepare_fallkonferenz)
LENKUNGSGRUPPE = Kind("lenkungsgruppe_protokoll", "Lenkungsgruppe-Beschlussprotokoll", "lenkungsgruppe.docx",
                      _sample_lenkungsgruppe, _prepare_lenkungsgruppe)
MONITORING = Kind("monitoringbericht", "Monitoringbericht", "monitoringbericht.docx", _sample_monitoring,
                  _prepare_monitoring, charts=("cases_by_status", "cases_by_zielgruppe"))
EINWILLIGUNG = Kind("einwilligungserklaerung", "Einwilligungserklärung", "einwilligungserklaerung.docx",
                    _sample_einwilligung, _prepare_einwilligung)
KINDS = {kind.id: kind for kind in (CONTRACT, DRUCKSACHE, FALLKONFERENZ, LENKUNGSGRUPPE, MONITORING,
                                    EINWILLIGUNG)}
