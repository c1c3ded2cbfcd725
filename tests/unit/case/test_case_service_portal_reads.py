"""What the portal's case pages need of the service layer beyond the case work itself (issue 16),
on the in-memory fake: the live Zielgruppen check of a Fallvorschlag being entered
(`Zielgruppen.check_eligibility`, rpc CheckEligibility) and "Wer hat diesen Fall eingesehen", the
case's own audit entries for who works the case (`Datenschutz.list_audit_entries` with a case)."""

from __future__ import annotations

import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from kimnetz.errors import InvalidArgument, NotFound, PermissionDenied
from services.case.composition import CaseServices, case_services
from services.case.domain.vocabulary import CaseStatus
from tests.support.fakes.case import InMemoryCaseRepository

sys.path.insert(0, str(Path(__file__).resolve().parent))
from case_factories import (
    CM,
    COORDINATOR,
    OWNER,
    birth_date_for_age,
    later,
    make_actor,
    make_case_with_person,
    make_person_data,
)

DPO = make_actor(("data_protection_officer",), OWNER, "dsb-hilden")
CLERK = make_actor(("clerk",), OWNER, "buero-hilden")
STADT_CM = make_actor(("case_manager",), "stadt-hilden", "fm-stadt")


class Ticking:
    def __init__(self) -> None:
        self.now = later(60)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


@pytest.fixture
def cases() -> InMemoryCaseRepository:
    return InMemoryCaseRepository("hilden-node")


@pytest.fixture
def service(cases: InMemoryCaseRepository) -> CaseServices:
    return case_services(cases, node_org=OWNER, clock=Ticking())


def calls(cases: InMemoryCaseRepository) -> list[tuple[str, str, bool]]:
    return [(e.call, e.actor_subject, e.allowed) for e in cases.audit_entries(limit=0)]


# -- live Zielgruppen check ----------------------------------------------------------------------

def test_the_live_check_needs_no_name_and_stores_nothing(service: CaseServices,
                                                         cases: InMemoryCaseRepository) -> None:
    data = make_person_data(given_name="", family_name="", nationalities=(), email="kein-mail",
                            birth_date=birth_date_for_age(34))
    result = service.zielgruppen.check_eligibility(CM, data)
    assert result.matched == ("geduldete_gestattete_ueber_27",)
    assert "Geduldete und Gestattete älter als 27 Jahre" in result.summary()
    assert calls(cases) == [] and cases.audit_entries(limit=0) == []


def test_the_live_check_gives_german_reasons(service: CaseServices) -> None:
    result = service.zielgruppen.check_eligibility(CM, make_person_data(birth_date=birth_date_for_age(25)))
    assert not result.eligible
    reasons = {m.key: m.reasons for m in result.mismatches}
    assert reasons["geduldete_gestattete_ueber_27"] == ("Alter 25 Jahre, erforderlich ist mindestens 28.",)
    assert result.summary().startswith("Keine Zielgruppe trifft zu:")


def test_the_live_check_reports_what_it_reads_as_german_field_violations(service: CaseServices) -> None:
    with pytest.raises(InvalidArgument) as raised:
        service.zielgruppen.check_eligibility(CM, make_person_data(birth_date=None, country_of_origin="",
                                                                   residence_kind=""))
    fields = {v.field for v in raised.value.violations}
    assert {"person.birth_date", "person.country_of_origin", "person.residence.kind"} <= fields
    assert "person.given_name" not in fields


def test_the_live_check_is_for_who_may_propose(service: CaseServices, cases: InMemoryCaseRepository) -> None:
    with pytest.raises(PermissionDenied):
        service.zielgruppen.check_eligibility(CLERK, make_person_data())
    assert calls(cases) == [("CheckEligibility", CLERK.subject, False)]


# -- Wer hat diesen Fall eingesehen ----------------------------------------------------------------

def test_a_case_manager_reads_the_entries_of_an_own_case(service: CaseServices,
                                                          cases: InMemoryCaseRepository) -> None:
    case, person = make_case_with_person(CaseStatus.PLANNING)
    cases.add(case, person)
    other, other_person = make_case_with_person(CaseStatus.PROPOSED)
    cases.add(other, other_person)
    service.falldaten.get_person(CM, case.case_id, "Hausbesuch vorbereiten")
    service.falldaten.get_case(CM, other.case_id, "Fallbearbeitung")
    entries = service.datenschutz.list_audit_entries(CM, case.case_id)
    assert {e.case_id for e in entries} == {case.case_id}
    assert ("GetPerson", "Hausbesuch vorbereiten") in [(e.call, e.purpose) for e in entries]
    last = cases.audit_entries(limit=0)[-1]
    assert (last.call, last.case_id, last.purpose, last.allowed) == (
        "ListAuditEntries", case.case_id, "Wer hat diesen Fall eingesehen", True)


def test_a_foreign_or_missing_case_answers_alike(service: CaseServices,
                                                 cases: InMemoryCaseRepository) -> None:
    case, person = make_case_with_person(CaseStatus.IN_REVIEW)
    cases.add(case, person)
    with pytest.raises(NotFound) as foreign:
        service.datenschutz.list_audit_entries(STADT_CM, case.case_id)
    with pytest.raises(NotFound) as missing:
        service.datenschutz.list_audit_entries(CM, "f" * 32)
    assert str(foreign.value) == str(missing.value)
    # Even the koordinierende Stelle, which may read the case with consent, reads no trail of it.
    with pytest.raises(NotFound):
        service.datenschutz.list_audit_entries(COORDINATOR, case.case_id)
    refused = [(c, s) for c, s, allowed in calls(cases) if not allowed]
    assert refused == [("ListAuditEntries", STADT_CM.subject), ("ListAuditEntries", CM.subject),
                       ("ListAuditEntries", COORDINATOR.subject)]


def test_the_whole_trail_stays_the_data_protection_officers(service: CaseServices,
                                                             cases: InMemoryCaseRepository) -> None:
    case, person = make_case_with_person(CaseStatus.PLANNING)
    cases.add(case, person)
    with pytest.raises(PermissionDenied):
        service.datenschutz.list_audit_entries(CM)
    assert service.datenschutz.list_audit_entries(DPO)
    # The officer also reads the entries of a case id the store no longer holds (here only the
    # entry of this very reading, written before the answer).
    [entry] = service.datenschutz.list_audit_entries(DPO, "f" * 32)
    assert (entry.call, entry.actor_subject, entry.purpose) == (
        "ListAuditEntries", DPO.subject, "Datenschutzkontrolle")


# -- consents in the audit trail (the data protection officer's page) ------------------------------

def test_consents_and_revocations_are_named_in_the_audit_trail(service: CaseServices,
                                                               cases: InMemoryCaseRepository) -> None:
    from datetime import date

    from services.case.domain import commands as c

    case, person = make_case_with_person(CaseStatus.PROPOSED)
    cases.add(case, person)
    recorded = service.einwilligungen.record_consent(CM, c.RecordConsent(
        case.case_id, "einwilligung", "kreis-mettmann-abh", ("fallkonferenz",), ("falldokumentation",),
        date(2026, 3, 4), date(2027, 3, 3)))
    consent_id = recorded.consents[-1].consent_id
    service.einwilligungen.revoke_consent(CM, c.RevokeConsent(case.case_id, consent_id, date(2026, 3, 4)))
    details = {e.call: e.detail for e in cases.audit_entries(case.case_id, limit=0)}
    assert details["RecordConsent"] == (
        f"Einwilligung {consent_id} für kreis-mettmann-abh: Beratung in der Fallkonferenz; "
        "Falldokumentation (Bedarfe, Integrationsplan, Verlauf); unterschrieben 04.03.2026 bis 03.03.2027")
    assert details["RevokeConsent"].startswith(f"Widerruf: Einwilligung {consent_id} für kreis-mettmann-abh")
    assert details["RevokeConsent"].endswith("Löschersuchen an kreis-mettmann-abh")
    assert person.given_name not in details["RecordConsent"] + details["RevokeConsent"]
