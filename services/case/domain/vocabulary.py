"""The fixed vocabularies of case work, each with the German label users see.

Values are stable English identifiers (stored, sent in events); `label` is what a case manager
reads. Zielgruppen are deliberately *not* here: the Lenkungsgruppe decides them as data
(see `zielgruppen.py`).
"""

from __future__ import annotations

# The shared vocabulary, re-exported: this service speaks it like every other.
from kimnetz.vocabulary import (
    AccessRoute as AccessRoute,
    BarrierCategory as BarrierCategory,
    CaseStatus as CaseStatus,
    Gender as Gender,
    Handlungsfeld as Handlungsfeld,
    Kommune as Kommune,
    Labelled as Labelled,
    Rechtskreis as Rechtskreis,
    ReferralTarget as ReferralTarget,
    ResidenceStatusKind as ResidenceStatusKind,
    Role as Role,
)


class ProposerKind(Labelled):
    OFFICE = "office"
    COUNSELLING = "counselling"
    CASE_MANAGER = "case_manager"
    OTHER = "other"

    @classmethod
    def _labels(cls) -> dict[str, str]:
        return {
            "office": "Behörde/Amt",
            "counselling": "Beratungsstelle eines Trägers",
            "case_manager": "Case Management",
            "other": "sonstige Stelle",
        }


class ConsentKind(Labelled):
    EINWILLIGUNG = "einwilligung"
    SCHWEIGEPFLICHTENTBINDUNG = "schweigepflichtentbindung"

    @classmethod
    def _labels(cls) -> dict[str, str]:
        return {
            "einwilligung": "Einwilligung",
            "schweigepflichtentbindung": "Schweigepflichtentbindung",
        }


class ConsentPurpose(Labelled):
    FALLKONFERENZ = "fallkonferenz"
    FALLBEARBEITUNG = "fallbearbeitung"
    VERWEISBERATUNG = "verweisberatung"
    FALLUEBERGABE = "falluebergabe"

    @classmethod
    def _labels(cls) -> dict[str, str]:
        return {
            "fallkonferenz": "Beratung in der Fallkonferenz",
            "fallbearbeitung": "rechtskreisübergreifende Fallbearbeitung",
            "verweisberatung": "Weitervermittlung (Verweisberatung)",
            "falluebergabe": "Übergabe des Falls an eine andere Stelle",
        }


class DataCategory(Labelled):
    STAMMDATEN = "stammdaten"
    AUFENTHALT = "aufenthalt"
    SPRACHE_BILDUNG = "sprache_bildung"
    ARBEIT_AUSBILDUNG = "arbeit_ausbildung"
    GESUNDHEIT = "gesundheit"
    FAMILIE = "familie"
    FINANZEN = "finanzen"
    FALLDOKUMENTATION = "falldokumentation"

    @classmethod
    def _labels(cls) -> dict[str, str]:
        return {
            "stammdaten": "Stammdaten (Name, Geburtsdatum, Kontakt)",
            "aufenthalt": "Aufenthaltsstatus",
            "sprache_bildung": "Sprache und Bildung",
            "arbeit_ausbildung": "Arbeit und Ausbildung",
            "gesundheit": "Gesundheit (Art. 9 DSGVO)",
            "familie": "Familie und Haushalt",
            "finanzen": "finanzielle Situation",
            "falldokumentation": "Falldokumentation (Bedarfe, Integrationsplan, Verlauf)",
        }


class Priority(Labelled):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"

    @classmethod
    def _labels(cls) -> dict[str, str]:
        return {"high": "hoch", "medium": "mittel", "low": "niedrig"}


class StepStatus(Labelled):
    OPEN = "open"
    DONE = "done"
    CANCELLED = "cancelled"

    @classmethod
    def _labels(cls) -> dict[str, str]:
        return {"open": "offen", "done": "erledigt", "cancelled": "entfallen"}


class GoalOutcome(Labelled):
    ACHIEVED = "achieved"
    PARTIALLY_ACHIEVED = "partially_achieved"
    NOT_ACHIEVED = "not_achieved"

    @classmethod
    def _labels(cls) -> dict[str, str]:
        return {
            "achieved": "erreicht",
            "partially_achieved": "teilweise erreicht",
            "not_achieved": "nicht erreicht",
        }


class ClosureReason(Labelled):
    GOALS_ACHIEVED = "goals_achieved"
    MOVED_AWAY = "moved_away"
    DISCONTINUED = "discontinued"
    HANDED_OVER = "handed_over"
    OTHER = "other"

    @classmethod
    def _labels(cls) -> dict[str, str]:
        return {
            "goals_achieved": "Ziele erreicht",
            "moved_away": "Wegzug",
            "discontinued": "Abbruch",
            "handed_over": "Übergabe an die Regelstruktur",
            "other": "sonstiger Grund",
        }


class BarrierStatus(Labelled):
    OPEN = "open"
    ESCALATED = "escalated"
    RESOLVED = "resolved"
    NOT_RESOLVABLE = "not_resolvable"

    @classmethod
    def _labels(cls) -> dict[str, str]:
        return {
            "open": "offen",
            "escalated": "an die Projektgruppe gemeldet",
            "resolved": "behoben",
            "not_resolvable": "im Einzelfall nicht behebbar",
        }


#: German names of the countries the default Zielgruppen and typical cases name. Codes are
#: ISO 3166-1 alpha-2; Kosovo uses the customary user-assigned "XK".
COUNTRY_NAMES: dict[str, str] = {
    "AL": "Albanien", "BA": "Bosnien und Herzegowina", "BG": "Bulgarien", "GR": "Griechenland",
    "XK": "Kosovo", "HR": "Kroatien", "MD": "Republik Moldau", "ME": "Montenegro",
    "MK": "Nordmazedonien", "RO": "Rumänien", "RS": "Serbien", "SI": "Slowenien", "TR": "Türkei",
    "CY": "Zypern", "HU": "Ungarn", "SY": "Syrien", "AF": "Afghanistan", "IQ": "Irak",
    "IR": "Iran", "ER": "Eritrea", "SO": "Somalia", "NG": "Nigeria", "GN": "Guinea",
    "UA": "Ukraine", "RU": "Russische Föderation", "PL": "Polen", "DE": "Deutschland",
    "MA": "Marokko", "DZ": "Algerien", "TN": "Tunesien", "GE": "Georgien", "AM": "Armenien",
    "LB": "Libanon", "PK": "Pakistan", "ET": "Äthiopien", "GM": "Gambia", "IT": "Italien",
}


def country_label(code: str) -> str:
    return COUNTRY_NAMES.get(code, code)


class ReminderKind(Labelled):
    """What the worker reminds a case manager of (services/case/domain/reminders.py)."""

    DULDUNG_ENDS = "duldung_ends"
    GESTATTUNG_ENDS = "gestattung_ends"
    BIRTHDAY_18 = "birthday_18"
    BIRTHDAY_21 = "birthday_21"
    APPLICATION_25A_DEADLINE = "application_25a_deadline"
    REVIEW_DUE = "review_due"

    @classmethod
    def _labels(cls) -> dict[str, str]:
        return {
            "duldung_ends": "Die Duldung endet",
            "gestattung_ends": "Die Aufenthaltsgestattung endet",
            "birthday_18": "18. Geburtstag: Volljährigkeit, Wechsel des Rechtskreises",
            "birthday_21": "21. Geburtstag: Ende der Hilfe für junge Volljährige (§ 41 SGB VIII)",
            "application_25a_deadline": "Letzter Tag für den Antrag nach § 25a AufenthG "
                                        "(vor dem 27. Geburtstag)",
            "review_due": "Fallbesprechung in der Fallkonferenz fällig",
        }
