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


# -- Aufenthaltsrecht and origin as structured choices (issue 14) -------------------------------
# The legal basis of a residence status, the Turkish provinces of Ostthrakien and the readings a
# Lenkungsgruppe gives its Zielgruppen: values people pick from a list instead of typing them,
# so that "§ 25 a" is § 25a and "Edirne" is Ostthrakien. Old free text is read by the tolerant
# parsers below (`LegalBasis.from_text`, `origin_regions_from_text`).


class LegalBasis(Labelled):
    """Rechtsgrundlage of an Aufenthaltstitel, a Duldung or a Gestattung. § 25 is split by
    Absatz (the protection statuses differ); § 25a by Absatz too, because only Abs. 1 (the young
    person) has the age limit, Abs. 2 (parents, siblings) has none."""

    AUFENTHG_9 = "aufenthg_9"
    AUFENTHG_24 = "aufenthg_24"
    AUFENTHG_25_1 = "aufenthg_25_1"
    AUFENTHG_25_2 = "aufenthg_25_2"
    AUFENTHG_25_3 = "aufenthg_25_3"
    AUFENTHG_25_4 = "aufenthg_25_4"
    AUFENTHG_25_5 = "aufenthg_25_5"
    AUFENTHG_25A = "aufenthg_25a"
    AUFENTHG_25A_2 = "aufenthg_25a_2"
    AUFENTHG_25B = "aufenthg_25b"
    AUFENTHG_104C = "aufenthg_104c"
    AUFENTHG_60A = "aufenthg_60a"
    AUFENTHG_60B = "aufenthg_60b"
    AUFENTHG_60C = "aufenthg_60c"
    AUFENTHG_60D = "aufenthg_60d"
    ASYLG_55 = "asylg_55"

    @classmethod
    def _labels(cls) -> dict[str, str]:
        return {
            "aufenthg_9": "§ 9 AufenthG",
            "aufenthg_24": "§ 24 AufenthG",
            "aufenthg_25_1": "§ 25 Abs. 1 AufenthG",
            "aufenthg_25_2": "§ 25 Abs. 2 AufenthG",
            "aufenthg_25_3": "§ 25 Abs. 3 AufenthG",
            "aufenthg_25_4": "§ 25 Abs. 4 AufenthG",
            "aufenthg_25_5": "§ 25 Abs. 5 AufenthG",
            "aufenthg_25a": "§ 25a Abs. 1 AufenthG",
            "aufenthg_25a_2": "§ 25a Abs. 2 AufenthG",
            "aufenthg_25b": "§ 25b AufenthG",
            "aufenthg_104c": "§ 104c AufenthG",
            "aufenthg_60a": "§ 60a AufenthG",
            "aufenthg_60b": "§ 60b AufenthG",
            "aufenthg_60c": "§ 60c AufenthG",
            "aufenthg_60d": "§ 60d AufenthG",
            "asylg_55": "§ 55 AsylG",
        }

    @property
    def meaning(self) -> str:
        """What the basis is, in a coordinator's words, for the choice list."""
        return _LEGAL_BASIS_MEANING[self.value]

    @property
    def kind(self) -> ResidenceStatusKind:
        """The kind of status this basis gives: a § 60c is a Duldung, never an Aufenthaltserlaubnis."""
        if self.value.startswith("aufenthg_60"):
            return ResidenceStatusKind.DULDUNG
        if self is LegalBasis.ASYLG_55:
            return ResidenceStatusKind.AUFENTHALTSGESTATTUNG
        if self is LegalBasis.AUFENTHG_9:
            return ResidenceStatusKind.NIEDERLASSUNGSERLAUBNIS
        return ResidenceStatusKind.AUFENTHALTSERLAUBNIS

    @property
    def paragraph(self) -> str:
        """"25a" for both Absätze of § 25a, "25" for every Absatz of § 25, "55" for § 55 AsylG."""
        return self.value.split("_")[1]

    @classmethod
    def from_text(cls, text: str) -> LegalBasis | None:
        """The basis a free text names, read tolerantly ("§25a", "§ 25 a AufenthG", "§ 25a Abs. 2",
        "§ 55 AsylVfG"); None when it names none of the list, or § 25 without its Absatz."""
        found = legal_bases_from_text(text)
        if len(found) == 1:
            return found[0]
        if len(found) > 1 and found[0].paragraph == "25a":
            return LegalBasis.AUFENTHG_25A  # "§ 25a" alone is Abs. 1, the young person's own claim
        return None


_LEGAL_BASIS_MEANING = {
    "aufenthg_9": "Niederlassungserlaubnis",
    "aufenthg_24": "vorübergehender Schutz",
    "aufenthg_25_1": "Asylberechtigung",
    "aufenthg_25_2": "Flüchtlingseigenschaft oder subsidiärer Schutz",
    "aufenthg_25_3": "Abschiebungsverbot",
    "aufenthg_25_4": "vorübergehender Aufenthalt aus dringenden Gründen",
    "aufenthg_25_5": "Ausreise unmöglich",
    "aufenthg_25a": "gut integrierte Jugendliche und junge Volljährige",
    "aufenthg_25a_2": "Eltern und Geschwister gut integrierter Jugendlicher",
    "aufenthg_25b": "nachhaltige Integration",
    "aufenthg_104c": "Chancen-Aufenthaltsrecht",
    "aufenthg_60a": "Duldung",
    "aufenthg_60b": "Duldung für Personen mit ungeklärter Identität",
    "aufenthg_60c": "Ausbildungsduldung",
    "aufenthg_60d": "Beschäftigungsduldung",
    "asylg_55": "Aufenthaltsgestattung",
}

_LEGAL_TEXT = re.compile(
    r"§+\s*(?P<number>\d+)\s*(?P<letter>[a-z])?(?![a-z])"
    r"(?:\s*(?:Abs\.?|Absatz)\s*(?P<absatz>\d+))?", re.IGNORECASE)


def legal_bases_from_text(text: str) -> tuple[LegalBasis, ...]:
    """Every basis a free text can mean, for reading old data: "§ 25a AufenthG" (no Absatz) is
    both Absätze of § 25a, "§ 25 AufenthG" every Absatz of § 25; the law defaults to the
    AufenthG, except for § 55 AsylG/AsylVfG. Empty when the text names none of the list."""
    match = _LEGAL_TEXT.search(text)
    if not match:
        return ()
    rest = text[match.end():]
    law = "asylg" if re.search(r"\bAsyl(Vf)?G\b", rest, re.IGNORECASE) else "aufenthg"
    if law == "aufenthg" and re.search(r"\b(?!AufenthG\b)[A-Za-zÄÖÜäöü]+G\b|SGB", rest):
        return ()
    paragraph = match.group("number") + (match.group("letter") or "").lower()
    absatz = match.group("absatz")
    candidates = [b for b in LegalBasis
                  if b.value.startswith(law + "_") and b.paragraph == paragraph]
    if absatz and len(candidates) > 1:
        suffix = "" if (paragraph == "25a" and absatz == "1") else f"_{absatz}"
        candidates = [b for b in candidates if b.value == f"{law}_{paragraph}{suffix}"]
    return tuple(candidates)


class OriginRegion(Labelled):
    """A region within a country of origin, where a Zielgruppe narrows the country: Türkei nur
    Ostthrakien (the European provinces), and the Türkische Republik Nordzypern (recorded as CY
    with this region, it has no ISO code). Istanbul and Çanakkale straddle the Bosporus and the
    Dardanelles, so each has a European and an Asian part to pick."""

    TR_EDIRNE = "tr_edirne"
    TR_KIRKLARELI = "tr_kirklareli"
    TR_TEKIRDAG = "tr_tekirdag"
    TR_ISTANBUL_EUROPE = "tr_istanbul_europe"
    TR_CANAKKALE_EUROPE = "tr_canakkale_europe"
    TR_ISTANBUL_ASIA = "tr_istanbul_asia"
    TR_CANAKKALE_ASIA = "tr_canakkale_asia"
    TR_ANATOLIA = "tr_anatolia"
    CY_NORTH = "cy_north"

    @classmethod
    def _labels(cls) -> dict[str, str]:
        return {
            "tr_edirne": "Edirne",
            "tr_kirklareli": "Kırklareli",
            "tr_tekirdag": "Tekirdağ",
            "tr_istanbul_europe": "İstanbul, europäischer Teil",
            "tr_canakkale_europe": "Çanakkale, europäischer Teil (Gelibolu)",
            "tr_istanbul_asia": "İstanbul, asiatischer Teil",
            "tr_canakkale_asia": "Çanakkale, asiatischer Teil",
            "tr_anatolia": "übrige Türkei (Anatolien)",
            "cy_north": "Nordzypern (Türkische Republik Nordzypern)",
        }

    @property
    def country(self) -> str:
        return self.value[:2].upper()


#: Ostthrakien, the European part of Turkey (Hilden seed: "Türkei (nur Ostthrakien)").
EAST_THRACE: tuple[OriginRegion, ...] = (
    OriginRegion.TR_EDIRNE, OriginRegion.TR_KIRKLARELI, OriginRegion.TR_TEKIRDAG,
    OriginRegion.TR_ISTANBUL_EUROPE, OriginRegion.TR_CANAKKALE_EUROPE,
)


def regions_label(regions: tuple[OriginRegion, ...]) -> str:
    """German name of a set of regions: "Ostthrakien (europäischer Teil: Edirne, …)"."""
    if set(regions) == set(EAST_THRACE):
        return ("Ostthrakien (europäischer Teil: Edirne, Kırklareli, Tekirdağ und die "
                "europäischen Teile von İstanbul und Çanakkale)")
    return ", ".join(r.label for r in regions)


_REGION_WORDS: tuple[tuple[str, tuple[OriginRegion, ...]], ...] = (
    ("edirne", (OriginRegion.TR_EDIRNE,)), ("kirklareli", (OriginRegion.TR_KIRKLARELI,)),
    ("tekirdag", (OriginRegion.TR_TEKIRDAG,)), ("gelibolu", (OriginRegion.TR_CANAKKALE_EUROPE,)),
    ("istanbul", (OriginRegion.TR_ISTANBUL_EUROPE, OriginRegion.TR_ISTANBUL_ASIA)),
    ("canakkale", (OriginRegion.TR_CANAKKALE_EUROPE, OriginRegion.TR_CANAKKALE_ASIA)),
    ("anatolien", (OriginRegion.TR_ANATOLIA,)),
    ("nordzypern", (OriginRegion.CY_NORTH,)), ("trnc", (OriginRegion.CY_NORTH,)),
    ("thrakien", EAST_THRACE), ("europaischeturkei", EAST_THRACE),
)


def origin_regions_from_text(text: str) -> tuple[OriginRegion, ...]:
    """The regions an old free-text region can mean ("Ost-Thrakien", "edirne", "Kırklareli");
    a city that straddles two continents ("Istanbul") without its part means both parts.
    Empty when the text names none."""
    folded = _fold_region(text)
    if not folded:
        return ()
    for word, regions in _REGION_WORDS:
        if word in folded:
            if word in ("istanbul", "canakkale") and ("europ" in folded or "asia" in folded):
                return tuple(r for r in regions if ("europ" in folded) == r.value.endswith("europe"))
            return regions
    return ()


def _fold_region(text: str) -> str:
    table = str.maketrans({"ı": "i", "İ": "i", "ğ": "g", "ç": "c", "ş": "s", "ö": "o", "ü": "u",
                           "ä": "a", "Ç": "c", "Ş": "s", "Ö": "o", "Ü": "u", "Ä": "a"})
    return re.sub(r"[^a-z]", "", text.translate(table).casefold())


class AgeReading(Labelled):
    """How a Lenkungsgruppe reads the ages of its own Beschluss ("älter als 27", "bis 27"):
    in completed years (Lebensalter: „bis 27“ includes the whole year after the 27th birthday),
    or by years of life („bis zur Vollendung des 27. Lebensjahres“, i.e. until the day before
    the 27th birthday; „älter als 27“ then from the 27th birthday on)."""

    COMPLETED_YEARS = "completed_years"
    YEARS_OF_LIFE = "years_of_life"

    @classmethod
    def _labels(cls) -> dict[str, str]:
        return {
            "completed_years": "vollendete Lebensjahre (Lebensalter)",
            "years_of_life": "Lebensjahre (bis zur Vollendung des Lebensjahres)",
        }

    def min_age_older_than(self, years: int) -> int:
        """The first completed age that is "älter als `years`" in this reading."""
        return years + 1 if self is AgeReading.COMPLETED_YEARS else years

    def max_age_up_to(self, years: int) -> int:
        """The last completed age that is "bis `years`" in this reading."""
        return years if self is AgeReading.COMPLETED_YEARS else years - 1


def age_boundary_words(min_age: int | None, max_age: int | None) -> str:
    """Completed-age bounds in words a coordinator checks against a birth date:
    (28, None) -> "ab dem 28. Geburtstag"; (18, 27) -> "ab dem 18. Geburtstag bis zum Tag vor
    dem 28. Geburtstag"."""
    parts = []
    if min_age:
        parts.append(f"ab dem {min_age}. Geburtstag")
    if max_age is not None:
        parts.append(f"bis zum Tag vor dem {max_age + 1}. Geburtstag")
    return " ".join(parts)


class LegalBasisReading(Labelled):
    """What a Zielgruppe's legal bases ask of a person: that she holds one (e.g. § 24), or, as in
    Mettmann's "nach §§ 25a, 25b AufenthG berechtigt, ihren Aufenthaltsstatus zu verbessern",
    that she is on the way to one she does not hold yet."""

    INTENDED = "intended"
    HELD = "held"

    @classmethod
    def _labels(cls) -> dict[str, str]:
        return {
            "intended": "angestrebt (berechtigt, den Aufenthaltsstatus zu verbessern)",
            "held": "vorhanden (Status nach dieser Rechtsgrundlage erteilt)",
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
