"""Which scale levels and measures fit the time left (pure; bench/scale_paths.py runs them).

The levels are seeded incrementally (1,000, then 9,000 more, then 90,000 more), so a level costs
the seeding of its new cases plus its measures. Seeding is estimated from the rate measured so
far (or `SEED_SECONDS_PER_CASE` before the first), a measure from its own time at the previous
level scaled by the size (what a scan costs; a path that stays flat is overestimated, which only
errs on the side of the budget). What does not fit is not run and says so, with its estimate.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

#: Seeding cost per case (building by the domain and insert of view and change) before any was
#: measured in the run: about 3 ms on FerretDB 1.24 (SQLite) on the 2-core machine.
SEED_SECONDS_PER_CASE = 0.003


@dataclass(frozen=True)
class LevelPlan:
    level: int
    #: Cases to add to reach the level (0: already seeded).
    new_cases: int
    seed_seconds: float
    #: Measures to run, in order, each with its estimate in seconds (None: no earlier level).
    run: tuple[tuple[str, float | None], ...] = ()
    #: Measures left out, each with the reason.
    skipped: Mapping[str, str] = field(default_factory=dict)

    @property
    def seeds(self) -> bool:
        return bool(self.run)


def seed_estimate(new_cases: int, rate: float | None) -> float:
    """Seconds to seed `new_cases` at `rate` seconds per case (None: none seeded yet)."""
    return new_cases * (SEED_SECONDS_PER_CASE if rate is None else rate)


def measure_estimate(level: int, previous_level: int, previous_seconds: float | None) -> float | None:
    """A measure's seconds at `level` from its seconds at `previous_level` (linear in size)."""
    if previous_seconds is None or not previous_level:
        return None
    return previous_seconds * level / previous_level


def plan_level(level: int, held: int, rate: float | None, left: float, measures: Sequence[str],
               previous_level: int, previous: Mapping[str, float]) -> LevelPlan:
    """What of `level` fits into `left` seconds, with `held` cases on the node and seeding at
    `rate` seconds per case (audit entries included; None: none seeded yet): the seeding first
    (without it nothing at the level can run), then the measures in their order as long as
    their estimates fit; a measure that does not fit is skipped, later cheaper ones may run."""
    new = max(0, level - held)
    seeding = seed_estimate(new, rate)
    if seeding > left:
        reason = (f"seeding {new:,} more cases takes about {seeding:.0f} s, {max(left, 0):.0f} s "
                  "of the time budget left")
        return LevelPlan(level, new, seeding, (), dict.fromkeys(measures, reason))
    remaining = left - seeding
    run: list[tuple[str, float | None]] = []
    skipped: dict[str, str] = {}
    for name in measures:
        estimate = measure_estimate(level, previous_level, previous.get(name))
        if estimate is not None and estimate > remaining:
            skipped[name] = (f"about {estimate:.0f} s expected ({previous[name]:.1f} s at "
                             f"{previous_level:,}), {remaining:.0f} s of the time budget left")
            continue
        run.append((name, estimate))
        remaining -= estimate or 0.0
    return LevelPlan(level, new, seeding, tuple(run), skipped)


def parts_budget(total: float, spent: float, reserve: float) -> float:
    """Seconds left for the scale part: the whole run's `total` less what the parts before it
    spent and a `reserve` for stopping the nodes and writing the report."""
    return max(0.0, total - spent - reserve)
