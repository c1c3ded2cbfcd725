"""Latency samples, their percentiles and the project/floor table."""

from __future__ import annotations

import json
import math
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass(frozen=True)
class Sample:
    """Latencies in seconds of `count` operations that took `wall` seconds in all."""

    latencies: tuple[float, ...]
    wall: float
    #: Items one operation handles (a batch of 400 contracts counts 400 per second of wall).
    per_operation: int = 1

    @property
    def p50_ms(self) -> float:
        return statistics.median(self.latencies) * 1000

    @property
    def p99_ms(self) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000

    @property
    def per_second(self) -> float:
        return len(self.latencies) * self.per_operation / self.wall if self.wall else 0.0


def summed(*samples: Sample) -> Sample:
    """The floor of a path made of several bare steps: the i-th latency is the sum of every
    sample's i-th latency (steps measured one after the other, not overlapping)."""
    count = min(len(s.latencies) for s in samples)
    latencies = tuple(sum(s.latencies[i] for s in samples) for i in range(count))
    return Sample(latencies, sum(latencies))


def timed_once(operation: Callable[[], object], items: int = 1) -> Sample:
    """One long operation (a batch) as a sample of one."""
    begin = time.perf_counter()
    operation()
    elapsed = time.perf_counter() - begin
    return Sample((elapsed,), elapsed, items)


def sample(operation: Callable[..., object], count: int, max_seconds: float = 30.0,
           warmup: int = 5) -> Sample:
    """Run `operation` `count` times (stopping early after `max_seconds`), after a warm-up.
    (`...`: callers bind loop variables as a lambda's defaults; it is called bare.)"""
    for _ in range(warmup):
        operation()
    latencies: list[float] = []
    started = time.perf_counter()
    while len(latencies) < count and time.perf_counter() - started < max_seconds:
        begin = time.perf_counter()
        operation()
        latencies.append(time.perf_counter() - begin)
    return Sample(tuple(latencies), time.perf_counter() - started)


@dataclass(frozen=True)
class Target:
    """A target a row is checked against (issue 15, "Targets"); unset parts are not checked."""

    text: str
    #: The project's p50 at most this many times the floor's p50.
    floor_ratio: float | None = None
    #: The project's operations per second at least this share of the floor's.
    throughput_share: float | None = None
    #: The project's p50 at most this many times the same measure's p50 at the first level.
    flat_ratio: float | None = None
    #: The project's p50 below the floor's (the renderer against bare docxtpl).
    faster: bool = False

    def verdict(self, row: Row) -> str:
        """"met", "missed: <what>" or "not measured"."""
        if row.skipped:
            return "not measured"
        misses: list[str] = []
        if self.floor_ratio is not None and not row.ratio_p50 <= self.floor_ratio:
            misses.append(f"{row.ratio_p50:.2f}× the floor, target ≤ {self.floor_ratio:g}×")
        if self.throughput_share is not None and not (
                row.project_per_second >= self.throughput_share * row.floor_per_second):
            share = row.project_per_second / row.floor_per_second if row.floor_per_second else 0.0
            misses.append(f"{share:.0%} of the floor's per s, target ≥ {self.throughput_share:.0%}")
        if self.flat_ratio is not None and row.ratio_first is not None \
                and not row.ratio_first <= self.flat_ratio:
            misses.append(f"{row.ratio_first:.2f}× its time at the first level, target ≤ "
                          f"{self.flat_ratio:g}×")
        if self.faster and not row.ratio_p50 < 1:
            misses.append(f"{row.ratio_p50:.2f}× the floor, target < 1×")
        return "missed: " + "; ".join(misses) if misses else "met"


@dataclass(frozen=True)
class Row:
    """One hot path against its floor; ratios > 1 mean the project is slower than the floor.
    Scale rows also hold the same measure's p50 at the first level (`first_level_p50_ms`); a
    row the time budget left out says why in `skipped` (its times are NaN)."""

    path: str
    floor: str
    project_p50_ms: float
    floor_p50_ms: float
    project_p99_ms: float
    floor_p99_ms: float
    project_per_second: float
    floor_per_second: float
    target: str
    count: int
    goal: Target | None = None
    first_level_p50_ms: float | None = None
    skipped: str = ""

    @classmethod
    def of(cls, path: str, floor: str, project: Sample, baseline: Sample, target: str | Target,
           first_level_p50_ms: float | None = None) -> Row:
        goal = target if isinstance(target, Target) else None
        return cls(path, floor, project.p50_ms, baseline.p50_ms, project.p99_ms, baseline.p99_ms,
                   project.per_second, baseline.per_second, goal.text if goal else str(target),
                   len(project.latencies), goal, first_level_p50_ms)

    @classmethod
    def not_measured(cls, path: str, floor: str, target: Target, reason: str) -> Row:
        nan = float("nan")
        return cls(path, floor, nan, nan, nan, nan, nan, nan, target.text, 0, target, None, reason)

    @property
    def ratio_p50(self) -> float:
        return self.project_p50_ms / self.floor_p50_ms if self.floor_p50_ms else float("inf")

    @property
    def ratio_p99(self) -> float:
        return self.project_p99_ms / self.floor_p99_ms if self.floor_p99_ms else float("inf")

    @property
    def ratio_first(self) -> float | None:
        """The p50 as a multiple of the same measure's p50 at the first level (flatness)."""
        if self.first_level_p50_ms is None or not self.first_level_p50_ms or self.skipped:
            return None
        return self.project_p50_ms / self.first_level_p50_ms

    @property
    def verdict(self) -> str:
        return self.goal.verdict(self) if self.goal else ""


def _number(value: float | None) -> float | None:
    """JSON has no NaN or infinity: a value not measured is null."""
    return None if value is None or math.isnan(value) or math.isinf(value) else value


def _cell(value: float, unit: str = "", digits: int = 2) -> str:
    return "–" if math.isnan(value) or math.isinf(value) else f"{value:.{digits}f}{unit}"


def write_report(rows: list[Row], notes: list[str], out: Path) -> str:
    """bench.json and bench.md in `out`; returns the Markdown table."""
    out.mkdir(parents=True, exist_ok=True)
    data = []
    for r in rows:
        row = {k: _number(v) if isinstance(v, float) else v for k, v in asdict(r).items()}
        data.append({**row, "ratio_p50": _number(r.ratio_p50), "ratio_p99": _number(r.ratio_p99),
                     "ratio_first_level": _number(r.ratio_first), "verdict": r.verdict})
    (out / "bench.json").write_text(json.dumps({"rows": data, "notes": notes}, indent=2, allow_nan=False),
                                    "utf-8")
    lines = [
        "| path | floor | p50 ms (project / floor) | ratio to floor (p50) | ratio to 1,000 (p50) | "
        "p99 ms (project / floor) | ratio p99 | per s (project / floor) | target | met |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        first = "" if r.ratio_first is None else f"{r.ratio_first:.2f}×"
        verdict = r.verdict if not r.skipped else f"not measured: {r.skipped}"
        lines.append(
            f"| {r.path} | {r.floor} | {_cell(r.project_p50_ms)} / {_cell(r.floor_p50_ms)} | "
            f"{_cell(r.ratio_p50, '×')} | {first} | {_cell(r.project_p99_ms)} / {_cell(r.floor_p99_ms)} | "
            f"{_cell(r.ratio_p99, '×')} | {_cell(r.project_per_second, digits=0)} / "
            f"{_cell(r.floor_per_second, digits=0)} | {r.target} | {verdict} |"
        )
    table = "\n".join(lines)
    (out / "bench.md").write_text(table + "\n\n" + "\n".join(f"- {n}" for n in notes) + "\n", "utf-8")
    return table


# The targets of issue 15 ("Targets"), checked per row.
FLAT = 1.5
AUTHENTICATED_CALL = Target("≤ 1.5× echo at p50", floor_ratio=1.5)
GET_CASE = Target("≤ 2× echo + find_one at p50", floor_ratio=2)
PROPOSE_CASE = Target("≤ 3× echo + insert at p50", floor_ratio=3)
CONCURRENT_WRITERS = Target("≥ 50 % of the bare writes/s", throughput_share=0.5)
EVENT_PATH = Target("≤ 2× the sum of its bare steps at p50", floor_ratio=2)


def at_scale(target: Target | None = None) -> Target:
    """A scale row's target: within 1.5× of its own time at the first level (and `target`'s
    floor ratio, if given)."""
    floor = target.floor_ratio if target else None
    text = f"within {FLAT:g}× of its time at 1,000" + (f"; {target.text}" if target else "")
    return Target(text, floor_ratio=floor, flat_ratio=FLAT)
