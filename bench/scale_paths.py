"""Scale on one node: ListCases with filters and paging (first, middle and last page) and the
monitoring aggregation (GetFigures) at growing numbers of cases, each next to the bare pymongo
query or aggregation on the same collection at the same size.

Cases are seeded in bulk, not through gRPC: one real case is proposed through the api, and its
stored document (as `MongoCaseRepository` writes it: indexed copies, state, person, figures) is
cloned with its own id, pseudonym, creation time, status and case manager and written with
insert_many; 100,000 proposals through the api would take hours on this backend."""

from __future__ import annotations

import copy
import time
from datetime import datetime
from typing import Any

from bench.case_paths import OWNER, CaseNode, clone
from bench.measure import Row, sample
from kim.case.v1 import case_pb2, types_pb2 as T
from services.case.repository import _encode_token  # the api's own page token, for deep pages

PAGE = 50
#: Calls per measurement: every one scans the collection on FerretDB (seconds at 1,000 cases).
SAMPLES = 2
MANAGERS = ("bench.manager.a", "bench.manager.b", "bench.manager.c", "bench.manager.d")
STATUSES = ("proposed", "in_review")


def _clone(template: dict[str, Any], number: int) -> dict[str, Any]:
    return clone(template, number, status=STATUSES[number % 2],
                 case_manager=MANAGERS[number % len(MANAGERS)])


def _matching(number: int) -> bool:
    """The filter of the list: proposed cases of the first case manager (1 in 4)."""
    return STATUSES[number % 2] == "proposed" and MANAGERS[number % len(MANAGERS)] == MANAGERS[0]


def scale(node: CaseNode, levels: tuple[int, ...], budget: float, notes: list[str]) -> list[Row]:
    cases = node.cases()
    case_id = node.propose(1, start=3_000_000)[0]
    template = copy.deepcopy(cases.find_one({"_id": case_id}))
    assert template is not None
    cases.delete_many({})  # the curve starts from an empty collection
    stub = node.stub
    rows: list[Row] = []
    matching: list[tuple[datetime, str]] = []
    seeded, began = 0, time.monotonic()
    curve: list[str] = []
    last_level, last_seconds = 0, 0.0
    for level in levels:
        spent = time.monotonic() - began
        # Everything here scans on FerretDB (SQLite), so a level costs about its size in time.
        expected = last_seconds * level / last_level if last_level else 0.0
        if spent + expected > budget:
            notes.append(f"Scale: stopped before {level:,} cases: about {expected:.0f} s expected, "
                         f"{budget - spent:.0f} s of this part's {budget:.0f} s budget left "
                         f"(measured up to {seeded:,}).")
            break
        level_began = time.monotonic()
        seeding = time.monotonic()
        while seeded < level:
            batch = [_clone(template, n) for n in range(seeded, min(level, seeded + 1000))]
            cases.insert_many(batch, ordered=False)
            matching += [(d["created_at"], d["_id"]) for n, d in enumerate(batch, seeded) if _matching(n)]
            seeded += len(batch)
        seed_seconds = time.monotonic() - seeding
        manager = node.as_manager()
        filters = {"owner_org": OWNER, "status": {"$in": ["proposed"]}, "case_manager": MANAGERS[0]}
        pages = {"first": "", "middle": _encode_token(*matching[len(matching) // 2 - 1]),
                 "last": _encode_token(*matching[max(0, len(matching) - PAGE - 1)])}
        for name, token in pages.items():
            request = case_pb2.ListCasesRequest(statuses=[T.CASE_STATUS_PROPOSED], case_manager=MANAGERS[0],
                                                page_size=PAGE, page_token=token, purpose="Fallbearbeitung")
            project = sample(lambda r=request, m=manager: stub.ListCases(r, metadata=m, timeout=120),
                             SAMPLES, max_seconds=8, warmup=0)
            after = {} if not token else {"$or": [
                {"created_at": {"$gt": _decode(token)[0]}},
                {"created_at": _decode(token)[0], "_id": {"$gt": _decode(token)[1]}}]}
            floor = sample(lambda a=after, f=filters: list(cases.find({**f, **a}, {"person": 0})
                                                .sort([("created_at", 1), ("_id", 1)]).limit(PAGE + 1)),
                           SAMPLES, max_seconds=8, warmup=0)
            rows.append(Row.of(f"ListCases, {name} page of {PAGE} (status + case manager filter), "
                               f"{level:,} cases", "bare pymongo find, same filter, sort and limit",
                               project, floor, "constant per page"))
            curve.append(f"list {name} @ {level:,}: {project.p50_ms:.0f} ms")
        clerk = node.federation.metadata(OWNER, "clerk")
        figures = sample(lambda c=clerk: stub.GetFigures(case_pb2.GetFiguresRequest(), metadata=c,
                                                         timeout=300), SAMPLES, max_seconds=20,
                         warmup=0)
        floor = sample(lambda: list(cases.aggregate([{"$group": {"_id": "$status", "n": {"$sum": 1}}}])),
                       SAMPLES, max_seconds=20, warmup=0)
        rows.append(Row.of(f"GetFigures (monitoring aggregation), {level:,} cases",
                           "one bare $group count by status", figures, floor, "≤ linear in cases"))
        curve.append(f"figures @ {level:,}: {figures.p50_ms:.0f} ms (seeded in {seed_seconds:.0f} s)")
        last_level, last_seconds = level, time.monotonic() - level_began
        if level == levels[0]:
            try:  # a profile is an aid to the report; without it the figures above still stand
                notes.append(profile_figures(node, PROFILE_FILE))
            except Exception as error:
                notes.append(f"Profile of the figures not taken: {error!r}.")
    notes.append("Scale curve (p50): " + "; ".join(curve) + ".")
    return rows


PROFILE_FILE = "out/bench/profile-figures.txt"


def profile_figures(node: CaseNode, out: str) -> str:
    """GetFigures misses its target by far: the repository's aggregation, run here in-process
    on the node's own database under pyinstrument (the api process runs the same code)."""
    from pathlib import Path

    from pyinstrument import Profiler

    from kimnetz.runtime.mongo import connect
    from services.case.repository import MongoCaseRepository

    connect(node.settings, "case")
    repository = MongoCaseRepository(node.settings.node_id)
    profiler = Profiler(interval=0.005)
    with profiler:
        repository.figures()
    text = profiler.output_text(unicode=True, color=False, show_all=False)
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text(text, encoding="utf-8")
    return f"Profile of MongoCaseRepository.figures() at {cases_count(node):,} cases: {out}."


def cases_count(node: CaseNode) -> int:
    return int(node.cases().estimated_document_count())


def _decode(token: str) -> tuple[datetime, str]:
    from services.case.repository import _decode_token

    return _decode_token(token)
