"""The fixed vocabularies of the conference service, each member with the German label users see.

Values are stable English identifiers (stored and sent in events). Where a vocabulary is shared
with the case service (case status, Handlungsfelder, Rechtskreise, referral targets, barrier
categories, Aufenthaltsstatus) the values are the same strings; the contracts in `protos/` are
what both sides agree on, so neither imports the other.
"""

from __future__ import annotations

from enum import StrEnum


class Labelled(StrEnum):
    @property
    def label(self) -> str:
        # Keyed by type and value: members of different vocabularies share values ("closed")
        # and a StrEnum member hashes like its string.
        return _LABELS_BY_TYPE[(type(self), self.value)]

    @classmethod
    def parse(cls, value: str) -> Labelled | None:
        try:
            return cls(value)
        except ValueError:
            return None


class ConferenceStatus(Labelled):
    PLANNED = "planned"
    PREPARED = "prepared"
    RUNNING = "running"
    CLOSED = "closed"


class AgendaItemKind(Labelled):
    PROPOSAL = "proposal"
    REVIEW = "review"


class DecisionKind(Labelled):
    ADMISSION = "admission"
    REFERRAL = "referral"
    DEFERRAL = "deferral"
    REJECTION = "rejection"
    REVIEW = "review"


class ReviewOutcome(Labelled):
    CONTINUE = "continue"
    CLOSURE_RECOMMENDED = "closure_recommended"
    ROUND_TABLE = "round_table"


class ReferralTarget(Labelled):
    MBE = "mbe"
    JMD = "jmd"
    INTEGRATIONSAGENTUR = "integrationsagentur"
    TEILHABEMANAGEMENT = "teilhabemanagement"
    JOBCENTER = "jobcenter"
    JUGENDAMT = "jugendamt"
    OTHER = "other"


class DecisionReason(Labelled):
    """Why a Fallvorschlag was deferred or rejected, as the owning node is told (no free text
    about the person leaves this node; protos/kim/conference/v1/types.proto)."""

    DOCUMENTS_MISSING = "documents_missing"
    CLARIFICATION_NEEDED = "clarification_needed"
    NOT_IN_ZIELGRUPPE = "not_in_zielgruppe"
    OTHER_SERVICE_RESPONSIBLE = "other_service_responsible"
    NO_CAPACITY = "no_capacity"
    PERSON_DECLINED = "person_declined"
    OTHER = "other"


class ParticipantRole(Labelled):
    COORDINATOR = "coordinator"
    CASE_MANAGER = "case_manager"
    IMMIGRATION_LIAISON = "immigration_liaison"
    GUEST = "guest"


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


class AgeBand(Labelled):
    """Coarse enough to pseudonymise, cut where the programmes cut: JMD serves up to 27,
    MBE and Mettmann's "älter als 27" start at 28. The same bands as the case service's briefs
    (services/case/domain/brief.py), which send them as their German label."""

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


class ResidenceStatusKind(Labelled):
    AUFENTHALTSGESTATTUNG = "aufenthaltsgestattung"
    DULDUNG = "duldung"
    AUFENTHALTSERLAUBNIS = "aufenthaltserlaubnis"
    NIEDERLASSUNGSERLAUBNIS = "niederlassungserlaubnis"
    DAUERAUFENTHALT_EU = "daueraufenthalt_eu"
    EU_FREIZUEGIGKEIT = "eu_freizuegigkeit"
    EINGEBUERGERT = "eingebuergert"
    SONSTIGES = "sonstiges"


class SessionStatus(Labelled):
    PLANNED = "planned"
    OPEN = "open"
    CLOSED = "closed"


class VoteChoice(Labelled):
    YES = "yes"
    NO = "no"
    ABSTAIN = "abstain"


class DecisionMode(Labelled):
    VOTE = "vote"
    CONSENSUS = "consensus"


class VorlageKind(Labelled):
    GENERAL = "general"
    ZIELGRUPPEN = "zielgruppen"
    PROJEKTGRUPPE_MANDATE = "projektgruppe_mandate"


class VorlageStatus(Labelled):
    PENDING = "pending"
    ADOPTED = "adopted"
    REJECTED = "rejected"
    POSTPONED = "postponed"


class BeschlussStatus(Labelled):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    IMPLEMENTED = "implemented"
    DISCARDED = "discarded"


class Topic(Labelled):
    BILDUNG = "bildung"
    AUSBILDUNG = "ausbildung"
    ARBEIT = "arbeit"
    SPRACHE = "sprache"
    WOHNEN = "wohnen"
    GESUNDHEIT = "gesundheit"
    TEILHABE = "teilhabe"
    CASE_MANAGEMENT = "case_management"


class BarrierCategory(Labelled):
    ZUSTAENDIGKEIT_UNKLAR = "zustaendigkeit_unklar"
    WARTEZEIT = "wartezeit"
    INFORMATIONSFLUSS = "informationsfluss"
    RECHTLICHE_HUERDE = "rechtliche_huerde"
    FEHLENDES_ANGEBOT = "fehlendes_angebot"
    SPRACHE = "sprache"


class Role(Labelled):
    CASE_MANAGER = "case_manager"
    COORDINATOR = "coordinator"
    IMMIGRATION_LIAISON = "immigration_liaison"
    STEERING_MEMBER = "steering_member"
    CLERK = "clerk"
    DATA_PROTECTION_OFFICER = "data_protection_officer"
    NODE_ADMIN = "node_admin"


_LABELS: list[tuple[Labelled, str]] = [
    (ConferenceStatus.PLANNED, "geplant"),
    (ConferenceStatus.PREPARED, "vorbereitet (Tagesordnung erstellt)"),
    (ConferenceStatus.RUNNING, "laufend"),
    (ConferenceStatus.CLOSED, "abgeschlossen"),
    (AgendaItemKind.PROPOSAL, "Fallvorschlag"),
    (AgendaItemKind.REVIEW, "Fallbesprechung (Quartalsüberprüfung)"),
    (DecisionKind.ADMISSION, "Aufnahme ins Case Management"),
    (DecisionKind.REFERRAL, "Verweisberatung"),
    (DecisionKind.DEFERRAL, "zurückgestellt"),
    (DecisionKind.REJECTION, "abgelehnt"),
    (DecisionKind.REVIEW, "Ergebnis der Fallbesprechung"),
    (DecisionReason.DOCUMENTS_MISSING, "Unterlagen fehlen noch"),
    (DecisionReason.CLARIFICATION_NEEDED, "Klärung durch eine beteiligte Stelle nötig"),
    (DecisionReason.NOT_IN_ZIELGRUPPE, "gehört nicht zur Zielgruppe"),
    (DecisionReason.OTHER_SERVICE_RESPONSIBLE, "ein anderer Dienst ist zuständig"),
    (DecisionReason.NO_CAPACITY, "derzeit keine Kapazität im Fallmanagement"),
    (DecisionReason.PERSON_DECLINED, "die Person wünscht kein Fallmanagement"),
    (DecisionReason.OTHER, "sonstiger Grund (siehe Protokoll der Fallkonferenz)"),
    (ReviewOutcome.CONTINUE, "weiter wie geplant"),
    (ReviewOutcome.CLOSURE_RECOMMENDED, "Abschluss empfohlen"),
    (ReviewOutcome.ROUND_TABLE, "Akteure an einen Tisch holen"),
    (ReferralTarget.MBE, "Migrationsberatung für Erwachsene (MBE)"),
    (ReferralTarget.JMD, "Jugendmigrationsdienst (JMD)"),
    (ReferralTarget.INTEGRATIONSAGENTUR, "Integrationsagentur"),
    (ReferralTarget.TEILHABEMANAGEMENT, "Teilhabemanagement (THM)"),
    (ReferralTarget.JOBCENTER, "Jobcenter"),
    (ReferralTarget.JUGENDAMT, "Jugendamt"),
    (ReferralTarget.OTHER, "sonstiger Regeldienst"),
    (ParticipantRole.COORDINATOR, "Koordinator*in"),
    (ParticipantRole.CASE_MANAGER, "Case Manager*in"),
    (ParticipantRole.IMMIGRATION_LIAISON, "Integrationslots*in der Ausländerbehörde"),
    (ParticipantRole.GUEST, "eingeladene Stelle"),
    (CaseStatus.PROPOSED, "Fallvorschlag"),
    (CaseStatus.IN_REVIEW, "in der Fallkonferenz"),
    (CaseStatus.ADMITTED, "ins Case Management aufgenommen"),
    (CaseStatus.REFERRED, "Verweisberatung"),
    (CaseStatus.REJECTED, "abgelehnt"),
    (CaseStatus.DEFERRED, "zurückgestellt"),
    (CaseStatus.ASSESSMENT, "Bedarfsermittlung"),
    (CaseStatus.PLANNING, "Integrationsplanung"),
    (CaseStatus.ACTIVE, "aktiv (Monitoring)"),
    (CaseStatus.CLOSED, "abgeschlossen"),
    (Handlungsfeld.AUFENTHALT_IDENTITAET, "Aufenthalt/Identität"),
    (Handlungsfeld.SPRACHE, "Sprache"),
    (Handlungsfeld.BILDUNG_SCHULE, "Bildung/Schule"),
    (Handlungsfeld.AUSBILDUNG, "Ausbildung"),
    (Handlungsfeld.ARBEIT, "Arbeit"),
    (Handlungsfeld.WOHNEN, "Wohnen"),
    (Handlungsfeld.GESUNDHEIT, "Gesundheit"),
    (Handlungsfeld.FAMILIE_KINDER, "Familie/Kinder"),
    (Handlungsfeld.FINANZIELLE_SICHERUNG, "Finanzielle Sicherung"),
    (Handlungsfeld.SOZIALE_TEILHABE, "Soziale Teilhabe"),
    (Rechtskreis.SGB_II, "SGB II (Jobcenter)"),
    (Rechtskreis.SGB_III, "SGB III (Agentur für Arbeit)"),
    (Rechtskreis.SGB_VIII, "SGB VIII (Jugendamt)"),
    (Rechtskreis.SGB_XII, "SGB XII (Sozialamt)"),
    (Rechtskreis.ASYLBLG, "AsylbLG"),
    (Rechtskreis.AUFENTHG, "AufenthG (Ausländerbehörde)"),
    (Rechtskreis.STAG, "StAG (Einbürgerung)"),
    (Rechtskreis.MBE, "Migrationsberatung für Erwachsene (MBE)"),
    (Rechtskreis.JMD, "Jugendmigrationsdienst (JMD)"),
    (AgeBand.UNDER_18, "unter 18 Jahre"),
    (AgeBand.FROM_18_TO_27, "18 bis 27 Jahre"),
    (AgeBand.FROM_28_TO_39, "28 bis 39 Jahre"),
    (AgeBand.FROM_40_TO_64, "40 bis 64 Jahre"),
    (AgeBand.FROM_65, "65 Jahre und älter"),
    (ResidenceStatusKind.AUFENTHALTSGESTATTUNG, "Aufenthaltsgestattung"),
    (ResidenceStatusKind.DULDUNG, "Duldung"),
    (ResidenceStatusKind.AUFENTHALTSERLAUBNIS, "Aufenthaltserlaubnis"),
    (ResidenceStatusKind.NIEDERLASSUNGSERLAUBNIS, "Niederlassungserlaubnis"),
    (ResidenceStatusKind.DAUERAUFENTHALT_EU, "Erlaubnis zum Daueraufenthalt-EU"),
    (ResidenceStatusKind.EU_FREIZUEGIGKEIT, "EU-Freizügigkeit"),
    (ResidenceStatusKind.EINGEBUERGERT, "eingebürgert"),
    (ResidenceStatusKind.SONSTIGES, "sonstiger Status"),
    (SessionStatus.PLANNED, "geplant"),
    (SessionStatus.OPEN, "eröffnet"),
    (SessionStatus.CLOSED, "geschlossen"),
    (VoteChoice.YES, "ja"),
    (VoteChoice.NO, "nein"),
    (VoteChoice.ABSTAIN, "Enthaltung"),
    (DecisionMode.VOTE, "Abstimmung"),
    (DecisionMode.CONSENSUS, "einvernehmlich (Konsens)"),
    (VorlageKind.GENERAL, "Beschlussvorlage"),
    (VorlageKind.ZIELGRUPPEN, "Zielgruppen festlegen"),
    (VorlageKind.PROJEKTGRUPPE_MANDATE, "Projektgruppe einsetzen"),
    (VorlageStatus.PENDING, "offen"),
    (VorlageStatus.ADOPTED, "beschlossen"),
    (VorlageStatus.REJECTED, "abgelehnt"),
    (VorlageStatus.POSTPONED, "vertagt"),
    (BeschlussStatus.OPEN, "offen"),
    (BeschlussStatus.IN_PROGRESS, "in Umsetzung"),
    (BeschlussStatus.IMPLEMENTED, "umgesetzt"),
    (BeschlussStatus.DISCARDED, "verworfen"),
    (Topic.BILDUNG, "Bildung und Erziehung"),
    (Topic.AUSBILDUNG, "Ausbildung"),
    (Topic.ARBEIT, "Arbeit"),
    (Topic.SPRACHE, "Sprache"),
    (Topic.WOHNEN, "Wohnen"),
    (Topic.GESUNDHEIT, "Gesundheit"),
    (Topic.TEILHABE, "Teilhabe"),
    (Topic.CASE_MANAGEMENT, "Case Management"),
    (BarrierCategory.ZUSTAENDIGKEIT_UNKLAR, "Zuständigkeit unklar"),
    (BarrierCategory.WARTEZEIT, "Wartezeit"),
    (BarrierCategory.INFORMATIONSFLUSS, "Informationsfluss"),
    (BarrierCategory.RECHTLICHE_HUERDE, "rechtliche Hürde"),
    (BarrierCategory.FEHLENDES_ANGEBOT, "fehlendes Angebot"),
    (BarrierCategory.SPRACHE, "Sprache"),
    (Role.CASE_MANAGER, "Case Manager*in"),
    (Role.COORDINATOR, "Koordinator*in"),
    (Role.IMMIGRATION_LIAISON, "Integrationslots*in der Ausländerbehörde"),
    (Role.STEERING_MEMBER, "Mitglied der Lenkungsgruppe"),
    (Role.CLERK, "Verwaltung"),
    (Role.DATA_PROTECTION_OFFICER, "Datenschutzbeauftragte*r"),
    (Role.NODE_ADMIN, "Administration des Knotens"),
]

_LABELS_BY_TYPE: dict[tuple[type[Labelled], str], str] = {(type(k), k.value): v for k, v in _LABELS}

#: Which Handlungsfelder a Projektgruppe's topic looks at in the barrier register; the
#: Projektgruppe Case Management (RBK) sees all of them.
TOPIC_HANDLUNGSFELDER: dict[Topic, frozenset[Handlungsfeld]] = {
    Topic.BILDUNG: frozenset({Handlungsfeld.BILDUNG_SCHULE, Handlungsfeld.FAMILIE_KINDER}),
    Topic.AUSBILDUNG: frozenset({Handlungsfeld.AUSBILDUNG, Handlungsfeld.BILDUNG_SCHULE}),
    Topic.ARBEIT: frozenset(
        {Handlungsfeld.ARBEIT, Handlungsfeld.AUSBILDUNG, Handlungsfeld.FINANZIELLE_SICHERUNG}
    ),
    Topic.SPRACHE: frozenset({Handlungsfeld.SPRACHE}),
    Topic.WOHNEN: frozenset({Handlungsfeld.WOHNEN}),
    Topic.GESUNDHEIT: frozenset({Handlungsfeld.GESUNDHEIT}),
    Topic.TEILHABE: frozenset({Handlungsfeld.SOZIALE_TEILHABE, Handlungsfeld.AUFENTHALT_IDENTITAET}),
    Topic.CASE_MANAGEMENT: frozenset(Handlungsfeld),
}
