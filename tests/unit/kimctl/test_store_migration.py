"""The store migration's copy and checks (kimctl/store_migration.py) on the in-memory store;
between two real FerretDBs: tests/integration/runtime/test_store_migration.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from kimctl.store_migration import MigrationError, copy_store, verify
from services.case.codec import to_primitive
from services.case.domain.audit import AuditDraft, seal
from tests.support.fakes.store import FakeClient


def audit_documents(count: int) -> list[dict[str, object]]:
    """A chain as the case repository stores it: `_id` is the sequence."""
    documents, previous = [], None
    for number in range(count):
        draft = AuditDraft(occurred_at=datetime(2026, 3, 4, 11, tzinfo=UTC) + timedelta(seconds=number),
                           actor_subject="cm-anna", actor_org="stadt-hilden", actor_roles=("case_manager",),
                           case_id=f"case-{number}", call="GetCase", purpose="Fallbearbeitung", allowed=True)
        previous = seal(draft, previous)
        stored = to_primitive(previous)
        stored["_id"] = stored.pop("sequence")
        documents.append(stored)
    return documents


def filled_store() -> FakeClient:
    store = FakeClient()
    cases = store["kim_hilden_case"]["cases"]
    cases.create_index([("status", 1)], name="status_1")
    cases.create_index([("pseudonym", 1)], name="pseudonym_1", unique=True)
    cases.insert_many([{"_id": f"case-{n}", "status": "proposed", "pseudonym": f"B-{n:07d}"}
                       for n in range(2500)])
    store["kim_hilden_case"]["audit"].insert_many(audit_documents(30))
    store["kim_hilden_conference"]["conferences"].insert_many([{"_id": 1, "title": "Fallkonferenz"}])
    store["admin"]["system.version"].insert_many([{"_id": "featureCompatibilityVersion"}])
    return store


def test_copy_takes_every_database_collection_document_and_index_and_verifies_the_audit_chain() -> None:
    source, target = filled_store(), FakeClient()

    report = copy_store(source, target)

    assert report.copied == {"kim_hilden_case.audit": 30, "kim_hilden_case.cases": 2500,
                             "kim_hilden_conference.conferences": 1}
    assert (report.chains["kim_hilden_case"].intact, report.chains["kim_hilden_case"].checked) == (True, 30)
    assert "admin" not in target.list_database_names()  # the server's own databases stay its own
    assert target["kim_hilden_case"]["cases"].index_information()["pseudonym_1"] == {
        "key": [("pseudonym", 1)], "unique": True}
    assert target["kim_hilden_case"]["cases"].count_documents({}) == 2500


def test_a_target_that_already_holds_a_database_is_refused_and_left_alone() -> None:
    source, target = filled_store(), FakeClient()
    target["kim_hilden_conference"]["conferences"].insert_many([{"_id": 7}])

    with pytest.raises(MigrationError, match="already holds kim_hilden_conference"):
        copy_store(source, target)
    assert target.list_database_names() == ["kim_hilden_conference"]


def test_verify_finds_a_missing_and_a_changed_document() -> None:
    source, target = filled_store(), FakeClient()
    copy_store(source, target)
    del target["kim_hilden_conference"]["conferences"].documents[repr(1)]
    with pytest.raises(MigrationError, match="1 documents in the source, 0 in the target"):
        verify(source, target)

    target["kim_hilden_conference"]["conferences"].insert_many([{"_id": 1, "title": "Lenkungskreis"}])
    with pytest.raises(MigrationError, match="document 1 differs"):
        verify(source, target)


def test_a_chain_broken_in_the_source_is_copied_as_it_is_and_reported() -> None:
    source = filled_store()
    source["kim_hilden_case"]["audit"].documents[repr(12)]["purpose"] = "Neugier"  # altered afterwards
    target = FakeClient()

    report = copy_store(source, target)

    chain = report.chains["kim_hilden_case"]
    assert (chain.intact, chain.first_broken_sequence) == (False, 12)
    assert any("broken at 12 in the source already" in line for line in report.lines())


def test_a_chain_is_checked_in_sequence_order_whatever_order_the_store_returns() -> None:
    source = FakeClient()
    source["kim_hilden_case"]["audit"].insert_many(list(reversed(audit_documents(20))))
    source["kim_hilden_case"]["audit"].insert_many([{"_id": "head", "sequence": 20}])  # no entry: skipped

    report = copy_store(source, FakeClient())

    assert report.chains["kim_hilden_case"].intact
    assert report.chains["kim_hilden_case"].checked == 20
