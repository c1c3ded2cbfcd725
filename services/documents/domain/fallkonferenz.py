"""Fallkonferenz-Protokoll: what the koordinierende Stelle records of one Fallkonferenz.

A Protokoll travels to every participating organisation, so a case appears in it only by its
pseudonym ("KIM-2026-7F3K9Q") and its pseudonymised brief: the pseudonym must have the case
service's form, which keeps a name typed into that field out of the document. Participants are
the professionals present (coordinator, case managers, the ABH's Integrationslots*in, guests),
by role and organisation.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, ValidationInfo, field_validator

from services.documents.domain import formats
from services.documents.domain.drucksache import paragraphs
from services.documents.domain.parsing import IsoDate, Model, Text, parse, rule_error

# The case service's pseudonym (services/case/domain/pseudonym.py): Crockford Base32, six signs.
PSEUDONYM = re.compile(r"^KIM-\d{4}-[0-9ABCDEFGHJKMNPQRSTVWXYZ]{6}$")
CLOCK = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")

ROLE_LABELS = {
    "coordinator": "Koordination (Kommunales Integrationszentrum)",
    "case_manager": "Case Management",
    "immigration_liaison": "Integrationslots*in der Ausländerbehörde",
    "guest": "Gäste",
}
ITEM_KIND_LABELS = {"proposal": "Fallvorschlag", "review": "Fallbesprechung"}
DECISION_LABELS = {
    "admission": "Aufnahme ins Case Management",
    "referral": "Verweisberatung",
    "deferral": "Zurückgestellt",
    "rejection": "Abgelehnt",
    "continue": "Fortführung",
    "closure_recommended": "Abschluss empfohlen",
    "round_table": "Runder Tisch mit den beteiligten Stellen",
}
PROPOSAL_DECISIONS = {"admission", "referral", "deferral", "rejection"}
REVIEW_DECISIONS = {"continue", "closure_recommended", "round_table"}


def _clock(value: str) -> str:
    if not CLOCK.match(value):
        raise rule_error("Uhrzeit im Format HH:MM erwartet, z. B. 09:30.")
    return value


Clock = Annotated[str, AfterValidator(_clock)]


class Participant(Model):
    name: Text
    role: Literal["coordinator", "case_manager", "immigration_liaison", "guest"]
    organization: Text


class AgendaItem(Model):
    pseudonym: Text
    kind: Literal["proposal", "review"]
    brief: Text
    decision: Literal[
        "admission", "referral", "deferral", "rejection", "continue", "closure_recommended", "round_table"
    ]
    reasoning: Text
    # Where an admitted case goes, where a referral sends the person.
    assigned_to: Text | None = Field(default=None, validate_default=True)

    @field_validator("pseudonym")
    @classmethod
    def _pseudonym_only(cls, pseudonym: str) -> str:
        if not PSEUDONYM.match(pseudonym):
            raise rule_error(
                "Nur das Pseudonym des Falls (z. B. KIM-2026-7F3K9Q), nie Name oder andere Angaben "
                "zur Person: das Protokoll geht an alle beteiligten Organisationen."
            )
        return pseudonym

    @field_validator("decision")
    @classmethod
    def _decision_fits_the_item(cls, decision: str, info: ValidationInfo) -> str:
        kind = info.data.get("kind")
        allowed = PROPOSAL_DECISIONS if kind == "proposal" else REVIEW_DECISIONS if kind == "review" else None
        if allowed is not None and decision not in allowed:
            names = ", ".join(sorted(allowed))
            raise rule_error(
                f"Für einen {ITEM_KIND_LABELS[str(kind)]} ist die Entscheidung „{decision}“ nicht möglich; "
                f"erlaubt: {names}."
            )
        return decision

    @field_validator("assigned_to")
    @classmethod
    def _target_of_admission_or_referral(cls, assigned_to: str | None, info: ValidationInfo) -> str | None:
        if assigned_to is None and info.data.get("decision") in ("admission", "referral"):
            raise rule_error(
                "Bei Aufnahme die Organisation des Case Managements, bei Verweisberatung die Stelle angeben."
            )
        return assigned_to


class Signature(Model):
    name: Text
    function: Text


class FallkonferenzProtokoll(Model):
    coordination_office: Text
    """The koordinierende Stelle that ran the conference (letterhead)."""
    date: IsoDate
    start: Clock | None = None
    end: Clock | None = None
    place: Text
    participants: list[Participant] = Field(min_length=1)
    items: list[AgendaItem] = Field(min_length=1)
    next_date: IsoDate | None = None
    signature: Signature

    @field_validator("participants")
    @classmethod
    def _led_by_a_coordinator(cls, participants: list[Participant]) -> list[Participant]:
        if not any(p.role == "coordinator" for p in participants):
            raise rule_error("Eine Fallkonferenz wird von der Koordination geleitet; sie fehlt in der Liste.")
        return participants

    @field_validator("items")
    @classmethod
    def _each_case_once(cls, items: list[AgendaItem]) -> list[AgendaItem]:
        seen: set[str] = set()
        for item in items:
            if item.pseudonym in seen:
                raise rule_error(f"Der Fall {item.pseudonym} steht zweimal auf der Tagesordnung.")
            seen.add(item.pseudonym)
        return items


def parse_fallkonferenz(data: Any) -> FallkonferenzProtokoll:
    return parse(FallkonferenzProtokoll, data)


def fallkonferenz_context(protocol: FallkonferenzProtokoll) -> dict[str, Any]:
    """What a Fallkonferenz-Protokoll template may use; every value already printed in German."""
    times = ""
    if protocol.start:
        times = f"{protocol.start}–{protocol.end} Uhr" if protocol.end else f"ab {protocol.start} Uhr"
    groups = [
        {
            "role": label,
            "people": [
                {"name": p.name, "organization": p.organization}
                for p in protocol.participants if p.role == role
            ],
        }
        for role, label in ROLE_LABELS.items()
    ]
    return {
        "coordination_office": protocol.coordination_office,
        "date": formats.day(protocol.date),
        "times": times,
        "place": protocol.place,
        "participant_groups": [group for group in groups if group["people"]],
        "participant_count": str(len(protocol.participants)),
        "items": [
            {
                "number": str(number),
                "pseudonym": item.pseudonym,
                "kind": ITEM_KIND_LABELS[item.kind],
                "brief": paragraphs(item.brief),
                "decision": DECISION_LABELS[item.decision],
                "assigned_to": item.assigned_to or "",
                "reasoning": paragraphs(item.reasoning),
            }
            for number, item in enumerate(protocol.items, 1)
        ],
        "next_date": formats.day(protocol.next_date) if protocol.next_date else "",
        "signature": {"name": protocol.signature.name, "function": protocol.signature.function},
    }
