"""Money and months of a Weiterleitungsvertrag: annual amount, term amount, Kreis top-up."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from services.documents.domain.contract import (
    contract_amounts,
    contract_context,
    counted_months,
    parse_allocation_file,
)
from tests.unit.documents.documents_factories import make_allocation, make_allocation_file


def amounts_for(fte: object, term: dict[str, str] | None = None, rates: dict[str, object] | None = None):
    allocations = parse_allocation_file(
        make_allocation_file(
            allocations=[make_allocation(fte=fte)],
            **({"term": term} if term else {}),
            **({"rates": rates} if rates else {}),
        )
    )
    return contract_amounts(allocations.rates, allocations.term, allocations.allocations[0].fte)


@pytest.mark.parametrize(
    ("fte", "annual"),
    [
        (2, Decimal("110000.00")),
        (1.0, Decimal("55000.00")),
        (0.5, Decimal("27500.00")),
        (0.75, Decimal("41250.00")),
        ("0,25", Decimal("13750.00")),
    ],
)
def test_annual_amount_is_fte_times_rate_for_whole_and_fractional_positions(fte, annual):
    amounts = amounts_for(fte)
    assert amounts.annual == annual
    assert amounts.months == 12
    assert amounts.term == annual


def test_shortened_term_pays_pro_rata_by_month():
    amounts = amounts_for(0.5, term={"from": "2026-04-01", "to": "2026-12-31"})
    assert amounts.months == 9
    assert amounts.annual == Decimal("27500.00")
    assert amounts.term == Decimal("20625.00")


def test_term_amount_rounds_half_up_to_the_cent():
    # 0,35 VZÄ × 55.000 € = 19.250 €; × 7 / 12 = 11.229,1666… € -> 11.229,17 €
    amounts = amounts_for(0.35, term={"from": "2026-06-01", "to": "2026-12-31"})
    assert amounts.term == Decimal("11229.17")


def test_kreis_topup_is_added_per_fte():
    amounts = amounts_for(0.5, rates={"case_management_per_fte": 55000, "kreis_topup_per_fte": 5000})
    assert amounts.annual == Decimal("30000.00")
    assert amounts.topup_per_fte == Decimal("5000.00")


def test_term_longer_than_a_year_scales_the_same_way():
    amounts = amounts_for(1, term={"from": "2026-01-01", "to": "2027-12-31"})
    assert (amounts.months, amounts.term) == (24, Decimal("110000.00"))


@pytest.mark.parametrize(
    ("start", "end", "months"),
    [
        (date(2026, 1, 1), date(2026, 12, 31), 12),
        (date(2026, 1, 15), date(2027, 1, 14), 12),  # anniversary term: twelve months, never thirteen
        (date(2026, 3, 17), date(2026, 12, 31), 10),  # 15 days of March count
        (date(2026, 3, 18), date(2026, 12, 31), 9),  # 14 days of March do not
        (date(2026, 2, 1), date(2026, 2, 28), 1),
        (date(2026, 2, 1), date(2026, 2, 14), 0),
    ],
)
def test_a_month_counts_when_the_term_covers_at_least_15_of_its_days(start, end, months):
    assert counted_months(start, end) == months


def test_contract_context_prints_german_formats():
    allocations = parse_allocation_file(
        make_allocation_file(
            term={"from": "2026-04-01", "to": "2026-12-31"},
            rates={"case_management_per_fte": 55000, "kreis_topup_per_fte": 1000},
        )
    )
    context = contract_context(allocations, allocations.allocations[0])
    assert context["amounts"]["fte"] == "0,5"
    assert context["amounts"]["annual"] == "28.000,00\xa0€"
    assert context["amounts"]["term"] == "21.000,00\xa0€"
    assert context["amounts"]["has_topup"] is True
    assert (context["term"]["start"], context["term"]["end"], context["term"]["months"]) == (
        "01.04.2026",
        "31.12.2026",
        "9",
    )
