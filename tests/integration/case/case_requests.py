"""Request factories for the CaseService api tests: valid defaults, every field overridable."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from kim.case.v1 import case_pb2, types_pb2
from services.case.domain.dates import local_date
from services.case.domain.vocabulary import CaseStatus

T = types_pb2


def today() -> date:
    from datetime import UTC, datetime
    return local_date(datetime.now(UTC))


def day(value: date) -> types_pb2.Date:
    return types_pb2.Date(year=value.year, month=value.month, day=value.day)


def years_ago(years: int, days: int = 10) -> date:
    d = today() - timedelta(days=days)
    return d.replace(year=d.year - years)


def person(**overrides: Any) -> case_pb2.Person:
    fields: dict[str, Any] = dict(
        given_name="Amina", family_name="Haddad", birth_date=day(years_ago(34)),
        nationalities=["SY"], country_of_origin="SY",
        residence=case_pb2.ResidenceStatus(kind=T.RESIDENCE_STATUS_KIND_DULDUNG,
                                           legal_basis="§ 60a AufenthG"),
        languages=["ar", "de"], household_adults=1, household_children=2,
        phone="+49 2103 12345",
    )
    fields.update(overrides)
    return case_pb2.Person(**fields)


def proposal(coordination_org: str = "kreis-mettmann", **overrides: Any) -> case_pb2.ProposeCaseRequest:
    fields: dict[str, Any] = dict(
        coordination_org=coordination_org, proposer_kind=T.PROPOSER_KIND_CASE_MANAGER,
        proposer_unit="Integrationsbüro",
        reason="Ausbildung scheitert an Duldung; Jobcenter und ABH stimmen sich nicht ab.",
        handlungsfelder=[T.HANDLUNGSFELD_AUFENTHALT_IDENTITAET, T.HANDLUNGSFELD_AUSBILDUNG],
        rechtskreise=[T.RECHTSKREIS_AUFENTHG, T.RECHTSKREIS_SGB_III], person=person(),
    )
    fields.update(overrides)
    return case_pb2.ProposeCaseRequest(**fields)


def consent(case_id: str, recipient_org: str, purposes: list[int], categories: list[int],
            **overrides: Any) -> case_pb2.RecordConsentRequest:
    fields: dict[str, Any] = dict(
        case_id=case_id, kind=T.CONSENT_KIND_SCHWEIGEPFLICHTENTBINDUNG, recipient_org=recipient_org,
        purposes=purposes, categories=categories, signed_on=day(today() - timedelta(days=1)),
        expires_on=day(today() + timedelta(days=365)),
    )
    fields.update(overrides)
    return case_pb2.RecordConsentRequest(**fields)


def conference_consent(case_id: str, recipient_org: str = "kreis-mettmann") -> case_pb2.RecordConsentRequest:
    return consent(case_id, recipient_org, [T.CONSENT_PURPOSE_FALLKONFERENZ],
                   [T.DATA_CATEGORY_FALLDOKUMENTATION])


def status(value: int) -> CaseStatus:
    name = T.CaseStatus.Name(value)  # type: ignore[arg-type]
    return CaseStatus(name.removeprefix("CASE_STATUS_").lower())
