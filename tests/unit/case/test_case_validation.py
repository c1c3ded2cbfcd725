"""Bad input: every field checked, German violations, nothing changed on error."""

from __future__ import annotations

from datetime import date

import pytest
from case_factories import CM, NOW, later, make_case, make_person_data, propose, snapshot

from kimnetz.errors import FailedPrecondition, InvalidArgument, NotFound
from services.case.domain import commands as c
from services.case.domain.vocabulary import CaseStatus, Handlungsfeld, Role


def violations(error: pytest.ExceptionInfo[InvalidArgument]) -> dict[str, str]:
    return {v.field: v.description for v in error.value.violations}


def test_birth_date_in_the_future_is_refused_in_german() -> None:
    with pytest.raises(InvalidArgument) as error:
        propose(person=make_person_data(birth_date=date(2026, 3, 5)))
    assert violations(error) == {"person.birth_date": "Das Datum 05.03.2026 liegt in der Zukunft."}


def test_a_proposal_reports_all_problems_at_once() -> None:
    with pytest.raises(InvalidArgument) as error:
        propose(
            reason="", handlungsfelder=("wohnen", "astrologie"), proposer_kind="nachbar",
            owner_org="caritas hilden",
            person=make_person_data(given_name="", nationalities=("Syrien",), residence_kind="visum",
                                    languages=("arabisch",), email="kein-at", household_children=-1,
                                    legal_basis="Duldung"),
        )
    found = violations(error)
    assert set(found) == {
        "reason", "handlungsfelder[1]", "proposer_kind", "owner_org", "person.given_name",
        "person.nationalities[0]", "person.residence.kind", "person.languages[0]",
        "person.contact.email", "person.household.children", "person.residence.legal_basis",
    }
    assert found["reason"] == "Angabe fehlt."
    assert "astrologie" in found["handlungsfelder[1]"]
    assert error.value.message == "Der Fallvorschlag ist unvollständig oder fehlerhaft."


def test_too_long_text_names_the_limit() -> None:
    case = make_case(CaseStatus.ACTIVE)
    with pytest.raises(InvalidArgument) as error:
        case.add_journal_note(c.AddJournalNote(case.case_id, "x" * 4001), CM, later(30))
    assert violations(error) == {"text": "Höchstens 4000 Zeichen erlaubt (angegeben: 4001)."}


def test_control_characters_are_refused() -> None:
    case = make_case(CaseStatus.ACTIVE)
    with pytest.raises(InvalidArgument):
        case.add_journal_note(c.AddJournalNote(case.case_id, "Hallo\x00Welt"), CM, later(30))


def test_umf_flag_needs_a_reception_date_and_a_date_needs_the_flag() -> None:
    with pytest.raises(InvalidArgument) as error:
        propose(person=make_person_data(received_as_umf=True))
    assert "person.umf_received_on" in violations(error)
    with pytest.raises(InvalidArgument):
        propose(person=make_person_data(umf_received_on=date(2020, 1, 1)))


def test_residence_validity_must_not_end_before_it_starts() -> None:
    with pytest.raises(InvalidArgument) as error:
        propose(person=make_person_data(residence_valid_from=date(2026, 5, 1),
                                        residence_valid_until=date(2026, 4, 1)))
    assert set(violations(error)) == {"person.residence.valid_until"}


def test_failed_barrier_leaves_the_case_untouched() -> None:
    case = make_case(CaseStatus.ACTIVE)
    before = snapshot(case)
    with pytest.raises(InvalidArgument) as error:
        case.record_barrier(c.RecordBarrier(case.case_id, (), "bürokratie", ""), CM, later(30))
    assert set(violations(error)) == {"rechtskreise", "category", "description"}
    assert case == before and case.pending_events == []


def test_barrier_is_recorded_with_rechtskreise_and_category() -> None:
    case = make_case(CaseStatus.ACTIVE)
    barrier = case.record_barrier(c.RecordBarrier(
        case.case_id, ("aufenthg", "sgb_iii"), "rechtliche_huerde",
        "Duldung verhindert Zustimmung zur Ausbildung, die die Agentur fördern würde.", "ausbildung"),
        CM, later(30))
    assert barrier.category.label == "rechtliche Hürde"
    [event] = case.collect_events()
    assert type(event).__name__ == "BarrierRecorded"
    assert not hasattr(event, "description")
    escalate = c.ChangeBarrierStatus(case.case_id, barrier.barrier_id, "escalated")
    case.change_barrier_status(escalate, CM, later(31))
    with pytest.raises(FailedPrecondition):
        case.change_barrier_status(escalate, CM, later(32))


def test_closing_needs_an_outcome_for_every_goal_and_only_for_its_goals() -> None:
    case = make_case(CaseStatus.ACTIVE)
    before = snapshot(case)
    with pytest.raises(InvalidArgument) as error:
        case.close(c.CloseCase(case.case_id, "goals_achieved"), CM, later(30))
    assert "Identität klären" in violations(error)["outcomes"]
    with pytest.raises(InvalidArgument) as error:
        case.close(c.CloseCase(case.case_id, "other", outcomes=(
            c.GoalOutcomeInput("fremd", "achieved"), c.GoalOutcomeInput(case.goals[0].goal_id, "super"))),
            CM, later(31))
    assert set(violations(error)) == {"note", "outcomes[0].goal_id", "outcomes[1].outcome"}
    assert case == before


def test_due_dates_in_the_past_are_refused() -> None:
    case = make_case(CaseStatus.PLANNING)
    with pytest.raises(InvalidArgument) as error:
        case.add_goal(c.AddGoal(case.case_id, "Wohnung finden", "wohnen", date(2026, 3, 3)), CM, NOW)
    assert "liegt vor dem 04.03.2026" in violations(error)["due_on"]


def test_unknown_goal_is_not_found() -> None:
    case = make_case(CaseStatus.ACTIVE)
    with pytest.raises(NotFound, match="Ziel nicht gefunden"):
        case.add_step(c.AddStep(case.case_id, "nope", "Termin", "CM"), CM, later(30))


def test_need_recorded_again_for_a_handlungsfeld_replaces_the_earlier() -> None:
    case = make_case(CaseStatus.ASSESSMENT)
    case.record_need(c.RecordNeed(case.case_id, "sprache", "A2", priority="low"), CM, later(30))
    again = c.RecordNeed(case.case_id, "sprache", "B1 für Ausbildung", priority="high")
    case.record_need(again, CM, later(31))
    assert [(n.handlungsfeld, n.need) for n in case.needs] == [(Handlungsfeld.SPRACHE, "B1 für Ausbildung")]
    assert Handlungsfeld.SPRACHE in case.handlungsfelder


def test_every_enum_member_has_a_german_label() -> None:
    from services.case.domain import vocabulary
    enums = [t for t in vars(vocabulary).values()
             if isinstance(t, type) and issubclass(t, vocabulary.Labelled) and t is not vocabulary.Labelled]
    assert len(enums) >= 15
    for enum_type in enums:
        for member in enum_type:
            assert member.label.strip(), member
    assert Role.COORDINATOR.label == "Koordinator*in"
    assert CaseStatus.REFERRED.label == "Verweisberatung"
