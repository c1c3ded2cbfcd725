"""UpdatePerson on the aggregate: validated as a whole, nothing changed on error, eligibility
re-checked against the current Zielgruppen version; re-check of undecided proposals on a new
version."""

from __future__ import annotations

import pytest
from case_factories import CM, NOW, later, make_case_with_person, make_person_data, snapshot

from kimnetz.errors import FailedPrecondition, InvalidArgument
from services.case.domain import commands as c, events as e
from services.case.domain.person import Person, PersonData
from services.case.domain.vocabulary import CaseStatus, ResidenceStatusKind
from services.case.domain.zielgruppen import METTMANN_V1, ZielgruppeDefinition, ZielgruppenCatalogue

#: A later Lenkungsgruppe decision: only Geduldete, from 25 on.
V2 = ZielgruppenCatalogue(version=2, decided_on=None, decision_reference="Lenkungsgruppe 2026/2",
                          definitions=(ZielgruppeDefinition(
                              key="geduldete_ab_25", name="Geduldete ab 25", min_age=25,
                              residence_kinds=(ResidenceStatusKind.DULDUNG,)),))


def test_a_new_residence_status_is_validated_kept_and_re_checked_against_the_current_version() -> None:
    case, person = make_case_with_person(CaseStatus.IN_REVIEW)
    assert case.eligibility.matched == ("geduldete_gestattete_ueber_27",)
    data = make_person_data(residence_kind="aufenthaltserlaubnis", legal_basis="§25b  AufenthG",
                            languages=("AR", "de", "ar"))
    new, changed = case.update_person(c.UpdatePerson(case.case_id, data), person, CM, later(20), V2)
    assert new.residence.kind is ResidenceStatusKind.AUFENTHALTSERLAUBNIS
    assert new.residence.legal_basis == "§ 25b AufenthG" and new.languages == ("ar", "de")
    assert set(changed) == {"residence"}
    assert case.eligibility.catalogue_version == 2 and not case.eligibility.eligible
    [event] = case.collect_events()
    assert isinstance(event, e.EligibilityRechecked)
    assert (event.trigger, event.zielgruppen_version, event.previous_zielgruppen_version,
            event.eligible) == ("person_updated", 2, 1, False)


def test_every_field_is_checked_and_nothing_changes_on_error() -> None:
    case, person = make_case_with_person(CaseStatus.ACTIVE)
    before = snapshot(case)
    data = make_person_data(given_name="", birth_date=None, residence_kind="unbekannt",
                            legal_basis="Paragraph 25", languages=("Arabisch",), email="x@",
                            household_children=-1, residence_valid_from=NOW.date(),
                            residence_valid_until=NOW.date().replace(year=2020))
    with pytest.raises(InvalidArgument) as raised:
        case.update_person(c.UpdatePerson(case.case_id, data), person, CM, later(20), METTMANN_V1)
    fields = {v.field for v in raised.value.violations}
    assert fields == {"person.given_name", "person.birth_date", "person.residence.kind",
                      "person.residence.legal_basis", "person.languages[0]", "person.contact.email",
                      "person.household.children", "person.residence.valid_until"}
    assert raised.value.message == "Die Personendaten sind unvollständig oder fehlerhaft."
    assert case == before and not case.pending_events


def test_a_closed_case_keeps_its_person_data() -> None:
    case, person = make_case_with_person(CaseStatus.CLOSED)
    with pytest.raises(FailedPrecondition, match="abgeschlossen"):
        case.update_person(c.UpdatePerson(case.case_id, make_person_data(phone="+49 211 1")), person, CM,
                           later(20), METTMANN_V1)


def test_an_unchanged_person_is_still_checked_against_the_current_version() -> None:
    case, person = make_case_with_person(CaseStatus.PROPOSED)
    _, changed = case.update_person(c.UpdatePerson(case.case_id, _data(person)), person, CM, later(20), V2)
    assert changed == () and case.eligibility.matched == ("geduldete_ab_25",)


def test_a_new_version_re_checks_undecided_proposals_only() -> None:
    undecided, person = make_case_with_person(CaseStatus.DEFERRED)
    undecided.recheck_eligibility(person, V2, later(30))
    assert undecided.eligibility.catalogue_version == 2
    assert [type(x) for x in undecided.collect_events()] == [e.EligibilityRechecked]
    admitted, person = make_case_with_person(CaseStatus.ADMITTED)
    with pytest.raises(FailedPrecondition, match="Zielgruppenprüfung"):
        admitted.recheck_eligibility(person, V2, later(30))
    assert admitted.eligibility.catalogue_version == 1


def _data(person: Person) -> PersonData:
    """The PersonData a client would send back unchanged (what GetPerson returned)."""
    r = person.residence
    return PersonData(
        given_name=person.given_name, family_name=person.family_name, birth_date=person.birth_date,
        nationalities=person.nationalities, country_of_origin=person.country_of_origin,
        residence_kind=r.kind.value, legal_basis=r.legal_basis, residence_valid_from=r.valid_from,
        residence_valid_until=r.valid_until, prospective_legal_basis=r.prospective_legal_basis,
        region_of_origin=person.region_of_origin, languages=person.languages,
        household_adults=person.household.adults, household_children=person.household.children,
        household_note=person.household.note, phone=person.contact.phone, email=person.contact.email,
        address=person.contact.address, received_as_umf=person.received_as_umf,
        umf_received_on=person.umf_received_on)
