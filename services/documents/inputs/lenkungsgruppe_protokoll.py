"""A closed Lenkungsgruppe session of the conference service, with its Gremium, the Gremium's
sessions and Beschlüsse -> the input of its Beschlussprotokoll (the same plain data as a
`kim documents beschlussprotokoll` YAML file, checked by domain/lenkungsgruppe.py).

Only a CLOSED session gets a Beschlussprotokoll: its results are final. Beschlüsse are numbered
"<n>/<year>-<item>" and tracked (Beschlussverfolgung) up to the session's day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from kimnetz.errors import FailedPrecondition
from kimnetz.vocabulary import SessionStatus
from services.documents.conference import BeschlussRecord, Gremium, SessionItem, SessionRecord
from services.documents.inputs import BERLIN, local

DEFAULT_SESSION_SIGNATURE = "Geschäftsführung der Lenkungsgruppe"
DEFAULT_BODY = "Lenkungsgruppe Kommunales Integrationsmanagement"


@dataclass(frozen=True)
class SessionOptions:
    author: str
    """Who renders (username): keeps the minutes and signs."""
    issuer: str = ""
    chair: str = ""
    signature_function: str = ""


def lenkungsgruppe_input(session: SessionRecord, gremium: Gremium, sessions: list[SessionRecord],
                         beschluesse: list[BeschlussRecord], options: SessionOptions) -> dict[str, Any]:
    if session.status != "closed":
        status = SessionStatus.parse(session.status)
        state = status.label if status is not None else session.status
        raise FailedPrecondition(
            f"Die Sitzung der Lenkungsgruppe ist noch nicht geschlossen (Stand: {state}); ein "
            "Beschlussprotokoll gibt es erst, wenn ihre Ergebnisse feststehen.")
    day = local(session.opened_at or session.starts_at).date()
    numbers, ordinal = _numbering(session, sessions)
    by_id = {b.beschluss_id: b for b in beschluesse}
    present = set(session.present)
    members = []
    for m in gremium.members:
        by_deputy = m.person not in present and bool(m.deputy_person) and m.deputy_person in present
        name = m.name or m.person
        if by_deputy:
            name += f" (vertreten durch {m.deputy_name or m.deputy_person})"
        function = m.function or "Mitglied"
        if not m.voting:
            function += " (beratend)"
        members.append({"name": name, "organization": m.organization or "nicht angegeben",
                        "function": function, "present": m.person in present or by_deputy})
    data: dict[str, Any] = {
        "body": gremium.name or DEFAULT_BODY,
        "issuer": options.issuer or session.coordination_org,
        "session": f"{ordinal}. Sitzung {session.starts_at.astimezone(BERLIN).year}",
        "date": day.isoformat(),
        "place": session.place or "nicht angegeben",
        "chair": options.chair or options.author,
        "minute_taker": options.author,
        "members": members,
        "beschluesse": [
            _result(item, numbers[(session.session_id, item.vorlage_id)], by_id.get(item.beschluss_id))
            for item in session.items if item.status in ("adopted", "rejected")
        ],
        "tracking": [
            _tracking(b, numbers.get((b.session_id, b.vorlage_id), b.beschluss_id[:8]), day)
            for b in sorted(beschluesse, key=lambda b: _order(numbers, b))
            if b.adopted_on is None or b.adopted_on <= day
        ],
        "signature": {"name": options.author,
                      "function": options.signature_function or DEFAULT_SESSION_SIGNATURE},
    }
    # The conference service counts voting seats represented; its threshold is the Protokoll's.
    if 1 <= session.quorum_required <= len(members):
        data["quorum"] = session.quorum_required
    return data


def _numbering(session: SessionRecord,
               sessions: list[SessionRecord]) -> tuple[dict[tuple[str, str], str], int]:
    """Numbers "<n>/<year>-<item>" (n-th session of the year, item on its agenda): stable, since
    later sessions do not renumber earlier ones, and the same in every later Protokoll's
    Beschlussverfolgung. Returns them and this session's n."""
    known = {s.session_id: s for s in sessions}
    known[session.session_id] = session
    per_year: dict[int, int] = {}
    numbers: dict[tuple[str, str], str] = {}
    ordinal = 1
    for s in sorted(known.values(), key=lambda s: (s.starts_at, s.session_id)):
        year = s.starts_at.astimezone(BERLIN).year
        per_year[year] = per_year.get(year, 0) + 1
        if s.session_id == session.session_id:
            ordinal = per_year[year]
        for position, item in enumerate(s.items, 1):
            numbers[(s.session_id, item.vorlage_id)] = f"{per_year[year]}/{year}-{position}"
    return numbers, ordinal


def _order(numbers: dict[tuple[str, str], str], b: BeschlussRecord) -> tuple[date, int, int, str]:
    number = numbers.get((b.session_id, b.vorlage_id), "")
    head, _, position = number.partition("-")
    return (b.adopted_on or date.min, int(head.partition("/")[0] or 0) if number else 0,
            int(position or 0), b.beschluss_id)


def _responsible(person: str, organization: str) -> str:
    if person and organization:
        return f"{person} ({organization})"
    return person or organization or "nicht festgelegt"


def _result(item: SessionItem, number: str, beschluss: BeschlussRecord | None) -> dict[str, Any]:
    if beschluss is not None:
        data: dict[str, Any] = {
            "number": number, "title": beschluss.title or item.title,
            "wording": beschluss.wording or item.proposed_wording,
            "votes": {"ja": beschluss.yes, "nein": beschluss.no, "enthaltung": beschluss.abstain},
            "mode": "consensus" if beschluss.mode == "consensus" else "vote",
            "responsible": _responsible(beschluss.responsible_person, beschluss.responsible_org),
        }
        if beschluss.due_on is not None:
            data["due"] = beschluss.due_on.isoformat()
        return data
    return {
        "number": number, "title": item.title, "wording": item.proposed_wording or item.title,
        "votes": {"ja": item.yes, "nein": item.no, "enthaltung": item.abstain},
        "responsible": "entfällt (abgelehnt)",
    }


def _tracking(b: BeschlussRecord, number: str, day: date) -> dict[str, Any]:
    decided = b.adopted_on or day
    data: dict[str, Any] = {
        "number": number, "title": b.title or "ohne Titel", "decided_on": decided.isoformat(),
        "responsible": _responsible(b.responsible_person, b.responsible_org),
        "due": (b.due_on or decided).isoformat(),
        "status": b.status if b.status in ("open", "in_progress", "implemented", "discarded") else "open",
    }
    if b.last_note:
        data["note"] = b.last_note
    return data

