"""ListCases pages and GetFigures at the storage, before and after the read models (issue 15).

    python -m bench.read_model_paths [1000 10000]

Seeds one throwaway database in bulk (clones of a case the domain code proposed, written with
insert_many as bench/case_paths.py clones, then `CaseReadModels.seed` for the same documents:
the interface a bulk seeder must call), 80 % of the cases closed as on a node after years, and
measures at each level the first, middle and last page of three lists people open (the
proposals awaiting a Fallkonferenz, a case manager's active cases, the organisation's whole
list) and the figures: through `MongoCaseRepository` (the read models) and through the queries
it made before (one filtered, sorted find; one read of every case's figures). Medians of a few
runs, in ms; the database is dropped at the end.
"""

from __future__ import annotations

import statistics
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import mongoengine
from mongoengine import Q

from kimnetz.runtime.mongo import connect
from kimnetz.runtime.settings import Settings
from services.case import SERVICE
from services.case.domain.case import Case
from services.case.domain.commands import ProposeCase
from services.case.domain.person import PersonData
from services.case.domain.policy import Actor
from services.case.domain.ports import CaseFilter
from services.case.domain.retention import FIGURE_KEYS
from services.case.domain.vocabulary import CaseStatus
from services.case.domain.zielgruppen import DEFAULT_CATALOGUE
from services.case.repository import CaseDocument, MongoCaseRepository, _encode_token

OWNER = "caritas-hilden"
MANAGERS = tuple(f"cm-{n}" for n in range(10))
PAGE = 20
RUNS = 3
FROM = datetime(2020, 1, 1, tzinfo=UTC)


def _status(number: int) -> str:
    """80 % closed; the rest spread over the open states (proposed every 20th case)."""
    if number % 20 == 0:
        return CaseStatus.PROPOSED.value
    if number % 10 < 8:
        return CaseStatus.CLOSED.value
    return CaseStatus.ACTIVE.value


def _clone(template: dict[str, Any], number: int) -> dict[str, Any]:
    case_id = uuid.uuid4().hex
    created = FROM + timedelta(minutes=number)
    values = {"case_id": case_id, "pseudonym": f"R-{number:07d}", "created_at": created,
              "updated_at": created, "status": _status(number),
              "case_manager": MANAGERS[(number // 10) % len(MANAGERS)]}
    state = dict(template["state"])
    for key, value in values.items():  # the state holds the same values in its own encoding
        if key in state:
            state[key] = value.isoformat() if isinstance(state[key], str) and isinstance(value, datetime) \
                else value
    return {**template, **{k: v for k, v in values.items() if k != "case_id"}, "_id": case_id, "state": state}


def _median_ms(call: Callable[[], object], runs: int = RUNS) -> float:
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        call()
        times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times)


def _scan_page(query: CaseFilter, token: tuple[datetime, str] | None) -> list[CaseDocument]:
    """The page as `list_cases` read it before the read models (one find; a scan on FerretDB)."""
    condition = Q(owner_org=query.organization) | Q(access_orgs=query.organization)
    if query.statuses:
        condition &= Q(status__in=[s.value for s in query.statuses])
    if query.case_manager:
        condition &= Q(case_manager=query.case_manager)
    if token is not None:
        condition &= Q(created_at__gt=token[0]) | Q(created_at=token[0], case_id__gt=token[1])
    return list(CaseDocument.objects(condition).order_by("created_at", "case_id").limit(PAGE + 1))


def _scan_figures() -> dict[str, int]:
    totals = dict.fromkeys(FIGURE_KEYS, 0)
    rows = CaseDocument._get_collection().find({}, {"_id": 0, "status": 1, "zielgruppe": 1, "figures": 1})
    for row in rows:
        for key, value in (row.get("figures") or {}).items():
            if key in totals:
                totals[key] += int(value)
    return totals


def _bind(call: Callable[..., object], *args: Any) -> Callable[[], object]:
    return lambda: call(*args)


def main(levels: list[int]) -> None:
    settings = Settings().model_copy(update={"node_id": f"rmbench{uuid.uuid4().hex[:6]}"})
    connect(settings, SERVICE)
    repository = MongoCaseRepository(settings.node_id)
    try:
        case, person = Case.propose(ProposeCase(
            owner_org=OWNER, coordination_org="kreis-mettmann-ki", proposer_kind="counselling",
            proposer_unit="Bench", reason="Bench", handlungsfelder=("ausbildung",),
            rechtskreise=("aufenthg",),
            person=PersonData(given_name="A", family_name="B", birth_date=datetime(2000, 1, 1).date(),
                              nationalities=("SY",), country_of_origin="SY", residence_kind="duldung")),
            Actor(subject=MANAGERS[0], organization=OWNER, roles=frozenset({"case_manager"})), FROM,
            DEFAULT_CATALOGUE)
        repository.add(case, person)
        cases = CaseDocument._get_collection()
        template = cases.find_one({"_id": case.case_id})
        assert template is not None
        cases.delete_many({})
        repository.read_models.rebuild()
        seeded = 0
        lists = {
            "proposals (status)": CaseFilter(OWNER, statuses=(CaseStatus.PROPOSED,)),
            "Meine Fälle (manager + active)": CaseFilter(OWNER, statuses=(CaseStatus.ACTIVE,),
                                                         case_manager=MANAGERS[0]),
            "organisation (all)": CaseFilter(OWNER),
        }
        print(f"{'level':>7} {'measure':<46} {'read models':>12} {'scan before':>12}")
        for level in levels:
            began = time.monotonic()
            while seeded < level:
                batch = [_clone(template, n) for n in range(seeded, min(level, seeded + 1000))]
                cases.insert_many(batch, ordered=False)
                repository.read_models.seed(batch)
                seeded += len(batch)
            print(f"# seeded {level:,} cases in {time.monotonic() - began:.0f} s", flush=True)
            if level <= 1000:  # a full scan (the reference); at larger levels it costs minutes here
                assert repository.read_models.check() == [], "read models differ from the cases"
            for name, query in lists.items():
                order = sorted((d["created_at"], d["_id"]) for d in cases.find(
                    {"owner_org": OWNER, **({"status": {"$in": [s.value for s in query.statuses]}}
                                            if query.statuses else {}),
                     **({"case_manager": query.case_manager} if query.case_manager else {})},
                    {"created_at": 1}))
                positions = {"first": None, "middle": order[len(order) // 2 - 1],
                             "last": order[max(len(order) - PAGE - 1, 0)]}
                for where, after in positions.items():
                    token = "" if after is None else _encode_token(after[0], after[1])
                    new = _median_ms(_bind(repository.list_cases, query, PAGE, token))
                    old = _median_ms(_bind(_scan_page, query, after), 1) if where == "first" else float("nan")
                    print(f"{level:>7,} {f'ListCases {name}, {where} page':<46} {new:>12.0f} {old:>12.0f}",
                          flush=True)
            new = _median_ms(repository.figures)
            old = _median_ms(_scan_figures, 1)
            print(f"{level:>7,} {'GetFigures':<46} {new:>12.0f} {old:>12.0f}", flush=True)
    finally:
        client = mongoengine.get_connection(SERVICE)
        client.drop_database(settings.database_name(SERVICE))


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [1000, 10000])
