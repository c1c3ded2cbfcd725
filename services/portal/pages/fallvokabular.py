"""The case service's vocabularies as the case pages show and send them: form values are the
stable lower-case names the domain uses ("fallkonferenz", "sgb_ii"), sent to the api as the proto
enum number of `<ENUM>_<NAME>`, and shown with their German labels.

The shared vocabulary (Handlungsfeld, Rechtskreis, Aufenthaltsstatus, Barrieren-Kategorie,
Fallstatus, Verweisziel) comes from kimnetz.vocabulary. The case's own enums (kim.case.v1.types:
consent kinds, purposes, data categories, priorities, ...) have their labels in the case service,
which the portal must not import; they are written here once, and
tests/unit/portal/test_fallvokabular.py holds them equal to the case service's.
"""

from __future__ import annotations

from typing import Any

from kim.case.v1 import types_pb2 as case_types
from kim.common.v1 import types_pb2 as common
from kimnetz import vocabulary
from kimnetz.runtime.proto_mapping import UnknownEnumValue, descriptor, enum_prefix, member_name

#: German labels of the case service's own enums (kim.case.v1.types), by lower-case member name.
CASE_LABELS: dict[str, dict[str, str]] = {
    "ProposerKind": {
        "office": "Behörde/Amt",
        "counselling": "Beratungsstelle eines Trägers",
        "case_manager": "Case Management",
        "other": "sonstige Stelle",
    },
    "ConsentKind": {
        "einwilligung": "Einwilligung",
        "schweigepflichtentbindung": "Schweigepflichtentbindung",
    },
    "ConsentPurpose": {
        "fallkonferenz": "Beratung in der Fallkonferenz",
        "fallbearbeitung": "rechtskreisübergreifende Fallbearbeitung",
        "verweisberatung": "Weitervermittlung (Verweisberatung)",
        "falluebergabe": "Übergabe des Falls an eine andere Stelle",
    },
    "DataCategory": {
        "stammdaten": "Stammdaten (Name, Geburtsdatum, Kontakt)",
        "aufenthalt": "Aufenthaltsstatus",
        "sprache_bildung": "Sprache und Bildung",
        "arbeit_ausbildung": "Arbeit und Ausbildung",
        "gesundheit": "Gesundheit (Art. 9 DSGVO)",
        "familie": "Familie und Haushalt",
        "finanzen": "finanzielle Situation",
        "falldokumentation": "Falldokumentation (Bedarfe, Integrationsplan, Verlauf)",
    },
    "Priority": {"high": "hoch", "medium": "mittel", "low": "niedrig"},
    "StepStatus": {"open": "offen", "done": "erledigt", "cancelled": "entfallen"},
    "GoalOutcome": {
        "achieved": "erreicht",
        "partially_achieved": "teilweise erreicht",
        "not_achieved": "nicht erreicht",
    },
    "ClosureReason": {
        "goals_achieved": "Ziele erreicht",
        "moved_away": "Wegzug",
        "discontinued": "Abbruch",
        "handed_over": "Übergabe an die Regelstruktur",
        "other": "sonstiger Grund",
    },
    "BarrierStatus": {
        "open": "offen",
        "escalated": "an die Projektgruppe gemeldet",
        "resolved": "behoben",
        "not_resolvable": "im Einzelfall nicht behebbar",
    },
}

#: The shared vocabulary the case pages use, with its wire enum.
SHARED: dict[str, tuple[Any, type[vocabulary.Labelled]]] = {
    "CaseStatus": (common.CaseStatus, vocabulary.CaseStatus),
    "Handlungsfeld": (common.Handlungsfeld, vocabulary.Handlungsfeld),
    "Rechtskreis": (common.Rechtskreis, vocabulary.Rechtskreis),
    "ResidenceStatusKind": (common.ResidenceStatusKind, vocabulary.ResidenceStatusKind),
    "BarrierCategory": (common.BarrierCategory, vocabulary.BarrierCategory),
    "ReferralTarget": (common.ReferralTarget, vocabulary.ReferralTarget),
}

#: German names of the Zielgruppen of the shipped version 1 (Kreis Mettmann), for the filter of
#: "Meine Fälle": a brief names its Zielgruppe by key only. Other keys are shown as they are.
ZIELGRUPPEN_V1 = {
    "umf": "Unbegleitete minderjährige Geflüchtete",
    "bleiberecht_25a_25b": "Bleiberecht nach §§ 25a, 25b AufenthG",
    "geduldete_gestattete_ueber_27": "Geduldete und Gestattete älter als 27 Jahre",
    "suedosteuropa": "Zugewanderte aus Süd-Ost-Europa",
}


def _proto(enum: str) -> Any:
    if enum in SHARED:
        return SHARED[enum][0]
    return getattr(case_types, enum)


def labels(enum: str) -> dict[str, str]:
    """Value -> German label, in the vocabulary's order."""
    if enum in SHARED:
        return {m.value: m.label for m in SHARED[enum][1]}
    return dict(CASE_LABELS[enum])


def choices(enum: str) -> list[tuple[str, str]]:
    """(value, label) pairs for a select, radios or checkboxes."""
    return list(labels(enum).items())


def number(enum: str, value: str) -> Any:
    """The proto number of a form value; 0 (unspecified: the api names the field) for an empty
    or unknown value. Typed Any: the generated stubs type each enum field as its own enum's
    value type, and this one function serves them all."""
    d = descriptor(_proto(enum))
    found = d.values_by_name.get(enum_prefix(d) + value.strip().upper()) if value else None
    return int(found.number) if found is not None else 0


def numbers(enum: str, values: list[str]) -> list[Any]:
    return [number(enum, v) for v in values]


def value(enum: str, proto_number: int) -> str:
    """The form value of a proto number ("" for unspecified or unknown)."""
    try:
        name = member_name(_proto(enum), proto_number)
    except UnknownEnumValue:
        return ""
    return name.lower() if name else ""


def label(enum: str, proto_number_or_value: int | str) -> str:
    """German label of a proto number or a form value (unknown ones as they are)."""
    given = proto_number_or_value
    key = value(enum, given) if isinstance(given, int) else given
    return labels(enum).get(key, key)


def zielgruppe_label(key: str) -> str:
    return ZIELGRUPPEN_V1.get(key, key) if key else "keine Zielgruppe"
