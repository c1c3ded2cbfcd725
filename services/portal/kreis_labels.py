"""German labels of the conference's and the documents' own enums (kim.conference.v1,
kim.documents.v1) for the Koordination, Lenkungsgruppe and Kreistagsbüro pages.

The shared vocabulary (case status, Handlungsfelder, Rechtskreise, referral targets, barrier
categories) has its labels in kimnetz.vocabulary and the `label` filter; the conference's own
vocabulary lives in services/conference/domain/vocabulary.py, which the portal may not import
(services meet only through their contracts). So the labels are written here once, keyed by the
proto enum's value names, with the same German words as the domain's; `tests/unit/portal/
test_kreis_labels.py` holds every value of each enum to a label, so a new value cannot go
unlabelled.
"""

from __future__ import annotations

from typing import Any

from kim.conference.v1 import types_pb2 as ct
from kim.documents.v1 import documents_pb2 as dt

LABELS: dict[str, tuple[Any, dict[str, str]]] = {
    "ConferenceStatus": (
        ct.ConferenceStatus,
        {
            "PLANNED": "geplant",
            "PREPARED": "vorbereitet (Tagesordnung erstellt)",
            "RUNNING": "laufend",
            "CLOSED": "abgeschlossen",
        },
    ),
    "AgendaItemKind": (
        ct.AgendaItemKind,
        {"PROPOSAL": "Fallvorschlag", "REVIEW": "Fallbesprechung (Quartalsüberprüfung)"},
    ),
    "ReviewOutcome": (
        ct.ReviewOutcome,
        {
            "CONTINUE": "weiter wie geplant",
            "CLOSURE_RECOMMENDED": "Abschluss empfohlen",
            "ROUND_TABLE": "Akteure an einen Tisch holen",
        },
    ),
    "DecisionReason": (
        ct.DecisionReason,
        {
            "DOCUMENTS_MISSING": "Unterlagen fehlen",
            "CLARIFICATION_NEEDED": "Klärungsbedarf",
            "NOT_IN_ZIELGRUPPE": "keine Zielgruppe des KIM",
            "OTHER_SERVICE_RESPONSIBLE": "ein anderes Angebot ist zuständig",
            "NO_CAPACITY": "derzeit keine Kapazität im Fallmanagement",
            "PERSON_DECLINED": "die Person wünscht kein Fallmanagement",
            "OTHER": "sonstiger Grund (siehe Protokoll der Fallkonferenz)",
        },
    ),
    "ParticipantRole": (
        ct.ParticipantRole,
        {
            "COORDINATOR": "Koordinator*in",
            "CASE_MANAGER": "Case Manager*in",
            "IMMIGRATION_LIAISON": "Integrationslots*in der Ausländerbehörde",
            "GUEST": "eingeladene Stelle",
        },
    ),
    "AgeBand": (
        ct.AgeBand,
        {
            "UNDER_18": "unter 18 Jahre",
            "FROM_18_TO_27": "18 bis 27 Jahre",
            "FROM_28_TO_39": "28 bis 39 Jahre",
            "FROM_40_TO_64": "40 bis 64 Jahre",
            "FROM_65": "65 Jahre und älter",
        },
    ),
    "SessionStatus": (ct.SessionStatus, {"PLANNED": "geplant", "OPEN": "eröffnet", "CLOSED": "geschlossen"}),
    "VoteChoice": (ct.VoteChoice, {"YES": "ja", "NO": "nein", "ABSTAIN": "Enthaltung"}),
    "DecisionMode": (ct.DecisionMode, {"VOTE": "Abstimmung", "CONSENSUS": "einvernehmlich (Konsens)"}),
    "VorlageKind": (
        ct.VorlageKind,
        {
            "GENERAL": "Beschlussvorlage",
            "ZIELGRUPPEN": "Zielgruppen festlegen",
            "PROJEKTGRUPPE_MANDATE": "Projektgruppe einsetzen",
        },
    ),
    "VorlageStatus": (
        ct.VorlageStatus,
        {"PENDING": "offen", "ADOPTED": "beschlossen", "REJECTED": "abgelehnt", "POSTPONED": "vertagt"},
    ),
    "BeschlussStatus": (
        ct.BeschlussStatus,
        {
            "OPEN": "offen",
            "IN_PROGRESS": "in Umsetzung",
            "IMPLEMENTED": "umgesetzt",
            "DISCARDED": "verworfen",
        },
    ),
    "Topic": (
        ct.Topic,
        {
            "BILDUNG": "Bildung und Erziehung",
            "AUSBILDUNG": "Ausbildung",
            "ARBEIT": "Arbeit",
            "SPRACHE": "Sprache",
            "WOHNEN": "Wohnen",
            "GESUNDHEIT": "Gesundheit",
            "TEILHABE": "Teilhabe",
            "CASE_MANAGEMENT": "Case Management",
            "SOZIALE_INTEGRATION": "Soziale Integration",
        },
    ),
    "DocumentKind": (
        dt.DocumentKind,
        {
            "CONTRACT": "Weiterleitungsvertrag",
            "DRUCKSACHE": "Drucksache",
            "FALLKONFERENZ_PROTOKOLL": "Protokoll der Fallkonferenz",
            "LENKUNGSGRUPPE_PROTOKOLL": "Beschlussprotokoll der Lenkungsgruppe",
            "MONITORINGBERICHT": "Monitoringbericht",
            "VERWENDUNGSNACHWEIS": "Zahlenmäßiger Verwendungsnachweis",
            "SACHBERICHT": "Sachbericht",
            "EINWILLIGUNGSERKLAERUNG": "Einwilligungserklärung",
        },
    ),
}


def _prefix(enum: Any) -> str:
    """ "CONFERENCE_STATUS_" for ConferenceStatus; "" for enums whose values carry no prefix."""
    unspecified: str = next(v.name for v in enum.DESCRIPTOR.values if v.number == 0)
    return unspecified.removesuffix("UNSPECIFIED")


def label_of(enum_name: str, number: int) -> str:
    """The German label of a proto enum number ("" for UNSPECIFIED; unknown numbers as digits)."""
    enum, labels = LABELS[enum_name]
    if not number:
        return ""
    try:
        name = enum.Name(number)
    except ValueError:
        return str(number)
    return str(labels.get(name.removeprefix(_prefix(enum)), name))


def options(enum_name: str) -> list[tuple[int, str]]:
    """(number, label) of every value but UNSPECIFIED, in the contract's order, for a select."""
    enum, labels = LABELS[enum_name]
    prefix = _prefix(enum)
    return [
        (v.number, labels.get(v.name.removeprefix(prefix), v.name))
        for v in enum.DESCRIPTOR.values
        if v.number
    ]


def number_of(enum_name: str, value: str | None) -> Any:
    """The enum number a form sent (its digits); 0 for nothing or anything that is no value.
    Typed Any: it is a value of the generated enum `enum_name` names, which the stubs type apart."""
    enum, _ = LABELS[enum_name]
    text = (value or "").strip()
    if not text.isdigit():
        return 0
    number = int(text)
    return number if number in {v.number for v in enum.DESCRIPTOR.values} else 0
