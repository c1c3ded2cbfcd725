"""Appending to the hash-chained audit trail at a cost that does not grow with the trail.

Why: FerretDB 1.24 (SQLite) answers only an equality on a string `_id` without scanning the
whole collection in Go, and uses no secondary index (docs/decisions.md, docs/benchmarks.md
"Constant-cost hot paths"). The tail of the chain used to be found by sorting the trail by
sequence: every audited call cost a scan, ~0.4 s at 2,000 entries. Now every read of an append
is a find by `_id`:

- Entry `n` has `_id` `audit_id(n)` (zero-padded text). The chain is contiguous: entry `n` is only
  ever inserted after entry `n - 1` was read from the store (its hash is sealed into `n`), so the
  entries present are exactly 1 … tail.
- The process remembers the last sequence it saw per trail (`_HINTS`, a hint, never trusted):
  an append reads that entry by `_id` and inserts the next one. The unique `_id` decides who
  wins when several processes (api, worker) append at once; the loser learns that the tail moved
  and looks for it again.
- Looking for the tail (a cold process, a lost race, a hint the store no longer holds) gallops
  forward by `_id` from the last entry known to exist: +1, +2, +4, … until a sequence is missing,
  then bisects the last step: about 2·log2(n) finds once per process, then one find per append.

So an append in the steady state is one find by `_id` and one insert, at 1,000 entries as at
100,000. The data protection officer's reads (`audit_entries`, by case or in pages) are not on a
hot path; on MongoDB they use the `(case_id, sequence)` and `_id` indexes, on FerretDB they scan.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

from pymongo.collection import Collection
from pymongo.errors import BulkWriteError, DuplicateKeyError

from kimnetz.errors import FailedPrecondition, VersionConflict
from services.case.domain.audit import AuditDraft, AuditEntry, seal

DUPLICATE_KEY = 11000
BUSY = "Das Zugriffsprotokoll ist gerade stark ausgelastet; bitte erneut versuchen."
NOT_MIGRATED = ("Das Zugriffsprotokoll hat noch das alte Format; bitte die Datenmigration des "
                "Knotens ausführen (kim node migrate).")

#: Per trail (client, collection full name) in this process: the last sequence seen, and whether
#: this process wrote it itself (then it is most likely still the tail). A hint, never trusted.
_HINTS: dict[tuple[int, str], tuple[int, bool]] = {}
#: Appends of this process take turns (no point in racing ourselves for the same sequence).
_LOCK = threading.Lock()


def audit_id(sequence: int) -> str:
    """The `_id` of the audit entry `sequence`: text that sorts like the number."""
    return f"{sequence:012d}"


class AuditTrail:
    """Appends to one trail collection. `to_entry`/`to_document`: the stored shape (the
    adapter's codec), so that this class knows nothing of mongoengine."""

    def __init__(self, collection: Collection[Any], *, retries: int,
                 to_entry: Callable[[dict[str, Any]], AuditEntry],
                 to_document: Callable[[AuditEntry], dict[str, Any]]) -> None:
        self.collection = collection
        self.retries = retries
        self.to_entry = to_entry
        self.to_document = to_document
        self._key = (id(collection.database.client), collection.full_name)

    def append(self, drafts: Sequence[AuditDraft]) -> list[AuditEntry]:
        """Seal `drafts` as the next run of the chain and insert them (one ordered insert). An
        entry another writer took first stops the insert there: the entries before it stay (they
        continued the chain), the rest are sealed again after the new tail."""
        written: list[AuditEntry] = []
        remaining = list(drafts)
        with _LOCK:
            for _ in range(self.retries):
                if not remaining:
                    return written
                previous = self._tail()
                entries = []
                for draft in remaining:
                    previous = seal(draft, previous)
                    entries.append(previous)
                inserted = self._insert(entries)
                written += entries[:inserted]
                remaining = remaining[inserted:]
                if inserted == len(entries):
                    self._remember(entries[-1].sequence, written_here=True)
                else:  # the next sequence was taken by another writer: it exists, look beyond
                    self._remember(entries[inserted].sequence, written_here=False)
        if not remaining:
            return written
        raise VersionConflict(BUSY)

    def _insert(self, entries: list[AuditEntry]) -> int:
        """How many of `entries` were inserted (all, or those before the first taken `_id`)."""
        documents = [self.to_document(e) for e in entries]
        try:
            if len(documents) == 1:
                self.collection.insert_one(documents[0])
            else:
                self.collection.insert_many(documents, ordered=True)
        except DuplicateKeyError:
            return 0
        except BulkWriteError as error:
            if any(e.get("code") != DUPLICATE_KEY for e in error.details.get("writeErrors", ())):
                raise
            return int(error.details.get("nInserted", 0))
        return len(entries)

    def _remember(self, sequence: int, *, written_here: bool) -> None:
        _HINTS[self._key] = (sequence, written_here)

    def _find(self, sequence: int) -> dict[str, Any] | None:
        found: dict[str, Any] | None = self.collection.find_one({"_id": audit_id(sequence)})
        return found

    def _tail(self) -> AuditEntry | None:
        """The last entry of the chain, found by `_id` alone (see the module docstring)."""
        hint, written_here = _HINTS.get(self._key, (0, False))
        known = self._find(hint) if hint else None
        if known is not None and written_here:
            return self.to_entry(known)  # the steady state: one find, then the insert decides
        if known is None:  # a cold process, or a trail that is not what we remembered
            known = self._find(1)
            if known is None:
                if self.collection.find_one({}, {"_id": 1}) is not None:
                    # Entries but no entry 1 under a text `_id`: a trail of the old shape.
                    raise FailedPrecondition(NOT_MIGRATED)
                _HINTS.pop(self._key, None)
                return None
        # Gallop: the entries present are 1 … tail, contiguous.
        step = 1
        while (ahead := self._find(int(known["sequence"]) + step)) is not None:
            known, step = ahead, step * 2
        # The tail lies in [known, known + step): bisect by `_id`.
        low, high = int(known["sequence"]), int(known["sequence"]) + step
        while high - low > 1:
            middle = (low + high) // 2
            found = self._find(middle)
            if found is None:
                high = middle
            else:
                known, low = found, middle
        self._remember(low, written_here=False)
        return self.to_entry(known)
