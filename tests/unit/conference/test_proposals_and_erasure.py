"""The proposal registry's pure rules (which proposals are open), erasure in a Fallkonferenz
(withdrawn before the decision, details erased after it, a closed record kept), taking a case off
the agenda when its owner no longer releases it, and the erasure's German summary and its single
confirmation."""

from __future__ import annotations

from datetime import timedelta

import pytest

from kimnetz.errors import FailedPrecondition, InvalidArgument
from services.conference import contracts
from services.conference.domain import events as ev
from services.conference.domain.fallkonferenz import Decision, ErasureOutcome
from services.conference.domain.proposals import Erasure, Proposal, admitted_proposals, open_proposals
from services.conference.domain.vocabulary import ConferenceStatus
from tests.unit.conference.factories import (
    CONFERENCE_START,
    KI,
    NOW,
    make_brief,
    make_conference,
    make_identity,
    make_running_conference,
)


def make_proposal(case_id: str = "case-1", hours: int = 0, **overrides: object) -> Proposal:
    fields: dict[str, object] = {
        "case_id": case_id, "owner_node": "stadt-hilden", "owner_org": "stadt-hilden",
        "coordination_org": KI, "pseudonym": f"KIM-{case_id}", "consent_id": "consent-1",
        "submitted_at": NOW + timedelta(hours=hours), "received_at": NOW + timedelta(hours=hours),
    }
    fields.update(overrides)
    return Proposal(**fields)  # type: ignore[arg-type]


class TestOpenProposals:
    def test_the_newest_submission_per_case_oldest_case_first(self) -> None:
        first, resubmitted, other = make_proposal("a", 0), make_proposal("a", 5), make_proposal("b", 1)
        assert open_proposals([resubmitted, other, first], {}) == [other, resubmitted]

    def test_a_decision_since_the_submission_closes_it_an_earlier_one_does_not(self) -> None:
        deferred_then_resubmitted = make_proposal("a", 5)
        decided = make_proposal("b", 0)
        decided_at = {"a": NOW + timedelta(hours=2), "b": NOW + timedelta(hours=1)}
        assert open_proposals([deferred_then_resubmitted, decided], decided_at) == [deferred_then_resubmitted]

    def test_an_admitted_case_is_followed_for_its_reviews_a_referred_or_resubmitted_one_not(self) -> None:
        admitted, referred, resubmitted = make_proposal("a", 0), make_proposal("b", 0), make_proposal("c", 5)
        decided_at = {"a": NOW + timedelta(hours=1), "b": NOW + timedelta(hours=1),
                      "c": NOW + timedelta(hours=1)}
        assert admitted_proposals([admitted, referred, resubmitted], decided_at, {"a", "c"}) == [admitted]

    def test_one_submission_has_one_id_a_new_submission_another(self) -> None:
        assert make_proposal("a", 0).proposal_id == make_proposal("a", 0, received_at=NOW).proposal_id
        assert make_proposal("a", 0).proposal_id != make_proposal("a", 1).proposal_id

    def test_a_proposal_names_its_case_owner_and_pseudonym(self) -> None:
        with pytest.raises(InvalidArgument) as error:
            make_proposal("", owner_node="", pseudonym=" ")
        assert {v.field for v in error.value.violations} == {"case_id", "owner_node", "pseudonym"}


class TestErasureInAFallkonferenz:
    def test_an_undecided_item_leaves_the_agenda_and_the_others_move_up(self) -> None:
        kept, erased, last = make_brief(), make_brief(), make_brief()
        conference = make_conference()
        conference.build_agenda([kept, erased, last], NOW)
        assert conference.erase_case(erased.case_id, NOW) is ErasureOutcome.WITHDRAWN
        assert [(i.position, i.case_id) for i in conference.agenda] == [(1, kept.case_id), (2, last.case_id)]
        # Delivered again: nothing left to erase.
        assert conference.erase_case(erased.case_id, NOW) is ErasureOutcome.ABSENT

    def test_a_decided_item_keeps_pseudonym_and_decision_and_loses_the_details(self) -> None:
        brief = make_brief(identity=make_identity())
        conference = make_running_conference(brief)
        conference.decide(brief.case_id, Decision.rejection("kein Bedarf"), decided_by="koord-1",
                          now=CONFERENCE_START)
        conference.events.clear()
        assert conference.erase_case(brief.case_id, CONFERENCE_START) is ErasureOutcome.DETAILS_ERASED
        item = conference.item(brief.case_id)
        assert (item.brief.pseudonym, item.brief.owner_node, item.decision is not None) == (
            brief.pseudonym, brief.owner_node, True)
        assert (item.brief.age_band, item.brief.zielgruppe, item.brief.handlungsfelder,
                item.brief.rechtskreise, item.brief.identity, item.brief.erased_at) == (
            None, "", (), (), None, CONFERENCE_START)
        assert conference.erase_case(brief.case_id, CONFERENCE_START) is ErasureOutcome.ABSENT
        assert conference.events == []  # erasure is no decision: nothing goes to the owner again
        with pytest.raises(FailedPrecondition, match="gelöscht"):
            conference.refresh_brief(brief)

    def test_a_closed_conference_is_the_frozen_record_and_stays(self) -> None:
        brief = make_brief()
        conference = make_running_conference(brief)
        conference.decide(brief.case_id, Decision.rejection("kein Bedarf"), decided_by="koord-1",
                          now=CONFERENCE_START)
        conference.close(closed_by="koord-1", now=CONFERENCE_START)
        assert conference.erase_case(brief.case_id, CONFERENCE_START) is ErasureOutcome.KEPT_IN_RECORD
        assert conference.item(brief.case_id).brief == brief

    def test_a_case_its_owner_withdrew_leaves_the_agenda_with_the_note(self) -> None:
        kept, withdrawn, new_but_withdrawn = make_brief(), make_brief(), make_brief()
        conference = make_conference()
        conference.build_agenda([kept, withdrawn], NOW)
        result = conference.build_agenda(
            [kept, new_but_withdrawn], NOW,
            {withdrawn.case_id: "Einwilligung widerrufen", new_but_withdrawn.case_id: "abgelaufen"},
        )
        assert [i.case_id for i in conference.agenda] == [kept.case_id]
        assert {(s.case_id, s.reason) for s in result.skipped} >= {
            (withdrawn.case_id, "Einwilligung widerrufen"), (new_but_withdrawn.case_id, "abgelaufen")}
        assert result.added == () and conference.status is ConferenceStatus.PREPARED


def make_erasure(**counts: int) -> Erasure:
    return Erasure(
        erasure_id=Erasure.id_for("case-1", "consent-1"), case_id="case-1", pseudonym="KIM-ABC",
        owner_node="stadt-hilden-node", owner_org="stadt-hilden", consent_id="consent-1",
        coordination_org=KI, erased_by_node="kreis-node", requested_at=NOW, **counts,
    )


class TestErasureConfirmation:
    @pytest.mark.parametrize(("counts", "summary"), [
        ({"proposals": 1, "withdrawn": 1}, "1 Fallvorschlag und 1 Kurzinformation gelöscht."),
        ({"proposals": 2}, "2 Fallvorschläge gelöscht."),
        ({}, "Keine Daten des Falls unter dieser Einwilligung gespeichert; nichts zu löschen."),
        ({"proposals": 1, "withdrawn": 1, "details_erased": 1, "kept_in_records": 2},
         "1 Fallvorschlag und 2 Kurzinformationen gelöscht; zu 1 bereits getroffenen Entscheidung "
         "bleiben Pseudonym und Entscheidung erhalten; im Protokoll von 2 abgeschlossenen "
         "Fallkonferenzen bleibt der Fall mit Pseudonym und Entscheidung unverändert."),
    ])
    def test_the_summary_says_in_german_what_was_erased_and_what_stays(
        self, counts: dict[str, int], summary: str
    ) -> None:
        assert make_erasure(**counts).summary == summary

    def test_confirmed_once_with_the_owner_and_the_eraser(self) -> None:
        erasure = make_erasure(proposals=1)
        erasure.confirm(NOW)
        [event] = erasure.events
        assert isinstance(event, ev.CaseDataErased)
        message = contracts.to_message(event)
        assert (message.case_id, message.owner_node, message.owner_org, message.consent_id,  # type: ignore[attr-defined]
                message.erased_by_node, message.erased_by_org, message.summary) == (  # type: ignore[attr-defined]
            "case-1", "stadt-hilden-node", "stadt-hilden", "consent-1", "kreis-node", KI,
            "1 Fallvorschlag gelöscht.")
        assert message.erased_at.ToDatetime().replace(tzinfo=NOW.tzinfo) == NOW  # type: ignore[attr-defined]
        with pytest.raises(FailedPrecondition):
            erasure.confirm(NOW)
        assert len(erasure.events) == 1
