"""The fixed vocabularies of the conference service, each member with the German label users see.

Values are stable English identifiers (stored and sent in events). Where a vocabulary is shared
with the case service (case status, Handlungsfelder, Rechtskreise, referral targets, barrier
categories, Aufenthaltsstatus) the values are the same strings; the contracts in `protos/` are
what both sides agree on, so neither imports the other.
"""

from __future__ import annotations

# The shared vocabulary, re-exported: this service speaks it like every other.
from kimnetz.vocabulary import (
    AgeBand as AgeBand,
    BarrierCategory as BarrierCategory,
    CaseStatus as CaseStatus,
    ConferenceStatus as ConferenceStatus,
    Handlungsfeld as Handlungsfeld,
    Labelled as Labelled,
    Rechtskreis as Rechtskreis,
    ReferralTarget as ReferralTarget,
    ResidenceStatusKind as ResidenceStatusKind,
    Role as Role,
    SessionStatus as SessionStatus,
)


class AgendaItemKind(Labelled):
    PROPOSAL = "proposal"
    REVIEW = "review"

    @classmethod
    def _labels(cls) -> dict[str, str]:
        return {
            "proposal": "Fallvorschlag",
            "review": "Fallbesprechung (Quartalsüberprüfung)",
        }


class DecisionKind(Labelled):
    ADMISSION = "admission"
    REFERRAL = "referral"
    DEFERRAL = "deferral"
    REJECTION = "rejection"
    REVIEW = "review"

    @classmethod
    def _labels(cls) -> dict[str, str]:
        return {
            "admission": "Aufnahme ins Case Management",
            "referral": "Verweisberatung",
            "deferral": "zurückgestellt",
            "rejection": "abgelehnt",
            "review": "Ergebnis der Fallbesprechung",
        }


class ReviewOutcome(Labelled):
    CONTINUE = "continue"
    CLOSURE_RECOMMENDED = "closure_recommended"
    ROUND_TABLE = "round_table"

    @classmethod
    def _labels(cls) -> dict[str, str]:
        return {
            "continue": "weiter wie geplant",
            "closure_recommended": "Abschluss empfohlen",
            "round_table": "Akteure an einen Tisch holen",
        }


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

    @classmethod
    def _labels(cls) -> dict[str, str]:
        return {
            "documents_missing": "Unterlagen fehlen noch",
            "clarification_needed": "Klärung durch eine beteiligte Stelle nötig",
            "not_in_zielgruppe": "gehört nicht zur Zielgruppe",
            "other_service_responsible": "ein anderer Dienst ist zuständig",
            "no_capacity": "derzeit keine Kapazität im Case Management",
            "person_declined": "die Person wünscht kein Case Management",
            "other": "sonstiger Grund (siehe Protokoll der Fallkonferenz)",
        }


class ParticipantRole(Labelled):
    COORDINATOR = "coordinator"
    CASE_MANAGER = "case_manager"
    IMMIGRATION_LIAISON = "immigration_liaison"
    GUEST = "guest"

    @classmethod
    def _labels(cls) -> dict[str, str]:
        return {
            "coordinator": "Koordinator*in",
            "case_manager": "Case Manager*in",
            "immigration_liaison": "Integrationslots*in der Ausländerbehörde",
            "guest": "eingeladene Stelle",
        }


class VoteChoice(Labelled):
    YES = "yes"
    NO = "no"
    ABSTAIN = "abstain"

    @classmethod
    def _labels(cls) -> dict[str, str]:
        return {
            "yes": "ja",
            "no": "nein",
            "abstain": "Enthaltung",
        }


class DecisionMode(Labelled):
    VOTE = "vote"
    CONSENSUS = "consensus"

    @classmethod
    def _labels(cls) -> dict[str, str]:
        return {
            "vote": "Abstimmung",
            "consensus": "einvernehmlich (Konsens)",
        }


class DecisionRule(Labelled):
    """How the Lenkungsgruppe decides (configured when it is constituted). Its Beschlüsse bind
    the members' own organisations (Hilden: „Entscheidungsträger …, um sicherzustellen, dass die
    Beschlüsse des Gremiums auch umgesetzt werden können“; HSK: „gemeinsam steuern“; RBK:
    „kreisweite Verantwortungsgemeinschaft“), so the default is the agreement of the members
    present; a majority only where the Kreis's Geschäftsordnung provides for it."""

    CONSENSUS = "consensus"
    MAJORITY = "majority"

    @classmethod
    def _labels(cls) -> dict[str, str]:
        return {
            "consensus": "Einvernehmen der anwesenden Mitglieder (Konsens)",
            "majority": "Mehrheit nach Geschäftsordnung",
        }


class VorlageKind(Labelled):
    GENERAL = "general"
    ZIELGRUPPEN = "zielgruppen"
    PROJEKTGRUPPE_MANDATE = "projektgruppe_mandate"

    @classmethod
    def _labels(cls) -> dict[str, str]:
        return {
            "general": "Beschlussvorlage",
            "zielgruppen": "Zielgruppen festlegen",
            "projektgruppe_mandate": "Projektgruppe einsetzen",
        }


class VorlageStatus(Labelled):
    PENDING = "pending"
    ADOPTED = "adopted"
    REJECTED = "rejected"
    POSTPONED = "postponed"

    @classmethod
    def _labels(cls) -> dict[str, str]:
        return {
            "pending": "offen",
            "adopted": "beschlossen",
            "rejected": "abgelehnt",
            "postponed": "vertagt",
        }


class BeschlussStatus(Labelled):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    IMPLEMENTED = "implemented"
    DISCARDED = "discarded"

    @classmethod
    def _labels(cls) -> dict[str, str]:
        return {
            "open": "offen",
            "in_progress": "in Umsetzung",
            "implemented": "umgesetzt",
            "discarded": "verworfen",
        }


class Topic(Labelled):
    BILDUNG = "bildung"
    AUSBILDUNG = "ausbildung"
    ARBEIT = "arbeit"
    SPRACHE = "sprache"
    WOHNEN = "wohnen"
    GESUNDHEIT = "gesundheit"
    TEILHABE = "teilhabe"
    CASE_MANAGEMENT = "case_management"
    SOZIALE_INTEGRATION = "soziale_integration"

    @classmethod
    def _labels(cls) -> dict[str, str]:
        return {
            "bildung": "Bildung und Erziehung",
            "ausbildung": "Ausbildung",
            "arbeit": "Arbeit",
            "sprache": "Sprache",
            "wohnen": "Wohnen",
            "gesundheit": "Gesundheit",
            "teilhabe": "Teilhabe",
            "case_management": "Case Management",
            "soziale_integration": "Soziale Integration",
        }


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
    # Hilden names "sozialer Integration" beside "Teilhabe": life beyond offices and work.
    Topic.SOZIALE_INTEGRATION: frozenset(
        {Handlungsfeld.SOZIALE_TEILHABE, Handlungsfeld.FAMILIE_KINDER, Handlungsfeld.WOHNEN}
    ),
}
