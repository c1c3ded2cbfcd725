"""Lenkungsgruppe: members, quorum, votes, Beschlüsse and Zielgruppen decisions."""

from __future__ import annotations

import copy
from datetime import date, timedelta

import pytest

from kimnetz.errors import FailedPrecondition, InvalidArgument, NotFound, PermissionDenied
from services.conference import codec
from services.conference.domain import events as ev
from services.conference.domain.lenkungsgruppe import Deputy, Lenkungsgruppe, PersonKey
from services.conference.domain.sitzung import Sitzung
from services.conference.domain.vocabulary import (
    BeschlussStatus,
    DecisionMode,
    DecisionRule,
    SessionStatus,
    VorlageKind,
    VorlageStatus,
    VoteChoice,
)
from services.conference.domain.zielgruppen import SHIPPED_VERSION
from tests.unit.conference.factories import (
    NOW,
    make_gremium,
    make_majority_session,
    make_open_session,
    make_vorlage,
    make_zielgruppen,
)


def who(person: str) -> dict[str, str]:
    """The person as the session knows them: the factory's member-i and deputy-i are of org-i,
    advisors of the caritas; anyone else of an unrelated organisation."""
    number = person.rpartition("-")[2]
    organisation = "caritas" if person.startswith("advisor") else (
        f"org-{number}" if person.startswith(("member", "deputy")) else "org-x")
    return {"person": person, "organisation": organisation}


def vote_all(session: Sitzung, vorlage_id: str, choices: dict[str, VoteChoice]) -> None:
    for person, choice in choices.items():
        session.cast_vote(vorlage_id, **who(person), choice=choice, now=NOW)


class TestMembers:
    def test_a_person_sits_once_as_member_or_deputy(self) -> None:
        gremium = make_gremium(voting=2)
        with pytest.raises(InvalidArgument, match="nicht aufgenommen"):
            gremium.add_member(person="deputy-1", name="X", organisation="org-1", function="GF")
        with pytest.raises(InvalidArgument):
            gremium.add_member(person="new", name="X", organisation="jc", function="GF",
                               deputy=Deputy("member-2", "M2", "org-2"))
        with pytest.raises(InvalidArgument):
            gremium.appoint_deputy("m1", Deputy("member-1", "selbst"))
        assert len(gremium.members) == 3

    def test_a_same_named_user_of_another_organisation_is_another_person(self) -> None:
        gremium = make_gremium(voting=2)
        gremium.add_member(person="member-1", name="Namensvetterin", organisation="jc", function="GF",
                           member_id="jc1")
        assert {m.key for m in gremium.members if m.person == "member-1"} == {
            PersonKey("org-1", "member-1"), PersonKey("jc", "member-1")}
        session = make_open_session(gremium=gremium, present=set())
        with pytest.raises(InvalidArgument, match="mehrdeutig"):
            session.record_attendance({"member-1"})
        session.record_attendance(attendees={PersonKey("jc", "member-1"), PersonKey("org-2", "member-2")})
        # Only the Jobcenter's member-1 is present: org-1's seat stays unrepresented.
        assert session.quorum().represented == 2
        with pytest.raises(FailedPrecondition, match="nicht als anwesend"):
            session.cast_vote(session.items[0].vorlage.vorlage_id, person="member-1", organisation="org-1",
                              choice=VoteChoice.YES, now=NOW)
        vote = session.cast_vote(session.items[0].vorlage.vorlage_id, person="member-1", organisation="jc",
                                 choice=VoteChoice.YES, now=NOW)
        assert vote.member_id == "jc1"

    def test_a_session_stored_with_bare_usernames_is_read_through_its_roster(self) -> None:
        session = make_open_session()
        stored = codec.encode(session)
        del stored["attendees"]
        old = codec.decode(Sitzung, stored)
        assert old.attendees == [PersonKey(f"org-{i}", f"member-{i}") for i in (1, 2, 3)]

    def test_deputy_can_be_replaced_and_member_removed(self) -> None:
        gremium = make_gremium(voting=2)
        gremium.appoint_deputy("m1", Deputy("new-deputy", "Neue Vertretung"))
        assert gremium.member("m1").deputy == Deputy("new-deputy", "Neue Vertretung")
        gremium.remove_member("m2")
        with pytest.raises(NotFound):
            gremium.member("m2")


class TestQuorum:
    @pytest.mark.parametrize(("present", "reached"), [
        ({"member-1", "member-2"}, False),                       # 2 of 4 is not more than half
        ({"member-1", "member-2", "member-3"}, True),            # 3 of 4
        ({"member-1", "member-2", "deputy-3"}, True),            # a deputy counts for an absent member
        ({"member-1", "deputy-1", "member-2"}, False),           # a seat counts once
        ({"member-1", "member-2", "advisor-1", "guest"}, False),  # no voting right, no seat
    ])
    def test_more_than_half_of_the_voting_seats_must_be_represented(
        self, present: set[str], reached: bool,
    ) -> None:
        session = make_open_session(present=present)
        quorum = session.quorum()
        assert (quorum.voting_seats, quorum.required, quorum.reached) == (4, 3, reached)

    def test_departures_during_the_session_count(self) -> None:
        session = make_open_session()
        assert session.record_attendance({"member-1"}).reached is False

    def test_beschluss_without_quorum_is_refused_and_nothing_changes(self) -> None:
        session = make_open_session(present={"member-1", "member-2"})
        vorlage_id = session.items[0].vorlage.vorlage_id
        vote_all(session, vorlage_id, {"member-1": VoteChoice.YES, "member-2": VoteChoice.YES})
        before = copy.deepcopy(session)
        with pytest.raises(FailedPrecondition, match=r"nicht beschlussfähig: 2 von 4.*erforderlich sind 3"):
            session.conclude(vorlage_id, mode=DecisionMode.CONSENSUS, now=NOW)
        assert session == before and session.events == []


class TestDecisionRule:
    def test_a_lenkungsgruppe_decides_by_einvernehmen_unless_its_geschaeftsordnung_says_otherwise(
        self,
    ) -> None:
        assert make_gremium().decision_rule is DecisionRule.CONSENSUS
        with pytest.raises(InvalidArgument) as refused:
            Lenkungsgruppe.constitute(coordination_org="ki", name="LG", decision_rule=DecisionRule.MAJORITY)
        [violation] = refused.value.violations
        assert violation.field == "rules_reference" and "Geschäftsordnung" in violation.description
        majority = Lenkungsgruppe.constitute(coordination_org="ki", name="LG",
                                             decision_rule=DecisionRule.MAJORITY,
                                             rules_reference=" § 4 Abs. 2 GO ")
        assert (majority.decision_rule, majority.rules_reference) == (DecisionRule.MAJORITY, "§ 4 Abs. 2 GO")

    def test_a_lenkungsgruppe_stored_before_the_rule_decides_by_einvernehmen(self) -> None:
        stored = codec.encode(make_gremium())
        del stored["decision_rule"], stored["rules_reference"]
        assert codec.decode(Lenkungsgruppe, stored).decision_rule is DecisionRule.CONSENSUS


class TestVoting:
    def test_vote_by_a_non_member_is_refused(self) -> None:
        session = make_open_session()
        vorlage_id = session.items[0].vorlage.vorlage_id
        with pytest.raises(PermissionDenied, match="Nur Mitglieder"):
            session.cast_vote(vorlage_id, **who("stranger"), choice=VoteChoice.YES, now=NOW)
        assert session.items[0].votes == []

    def test_member_without_voting_right_cannot_vote(self) -> None:
        session = make_open_session(present={"member-1", "member-2", "member-3", "advisor-1"})
        with pytest.raises(PermissionDenied, match="ohne Stimmrecht"):
            session.cast_vote(session.items[0].vorlage.vorlage_id, **who("advisor-1"),
                              choice=VoteChoice.YES, now=NOW)

    def test_deputy_votes_only_for_an_absent_member(self) -> None:
        session = make_open_session(present={"member-1", "member-2", "deputy-2", "deputy-3"})
        vorlage_id = session.items[0].vorlage.vorlage_id
        with pytest.raises(PermissionDenied, match="selbst anwesend"):
            session.cast_vote(vorlage_id, **who("deputy-2"), choice=VoteChoice.NO, now=NOW)
        vote = session.cast_vote(vorlage_id, **who("deputy-3"), choice=VoteChoice.NO, now=NOW)
        assert (vote.member_id, vote.cast_by) == ("m3", "deputy-3")

    def test_absent_member_cannot_vote_and_a_seat_votes_once(self) -> None:
        session = make_open_session()
        vorlage_id = session.items[0].vorlage.vorlage_id
        with pytest.raises(FailedPrecondition, match="nicht als anwesend"):
            session.cast_vote(vorlage_id, **who("member-4"), choice=VoteChoice.YES, now=NOW)
        session.cast_vote(vorlage_id, **who("member-1"), choice=VoteChoice.YES, now=NOW)
        with pytest.raises(FailedPrecondition, match="bereits abgestimmt"):
            session.cast_vote(vorlage_id, **who("member-1"), choice=VoteChoice.NO, now=NOW)

    def test_vote_in_a_closed_session_changes_nothing(self) -> None:
        session = make_open_session()
        vorlage_id = session.items[0].vorlage.vorlage_id
        session.close(NOW)
        before = copy.deepcopy(session)
        with pytest.raises(FailedPrecondition, match="Sitzung ist geschlossen"):
            session.cast_vote(vorlage_id, **who("member-1"), choice=VoteChoice.YES, now=NOW)
        assert session == before

    def test_vote_before_the_session_is_opened_is_refused(self) -> None:
        gremium = make_gremium()
        session = Sitzung.schedule(gremium, starts_at=NOW + timedelta(days=1), place="Kreishaus", now=NOW)
        session.add_to_agenda(make_vorlage())
        with pytest.raises(FailedPrecondition, match="noch nicht eröffnet"):
            session.cast_vote(session.items[0].vorlage.vorlage_id, **who("member-1"),
                              choice=VoteChoice.YES, now=NOW)

    def test_vote_on_a_vorlage_not_on_the_agenda_is_not_found(self) -> None:
        with pytest.raises(NotFound, match="nicht auf der Tagesordnung"):
            make_open_session().cast_vote("other", **who("member-1"), choice=VoteChoice.YES, now=NOW)


class TestResults:
    def test_where_the_geschaeftsordnung_says_so_more_yes_than_no_adopts_with_owner_and_due_date(
        self,
    ) -> None:
        session = make_majority_session()
        vorlage = session.items[0].vorlage
        vote_all(session, vorlage.vorlage_id, {
            "member-1": VoteChoice.YES, "member-2": VoteChoice.YES, "member-3": VoteChoice.ABSTAIN,
        })
        beschluss = session.conclude(vorlage.vorlage_id, mode=DecisionMode.VOTE, now=NOW,
                                     wording="Geänderter Wortlaut.")
        assert beschluss is not None
        assert (beschluss.wording, beschluss.responsible_org, beschluss.responsible_person,
                beschluss.due_on, beschluss.status) == ("Geänderter Wortlaut.", "abh-mettmann", "member-2",
                                                         date(2025, 6, 30), BeschlussStatus.OPEN)
        [adopted] = beschluss.events
        assert isinstance(adopted, ev.BeschlussAdopted)
        assert (adopted.votes_yes, adopted.votes_no, adopted.votes_abstain) == (2, 0, 1)
        assert session.items[0].status is VorlageStatus.ADOPTED
        assert session.items[0].beschluss_id == beschluss.beschluss_id

    def test_tie_rejects_the_vorlage(self) -> None:
        session = make_majority_session()
        vorlage_id = session.items[0].vorlage.vorlage_id
        vote_all(session, vorlage_id, {"member-1": VoteChoice.YES, "member-2": VoteChoice.NO,
                                       "member-3": VoteChoice.ABSTAIN})
        assert session.conclude(vorlage_id, mode=DecisionMode.VOTE, now=NOW) is None
        assert session.items[0].status is VorlageStatus.REJECTED
        assert isinstance(session.events[-1], ev.VorlageRejected)
        with pytest.raises(FailedPrecondition, match="bereits entschieden"):
            session.conclude(vorlage_id, mode=DecisionMode.VOTE, now=NOW)

    def test_einvernehmen_counts_every_present_seat_and_one_no_stops_it(self) -> None:
        session = make_open_session(vorlagen=[make_vorlage(), make_vorlage()])
        first, second = (i.vorlage.vorlage_id for i in session.items)
        session.cast_vote(first, **who("member-3"), choice=VoteChoice.ABSTAIN, now=NOW)
        beschluss = session.conclude(first, mode=DecisionMode.CONSENSUS, now=NOW)
        assert beschluss is not None and beschluss.mode is DecisionMode.CONSENSUS
        # All three members present take part: two agree, one stands aside; nobody is outvoted.
        [adopted] = beschluss.events
        assert isinstance(adopted, ev.BeschlussAdopted)
        assert (adopted.votes_yes, adopted.votes_no, adopted.votes_abstain) == (2, 0, 1)
        session.cast_vote(second, **who("member-1"), choice=VoteChoice.NO, now=NOW)
        before = copy.deepcopy(session)
        with pytest.raises(FailedPrecondition, match="Kein Einvernehmen: Mitglied 1 widerspricht; die "
                           "Vorlage kann überarbeitet und erneut vorgelegt werden"):
            session.conclude(second, mode=DecisionMode.CONSENSUS, now=NOW)
        assert session == before

    def test_the_chair_alone_carries_nothing_a_majority_vote_needs_the_geschaeftsordnung(self) -> None:
        session = make_open_session()
        vorlage_id = session.items[0].vorlage.vorlage_id
        session.cast_vote(vorlage_id, **who("member-1"), choice=VoteChoice.YES, now=NOW)
        with pytest.raises(FailedPrecondition, match="entscheidet im Einvernehmen ihrer Mitglieder; eine "
                           "Mehrheitsentscheidung sieht ihre Geschäftsordnung nicht vor"):
            session.conclude(vorlage_id, mode=DecisionMode.VOTE, now=NOW)
        assert session.items[0].status is VorlageStatus.PENDING

    def test_a_member_is_not_made_federfuehrend_against_its_own_no(self) -> None:
        session = make_majority_session(vorlagen=[make_vorlage(responsible_org="org-2"),
                                                  make_vorlage(responsible_org="org-2")])
        first, second = (i.vorlage.vorlage_id for i in session.items)
        votes = {"member-1": VoteChoice.YES, "member-2": VoteChoice.NO, "member-3": VoteChoice.YES}
        vote_all(session, first, votes)
        with pytest.raises(FailedPrecondition, match=r"Mitglied 2 \(org-2\) hat mit Nein gestimmt"):
            session.conclude(first, mode=DecisionMode.VOTE, now=NOW)
        assert session.items[0].status is VorlageStatus.PENDING
        # Another organisation may take it on.
        beschluss = session.conclude(first, mode=DecisionMode.VOTE, now=NOW, responsible_org="org-1",
                                     responsible_person="member-1")
        assert beschluss is not None and beschluss.responsible_org == "org-1"
        vote_all(session, second, {"member-1": VoteChoice.YES, "member-2": VoteChoice.YES,
                                   "member-3": VoteChoice.NO})
        assert session.conclude(second, mode=DecisionMode.VOTE, now=NOW) is not None

    def test_the_rule_is_copied_when_the_session_opens(self) -> None:
        gremium = make_gremium(decision_rule=DecisionRule.MAJORITY)
        session = make_open_session(gremium)
        gremium.decision_rule = DecisionRule.CONSENSUS
        assert session.decision_rule is DecisionRule.MAJORITY

    def test_vote_mode_needs_votes(self) -> None:
        session = make_majority_session()
        with pytest.raises(FailedPrecondition, match="noch nicht abgestimmt"):
            session.conclude(session.items[0].vorlage.vorlage_id, mode=DecisionMode.VOTE, now=NOW)

    def test_due_date_in_the_past_is_refused_and_nothing_changes(self) -> None:
        session = make_open_session()
        vorlage_id = session.items[0].vorlage.vorlage_id
        before = copy.deepcopy(session)
        with pytest.raises(InvalidArgument) as error:
            session.conclude(vorlage_id, mode=DecisionMode.CONSENSUS, now=NOW, due_on=date(2025, 3, 2))
        assert [v.field for v in error.value.violations] == ["due_on"]
        assert "02.03.2025" in str(error.value)
        assert session == before

    def test_beschluss_needs_a_responsible_organisation_and_a_due_date(self) -> None:
        session = make_open_session(vorlagen=[make_vorlage(responsible_org="", due_on=None)])
        with pytest.raises(InvalidArgument) as error:
            session.conclude(session.items[0].vorlage.vorlage_id, mode=DecisionMode.CONSENSUS, now=NOW)
        assert {v.field for v in error.value.violations} == {"responsible_org", "due_on"}

    def test_vorlage_with_due_date_in_the_past_cannot_be_drafted(self) -> None:
        with pytest.raises(InvalidArgument, match="Vergangenheit"):
            make_vorlage(due_on=date(2024, 12, 31))

    def test_closing_postpones_what_was_not_decided(self) -> None:
        session = make_open_session(vorlagen=[make_vorlage(), make_vorlage()])
        first, second = (i.vorlage.vorlage_id for i in session.items)
        session.conclude(first, mode=DecisionMode.CONSENSUS, now=NOW)
        session.close(NOW)
        assert session.status is SessionStatus.CLOSED
        closed = session.events[-1]
        assert isinstance(closed, ev.SessionClosed)
        assert (closed.adopted_vorlage_ids, closed.postponed_vorlage_ids) == ((first,), (second,))

    def test_roster_is_fixed_when_the_session_opens(self) -> None:
        gremium = make_gremium()
        session = make_open_session(gremium)
        gremium.add_member(person="late", name="Spät", organisation="jc", function="GF")
        assert session.quorum().voting_seats == 4


class TestZielgruppen:
    def test_adopting_zielgruppen_yields_a_versioned_definition_event(self) -> None:
        vorlage = make_vorlage(kind=VorlageKind.ZIELGRUPPEN, title="Zielgruppen KIM festlegen",
                               zielgruppen=make_zielgruppen())
        session = make_open_session(vorlagen=[vorlage])
        beschluss = session.conclude(vorlage.vorlage_id, mode=DecisionMode.CONSENSUS, now=NOW,
                                     latest_zielgruppen_version=3)
        assert beschluss is not None
        adopted, defined = beschluss.events
        assert isinstance(adopted, ev.BeschlussAdopted) and adopted.kind is VorlageKind.ZIELGRUPPEN
        assert isinstance(defined, ev.ZielgruppenDefined)
        assert defined.catalogue.version == 4
        assert defined.catalogue.decided_on == NOW.date()
        assert beschluss.beschluss_id in defined.catalogue.decision_reference
        assert [d.key for d in defined.catalogue.definitions] == [
            "umf", "geduldete_gestattete_ueber_27", "suedosteuropa", "frauen_beratung",
        ]

    def test_first_decision_follows_the_shipped_default(self) -> None:
        vorlage = make_vorlage(kind=VorlageKind.ZIELGRUPPEN, zielgruppen=make_zielgruppen())
        session = make_open_session(vorlagen=[vorlage])
        beschluss = session.conclude(vorlage.vorlage_id, mode=DecisionMode.CONSENSUS, now=NOW)
        assert beschluss is not None and beschluss.zielgruppen is not None
        assert beschluss.zielgruppen.version == SHIPPED_VERSION + 1

    def test_rejected_zielgruppen_vorlage_defines_nothing(self) -> None:
        vorlage = make_vorlage(kind=VorlageKind.ZIELGRUPPEN, zielgruppen=make_zielgruppen())
        session = make_majority_session(vorlagen=[vorlage])
        vote_all(session, vorlage.vorlage_id, {"member-1": VoteChoice.NO, "member-2": VoteChoice.NO,
                                               "member-3": VoteChoice.YES})
        assert session.conclude(vorlage.vorlage_id, mode=DecisionMode.VOTE, now=NOW) is None
        assert not any(isinstance(e, ev.ZielgruppenDefined) for e in session.events)
