"""`Lenkungsgruppen`, `Sitzungen` and `Beschlussverfolgung` on the in-memory fake: the
Geschäftsführung (coordinators of the koordinierende Stelle) manages gremium and sessions;
members of the Lenkungsgruppe — organisation AND username — vote; the session is saved before
its Beschluss; Zielgruppen versions continue per Stelle; an overdue Beschluss is reminded once."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from kimnetz.errors import FailedPrecondition, InvalidArgument, PermissionDenied
from services.conference.application import ResultDeclaration, VorlageDraft
from services.conference.domain.lenkungsgruppe import Member
from services.conference.domain.vocabulary import (
    BeschlussStatus,
    DecisionMode,
    DecisionRule,
    VorlageKind,
    VoteChoice,
)
from tests.unit.conference.factories import KI, make_zielgruppen
from tests.unit.conference.service_fixtures import (
    CLERK,
    DUE,
    KOORD,
    OTHER_KOORD,
    actor,
    adopt,
    member,
    on_fake,
    open_session,
)


def test_only_the_stelle_s_coordinators_manage_the_lenkungsgruppe() -> None:
    fake = on_fake()
    gremium = fake.services.lenkungsgruppen.create_lenkungsgruppe(KOORD, "Lenkungsgruppe KIM")
    assert gremium.coordination_org == KI
    for who in (OTHER_KOORD, member(1), CLERK):
        with pytest.raises(PermissionDenied):
            fake.services.lenkungsgruppen.add_member(
                who, gremium.gremium_id, Member("", "x", "X", "org-x", "Leitung"))
    assert fake.repository.gremium(gremium.gremium_id).members == []
    # Reading is open to the Stelle's clerks and steering members.
    assert fake.services.lenkungsgruppen.get_lenkungsgruppe(CLERK, gremium.gremium_id) == gremium
    with pytest.raises(PermissionDenied):
        fake.services.lenkungsgruppen.get_lenkungsgruppe(
            actor("cm-1", KI, "case_manager"), gremium.gremium_id)


def test_the_lenkungsgruppe_is_constituted_with_its_decision_rule() -> None:
    fake = on_fake()
    gremien = fake.services.lenkungsgruppen
    assert gremien.create_lenkungsgruppe(KOORD, "LG").decision_rule is DecisionRule.CONSENSUS
    with pytest.raises(InvalidArgument):
        gremien.create_lenkungsgruppe(KOORD, "LG", decision_rule=DecisionRule.MAJORITY)
    majority = gremien.create_lenkungsgruppe(KOORD, "LG", decision_rule=DecisionRule.MAJORITY,
                                             rules_reference="§ 4 GO")
    assert fake.repository.gremium(majority.gremium_id).rules_reference == "§ 4 GO"


def test_members_vote_identified_by_organisation_and_username() -> None:
    fake = on_fake()
    session, vorlage_id = open_session(fake)
    sitzungen = fake.services.sitzungen
    # A coordinator manages the session but holds no seat; a same-named user elsewhere neither.
    for who in (KOORD, actor("member-1", "org-9", "steering_member")):
        with pytest.raises(PermissionDenied):
            sitzungen.cast_vote(who, session.session_id, vorlage_id, VoteChoice.YES)
    voted = sitzungen.cast_vote(member(1), session.session_id, vorlage_id, VoteChoice.YES)
    assert [(v.member_id, v.cast_by) for v in voted.items[0].votes] == [
        (voted.roster[0].member_id, "member-1")]
    with pytest.raises(FailedPrecondition):  # one vote per seat
        sitzungen.cast_vote(member(1), session.session_id, vorlage_id, VoteChoice.NO)
    assert len(fake.repository.session(session.session_id).items[0].votes) == 1


def test_a_member_cannot_declare_the_result_and_the_coordinator_s_declaration_saves_the_beschluss() -> None:
    fake = on_fake()
    session, vorlage_id = open_session(fake)
    for i in (1, 2):
        fake.services.sitzungen.cast_vote(member(i), session.session_id, vorlage_id,
                                          VoteChoice.YES)
    with pytest.raises(PermissionDenied):
        fake.services.sitzungen.declare_result(
            member(1), session.session_id, ResultDeclaration(vorlage_id, DecisionMode.CONSENSUS))
    concluded, beschluss = fake.services.sitzungen.declare_result(
        KOORD, session.session_id, ResultDeclaration(vorlage_id, DecisionMode.CONSENSUS))
    # Einvernehmen: all three members present take part, not only the two who said so.
    assert beschluss is not None and beschluss.tally.yes == 3
    assert concluded.items[0].beschluss_id == beschluss.beschluss_id
    assert fake.repository.beschluss(beschluss.beschluss_id).due_on == DUE
    assert fake.repository.event_types(beschluss.beschluss_id) == ["kim.conference.v1.BeschlussAdopted"]
    with pytest.raises(FailedPrecondition):  # one result per Vorlage
        fake.services.sitzungen.declare_result(
            KOORD, session.session_id, ResultDeclaration(vorlage_id, DecisionMode.CONSENSUS))
    assert [e.kind for e in fake.repository.events].count("beschluss") == 1


def test_zielgruppen_versions_continue_across_lenkungsgruppen_of_the_stelle() -> None:
    fake = on_fake()
    draft = VorlageDraft(title="Zielgruppen 2025", proposed_wording="Die Zielgruppen sind festgelegt.",
                         kind=VorlageKind.ZIELGRUPPEN, zielgruppen=make_zielgruppen(),
                         responsible_org=KI, responsible_person="koord-1", due_on=DUE)
    first, second = adopt(fake, draft), adopt(fake, draft)  # two Lenkungsgruppen of the same Stelle
    assert first.zielgruppen is not None and second.zielgruppen is not None
    assert (first.zielgruppen.version, second.zielgruppen.version) == (2, 3)
    assert fake.repository.event_types(second.beschluss_id) == [
        "kim.conference.v1.BeschlussAdopted", "kim.conference.v1.ZielgruppenDefined"]


def test_the_responsible_person_of_the_responsible_organisation_tracks_the_beschluss() -> None:
    fake = on_fake()
    beschluss = adopt(fake)
    verfolgung = fake.services.beschlussverfolgung
    for who in (actor("member-2", "org-9", "steering_member"), member(1), OTHER_KOORD):
        with pytest.raises(PermissionDenied):
            verfolgung.update_beschluss_status(
                who, beschluss.beschluss_id, BeschlussStatus.IN_PROGRESS, "")
    tracked = verfolgung.update_beschluss_status(
        member(2), beschluss.beschluss_id, BeschlussStatus.IN_PROGRESS, "begonnen")
    assert tracked.status is BeschlussStatus.IN_PROGRESS and tracked.history[-1].by == "member-2"
    last = fake.repository.event_types(beschluss.beschluss_id)[-1]
    assert last == "kim.conference.v1.BeschlussStatusChanged"


def test_an_overdue_beschluss_is_listed_and_reminded_once_per_due_date() -> None:
    fake = on_fake()
    beschluss = adopt(fake)
    verfolgung = fake.services.beschlussverfolgung
    fake.clock.now = datetime(2025, 7, 5, 8, 0, tzinfo=UTC)
    listed = verfolgung.list_overdue_beschluesse(
        KOORD, beschluss.gremium_id, None, page_size=0, page_token="")
    assert [b.beschluss_id for b in listed] == [beschluss.beschluss_id]
    assert verfolgung.remind_overdue() == [beschluss.beschluss_id]
    assert verfolgung.remind_overdue() == [], "once per due date"
    types = fake.repository.event_types(beschluss.beschluss_id)
    overdue = [t for t in types if t.endswith("BeschlussOverdue")]
    assert len(overdue) == 1
    # A new due date that passes reminds again.
    fake.clock.now = datetime(2025, 7, 6, 8, 0, tzinfo=UTC)
    verfolgung.reschedule_beschluss(KOORD, beschluss.beschluss_id, date(2025, 7, 10), "verschoben")
    fake.clock.now = datetime(2025, 7, 12, 8, 0, tzinfo=UTC)
    assert verfolgung.remind_overdue() == [beschluss.beschluss_id]


def test_beschluesse_are_read_by_the_stelle_and_filtered() -> None:
    fake = on_fake()
    beschluss = adopt(fake)
    verfolgung = fake.services.beschlussverfolgung
    mine = verfolgung.list_beschluesse(CLERK, beschluss.gremium_id, statuses=[BeschlussStatus.OPEN],
                                       responsible_person="member-2", page_size=0, page_token="")
    assert [b.beschluss_id for b in mine] == [beschluss.beschluss_id]
    none = verfolgung.list_beschluesse(CLERK, beschluss.gremium_id, statuses=[BeschlussStatus.IMPLEMENTED],
                                       responsible_person="", page_size=0, page_token="")
    assert list(none) == []
    with pytest.raises(PermissionDenied):
        verfolgung.get_beschluss(actor("cm-1", KI, "case_manager"), beschluss.beschluss_id)
