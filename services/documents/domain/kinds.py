"""The kinds of document this service renders and the variables each one gives its templates.

A template is checked against its kind before it is used: the variables it may use are those of a
context built from a small sample, so the list can never drift from what rendering really provides.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from services.documents.domain.contract import contract_context, parse_allocation_file
from services.documents.domain.drucksache import drucksache_context, parse_drucksache


@dataclass(frozen=True)
class Kind:
    id: str
    label: str
    default_template: str
    sample: Callable[[], dict[str, Any]]

    @cached_property
    def variables(self) -> dict[str, Any]:
        """Top-level variable -> its sample value (nested dicts name the attributes allowed)."""
        return self.sample()


def _sample_contract() -> dict[str, Any]:
    allocations = parse_allocation_file(
        {
            "kreis": {"name": "Musterkreis", "address": "Kreishaus 1\n12345 Musterstadt",
                      "office": "Kommunales Integrationszentrum", "represented_by": "die Landrätin"},
            "term": {"from": "2026-01-01", "to": "2026-12-31"},
            "rates": {"case_management_per_fte": 55000, "kreis_topup_per_fte": 1000},
            "allocations": [{"partner": {"name": "Caritas", "kind": "welfare_org", "address": "Weg 1"},
                             "municipality": "Musterdorf", "fte": 0.5}],
        }
    )
    return contract_context(allocations, allocations.allocations[0])


def _sample_drucksache() -> dict[str, Any]:
    return drucksache_context(
        parse_drucksache(
            {
                "kind": "Beschlussvorlage", "issuer": "Stadt Musterstadt", "number": "1/2026",
                "date": "2026-01-05", "public": True,
                "department": {"fachbereich": "Soziales", "fachdienst": "Integration"},
                "title": "Betreff", "resolution": "Beschluss", "financial_impact": "keine",
                "consultations": [{"body": "Rat", "date": "2026-02-01", "role": "beschließend"}],
                "climate_relevance": "nein", "body_text": "Text", "attachments": ["Anlage"],
                "signature": {"name": "Name", "function": "Bürgermeisterin"},
            }
        )
    )


CONTRACT = Kind("contract", "Kooperations-/Weiterleitungsvertrag", "contract.docx", _sample_contract)
DRUCKSACHE = Kind("drucksache", "Drucksache", "drucksache.docx", _sample_drucksache)
KINDS = {kind.id: kind for kind in (CONTRACT, DRUCKSACHE)}
