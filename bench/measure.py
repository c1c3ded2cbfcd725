"""Latency samples, their percentiles and the project/floor table."""

from __future__ import annotations

import json
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
class Row:
    """One hot path against its floor; ratios > 1 mean the project is slower than the floor."""

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

    @classmethod
    def of(cls, path: str, floor: str, project: Sample, baseline: Sample, target: str) -> Row:
        return cls(path, floor, project.p50_ms, baseline.p50_ms, project.p99_ms, baseline.p99_ms,
                   project.per_second, baseline.per_second, target, len(project.latencies))

    @property
    def ratio_p50(self) -> float:
        return self.project_p50_ms / self.floor_p50_ms if self.floor_p50_ms else float("inf")

    @property
    def ratio_p99(self) -> float:
        return self.project_p99_ms / self.floor_p99_ms if self.floor_p99_ms else float("inf")


def write_report(rows: list[Row], notes: list[str], out: Path) -> str:
    """bench.json and bench.md in `out`; returns the Markdown table."""
    out.mkdir(parents=True, exist_ok=True)
    data = [{**asdict(r), "ratio_p50": r.ratio_p50, "ratio_p99": r.ratio_p99} for r in rows]
    (out / "bench.json").write_text(json.dumps({"rows": data, "notes": notes}, indent=2), "utf-8")
    lines = [
        "| path | floor | p50 ms (project / floor) | ratio p50 | p99 ms (project / floor) | "
        "ratio p99 | per s (project / floor) | target |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r.path} | {r.floor} | {r.project_p50_ms:.2f} / {r.floor_p50_ms:.2f} | "
            f"{r.ratio_p50:.2f}× | {r.project_p99_ms:.2f} / {r.floor_p99_ms:.2f} | {r.ratio_p99:.2f}× | "
            f"{r.project_per_second:.0f} / {r.floor_per_second:.0f} | {r.target} |"
        )
    table = "\n".join(lines)
    (out / "bench.md").write_text(table + "\n\n" + "\n".join(f"- {n}" for n in notes) + "\n", "utf-8")
    return table
