"""Consent coverage: what may leave the node, to whom, for what, on which day."""

from __future__ import annotations

from datetime import date

import pytest
from case_factories import CM, COORDINATION, NOW, TODAY, later, make_case, snapshot

from kimnetz.errors import FailedPrecondition, InvalidArgument, NotFound
from services.case.domain import commands as c
from services.case.domain.consent import Consent, coverage
from services.case.domain.vocabulary import CaseStatus, ConsentKind, ConsentPurpose, DataCategory

P, D = ConsentPurpose, DataCategory


def consent(**overrides: object) -> Consent:
    base: dict[str, object] = dict(
        consent_id="k1", kind=ConsentKind.EINWILLIGUNG, recipient_org="jobcenter-me",
        purposes=(P.FALLBEARBEITUNG,), categories=(D.STAMMDATEN, D.ARBEIT_AUSBILDUNG),
        signed_on=date(2026, 1, 10), expires_on=date(2026, 12, 31),
    )
    base.update(overrides)
    return Consent(**base)  # type: ignore[arg-type]


def covers(consents: list[Consent], *, org: str = "jobcenter-me", purpose: P = P.FALLBEARBEITUNG,
           categories: tuple[D, ...] = (D.STAMMDATEN,), on: date = TODAY) -> bool:
    return coverage(consents, recipient_org=org, purpose=purpose, categories=categories, on=on).allowed


def test_valid_consent_covers_its_recipient_purpose_and_categories() -> None:
    result = coverage([consent()], recipient_org="jobcenter-me", purpose=P.FALLBEARBEITUNG,
                      categories=(D.STAMMDATEN, D.ARBEIT_AUSBILDUNG), on=TODAY)
    assert result.allowed and result.consent_ids == ("k1",)


def test_other_recipient_is_not_covered() -> None:
    result = coverage([consent()], recipient_org="agentur-me", purpose=P.FALLBEARBEITUNG,
                      categories=(D.STAMMDATEN,), on=TODAY)
    assert not result.allowed and "agentur-me" in result.reason


def test_wrong_purpose_is_not_covered() -> None:
    assert not covers([consent()], purpose=P.FALLKONFERENZ)


def test_a_category_outside_the_consent_is_not_covered_and_named() -> None:
    result = coverage([consent()], recipient_org="jobcenter-me", purpose=P.FALLBEARBEITUNG,
                      categories=(D.STAMMDATEN, D.GESUNDHEIT), on=TODAY)
    assert not result.allowed and "Gesundheit" in result.reason


def test_expired_consent_covers_nothing_after_its_last_day() -> None:
    assert covers([consent()], on=date(2026, 12, 31))
    result = coverage([consent()], recipient_org="jobcenter-me", purpose=P.FALLBEARBEITUNG,
                      categories=(D.STAMMDATEN,), on=date(2027, 1, 1))
    assert not result.allowed and "abgelaufen" in result.reason


def test_revoked_consent_covers_nothing_from_the_revocation_day() -> None:
    revoked = consent(revoked_on=date(2026, 3, 1))
    assert covers([revoked], on=date(2026, 2, 28))
    assert not covers([revoked], on=date(2026, 3, 1))


def test_consent_does_not_cover_days_before_its_signature() -> None:
    assert not covers([consent()], on=date(2026, 1, 9))


def test_two_consents_together_cover_a_disclosure() -> None:
    health = consent(consent_id="k2", categories=(D.GESUNDHEIT,))
    assert covers([consent(), health], categories=(D.STAMMDATEN, D.GESUNDHEIT))
    assert not covers([consent(), consent(consent_id="k3", categories=(D.GESUNDHEIT,),
                                          revoked_on=date(2026, 2, 1))],
                      categories=(D.STAMMDATEN, D.GESUNDHEIT))


def test_no_categories_is_never_covered() -> None:
    assert not covers([consent()], categories=())


def _record(case_id: str, **overrides: object) -> c.RecordConsent:
    base: dict[str, object] = dict(
        case_id=case_id, kind="einwilligung", recipient_org="jobcenter-me",
        purposes=("fallbearbeitung",), categories=("stammdaten",), signed_on=TODAY,
        expires_on=date(2027, 1, 31))
    base.update(overrides)
    return c.RecordConsent(**base)  # type: ignore[arg-type]


def test_recording_an_already_expired_consent_is_refused_and_changes_nothing() -> None:
    case = make_case()
    before = snapshot(case)
    with pytest.raises(InvalidArgument) as error:
        case.record_consent(_record(case.case_id, signed_on=date(2025, 1, 1), expires_on=date(2026, 1, 1)),
                            CM, NOW)
    assert [v.field for v in error.value.violations] == ["expires_on"]
    assert "bereits am 01.01.2026 abgelaufen" in error.value.violations[0].description
    assert case == before


def test_consent_signed_in_the_future_with_unknown_purpose_reports_every_field() -> None:
    case = make_case()
    with pytest.raises(InvalidArgument) as error:
        case.record_consent(_record(case.case_id, signed_on=date(2026, 3, 5), purposes=("werbung",),
                                    categories=(), kind="mündlich", recipient_org=""), CM, NOW)
    fields = {v.field for v in error.value.violations}
    assert fields == {"signed_on", "purposes[0]", "categories", "kind", "recipient_org"}
    assert case.consents == []


def test_revoking_emits_consent_revoked_so_receivers_erase() -> None:
    case = make_case(CaseStatus.ACTIVE)
    consent_id = case.consents[0].consent_id
    revoke = c.RevokeConsent(case.case_id, consent_id, TODAY, "widerruft schriftlich")
    case.revoke_consent(revoke, CM, later(50))
    [event] = case.collect_events()
    assert type(event).__name__ == "ConsentRevoked"
    assert event.recipient_org == COORDINATION  # type: ignore[attr-defined]
    assert not case.disclosure_coverage(COORDINATION, P.FALLKONFERENZ, (D.FALLDOKUMENTATION,), TODAY).allowed


def test_revoking_twice_or_an_unknown_consent_fails() -> None:
    case = make_case(CaseStatus.IN_REVIEW)
    consent_id = case.consents[0].consent_id
    case.revoke_consent(c.RevokeConsent(case.case_id, consent_id, TODAY), CM, later(50))
    with pytest.raises(FailedPrecondition, match=r"bereits am 04\.03\.2026 widerrufen"):
        case.revoke_consent(c.RevokeConsent(case.case_id, consent_id, TODAY), CM, later(51))
    with pytest.raises(NotFound):
        case.revoke_consent(c.RevokeConsent(case.case_id, "nope", TODAY), CM, later(52))


def test_submitting_to_the_conference_needs_a_consent_for_the_koordinierende_stelle() -> None:
    case = make_case()
    case.record_consent(_record(case.case_id, recipient_org=COORDINATION, purposes=("fallbearbeitung",),
                                categories=("falldokumentation",)), CM, NOW)
    before = snapshot(case)
    with pytest.raises(FailedPrecondition, match="Fallkonferenz fehlt eine gültige Einwilligung"):
        case.submit_for_review(c.SubmitForReview(case.case_id), CM, later(1))
    assert case == before


def test_transfer_to_another_organisation_needs_a_consent_for_the_handover() -> None:
    case = make_case(CaseStatus.ACTIVE)
    command = c.TransferCase(case.case_id, "diakonie-leichlingen", "cm-dora", "Umzug nach Leichlingen")
    with pytest.raises(FailedPrecondition, match="Übergabe"):
        case.transfer(command, CM, later(60))
    handover = _record(case.case_id, recipient_org="diakonie-leichlingen", purposes=("falluebergabe",),
                       categories=("stammdaten", "falldokumentation"))
    case.record_consent(handover, CM, later(61))
    case.transfer(command, CM, later(62))
    assert case.owner_org == "diakonie-leichlingen" and case.case_manager == "cm-dora"
    assert "caritas-hilden" in case.access_orgs
