"""The authorisation matrix: every role against every action, own and foreign organisation."""

from __future__ import annotations

import pytest
from case_factories import ABH, COORDINATION, OWNER, TODAY, make_actor, make_case

from kim.errors import PermissionDenied
from services.case.domain import commands as c
from services.case.domain.policy import NO_ACCESS, Action, authorize, can
from services.case.domain.vocabulary import CaseStatus, Role

A = Action
WORK = {A.PROPOSE, A.LIST, A.READ_BRIEF, A.READ_CASE, A.READ_PERSON, A.EDIT_PERSON, A.MANAGE_CONSENT,
        A.SUBMIT_FOR_REVIEW, A.CASE_WORK, A.TRANSFER, A.CLOSE}

#: Expected, written out: role -> actions allowed on a case of the own organisation.
OWN: dict[Role, set[Action]] = {
    Role.CASE_MANAGER: WORK,
    Role.COORDINATOR: WORK | {A.DECIDE, A.RECORD_REVIEW, A.ASSIGN, A.REOPEN, A.READ_FIGURES},
    Role.IMMIGRATION_LIAISON: {A.PROPOSE, A.LIST, A.READ_BRIEF, A.READ_CASE, A.READ_PERSON,
                               A.MANAGE_CONSENT, A.SUBMIT_FOR_REVIEW},
    Role.DATA_PROTECTION_OFFICER: {A.READ_AUDIT, A.ERASE},
    Role.STEERING_MEMBER: {A.READ_FIGURES},
    Role.CLERK: {A.READ_FIGURES},
    Role.NODE_ADMIN: set(),
}

#: role -> actions allowed on a foreign case that lists the actor's organisation.
SHARED: dict[Role, set[Action]] = {
    Role.COORDINATOR: {A.LIST, A.READ_BRIEF, A.DECIDE, A.RECORD_REVIEW},
    Role.IMMIGRATION_LIAISON: {A.LIST, A.READ_BRIEF},
}

CASE = make_case(CaseStatus.IN_REVIEW)  # owner OWNER, shared with COORDINATION and ABH


@pytest.mark.parametrize("role", list(Role), ids=str)
@pytest.mark.parametrize("action", list(Action), ids=str)
def test_own_organisation(role: Role, action: Action) -> None:
    actor = make_actor((role.value,), OWNER)
    assert can(actor, action, CASE, on=TODAY) is (action in OWN[role])


@pytest.mark.parametrize("role", list(Role), ids=str)
@pytest.mark.parametrize("action", list(Action), ids=str)
def test_foreign_organisation_on_the_access_list(role: Role, action: Action) -> None:
    actor = make_actor((role.value,), COORDINATION)
    # The factory's consent covers the Falldokumentation for the conference: the coordinator
    # there may read the case (not the person).
    consented = role is Role.COORDINATOR and action is A.READ_CASE
    if action in SHARED.get(role, set()) or consented:
        authorize(actor, action, CASE, on=TODAY)
    else:
        with pytest.raises(PermissionDenied) as error:
            authorize(actor, action, CASE, on=TODAY)
        assert error.value.message == NO_ACCESS


@pytest.mark.parametrize("role", list(Role), ids=str)
@pytest.mark.parametrize("action", list(Action), ids=str)
def test_foreign_organisation_not_on_the_list_learns_nothing(role: Role, action: Action) -> None:
    actor = make_actor((role.value,), "awo-ratingen")
    with pytest.raises(PermissionDenied) as error:
        authorize(actor, action, CASE, on=TODAY)
    assert error.value.message == NO_ACCESS
    assert CASE.pseudonym not in error.value.message


def test_liaison_of_the_abh_sees_the_brief_of_a_case_on_the_agenda() -> None:
    assert can(make_actor(("immigration_liaison",), ABH), A.READ_BRIEF, CASE)
    assert not can(make_actor(("immigration_liaison",), ABH), A.READ_PERSON, CASE, on=TODAY)


def test_coordinator_of_the_koordinierende_stelle_reads_full_data_only_with_consent() -> None:
    case = make_case(CaseStatus.IN_REVIEW)
    coordinator = make_actor(("coordinator",), COORDINATION)
    # The factory's consent covers the Falldokumentation for the conference, not Stammdaten.
    assert can(coordinator, A.READ_CASE, case, on=TODAY)
    assert not can(coordinator, A.READ_PERSON, case, on=TODAY)
    consent_id = case.consents[0].consent_id
    case.revoke_consent(c.RevokeConsent(case.case_id, consent_id, TODAY), make_actor(), case.updated_at)
    assert not can(coordinator, A.READ_CASE, case, on=TODAY)


def test_several_roles_add_up() -> None:
    actor = make_actor(("clerk", "data_protection_officer"), OWNER)
    assert can(actor, A.READ_AUDIT, CASE) and not can(actor, A.READ_CASE, CASE)


def test_unknown_roles_grant_nothing() -> None:
    assert not can(make_actor(("admin", "superuser"), OWNER), A.READ_CASE, CASE)


def test_node_level_actions_need_the_node_organisation() -> None:
    cm = make_actor(("case_manager",), OWNER)
    authorize(cm, A.PROPOSE, node_org=OWNER)
    with pytest.raises(PermissionDenied):
        authorize(cm, A.PROPOSE, node_org="kreis-mettmann-ki")
    dpo = make_actor(("data_protection_officer",), OWNER)
    authorize(dpo, A.READ_AUDIT, node_org=OWNER)
    with pytest.raises(PermissionDenied):
        authorize(cm, A.READ_AUDIT, node_org=OWNER)


@pytest.mark.parametrize("role", list(Role), ids=str)
def test_monitoring_figures_only_for_coordinators_steering_and_clerks_of_the_node(role: Role) -> None:
    allowed = role in (Role.COORDINATOR, Role.STEERING_MEMBER, Role.CLERK)
    assert can(make_actor((role.value,), OWNER), A.READ_FIGURES, node_org=OWNER) is allowed
    assert not can(make_actor((role.value,), COORDINATION), A.READ_FIGURES, node_org=OWNER)
