"""Drucksache (council paper) as Beschlussvorlage or Mitteilungsvorlage, shaped after the Voerde
and Hilden papers: Vorlagen-Nr., Datum, öffentlich/nichtöffentlich, Fachbereich/Fachdienst,
Beratungsfolge, Betreff, Beschlussvorschlag, Finanzielle Auswirkungen, Klimaschutzrelevanz,
Sachdarstellung, Anlagen, Unterschrift.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, ValidationInfo, field_validator

from services.documents.domain import formats
from services.documents.domain.parsing import IsoDate, Model, Text, parse, rule_error

ROLE_LABELS = {
    "vorberatend": "vorberatend",
    "beschließend": "beschließend",
    "Kenntnisnahme": "zur Kenntnisnahme",
}
CLIMATE_LABELS = {"ja_positiv": "ja, positiv", "ja_negativ": "ja, negativ", "nein": "nein"}
CHECKED, UNCHECKED = "☒", "☐"


class Department(Model):
    fachbereich: Text
    fachdienst: Text


class Consultation(Model):
    body: Text
    date: IsoDate
    role: Literal["vorberatend", "beschließend", "Kenntnisnahme"]


class Signature(Model):
    name: Text
    function: Text


class Drucksache(Model):
    kind: Literal["Beschlussvorlage", "Mitteilungsvorlage"]
    issuer: Text | None = None
    """The Stadt or Kreis that issues the paper, printed in the letterhead (optional)."""
    number: Text
    date: IsoDate
    public: bool
    department: Department
    title: Text
    consultations: list[Consultation] = Field(min_length=1)
    resolution: Text
    financial_impact: Text
    climate_relevance: Literal["ja_positiv", "ja_negativ", "nein"]
    body_text: Text
    attachments: list[Text] = Field(default_factory=list)
    signature: Signature

    @field_validator("consultations")
    @classmethod
    def _roles_fit_the_kind(
        cls, consultations: list[Consultation], info: ValidationInfo
    ) -> list[Consultation]:
        # A Beschlussvorlage exists to be decided; a Mitteilungsvorlage only informs (Hilden seed).
        kind = info.data.get("kind")
        deciding = [c for c in consultations if c.role == "beschließend"]
        if kind == "Beschlussvorlage" and not deciding:
            raise rule_error(
                "Eine Beschlussvorlage braucht in der Beratungsfolge ein beschließendes Gremium."
            )
        if kind == "Mitteilungsvorlage" and deciding:
            raise rule_error(
                f"Eine Mitteilungsvorlage wird nicht beschlossen; Rolle von {deciding[0].body} "
                "bitte „vorberatend“ oder „Kenntnisnahme“."
            )
        return consultations


def parse_drucksache(data: Any) -> Drucksache:
    return parse(Drucksache, data)


def paragraphs(text: str) -> list[str]:
    """Blank lines separate paragraphs; single line breaks stay line breaks within one."""
    return [p.strip() for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]


def drucksache_context(paper: Drucksache) -> dict[str, Any]:
    """What a Drucksache template may use; every value already in its German printed form."""
    return {
        "kind": paper.kind,
        "is_beschlussvorlage": paper.kind == "Beschlussvorlage",
        "issuer": paper.issuer or "",
        "number": paper.number,
        "date": formats.day(paper.date),
        "public": paper.public,
        "publicity": "öffentlich" if paper.public else "nichtöffentlich",
        "department": {
            "fachbereich": paper.department.fachbereich,
            "fachdienst": paper.department.fachdienst,
        },
        "title": paper.title,
        "consultations": [
            {"body": c.body, "date": formats.day(c.date), "role": ROLE_LABELS[c.role]}
            for c in paper.consultations
        ],
        "resolution": paragraphs(paper.resolution),
        "financial_impact": paragraphs(paper.financial_impact),
        "climate": {
            "choice": CLIMATE_LABELS[paper.climate_relevance],
            **{key: CHECKED if key == paper.climate_relevance else UNCHECKED for key in CLIMATE_LABELS},
        },
        "body_paragraphs": paragraphs(paper.body_text),
        "attachments": [{"number": str(i), "title": title} for i, title in enumerate(paper.attachments, 1)],
        "signature": {"name": paper.signature.name, "function": paper.signature.function},
    }
