"""Authorisation matrix: every role against every action of the conference service."""

from __future__ import annotations

import pytest

from kimnetz.errors import PermissionDenied
from services.conference.domain.policy import Action, Actor, require
from services.conference.domain.projektgruppe import Projektgruppe, ProjektgruppenMember
from services.conference.domain.vocabulary import Role, Topic
from tests.unit.conference.factories import KI, NOW, make_beschluss, make_conference

CONFERENCE = make_conference()
BESCHLUSS = make_beschluss()  # responsible_person "member-2"
PROJEKTGRUPPE = Projektgruppe.establish(
    name="PG Case Management", topic=Topic.CASE_MANAGEMENT, mandate=BESCHLUSS, now=NOW,
    members=[ProjektgruppenMember("pg-member", "PG Mitglied", "caritas")],
)

ACTORS = {
    "coordinator": Actor("koord-1", KI, frozenset({Role.COORDINATOR})),
    "coordinator_elsewhere": Actor("koord-rbk", "ki-rbk", frozenset({Role.COORDINATOR})),
    "invited_case_manager": Actor("cm-hilden", "stadt-hilden", frozenset({Role.CASE_MANAGER})),
    "other_case_manager": Actor("cm-x", "awo-ratingen", frozenset({Role.CASE_MANAGER})),
    "immigration_liaison": Actor("lotsin-abh", "abh-mettmann", frozenset({Role.IMMIGRATION_LIAISON})),
    "steering_member": Actor("member-1", "jobcenter", frozenset({Role.STEERING_MEMBER})),
    "assigned_steering_member": Actor("member-2", "abh-mettmann", frozenset({Role.STEERING_MEMBER})),
    "clerk": Actor("clerk-1", "kreis", frozenset({Role.CLERK})),
    "projektgruppe_member": Actor("pg-member", "caritas", frozenset({Role.CASE_MANAGER})),
    "data_protection_officer": Actor("dsb", KI, frozenset({Role.DATA_PROTECTION_OFFICER})),
    "node_admin": Actor("admin", KI, frozenset({Role.NODE_ADMIN})),
}

# Who may do each action (on the resources above); everyone else is denied.
ALLOWED: dict[Action, set[str]] = {
    Action.SCHEDULE_CONFERENCE: {"coordinator"},
    Action.PREPARE_CONFERENCE: {"coordinator"},
    Action.RUN_CONFERENCE: {"coordinator"},
    Action.READ_CONFERENCE: {"coordinator", "invited_case_manager", "immigration_liaison"},
    Action.MANAGE_GREMIUM: {"coordinator"},
    Action.READ_GREMIUM: {"coordinator", "steering_member", "assigned_steering_member", "clerk"},
    Action.CAST_VOTE: {"steering_member", "assigned_steering_member"},
    Action.READ_BESCHLUESSE: {"coordinator", "steering_member", "assigned_steering_member", "clerk"},
    Action.TRACK_BESCHLUSS: {"coordinator", "assigned_steering_member"},
    Action.MANAGE_PROJEKTGRUPPE: {"coordinator"},
    Action.PREPARE_VORLAGE: {"coordinator", "projektgruppe_member"},
    Action.READ_BARRIER_REGISTER: {"coordinator", "steering_member", "assigned_steering_member",
                                   "projektgruppe_member"},
}
RESOURCES = {"conference": CONFERENCE, "beschluss": BESCHLUSS, "projektgruppe": PROJEKTGRUPPE}
CASES = [(action, name) for action in Action for name in ACTORS]


def test_matrix_covers_every_action() -> None:
    assert set(ALLOWED) == set(Action)


@pytest.mark.parametrize(("action", "actor"), CASES, ids=[f"{a.value}-{n}" for a, n in CASES])
def test_role_against_action(action: Action, actor: str) -> None:
    if actor in ALLOWED[action]:
        require(ACTORS[actor], action, coordination_org=KI, **RESOURCES)  # type: ignore[arg-type]
    else:
        with pytest.raises(PermissionDenied) as denied:
            require(ACTORS[actor], action, coordination_org=KI, **RESOURCES)  # type: ignore[arg-type]
        assert denied.value.message.endswith(".") and " " in denied.value.message  # a German sentence


def test_roles_add_up() -> None:
    both = Actor("x", KI, frozenset({Role.CLERK, Role.STEERING_MEMBER}))
    require(both, Action.CAST_VOTE)
    require(both, Action.READ_BESCHLUESSE)


def test_invitation_by_organisation_admits_a_colleague() -> None:
    colleague = Actor("cm-other", "stadt-hilden", frozenset({Role.CASE_MANAGER}))
    require(colleague, Action.READ_CONFERENCE, conference=CONFERENCE)
