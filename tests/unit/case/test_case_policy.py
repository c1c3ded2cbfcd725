"""The authorisation matrix and the one consent gate: every role against every action, for the
owning organisation, the koordinierende Stelle, the ABH named as conference organisation and an
organisation the case was never sent to, in every consent state the receiving organisation can
be in (none, valid, expired, revoked, wrong purpose, missing category).

The expectation is written out independently of the policy's tables (`expected`): an own role
table, and for a foreign organisation "sent to it, the right role, and a consent covering the
read's category for the Fallkonferenz today". Refusals on a foreign case answer exactly like a
missing case (NotFound, the same message); own-organisation role refusals say PermissionDenied.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from case_factories import ABH, CM, COORDINATION, COORDINATOR, OWNER, TODAY, later, make_actor, make_case

from kimnetz.errors import NotFound, PermissionDenied
from services.case.domain import commands as c
from services.case.domain.case import Case
from services.case.domain.policy import (
    CASE_NOT_FOUND,
    Action,
    authorize,
    can,
    covered_orgs,
    decide,
    may_read_case,
    release_verdict,
)
from services.case.domain.vocabulary import CaseStatus, Role

A = Action
WORK = {A.PROPOSE, A.LIST, A.READ_BRIEF, A.READ_CASE, A.READ_PERSON, A.EDIT_PERSON, A.MANAGE_CONSENT,
        A.SUBMIT_FOR_REVIEW, A.CASE_WORK, A.TRANSFER, A.CLOSE, A.READ_CASE_AUDIT}

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

OTHER = "awo-ratingen"  # never sent the case
ORGS = {"own": OWNER, "coordinating": COORDINATION, "abh": ABH, "other": OTHER}
STATES = ("none", "valid", "expired", "revoked", "wrong_purpose", "missing_category")
FD, SD = "falldokumentation", "stammdaten"
#: Which categories a consent in each state covers for the Fallkonferenz today.
COVERED_TODAY = {"valid": {FD, SD}, "missing_category": {SD}}
#: Foreign reads: which roles, and which category the consent must cover.
FOREIGN_READS: dict[Action, tuple[set[Role], str]] = {
    A.LIST: ({Role.COORDINATOR, Role.IMMIGRATION_LIAISON}, FD),
    A.READ_BRIEF: ({Role.COORDINATOR, Role.IMMIGRATION_LIAISON}, FD),
    A.READ_CASE: ({Role.COORDINATOR}, FD),
    A.READ_PERSON: ({Role.COORDINATOR}, SD),
}


def expected(role: Role, org: str, state: str, action: Action) -> bool:
    if org == OWNER:
        return action in OWN[role]
    if org == OTHER:
        return False  # never sent there: no consent makes it a recipient
    if action in (A.DECIDE, A.RECORD_REVIEW):
        # Not a release of data: only the koordinierende Stelle the case was submitted to.
        return role is Role.COORDINATOR and org == COORDINATION
    if action not in FOREIGN_READS:
        return False
    roles, category = FOREIGN_READS[action]
    return role in roles and category in COVERED_TODAY.get(state, set())


def case_in_state(org: str, state: str) -> Case:
    """A submitted case (owner OWNER, koordinierende Stelle COORDINATION, ABH named as conference
    organisation) whose consents for `org` are in `state`; other organisations keep theirs."""
    case = make_case(CaseStatus.IN_REVIEW)
    # The submission needed a consent for the Stelle; the matrix sets each state from scratch.
    case.consents = [k for k in case.consents if k.recipient_org != org]
    if state == "none":
        return case

    def record(purposes: tuple[str, ...], categories: tuple[str, ...], signed: date,
               expires: date, now: datetime) -> str:
        consent = case.record_consent(c.RecordConsent(
            case.case_id, "schweigepflichtentbindung", org, purposes, categories, signed, expires), CM, now)
        return consent.consent_id

    year = date(2027, 3, 3)
    if state == "valid":
        record(("fallkonferenz",), (FD, SD), TODAY, year, later(1))
    elif state == "expired":
        record(("fallkonferenz",), (FD, SD), date(2025, 1, 10), date(2026, 3, 1),
               datetime(2025, 1, 10, 11, 0, tzinfo=UTC))
    elif state == "revoked":
        consent_id = record(("fallkonferenz",), (FD, SD), TODAY, year, later(1))
        case.revoke_consent(c.RevokeConsent(case.case_id, consent_id, TODAY), CM, later(2))
    elif state == "wrong_purpose":
        record(("falluebergabe", "fallbearbeitung"), (FD, SD), TODAY, year, later(1))
    elif state == "missing_category":
        record(("fallkonferenz",), (SD,), TODAY, year, later(1))
    return case


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("where", list(ORGS))
@pytest.mark.parametrize("role", list(Role), ids=str)
def test_matrix(role: Role, where: str, state: str) -> None:
    org = ORGS[where]
    case = case_in_state(org, state)
    actor = make_actor((role.value,), org, "someone")
    for action in Action:
        verdict = decide(actor, action, case, on=TODAY)
        want = expected(role, org, state, action)
        assert verdict.allowed is want, (role, where, state, action, verdict.reason)
        if want:
            authorize(actor, action, case, on=TODAY)
            continue
        assert verdict.reason, "every refusal names its reason for the audit trail"
        if org == OWNER:
            with pytest.raises(PermissionDenied):
                authorize(actor, action, case, on=TODAY)
        else:
            # A foreign case answers exactly like a missing one: nothing about why.
            with pytest.raises(NotFound) as refused:
                authorize(actor, action, case, on=TODAY)
            assert refused.value.message == CASE_NOT_FOUND


def test_the_matrix_covers_every_consent_state_with_an_allowed_and_a_refused_read() -> None:
    # The expectation itself must separate the states, or the matrix could pass vacuously.
    brief = {s: expected(Role.IMMIGRATION_LIAISON, ABH, s, A.READ_BRIEF) for s in STATES}
    assert brief == {"none": False, "valid": True, "expired": False, "revoked": False,
                     "wrong_purpose": False, "missing_category": False}


def test_the_abh_named_at_submission_sees_nothing_without_its_own_consent() -> None:
    case = make_case(CaseStatus.IN_REVIEW)  # ABH named as conference organisation, no consent
    liaison = make_actor(("immigration_liaison",), ABH, "lotsin")
    assert ABH in case.sent_to
    assert not can(liaison, A.READ_BRIEF, case, on=TODAY)
    assert not can(liaison, A.LIST, case, on=TODAY)
    assert "Keine Einwilligung" in decide(liaison, A.READ_BRIEF, case, on=TODAY).reason
    case.record_consent(c.RecordConsent(case.case_id, "einwilligung", ABH, ("fallkonferenz",), (FD,),
                                        TODAY), CM, later(3))
    assert can(liaison, A.READ_BRIEF, case, on=TODAY)
    assert not can(liaison, A.READ_PERSON, case, on=TODAY)


def test_revocation_ends_the_koordinierende_stelle_s_reads_at_once_but_not_its_decision() -> None:
    case = make_case(CaseStatus.IN_REVIEW)
    assert can(COORDINATOR, A.READ_BRIEF, case, on=TODAY) and can(COORDINATOR, A.LIST, case, on=TODAY)
    case.revoke_consent(c.RevokeConsent(case.case_id, case.consents[0].consent_id, TODAY), CM, later(5))
    for action in (A.READ_BRIEF, A.LIST, A.READ_CASE, A.READ_PERSON):
        assert not can(COORDINATOR, action, case, on=TODAY), action
    # The access list still names the Stelle: it is where the case went, not who may read it.
    assert COORDINATION in case.access_orgs
    # A decision releases nothing, so a decision taken on the discussion before is still recorded.
    assert can(COORDINATOR, A.DECIDE, case, on=TODAY)
    assert not may_read_case(COORDINATOR, case, TODAY)


def test_a_decision_needs_the_case_submitted_to_the_deciding_stelle() -> None:
    proposed = make_case(CaseStatus.PROPOSED)
    assert "noch nicht" in decide(COORDINATOR, A.DECIDE, proposed, on=TODAY).reason
    abh_coordinator = make_actor(("coordinator",), ABH, "abh-koord")
    submitted = make_case(CaseStatus.IN_REVIEW)
    assert "koordinierende Stelle" in decide(abh_coordinator, A.DECIDE, submitted, on=TODAY).reason
    assert can(COORDINATOR, A.DECIDE, submitted, on=TODAY)
    assert can(COORDINATOR, A.RECORD_REVIEW, make_case(CaseStatus.ACTIVE), on=TODAY)


def test_without_a_day_no_foreign_organisation_receives_anything() -> None:
    case = make_case(CaseStatus.IN_REVIEW)
    assert not can(COORDINATOR, A.READ_BRIEF, case)
    assert "Stichtag" in decide(COORDINATOR, A.READ_BRIEF, case).reason


def test_a_consent_alone_does_not_make_an_organisation_a_recipient() -> None:
    case = case_in_state(OTHER, "valid")
    coordinator = make_actor(("coordinator",), OTHER)
    assert "nicht vorgeschlagen" in decide(coordinator, A.READ_BRIEF, case, on=TODAY).reason
    assert OTHER not in covered_orgs(case, TODAY)
    assert not release_verdict(OTHER, case, TODAY).allowed


def test_covered_orgs_name_exactly_the_organisations_a_fallkonferenz_consent_covers_today() -> None:
    case = case_in_state(ABH, "valid")
    assert covered_orgs(case, TODAY) == tuple(sorted((ABH, COORDINATION)))
    assert covered_orgs(case_in_state(ABH, "missing_category"), TODAY) == (COORDINATION,)
    assert covered_orgs(case_in_state(ABH, "expired"), TODAY) == (COORDINATION,)
    assert covered_orgs(case_in_state(COORDINATION, "revoked"), TODAY) == ()


def test_the_release_of_the_proposal_brief_follows_the_same_gate() -> None:
    case = make_case(CaseStatus.IN_REVIEW)
    assert release_verdict(OWNER, case, TODAY).allowed
    stelle = release_verdict(COORDINATION, case, TODAY)
    assert stelle.allowed and stelle.consent_ids == (case.consents[0].consent_id,)
    assert not release_verdict(ABH, case, TODAY).allowed
    case.revoke_consent(c.RevokeConsent(case.case_id, case.consents[0].consent_id, TODAY), CM, later(5))
    assert "widerrufen" in release_verdict(COORDINATION, case, TODAY).reason


def test_several_roles_add_up() -> None:
    case = make_case(CaseStatus.IN_REVIEW)
    actor = make_actor(("clerk", "data_protection_officer"), OWNER)
    assert can(actor, A.READ_AUDIT, case) and not can(actor, A.READ_CASE, case)


def test_unknown_roles_grant_nothing() -> None:
    assert not can(make_actor(("admin", "superuser"), OWNER), A.READ_CASE, make_case(CaseStatus.IN_REVIEW))


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
