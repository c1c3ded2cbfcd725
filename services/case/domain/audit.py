"""The audit trail of personal-data access: append-only and hash-chained.

Every read and write of a case's data (and every refusal) becomes an `AuditEntry`: who, which
organisation, when, which case, which call, for what purpose, allowed or refused. Each entry's
hash covers its own content and the previous entry's hash, so altering, removing or reordering
any stored entry breaks the chain from that point; `verify_chain` finds the first break. The
data protection officer reads and verifies the trail; nothing ever updates an entry.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime

GENESIS_HASH = "0" * 64


@dataclass(frozen=True)
class AuditEntry:
    sequence: int
    occurred_at: datetime
    actor_subject: str
    actor_org: str
    actor_roles: tuple[str, ...]
    case_id: str
    call: str
    purpose: str
    allowed: bool
    detail: str = ""
    previous_hash: str = GENESIS_HASH
    entry_hash: str = ""
    #: The peer node through which the actor asked (federation calls); "" for this node's own.
    actor_node: str = ""

    def canonical(self) -> bytes:
        """The hashed content: every field but the hash itself, in a fixed JSON form.
        Timestamps are normalised to UTC microseconds, as MongoDB stores milliseconds the
        caller truncates before sealing (see `seal`). `actor_node` is hashed only when set, so
        the entries sealed before it existed still verify."""
        content = asdict(self)
        content.pop("entry_hash")
        if not self.actor_node:
            content.pop("actor_node")
        content["occurred_at"] = _utc(self.occurred_at).isoformat(timespec="milliseconds")
        content["actor_roles"] = sorted(self.actor_roles)
        return json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()

    def compute_hash(self) -> str:
        return hashlib.sha256(self.canonical()).hexdigest()


@dataclass(frozen=True)
class AuditDraft:
    """What the caller knows about an access; the trail adds sequence and hashes."""

    occurred_at: datetime
    actor_subject: str
    actor_org: str
    actor_roles: tuple[str, ...]
    case_id: str
    call: str
    purpose: str
    allowed: bool
    detail: str = ""
    actor_node: str = ""


def seal(draft: AuditDraft, previous: AuditEntry | None) -> AuditEntry:
    """The next entry of the chain after `previous` (None: the first entry)."""
    occurred = _utc(draft.occurred_at)
    # MongoDB keeps milliseconds; sealing what will be stored keeps the hash verifiable.
    occurred = occurred.replace(microsecond=occurred.microsecond // 1000 * 1000)
    entry = AuditEntry(
        sequence=1 if previous is None else previous.sequence + 1,
        occurred_at=occurred,
        actor_subject=draft.actor_subject,
        actor_org=draft.actor_org,
        actor_roles=tuple(sorted(draft.actor_roles)),
        case_id=draft.case_id,
        call=draft.call,
        purpose=draft.purpose,
        allowed=draft.allowed,
        detail=draft.detail,
        actor_node=draft.actor_node,
        previous_hash=GENESIS_HASH if previous is None else previous.entry_hash,
    )
    return replace(entry, entry_hash=entry.compute_hash())


@dataclass(frozen=True)
class ChainVerification:
    intact: bool
    checked: int
    first_broken_sequence: int | None = None
    reason: str = ""


def verify_chain(entries: Iterable[AuditEntry], *, after: AuditEntry | None = None) -> ChainVerification:
    """Checks entries in sequence order, from the start or continuing after `after` (an entry
    verified earlier, so that the trail can be verified in pages)."""
    previous_hash = GENESIS_HASH if after is None else after.entry_hash
    expected_sequence = 1 if after is None else after.sequence + 1
    checked = 0
    for entry in entries:
        if entry.sequence != expected_sequence:
            return ChainVerification(False, checked, expected_sequence,
                                     f"Eintrag {expected_sequence} fehlt oder steht an falscher Stelle.")
        if entry.previous_hash != previous_hash:
            return ChainVerification(False, checked, entry.sequence,
                                     f"Eintrag {entry.sequence} verweist nicht auf seinen Vorgänger.")
        if entry.compute_hash() != entry.entry_hash:
            return ChainVerification(False, checked, entry.sequence,
                                     f"Eintrag {entry.sequence} wurde nachträglich verändert.")
        previous_hash = entry.entry_hash
        expected_sequence += 1
        checked += 1
    return ChainVerification(True, checked)


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
