"""One rule for the identifiers the case and conference services hand each other (issue 12):
the conference accepts an admission's case manager and organisation exactly when the case
service would accept them for `AdmitCase`."""

from __future__ import annotations

from datetime import date

import pytest

from kimnetz import identifiers
from kimnetz.errors import InvalidArgument
from kimnetz.validation import Violations
from services.conference.domain.fallkonferenz import AgendaItemKind, Decision

SAMPLES = [
    "cm.hilden", "stadt-hilden", "user@example.org", "a", "A1", "0f3c2e9a-1b2c-4d5e-8f90-123456789abc",
    " cm.hilden ", "", "   ", "cm hilden", "Frau Müller", "-cm", ".cm", "x" * 128, "x" * 129,
    "cm/hilden", "cm\nhilden", "ümlaut", "case:42", "kim_user",
]


def case_accepts(value: str) -> bool:
    violations = Violations()
    violations.identifier("case_manager", value)
    return not violations


def conference_accepts(case_manager: str, assigned_org: str = "stadt-hilden") -> bool:
    try:
        Decision.admission(assigned_org, case_manager).validate(AgendaItemKind.PROPOSAL, date(2026, 3, 4))
    except InvalidArgument:
        return False
    return True


@pytest.mark.parametrize("value", SAMPLES)
def test_the_conference_accepts_a_case_manager_exactly_when_the_case_service_does(value: str) -> None:
    assert conference_accepts(value) == case_accepts(value) == (identifiers.problem(value) is None)


@pytest.mark.parametrize("value", SAMPLES)
def test_the_conference_accepts_an_assigned_organisation_exactly_as_the_case_service(value: str) -> None:
    assert conference_accepts("cm.hilden", value) == case_accepts(value)


def test_the_rule_refuses_what_led_to_issue_12_and_keeps_what_both_stored_before() -> None:
    assert not conference_accepts("Frau Müller"), "a display name is not a user id"
    assert conference_accepts("cm.hilden") and case_accepts("cm.hilden")
    stored = Decision.admission(" stadt-hilden ", " cm.hilden ")
    assert (stored.assigned_org, stored.case_manager) == ("stadt-hilden", "cm.hilden"), \
        "stored as the case service stores it"
