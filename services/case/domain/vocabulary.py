"""The fixed vocabularies of case work, each with the German label users see.

Values are stable English identifiers (stored, sent in events); `label` is what a case manager
reads. Zielgruppen are deliberately *not* here: the Lenkungsgruppe decides them as data
(see `zielgruppen.py`).
"""

from __future__ import annotations

from enum import StrEnum


class _Labelled(StrEnum):
    """A StrEnum whose members carry a German label in `_LABELS` of the subclass."""

    @property
    def label(self) -> str:
        labels: dict[str, str] = type(self)._labels()
        return labels[self.value]

    @classmethod
    def _labels(cls) -> dict[str, str]:
        raise NotImplementedError

    @classmethod
    def parse(cls, value: str) -> _Labelled | None:
        """The member for `value`, or None if it is not one (validation reports it)."""
        try:
            return cls(value)
        except ValueError:
            return None


class CaseStatus(_Labelled):
    PROPOSED = "proposed"
    IN_REVIEW = "in_review"
    ADMITTED = "admitted"
    REFERRED = "referred"
    REJECTED = "rejected"
    DEFERRED = "deferred"
    ASSESSMENT = "assessment"
    PLANNING = "planning"
    ACTIVE = "active"
    CLOSED = "closed"

    @classmethod
    def _labels(cls) -> dict[str, str]:
        return {
            "proposed": "Fallvorschlag",
            "in_review": "in der Fallkonferenz",
            "admitted": "ins Case Management aufgenommen",
            "referred": "Verweisberatung",
            "rejected": "abgelehnt",
            "deferred": "zurückgestellt",
            "assessment": "Bedarfsermittlung",
            "planning": "Integrationsplanung",
            "active": "aktiv (Monitoring)",
            "closed": "abgeschlossen",
        }


class Handlungsfeld(_Labelled):
    AUFENTHALT_IDENTITAET = "aufenthalt_identitaet"
    SPRACHE = "sprache"
    BILDUNG_SCHULE = "bildung_schule"
    AUSBILDUNG = "ausbildung"
    ARBEIT = "arbeit"
    WOHNEN = "wohnen"
    GESUNDHEIT = "gesundheit"
    FAMILIE_KINDER = "familie_kinder"
    FINANZIELLE_SICHERUNG = "finanzielle_sicherung"
    SOZIALE_TEILHABE = "soziale_teilhabe"

    @classmethod
    def _labels(cls) -> dict[str, str]:
        return {
            "aufenthalt_identitaet": "Aufenthalt/Identität",
            "sprache": "Sprache",
            "bildung_schule": "Bildung/Schule",
            "ausbildung": "Ausbildung",
            "arbeit": "Arbeit",
            "wohnen": "Wohnen",
            "gesundheit": "Gesundheit",
            "familie_kinder": "Familie/Kinder",
            "finanzielle_sicherung": "Finanzielle Sicherung",
            "soziale_teilhabe": "Soziale Teilhabe",
        }


class Rechtskreis(_Labelled):
    SGB_II = "sgb_ii"
    SGB_III = "sgb_iii"
    SGB_VIII = "sgb_viii"
    SGB_XII = "sgb_xii"
    ASYLBLG = "asylblg"
    AUFENTHG = "aufenthg"
    STAG = "stag"
    MBE = "mbe"
    JMD = "jmd"

    @classmethod
    def _labels(cls) -> dict[str, str]:
        return {
            "sgb_ii": "SGB II (Jobcenter)",
            "sgb_iii": "SGB III (Agentur für Arbeit)",
            "sgb_viii": "SGB VIII (Jugendamt)",
            "sgb_xii": "SGB XII (Sozialamt)",
            "asylblg": "AsylbLG",
            "aufenthg": "AufenthG (Ausländerbehörde)",
            "stag": "StAG (Einbürgerung)",
            "mbe": "Migrationsberatung für Erwachsene (MBE)",
            "jmd": "Jugendmigrationsdienst (JMD)",
        }


class ResidenceStatusKind(_Labelled):
    AUFENTHALTSGESTATTUNG = "aufenthaltsgestattung"
    DULDUNG = "duldung"
    AUFENTHALTSERLAUBNIS = "aufenthaltserlaubnis"
    NIEDERLASSUNGSERLAUBNIS = "niederlassungserlaubnis"
    DAUERAUFENTHALT_EU = "daueraufenthalt_eu"
    EU_FREIZUEGIGKEIT = "eu_freizuegigkeit"
    EINGEBUERGERT = "eingebuergert"
    SONSTIGES = "sonstiges"

    @classmethod
    def _labels(cls) -> dict[str, str]:
        return {
            "aufenthaltsgestattung": "Aufenthaltsgestattung",
            "duldung": "Duldung",
            "aufenthaltserlaubnis": "Aufenthaltserlaubnis",
            "niederlassungserlaubnis": "Niederlassungserlaubnis",
            "daueraufenthalt_eu": "Erlaubnis zum Daueraufenthalt-EU",
            "eu_freizuegigkeit": "EU-Freizügigkeit",
            "eingebuergert": "eingebürgert",
            "sonstiges": "sonstiger Status",
        }


class ProposerKind(_Labelled):
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


class ReferralTarget(_Labelled):
    MBE = "mbe"
    JMD = "jmd"
    INTEGRATIONSAGENTUR = "integrationsagentur"
    TEILHABEMANAGEMENT = "teilhabemanagement"
    JOBCENTER = "jobcenter"
    JUGENDAMT = "jugendamt"
    OTHER = "other"

    @classmethod
    def _labels(cls) -> dict[str, str]:
        return {
            "mbe": "Migrationsberatung für Erwachsene (MBE)",
            "jmd": "Jugendmigrationsdienst (JMD)",
            "integrationsagentur": "Integrationsagentur",
            "teilhabemanagement": "Teilhabemanagement (THM)",
            "jobcenter": "Jobcenter",
            "jugendamt": "Jugendamt",
            "other": "sonstiges Regelangebot",
        }


class ConsentKind(_Labelled):
    EINWILLIGUNG = "einwilligung"
    SCHWEIGEPFLICHTENTBINDUNG = "schweigepflichtentbindung"

    @classmethod
    def _labels(cls) -> dict[str, str]:
        return {
            "einwilligung": "Einwilligung",
            "schweigepflichtentbindung": "Schweigepflichtentbindung",
        }


class ConsentPurpose(_Labelled):
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


class DataCategory(_Labelled):
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


class Priority(_Labelled):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"

    @classmethod
    def _labels(cls) -> dict[str, str]:
        return {"high": "hoch", "medium": "mittel", "low": "niedrig"}


class StepStatus(_Labelled):
    OPEN = "open"
    DONE = "done"
    CANCELLED = "cancelled"

    @classmethod
    def _labels(cls) -> dict[str, str]:
        return {"open": "offen", "done": "erledigt", "cancelled": "entfallen"}


class GoalOutcome(_Labelled):
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


class ClosureReason(_Labelled):
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


class BarrierCategory(_Labelled):
    ZUSTAENDIGKEIT_UNKLAR = "zustaendigkeit_unklar"
    WARTEZEIT = "wartezeit"
    INFORMATIONSFLUSS = "informationsfluss"
    RECHTLICHE_HUERDE = "rechtliche_huerde"
    FEHLENDES_ANGEBOT = "fehlendes_angebot"
    SPRACHE = "sprache"

    @classmethod
    def _labels(cls) -> dict[str, str]:
        return {
            "zustaendigkeit_unklar": "Zuständigkeit unklar",
            "wartezeit": "Wartezeit",
            "informationsfluss": "Informationsfluss",
            "rechtliche_huerde": "rechtliche Hürde",
            "fehlendes_angebot": "fehlendes Angebot",
            "sprache": "Sprache",
        }


class BarrierStatus(_Labelled):
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


class Role(_Labelled):
    CASE_MANAGER = "case_manager"
    COORDINATOR = "coordinator"
    IMMIGRATION_LIAISON = "immigration_liaison"
    STEERING_MEMBER = "steering_member"
    CLERK = "clerk"
    DATA_PROTECTION_OFFICER = "data_protection_officer"
    NODE_ADMIN = "node_admin"

    @classmethod
    def _labels(cls) -> dict[str, str]:
        return {
            "case_manager": "Case Manager*in",
            "coordinator": "Koordinator*in",
            "immigration_liaison": "Integrationslots*in der Ausländerbehörde",
            "steering_member": "Mitglied der Lenkungsgruppe",
            "clerk": "Verwaltung",
            "data_protection_officer": "Datenschutzbeauftragte*r",
            "node_admin": "Administration des Knotens",
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
