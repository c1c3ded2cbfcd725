"""The adapter's read models (services/case/read_models.py) on the real FerretDB: what the
contract tests cannot reach from the port. A fold whose process stopped is taken over without
counting a change twice; a projection repeated after its fold changes nothing; a view repaired
from a change feeds the lists and figures; `kim node migrate` (migration 4) builds them for a
node that has cases and no read models; cases written in bulk around the api are seeded."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "unit" / "case"))
from case_factories import OWNER, make_case_with_person

from services.case.domain.ports import CaseFilter
from services.case.domain.vocabulary import CaseStatus
from services.case.migrations import MIGRATIONS
from services.case.read_models import CaseReadModels
from services.case.repository import CaseChangeDocument, CaseDocument, MongoCaseRepository


def _cases(repository: MongoCaseRepository, count: int, status: CaseStatus = CaseStatus.ACTIVE) -> list[str]:
    ids = []
    for _ in range(count):
        case, person = make_case_with_person(status)
        repository.add(case, person)
        ids.append(case.case_id)
    return ids


def _listed(repository: MongoCaseRepository, query: CaseFilter) -> list[str]:
    return [case.case_id for case, _ in repository.list_cases(query, 100, "").items]


def test_a_stopped_fold_is_taken_over_and_counts_each_change_once(repository: MongoCaseRepository) -> None:
    ids = _cases(repository, 3)
    models = repository.read_models
    pending = list(models.pending.find({}))
    number = models._head().number + 1
    # The fold claimed, the lists and figures written, then its process stopped before it
    # recorded what it counted of each case (the `c:` documents) and before it was done.
    models.models.insert_one({"_id": f"fold:{number}", "started_at": datetime.now(UTC) - timedelta(minutes=5),
                              "done": False, "ids": [p["_id"] for p in pending]})
    models._fold(number, pending, set())
    models.models.delete_many({"_id": {"$regex": "^c:"}})
    assert repository.figures()["status"] == {"active": 3}
    assert models.check() == []
    assert sorted(_listed(repository, CaseFilter(OWNER))) == sorted(ids)


def test_a_fold_another_process_runs_is_waited_for(repository: MongoCaseRepository) -> None:
    _cases(repository, 1)
    models = repository.read_models
    number = models._head().number + 1
    models.models.insert_one({"_id": f"fold:{number}", "started_at": datetime.now(UTC), "done": False,
                              "ids": []})
    assert models.fold() is None, "a running fold is not folded over"
    models.models.update_one({"_id": f"fold:{number}"}, {"$set": {"done": True}})
    assert repository.figures()["status"] == {"active": 1}


def test_a_projection_repeated_after_its_fold_changes_nothing(repository: MongoCaseRepository) -> None:
    [case_id] = _cases(repository, 1)
    case = repository.get(case_id)
    case.status = CaseStatus.CLOSED
    repository.save(case)
    assert repository.figures()["status"] == {"closed": 1}
    for change in CaseChangeDocument.objects(aggregate_id=case_id):  # a repair, a second writer
        repository.read_models.project(change)
    assert repository.figures()["status"] == {"closed": 1}
    assert _listed(repository, CaseFilter(OWNER, statuses=(CaseStatus.ACTIVE,))) == []
    assert repository.read_models.check() == []


def test_a_view_repaired_from_a_change_feeds_lists_and_figures(repository: MongoCaseRepository) -> None:
    [case_id] = _cases(repository, 1)
    case = repository.get(case_id)
    case.status = CaseStatus.CLOSED
    # As if the process stopped right after inserting the change: neither the view nor the
    # read models followed it.
    repository._change(case, 2, repository._fields(case, version=2)).save()
    assert repository.figures()["status"] == {"active": 1}
    assert repository.get(case_id).status is CaseStatus.CLOSED  # the load repairs the view
    assert repository.figures()["status"] == {"closed": 1}
    assert _listed(repository, CaseFilter(OWNER, statuses=(CaseStatus.CLOSED,))) == [case_id]


def test_the_migration_builds_the_read_models_of_a_node_with_cases(repository: MongoCaseRepository) -> None:
    ids = _cases(repository, 5, CaseStatus.PROPOSED)
    figures = repository.figures()
    database = CaseDocument._get_db()
    models = CaseReadModels(database)
    models.models.delete_many({})  # a node from before the read models
    assert models.check() != []
    migration = next(m for m in MIGRATIONS if m.version == 4)
    assert migration.apply(database) == 5
    assert migration.apply(database) == 0, "run again, it changes nothing"
    assert models.check() == []
    assert repository.figures() == figures
    assert _listed(repository, CaseFilter(OWNER, statuses=(CaseStatus.PROPOSED,))) == \
        [case_id for _, case_id in sorted((repository.get(i).created_at, i) for i in ids)]


def _clone(stored: dict[str, Any], n: int, created_at: datetime, status: str) -> dict[str, Any]:
    """A copy of a stored case document as a bulk writer (bench) makes it."""
    case_id = f"bulk-{n:03d}"
    state = {**stored["state"], "case_id": case_id, "status": status, "pseudonym": f"B-{n:03d}"}
    return {**stored, "_id": case_id, "pseudonym": f"B-{n:03d}", "created_at": created_at, "status": status,
            "state": state}


def test_cases_written_in_bulk_are_seeded_into_small_buckets(repository: MongoCaseRepository) -> None:
    [template] = _cases(repository, 1)
    cases = CaseDocument._get_collection()
    stored = cases.find_one({"_id": template})
    assert stored is not None
    base = datetime(2024, 1, 1, tzinfo=UTC)
    clones = [_clone(stored, n, base + timedelta(minutes=n), "closed" if n % 3 else "active")
              for n in range(40)]
    cases.insert_many(clones)
    models = CaseReadModels(CaseDocument._get_db(), bucket_size=6)
    assert models.seed(clones) == 40
    assert models.check() == []
    assert repository.figures()["status"] == {"active": 15, "closed": 26}
    closed = [d["_id"] for d in clones if d["status"] == "closed"]
    seen, token = [], ""
    while True:
        page = repository.list_cases(CaseFilter(OWNER, statuses=(CaseStatus.CLOSED,)), 7, token)
        seen += [case.case_id for case, _ in page.items]
        token = page.next_page_token
        if not token:
            break
    assert seen == closed
