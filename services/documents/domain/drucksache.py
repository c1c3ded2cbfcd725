"""Drucksache (council paper) as Beschlussvorlage, Mitteilungsvorlage or Antwort auf Anfrage
(DOMAIN.md), shaped after the Voerde and Hilden papers: Vorlagen-Nr., Datum,
öffentlich/nichtöffentlich, Fachbereich/Fachdienst, Beratungsfolge, Betreff, Beschlussvorschlag
(an Antwort auf Anfrage has the Anfrage and the answers instead), Finanzielle Auswirkungen,
Klimaschutzrelevanz, Sachdarstellung, Unterschrift, Anlagen, Sichtvermerke (Voerde: the offices
that saw the paper before it went out).

Who signs: whoever signs for that Kreis or Kommune (Landrat/Landrätin, Bürgermeister*in,
Beigeordnete*r, Dezernent*in, Kreisdirektor*in), with name; the api takes the signer from the
organisation's settings when the input names none (services/documents/settings.py,
`KIM_DOCUMENTS_SIGNATORIES`). A Kreistagsbüro or Ratsbüro prepares papers but does not sign them.

Papers for politicians carry no words of the technique: "Knoten", "KIM-Verbund", "KIM-Netz",
"Zielgruppenkatalog" are refused (the figures' own text says "beteiligte Stellen").
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from services.documents.domain import formats
from services.documents.domain.parsing import IsoDate, Model, Text, located_error, parse, rule_error

ROLE_LABELS = {
    "vorberatend": "vorberatend",
    "beschließend": "beschließend",
    "Kenntnisnahme": "zur Kenntnisnahme",
}
CLIMATE_LABELS = {"ja_positiv": "ja, positiv", "ja_negativ": "ja, negativ", "nein": "nein"}
CHECKED, UNCHECKED = "☒", "☐"
KINDS = ("Beschlussvorlage", "Mitteilungsvorlage", "Antwort auf Anfrage")

SIGNING_OFFICES = ("landrat", "landrätin", "bürgermeister", "beigeordnete", "dezernent", "kreisdirektor",
                   "stadtdirektor", "kämmerer", "kämmerin")
"""Who signs a Drucksache in a Kreis or Kommune (the Hauptverwaltungsbeamte or a member of the
Verwaltungsvorstand): a function must name one of these (Bürgermeisterin, Erster Beigeordneter,
Dezernentin für Soziales ...)."""

IT_WORDS = re.compile(r"\b(Knotens?|KIM-Verbund(?:s|es)?|KIM-Netz(?:es)?|Zielgruppenkatalog(?:s|es)?)\b")
"""Words of the platform's technique that no council paper should carry."""


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

    @field_validator("function")
    @classmethod
    def _a_signing_office(cls, function: str) -> str:
        if not any(office in function.lower() for office in SIGNING_OFFICES):
            raise rule_error(
                "Eine Drucksache unterschreibt, wer für den Kreis oder die Kommune zeichnet: Landrat/"
                "Landrätin, Bürgermeister*in, Beigeordnete*r, Dezernent*in oder Kreisdirektor*in "
                f"(angegeben: „{function}“).")
        return function


class Sichtvermerk(Model):
    """One office that saw the paper (Voerde: Erste Beigeordnete, Beigeordneter, Kämmerer, further
    Fachbereiche). `by` (initials or name) and `date` may stay empty for a handwritten visa."""

    office: Text
    by: Text | None = None
    date: IsoDate | None = None


class Inquiry(Model):
    """The Anfrage an Antwort auf Anfrage answers: who asked (Fraktion, Ratsmitglied) and when."""

    by: Text
    date: IsoDate
    number: Text | None = None


class Answer(Model):
    question: Text
    answer: Text


class Drucksache(Model):
    kind: Literal["Beschlussvorlage", "Mitteilungsvorlage", "Antwort auf Anfrage"]
    issuer: Text | None = None
    """The Stadt or Kreis that issues the paper, printed in the letterhead (optional)."""
    number: Text
    date: IsoDate
    public: bool
    department: Department
    title: Text
    consultations: list[Consultation] = Field(min_length=1)
    resolution: Text | None = None
    """The Beschlussvorschlag; required except for an Antwort auf Anfrage."""
    inquiry: Inquiry | None = None
    answers: list[Answer] = Field(default_factory=list)
    financial_impact: Text
    climate_relevance: Literal["ja_positiv", "ja_negativ", "nein"]
    body_text: Text
    attachments: list[Text] = Field(default_factory=list)
    signature: Signature
    sichtvermerke: list[Sichtvermerk] = Field(default_factory=list)

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
        if kind in ("Mitteilungsvorlage", "Antwort auf Anfrage") and deciding:
            raise rule_error(
                f"Eine {kind} wird nicht beschlossen; Rolle von {deciding[0].body} "
                "bitte „vorberatend“ oder „Kenntnisnahme“."
            )
        return consultations

    @model_validator(mode="after")
    def _parts_fit_the_kind_and_no_technique(self) -> Drucksache:
        problems: list[tuple[tuple[int | str, ...], str]] = []
        answering = self.kind == "Antwort auf Anfrage"
        if not answering and self.resolution is None:
            problems.append((("resolution",), "Pflichtangabe fehlt."))
        if answering and self.inquiry is None:
            problems.append((("inquiry",), "Eine Antwort auf Anfrage nennt die Anfrage (wer, wann)."))
        if answering and not self.answers:
            problems.append((("answers",), "Eine Antwort auf Anfrage beantwortet mindestens eine Frage."))
        if not answering and (self.inquiry is not None or self.answers):
            field = "inquiry" if self.inquiry is not None else "answers"
            problems.append(((field,), "Anfrage und Antworten gehören nur in eine Antwort auf Anfrage."))
        texts: list[tuple[tuple[int | str, ...], str | None]] = [
            (("title",), self.title), (("resolution",), self.resolution),
            (("financial_impact",), self.financial_impact), (("body_text",), self.body_text)]
        for index, answer in enumerate(self.answers):
            texts += [(("answers", index, "question"), answer.question),
                      (("answers", index, "answer"), answer.answer)]
        for path, text in texts:
            found = IT_WORDS.search(text or "")
            if found:
                problems.append((path, f"„{found.group(0)}“ ist ein Wort der Technik, nicht der Politik; "
                                       "bitte z. B. „beteiligte Stellen“ schreiben."))
        if problems:
            raise located_error(problems)
        return self


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
        "is_answer": paper.kind == "Antwort auf Anfrage",
        "inquiry": {
            "by": paper.inquiry.by if paper.inquiry else "",
            "date": formats.day(paper.inquiry.date) if paper.inquiry else "",
            "number": (paper.inquiry.number or "") if paper.inquiry else "",
        },
        "answers": [{"number": str(i), "question": paragraphs(a.question), "answer": paragraphs(a.answer)}
                    for i, a in enumerate(paper.answers, 1)],
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
        "resolution": paragraphs(paper.resolution or ""),
        "financial_impact": paragraphs(paper.financial_impact),
        "climate": {
            "choice": CLIMATE_LABELS[paper.climate_relevance],
            **{key: CHECKED if key == paper.climate_relevance else UNCHECKED for key in CLIMATE_LABELS},
        },
        "body_paragraphs": paragraphs(paper.body_text),
        "attachments": [{"number": str(i), "title": title} for i, title in enumerate(paper.attachments, 1)],
        "signature": {"name": paper.signature.name, "function": paper.signature.function},
        "sichtvermerke": [{"office": v.office, "by": v.by or "",
                           "date": formats.day(v.date) if v.date else ""}
                          for v in paper.sichtvermerke],
    }
