"""Lenkungsgruppe-Beschlussprotokoll: who was present, whether the group could decide, what it
decided (wording, votes, who implements it by when) and the Beschlussverfolgung, the table of
earlier Beschlüsse and how far each has come (DOMAIN.md, "The structural loop").

Rules a Protokoll must not break: a session without quorum adopts nothing; no Beschluss has more
votes than members present; a due date lies after the session.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from services.documents.domain import formats
from services.documents.domain.drucksache import paragraphs
from services.documents.domain.parsing import IsoDate, Model, Text, located_error, parse, rule_error

STATUS_LABELS = {
    "open": "offen",
    "in_progress": "in Umsetzung",
    "implemented": "umgesetzt",
    "discarded": "verworfen",
}
FINISHED = {"implemented", "discarded"}


class Member(Model):
    name: Text
    organization: Text
    function: Text
    present: bool


class Votes(Model):
    ja: int = Field(ge=0)
    nein: int = Field(ge=0)
    enthaltung: int = Field(ge=0)

    @property
    def total(self) -> int:
        return self.ja + self.nein + self.enthaltung

    @property
    def adopted(self) -> bool:
        # Simple majority of the votes cast; abstentions count as not cast (as in § 50 GO NRW).
        return self.ja > self.nein


class Beschluss(Model):
    number: Text
    title: Text
    wording: Text
    votes: Votes
    mode: Literal["vote", "consensus"] = "vote"
    """consensus: adopted einvernehmlich, without counting (no "nein" may have been cast)."""
    responsible: Text
    due: IsoDate | None = None

    @property
    def adopted(self) -> bool:
        return self.mode == "consensus" or self.votes.adopted

    @property
    def result(self) -> str:
        if self.mode == "consensus":
            return "einvernehmlich angenommen"
        return "angenommen" if self.votes.adopted else "abgelehnt"


class Tracking(Model):
    number: Text
    title: Text
    decided_on: IsoDate
    responsible: Text
    due: IsoDate
    status: Literal["open", "in_progress", "implemented", "discarded"]
    note: Text | None = None


class Signature(Model):
    name: Text
    function: Text


class LenkungsgruppeProtokoll(Model):
    body: Text = "Lenkungsgruppe Kommunales Integrationsmanagement"
    issuer: Text
    """The Kreis whose koordinierende Stelle holds the Geschäftsführung (letterhead)."""
    session: Text
    """Number or name of the session, e.g. "3. Sitzung 2026"."""
    date: IsoDate
    place: Text
    chair: Text
    minute_taker: Text
    members: list[Member] = Field(min_length=1)
    quorum: int | None = Field(default=None, ge=1)
    """Members who must be present; default: more than half of the members."""
    beschluesse: list[Beschluss] = Field(default_factory=list)
    tracking: list[Tracking] = Field(default_factory=list)
    signature: Signature

    @field_validator("quorum")
    @classmethod
    def _quorum_within_members(cls, quorum: int | None, info: ValidationInfo) -> int | None:
        members = info.data.get("members")
        if quorum is not None and members is not None and quorum > len(members):
            raise rule_error(
                f"Die Beschlussfähigkeit kann nicht mehr als {len(members)} Mitglieder verlangen."
            )
        return quorum

    @model_validator(mode="after")
    def _decisions_need_quorum_and_fit_the_session(self) -> LenkungsgruppeProtokoll:
        present = self.present_count
        problems: list[tuple[tuple[str | int, ...], str]] = []
        if self.beschluesse and not self.quorate:
            problems.append((("beschluesse",),
                             f"Mit {present} von {len(self.members)} Mitgliedern ist die Lenkungsgruppe "
                             f"nicht beschlussfähig (nötig: {self.required}); es können keine Beschlüsse "
                             "gefasst werden."))
        for index, beschluss in enumerate(self.beschluesse):
            if beschluss.votes.total > present:
                problems.append((("beschluesse", index, "votes"),
                                 f"{beschluss.votes.total} Stimmen, aber nur {present} Mitglieder anwesend."))
            if beschluss.mode == "consensus" and beschluss.votes.nein:
                problems.append((("beschluesse", index, "mode"),
                                 "Einvernehmlich heißt ohne Gegenstimme; bei Nein-Stimmen wird abgestimmt."))
            # Not before the session: the conference service lets a Beschluss be due on its day.
            if beschluss.due is not None and beschluss.due < self.date:
                problems.append((("beschluesse", index, "due"),
                                 f"Die Frist ({formats.day(beschluss.due)}) darf nicht vor der Sitzung "
                                 "liegen."))
        for index, entry in enumerate(self.tracking):
            if entry.decided_on > self.date:
                problems.append((("tracking", index, "decided_on"),
                                 "Ein verfolgter Beschluss kann nicht nach dieser Sitzung gefasst "
                                 "worden sein."))
        if problems:
            raise located_error(problems)
        return self

    @property
    def present_count(self) -> int:
        return sum(member.present for member in self.members)

    @property
    def required(self) -> int:
        return self.quorum if self.quorum is not None else len(self.members) // 2 + 1

    @property
    def quorate(self) -> bool:
        return self.present_count >= self.required


def parse_lenkungsgruppe(data: Any) -> LenkungsgruppeProtokoll:
    return parse(LenkungsgruppeProtokoll, data)


def lenkungsgruppe_context(protocol: LenkungsgruppeProtokoll) -> dict[str, Any]:
    """What a Beschlussprotokoll template may use; every value already printed in German."""
    return {
        "body": protocol.body,
        "issuer": protocol.issuer,
        "session": protocol.session,
        "date": formats.day(protocol.date),
        "place": protocol.place,
        "chair": protocol.chair,
        "minute_taker": protocol.minute_taker,
        "members_present": [_member(m) for m in protocol.members if m.present],
        "members_absent": [_member(m) for m in protocol.members if not m.present],
        "quorum": {
            "present": str(protocol.present_count),
            "members": str(len(protocol.members)),
            "required": str(protocol.required),
            "reached": protocol.quorate,
            "statement": (
                f"Die Lenkungsgruppe ist mit {protocol.present_count} von {len(protocol.members)} "
                "Mitgliedern "
                + ("beschlussfähig." if protocol.quorate
                   else f"nicht beschlussfähig (erforderlich: {protocol.required}).")
            ),
        },
        "beschluesse": [
            {
                "number": b.number,
                "title": b.title,
                "wording": paragraphs(b.wording),
                "ja": str(b.votes.ja),
                "nein": str(b.votes.nein),
                "enthaltung": str(b.votes.enthaltung),
                "result": b.result,
                "responsible": b.responsible,
                "due": formats.day(b.due) if b.due else "ohne Frist",
            }
            for b in protocol.beschluesse
        ],
        "tracking": [_tracking(entry, protocol.date) for entry in protocol.tracking],
        "signature": {"name": protocol.signature.name, "function": protocol.signature.function},
    }


def _member(member: Member) -> dict[str, str]:
    return {"name": member.name, "organization": member.organization, "function": member.function}


def _tracking(entry: Tracking, session: date) -> dict[str, str]:
    overdue = entry.status not in FINISHED and entry.due < session
    return {
        "number": entry.number,
        "title": entry.title,
        "decided_on": formats.day(entry.decided_on),
        "responsible": entry.responsible,
        "due": formats.day(entry.due),
        "status": STATUS_LABELS[entry.status] + (" – überfällig" if overdue else ""),
        "note": entry.note or "",
    }
