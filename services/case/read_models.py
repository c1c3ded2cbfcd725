"""The case service's read models on MongoDB/FerretDB: list pages and figures whose cost does
not grow with the cases a node holds (the rules: services/case/domain/read_models.py; the design:
docs/case.md, "Lists and figures").

Why this shape (docs/decisions.md, "Storage on FerretDB 1.24 and MongoDB 7"): FerretDB 1.24 on
SQLite answers only an equality on a bare string `_id` without reading the whole collection, and
an update is an unisolated read-modify-write, so concurrent updates of one document lose each
other; only the insert of a unique `_id` is atomic. Hence:

- **The write path only inserts.** Each change of a case (`kimnetz.runtime.changes`, the store's
  `project` hook, called after the change's insert and again whenever a view is repaired from
  it) inserts a pending document into `case_read_pending` with `_id` = the change's id: what the
  case looks like at that version for the lists and figures. The unique `_id` makes a repeated
  projection (a repair, a redelivered event writing nothing new) a no-op; no write is lost to a
  concurrent one.
- **One folder at a time** (`fold`) moves the pending documents into the maintained documents of
  `case_read_models`, all found by `_id`:
  `c:<case id>` what is counted of each case (its version, lists and figures),
  `figures` the counts and sums (and the number of the fold that wrote them),
  `d:<list>` a list's directory (its buckets in order, their first position and size),
  `b:<list>#<n>` a bucket of up to `bucket_size` positions (creation time, case id) in order,
  `fold:<n>` the claim of fold n (the pending ids it takes; done or not), `fold_head` a hint.
  A fold is claimed by inserting `fold:<n>`, the next number: exactly one process wins it. A
  fold not done after `lease` (its process stopped) is taken over by the next, which folds its
  pending documents again: lists are set operations, and a case's figures move only from the
  version `c:` counted to a newer one, so a second fold of the same change changes nothing.
  Order inside a fold: lists, then `figures` (one document: atomic), then the `c:` documents,
  then done, then the pending documents go. Should a process stop after `figures` and before
  the `c:` documents, the takeover sees `figures.fold` = the stopped fold and does not count its
  changes a second time.
- **Reads.** GetFigures folds what is pending (or waits for the fold running) and reads
  `figures`: one document. A ListCases page merges the buckets of the lists its filter names
  (`plan`) from the token's position, plus the pending documents not folded yet, and checks each
  case it finds against the whole filter on the case document itself, which it loads anyway to
  answer: so a list may hold a case it no longer should for a moment (a removal not folded
  yet), never miss one. A page costs the directory, one or two buckets per list and one find
  per case shown.

`check` compares the read models with a full scan of `cases`; `rebuild` (migration 1 of the
case service, `kim node migrate`) builds them from `cases`; `seed` adds cases written in bulk
around the api (bench).
"""

from __future__ import annotations

import bisect
import contextlib
import heapq
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from kimnetz.runtime.changes import ChangeDocument
from services.case.domain.ports import CaseFilter
from services.case.domain.read_models import Figures, Listed, SortKey, listed, matches, plan
from services.case.domain.retention import FIGURE_KEYS

PENDING = "case_read_pending"
MODELS = "case_read_models"
CASES = "cases"
#: Positions per bucket: a page of up to 100 reads one or two buckets of each list.
BUCKET_SIZE = 400
#: A fold not done after this long is taken over (its process stopped).
LEASE = timedelta(seconds=60)
#: Pending documents one fold takes at most.
FOLD_BATCH = 500
#: A list read folds first when more than this many changes are pending.
READ_FOLDS_ABOVE = 200
#: Fold claims kept behind the newest (the newest is found by probing up from `fold_head`).
KEEP_FOLDS = 20
#: The folds of one process take turns (other processes are kept out by the claim).
_FOLD_LOCK = threading.Lock()


@dataclass(frozen=True)
class Head:
    number: int
    claim: dict[str, Any] | None

    def running(self, now: datetime, lease: timedelta) -> bool:
        return self.claim is not None and not self.claim.get("done") \
            and _aware(self.claim["started_at"]) > now - lease

    @property
    def stale(self) -> dict[str, Any] | None:
        """The claim of a fold that was not done (to be taken over once its lease ran out)."""
        return self.claim if self.claim is not None and not self.claim.get("done") else None


class CaseReadModels:
    """The read models of one case database (see the module docstring)."""

    def __init__(self, database: Database[Any], *, bucket_size: int = BUCKET_SIZE,
                 lease: timedelta = LEASE) -> None:
        self.pending: Collection[Any] = database[PENDING]
        self.models: Collection[Any] = database[MODELS]
        self.cases: Collection[Any] = database[CASES]
        self.bucket_size = bucket_size
        self.lease = lease

    # -- the write path ------------------------------------------------------------------------

    def project(self, change: ChangeDocument) -> None:
        """Records what the change makes of the case for lists and figures (idempotent)."""
        case = listed(change.aggregate_id, change.version, dict(change.fields))
        # A duplicate: projected before (a repair of the view, or both writers of a race).
        with contextlib.suppress(DuplicateKeyError):
            self.pending.insert_one({"_id": change.change_id, **_primitive(case),
                                     "at": datetime.now(UTC)})

    def discard(self, change_id: str) -> None:
        """The change was refused after its projection (a new case whose view was refused)."""
        self.pending.delete_one({"_id": change_id})

    # -- reads ---------------------------------------------------------------------------------

    def figures(self) -> dict[str, dict[str, int]]:
        """The figures with every write made before the call: folds what is pending first (or
        waits for the fold another process is running)."""
        while True:
            head = self._head()
            if head.stale is None and self.pending.find_one({}, {"_id": 1}) is None:
                return self._figures().shown()
            folded = self.fold()
            if folded is not None and folded < FOLD_BATCH:
                return self._figures().shown()
            if folded is None:
                time.sleep(0.02)

    def page(self, query: CaseFilter, size: int, after: SortKey | None) -> list[dict[str, Any]]:
        """Up to `size + 1` case documents of `query` after position `after`, in list order."""
        pending = list(self.pending.find({}, {"position": 1, "lists": 1}))
        if len(pending) > READ_FOLDS_ABOVE and self.fold() is not None:
            pending = list(self.pending.find({}, {"position": 1, "lists": 1}))
        lists = plan(query).lists
        found: list[dict[str, Any]] = []
        for _, case_id in self._candidates(lists, after, pending):
            document = self.cases.find_one({"_id": case_id})
            if document is not None and matches(query, document):
                found.append(document)
                if len(found) > size:
                    break
        return found

    def _candidates(self, lists: Sequence[str], after: SortKey | None,
                    pending: Sequence[Mapping[str, Any]]) -> Iterator[SortKey]:
        wanted = set(lists)
        unfolded = sorted({_key(p["position"]) for p in pending
                           if p.get("position") and wanted.intersection(p.get("lists") or ())
                           and (after is None or _key(p["position"]) > after)})
        last: SortKey | None = None
        for position in heapq.merge(*(self._positions(name, after) for name in lists), iter(unfolded)):
            if position != last:
                yield position
                last = position

    def _positions(self, name: str, after: SortKey | None) -> Iterator[SortKey]:
        directory = self.models.find_one({"_id": f"d:{name}"})
        if directory is None:
            return
        buckets = directory["buckets"]
        start = 0
        if after is not None:
            start = max(bisect.bisect_right([_key(b["first"]) for b in buckets], after) - 1, 0)
        for bucket in buckets[start:]:
            stored = self.models.find_one({"_id": f"b:{name}#{bucket['no']}"}) or {"entries": []}
            for entry in stored["entries"]:
                position = _key(entry)
                if after is None or position > after:
                    yield position

    # -- folding -------------------------------------------------------------------------------

    def fold(self) -> int | None:
        """Folds up to FOLD_BATCH pending changes into the read models; how many (None: another
        process is folding)."""
        with _FOLD_LOCK:
            now = datetime.now(UTC)
            head = self._head()
            if head.running(now, self.lease):
                return None
            stale = head.stale
            batch = {d["_id"]: d for d in self.pending.find({}).limit(FOLD_BATCH)}
            for change_id in (stale or {}).get("ids", ()):  # a stopped fold's changes first
                if change_id not in batch and (d := self.pending.find_one({"_id": change_id})):
                    batch[change_id] = d
            if not batch and stale is None:
                return 0
            number = head.number + 1
            try:
                self.models.insert_one({"_id": f"fold:{number}", "started_at": now, "done": False,
                                        "ids": list(batch)})
            except DuplicateKeyError:
                return None
            self.models.update_one({"_id": "fold_head"}, {"$max": {"number": number}}, upsert=True)
            figures = self._figures_document()
            counted = set(stale["ids"]) if stale is not None and figures.get("fold") == head.number else set()
            self._fold(number, list(batch.values()), counted)
            self.models.update_one({"_id": f"fold:{number}"}, {"$set": {"done": True}})
            if batch:
                self.pending.delete_many({"_id": {"$in": list(batch)}})
            self.models.delete_one({"_id": f"fold:{number - KEEP_FOLDS}"})
            return len(batch)

    def _fold(self, number: int, pending: Sequence[Mapping[str, Any]], counted: set[str]) -> None:
        """Moves the pending changes into the lists, then the figures, then the `c:` records.
        `counted`: changes whose figures the stored `figures` hold already (a stopped fold's)."""
        by_case: dict[str, list[Mapping[str, Any]]] = {}
        for document in pending:
            by_case.setdefault(document["case_id"], []).append(document)
        before = {case_id: self._counted(case_id) for case_id in by_case}
        ordered = {c: sorted(ds, key=lambda d: int(d["version"])) for c, ds in by_case.items()}
        self._apply(number, before, ordered, counted)

    def _apply(self, number: int, before: Mapping[str, Listed | None],
               changes: Mapping[str, Sequence[Mapping[str, Any]]], counted: set[str], *,
               fresh: bool = False) -> None:
        figures = self._figures()
        operations: dict[str, list[tuple[bool, SortKey]]] = {}
        after: dict[str, Listed] = {}
        for case_id, documents in changes.items():
            current = before.get(case_id)
            for document in documents:
                new = _listed(document)
                if current is not None and current.version >= new.version:
                    continue  # counted already (a repeated projection or a folded repair)
                if document.get("_id") not in counted:
                    figures.move(current, new)
                old_lists = current.lists if current is not None else frozenset()
                for name in old_lists - new.lists:
                    assert current is not None and current.position is not None
                    operations.setdefault(name, []).append((False, current.position))
                for name in new.lists - old_lists:
                    assert new.position is not None
                    operations.setdefault(name, []).append((True, new.position))
                current = new
            if current is not None and current is not before.get(case_id):
                after[case_id] = current
        for name, ops in operations.items():
            self._write_list(name, ops)
        self._set("figures", {**figures.stored(), "fold": number})
        if fresh:  # a bulk seed: none of them is known yet, one request
            self.models.insert_many([{"_id": f"c:{case_id}", **_primitive(case)}
                                     for case_id, case in after.items()], ordered=False)
        else:
            for case_id, case in after.items():
                self._set(f"c:{case_id}", _primitive(case))

    def _write_list(self, name: str, operations: Sequence[tuple[bool, SortKey]]) -> None:
        """Adds (True) and removes (False) positions of one list: new buckets first, then the
        directory, then the buckets changed, so that a stop in between leaves a position twice
        (readers skip the repeat), never nowhere."""
        directory = self.models.find_one({"_id": f"d:{name}"}) or {"buckets": [], "next": 0}
        buckets: list[tuple[int, SortKey, int]] = [(int(b["no"]), _key(b["first"]), int(b["count"]))
                                                   for b in directory["buckets"]]
        number = int(directory["next"])
        loaded: dict[int, list[SortKey]] = {}
        changed: set[int] = set()

        def entries(no: int) -> list[SortKey]:
            if no not in loaded:
                stored = self.models.find_one({"_id": f"b:{name}#{no}"}) or {"entries": []}
                loaded[no] = [_key(e) for e in stored["entries"]]
            return loaded[no]

        firsts = [b[1] for b in buckets]
        for add, position in operations:
            if not buckets:
                if not add:
                    continue
                buckets.append((number, position, 0))
                firsts.append(position)
                loaded[number] = []
                changed.add(number)
                number += 1
            index = max(bisect.bisect_right(firsts, position) - 1, 0)
            no = buckets[index][0]
            held = entries(no)
            at = bisect.bisect_left(held, position)
            present = at < len(held) and held[at] == position
            if add and not present:
                held.insert(at, position)
            elif not add and present:
                del held[at]
            else:
                continue
            changed.add(no)
        fresh: set[int] = set()
        gone: list[int] = []
        result: list[tuple[int, SortKey, int]] = []
        for no, first, count in buckets:
            if no not in loaded:
                result.append((no, first, count))
                continue
            held = loaded[no]
            if not held:
                gone.append(no)
                continue
            half = max(self.bucket_size // 2, 1)
            pieces = [held] if len(held) <= self.bucket_size else \
                [held[i:i + half] for i in range(0, len(held), half)]
            loaded[no] = pieces[0]
            result.append((no, pieces[0][0], len(pieces[0])))
            for piece in pieces[1:]:
                loaded[number] = piece
                fresh.add(number)
                result.append((number, piece[0], len(piece)))
                number += 1
        self._store_buckets(name, {no: loaded[no] for no in fresh})
        self._set(f"d:{name}", {"next": number, "buckets": [
            {"no": no, "first": _text(first), "count": count} for no, first, count in result]})
        self._store_buckets(name, {no: loaded[no] for no in changed - fresh if no not in gone})
        for no in gone:
            self.models.delete_one({"_id": f"b:{name}#{no}"})

    def _store_buckets(self, name: str, buckets: Mapping[int, Sequence[SortKey]]) -> None:
        for no, held in buckets.items():
            self._set(f"b:{name}#{no}", {"entries": [_text(p) for p in held]})

    def _set(self, document_id: str, fields: Mapping[str, Any]) -> None:
        """Writes a maintained document. `$set` on the bare `_id`: on FerretDB 1.24 (SQLite) a
        replace_one or a bulk of upserts measured many times slower on the loaded test machine
        (docs/benchmarks.md, "Read models")."""
        self.models.update_one({"_id": document_id}, {"$set": dict(fields)}, upsert=True)

    # -- check, rebuild, bulk seeding -----------------------------------------------------------

    def seed(self, documents: Iterable[Mapping[str, Any]]) -> int:
        """Adds cases written in bulk around the api (their case documents, as `cases` holds
        them, none of them known to the read models yet; bench). Not while the node writes."""
        changes = {str(d["_id"]): [_pending_of(d)] for d in documents}
        if changes:
            head = self._head()
            self._apply(head.number, dict.fromkeys(changes), changes, set(), fresh=True)
        return len(changes)

    def rebuild(self) -> int:
        """The read models anew from the case documents (migration; not while the node writes:
        `kim node migrate` runs with the node stopped). How many cases."""
        self.models.delete_many({})
        self.pending.delete_many({})
        seeded = 0
        batch: list[dict[str, Any]] = []
        for document in self.cases.find({}, _SEEN):
            batch.append(document)
            if len(batch) == 5000:
                seeded += self.seed(batch)
                batch = []
        return seeded + self.seed(batch)

    def check(self) -> list[str]:
        """Differences between the read models (after a fold) and a full scan of the cases:
        empty when they agree."""
        while self.fold():
            pass
        expected = Figures.empty(FIGURE_KEYS)
        lists: dict[str, set[SortKey]] = {}
        for document in self.cases.find({}, _SEEN):
            case = listed(str(document["_id"]), int(document.get("version", 0)), document)
            expected.add(case, 1)
            for name in case.lists:
                assert case.position is not None
                lists.setdefault(name, set()).add(case.position)
        found: list[str] = []
        if (stored := self._figures().shown()) != expected.shown():
            found.append(f"Kennzahlen: gespeichert {stored}, gezählt {expected.shown()}")
        for directory in self.models.find({"_id": {"$regex": "^d:"}}):
            name = directory["_id"][2:]
            held = {position for position in self._positions(name, None)}
            want = lists.pop(name, set())
            if held != want:
                found.append(f"Liste {name}: {len(want - held)} fehlen, {len(held - want)} zu viel")
        found += [f"Liste {name}: {len(want)} fehlen" for name, want in lists.items()]
        return found

    # -- internals ----------------------------------------------------------------------------

    def _head(self) -> Head:
        hint = self.models.find_one({"_id": "fold_head"})
        number = int(hint["number"]) if hint else 0
        claim = self.models.find_one({"_id": f"fold:{number}"}) if number else None
        while (newer := self.models.find_one({"_id": f"fold:{number + 1}"})) is not None:
            number, claim = number + 1, newer
        return Head(number, claim)

    def _figures_document(self) -> dict[str, Any]:
        return self.models.find_one({"_id": "figures"}) or {}

    def _figures(self) -> Figures:
        stored = self._figures_document()
        figures = Figures.empty(FIGURE_KEYS)
        figures.status.update(stored.get("status") or {})
        figures.zielgruppe.update(stored.get("zielgruppe") or {})
        figures.totals.update({k: int(v) for k, v in (stored.get("totals") or {}).items()
                               if k in figures.totals})
        return figures

    def _counted(self, case_id: str) -> Listed | None:
        stored = self.models.find_one({"_id": f"c:{case_id}"})
        return None if stored is None else _listed(stored)


#: The fields of a case document the read models read.
_SEEN = {"owner_org": 1, "access_orgs": 1, "status": 1, "zielgruppe": 1, "case_manager": 1,
         "created_at": 1, "figures": 1, "version": 1}


def _pending_of(document: Mapping[str, Any]) -> dict[str, Any]:
    case_id = str(document["_id"])
    return {"_id": f"{case_id}:{int(document.get('version', 0))}",
            **_primitive(listed(case_id, int(document.get("version", 0)), document))}


def _primitive(case: Listed) -> dict[str, Any]:
    return {"case_id": case.case_id, "version": case.version,
            "position": _text(case.position) if case.position else None, "lists": sorted(case.lists),
            "status": case.status, "zielgruppe": case.zielgruppe, "figures": dict(case.figures)}


def _listed(stored: Mapping[str, Any]) -> Listed:
    position = stored.get("position")
    return Listed(str(stored["case_id"]), int(stored["version"]),
                  _key(position) if position else None,
                  frozenset(stored.get("lists") or ()), str(stored.get("status") or ""),
                  str(stored.get("zielgruppe") or ""),
                  {str(k): int(v) for k, v in (stored.get("figures") or {}).items()})


def _text(position: SortKey) -> str:
    """A position as stored (FerretDB 1.24 stores no nested arrays): the creation time's text
    has a fixed length, so the stored text sorts as the position does."""
    return f"{position[0]}|{position[1]}"


def _key(stored: str) -> SortKey:
    created, _, case_id = stored.partition("|")
    return created, case_id


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
