"""The indexes of FerretDB's PostgreSQL backend (scripts/postgresql-indexes.sql), on the session's
store: a lookup by `_id` and a filter on a declared index are answered from a GIN index, a filter
on a field without an index still scans, and what the index finds is what the scan found (a
value inside an array field, a field name with a quote). On MongoDB and on FerretDB's SQLite
backend there is nothing of this to check; the test says so and skips."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from pymongo import ASCENDING, MongoClient
from pymongo.collection import Collection

from kimnetz.runtime.settings import Settings

DOCUMENTS = 3000  # enough that PostgreSQL, without statistics yet, prefers an index to a scan


@pytest.fixture
def collection(node_settings: Settings) -> Iterator[Collection[Any]]:
    client: MongoClient[dict[str, Any]] = MongoClient(node_settings.mongodb_uri)
    database = client[f"{node_settings.node_id}_store_indexes"]
    things = database[f"things_{uuid.uuid4().hex[:8]}"]
    things.create_index([("tags", ASCENDING), ("it's", ASCENDING), ("nested.field", ASCENDING)])
    _skip_unless_postgresql(_explain(things, {}))  # once the table exists, before the documents
    things.insert_many([{"_id": f"thing-{n:05d}", "tags": [f"tag-{n}", "common"], "it's": n,
                         "plain": f"plain-{n}", "nested": {"field": n}} for n in range(DOCUMENTS)])
    try:
        yield things
    finally:
        client.drop_database(database.name)
        client.close()


def _explain(collection: Collection[Any], query: dict[str, Any]) -> dict[str, Any]:
    explained: dict[str, Any] = collection.database.command(
        "explain", {"find": collection.name, "filter": query})
    return explained


def _skip_unless_postgresql(explained: dict[str, Any]) -> None:
    if "ferretdbVersion" not in explained.get("serverInfo", {}):
        pytest.skip("the store is MongoDB, which uses its own indexes (test_case_query_plans.py)")
    if "Node Type" not in (explained["queryPlanner"].get("Plan") or {}):
        pytest.skip("FerretDB runs on SQLite here; these indexes are PostgreSQL's")


def _plan(collection: Collection[Any], query: dict[str, Any]) -> dict[str, Any]:
    """PostgreSQL's plan of the query, which FerretDB must have pushed down."""
    explained = _explain(collection, query)
    assert explained["filterPushdown"] is True, query
    plan: dict[str, Any] = explained["queryPlanner"]["Plan"]
    return plan


def _index_scans(plan: dict[str, Any]) -> list[str]:
    """The indexes a PostgreSQL plan tree reads."""
    found = [plan["Index Name"]] if "Index Name" in plan else []
    for child in plan.get("Plans", ()):
        found += _index_scans(child)
    return found


def test_an_id_lookup_reads_a_gin_index_beside_ferretdbs_own(collection: Collection[Any]) -> None:
    plan = _plan(collection, {"_id": "thing-01234"})
    scans = _index_scans(plan)
    assert len(scans) == 1 and scans[0].endswith("_gin"), plan
    assert collection.find_one({"_id": "thing-01234"}) == {
        "_id": "thing-01234", "tags": ["tag-1234", "common"], "it's": 1234, "plain": "plain-1234",
        "nested": {"field": 1234}}


def test_a_declared_index_serves_a_value_inside_an_array_and_a_quoted_field(
        collection: Collection[Any]) -> None:
    assert [scan.endswith("_gin") for scan in _index_scans(_plan(collection, {"tags": "tag-7"}))] == [True]
    assert [found["_id"] for found in collection.find({"tags": "tag-7"})] == ["thing-00007"]
    assert [scan.endswith("_gin") for scan in _index_scans(_plan(collection, {"it's": 42}))] == [True]
    assert [found["_id"] for found in collection.find({"it's": 42})] == ["thing-00042"]
    assert collection.count_documents({"tags": "common"}) == DOCUMENTS


def test_a_field_without_a_declared_index_is_still_scanned(collection: Collection[Any]) -> None:
    plan = _plan(collection, {"plain": "plain-7"})
    assert _index_scans(plan) == [] and plan["Node Type"] == "Seq Scan", plan
    assert [found["_id"] for found in collection.find({"plain": "plain-7"})] == ["thing-00007"]
