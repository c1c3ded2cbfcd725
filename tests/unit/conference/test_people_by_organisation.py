"""People are identified by organisation AND username in the conference service (issue 12,
item 7): a same-named user of another organisation is never taken for the participant, the
Projektgruppe member or the person a Beschluss is assigned to."""

from __future__ import annotations

import pytest

from kimnetz.errors import InvalidArgument, PermissionDenied
from services.conference.domain.fallkonferenz import Fallkonferenz, Participant
from services.conference.domain.policy import Action, Actor, require
from services.conference.domain.vocabulary import ParticipantRole
from tests.unit.conference.factories import KI, make_beschluss, make_conference

R = ParticipantRole


def conference_with_a_guest() -> Fallkonferenz:
    return make_conference(participants=[
        Participant("koord-1", "Koordinatorin", R.COORDINATOR, KI),
        Participant("lotsin", "Lotsin der ABH", R.GUEST, "abh-mettmann"),
    ])


def test_a_participant_invited_by_person_is_that_person_of_that_organisation() -> None:
    conference = conference_with_a_guest()
    assert conference.is_participant("lotsin", "abh-mettmann")
    assert not conference.is_participant("lotsin", "caritas-mettmann")
    namesake = Actor("lotsin", "caritas-mettmann", frozenset({"immigration_liaison"}))
    with pytest.raises(PermissionDenied):
        require(namesake, Action.READ_CONFERENCE, conference=conference)
    require(Actor("lotsin", "abh-mettmann", frozenset({"immigration_liaison"})), Action.READ_CONFERENCE,
            conference=conference)


def test_the_same_username_may_be_invited_once_per_organisation() -> None:
    conference = make_conference(participants=[
        Participant("koord-1", "Koordinatorin", R.COORDINATOR, KI),
        Participant("a.meier", "Anna Meier", R.CASE_MANAGER, "stadt-hilden"),
        Participant("a.meier", "Axel Meier", R.CASE_MANAGER, "caritas-mettmann"),
    ])
    assert len(conference.participants) == 3
    with pytest.raises(InvalidArgument, match="bereits eingeladen"):
        make_conference(participants=[
            Participant("koord-1", "Koordinatorin", R.COORDINATOR, KI),
            Participant("a.meier", "Anna Meier", R.CASE_MANAGER, "stadt-hilden"),
            Participant("a.meier", "Anna Meier", R.GUEST, "stadt-hilden"),
        ])


def test_a_beschluss_is_tracked_by_its_person_of_the_responsible_organisation_only() -> None:
    beschluss = make_beschluss(responsible_person="l.lenkung", responsible_org="jobcenter-me")
    owner = Actor("l.lenkung", "jobcenter-me", frozenset({"steering_member"}))
    require(owner, Action.TRACK_BESCHLUSS, beschluss=beschluss)
    namesake = Actor("l.lenkung", "caritas-mettmann", frozenset({"steering_member"}))
    with pytest.raises(PermissionDenied):
        require(namesake, Action.TRACK_BESCHLUSS, beschluss=beschluss)
    # Stored without a responsible organisation: the Stelle's own person.
    unnamed = make_beschluss(responsible_person="l.lenkung", responsible_org="")
    require(Actor("l.lenkung", unnamed.coordination_org, frozenset({"steering_member"})),
            Action.TRACK_BESCHLUSS, beschluss=unnamed)
    with pytest.raises(PermissionDenied):
        require(owner, Action.TRACK_BESCHLUSS, beschluss=unnamed)
