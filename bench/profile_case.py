"""Where a case call spends its time: the case service's handlers in-process on a database of
their own, under pyinstrument and with every MongoDB command timed (pymongo's command
monitoring). Not part of `make bench` (the run has no minutes to spare); run it when a case
path misses its target:

    .venv/bin/python -m bench.profile_case [--cases 200] [--out out/bench/profile-case.txt]

Seeds `--cases` proposals (proposed, consented, submitted) through the service layer, then
profiles one more of those cycles, GetCaseBrief, GetCase and ProposeCase. The database (a node
id of its own, "benchprof…") is dropped afterwards.
"""

from __future__ import annotations

import argparse
import collections
import sys
import time
import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from pymongo import MongoClient, monitoring

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "unit" / "case"))

_COMMANDS: dict[tuple[str, str], list[float]] = collections.defaultdict(lambda: [0, 0.0])
_RUNNING: dict[int, tuple[str, str]] = {}


class _Commands(monitoring.CommandListener):
    """Count and time of each command by its name and filter (the shape of the query)."""

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        shape = {k: v for k, v in event.command.items() if k in ("filter", "sort", "q", "query")}
        for key in ("updates", "deletes"):
            if key in event.command:
                shape = {"q": event.command[key][0].get("q")}
        _RUNNING[event.request_id] = (event.command_name, _shape(shape))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        self._done(event.request_id, event.duration_micros)

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        self._done(event.request_id, event.duration_micros)

    def _done(self, request_id: int, micros: int) -> None:
        key = _RUNNING.pop(request_id, ("?", ""))
        _COMMANDS[key][0] += 1
        _COMMANDS[key][1] += micros / 1000


def _shape(value: Any) -> str:
    """The query with its values replaced by their type: one line per kind of query."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_shape(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_shape(v) for v in value[:2]) + "]"
    return type(value).__name__


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=200)
    parser.add_argument("--out", type=Path, default=Path("out/bench/profile-case.txt"))
    args = parser.parse_args()
    monitoring.register(_Commands())

    from case_factories import (  # type: ignore[import-not-found]  # tests/unit/case, on sys.path above
        CM,
        COORDINATION,
        OWNER,
        make_actor,
        make_proposal,
    )
    from pyinstrument import Profiler

    from kimnetz.runtime.mongo import connect
    from kimnetz.runtime.settings import Settings
    from services.case.composition import case_services
    from services.case.domain import commands as c
    from services.case.repository import MongoCaseRepository

    settings = Settings().model_copy(update={"node_id": f"benchprof{uuid.uuid4().hex[:4]}"})
    connect(settings, "case")
    service = case_services(MongoCaseRepository(settings.node_id), node_org=OWNER)
    coordinator = make_actor(("coordinator",), COORDINATION, "koord-bench")
    signed, expires = date.today() - timedelta(days=1), date.today() + timedelta(days=300)

    def cycle() -> str:
        case_id = service.fallvorschlaege.propose_case(CM, make_proposal()).case_id
        service.einwilligungen.record_consent(CM, c.RecordConsent(
            case_id, "schweigepflichtentbindung", COORDINATION, ("fallkonferenz",), ("falldokumentation",),
            signed, expires))
        service.fallvorschlaege.submit_for_review(CM, c.SubmitForReview(case_id))
        return case_id

    lines: list[str] = []
    try:
        began = time.perf_counter()
        for _ in range(args.cases):
            cycle()
        lines.append(f"{args.cases} cases seeded (propose, consent, submit) in "
                     f"{time.perf_counter() - began:.0f} s")
        _COMMANDS.clear()
        profiler = Profiler(interval=0.002)
        timings: list[str] = []

        def timed(label: str, call: Any) -> Any:
            begin = time.perf_counter()
            result = call()
            timings.append(f"{label}: {(time.perf_counter() - begin) * 1000:.0f} ms")
            return result

        with profiler:
            case_id = timed("propose + consent + submit", cycle)
            timed("GetCaseBrief",
                  lambda: service.falldaten.get_case_brief(coordinator, case_id, "Fallkonferenz")[1])
            timed("GetCase", lambda: service.falldaten.get_case(CM, case_id, "Fallbearbeitung"))
            timed("ProposeCase", lambda: service.fallvorschlaege.propose_case(CM, make_proposal()))
        lines += [*timings, "", "MongoDB commands of these calls (total ms, count, command, query shape):"]
        for (name, shape), (count, millis) in sorted(_COMMANDS.items(), key=lambda kv: -kv[1][1]):
            lines.append(f"{millis:9.1f} ms {int(count):3d}x {name} {shape}")
        lines += ["", profiler.output_text(unicode=True, color=False)]
    finally:
        client: MongoClient[dict[str, Any]]
        with MongoClient(settings.mongodb_uri) as client:
            client.drop_database(settings.database_name("case"))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines[:40]))
    print(f"written: {args.out}")


if __name__ == "__main__":
    main()
