"""Factories with overrides for the conference domain: `make_brief(status=...)`, ..."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from services.conference.domain.beschluss import Beschluss
from services.conference.domain.briefs import CaseBrief, ConsentCoverage, DisclosedIdentity
from services.conference.domain.fallkonferenz import Fallkonferenz, Participant
from services.conference.domain.lenkungsgruppe import Deputy, Lenkungsgruppe
from services.conference.domain.sitzung import Sitzung
from services.conference.domain.vocabulary import (
    AgeBand,
    CaseStatus,
    DecisionMode,
    DecisionRule,
    Handlungsfeld,
    ParticipantRole,
    Rechtskreis,
    ResidenceStatusKind,
    VorlageKind,
)
from services.conference.domain.vorlage import Beschlussvorlage
from services.conference.domain.zielgruppen import CountryRule, ZielgruppeDefinition

NOW = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
TODAY = NOW.date()
KI = "ki-kreis-mettmann"
CONFERENCE_START = datetime(2025, 3, 10, 10, 0, tzinfo=UTC)

_ids = itertools.count(1)


def next_id(prefix: str) -> str:
    return f"{prefix}-{next(_ids)}"


def make_brief(**overrides: Any) -> CaseBrief:
    defaults: dict[str, Any] = {
        "case_id": next_id("case"),
        "pseudonym": next_id("KIM-P"),
        "owner_node": "stadt-hilden",
        "owner_org": "stadt-hilden",
        "coordination_org": KI,
        "status": CaseStatus.IN_REVIEW,  # submitted: the only proposals an agenda takes
        "age_band": AgeBand.FROM_28_TO_39,
        "fetched_at": NOW,
        "zielgruppe": "geduldete_gestattete_ueber_27",
        "handlungsfelder": (Handlungsfeld.AUFENTHALT_IDENTITAET, Handlungsfeld.ARBEIT),
        "rechtskreise": (Rechtskreis.AUFENTHG, Rechtskreis.SGB_III),
        "proposed_on": date(2025, 2, 20),
    }
    defaults.update(overrides)
    return CaseBrief(**defaults)


def make_review_brief(**overrides: Any) -> CaseBrief:
    defaults: dict[str, Any] = {
        "status": CaseStatus.ACTIVE, "review_due_on": date(2025, 3, 1), "proposed_on": None,
        "case_manager": "cm-hilden", "case_manager_org": "stadt-hilden",
    }
    defaults.update(overrides)
    return make_brief(**defaults)


def make_identity(**consent_overrides: Any) -> DisclosedIdentity:
    consent: dict[str, Any] = {
        "consent_id": "consent-1", "recipient_org": KI, "purposes": frozenset({"fallkonferenz"}),
        "expires_on": date(2026, 1, 1),
    }
    consent.update(consent_overrides)
    return DisclosedIdentity(given_name="Amina", family_name="Haddad", consent=ConsentCoverage(**consent))


def make_participants() -> list[Participant]:
    return [
        Participant("koord-1", "Koordinatorin KI", ParticipantRole.COORDINATOR, KI),
        Participant("cm-hilden", "Case Managerin Hilden", ParticipantRole.CASE_MANAGER, "stadt-hilden"),
        Participant("lotsin-abh", "Integrationslotsin", ParticipantRole.IMMIGRATION_LIAISON, "abh-mettmann"),
    ]


def make_conference(**overrides: Any) -> Fallkonferenz:
    defaults: dict[str, Any] = {
        "coordination_org": KI, "starts_at": CONFERENCE_START, "participants": make_participants(),
        "scheduled_by": "koord-1", "now": NOW, "place": "Kreishaus Mettmann, Raum 2.14",
    }
    defaults.update(overrides)
    conference = Fallkonferenz.schedule(**defaults)
    conference.events.clear()
    return conference


def make_running_conference(*briefs: CaseBrief) -> Fallkonferenz:
    conference = make_conference()
    conference.build_agenda(list(briefs) or [make_brief()], NOW)
    conference.start(CONFERENCE_START)
    conference.events.clear()
    return conference


#: Where a Kreis's Geschäftsordnung provides for majority decisions (the only case they exist).
GESCHAEFTSORDNUNG = "§ 4 Abs. 2 GO Lenkungsgruppe KIM"


def make_gremium(voting: int = 4, advisory: int = 1,
                 decision_rule: DecisionRule = DecisionRule.CONSENSUS) -> Lenkungsgruppe:
    gremium = Lenkungsgruppe.constitute(
        coordination_org=KI, name="Lenkungsgruppe KIM Kreis Mettmann", decision_rule=decision_rule,
        rules_reference=GESCHAEFTSORDNUNG if decision_rule is DecisionRule.MAJORITY else "")
    for i in range(1, voting + 1):
        gremium.add_member(
            person=f"member-{i}", name=f"Mitglied {i}", organisation=f"org-{i}", function="Amtsleitung",
            deputy=Deputy(f"deputy-{i}", f"Vertretung {i}"), member_id=f"m{i}",
        )
    for i in range(1, advisory + 1):
        gremium.add_member(
            person=f"advisor-{i}", name=f"Beratung {i}", organisation="caritas", function="Wohlfahrt",
            voting=False, member_id=f"a{i}",
        )
    return gremium


def make_vorlage(**overrides: Any) -> Beschlussvorlage:
    defaults: dict[str, Any] = {
        "kind": VorlageKind.GENERAL,
        "title": "Ausbildungsduldung frühzeitig prüfen",
        "proposed_wording": "ABH und Agentur für Arbeit stimmen Ausbildungsduldungen vor Vertragsbeginn ab.",
        "submitted_by": "koord-1",
        "now": NOW,
        "responsible_org": "abh-mettmann",
        "responsible_person": "member-2",
        "due_on": date(2025, 6, 30),
    }
    defaults.update(overrides)
    return Beschlussvorlage.draft(**defaults)


def make_zielgruppen() -> tuple[ZielgruppeDefinition, ...]:
    return (
        ZielgruppeDefinition(key="umf", name="Unbegleitete minderjährige Geflüchtete", requires_umf=True),
        ZielgruppeDefinition(
            key="geduldete_gestattete_ueber_27", name="Geduldete und Gestattete älter als 27",
            min_age=28,
            residence_kinds=(ResidenceStatusKind.DULDUNG, ResidenceStatusKind.AUFENTHALTSGESTATTUNG),
        ),
        ZielgruppeDefinition(
            key="suedosteuropa", name="Zugewanderte aus Süd-Ost-Europa",
            countries_of_origin=(CountryRule("AL"), CountryRule("TR", "Ostthrakien")),
        ),
        ZielgruppeDefinition(
            key="frauen_beratung", name="Frauen in der Frauenberatungsstelle",
            description="HSK: Frauen, die die Frauenberatungsstelle aufsuchen.",
            legal_bases=("§ 25b AufenthG",),
        ),
    )


def make_open_session(
    gremium: Lenkungsgruppe | None = None, *, present: set[str] | None = None,
    vorlagen: list[Beschlussvorlage] | None = None,
) -> Sitzung:
    gremium = gremium or make_gremium()
    session = Sitzung.schedule(gremium, starts_at=NOW + timedelta(hours=1), place="Kreishaus", now=NOW)
    for vorlage in vorlagen if vorlagen is not None else [make_vorlage()]:
        session.add_to_agenda(vorlage)
    session.open(gremium, present=present if present is not None else {"member-1", "member-2", "member-3"},
                 now=NOW)
    return session


def make_majority_session(**overrides: Any) -> Sitzung:
    """An open session of a Lenkungsgruppe whose Geschäftsordnung provides for majorities."""
    return make_open_session(make_gremium(decision_rule=DecisionRule.MAJORITY), **overrides)


def make_beschluss(**overrides: Any) -> Beschluss:
    session = make_open_session()
    vorlage_id = session.items[0].vorlage.vorlage_id
    beschluss = session.conclude(vorlage_id, mode=DecisionMode.CONSENSUS, now=NOW)
    assert beschluss is not None
    beschluss.events.clear()
    return replace(beschluss, **overrides) if overrides else beschluss
