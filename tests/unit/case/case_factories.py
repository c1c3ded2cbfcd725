"""Factories for case-domain test data: sensible defaults, every field overridable.

`make_case(status=...)` walks the real lifecycle to that status (no field poking), so a
factory-made case is always one the domain itself could have produced.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta
from typing import Any

from services.case.domain import commands as c
from services.case.domain.case import Case
from services.case.domain.person import Person, PersonData
from services.case.domain.policy import Actor
from services.case.domain.vocabulary import CaseStatus
from services.case.domain.zielgruppen import METTMANN_V1, ZielgruppenCatalogue

#: Noon in Germany, a Wednesday; far from midnight so UTC and local day agree.
NOW = datetime(2026, 3, 4, 11, 0, tzinfo=UTC)
TODAY = date(2026, 3, 4)

OWNER = "caritas-hilden"
COORDINATION = "kreis-mettmann-ki"
ABH = "kreis-mettmann-abh"


def later(minutes: int = 1) -> datetime:
    return NOW + timedelta(minutes=minutes)


def make_actor(roles: tuple[str, ...] = ("case_manager",), organization: str = OWNER,
               subject: str = "cm-anna") -> Actor:
    return Actor(subject=subject, organization=organization, roles=frozenset(roles))


CM = make_actor()
COORDINATOR = make_actor(("coordinator",), COORDINATION, "koord-ben")


def birth_date_for_age(age: int, on: date = TODAY, days_after_birthday: int = 0) -> date:
    """A birth date making the person exactly `age` completed years old on `on`, having had
    the birthday `days_after_birthday` days before."""
    birthday = on - timedelta(days=days_after_birthday)
    return birthday.replace(year=birthday.year - age)


def make_person_data(**overrides: Any) -> PersonData:
    defaults: dict[str, Any] = dict(
        given_name="Amina",
        family_name="Haddad",
        birth_date=birth_date_for_age(34),
        nationalities=("SY",),
        country_of_origin="SY",
        residence_kind="duldung",
        legal_basis="§ 60a AufenthG",
        residence_valid_until=date(2026, 9, 30),
        languages=("ar", "de"),
        phone="+49 2103 12345",
        email="amina@example.org",
    )
    defaults.update(overrides)
    return PersonData(**defaults)


def make_proposal(person: PersonData | None = None, **overrides: Any) -> c.ProposeCase:
    defaults: dict[str, Any] = dict(
        owner_org=OWNER,
        coordination_org=COORDINATION,
        proposer_kind="counselling",
        proposer_unit="Migrationsberatung Hilden",
        reason="Ausbildungsplatz in Aussicht, Duldung verhindert die Zustimmung der ABH.",
        handlungsfelder=("aufenthalt_identitaet", "ausbildung"),
        rechtskreise=("aufenthg", "sgb_iii"),
        person=person or make_person_data(),
    )
    defaults.update(overrides)
    return c.ProposeCase(**defaults)


def propose(
    catalogue: ZielgruppenCatalogue = METTMANN_V1, actor: Actor = CM, **overrides: Any
) -> tuple[Case, Person]:
    return Case.propose(make_proposal(**overrides), actor, NOW, catalogue)


def record_consent(case: Case, **overrides: Any) -> None:
    defaults: dict[str, Any] = dict(
        case_id=case.case_id, kind="schweigepflichtentbindung", recipient_org=COORDINATION,
        purposes=("fallkonferenz",), categories=("falldokumentation",), signed_on=TODAY,
        expires_on=date(2027, 3, 3),
    )
    defaults.update(overrides)
    case.record_consent(c.RecordConsent(**defaults), CM, NOW)


#: How to get from the previous status to each status (the path make_case walks).
def _walk(case: Case, target: CaseStatus) -> None:
    path = {
        CaseStatus.PROPOSED: [],
        CaseStatus.IN_REVIEW: ["review"],
        CaseStatus.ADMITTED: ["review", "admit"],
        CaseStatus.REFERRED: ["review", "refer"],
        CaseStatus.REJECTED: ["review", "reject"],
        CaseStatus.DEFERRED: ["review", "defer"],
        CaseStatus.ASSESSMENT: ["review", "admit", "assess"],
        CaseStatus.PLANNING: ["review", "admit", "assess", "need", "plan"],
        CaseStatus.ACTIVE: ["review", "admit", "assess", "need", "plan", "goal", "activate"],
        CaseStatus.CLOSED: ["review", "admit", "assess", "need", "plan", "goal", "activate", "close"],
    }[target]
    cid = case.case_id
    for step in path:
        if step == "review":
            record_consent(case)
            case.submit_for_review(c.SubmitForReview(cid, conference_orgs=(ABH,)), CM, later(1))
        elif step == "admit":
            case.admit(c.AdmitCase(cid, CM.subject, OWNER, "FK 2026/03"), COORDINATOR, later(2))
        elif step == "refer":
            case.refer(c.ReferCase(cid, "mbe", decision_reference="FK 2026/03"), COORDINATOR, later(2))
        elif step == "reject":
            case.reject(c.RejectCase(cid, "Keine rechtskreisübergreifende Problemlage."), COORDINATOR,
                        later(2))
        elif step == "defer":
            case.defer(c.DeferCase(cid, "Unterlagen fehlen.", date(2026, 6, 1)), COORDINATOR, later(2))
        elif step == "assess":
            case.start_assessment(c.StartAssessment(cid), CM, later(3))
        elif step == "need":
            case.record_need(c.RecordNeed(cid, "aufenthalt_identitaet", "Identität ungeklärt",
                                          "Geburtsurkunde vorhanden", "high"), CM, later(4))
        elif step == "plan":
            case.start_planning(c.StartPlanning(cid), CM, later(5))
        elif step == "goal":
            goal = case.add_goal(c.AddGoal(cid, "Identität klären", "aufenthalt_identitaet",
                                           date(2026, 9, 30)), CM, later(6))
            case.add_step(c.AddStep(cid, goal.goal_id, "Passbeschaffung bei der Botschaft",
                                    "Case Management", "aufenthg", date(2026, 6, 30)), CM, later(7))
        elif step == "activate":
            case.activate_plan(c.ActivatePlan(cid), CM, later(8))
        elif step == "close":
            case.close(c.CloseCase(cid, "goals_achieved", outcomes=tuple(
                c.GoalOutcomeInput(g.goal_id, "achieved") for g in case.goals)), CM, later(9))


def make_case(status: CaseStatus | str = CaseStatus.PROPOSED, **overrides: Any) -> Case:
    """A case in `status`, reached through the domain's own transitions. Overrides of the
    proposal go to `make_proposal`; events of the walk are discarded."""
    case, _ = propose(**overrides)
    _walk(case, CaseStatus(status))
    case.collect_events()
    return case


def make_case_with_person(
    status: CaseStatus | str = CaseStatus.PROPOSED, **overrides: Any
) -> tuple[Case, Person]:
    case, person = propose(**overrides)
    _walk(case, CaseStatus(status))
    case.collect_events()
    return case, person


def snapshot(case: Case) -> Case:
    """A deep copy to prove that a failed command changed nothing."""
    import copy
    return copy.deepcopy(dataclasses.replace(case, pending_events=list(case.pending_events)))
