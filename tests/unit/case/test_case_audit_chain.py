"""The audit trail's hash chain: intact chains verify, any tampering is found and located."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from services.case.domain.audit import GENESIS_HASH, AuditDraft, AuditEntry, seal, verify_chain


def chain(length: int = 5) -> list[AuditEntry]:
    entries: list[AuditEntry] = []
    for i in range(length):
        draft = AuditDraft(
            occurred_at=datetime(2026, 3, 4, 10, 0, tzinfo=UTC) + timedelta(seconds=i, microseconds=123456),
            actor_subject=f"user-{i % 2}", actor_org="caritas-hilden", actor_roles=("case_manager",),
            case_id="case-1", call="GetCase", purpose="Fallbearbeitung", allowed=True)
        entries.append(seal(draft, entries[-1] if entries else None))
    return entries


def test_first_entry_links_to_the_genesis_hash_and_each_next_to_its_predecessor() -> None:
    entries = chain(3)
    assert entries[0].previous_hash == GENESIS_HASH and entries[0].sequence == 1
    assert entries[1].previous_hash == entries[0].entry_hash
    assert entries[2].sequence == 3


def test_intact_chain_verifies() -> None:
    result = verify_chain(chain())
    assert result.intact and result.checked == 5


def test_altered_entry_is_detected_at_its_sequence() -> None:
    entries = chain()
    entries[2] = replace(entries[2], actor_subject="someone-else")
    result = verify_chain(entries)
    assert not result.intact and result.first_broken_sequence == 3
    assert "verändert" in result.reason


def test_altered_entry_with_recomputed_hash_breaks_the_next_link() -> None:
    entries = chain()
    forged = replace(entries[2], allowed=False)
    entries[2] = replace(forged, entry_hash=forged.compute_hash())
    result = verify_chain(entries)
    assert not result.intact and result.first_broken_sequence == 4


def test_removed_entry_is_detected() -> None:
    entries = chain()
    del entries[1]
    result = verify_chain(entries)
    assert not result.intact and result.first_broken_sequence == 2


def test_verification_continues_in_pages_after_a_verified_entry() -> None:
    entries = chain(6)
    assert verify_chain(entries[3:], after=entries[2]).intact
    assert not verify_chain(entries[3:], after=entries[1]).intact


def test_sealing_truncates_to_milliseconds_as_mongodb_stores_them() -> None:
    entry = chain(1)[0]
    assert entry.occurred_at.microsecond == 123000
    stored = replace(entry, occurred_at=entry.occurred_at.replace(tzinfo=None))
    assert verify_chain([stored]).intact
