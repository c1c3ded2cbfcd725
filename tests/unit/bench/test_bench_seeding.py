"""The scale part's seeding (bench/seeding.py) builds what the case service itself would store:
domain-valid cases in the statuses the lists filter on, the repository's field mapping, and an
audit trail that verifies as one chain."""

from __future__ import annotations

from collections import Counter

from bench import seeding
from services.case.codec import from_primitive
from services.case.domain.audit import AuditEntry, verify_chain
from services.case.domain.case import Case
from services.case.domain.person import Person
from services.case.domain.vocabulary import CaseStatus
from services.case.repository import MongoCaseRepository, audit_document, stored_audit_entry

REPOSITORY = MongoCaseRepository("bench-seed-test")


def test_cases_are_walked_by_the_domain_to_their_status() -> None:
    built = [seeding.stored(n, REPOSITORY) for n in range(16)]
    statuses = Counter(s.case.status for s in built)
    assert statuses == {CaseStatus.PROPOSED: 4, CaseStatus.IN_REVIEW: 4, CaseStatus.ADMITTED: 8}
    admitted = [s for s in built if s.case.status is CaseStatus.ADMITTED]
    assert {s.case.case_manager for s in admitted} == set(seeding.MANAGERS)
    assert all(s.case.case_manager == seeding.manager(s.number) for s in built)
    assert [s.case.version for s in built[:4]] == [1, 3, 4, 4]  # propose; consent, submit; admit
    assert all(not s.case.pending_events for s in built)  # their events count as sent
    assert len({s.case.pseudonym for s in built}) == 16 and len({s.case.case_id for s in built}) == 16
    assert built[1].case.created_at < built[2].case.created_at


def test_the_view_is_what_the_repository_stores_and_reads_back() -> None:
    seeded = seeding.stored(6, REPOSITORY)
    view = seeded.view
    assert view["_id"] == seeded.case.case_id and view["version"] == seeded.case.version
    assert {k: view[k] for k in ("status", "case_manager", "owner_org", "access_orgs")} == {
        "status": "admitted", "case_manager": seeding.manager(6), "owner_org": seeding.OWNER,
        "access_orgs": [seeding.COORDINATION]}
    assert "next_review_due" not in view  # None fields stay out, as the store leaves them
    expected = {k: v for k, v in REPOSITORY._fields(seeded.case, version=seeded.case.version).items()
                if v is not None}
    assert {k: view[k] for k in expected} == expected
    case = from_primitive(Case, dict(view["state"]))
    case.version = view["version"]
    assert case == seeded.case
    assert from_primitive(Person, dict(view["person"])) == seeded.person


def test_the_change_is_the_newest_version_without_an_outbox() -> None:
    seeded = seeding.stored(2, REPOSITORY)
    change = seeded.change
    assert change["_id"] == f"{seeded.case.case_id}:{seeded.case.version}"
    assert change["case_id"] == seeded.case.case_id and change["version"] == seeded.case.version
    assert change["fields"]["version"] == seeded.case.version
    assert change["fields"]["state"] == seeded.view["state"] and change["outbox"] == []
    assert change["cause"] == "" and change["written_at"] == seeded.case.updated_at


def test_the_audit_trail_is_one_chain_that_verifies_and_continues_a_tail() -> None:
    first = list(seeding.audit_chain(seeding.audit_drafts(50, ["a", "b"]), None))
    assert verify_chain(first).intact and verify_chain(first).checked == 50
    more = list(seeding.audit_chain(seeding.audit_drafts(20, ["c"]), first[-1]))
    assert more[0].sequence == 51 and verify_chain(first + more).intact
    assert {e.case_id for e in first} == {"a", "b"}


def test_the_stored_audit_entry_reads_back_as_the_entry() -> None:
    entry = next(seeding.audit_chain(seeding.audit_drafts(1, ["a"]), None))
    document = audit_document(entry)
    assert document["_id"] == "000000000001" and document["sequence"] == 1
    loaded: AuditEntry = stored_audit_entry(document)
    assert loaded == entry and loaded.compute_hash() == entry.entry_hash
