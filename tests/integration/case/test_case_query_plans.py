"""What the server says about the case service's hot queries (issue 15): `explain()` of each,
on the session's case database with the service's declared indexes.

- MongoDB 7: every hot query is an `_id` lookup (IDHACK or an IXSCAN of `_id_`), never a
  COLLSCAN; the data protection officer's read of a case's trail uses the `(case_id, sequence)`
  index.
- FerretDB 1.24 reports whether the filter went into SQL (`filterPushdown`) and the backend's
  own plan: on SQLite a SCAN even of the pushed-down `_id`; on PostgreSQL a GIN index made beside
  FerretDB's own for every declared field, once the table is large enough for the planner to
  prefer it (tests/integration/runtime/test_store_indexes.py; docs/benchmarks.md). Every hot
  query is pushed down; on SQLite the DPO's read and a filter beside the `_id` are not (the
  reason the hot paths use the bare `_id` only).
"""

from __future__ import annotations

from typing import Any

from pymongo.collection import Collection

from kimnetz.runtime.changes import receipt_id
from kimnetz.runtime.settings import Settings
from services.case.audit_trail import HEAD, audit_id
from services.case.repository import AuditDocument, CaseChangeDocument, CaseDocument


def _explain(collection: Collection[Any], query: dict[str, Any], **options: Any) -> dict[str, Any]:
    command: dict[str, Any] = {"find": collection.name, "filter": query, **options}
    explained: dict[str, Any] = collection.database.command("explain", command)
    return explained


def _stages(plan: Any) -> list[str]:
    """Every stage name of a MongoDB plan tree."""
    if isinstance(plan, dict):
        found = [plan["stage"]] if "stage" in plan else []
        for key in ("inputStage", "queryPlan"):
            found += _stages(plan.get(key))
        for child in plan.get("inputStages", ()):
            found += _stages(child)
        return found
    return []


def _on_ferretdb(explained: dict[str, Any]) -> bool:
    return "ferretdbVersion" in explained.get("serverInfo", {})


HOT = {
    "GetCase, every command: the case": (CaseDocument, {"_id": "c-1"}),
    "load: the newest change above the case's version": (CaseChangeDocument, {"_id": "c-1:2"}),
    "once per event: the receipt": (CaseChangeDocument, {"_id": receipt_id("event-1")}),
    "audit append: the head": (AuditDocument, {"_id": HEAD}),
    "audit append after a lost race: an entry": (AuditDocument, {"_id": audit_id(7)}),
}


def test_every_hot_query_is_an_id_lookup_on_the_server(case_settings: Settings) -> None:
    for label, (document, query) in HOT.items():
        explained = _explain(document._get_collection(), query, limit=1)
        if _on_ferretdb(explained):
            assert explained["filterPushdown"] is True, label
        else:
            stages = _stages(explained["queryPlanner"]["winningPlan"])
            assert "COLLSCAN" not in stages and ({"IDHACK", "EXPRESS_IXSCAN"} & set(stages)
                                                  or "IXSCAN" in stages), (label, stages)


def test_reads_off_the_hot_paths_are_scans_on_ferretdb_and_use_indexes_on_mongodb(
        case_settings: Settings) -> None:
    """The DPO's trail of a case, and an `_id` with a second condition (why the hot paths never
    add one)."""
    audit = AuditDocument._get_collection()
    by_case = _explain(audit, {"case_id": "c-1", "sequence": {"$gt": 0}}, sort={"sequence": 1}, limit=100)
    id_and_more = _explain(audit, {"_id": audit_id(7), "case_id": "c-1"})
    if _on_ferretdb(by_case):
        # SQLite scans in Go (no pushdown, a SCAN in its plan); PostgreSQL takes the filter
        # (jsonb containment, served by the GIN index on case_id); the sort is in Go on both.
        assert by_case["sortPushdown"] is False
        if by_case["filterPushdown"] is False:
            assert any("SCAN" in str(line).upper() for line in by_case["queryPlanner"]["Plan"])
        assert id_and_more["ok"] == 1.0
    else:
        stages = _stages(by_case["queryPlanner"]["winningPlan"])
        assert "IXSCAN" in stages and "COLLSCAN" not in stages, stages
        assert "COLLSCAN" not in _stages(id_and_more["queryPlanner"]["winningPlan"])
