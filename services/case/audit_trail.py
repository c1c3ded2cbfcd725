"""Appending to the hash-chained audit trail at a cost that does not grow with the trail.

Why: FerretDB 1.24 (SQLite) turns only an equality on a string `_id` into SQL, and even that
is a scan of the table in SQLite (its `_id` index is not used by queries): a find stops at the
first match, so a document near the start of the table is found at once, one near the end, or
a miss, costs the whole table (docs/benchmarks.md, "Constant-cost hot paths"). Any other filter
or sort is a scan in Go. The tail of the chain used to be found by sorting the trail: every
audited call cost a scan. Now:

- Entry `n` has `_id` `audit_id(n)` (zero-padded text). The chain is contiguous: entry `n` is only
  ever inserted after entry `n - 1` was known with its hash, so the entries are exactly 1 … tail.
- The head (`_id` `HEAD`, in the same collection, written right after entry 1 and so among the
  table's first rows) holds a copy of the tail entry (nested under `tail`, so that no query of
  entries by their fields meets it). An append reads the head, inserts the next
  entry (the unique `_id` decides who wins when several processes, api and worker, append at
  once) and writes the head. Reading and writing the head stop at the table's first rows on
  FerretDB and are `_id` lookups on MongoDB: one read and two writes, at 1,000 entries as at
  100,000. The head is in the trail's collection so that nothing can empty the trail and keep a
  head that would continue it with a gap.
- Writes of the head are not isolated on FerretDB, so it may lag (a lost update, a process that
  stopped between insert and head). An insert that finds its `_id` taken then looks for the tail
  by `_id` beyond it: +1, +2, +4, … until one is missing, then bisects the last step (about
  2·log2(lag) finds), and writes the head again. That is the slow path, taken after a race.
- A trail without head (the first append, a trail of an older version) is searched from entry 1
  the same way, once.

The data protection officer's reads (`audit_entries`, by case or in pages) are not on a hot
path; on MongoDB they use the `(case_id, sequence)` and `_id` indexes, on FerretDB they scan.
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

#: The head's `_id`: sorts before every entry's, so pages of entries by `_id` never meet it.
HEAD = "#head"
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

    def append(self, drafts: Sequence[AuditDraft]) -> list[AuditEntry]:
        """Seal `drafts` as the next run of the chain and insert them (one ordered insert). An
        entry another writer took first stops the insert there: the entries before it stay (they
        continued the chain), the rest are sealed again after the new tail."""
        written: list[AuditEntry] = []
        remaining = list(drafts)
        taken = 0  # a sequence known to be stored beyond the head (the head lags)
        with _LOCK:
            for _ in range(self.retries):
                if not remaining:
                    break
                previous = self._tail(beyond=taken)
                entries = []
                for draft in remaining:
                    previous = seal(draft, previous)
                    entries.append(previous)
                inserted = self._insert(entries)
                written += entries[:inserted]
                remaining = remaining[inserted:]
                if inserted:
                    self._write_head(entries[inserted - 1])
                taken = entries[inserted].sequence if remaining else 0
        if not remaining:
            return written
        raise VersionConflict(BUSY)

    def tail(self) -> AuditEntry | None:
        """The last entry of the chain (None: an empty trail)."""
        return self._tail()

    def write_head(self, tail: AuditEntry) -> None:
        """Points the head at `tail`, for a writer that inserted entries in bulk after the tail
        (bench seeding; no api may append meanwhile)."""
        self._write_head(tail)

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

    def _write_head(self, tail: AuditEntry) -> None:
        """The head becomes a copy of `tail` (by a bare `_id` filter: what FerretDB turns into
        SQL). Not isolated: a concurrent writer may overwrite it with an older tail; the next
        append then finds its `_id` taken and searches beyond (see the module docstring)."""
        # Nested, so that no query of entries by their fields (case, call, sequence) meets it.
        head = {k: v for k, v in self.to_document(tail).items() if k != "_id"}
        self.collection.update_one({"_id": HEAD}, {"$set": {"tail": head}}, upsert=True)

    def _find(self, sequence: int) -> dict[str, Any] | None:
        found: dict[str, Any] | None = self.collection.find_one({"_id": audit_id(sequence)})
        return found

    def _tail(self, *, beyond: int = 0) -> AuditEntry | None:
        """The last entry of the chain: the head, unless the head is missing or an insert found
        sequence `beyond` (> the head's) taken; then searched by `_id` (module docstring)."""
        head = self.collection.find_one({"_id": HEAD})
        if head is not None and (not beyond or int(head["tail"]["sequence"]) >= beyond):
            return self.to_entry(head["tail"])
        if beyond:
            known = self._find(beyond)
        elif (known := self._find(1)) is None:
            if self.collection.find_one({}, {"_id": 1}) is not None:
                # Entries but neither head nor entry 1 under a text `_id`: the old shape.
                raise FailedPrecondition(NOT_MIGRATED)
            return None
        if known is None:  # gone again? start over from entry 1
            return self._tail()
        step = 1
        while (ahead := self._find(int(known["sequence"]) + step)) is not None:
            known, step = ahead, step * 2
        low, high = int(known["sequence"]), int(known["sequence"]) + step
        while high - low > 1:  # the tail lies in [low, high)
            middle = (low + high) // 2
            found = self._find(middle)
            if found is None:
                high = middle
            else:
                known, low = found, middle
        tail = self.to_entry(known)
        self._write_head(tail)
        return tail
