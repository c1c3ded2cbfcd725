"""What a backup taken while the node writes keeps (kimctl/backup/cut.py): per aggregate a
prefix of its versions, the audit chain up to its first gap, whole GridFS files only, views
brought up to their newest kept change; and the list of versioned stores is the services'."""

from __future__ import annotations

from typing import Any

from kimctl.backup import cut

SPEC = cut.Versioned("case_changes", "case_id", "cases", "_id")


def change(case: str, version: int) -> dict[str, Any]:
    return {"_id": f"{case}:{version}", "case_id": case, "version": version,
            "fields": {"version": version, "status": f"s{version}"}}


def test_changes_above_a_gap_are_left_out_and_the_view_version_is_kept() -> None:
    views = [{"_id": "a", "version": 2}, {"_id": "b", "version": 1}]
    changes = [change("a", 1), change("a", 2), change("a", 3), change("a", 5),  # 4 missed: 5 goes
               change("b", 1), change("b", 2)]
    trimmed = cut.trim_versioned(SPEC, views, changes)
    assert sorted(c["_id"] for c in trimmed.kept["case_changes"]) == ["a:1", "a:2", "a:3", "b:1", "b:2"]
    assert trimmed.dropped == {"cases": 0, "case_changes": 1}
    assert trimmed.kept["cases"] == views


def test_cleaned_up_versions_below_the_view_are_no_gap() -> None:
    # Superseded changes are deleted after a day: 1 and 2 are gone, 3 (the view's) stays.
    trimmed = cut.trim_versioned(SPEC, [{"_id": "a", "version": 3}], [change("a", 3), change("a", 4)])
    assert [c["_id"] for c in trimmed.kept["case_changes"]] == ["a:3", "a:4"]


def test_a_new_aggregate_without_view_keeps_its_run_from_version_one() -> None:
    trimmed = cut.trim_versioned(SPEC, [], [change("n", 1), change("n", 2), change("x", 2)])
    # "x" has no view and no first version: erased while it was read.
    assert sorted(c["_id"] for c in trimmed.kept["case_changes"]) == ["n:1", "n:2"]
    assert trimmed.dropped["case_changes"] == 1


def test_views_lagging_behind_their_changes_are_repaired_from_the_newest() -> None:
    views = [{"_id": "a", "version": 1}, {"_id": "b", "version": 2}]
    changes = [change("a", 1), change("a", 2), change("b", 2), change("n", 1)]
    repairs = {aggregate: c["_id"] for aggregate, c in cut.view_repairs(SPEC, views, changes)}
    assert repairs == {"a": "a:2", "n": "n:1"}


def entry(sequence: int) -> dict[str, Any]:
    return {"_id": sequence, "entry_hash": f"h{sequence}"}


def test_the_audit_chain_ends_before_its_first_gap() -> None:
    kept, dropped = cut.trim_chain([entry(3), entry(1), entry(2), entry(5), entry(6)])
    assert [e["_id"] for e in kept] == [1, 2, 3]
    assert dropped == 2
    assert cut.trim_chain([entry(2)]) == ([], 1)


def test_the_current_trail_shape_text_ids_and_a_head_that_is_no_entry() -> None:
    def stored(sequence: int) -> dict[str, Any]:
        return {"_id": f"{sequence:012d}", "sequence": sequence, "entry_hash": f"h{sequence}"}

    head = {"_id": "#head", "tail": stored(5)}  # read after the cut: names an entry the copy lacks
    kept, dropped = cut.trim_chain([head, stored(2), stored(1), stored(3), stored(5)])
    assert [e["sequence"] for e in kept] == [1, 2, 3]
    assert dropped == 1
    assert cut.chain_sequence(head) is None


def receipt(event: str, of: str) -> dict[str, Any]:
    return {"_id": f"applied:{event}", "receipt_of": of, "receipt_for": of.rpartition(":")[0]}


def test_a_receipt_is_kept_exactly_when_the_change_it_names_is() -> None:
    views = [{"_id": "a", "version": 1}]
    changes = [change("a", 1), change("a", 2), change("a", 4),  # 3 missed: 4 goes
               receipt("e2", "a:2"), receipt("e4", "a:4"), receipt("old", "a:0")]
    trimmed = cut.trim_versioned(SPEC, views, changes)
    assert sorted(c["_id"] for c in trimmed.kept["case_changes"]) == ["a:1", "a:2", "applied:e2"]
    assert trimmed.dropped["case_changes"] == 3
    assert [c["_id"] for _, c in cut.view_repairs(SPEC, views, trimmed.kept["case_changes"])] == ["a:2"]


def test_gridfs_files_are_kept_whole_or_not_at_all() -> None:
    files = [{"_id": "f1", "length": 600, "chunkSize": 255}, {"_id": "f2", "length": 10, "chunkSize": 255},
             {"_id": "empty", "length": 0, "chunkSize": 255}]
    chunks = [{"files_id": "f1", "n": 0}, {"files_id": "f1", "n": 1}, {"files_id": "f1", "n": 2},
              {"files_id": "f2", "n": 1},  # its chunk 0 is missing
              {"files_id": "orphan", "n": 0}]
    whole = cut.complete_files(files, chunks)
    assert [f["_id"] for f in whole.kept["files"]] == ["f1", "empty"]
    assert [c["files_id"] for c in whole.kept["chunks"]] == ["f1", "f1", "f1"]
    assert whole.dropped == {"files": 1, "chunks": 2}


def test_views_are_read_before_their_changes_and_descriptions_before_chunks() -> None:
    order = cut.read_order("documents", ["files.chunks", "generated_documents", "files.files"])
    assert order == ["generated_documents", "files.files", "files.chunks"]
    order = cut.read_order("case", ["case_changes", "audit", "cases"])
    assert order.index("cases") < order.index("case_changes")


def test_the_versioned_collections_are_those_the_services_keep() -> None:
    from kimnetz.runtime.changes import ChangeDocument, VersionedStore
    from services.case.repository import MongoCaseRepository
    from services.conference import repository as conference

    stores: list[VersionedStore[Any, Any]] = [MongoCaseRepository("n")._store, *conference._STORES.values()]
    declared = {(s.changes._meta["db_alias"],
                 cut.Versioned(s.changes._get_collection_name(), s.changes._fields["aggregate_id"].db_field,
                               s.view._get_collection_name(), s._key_db)) for s in stores}
    listed = {(kind, spec) for kind, specs in cut.VERSIONED.items() for spec in specs}
    assert listed == declared
    # Every change collection of the services has its store here (tests keep change documents
    # of their own, imported in the same run).
    collections = {c._get_collection_name() for c in ChangeDocument.__subclasses__()
                   if c.__module__.startswith("services.")}
    assert collections == {s.changes for _, s in listed}
