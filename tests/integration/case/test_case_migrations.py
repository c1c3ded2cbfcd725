"""The case service's data migrations (services/case/migrations.py; kimnetz/runtime/migrations.py)
on the real MongoDB-wire server, through `migrate` as `kim node migrate` runs them: a node of the
data version before issue 15 (audit entries under their number as `_id`, changes caused by events
without receipts, cases without pseudonym documents) is brought up to date once; its trail
verifies and grows, its applied events are still known as applied, its cases are found by
pseudonym. The audit trail's own migration is also tested on its own in
test_case_audit_trail.py."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pymongo import MongoClient

from kimnetz.bootstrap import service_migrations
from kimnetz.errors import NotFound
from kimnetz.runtime import migrations
from kimnetz.runtime.changes import receipt_id
from kimnetz.runtime.settings import Settings
from services.case.domain import commands as c
from services.case.domain.audit import AuditDraft, verify_chain
from services.case.domain.vocabulary import CaseStatus
from services.case.migrations import MIGRATIONS
from services.case.repository import AuditDocument, CaseChangeDocument, MongoCaseRepository, PseudonymDocument
from tests.unit.case.case_factories import CM, later, make_case_with_person


def _draft(i: int) -> AuditDraft:
    return AuditDraft(datetime(2026, 3, 1, 9, 0, i, tzinfo=UTC), f"user-{i}", "stadt-hilden",
                      ("case_manager",), "case-1", "GetCase", "Fallbearbeitung", True)


def test_a_node_of_the_data_version_before_is_migrated_once(
        repository: MongoCaseRepository, case_settings: Settings) -> None:
    settings = case_settings.model_copy(update={"grpc_services": "case"})
    case, person = make_case_with_person(CaseStatus.IN_REVIEW)
    repository.add(case, person)
    loaded = repository.get(case.case_id)
    loaded.reject(c.RejectCase(case.case_id, "gehört nicht zur Zielgruppe"), CM, later(5))
    repository.save(loaded, cause="event-before")
    repository.append_audits([_draft(i) for i in range(10)])
    # The shape before: no receipts, audit entries under their number, no data version.
    changes = CaseChangeDocument._get_collection()
    changes.delete_many({"_id": receipt_id("event-before")})
    PseudonymDocument._get_collection().delete_many({})
    for read_model in ("case_read_pending", "case_read_models"):
        changes.database[read_model].delete_many({})
    audit = AuditDocument._get_collection()
    audit.delete_one({"_id": "#head"})
    for entry in list(audit.find()):
        audit.delete_one({"_id": entry["_id"]})
        audit.insert_one({**{k: v for k, v in entry.items() if k != "sequence"}, "_id": entry["sequence"]})
    with MongoClient(settings.mongodb_uri) as client:
        client[settings.database_name("node")][migrations.COLLECTION].delete_many({"_id": "case"})
    assert not repository.applied("event-before")  # what the old shape lacks
    with pytest.raises(NotFound):
        repository.get_by_pseudonym(case.pseudonym)

    applied = migrations.migrate(settings, service_migrations)

    assert [(a.service, a.version, a.changed) for a in applied] == [
        ("case", 1, 10), ("case", 2, 1), ("case", 3, 1), ("case", 4, 1)]
    assert repository.applied("event-before")
    assert repository.get_by_pseudonym(case.pseudonym).case_id == case.case_id
    assert repository.append_audit(_draft(11)).sequence == 11
    assert verify_chain(repository.audit_entries(limit=100)).intact
    assert repository.figures()["status"] == {"rejected": 1}
    assert migrations.migrate(settings, service_migrations) == []
    with MongoClient(settings.mongodb_uri) as client:
        database = client[settings.database_name("case")]
        assert [m.apply(database) for m in MIGRATIONS] == [0, 0, 0, 0]  # idempotent
