"""A closed Fallkonferenz of the conference service -> the input of its Protokoll (the same
plain data as a `kim documents protokoll` YAML file, checked by domain/fallkonferenz.py).

Only a CLOSED Fallkonferenz gets a Protokoll: its record is frozen. The Protokoll goes to every
participating organisation, so a brief is printed only where the person's consent covers each
of them. Labels come from the shared vocabulary (kimnetz.vocabulary).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from kimnetz.errors import FailedPrecondition
from kimnetz.vocabulary import AgeBand, ConferenceStatus, Handlungsfeld, Labelled, Rechtskreis, ReferralTarget
from services.documents.conference import CaseDecision, ConferenceItem, ConferenceRecord
from services.documents.domain.fallkonferenz import ROLE_LABELS
from services.documents.inputs import local

DEFAULT_CONFERENCE_SIGNATURE = "Koordination Kommunales Integrationsmanagement"
UNKNOWN = "unbekannt"


@dataclass(frozen=True)
class ConferenceOptions:
    author: str
    """Who renders (username): signs the Protokoll."""
    coordination_office: str = ""
    signature_function: str = ""
    next_date: date | None = None


def _label(vocabulary: type[Labelled], key: str) -> str:
    member = vocabulary.parse(key)
    return member.label if member is not None else UNKNOWN


def _age_band(key: str) -> str:
    # The conference client gives the member NAME of kim.conference.v1.AgeBand ("from_18_to_27"),
    # the vocabulary's values are shorter ("18_27"); the names are the same.
    member = AgeBand.__members__.get(key.upper())
    return member.label if member is not None else UNKNOWN


def fallkonferenz_input(record: ConferenceRecord, options: ConferenceOptions) -> dict[str, Any]:
    if record.status != "closed":
        status = ConferenceStatus.parse(record.status)
        state = status.label if status is not None else record.status
        raise FailedPrecondition(
            f"Die Fallkonferenz ist noch nicht abgeschlossen (Stand: {state}); ein Protokoll gibt es "
            "erst, wenn sie geschlossen und ihr Ergebnis damit festgeschrieben ist.")
    decided = sorted((i for i in record.items if i.decision is not None), key=lambda i: i.position)
    if not decided:
        raise FailedPrecondition(
            "Die Fallkonferenz wurde ohne Entscheidung geschlossen; es gibt nichts zu protokollieren.")
    began = local(record.started_at or record.starts_at)
    data: dict[str, Any] = {
        "coordination_office": options.coordination_office or record.coordination_org,
        "date": began.date().isoformat(),
        "place": record.place or ("Videokonferenz" if record.video_link else "nicht angegeben"),
        "participants": [
            {"name": p.name or p.person, "role": p.role if p.role in ROLE_LABELS else "guest",
             "organization": p.organization or "nicht angegeben"}
            for p in record.participants
        ],
        "items": [_item(item, {p.organization for p in record.participants}) for item in decided],
        "signature": {"name": options.author,
                      "function": options.signature_function or DEFAULT_CONFERENCE_SIGNATURE},
    }
    if record.started_at is not None:
        data["start"] = began.strftime("%H:%M")
        if record.closed_at is not None:
            ended = local(record.closed_at)
            if ended.date() == began.date():
                data["end"] = ended.strftime("%H:%M")
    if options.next_date is not None:
        data["next_date"] = options.next_date.isoformat()
    return data


#: What the Protokoll says instead of a brief the consent does not release to every reader.
BRIEF_NOT_COVERED = ("Die Einwilligung umfasst nicht jede teilnehmende Organisation; die "
                     "Kurzinformation steht deshalb nicht im Protokoll.")


def _item(item: ConferenceItem, participant_orgs: set[str]) -> dict[str, Any]:
    """A Protokoll goes to every participating organisation: it prints the brief only where the
    person's consent covers each of them (the owner needs none)."""
    assert item.decision is not None
    decision, assigned_to, reasoning = _decision(item.decision)
    covered = {item.owner_org, *item.covered_orgs}
    printable = not item.withheld and all(org in covered for org in participant_orgs if org)
    data: dict[str, Any] = {
        "pseudonym": item.pseudonym,
        "kind": "review" if item.kind == "review" else "proposal",
        "brief": _brief(item) if printable else BRIEF_NOT_COVERED,
        "decision": decision,
        "reasoning": reasoning,
    }
    if assigned_to:
        data["assigned_to"] = assigned_to
    return data


def _brief(item: ConferenceItem) -> str:
    """The pseudonymised brief as prose: age band, Zielgruppe, fields, legal spheres, owner."""
    parts = [f"Altersgruppe: {_age_band(item.age_band)}."]
    if item.zielgruppe:
        parts.append(f"Zielgruppe: {item.zielgruppe}.")
    if item.handlungsfelder:
        fields = ", ".join(_label(Handlungsfeld, h) for h in item.handlungsfelder)
        parts.append(f"Handlungsfelder: {fields}.")
    if item.rechtskreise:
        spheres = ", ".join(_label(Rechtskreis, r) for r in item.rechtskreise)
        parts.append(f"Rechtskreise: {spheres}.")
    if item.owner_org:
        parts.append(f"Fallführende Organisation: {item.owner_org}.")
    return " ".join(parts)


def _decision(d: CaseDecision) -> tuple[str, str, str]:
    """(decision key of the Protokoll, assigned_to, reasoning)."""
    by = f"Entschieden von {d.decided_by}." if d.decided_by else ""
    if d.kind == "admission":
        assigned = d.assigned_org + (f", Case Management: {d.case_manager}" if d.case_manager else "")
        return "admission", assigned, _join("Aufnahme ins Case Management beschlossen.", by)
    if d.kind == "referral":
        target = _label(ReferralTarget, d.referral_target)
        assigned = f"{target}: {d.service}" if d.service else target
        return "referral", assigned, _join(d.reason or "Verweis an den zuständigen Regeldienst.", by)
    if d.kind == "deferral":
        until = f" Wiedervorlage bis {d.until:%d.%m.%Y}." if d.until else ""
        return "deferral", "", _join((d.reason or "Zurückgestellt.") + until, by)
    if d.kind == "rejection":
        return "rejection", "", _join(d.reason or "Abgelehnt.", by)
    outcome = d.review_outcome if d.review_outcome in ("continue", "closure_recommended", "round_table") \
        else "continue"
    offices = f"Einzuladen: {', '.join(d.offices_to_invite)}." if d.offices_to_invite else ""
    return outcome, "", _join(d.note or "Ergebnis der Fallbesprechung.", offices, by)


def _join(*parts: str) -> str:
    return " ".join(p for p in parts if p)

