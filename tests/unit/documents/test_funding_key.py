"""The Kreis's funding key and the allocation check (domain/funding.py, domain/contract.py):
splitting to the cent, what stays with the Kreis (Wesel), quotas by key (RBK), granted VZÄ."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, strategies as st

from kimnetz.errors import InvalidArgument
from services.documents.domain.contract import contract_context, parse_allocation_file
from services.documents.domain.funding import FundingKey, KeyPart, split
from tests.unit.documents.documents_factories import make_allocation, make_allocation_file

cents = st.integers(min_value=-10**9, max_value=10**9).map(lambda c: Decimal(c) / 100)
weights = st.lists(st.fractions(min_value=0, max_value=100), min_size=1, max_size=12).filter(any)


@given(total=cents, weights=weights)
def test_the_parts_always_add_up_to_the_total_to_the_cent(total, weights):
    parts = split(total, weights)
    assert sum(parts) == total
    assert all(part == part.quantize(Decimal("0.01")) for part in parts)
    whole = sum(weights)
    for part, weight in zip(parts, weights, strict=True):
        # Each part is off its exact value by less than one cent.
        assert abs(Fraction(part) - Fraction(total) * weight / whole) < Fraction(1, 100)


@given(total=st.integers(min_value=0, max_value=5000).map(lambda c: Decimal(c) / 100), weights=weights)
def test_vzae_split_to_the_hundredth_add_up_too(total, weights):
    assert sum(split(total, weights, Decimal("0.01"))) == total


def test_a_third_each_gives_the_leftover_cent_to_the_first():
    assert split(Decimal("55000.00"), [1, 1, 1]) == [Decimal("18333.34"), Decimal("18333.33"),
                                                     Decimal("18333.33")]


def test_wesel_one_third_stays_with_the_kreis():
    key = FundingKey("Kreis Wesel", kreis_share=Fraction(1, 3))
    assert key.passed_on_limit(Decimal(11)) == Decimal("7.33")
    # 11 positions × 55.000 €: two thirds and one third to the cent.
    assert split(Decimal(605000), [Fraction(2, 3), Fraction(1, 3)]) == [Decimal("403333.33"),
                                                                         Decimal("201666.67")]


def test_rbk_key_weights_the_quotas_40_to_60():
    key = FundingKey("FlüAG 40 % / AWoV 60 %", parts=(KeyPart("FlüAG", Fraction(2, 5)),
                                                       KeyPart("AWoV", Fraction(3, 5))),
                     quotas=(("Stadt A", (Fraction(1, 2), Fraction(1, 4))),
                             ("Stadt B", (Fraction(1, 2), Fraction(3, 4)))))
    # A: 0,4 × 0,5 + 0,6 × 0,25 = 0,35 of 7,0 VZÄ = 2,45; B: 0,65 = 4,55.
    assert key.entitlements(Decimal(7)) == {"Stadt A": Decimal("2.45"), "Stadt B": Decimal("4.55")}


def rbk_file(**funding):
    return make_allocation_file(
        funding=funding,
        allocations=[make_allocation(name="Stadt A", fte=2.5), make_allocation(name="Stadt B", fte=4.5)])


def violations(data) -> dict[str, str]:
    with pytest.raises(InvalidArgument) as caught:
        parse_allocation_file(data)
    return {v.field: v.description for v in caught.value.violations}


def test_an_allocation_above_the_key_is_refused_in_german():
    problems = violations(rbk_file(granted_fte={"baustein_2": 7}, key={
        "label": "FlüAG 40 % / AWoV 60 %",
        "parts": [{"label": "FlüAG", "share": "40 %"}, {"label": "AWoV", "share": "60 %"}],
        "quotas": {"Stadt A": {"FlüAG": "50 %", "AWoV": "25 %"},
                   "Stadt B": {"FlüAG": "50 %", "AWoV": "75 %"}}}))
    assert problems == {"allocations[0].fte": "Stadt A erhält 2,5 VZÄ; nach dem Schlüssel des Kreises "
                                              "(FlüAG 40 % / AWoV 60 %) stehen Stadt A 2,45 VZÄ zu."}


def test_allocations_above_the_granted_vzae_are_refused():
    problems = violations(rbk_file(granted_fte={"baustein_2": "6,5"}))
    assert problems == {"allocations[1].fte": "Die Zuweisungen für Baustein 2 ergeben 7,0 VZÄ; bewilligt "
                                              "sind 6,5 VZÄ. Es sind 0,5 VZÄ zu viel."}


def test_wesel_key_allows_two_thirds():
    parsed = parse_allocation_file(make_allocation_file(
        funding={"granted_fte": {"baustein_2": 11}, "key": {"label": "Kreis Wesel", "kreis_share": "1/3"}},
        allocations=[make_allocation(name="Stadt A", fte=5), make_allocation(name="Stadt B", fte="2,33")]))
    assert sum(a.fte for a in parsed.allocations) == Decimal("7.33")


def test_wesel_refusal_names_the_limit():
    problems = violations(make_allocation_file(
        funding={"granted_fte": {"baustein_2": 11}, "key": {"label": "Kreis Wesel", "kreis_share": "1/3"}},
        allocations=[make_allocation(name="Stadt A", fte=5), make_allocation(name="Stadt B", fte="2,5")]))
    assert problems == {"allocations[1].fte": (
        "Die Zuweisungen für Baustein 2 ergeben 7,5 VZÄ; bewilligt sind 11,0 VZÄ, davon verbleibt nach dem "
        "Schlüssel des Kreises ein Drittel beim Kreis; weitergeleitet werden dürfen höchstens 7,33 VZÄ. "
        "Es sind 0,17 VZÄ zu viel.")}


def test_key_parts_must_make_100_percent():
    problems = violations(rbk_file(key={"label": "K", "parts": [{"label": "FlüAG", "share": "40 %"},
                                                                  {"label": "AWoV", "share": "50 %"}]}))
    assert problems == {"funding.key.parts":
                        "Die Teile des Schlüssels ergeben zusammen 90\xa0%, nicht 100 %."}


def test_a_share_is_read_as_the_kreise_write_it():
    problems = violations(rbk_file(key={"label": "K", "kreis_share": "ein Drittel"}))
    assert problems == {"funding.key.kreis_share": "Anteil erwartet, z. B. „1/3“, „40 %“ oder 0.4."}


def test_stellenteilung_splits_the_money_to_the_cent():
    data = make_allocation_file(allocations=[make_allocation(
        name="Stadt Voerde (Niederrhein)", fte=1,
        shared_by=[{"municipality": "Stadt Voerde (Niederrhein)", "fte": "0,34"},
                   {"municipality": "Gemeinde Hünxe", "fte": "0,33"},
                   {"municipality": "Gemeinde Schermbeck", "fte": "0,33"}])])
    parsed = parse_allocation_file(data)
    context = contract_context(parsed, parsed.allocations[0])
    assert [p["annual"] for p in context["sharing"]["parts"]] == ["18.700,00\xa0€", "18.150,00\xa0€",
                                                                  "18.150,00\xa0€"]
    assert context["municipality"] == "Stadt Voerde (Niederrhein) / Gemeinde Hünxe / Gemeinde Schermbeck"


def test_stellenteilung_must_add_up_to_the_position():
    problems = violations(make_allocation_file(allocations=[make_allocation(
        fte=1, shared_by=[{"municipality": "A", "fte": 0.5}, {"municipality": "B", "fte": 0.25}])]))
    assert problems == {"allocations[0].shared_by": "Die Anteile der Stellenteilung ergeben 0,75 VZÄ, die "
                                                    "Stelle hat 1,0 VZÄ."}


def test_stellenteilung_counts_for_each_kommune_under_the_key():
    problems = violations(make_allocation_file(
        funding={"granted_fte": {"baustein_2": 2}, "key": {
            "label": "Schlüssel", "parts": [{"label": "Einwohner", "share": 1}],
            "quotas": {"A": {"Einwohner": "50 %"}, "B": {"Einwohner": "50 %"}}}},
        allocations=[make_allocation(name="A", fte=1),
                     make_allocation(name="Träger", kind="welfare_org", municipality=None, fte="0,5",
                                     shared_by=[{"municipality": "A", "fte": "0,25"},
                                                {"municipality": "B", "fte": "0,25"}])]))
    assert problems == {"allocations[1].fte": "A erhält 1,25 VZÄ; nach dem Schlüssel des Kreises (Schlüssel) "
                                              "stehen A 1,0 VZÄ zu."}


def test_baustein_1_needs_its_rate():
    problems = violations(make_allocation_file(allocations=[
        make_allocation(name="Stadt Arnsberg", fte=1, baustein=1)]))
    assert problems == {"allocations[0].baustein": "Für Baustein 1 fehlt der Betrag je VZÄ und Jahr "
                                                   "(rates.coordination_per_fte)."}


def test_baustein_3_goes_to_kommunen_only():
    problems = violations(make_allocation_file(allocations=[
        make_allocation(name="Caritas", kind="welfare_org", municipality="Stadt X", fte=1, baustein=3)]))
    assert "nur an Kommunen" in problems["allocations[0].municipality"]


def test_hsk_passes_one_baustein_1_position_on_to_arnsberg():
    parsed = parse_allocation_file(make_allocation_file(
        rates={"case_management_per_fte": 55000, "coordination_per_fte": 65000},
        funding={"granted_fte": {"baustein_1": "3,5"}},
        allocations=[make_allocation(name="Stadt Arnsberg", fte=1, baustein=1)]))
    context = contract_context(parsed, parsed.allocations[0])
    assert context["baustein"]["is_coordination"]
    assert context["amounts"]["annual"] == "65.000,00\xa0€"


quota_lists = st.lists(st.lists(st.fractions(min_value=0, max_value=1), min_size=2, max_size=2),
                       min_size=1, max_size=10)


@given(passed_on=st.integers(min_value=0, max_value=2000).map(lambda c: Decimal(c) / 100),
       quotas=quota_lists)
def test_the_kommunen_shares_by_key_add_up_to_what_is_passed_on(passed_on, quotas):
    key = FundingKey("FlüAG 40 % / AWoV 60 %", parts=(KeyPart("FlüAG", Fraction(2, 5)),
                                                       KeyPart("AWoV", Fraction(3, 5))),
                     quotas=tuple((f"Kommune {i}", tuple(q)) for i, q in enumerate(quotas)))
    shares = key.entitlements(passed_on)
    if any(any(q) for q in quotas):
        assert sum(shares.values()) == passed_on
    assert all(share >= 0 for share in shares.values())


@given(granted=st.integers(min_value=0, max_value=5000).map(lambda c: Decimal(c) / 100),
       kreis_share=st.fractions(min_value=0, max_value=1))
def test_what_the_kreis_keeps_and_passes_on_add_up_to_the_grant(granted, kreis_share):
    limit = FundingKey("K", kreis_share=kreis_share).passed_on_limit(granted)
    assert 0 <= limit <= granted
    assert abs(Fraction(limit) - Fraction(granted) * (1 - kreis_share)) < Fraction(1, 100)
