"""The conference validates text with the one validator of kimnetz.validation (issue 13): it
refuses what the case service refuses (control characters) and stores input stripped, where its
own checks once let both through."""

from __future__ import annotations

import pytest

from kimnetz.errors import InvalidArgument
from kimnetz.validation import Violations
from services.conference.domain.fallkonferenz import Fallkonferenz
from services.conference.domain.lenkungsgruppe import Lenkungsgruppe
from services.conference.domain.vocabulary import VorlageKind
from services.conference.domain.vorlage import Beschlussvorlage
from tests.unit.conference.factories import CONFERENCE_START, KI, NOW, make_participants

CONTROL = ["Lenkungsgruppe\x00", "Lenkungs\x07gruppe", "Lenkungsgruppe\rKreis", "\x1bLenkungsgruppe"]


def fields(error: InvalidArgument) -> dict[str, str]:
    return {v.field: v.description for v in error.violations}


def case_refuses(value: str) -> bool:
    """What the case service's domain does with the same text (services/case/domain)."""
    violations = Violations()
    violations.text("name", value)
    return bool(violations)


@pytest.mark.parametrize("name", CONTROL)
def test_the_conference_refuses_control_characters_the_case_service_refuses(name: str) -> None:
    assert case_refuses(name)
    with pytest.raises(InvalidArgument) as caught:
        Lenkungsgruppe.constitute(coordination_org=KI, name=name)
    assert fields(caught.value) == {"name": "Enthält unzulässige Steuerzeichen."}


def test_a_beschlussvorlage_with_a_control_character_in_its_wording_is_refused() -> None:
    with pytest.raises(InvalidArgument) as caught:
        Beschlussvorlage.draft(kind=VorlageKind.GENERAL, title="Sprachkurse", submitted_by="ko",
                               proposed_wording="Die Lenkungsgruppe\x0b beschließt.", now=NOW)
    assert fields(caught.value) == {"proposed_wording": "Enthält unzulässige Steuerzeichen."}


def test_line_breaks_and_tabs_stay_allowed_in_long_text() -> None:
    vorlage = Beschlussvorlage.draft(kind=VorlageKind.GENERAL, title="Sprachkurse", submitted_by="ko",
                                     proposed_wording="1. Kurse\n2.\tKita", now=NOW)
    assert vorlage.proposed_wording == "1. Kurse\n2.\tKita"


def test_the_conference_stores_text_stripped() -> None:
    gremium = Lenkungsgruppe.constitute(coordination_org=f"  {KI} ", name=" Lenkungsgruppe Mettmann\n")
    assert (gremium.coordination_org, gremium.name) == (KI, "Lenkungsgruppe Mettmann")
    conference = Fallkonferenz.schedule(coordination_org=f" {KI}\t", starts_at=CONFERENCE_START,
                                        participants=make_participants(), scheduled_by="ko",
                                        now=NOW, place=" Kreishaus, Raum 2 ")
    assert (conference.coordination_org, conference.place) == (KI, "Kreishaus, Raum 2")


def test_blank_text_is_missing_and_length_counts_without_the_blanks() -> None:
    with pytest.raises(InvalidArgument) as caught:
        Lenkungsgruppe.constitute(coordination_org="   ", name=" " + "x" * 200 + " ")
    assert fields(caught.value) == {"coordination_org": "Angabe fehlt."}
    with pytest.raises(InvalidArgument) as caught:
        Lenkungsgruppe.constitute(coordination_org=KI, name="x" * 201)
    assert fields(caught.value) == {"name": "Höchstens 200 Zeichen erlaubt (angegeben: 201)."}


def test_one_validator_collects_every_violation_before_raising() -> None:
    v = Violations()
    assert v.text("a", " ok ") == "ok"
    v.text("b", "")
    v.key("c", "Nicht-Klein")
    v.identifier("d", "Frau Müller")
    assert [x.field for x in v.items] == ["b", "c", "d"]
    with pytest.raises(InvalidArgument) as caught:
        v.raise_if_any("Ungültig.")
    assert len(caught.value.violations) == 3
