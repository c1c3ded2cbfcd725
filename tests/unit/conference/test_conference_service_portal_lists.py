"""The two lists the portal opens pages from (issue 16), on the in-memory fake: an invited case
manager or Integrationslots*in lists the Fallkonferenzen that invite her (by person, or her
organisation as a non-guest participant; a same-named user elsewhere sees none), and the readers
of the Lenkungsgruppe list the node's koordinierende Stelle's Lenkungsgruppen."""

from __future__ import annotations

from datetime import timedelta

import pytest

from kimnetz.errors import PermissionDenied
from services.conference.domain.fallkonferenz import Fallkonferenz, Participant
from services.conference.domain.vocabulary import ConferenceStatus, ParticipantRole
from tests.unit.conference.factories import CONFERENCE_START, KI, make_participants
from tests.unit.conference.service_fixtures import (
    CASE_MANAGER,
    CLERK,
    KOORD,
    OTHER_KOORD,
    OnFake,
    actor,
    on_fake,
)

LOTSIN = actor("lotsin-abh", "abh-mettmann", "immigration_liaison")
ABH_COLLEAGUE = actor("lotsin-2", "abh-mettmann", "immigration_liaison")


def scheduled(fake: OnFake, days: int, participants: list[Participant]) -> Fallkonferenz:
    return fake.services.fallkonferenzen.schedule_conference(
        KOORD, starts_at=CONFERENCE_START + timedelta(days=days), place="Kreishaus", video_link="",
        participants=participants)


def test_an_invited_person_lists_the_conferences_that_invite_her_latest_first() -> None:
    fake = on_fake()
    first = scheduled(fake, 0, make_participants())
    later = scheduled(fake, 7, make_participants())
    without_abh = scheduled(fake, 3, [p for p in make_participants() if p.organisation != "abh-mettmann"])
    listed = fake.services.fallkonferenzen.list_invited_conferences(
        LOTSIN, status=None, page_size=0, page_token="")
    assert [c.conference_id for c in listed] == [later.conference_id, first.conference_id]
    assert without_abh.conference_id not in {c.conference_id for c in listed}
    # Her organisation is invited: a colleague of the ABH lists the same conferences.
    colleague = fake.services.fallkonferenzen.list_invited_conferences(
        ABH_COLLEAGUE, status=None, page_size=1, page_token="")
    assert [c.conference_id for c in colleague] == [later.conference_id] and colleague.next_page_token


def test_a_guest_invites_only_herself_and_a_same_named_stranger_sees_nothing() -> None:
    fake = on_fake()
    guest = Participant("gast-1", "Gast Jobcenter", ParticipantRole.GUEST, "jobcenter-me")
    conference = scheduled(fake, 0, [*make_participants(), guest])
    lists = fake.services.fallkonferenzen.list_invited_conferences
    assert [c.conference_id for c in lists(actor("gast-1", "jobcenter-me", "case_manager"), status=None,
                                           page_size=0, page_token="")] == [conference.conference_id]
    assert list(lists(actor("gast-2", "jobcenter-me", "case_manager"), status=None, page_size=0,
                      page_token="")) == []
    assert list(lists(actor("lotsin-abh", "abh-anderswo", "immigration_liaison"), status=None, page_size=0,
                      page_token="")) == []


def test_the_invitation_list_filters_by_status_and_refuses_who_never_takes_part() -> None:
    fake = on_fake()
    conference = scheduled(fake, 0, make_participants())
    lists = fake.services.fallkonferenzen.list_invited_conferences
    assert [c.conference_id for c in lists(CASE_MANAGER, status=ConferenceStatus.PLANNED, page_size=0,
                                           page_token="")] == [conference.conference_id]
    assert list(lists(CASE_MANAGER, status=ConferenceStatus.CLOSED, page_size=0, page_token="")) == []
    with pytest.raises(PermissionDenied):
        lists(CLERK, status=None, page_size=0, page_token="")


def test_the_stelle_s_lenkungsgruppen_are_listed_for_their_readers_only() -> None:
    fake = on_fake()
    second = fake.services.lenkungsgruppen.create_lenkungsgruppe(KOORD, "Lenkungsgruppe B")
    first = fake.services.lenkungsgruppen.create_lenkungsgruppe(KOORD, "Lenkungsgruppe A")
    fake.services.lenkungsgruppen.create_lenkungsgruppe(OTHER_KOORD, "anderswo")
    expected = sorted([first.gremium_id, second.gremium_id])
    for reader in (KOORD, CLERK, actor("lenkung-1", "jobcenter-me", "steering_member")):
        listed = fake.services.lenkungsgruppen.list_lenkungsgruppen(reader, page_size=0, page_token="")
        assert [g.gremium_id for g in listed] == expected
        assert {g.coordination_org for g in listed} == {KI}
    page = fake.services.lenkungsgruppen.list_lenkungsgruppen(KOORD, page_size=1, page_token="")
    assert len(page) == 1 and page.next_page_token
    for refused in (OTHER_KOORD, CASE_MANAGER):
        with pytest.raises(PermissionDenied):
            fake.services.lenkungsgruppen.list_lenkungsgruppen(refused, page_size=0, page_token="")
