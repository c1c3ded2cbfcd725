"""Einwilligungserklärung: the printable declaration a person signs before the Fallmanagement
records their consent (issue 16). Written for consent under Art. 6 Abs. 1 lit. a, Art. 7 DSGVO
and, for social data, § 67b Abs. 2 SGB X (Schriftform, informed about purpose and revocation);
health data only under Art. 9 Abs. 2 lit. a DSGVO (named explicitly where the category is chosen).

Per recipient organisation: the purposes and the data categories released to it, and how long
the consent holds. The template (templates/einwilligungserklaerung.docx) carries the fixed legal
text (freiwillig, Widerruf für die Zukunft, Rechte der betroffenen Person, Beschwerderecht);
this module parses the input and gives every value in its printed German form.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from services.documents.domain import formats
from services.documents.domain.parsing import IsoDate, Model, Text, located_error, parse

KIND_TITLES = {
    "einwilligung": "Einwilligungserklärung",
    "schweigepflichtentbindung": "Einwilligungserklärung und Entbindung von der Schweigepflicht",
}
#: A category naming health data needs the explicit consent of Art. 9 Abs. 2 lit. a DSGVO.
HEALTH_WORDS = ("gesundheit", "art. 9")


class Controller(Model):
    """The responsible body (Verantwortliche) that records and keeps the consent."""

    name: Text
    office: Text | None = None
    address: Text | None = None
    data_protection_contact: Text | None = None
    """Who the person can ask (the Datenschutzbeauftragte), printed when given."""


class PersonRef(Model):
    name: Text
    birth_date: IsoDate | None = None


class Recipient(Model):
    organization: Text
    purposes: list[Text] = Field(min_length=1)
    categories: list[Text] = Field(min_length=1)


class Einwilligung(Model):
    kind: Literal["einwilligung", "schweigepflichtentbindung"] = "einwilligung"
    controller: Controller
    person: PersonRef
    case_reference: Text
    """The case's pseudonym, so the signed paper can be matched to the case file."""
    recipients: list[Recipient] = Field(min_length=1)
    valid_until: IsoDate | None = None
    date: IsoDate
    place: Text | None = None

    @model_validator(mode="after")
    def _valid_after_the_declaration(self) -> Einwilligung:
        if self.valid_until is not None and self.valid_until <= self.date:
            raise located_error([(("valid_until",), "Das Ende der Gültigkeit muss nach dem Datum der "
                                                    "Erklärung liegen.")])
        return self


def parse_einwilligung(data: Any) -> Einwilligung:
    return parse(Einwilligung, data)


def einwilligung_context(declaration: Einwilligung) -> dict[str, Any]:
    """What an Einwilligungserklärung template may use; every value in its printed form."""
    recipients = [
        {"organization": r.organization, "purposes": ", ".join(r.purposes),
         "categories": ", ".join(r.categories)}
        for r in declaration.recipients
    ]
    categories = [c.casefold() for r in declaration.recipients for c in r.categories]
    health = any(word in c for c in categories for word in HEALTH_WORDS)
    validity = (f"bis zum {formats.day(declaration.valid_until)}" if declaration.valid_until
                else "bis zum Abschluss des Falls, längstens bis zu ihrem Widerruf")
    controller, person = declaration.controller, declaration.person
    return {
        "title": KIND_TITLES[declaration.kind],
        "is_schweigepflichtentbindung": declaration.kind == "schweigepflichtentbindung",
        "controller": {"name": controller.name, "office": controller.office or "",
                       "address": controller.address or "",
                       "data_protection_contact": controller.data_protection_contact or ""},
        "person": {"name": person.name,
                   "birth_date": formats.day(person.birth_date) if person.birth_date else ""},
        "case_reference": declaration.case_reference,
        "recipients": recipients,
        "includes_health": health,
        "validity": validity,
        "date": formats.day(declaration.date),
        "place": declaration.place or "",
    }
