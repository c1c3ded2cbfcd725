"""The case domain's part of the federation: what a peer node may read (policy), the proposal
event as the Fallvorschlag to the Kreis node (consent, brief, owner node), the erase
confirmations of a revoked consent, and audit entries that name a peer node."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from case_factories import (
    ABH,
    CM,
    COORDINATION,
    OWNER,
    TODAY,
    later,
    make_actor,
    make_case,
    make_case_with_person,
    propose,
    record_consent,
)

from kim.case.v1 import events_pb2, types_pb2
from kimnetz.errors import FailedPrecondition, InvalidArgument, NotFound
from services.case import contract
from services.case.domain import commands as c, events as e
from services.case.domain.audit import AuditDraft, seal, verify_chain
from services.case.domain.brief import build_brief
from services.case.domain.case import Case
from services.case.domain.policy import NO_ACCESS, Action, Actor, authorize, can, peer_refusal
from services.case.domain.vocabulary import CaseStatus

KREIS_NODE = Actor.peer("kreis-node", COORDINATION, "district", "koord.kreis")


# -- policy: a peer node acts by its node role -------------------------------------------------

def test_a_district_node_reads_the_brief_of_a_case_proposed_to_its_organisation() -> None:
    case = make_case(CaseStatus.IN_REVIEW)
    assert peer_refusal(KREIS_NODE, Action.READ_BRIEF, case, TODAY) == ""
    authorize(KREIS_NODE, Action.READ_BRIEF, case, on=TODAY)


@pytest.mark.parametrize("action", [a for a in Action if a is not Action.READ_BRIEF], ids=str)
def test_a_district_node_may_do_nothing_else_on_a_case(action: Action) -> None:
    case = make_case(CaseStatus.IN_REVIEW)
    # Answered like a case that does not exist (issue 12, item 8).
    with pytest.raises(NotFound) as refused:
        authorize(KREIS_NODE, action, case, on=TODAY)
    assert refused.value.message == NO_ACCESS


def test_personal_roles_do_not_widen_what_a_peer_node_may_do() -> None:
    case = make_case(CaseStatus.IN_REVIEW)
    with_roles = replace(KREIS_NODE, roles=frozenset({"coordinator"}))
    assert not can(with_roles, Action.READ_CASE, case, on=TODAY)
    assert not can(with_roles, Action.DECIDE, case, on=TODAY)


@pytest.mark.parametrize("role", ["municipality", "welfare_org", ""])
def test_other_node_roles_read_no_brief_and_no_figures(role: str) -> None:
    case = make_case(CaseStatus.IN_REVIEW)
    peer = Actor.peer("other-node", COORDINATION, role, "someone")
    assert "Knotenrolle" in peer_refusal(peer, Action.READ_BRIEF, case, TODAY)
    assert not can(peer, Action.READ_BRIEF, case, on=TODAY)
    assert not can(peer, Action.READ_FIGURES, None, node_org=OWNER, on=TODAY)


def test_a_district_node_reads_the_figures_of_the_node() -> None:
    authorize(KREIS_NODE, Action.READ_FIGURES, None, node_org=OWNER, on=TODAY)


def test_a_case_not_proposed_to_the_peer_organisation_is_refused() -> None:
    case = make_case(CaseStatus.PROPOSED, coordination_org="kreis-viersen")
    record_consent(case, recipient_org=COORDINATION)  # a consent alone shares nothing
    assert "nicht vorgeschlagen" in peer_refusal(KREIS_NODE, Action.READ_BRIEF, case, TODAY)
    owner_node = Actor.peer("hilden-2", OWNER, "district", "x")
    assert "eigene Fall" in peer_refusal(owner_node, Action.READ_BRIEF, case, TODAY)


def test_an_organisation_on_the_access_list_needs_its_own_consent() -> None:
    case = make_case(CaseStatus.IN_REVIEW)  # ABH is a conference member, its consent is missing
    abh_node = Actor.peer("abh-node", ABH, "district", "x")
    assert "Keine Einwilligung" in peer_refusal(abh_node, Action.READ_BRIEF, case, TODAY)
    record_consent(case, recipient_org=ABH)
    assert peer_refusal(abh_node, Action.READ_BRIEF, case, TODAY) == ""


def test_a_revoked_consent_ends_the_briefs_from_the_revocation_day() -> None:
    case = make_case(CaseStatus.IN_REVIEW)
    consent_id = case.consents[0].consent_id
    case.revoke_consent(c.RevokeConsent(case.case_id, consent_id, TODAY), CM, later(30))
    reason = peer_refusal(KREIS_NODE, Action.READ_BRIEF, case, TODAY)
    assert "widerrufen" in reason
    with pytest.raises(NotFound) as refused:
        authorize(KREIS_NODE, Action.READ_BRIEF, case, on=TODAY)
    assert refused.value.message == NO_ACCESS, "the peer never learns why"


def test_a_peer_actor_names_node_organisation_role_and_user() -> None:
    assert (KREIS_NODE.subject, KREIS_NODE.organization, KREIS_NODE.node, KREIS_NODE.node_role) == (
        "koord.kreis", COORDINATION, "kreis-node", "district")
    assert KREIS_NODE.is_peer and not CM.is_peer and KREIS_NODE.roles == frozenset()
    assert Actor.peer("kreis-node", COORDINATION, "district").subject == "Knoten kreis-node"


# -- the Fallvorschlag event ------------------------------------------------------------------------

def test_the_proposal_event_names_the_consent_covering_the_conference() -> None:
    case, _ = propose()
    record_consent(case)
    case.collect_events()
    case.submit_for_review(c.SubmitForReview(case.case_id), CM, later(1))
    [event] = case.collect_events()
    assert isinstance(event, e.CaseSubmittedForReview)
    assert event.consent_id == case.consents[0].consent_id
    assert (event.owner_node, event.brief) == ("", None), "added by the service layer and repository"


def test_the_proposal_event_names_no_consent_when_the_owner_coordinates() -> None:
    case, _ = propose(coordination_org=OWNER)
    case.collect_events()
    case.submit_for_review(c.SubmitForReview(case.case_id), CM, later(1))
    [event] = case.collect_events()
    assert isinstance(event, e.CaseSubmittedForReview) and event.consent_id == ""


def test_the_proposal_message_carries_owner_node_and_the_brief_as_get_case_brief_answers() -> None:
    case, person = make_case_with_person(CaseStatus.IN_REVIEW)
    brief = build_brief(case, person, TODAY)
    event = e.CaseSubmittedForReview(case.case_id, case.pseudonym, OWNER, later(1), COORDINATION, (ABH,),
                                     consent_id="k-1", brief=brief)
    message = contract.event_message(event, "hilden-node")
    assert isinstance(message, events_pb2.CaseSubmittedForReview)
    assert (message.owner_node, message.consent_id) == ("hilden-node", "k-1")
    assert message.brief == contract.brief_message(case.case_id, brief)
    assert message.brief.case_id == case.case_id and message.brief.status_label == "in der Fallkonferenz"
    assert message.brief.status == types_pb2.CASE_STATUS_IN_REVIEW
    assert message.brief.age_band == "28 bis 39"
    named = contract.event_message(replace(event, owner_node="elsewhere"), "hilden-node")
    assert named.owner_node == "elsewhere"


def test_the_erase_request_names_everything_a_receiver_needs() -> None:
    case = make_case(CaseStatus.IN_REVIEW)
    consent_id = case.consents[0].consent_id
    case.revoke_consent(c.RevokeConsent(case.case_id, consent_id, TODAY), CM, later(30))
    [event] = case.collect_events()
    message = contract.event_message(event, "hilden-node")
    assert isinstance(message, events_pb2.ConsentRevoked)
    assert (message.case_id, message.pseudonym, message.owner_org, message.owner_node,
            message.consent_id, message.recipient_org) == (
        case.case_id, case.pseudonym, OWNER, "hilden-node", consent_id, COORDINATION)


# -- erase confirmations -------------------------------------------------------------------------

ERASED_AT = datetime(2026, 3, 4, 13, 15, tzinfo=UTC)  # 14:15 in Germany
KREIS_REPORTER = Actor.peer("kreis-node", COORDINATION, "")


def revoked_case() -> tuple[Case, str]:
    case = make_case(CaseStatus.IN_REVIEW)
    consent_id = case.consents[0].consent_id
    case.revoke_consent(c.RevokeConsent(case.case_id, consent_id, TODAY, "schriftlich"), CM, later(30))
    case.collect_events()
    return case, consent_id


def confirmation(case_id: str, consent: str, **overrides: object) -> c.ConfirmErasure:
    values: dict[str, object] = dict(
        case_id=case_id, consent_id=consent, erased_by_node="kreis-node", erased_by_org=COORDINATION,
        erased_at=ERASED_AT, summary="Fallvorschlag und 1 Kurzinformation gelöscht")
    values.update(overrides)
    return c.ConfirmErasure(**values)


def test_a_confirmation_of_the_recipient_is_recorded_on_the_consent_and_in_the_journal() -> None:
    case, consent_id = revoked_case()
    assert case.consents[0].erasure_outstanding
    recorded = case.confirm_erasure(
        confirmation(case.case_id, consent_id), KREIS_REPORTER, later(40))
    consent = case.consents[0]
    assert consent.erasure_confirmations == (recorded,)
    assert (recorded.node, recorded.organization, recorded.erased_at, recorded.recorded_at) == (
        "kreis-node", COORDINATION, ERASED_AT, later(40))
    assert not consent.erasure_outstanding
    assert case.journal[-1].text == (
        f"Löschung bestätigt durch {COORDINATION} (Knoten kreis-node) am 04.03.2026 um 14:15 Uhr: "
        "Fallvorschlag und 1 Kurzinformation gelöscht")
    assert case.journal[-1].author == "Knoten kreis-node"


def test_a_second_node_of_the_recipient_confirms_too_but_no_node_twice() -> None:
    case, consent_id = revoked_case()
    case.confirm_erasure(confirmation(case.case_id, consent_id), KREIS_REPORTER, later(40))
    case.confirm_erasure(confirmation(case.case_id, consent_id, erased_by_node="kreis-2", summary=""),
                         KREIS_REPORTER, later(41))
    assert case.journal[-1].text.endswith("um 14:15 Uhr.")
    with pytest.raises(FailedPrecondition, match="bereits bestätigt"):
        case.confirm_erasure(confirmation(case.case_id, consent_id), KREIS_REPORTER, later(42))
    assert len(case.consents[0].erasure_confirmations) == 2


def test_a_confirmation_works_on_a_closed_case() -> None:
    case = make_case(CaseStatus.CLOSED)
    consent_id = case.consents[0].consent_id
    case.revoke_consent(c.RevokeConsent(case.case_id, consent_id, TODAY), CM, later(30))
    case.confirm_erasure(confirmation(case.case_id, consent_id), KREIS_REPORTER, later(40))
    assert not case.consents[0].erasure_outstanding


@pytest.mark.parametrize(("overrides", "error", "text"), [
    ({"erased_by_org": "caritas-mettmann"}, FailedPrecondition, "keine Löschbestätigung erwartet"),
    ({"consent_id": "unbekannt"}, NotFound, "Einwilligung nicht gefunden"),
    ({"erased_at": None}, InvalidArgument, "unvollständig"),
    ({"erased_by_node": "kein knoten"}, InvalidArgument, "unvollständig"),
])
def test_a_confirmation_that_does_not_fit_is_refused_and_changes_nothing(
        overrides: dict[str, object], error: type[Exception], text: str) -> None:
    case, consent_id = revoked_case()
    journal = list(case.journal)
    with pytest.raises(error, match=text):
        case.confirm_erasure(confirmation(case.case_id, consent_id, **overrides),
                             KREIS_REPORTER, later(40))
    assert case.consents[0].erasure_confirmations == ()
    assert case.journal == journal


def test_a_consent_that_is_not_revoked_asks_for_no_erasure() -> None:
    case = make_case(CaseStatus.IN_REVIEW)
    assert not case.consents[0].erasure_outstanding
    with pytest.raises(FailedPrecondition, match="nicht widerrufen"):
        case.confirm_erasure(confirmation(case.case_id, case.consents[0].consent_id), KREIS_REPORTER,
                             later(40))


def test_the_case_message_shows_confirmations_and_whether_one_is_outstanding() -> None:
    case, consent_id = revoked_case()
    message = contract.case_message(case)
    assert message.consents[0].erasure_outstanding and not message.consents[0].erasure_confirmations
    case.confirm_erasure(confirmation(case.case_id, consent_id), KREIS_REPORTER, later(40))
    message = contract.case_message(case)
    [shown] = message.consents[0].erasure_confirmations
    assert not message.consents[0].erasure_outstanding
    assert (shown.node, shown.organization, shown.summary) == (
        "kreis-node", COORDINATION, "Fallvorschlag und 1 Kurzinformation gelöscht")
    assert shown.erased_at.ToDatetime(tzinfo=UTC) == ERASED_AT


# -- audit entries naming a peer node --------------------------------------------------------------

def draft(node: str = "") -> AuditDraft:
    return AuditDraft(occurred_at=later(1), actor_subject="koord.kreis", actor_org=COORDINATION,
                      actor_roles=("district",), case_id="c-1", call="GetCaseBriefs",
                      purpose="Fallkonferenz", allowed=True, actor_node=node)


def test_an_entry_without_node_is_hashed_as_before_the_field_existed() -> None:
    entry = seal(draft(), None)
    assert b"actor_node" not in entry.canonical()
    assert b'"actor_node":"kreis-node"' in seal(draft("kreis-node"), None).canonical()


def test_the_peer_node_of_an_entry_cannot_be_changed_unnoticed() -> None:
    first = seal(draft("kreis-node"), None)
    second = seal(draft(), first)
    assert verify_chain([first, second]).intact
    forged = replace(first, actor_node="other-node")
    result = verify_chain([forged, second])
    assert not result.intact and result.first_broken_sequence == 1
    dropped = replace(first, actor_node="")
    assert not verify_chain([dropped, second]).intact


def test_an_unknown_actor_gets_no_access_on_a_case_without_peer_fields() -> None:
    stranger = make_actor(("coordinator",), "awo-ratingen")
    assert not stranger.is_peer
    assert not can(stranger, Action.READ_BRIEF, make_case(CaseStatus.IN_REVIEW), on=TODAY)
