"""The scale part's planning (bench/levels.py): what fits the time left, and what does not says why."""

from __future__ import annotations

import pytest

from bench.levels import SEED_SECONDS_PER_CASE, measure_estimate, parts_budget, plan_level, seed_estimate

MEASURES = ("GetCase", "ListCases first", "GetFigures")


def test_the_first_level_runs_everything_when_its_seeding_fits() -> None:
    plan = plan_level(1_000, 0, None, 100.0, MEASURES, 0, {})
    assert plan.new_cases == 1_000
    assert plan.seed_seconds == pytest.approx(1_000 * SEED_SECONDS_PER_CASE)
    assert [name for name, _ in plan.run] == list(MEASURES)
    assert plan.seeds and not plan.skipped


def test_seeding_is_incremental_and_counts_what_the_node_holds() -> None:
    plan = plan_level(10_000, 1_000, 0.002, 1_000.0, MEASURES, 1_000, {n: 1.0 for n in MEASURES})
    assert plan.new_cases == 9_000
    assert plan.seed_seconds == pytest.approx(18.0)


def test_a_level_whose_seeding_does_not_fit_is_skipped_with_the_estimate() -> None:
    plan = plan_level(100_000, 10_000, 0.003, 200.0, MEASURES, 10_000, {n: 1.0 for n in MEASURES})
    assert not plan.seeds and plan.run == ()
    assert set(plan.skipped) == set(MEASURES)
    assert "seeding 90,000 more cases takes about 270 s" in plan.skipped["GetCase"]
    assert "200 s" in plan.skipped["GetCase"]


def test_measures_scale_with_the_level_and_the_ones_that_do_not_fit_are_named() -> None:
    previous = {"GetCase": 0.5, "ListCases first": 30.0, "GetFigures": 2.0}
    plan = plan_level(10_000, 10_000, 0.003, 100.0, MEASURES, 1_000, previous)
    assert plan.new_cases == 0
    assert dict(plan.run) == {"GetCase": pytest.approx(5.0), "GetFigures": pytest.approx(20.0)}
    assert plan.skipped["ListCases first"] \
        == "about 300 s expected (30.0 s at 1,000), 95 s of the time budget left"


def test_no_seeding_when_no_measure_would_run() -> None:
    plan = plan_level(10_000, 1_000, 0.001, 20.0, ("ListCases first",), 1_000, {"ListCases first": 10.0})
    assert plan.run == () and not plan.seeds
    assert "ListCases first" in plan.skipped


def test_estimates_and_budget() -> None:
    assert seed_estimate(500, None) == pytest.approx(500 * SEED_SECONDS_PER_CASE)
    assert seed_estimate(500, 0.01) == pytest.approx(5.0)
    assert measure_estimate(10_000, 1_000, 2.0) == pytest.approx(20.0)
    assert measure_estimate(10_000, 0, 2.0) is None
    assert measure_estimate(10_000, 1_000, None) is None
    assert parts_budget(900.0, 300.0, 45.0) == pytest.approx(555.0)
    assert parts_budget(900.0, 880.0, 45.0) == 0.0
