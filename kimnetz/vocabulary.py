"""The vocabulary every service shares, each value with the German label people read.

Values are stable English identifiers (stored, sent in events; the same names as the enums of
`protos/kim/common/v1`); `label` is what a case manager, a coordinator or a clerk reads, in
every service, document and template alike. A service's own vocabulary (its
`domain/vocabulary.py`) builds on `Labelled` and re-exports what it uses from here. Pure
Python: domain cores import it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum


class Labelled(StrEnum):
    """A StrEnum whose members carry a German label, given by `_labels` of the subclass."""

    @property
    def label(self) -> str:
        return type(self)._labels()[self.value]

    @classmethod
    def _labels(cls) -> dict[str, str]:
        raise NotImplementedError(f"{cls.__name__} names no labels")

    @classmethod
    def parse(cls, value: str) -> Labelled | None:
        """The member for `value`, or None if it is not one (validation reports it)."""
        try:
            return cls(value)
        except ValueError:
            return None


class CaseStatus(Labelled):
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


class Handlungsfeld(Labelled):
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


class Rechtskreis(Labelled):
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


class ResidenceStatusKind(Labelled):
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


class ReferralTarget(Labelled):
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
            "other": "sonstiger Regeldienst",
        }


class BarrierCategory(Labelled):
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


class Role(Labelled):
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


class ConferenceStatus(Labelled):
    PLANNED = "planned"
    PREPARED = "prepared"
    RUNNING = "running"
    CLOSED = "closed"

    @classmethod
    def _labels(cls) -> dict[str, str]:
        return {
            "planned": "geplant",
            "prepared": "vorbereitet (Tagesordnung erstellt)",
            "running": "laufend",
            "closed": "abgeschlossen",
        }


class SessionStatus(Labelled):
    PLANNED = "planned"
    OPEN = "open"
    CLOSED = "closed"

    @classmethod
    def _labels(cls) -> dict[str, str]:
        return {"planned": "geplant", "open": "eröffnet", "closed": "geschlossen"}


class AgeBand(Labelled):
    """Coarse enough to pseudonymise, cut where the programmes cut: JMD serves up to 27,
    MBE and Mettmann's "älter als 27" start at 28. The bands of a case's pseudonymised brief
    (services/case/domain/brief.py), which the conference shows and a Fallkonferenz-Protokoll
    prints. The member names are those of kim.conference.v1.AgeBand without their prefix."""

    UNDER_18 = "under_18"
    FROM_18_TO_27 = "18_27"
    FROM_28_TO_39 = "28_39"
    FROM_40_TO_64 = "40_64"
    FROM_65 = "65_plus"

    @classmethod
    def for_age(cls, age: int) -> AgeBand:
        if age < 18:
            return cls.UNDER_18
        if age <= 27:
            return cls.FROM_18_TO_27
        if age <= 39:
            return cls.FROM_28_TO_39
        if age <= 64:
            return cls.FROM_40_TO_64
        return cls.FROM_65

    @classmethod
    def _labels(cls) -> dict[str, str]:
        return {
            "under_18": "unter 18 Jahre",
            "18_27": "18 bis 27 Jahre",
            "28_39": "28 bis 39 Jahre",
            "40_64": "40 bis 64 Jahre",
            "65_plus": "65 Jahre und älter",
        }


class Gender(Labelled):
    """Geschlecht as the Personenstandsrecht knows it (§ 22 Abs. 3 PStG: weiblich, männlich,
    divers, ohne Angabe). Recorded as the person states it; "ohne Angabe" is also what a
    record made before the field existed reads as. Criteria (a Zielgruppe "Frauen ...") and
    the monitoring's breakdowns use it."""

    WEIBLICH = "weiblich"
    MAENNLICH = "maennlich"
    DIVERS = "divers"
    OHNE_ANGABE = "ohne_angabe"

    @classmethod
    def _labels(cls) -> dict[str, str]:
        return {
            "weiblich": "weiblich",
            "maennlich": "männlich",
            "divers": "divers",
            "ohne_angabe": "ohne Angabe",
        }


class AccessRoute(Labelled):
    """Zugangsweg: how the person reached KIM, i.e. which office or service noticed the need
    and brought the Fallvorschlag (Borken: "Zugangswege ins KIM-Case Management"; HSK: the
    Frauenberatungsstelle and the Regeldienste Jobcenter, Jugendamt, VHS, Berufskollegs,
    Asylbewerberleistungen). A Zielgruppe may name it ("Frauen in der Frauenberatungsstelle")."""

    FRAUENBERATUNGSSTELLE = "frauenberatungsstelle"
    JOBCENTER = "jobcenter"
    AUSLAENDERBEHOERDE = "auslaenderbehoerde"
    SCHULE = "schule"
    JUGENDAMT = "jugendamt"
    SOZIALAMT = "sozialamt"
    MIGRATIONSBERATUNG = "migrationsberatung"
    TRAEGER = "traeger"
    SELBSTMELDUNG = "selbstmeldung"
    SONSTIGE = "sonstige"

    @classmethod
    def _labels(cls) -> dict[str, str]:
        return {
            "frauenberatungsstelle": "Frauenberatungsstelle",
            "jobcenter": "Jobcenter",
            "auslaenderbehoerde": "Ausländerbehörde",
            "schule": "Schule",
            "jugendamt": "Jugendamt",
            "sozialamt": "Sozialamt",
            "migrationsberatung": "Beratungsstelle/Migrationsberatung (MBE/JMD)",
            "traeger": "Träger",
            "selbstmeldung": "Selbstmelder*in",
            "sonstige": "sonstiger Zugangsweg",
        }


#: Amtlicher Gemeindeschlüssel: 2 digits Land, 1 Regierungsbezirk, 2 Kreis, 3 Gemeinde.
GEMEINDESCHLUESSEL_PATTERN = re.compile(r"^[0-9]{8}$")
#: The Land prefix of Nordrhein-Westfalen: KIM is a programme of the Land NRW.
NRW_LAND_KEY = "05"


@dataclass(frozen=True)
class Kommune:
    """A kreisangehörige (or kreisfreie) Kommune by its amtlicher Gemeindeschlüssel (AGS, 8
    digits, e.g. "05158016" Hilden) and its name. The key is what reports group by (a Kreis
    reports per Kommune and checks case-manager positions against where cases live: HSK's
    8 of 12 Kommunen, RBK's allocation table); the name is what people read. Validated by
    `kimnetz.validation.Violations.kommune`."""

    key: str
    name: str

    @property
    def kreis_key(self) -> str:
        """The first five digits: the Kreis the Kommune belongs to ("05158" Kreis Mettmann)."""
        return self.key[:5]


class Movement(Labelled):
    """What happened to cases in a Berichtszeitraum (issue 14: monitoring per period), counted by
    the case service's figures ledger and printed by the Monitoringbericht and the Sachbericht."""

    PROPOSED = "proposed"
    ADMITTED = "admitted"
    REFERRED = "referred"
    REJECTED = "rejected"
    DEFERRED = "deferred"
    CLOSED = "closed"
    REOPENED = "reopened"

    @classmethod
    def _labels(cls) -> dict[str, str]:
        return {
            "proposed": "neue Fallvorschläge",
            "admitted": "Aufnahmen ins Case Management",
            "referred": "Verweisberatungen",
            "rejected": "Ablehnungen",
            "deferred": "Zurückstellungen",
            "closed": "Abschlüsse",
            "reopened": "Wiederaufnahmen",
        }
