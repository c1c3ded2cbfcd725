"""Scale on one node (issue 15, item 4): the member node at 1,000, 10,000 and 100,000 cases with
as many audit entries, each measure at each level next to its bare floor and to its own time at
the first level (flatness: "within 1.5× of its own time at 1,000").

Measures per level: GetCase, ProposeCase, the first, middle and last ListCases page (admitted
cases of one case manager, 1 in 8 of the seeded cases), GetFigures. Floors, measured at the same
level on the same servers: GetCase bare echo + find_one; ProposeCase bare echo + insert_one of
the same stored document; a ListCases page bare echo + the same find (filter, sort, limit) in
pymongo; GetFigures bare echo + one find_one by `_id` (what reading figures maintained as the
changes happen costs). On FerretDB 1.24 (SQLite) the list floor is itself a scan: there the
column "ratio to 1,000" is the one that tells.

Seeding (bench/seeding.py): incremental, 1,000 then 9,000 more then 90,000 more cases, built by
the case domain and inserted in bulk; the audit trail is filled up to the level the same way
(sealed after the tail the api left). The cases and entries the other parts left on the node
count towards the level. bench/levels.py decides what fits the time left; what does not is a
row "not measured" with its estimate."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from pymongo.database import Database

from bench import agenda_paths, levels as planning, seeding
from bench.case_paths import COORDINATION, CaseNode, proposal
from bench.measure import GET_CASE, PROPOSE_CASE, Row, Sample, Target, at_scale, sample, summed
from bench.runtime_paths import grpc_echo
from kim.case.v1 import case_pb2, types_pb2 as T
from kimctl.story import KREIS
from services.case.repository import _encode_token  # the api's own page token, for deep pages

LEVELS = (1_000, 10_000, 100_000)
PAGE = 50
PURPOSE = "Fallbearbeitung"
#: Calls per measure and their time box in seconds (a list page is a scan on FerretDB/SQLite).
CALLS = {"GetCase": (20, 15.0), "ProposeCase": (20, 15.0), "ListCases first": (3, 60.0),
         "ListCases middle": (3, 60.0), "ListCases last": (3, 60.0), "GetFigures": (3, 60.0)}
MEASURES = tuple(CALLS)
LIST_FLOOR = "bare grpcio echo + bare pymongo find, same filter, sort and limit (sum)"
LABELS = {
    "GetCase": ("GetCase (case manager's token: authorisation, audit entry, read)",
                "bare grpcio echo + bare pymongo find_one (sum)"),
    "ProposeCase": ("ProposeCase (validation, case and change, outbox, audit entry)",
                    "bare grpcio echo + bare pymongo insert_one of the same document (sum)"),
    "ListCases first": (f"ListCases, first page of {PAGE} (status + case manager)", LIST_FLOOR),
    "ListCases middle": (f"ListCases, middle page of {PAGE} (status + case manager)", LIST_FLOOR),
    "ListCases last": (f"ListCases, last page of {PAGE} (status + case manager)", LIST_FLOOR),
    "GetFigures": ("GetFigures (monitoring figures)",
                   "bare grpcio echo + one bare find_one by _id (a maintained figures document)"),
}
TARGETS = {"GetCase": at_scale(GET_CASE), "ProposeCase": at_scale(PROPOSE_CASE)}


def matching(number: int) -> bool:
    """Whether seeded case `number` is in the measured list (admitted, first case manager)."""
    return seeding.kind(number) == "admitted" and seeding.manager(number) == seeding.MANAGERS[0]


def page_starts(listed: Sequence[tuple[datetime, str]]) -> dict[str, tuple[datetime, str] | None]:
    """Where the first, middle and last page of `listed` (sorted by creation time and id) start:
    the case before the page, as the api's page token names it (None: from the beginning)."""
    middle = len(listed) // 2 - 1
    last = len(listed) - PAGE - 1
    return {"first": None, "middle": listed[middle] if middle >= 0 else None,
            "last": listed[last] if last >= 0 else None}


class ScaleRun:
    """The member node's data and the levels measured so far."""

    def __init__(self, node: CaseNode, echo_target: str, notes: list[str]) -> None:
        self.node = node
        self.echo_target = echo_target
        self.notes = notes
        self.database: Database[dict[str, Any]] = node.mongo[node.settings.database_name("case")]
        self.cases = self.database["cases"]
        # What the other parts left counts towards the levels (counted once, then added up).
        self.cases_held = self.cases.count_documents({})
        self.audit_held = self.database["audit"].count_documents({})
        self.number = 0
        self.listed: list[tuple[datetime, str]] = []
        self.readable: list[str] = []
        self.seeding_seconds = 0.0
        self.seeded = 0
        self.first_p50: dict[str, float] = {}
        self.previous: dict[str, float] = {}
        self.previous_level = 0

    # -- seeding -------------------------------------------------------------------------------

    def seed_to(self, level: int) -> float:
        """Cases and audit entries up to `level` each; the seconds it took."""
        began = time.monotonic()
        new_cases = max(0, level - self.cases_held)
        added = seeding.seed_cases(self.database, self.node.settings.node_id, self.number, new_cases)
        self.number += new_cases
        self.cases_held += new_cases
        self.listed += [(s.created_at, s.case_id) for s in added if matching(s.number)]
        self.listed.sort()
        self.readable += [s.case_id for s in added if seeding.kind(s.number) == "proposed"][:10]
        new_entries = max(0, level - self.audit_held)
        seeding.seed_audit(self.database, new_entries, self.readable[:10] or [""])
        self.audit_held += new_entries
        seconds = time.monotonic() - began
        self.seeding_seconds += seconds
        self.seeded += new_cases
        self.notes.append(f"Scale: seeded {new_cases:,} cases and {new_entries:,} audit entries in "
                          f"{seconds:.0f} s (now {self.cases_held:,} cases, {self.audit_held:,} entries).")
        return seconds

    # -- measures ------------------------------------------------------------------------------

    def measure(self, name: str, level: int, left: float) -> tuple[Sample, Sample]:
        """The project's path and its floor, each within a third of the `left` seconds at most."""
        count, box = CALLS[name]
        box = min(box, max(5.0, left / 3))
        node, stub = self.node, self.node.stub
        echo = grpc_echo(self.echo_target, max(count, 10))
        if name == "GetCase":
            case_id = self.readable[len(self.readable) // 2]
            get = case_pb2.GetCaseRequest(case_id=case_id, purpose=PURPOSE)
            project = sample(lambda: stub.GetCase(get, metadata=node.as_manager(), timeout=120),
                             count, box, warmup=1)
            bare = sample(lambda: self.cases.find_one({"_id": case_id}, {"person": 0}), count, box, 1)
            return project, summed(echo, bare)
        if name == "ProposeCase":
            numbers = iter(range(8_000_000 + level, 9_000_000))
            project = sample(lambda: stub.ProposeCase(proposal(next(numbers)), metadata=node.as_manager(),
                                                      timeout=120), count, box, warmup=1)
            template = self.cases.find_one({"_id": self.readable[0]})
            assert template is not None
            floor = self.database["bench_floor"]
            try:
                bare = sample(lambda: floor.insert_one({**template, "_id": uuid.uuid4().hex}), count, box, 1)
            finally:
                floor.drop()
            return project, summed(echo, bare)
        if name == "GetFigures":
            clerk = node.federation.metadata(node.organization, "clerk")
            project = sample(lambda: stub.GetFigures(case_pb2.GetFiguresRequest(), metadata=clerk,
                                                     timeout=600), count, box, warmup=0)
            some = self.readable[0]
            bare = sample(lambda: self.cases.find_one({"_id": some}, {"figures": 1}), count, box, 1)
            return project, summed(echo, bare)
        after = page_starts(self.listed)[name.split()[-1]]
        token = "" if after is None else _encode_token(*after)
        request = case_pb2.ListCasesRequest(statuses=[T.CASE_STATUS_ADMITTED],
                                            case_manager=seeding.MANAGERS[0], page_size=PAGE,
                                            page_token=token, purpose=PURPOSE)
        project = sample(lambda: stub.ListCases(request, metadata=node.as_manager(), timeout=600),
                         count, box, warmup=0)
        organization = node.organization
        query: dict[str, Any] = {"$or": [{"owner_org": organization}, {"access_orgs": organization}],
                                 "status": {"$in": ["admitted"]}, "case_manager": seeding.MANAGERS[0]}
        if after is not None:
            created, case_id = after
            query = {"$and": [query, {"$or": [{"created_at": {"$gt": created}},
                                              {"created_at": created, "_id": {"$gt": case_id}}]}]}
        bare = sample(lambda: list(self.cases.find(query, {"person": 0})
                                   .sort([("created_at", 1), ("_id", 1)]).limit(PAGE + 1)),
                      count, box, warmup=0)
        return project, summed(echo, bare)

    def level(self, level: int, left: float, status: Callable[[str], Any]) -> list[Row]:
        deadline = time.monotonic() + left
        rate = self.seeding_seconds / self.seeded if self.seeded else None
        plan = planning.plan_level(level, self.cases_held, rate, left, MEASURES, self.previous_level,
                                   self.previous)
        if plan.seeds:
            with status(f"scale: seeding {plan.new_cases:,} cases (≈ {plan.seed_seconds:.0f} s) "
                        f"to {level:,}"):
                self.seed_to(level)
        rows: dict[str, Row] = {}
        timings: dict[str, float] = {}
        skipped = dict(plan.skipped)
        for name, estimate in plan.run:
            remaining = deadline - time.monotonic()
            # The plan's estimates come from the level before; the first level has none, and a
            # loaded machine can take longer than planned: the budget is checked again here.
            if remaining <= 0 or (estimate is not None and estimate > remaining):
                skipped[name] = (f"the time budget is spent ({max(remaining, 0):.0f} s left"
                                 + (f", about {estimate:.0f} s expected)" if estimate is not None else ")"))
                continue
            with status(f"scale: {name} at {level:,} cases"
                        + (f" (≈ {estimate:.0f} s)" if estimate is not None else "")):
                began = time.monotonic()
                project, floor = self.measure(name, level, remaining)
                timings[name] = time.monotonic() - began
            self.first_p50.setdefault(name, project.p50_ms)
            path, floor_text = LABELS[name]
            rows[name] = Row.of(self._label(path, level), floor_text, project, floor,
                                TARGETS.get(name, at_scale()), self.first_p50[name])
        for name, reason in skipped.items():
            path, floor_text = LABELS[name]
            rows[name] = Row.not_measured(self._label(path, level), floor_text,
                                          TARGETS.get(name, at_scale()), reason)
            self.notes.append(f"Scale: {name} at {level:,} cases not measured: {reason}.")
        if timings:
            self.previous, self.previous_level = timings, level
        return [rows[name] for name in MEASURES if name in rows]

    def _label(self, path: str, level: int) -> str:
        return f"{path} @ {level:,} cases, {level:,} audit entries"


def scale(node: CaseNode, echo_target: str, levels: Sequence[int], budget: float, notes: list[str],
          status: Callable[[str], Any]) -> list[Row]:
    """Every level of `levels` within `budget` seconds (levels or measures that do not fit are
    rows "not measured" with the reason)."""
    run = ScaleRun(node, echo_target, notes)
    began = time.monotonic()
    rows: list[Row] = []
    for level in levels:
        rows += run.level(level, budget - (time.monotonic() - began), status)
    curve = [f"{r.path.split(' (')[0]} @ {r.path.rsplit('@', 1)[1].split(' cases')[0].strip()}: "
             f"{r.project_p50_ms:.0f} ms" for r in rows if not r.skipped]
    notes.append(f"Scale part: {time.monotonic() - began:.0f} s of its {budget:.0f} s budget; "
                 f"seeding {run.seeding_seconds:.0f} s for {run.seeded:,} cases; curve (p50): "
                 + "; ".join(curve) + ".")
    return rows


# --- BuildAgenda at each level (the agenda part's three nodes) ---------------------------------

AGENDA_TARGET = at_scale(Target("≤ 2× the sum of the bare brief fetches at p50", floor_ratio=2))


def agenda_levels(agenda: agenda_paths.AgendaNodes, proposals: dict[str, list[str]], levels: Sequence[int],
                  budget: float, echo_target: str, notes: list[str],
                  status: Callable[[str], Any]) -> list[Row]:
    """BuildAgenda with the agenda part's proposals over three nodes while the Kreis node holds
    each level's cases besides them (seeded as the member node's, none in review: the agenda
    takes in review only), one timed round per level after a warm-up (agenda_paths.measure),
    against the sum of the bare brief fetches of the same round."""
    kreis = agenda.cases[KREIS]
    database: Database[dict[str, Any]] = kreis.mongo[kreis.settings.database_name("case")]
    began = time.monotonic()
    held, number, seconds_seeding = 0, 0, 0.0
    previous: dict[str, float] = {}
    previous_level = 0
    first: float | None = None
    rows: list[Row] = []
    path, floor_text = ("BuildAgenda at the Kreis, {n} proposals over 3 nodes",
                        "sum of the bare brief fetches (the Kreis's ListCases pages + one GetCaseBriefs "
                        "per member node)")
    total = sum(len(ids) for ids in proposals.values())
    for level in levels:
        label = f"{path.format(n=total)} @ {level:,} cases at the Kreis besides them"
        rate = seconds_seeding / held if held else None
        plan = planning.plan_level(level, held, rate, budget - (time.monotonic() - began), ("BuildAgenda",),
                                   previous_level, previous)
        if not plan.seeds:
            reason = plan.skipped["BuildAgenda"]
            rows.append(Row.not_measured(label, floor_text, AGENDA_TARGET, reason))
            notes.append(f"Scale: BuildAgenda at {level:,} cases not measured: {reason}.")
            continue
        with status(f"scale: seeding {plan.new_cases:,} cases at the Kreis"):
            seeding_began = time.monotonic()
            seeding.seed_cases(database, kreis.settings.node_id, 10_000_000 + number, plan.new_cases,
                               owner=COORDINATION, coordination=COORDINATION,
                               kinds=seeding.OFF_AGENDA)
            seconds_seeding += time.monotonic() - seeding_began
            held, number = level, number + plan.new_cases
        with status(f"scale: BuildAgenda with {level:,} cases at the Kreis"):
            measuring = time.monotonic()
            measured = agenda_paths.measure(agenda, proposals, 1, echo_target, notes)[0]
            previous, previous_level = {"BuildAgenda": time.monotonic() - measuring}, level
        first = measured.project_p50_ms if first is None else first
        rows.append(replace(measured, path=label, floor=floor_text, target=AGENDA_TARGET.text,
                            goal=AGENDA_TARGET, first_level_p50_ms=first))
    notes.append(f"Scale, agenda: {time.monotonic() - began:.0f} s of its {budget:.0f} s budget, seeding "
                 f"{seconds_seeding:.0f} s for {held:,} cases at the Kreis.")
    return rows
