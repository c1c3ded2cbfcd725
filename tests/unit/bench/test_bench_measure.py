"""The bench's rows and targets (bench/measure.py): ratios, flatness, met/missed, the report."""

from __future__ import annotations

import json
import math
from pathlib import Path

from bench.measure import (
    CONCURRENT_WRITERS,
    GET_CASE,
    PROPOSE_CASE,
    Row,
    Sample,
    Target,
    at_scale,
    summed,
    write_report,
)


def ms(*values: float) -> Sample:
    latencies = tuple(v / 1000 for v in values)
    return Sample(latencies, sum(latencies))


def test_floor_ratio_target_met_and_missed() -> None:
    met = Row.of("GetCase", "echo + find_one", ms(4, 4, 4), ms(2, 2, 2), GET_CASE)
    missed = Row.of("GetCase", "echo + find_one", ms(5, 5, 5), ms(2, 2, 2), GET_CASE)
    assert met.ratio_p50 == 2.0 and met.verdict == "met"
    assert missed.verdict == "missed: 2.50× the floor, target ≤ 2×"
    assert Row.of("ProposeCase", "echo + insert", ms(6), ms(2), PROPOSE_CASE).verdict == "met"


def test_throughput_share_target() -> None:
    # 10 writes in 1 s against 30 in 1 s: a third of the floor's rate.
    project = Sample((0.1,) * 10, 1.0)
    floor = Sample((0.01,) * 30, 1.0)
    row = Row.of("8 writers", "bare inserts", project, floor, CONCURRENT_WRITERS)
    assert row.verdict == "missed: 33% of the floor's per s, target ≥ 50%"
    assert Row.of("8 writers", "bare", Sample((0.1,) * 20, 1.0), floor, CONCURRENT_WRITERS).verdict == "met"


def test_flatness_against_the_first_level() -> None:
    target = at_scale(GET_CASE)
    assert target.flat_ratio == 1.5 and target.floor_ratio == 2
    assert target.text.startswith("within 1.5× of its time at 1,000; ")
    flat = Row.of("GetCase @ 100,000", "floor", ms(3), ms(2), target, first_level_p50_ms=2.5)
    grown = Row.of("GetCase @ 100,000", "floor", ms(3), ms(2), target, first_level_p50_ms=1.0)
    assert flat.ratio_first == 1.2 and flat.verdict == "met"
    assert grown.verdict == "missed: 3.00× its time at the first level, target ≤ 1.5×"
    both = Row.of("x", "floor", ms(30), ms(2), target, first_level_p50_ms=1.0)
    assert both.verdict.startswith("missed: 15.00× the floor") and "30.00× its time" in both.verdict


def test_faster_target_and_rows_without_one() -> None:
    faster = Target("faster than the floor", faster=True)
    assert Row.of("render", "docxtpl", ms(1), ms(10), faster).verdict == "met"
    assert Row.of("render", "docxtpl", ms(10), ms(1), faster).verdict.startswith("missed")
    assert Row.of("agenda", "fetches", ms(1), ms(1), "≤ 2× at p50").verdict == ""


def test_summed_floor_adds_the_steps_pairwise() -> None:
    total = summed(ms(1, 2, 3), ms(10, 20), ms(100, 100, 100))
    assert [round(v * 1000) for v in total.latencies] == [111, 122]


def test_a_row_not_measured_says_why_and_writes_valid_json(tmp_path: Path) -> None:
    skipped = Row.not_measured("ListCases @ 100,000", "find", at_scale(), "about 900 s expected")
    measured = Row.of("GetCase @ 1,000", "echo + find_one", ms(4), ms(2), at_scale(GET_CASE), 4.0)
    assert math.isnan(skipped.project_p50_ms) and skipped.verdict == "not measured"
    table = write_report([measured, skipped], ["a note"], tmp_path)
    assert "| not measured: about 900 s expected |" in table
    assert "| 2.00× | 1.00× |" in table and "| met |" in table
    data = json.loads((tmp_path / "bench.json").read_text("utf-8"))  # strict JSON: no NaN
    assert data["rows"][1]["project_p50_ms"] is None and data["rows"][1]["verdict"] == "not measured"
    assert data["rows"][0]["ratio_first_level"] == 1.0 and data["rows"][0]["verdict"] == "met"
    assert (tmp_path / "bench.md").read_text("utf-8").endswith("- a note\n")
