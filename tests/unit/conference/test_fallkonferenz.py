"""Fallkonferenz: scheduling, agenda building from proposals and due reviews, decisions and
closing, and that identity never enters without covering consent."""

from __future__ import annotations

import copy
from datetime import date, timedelta

import pytest

from kimnetz.errors import FailedPrecondition, InvalidArgument, NotFound
from kimnetz.validation import format_date
from services.conference.domain import events as ev
from services.conference.domain.fallkonferenz import (
    Decision,
    Fallkonferenz,
    Participant,
    add_months,
    review_horizon,
)
from services.conference.domain.vocabulary import (
    AgendaItemKind,
    CaseStatus,
    ConferenceStatus,
    DecisionKind,
    DecisionReason,
    ParticipantRole,
    ReferralTarget,
    ReviewOutcome,
)
from tests.unit.conference.factories import (
    CONFERENCE_START,
    KI,
    NOW,
    make_brief,
    make_conference,
    make_identity,
    make_participants,
    make_review_brief,
    make_running_conference,
)


def fields(error: InvalidArgument) -> set[str]:
    return {v.field for v in error.violations}


class TestScheduling:
    def test_scheduled_conference_is_planned_and_announced(self) -> None:
        conference = Fallkonferenz.schedule(
            coordination_org=KI, starts_at=CONFERENCE_START, participants=make_participants(),
            scheduled_by="koord-1", now=NOW, video_link="https://video.example.org/fk",
        )
        assert conference.status is ConferenceStatus.PLANNED
        [event] = conference.events
        assert isinstance(event, ev.ConferenceScheduled)
        assert event.participant_orgs == ("abh-mettmann", KI, "stadt-hilden")

    def test_needs_place_or_video_link_a_future_date_and_a_coordinator(self) -> None:
        with pytest.raises(InvalidArgument) as error:
            make_conference(
                place="", starts_at=NOW - timedelta(days=1),
                participants=[Participant("cm", "CM", ParticipantRole.CASE_MANAGER, "stadt-hilden")],
            )
        assert fields(error.value) == {"place", "starts_at", "participants"}
        assert "Vergangenheit" in str(error.value)

    def test_video_link_must_be_https(self) -> None:
        with pytest.raises(InvalidArgument) as error:
            make_conference(place="", video_link="http://insecure.example.org")
        assert fields(error.value) == {"video_link"}

    def test_a_person_is_invited_once(self) -> None:
        participants = make_participants()
        with pytest.raises(InvalidArgument) as error:
            make_conference(participants=[*participants, participants[1]])
        assert fields(error.value) == {"participants[3].person"}


class TestReviewHorizon:
    """Reviews due before the next planned Fallkonferenz belong on this one (Borken: quarterly
    Fallkonferenzen, every active case discussed each quarter)."""

    def test_a_case_reviewed_on_12_march_is_on_the_agenda_of_11_june(self) -> None:
        june = review_horizon(date(2026, 6, 11), date(2026, 9, 10))
        assert june == date(2026, 9, 10)
        reviewed_in_march = add_months(date(2026, 3, 12), 3)  # the case sets it so
        assert reviewed_in_march == date(2026, 6, 12) < june

    def test_a_review_due_on_the_next_conference_day_waits_for_it(self) -> None:
        assert review_horizon(date(2026, 3, 12), date(2026, 6, 11)) == date(2026, 6, 11)

    def test_without_a_later_conference_one_interval_ahead_counts(self) -> None:
        assert review_horizon(date(2026, 3, 12), None) == date(2026, 6, 12)
        assert review_horizon(date(2026, 3, 12), None, interval_months=2) == date(2026, 5, 12)
        assert review_horizon(date(2026, 11, 30), None) == date(2027, 2, 28)
        # An earlier or same-day conference is not the next one.
        assert review_horizon(date(2026, 3, 12), date(2026, 3, 12)) == date(2026, 6, 12)

    def test_an_admitted_case_followed_for_its_reviews_waits_for_its_active_plan(self) -> None:
        conference = make_conference()
        planning = make_brief(status=CaseStatus.PLANNING)
        result = conference.build_agenda([planning], NOW)
        assert result.added == ()
        assert [s.reason for s in result.skipped] == [
            "im Case Management; die Quartalsüberprüfung beginnt mit dem aktiven Integrationsplan"]

    def test_the_agenda_takes_reviews_due_before_the_next_conference(self) -> None:
        conference = make_conference()
        day = CONFERENCE_START.date()
        next_day = day + timedelta(days=91)
        before = make_review_brief(review_due_on=next_day - timedelta(days=1))
        on_it = make_review_brief(review_due_on=next_day)
        overdue = make_review_brief(review_due_on=day - timedelta(days=30))
        result = conference.build_agenda([before, on_it, overdue], NOW, reviews_before=next_day)
        assert result.added == (overdue.case_id, before.case_id)
        assert [s.case_id for s in result.skipped] == [on_it.case_id]


class TestAgenda:
    def test_takes_submitted_proposals_and_due_reviews_and_says_why_others_are_left_out(self) -> None:
        conference = make_conference()
        proposal = make_brief()
        due = make_review_brief(review_due_on=CONFERENCE_START.date())
        # No later Fallkonferenz planned: the next one is assumed a quarter later, and a review
        # due on that day waits for it.
        next_quarter = add_months(CONFERENCE_START.date(), 3)
        not_due = make_review_brief(review_due_on=next_quarter)
        elsewhere = make_brief(coordination_org="ki-rbk")
        closed = make_brief(status=CaseStatus.CLOSED)

        result = conference.build_agenda([due, proposal, not_due, elsewhere, closed], NOW)

        assert result.added == (proposal.case_id, due.case_id)
        assert {s.case_id: s.reason for s in result.skipped} == {
            not_due.case_id: f"Quartalsüberprüfung erst am {format_date(next_quarter)} fällig, "
                              "zur nächsten Fallkonferenz",
            elsewhere.case_id: "an eine andere koordinierende Stelle gerichtet",
            closed.case_id: "Fallstatus „abgeschlossen“ gehört nicht in die Fallkonferenz",
        }
        assert [(i.position, i.kind) for i in conference.agenda] == [
            (1, AgendaItemKind.PROPOSAL), (2, AgendaItemKind.REVIEW),
        ]
        assert conference.status is ConferenceStatus.PREPARED

    def test_an_unsubmitted_proposal_stays_off_the_agenda(self) -> None:
        # The case service applies a decision only to an `in_review` case; a decision on a
        # proposal its case manager has not submitted would be published and then refused.
        conference = make_conference()
        drafted = make_brief(status=CaseStatus.PROPOSED)
        submitted = make_brief(status=CaseStatus.IN_REVIEW)

        result = conference.build_agenda([drafted, submitted], NOW)

        assert result.added == (submitted.case_id,)
        assert {s.case_id: s.reason for s in result.skipped} == {
            drafted.case_id: "Fallvorschlag noch nicht an die koordinierende Stelle übermittelt",
        }
        assert [i.case_id for i in conference.agenda] == [submitted.case_id]

    def test_proposals_come_first_oldest_first_across_case_managers(self) -> None:
        conference = make_conference()
        late = make_brief(proposed_on=date(2025, 2, 25), owner_node="awo-ratingen")
        early = make_brief(proposed_on=date(2025, 1, 5), owner_node="stadt-hilden")
        review = make_review_brief(review_due_on=date(2024, 12, 1))
        conference.build_agenda([review, late, early], NOW)
        assert [i.case_id for i in conference.agenda] == [early.case_id, late.case_id, review.case_id]

    def test_agenda_built_event_lists_cases_with_their_owning_nodes(self) -> None:
        conference = make_conference()
        proposal = make_brief(owner_node="awo-ratingen")
        conference.build_agenda([proposal], NOW)
        [event] = conference.events
        assert isinstance(event, ev.ConferenceAgendaBuilt)
        assert event.entries == (ev.AgendaEntry(proposal.case_id, "awo-ratingen", AgendaItemKind.PROPOSAL),)

    def test_rebuilding_adds_new_cases_and_keeps_existing_items(self) -> None:
        conference = make_conference()
        first = make_brief()
        conference.build_agenda([first], NOW)
        second = make_brief()
        result = conference.build_agenda([first, second], NOW)
        assert result.added == (second.case_id,)
        assert [s.reason for s in result.skipped] == ["steht bereits auf der Tagesordnung"]
        assert [i.position for i in conference.agenda] == [1, 2]

    def test_cannot_be_rebuilt_once_the_conference_runs(self) -> None:
        conference = make_running_conference()
        with pytest.raises(FailedPrecondition, match="vor Beginn"):
            conference.build_agenda([make_brief()], NOW)

    def test_identity_without_covering_consent_is_dropped(self) -> None:
        conference = make_conference()
        foreign = make_brief(identity=make_identity(recipient_org="ki-rbk"))
        other_purpose = make_brief(identity=make_identity(purposes=frozenset({"fallbearbeitung"})))
        expired = make_brief(identity=make_identity(expires_on=date(2025, 3, 9)))
        conference.build_agenda([foreign, other_purpose, expired], NOW)
        assert [i.brief.identity for i in conference.agenda] == [None, None, None]
        assert all(i.brief.pseudonym for i in conference.agenda)

    def test_identity_with_covering_consent_is_kept_with_its_consent_reference(self) -> None:
        conference = make_conference()
        conference.build_agenda([make_brief(identity=make_identity())], NOW)
        identity = conference.agenda[0].brief.identity
        assert identity is not None and identity.consent.consent_id == "consent-1"

    def test_identity_cannot_exist_without_a_consent_reference(self) -> None:
        with pytest.raises(InvalidArgument, match="Einwilligung"):
            make_identity(consent_id="")

    def test_refresh_replaces_the_brief_and_still_filters_identity(self) -> None:
        conference = make_conference()
        brief = make_brief()
        conference.build_agenda([brief], NOW)
        fresh = make_brief(case_id=brief.case_id, pseudonym=brief.pseudonym,
                           rechtskreise=(), identity=make_identity(recipient_org="elsewhere"))
        conference.refresh_brief(fresh)
        assert conference.agenda[0].brief.rechtskreise == ()
        assert conference.agenda[0].brief.identity is None

    def test_refresh_of_a_case_not_on_the_agenda_is_not_found(self) -> None:
        conference = make_running_conference()
        with pytest.raises(NotFound, match="nicht auf der Tagesordnung"):
            conference.refresh_brief(make_brief())


class TestDecisions:
    def test_admission_assigns_organisation_and_case_manager(self) -> None:
        brief = make_brief(owner_node="awo-ratingen", owner_org="awo")
        conference = make_running_conference(brief)
        event = conference.decide(brief.case_id, Decision.admission("awo", "cm-ratingen"),
                                  decided_by="koord-1", now=CONFERENCE_START)
        assert isinstance(event, ev.CaseAdmissionDecided)
        assert (event.case_manager_org, event.case_manager, event.owner_node) == ("awo", "cm-ratingen",
                                                                                  "awo-ratingen")
        assert event.pseudonym == brief.pseudonym
        assert "Fallkonferenz" in event.decision_reference
        assert conference.events == [event]
        assert conference.item(brief.case_id).decision is not None

    def test_referral_names_the_target_service(self) -> None:
        brief = make_brief()
        conference = make_running_conference(brief)
        event = conference.decide(brief.case_id, Decision.referral(ReferralTarget.JMD),
                                  decided_by="koord-1", now=CONFERENCE_START)
        assert isinstance(event, ev.CaseReferralDecided)
        assert event.target is ReferralTarget.JMD
        assert event.target_name == "Jugendmigrationsdienst (JMD)"

    def test_referral_to_another_regeldienst_needs_its_name(self) -> None:
        brief = make_brief()
        conference = make_running_conference(brief)
        with pytest.raises(InvalidArgument) as error:
            conference.decide(brief.case_id, Decision.referral(ReferralTarget.OTHER),
                              decided_by="koord-1", now=CONFERENCE_START)
        assert fields(error.value) == {"decision.referral_service"}

    def test_deferral_and_rejection_need_a_reason(self) -> None:
        a, b = make_brief(), make_brief()
        conference = make_running_conference(a, b)
        with pytest.raises(InvalidArgument):
            conference.decide(a.case_id, Decision.deferral(""), decided_by="koord-1", now=CONFERENCE_START)
        deferred = conference.decide(a.case_id, Decision.deferral("Einwilligung fehlt", date(2025, 6, 1)),
                                     decided_by="koord-1", now=CONFERENCE_START)
        rejected = conference.decide(
            b.case_id, Decision.rejection("nicht komplex", DecisionReason.OTHER_SERVICE_RESPONSIBLE),
            decided_by="koord-1", now=CONFERENCE_START)
        assert isinstance(deferred, ev.CaseDeferralDecided) and deferred.until == date(2025, 6, 1)
        assert deferred.reason is None, "no code chosen: the owning node reads 'see the Protokoll'"
        # The coordinators' wording stays in the record here; the event carries the code only.
        assert isinstance(rejected, ev.CaseRejectionDecided)
        assert rejected.reason is DecisionReason.OTHER_SERVICE_RESPONSIBLE
        assert "nicht komplex" not in repr(rejected)
        [item] = [i for i in conference.agenda if i.case_id == b.case_id]
        assert item.decision is not None and item.decision.reason == "nicht komplex"

    @pytest.mark.parametrize("outcome", [ReviewOutcome.CONTINUE, ReviewOutcome.CLOSURE_RECOMMENDED])
    def test_review_outcome_for_an_active_case(self, outcome: ReviewOutcome) -> None:
        brief = make_review_brief()
        conference = make_running_conference(brief)
        event = conference.decide(brief.case_id, Decision.review(outcome), decided_by="koord-1",
                                  now=CONFERENCE_START)
        assert isinstance(event, ev.CaseReviewDecided) and event.outcome is outcome

    def test_round_table_names_the_offices_to_invite(self) -> None:
        brief = make_review_brief()
        conference = make_running_conference(brief)
        with pytest.raises(InvalidArgument) as error:
            conference.decide(brief.case_id, Decision.review(ReviewOutcome.ROUND_TABLE, (" ",)),
                              decided_by="koord-1", now=CONFERENCE_START)
        assert fields(error.value) == {"decision.offices_to_invite"}
        event = conference.decide(
            brief.case_id, Decision.review(ReviewOutcome.ROUND_TABLE, ("Agentur für Arbeit", " ABH ")),
            decided_by="koord-1", now=CONFERENCE_START,
        )
        assert isinstance(event, ev.CaseReviewDecided)
        assert event.offices_to_invite == ("Agentur für Arbeit", "ABH")

    def test_a_proposal_gets_no_review_outcome_and_an_active_case_no_admission(self) -> None:
        proposal, review = make_brief(), make_review_brief()
        conference = make_running_conference(proposal, review)
        with pytest.raises(InvalidArgument) as error:
            conference.decide(proposal.case_id, Decision.review(ReviewOutcome.CONTINUE),
                              decided_by="koord-1", now=CONFERENCE_START)
        assert fields(error.value) == {"decision.kind"}
        with pytest.raises(InvalidArgument):
            conference.decide(review.case_id, Decision.admission("awo", "cm"), decided_by="koord-1",
                              now=CONFERENCE_START)

    def test_decision_for_a_case_not_on_the_agenda_changes_nothing(self) -> None:
        conference = make_running_conference()
        before = copy.deepcopy(conference)
        with pytest.raises(NotFound, match="steht nicht auf der Tagesordnung"):
            conference.decide("case-unknown", Decision.admission("awo", "cm"), decided_by="koord-1",
                              now=CONFERENCE_START)
        assert conference == before and conference.events == []

    def test_decision_before_the_conference_starts_is_refused(self) -> None:
        conference = make_conference()
        brief = make_brief()
        conference.build_agenda([brief], NOW)
        with pytest.raises(FailedPrecondition, match="laufenden"):
            conference.decide(brief.case_id, Decision.admission("awo", "cm"), decided_by="koord-1", now=NOW)

    def test_second_decision_on_the_same_item_is_refused(self) -> None:
        brief = make_brief()
        conference = make_running_conference(brief)
        conference.decide(brief.case_id, Decision.rejection("nicht komplex"), decided_by="koord-1",
                          now=CONFERENCE_START)
        with pytest.raises(FailedPrecondition, match="bereits entschieden"):
            conference.decide(brief.case_id, Decision.admission("awo", "cm"), decided_by="koord-1",
                              now=CONFERENCE_START)
        assert conference.item(brief.case_id).decision.kind is DecisionKind.REJECTION  # type: ignore[union-attr]


class TestClosing:
    def test_closing_freezes_the_record_and_lists_undecided_items(self) -> None:
        decided, undecided = make_brief(), make_brief()
        conference = make_running_conference(decided, undecided)
        conference.decide(decided.case_id, Decision.admission("stadt-hilden", "cm-hilden"),
                          decided_by="koord-1", now=CONFERENCE_START)
        protocol = conference.close(closed_by="koord-1", now=CONFERENCE_START + timedelta(hours=2))
        assert conference.status is ConferenceStatus.CLOSED
        assert [i.decision is not None for i in protocol.items] == [True, False]
        closed = conference.events[-1]
        assert isinstance(closed, ev.ConferenceClosed)
        assert closed.decided_case_ids == (decided.case_id,)
        assert closed.undecided_case_ids == (undecided.case_id,)

    def test_decision_on_a_closed_conference_changes_nothing(self) -> None:
        brief = make_brief()
        conference = make_running_conference(brief)
        conference.close(closed_by="koord-1", now=CONFERENCE_START)
        before = copy.deepcopy(conference)
        with pytest.raises(FailedPrecondition, match="abgeschlossen"):
            conference.decide(brief.case_id, Decision.admission("awo", "cm"), decided_by="koord-1",
                              now=CONFERENCE_START)
        with pytest.raises(FailedPrecondition, match="abgeschlossen"):
            conference.refresh_brief(brief)
        assert conference == before

    def test_only_a_running_conference_is_closed_and_protocol_exists_only_then(self) -> None:
        conference = make_conference()
        with pytest.raises(FailedPrecondition):
            conference.close(closed_by="koord-1", now=NOW)
        with pytest.raises(FailedPrecondition, match="Protokoll"):
            conference.protocol()

    def test_starting_needs_an_agenda(self) -> None:
        with pytest.raises(FailedPrecondition, match="Tagesordnung"):
            make_conference().start(NOW)
