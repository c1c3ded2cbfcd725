"""The story's scenario file (kimctl/story/scenario.yaml) read into typed values: every enum
name it uses exists (a mistyped one fails when the file is read, not half-way through a demo),
and the people and steps refer to each other consistently."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from kim.case.v1 import types_pb2 as C
from kim.conference.v1 import types_pb2 as KT
from kimctl.story.scenario import SCENARIO_FILE, enum_value, parse, scenario


def raw() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(Path(SCENARIO_FILE).read_text(encoding="utf-8"))
    return loaded


def test_the_scenario_reads_into_the_proto_enums_numbers() -> None:
    story = scenario()
    assert story.persons["stadt"].residence_kind == C.RESIDENCE_STATUS_KIND_DULDUNG
    assert story.proposals["caritas"].rechtskreise == (
        C.RECHTSKREIS_AUFENTHG, C.RECHTSKREIS_SGB_III, C.RECHTSKREIS_ASYLBLG)
    assert story.fallkonferenz.referral.target == KT.REFERRAL_TARGET_MBE
    assert story.projektgruppe.topic == KT.TOPIC_AUSBILDUNG


def test_organisations_and_people_are_resolved_by_their_keys() -> None:
    story = scenario()
    assert story.proposals["pending"].owner is story.actors["caritas_case_manager"]
    assert story.fallkonferenz.admitted_to == story.caritas == "caritas-mettmann"
    assert {m.organisation for m in story.lenkungsgruppe.members} == {
        story.kreis, story.abh, story.stadt, story.caritas, "Jobcenter ME-aktiv",
        "Agentur für Arbeit Mettmann"}
    assert set(story.lenkungsgruppe.present) <= {m.person for m in story.lenkungsgruppe.members}


def test_a_mistyped_enum_name_is_refused_when_the_file_is_read() -> None:
    data = raw()
    data["proposals"]["stadt"]["handlungsfelder"] = ["AUFENTHALT"]
    with pytest.raises(ValueError, match="HANDLUNGSFELD_AUFENTHALT"):
        parse(data)


def test_a_person_nobody_declared_is_refused() -> None:
    data = raw()
    data["proposals"]["stadt"]["person"] = "niemand"
    with pytest.raises(KeyError):
        parse(data)


def test_enum_names_go_without_their_prefix() -> None:
    assert (enum_value(C.ResidenceStatusKind, "AUFENTHALTSERLAUBNIS")
            == C.RESIDENCE_STATUS_KIND_AUFENTHALTSERLAUBNIS)
    assert enum_value(KT.ParticipantRole, "IMMIGRATION_LIAISON") == KT.PARTICIPANT_ROLE_IMMIGRATION_LIAISON


def test_the_story_says_what_a_practitioner_expects() -> None:
    """Issue 14: Geduldete receive AsylbLG (Sozialamt), not SGB II; the current basis of a
    Duldung whose Ausbildungsduldung is not applied for is § 60a; the referral reason does not
    contradict the proposal's Rechtskreise; the Drucksache is signed by the Landrat; the
    Agentur für Arbeit sits in the Lenkungsgruppe, and enough members are present for an
    Einvernehmen that is more than the chair's word."""
    story = scenario()
    for key in ("stadt", "caritas"):
        assert story.persons[key].residence_kind == C.RESIDENCE_STATUS_KIND_DULDUNG
        assert C.RECHTSKREIS_SGB_II not in story.proposals[key].rechtskreise
        assert C.RECHTSKREIS_ASYLBLG in story.proposals[key].rechtskreise
        assert "Jobcenter" not in story.proposals[key].reason
    assert story.persons["caritas"].legal_basis == "§ 60a AufenthG"
    assert "nicht beantragt" in story.proposals["caritas"].reason
    assert "Ein Rechtskreis" not in story.fallkonferenz.referral.reason
    assert story.documents.drucksache["signature"]["function"] in (
        "Landrat", "Landrätin", "Dezernent", "Dezernentin")
    functions = {m.function for m in story.lenkungsgruppe.members}
    assert "Geschäftsführung Agentur für Arbeit" in functions
    voting = [m for m in story.lenkungsgruppe.members if m.voting]
    assert len(set(story.lenkungsgruppe.present) & {m.person for m in voting}) > len(voting) // 2
