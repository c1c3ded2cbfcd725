"""Kooperations-/Weiterleitungsvertrag: the Kreis passes KIM Baustein 2 case-management positions
(VZÄ) on to a Kommune or a Träger der Freien Wohlfahrtspflege and forwards the state's Pauschale.

Money rule (also in docs/documents.md):
- annual amount = VZÄ × (Pauschale je VZÄ + Aufstockung des Kreises je VZÄ), rounded to the cent;
- term amount = annual amount × anrechenbare Monate / 12, rounded half up to the cent;
- a calendar month counts when the term covers at least 15 of its days. So a term starting on the
  1st or the 15th counts its first month, and an anniversary term (15.01. to 14.01.) counts exactly
  twelve months, never thirteen. Terms longer than a year scale the same way (24 months = 2 × annual).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

from pydantic import Field, ValidationInfo, field_validator

from services.documents.domain import formats
from services.documents.domain.parsing import IsoDate, Model, Number, Text, parse, rule_error

BAUSTEIN_2_RATE_PER_FTE = Decimal("55000")
"""Fachbezogene Pauschale je VZÄ und Jahr for case management (Voerde seed, Förderrichtlinie KIM)."""

MAX_FTE_PER_PARTNER = Decimal(10)
"""More than ten positions at one partner is a typo in every Kreis we know (RBK: 7 in total)."""

RATE_RANGE = (Decimal(1000), Decimal(200000))
"""Plausible yearly amounts per VZÄ; catches `55.000` which YAML reads as 55.0."""

MONTH_COUNTS_FROM_DAYS = 15

PARTNER_KIND_LABELS = {"municipality": "Kommune", "welfare_org": "Träger der Freien Wohlfahrtspflege"}


class Kreis(Model):
    name: Text
    address: Text
    office: Text
    represented_by: Text


class Term(Model):
    start: IsoDate = Field(alias="from")
    end: IsoDate = Field(alias="to")

    @field_validator("end")
    @classmethod
    def _ends_after_start(cls, end: date, info: ValidationInfo) -> date:
        start = info.data.get("start")
        if start is None:
            return end
        if end < start:
            raise rule_error(
                f"Die Laufzeit endet ({formats.day(end)}) vor ihrem Beginn ({formats.day(start)})."
            )
        if counted_months(start, end) == 0:
            raise rule_error(
                f"Die Laufzeit umfasst keinen Monat mit mindestens {MONTH_COUNTS_FROM_DAYS} Tagen."
            )
        return end

    @property
    def months(self) -> int:
        return counted_months(self.start, self.end)


class Rates(Model):
    case_management_per_fte: Number
    kreis_topup_per_fte: Number = Decimal(0)

    @field_validator("case_management_per_fte")
    @classmethod
    def _plausible_rate(cls, rate: Decimal) -> Decimal:
        low, high = RATE_RANGE
        if not low <= rate <= high:
            raise rule_error(
                f"Unplausibler Betrag {formats.money(rate)} je VZÄ und Jahr; erwartet zwischen "
                f"{formats.money(low)} und {formats.money(high)} (Tausender ohne Punkt: 55000)."
            )
        return _cents(rate)

    @field_validator("kreis_topup_per_fte")
    @classmethod
    def _plausible_topup(cls, topup: Decimal) -> Decimal:
        if not 0 <= topup <= RATE_RANGE[1]:
            raise rule_error(
                f"Die Aufstockung muss zwischen 0 € und {formats.money(RATE_RANGE[1])} je VZÄ liegen."
            )
        return _cents(topup)


class Partner(Model):
    name: Text
    kind: Literal["municipality", "welfare_org"]
    address: Text


class Allocation(Model):
    partner: Partner
    # Validated even when absent: a Träger must say in which Kommune its positions work.
    municipality: Text | None = Field(default=None, validate_default=True)
    fte: Number

    @field_validator("municipality")
    @classmethod
    def _municipality_for_welfare_org(cls, municipality: str | None, info: ValidationInfo) -> str | None:
        partner = info.data.get("partner")
        if municipality is None and partner is not None and partner.kind == "welfare_org":
            raise rule_error(
                "Für einen Träger ist die Kommune anzugeben, in der die Stellen eingesetzt werden."
            )
        return municipality

    @field_validator("fte")
    @classmethod
    def _plausible_fte(cls, fte: Decimal) -> Decimal:
        if fte <= 0:
            raise rule_error(f"Der Stellenanteil muss größer als 0 VZÄ sein (angegeben: {formats.fte(fte)}).")
        if fte > MAX_FTE_PER_PARTNER:
            raise rule_error(
                f"Unplausibler Stellenanteil {formats.fte(fte)} VZÄ; höchstens "
                f"{formats.fte(MAX_FTE_PER_PARTNER)} VZÄ je Partner."
            )
        if fte != fte.quantize(Decimal("0.01")):
            raise rule_error(
                "Den Stellenanteil bitte mit höchstens zwei Nachkommastellen angeben (z. B. 0,75)."
            )
        return fte

    @property
    def place(self) -> str:
        """The Kommune where the positions work: the partner itself unless it is a Träger."""
        return self.municipality or self.partner.name


class AllocationFile(Model):
    kreis: Kreis
    term: Term
    rates: Rates
    allocations: list[Allocation] = Field(min_length=1)

    @field_validator("allocations")
    @classmethod
    def _one_contract_per_partner_and_place(cls, allocations: list[Allocation]) -> list[Allocation]:
        seen: set[tuple[str, str]] = set()
        for allocation in allocations:
            key = (allocation.partner.name, allocation.place)
            if key in seen:
                raise rule_error(
                    f"{allocation.partner.name} ist für {allocation.place} mehrfach eingetragen; "
                    "Stellenanteile bitte in einem Eintrag zusammenfassen."
                )
            seen.add(key)
        return allocations


@dataclass(frozen=True)
class ContractAmounts:
    fte: Decimal
    rate_per_fte: Decimal
    topup_per_fte: Decimal
    annual: Decimal
    months: int
    term: Decimal


def parse_allocation_file(data: Any) -> AllocationFile:
    return parse(AllocationFile, data)


def counted_months(start: date, end: date) -> int:
    months, first = 0, start.replace(day=1)
    while first <= end:
        last = first.replace(day=calendar.monthrange(first.year, first.month)[1])
        covered = (min(end, last) - max(start, first)).days + 1
        months += covered >= MONTH_COUNTS_FROM_DAYS
        first = last + timedelta(days=1)
    return months


def contract_amounts(rates: Rates, term: Term, fte: Decimal) -> ContractAmounts:
    annual = _cents(fte * (rates.case_management_per_fte + rates.kreis_topup_per_fte))
    return ContractAmounts(
        fte=fte,
        rate_per_fte=rates.case_management_per_fte,
        topup_per_fte=rates.kreis_topup_per_fte,
        annual=annual,
        months=term.months,
        term=_cents(annual * term.months / 12),
    )


def contract_context(allocations: AllocationFile, allocation: Allocation) -> dict[str, Any]:
    """What a contract template may use; every value already in its German printed form."""
    amounts = contract_amounts(allocations.rates, allocations.term, allocation.fte)
    kreis, term, partner = allocations.kreis, allocations.term, allocation.partner
    return {
        "kreis": {
            "name": kreis.name,
            "address": kreis.address,
            "office": kreis.office,
            "represented_by": kreis.represented_by,
        },
        "partner": {
            "name": partner.name,
            "address": partner.address,
            "kind": PARTNER_KIND_LABELS[partner.kind],
            "is_welfare_org": partner.kind == "welfare_org",
        },
        "municipality": allocation.place,
        "term": {
            "start": formats.day(term.start),
            "end": formats.day(term.end),
            "months": str(amounts.months),
            "is_full_year": amounts.months == 12,
        },
        "amounts": {
            "fte": formats.fte(amounts.fte),
            "rate_per_fte": formats.money(amounts.rate_per_fte),
            "topup_per_fte": formats.money(amounts.topup_per_fte),
            "has_topup": amounts.topup_per_fte > 0,
            "per_fte_total": formats.money(amounts.rate_per_fte + amounts.topup_per_fte),
            "annual": formats.money(amounts.annual),
            "term": formats.money(amounts.term),
        },
    }


def _cents(amount: Decimal) -> Decimal:
    return amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
