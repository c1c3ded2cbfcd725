"""The audit trail's append on the real server (services/case/audit_trail.py; issue 15): it reads
the trail only by `_id` (what FerretDB 1.24 answers without a scan), a bounded number of times
however long the trail is; threads and a second process appending at once leave one chain
without gap or fork; a trail stored in the old shape (the sequence number as `_id`) is refused
until the data migration has converted it, and verifies after it."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import pytest
from pymongo import MongoClient

from kimnetz.errors import FailedPrecondition
from kimnetz.runtime.settings import Settings
from services.case.audit_trail import HEAD, AuditTrail
from services.case.codec import to_primitive
from services.case.domain.audit import AuditDraft, seal, verify_chain
from services.case.migrations import MIGRATIONS
from services.case.repository import AuditDocument, MongoCaseRepository, audit_document, stored_audit_entry


def _draft(i: int, case_id: str = "case-1") -> AuditDraft:
    return AuditDraft(datetime(2026, 3, 1, 9, 0, i % 60, tzinfo=UTC), f"user-{i}", "stadt-hilden",
                      ("case_manager",), case_id, "GetCase", "Fallbearbeitung", True)


class _Recorded:
    """The trail's collection, recording every filter it is asked (a listener registered now
    would not see the already connected client)."""

    def __init__(self, collection: Any) -> None:
        self._collection = collection
        self.filters: list[dict[str, Any]] = []
        self.database = collection.database
        self.full_name = collection.full_name

    def find_one(self, query: dict[str, Any], *args: Any) -> Any:
        self.filters.append(query)
        return self._collection.find_one(query, *args)

    def insert_one(self, document: dict[str, Any]) -> Any:
        return self._collection.insert_one(document)

    def insert_many(self, documents: list[dict[str, Any]], **kwargs: Any) -> Any:
        return self._collection.insert_many(documents, **kwargs)

    def update_one(self, query: dict[str, Any], update: dict[str, Any], **kwargs: Any) -> Any:
        self.filters.append(query)
        return self._collection.update_one(query, update, **kwargs)


def _trail(recorded: _Recorded) -> AuditTrail:
    return AuditTrail(recorded, retries=20, to_entry=stored_audit_entry,  # type: ignore[arg-type]
                      to_document=audit_document)


def test_an_append_reads_the_trail_only_by_id_and_a_bounded_number_of_times(
        repository: MongoCaseRepository) -> None:
    repository.append_audits([_draft(i) for i in range(1500)])
    collection = AuditDocument._get_collection()
    collection.delete_one({"_id": HEAD})  # a trail without head: searched once from entry 1
    recorded = _Recorded(collection)

    _trail(recorded).append([_draft(1)])
    cold = list(recorded.filters)
    recorded.filters.clear()
    for i in range(5):  # with its head: the head is all an append reads
        _trail(recorded).append([_draft(i)])

    assert all(set(f) == {"_id"} and isinstance(f["_id"], str) for f in cold + recorded.filters)
    assert len(cold) <= 2 * math.ceil(math.log2(1500)) + 3
    assert recorded.filters == [{"_id": HEAD}] * 10  # read it, write it
    entries = repository.audit_entries(limit=2000)
    assert len(entries) == 1506 and verify_chain(entries).intact
    assert collection.find_one({"_id": HEAD})["tail"]["sequence"] == 1506


def test_an_append_after_a_head_that_lags_finds_the_tail_by_id(repository: MongoCaseRepository) -> None:
    repository.append_audit(_draft(0))
    # Another process appended 300 entries but never wrote the head (it stopped each time).
    collection = AuditDocument._get_collection()
    previous = repository.audit_entries()[0]
    for i in range(300):
        previous = seal(_draft(i), previous)
        collection.insert_one(audit_document(previous))
    recorded = _Recorded(collection)

    [entry] = _trail(recorded).append([_draft(7)])

    assert entry.sequence == 302
    assert all(set(f) == {"_id"} for f in recorded.filters) and len(recorded.filters) <= 24
    assert verify_chain(repository.audit_entries(limit=400)).intact
    assert repository.append_audit(_draft(8)).sequence == 303


_APPENDER = textwrap.dedent("""
    import sys
    from datetime import UTC, datetime
    from kimnetz.runtime.mongo import connect
    from kimnetz.runtime.settings import Settings
    from services.case.domain.audit import AuditDraft
    from services.case.repository import MongoCaseRepository
    settings = Settings()
    connect(settings, "case")
    repository = MongoCaseRepository(settings.node_id, audit_retries=200)
    for i in range(int(sys.argv[1])):
        repository.append_audit(AuditDraft(datetime.now(UTC), f"worker-{i}", "stadt-hilden",
                                           ("case_manager",), "case-2", "AdmitCase", "Beschluss", True))
    print("done")
""")


def test_threads_and_a_second_process_appending_at_once_leave_one_chain(
        repository: MongoCaseRepository, case_settings: Settings) -> None:
    env = {**os.environ, "KIM_NODE_ID": case_settings.node_id, "KIM_MONGODB_URI": case_settings.mongodb_uri}
    other = subprocess.Popen([sys.executable, "-c", _APPENDER, "60"], env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    racing = MongoCaseRepository(case_settings.node_id, audit_retries=200)
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda i: racing.append_audit(_draft(i)), range(60)))
    out, err = other.communicate(timeout=300)
    assert other.returncode == 0 and "done" in out, err

    entries = repository.audit_entries(limit=500)

    assert [e.sequence for e in entries] == list(range(1, 121))  # no gap, no fork
    assert sum(e.call == "AdmitCase" for e in entries) == 60
    assert verify_chain(entries).intact


def test_a_trail_of_the_old_shape_is_migrated_and_keeps_verifying(
        repository: MongoCaseRepository, case_settings: Settings) -> None:
    """Before issue 15 an entry's `_id` was its sequence number (and it had no `sequence`)."""
    collection = AuditDocument._get_collection()
    previous = None
    for i in range(25):
        previous = seal(_draft(i, f"case-{i % 3}"), previous)
        stored = AuditDocument(entry_id="x", **to_primitive(previous)).to_mongo().to_dict()
        stored.pop("sequence")
        collection.insert_one({**stored, "_id": previous.sequence})
    with pytest.raises(FailedPrecondition, match="kim node migrate"):
        repository.append_audit(_draft(99))

    database = MongoClient(case_settings.mongodb_uri)[case_settings.database_name("case")]
    assert MIGRATIONS[0].apply(database) == 25
    assert MIGRATIONS[0].apply(database) == 0  # idempotent

    appended = repository.append_audit(_draft(99))
    entries = repository.audit_entries(limit=100)
    assert appended.sequence == 26 and [e.sequence for e in entries] == list(range(1, 27))
    assert verify_chain(entries).intact
    by_case = repository.audit_entries("case-1", after_sequence=4)
    assert [e.sequence for e in by_case] == [5, 8, 11, 14, 17, 20, 23, 26]
