"""The consistency of a backup taken while the node keeps writing (docs/decisions.md, "Backup
while the node writes").

FerretDB 1.24 has neither snapshots nor multi-document transactions, so a backup reads one
collection after the other while writes go on. What makes the copy a state the node could have
been in:

- The cut is the moment the backup starts reading. Every write acknowledged before it is in the
  database before any collection is read, and a read returns every document that existed when it
  began and was not deleted meanwhile: all of them are in the copy. Writes after the cut may or
  may not be; what they leave half-visible is cut off here, so that each aggregate ends in a
  prefix of its writes.
- Read order within a database (`read_order`): the materialised views first, then the change
  collections, then GridFS's descriptions (`<bucket>.files`), then its chunks. A service writes
  the other way round (change, then view; chunks, then description), so whatever the copy has of
  a view or a description, it has the change or the content it came from.
- Versioned aggregates (`trim_versioned`): the change documents are the truth. Of an aggregate
  the copy keeps every change up to its view's version and, above it, only the unbroken run of
  versions (a change written during the read may be seen while the one before it was missed);
  changes without a view and without a first version (an aggregate erased while it was read)
  are left out. Views are kept as read. After a restore `load` brings each view up to its
  newest change; the restore does so at once (`view_repairs`).
- The audit chain (`trim_chain`): appended one sequence number after the other; the copy keeps
  the run 1..n without gap, which holds every entry appended before the cut, and a head written
  anew for entry n (a head read after the cut may name a later entry).
- Once-per-event receipts among the changes are kept with the change they name.
- Read models (the case's lists and figures) are derived: left out, and built anew from the
  restored cases by the restore (`DERIVED`).
- GridFS (`complete_files`): a description whose chunks are not all in the copy (a file deleted
  while it was read) is left out with its chunks.
- Outboxes: an event the copy still has pending but the relay sent after the cut is sent again
  after a restore; receivers take it once by its id (docs/events.md).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

#: A stored document as the backup reads it (pymongo's RawBSONDocument, or a dict in tests).
Doc = TypeVar("Doc", bound=Mapping[str, Any])


@dataclass(frozen=True)
class Versioned:
    """A change collection and its materialised view (kimnetz.runtime.changes.VersionedStore)."""

    changes: str
    #: The stored name of the change's aggregate id (`aggregate_id`, the case's `case_id`).
    aggregate_field: str
    view: str
    #: The stored name of the view's key (`_id` or a unique field).
    view_key: str


#: Every VersionedStore of the services, by database kind (a unit test keeps this equal to the
#: stores the services build).
VERSIONED: dict[str, tuple[Versioned, ...]] = {
    "case": (Versioned("case_changes", "case_id", "cases", "_id"),),
    "conference": (
        Versioned("conference_changes", "aggregate_id", "conferences", "conference_id"),
        Versioned("lenkungsgruppe_changes", "aggregate_id", "lenkungsgruppen", "gremium_id"),
        Versioned("session_changes", "aggregate_id", "sessions", "session_id"),
        Versioned("beschluss_changes", "aggregate_id", "beschluesse", "beschluss_id"),
        Versioned("projektgruppe_changes", "aggregate_id", "projektgruppen", "projektgruppe_id"),
        Versioned("erasure_changes", "aggregate_id", "erasures", "erasure_id"),
    ),
}

#: Collections derived from the others, by database kind: not backed up (what they held may
#: reflect writes after the cut), built anew from the restored data (`rebuild_derived`).
DERIVED: dict[str, tuple[str, ...]] = {"case": ("case_read_pending", "case_read_models")}

#: Hash-chained audit trails, by database kind: the collection (services/case/audit_trail.py).
AUDIT_CHAINS: dict[str, str] = {"case": "audit"}


def read_order(kind: str, collections: Iterable[str]) -> list[str]:
    """The order in which the backup reads a database's collections (module docstring)."""
    changes = {v.changes for v in VERSIONED.get(kind, ())}

    def rank(name: str) -> tuple[int, str]:
        if name in changes:
            return 1, name
        if name.endswith(".files"):
            return 2, name
        if name.endswith(".chunks"):
            return 3, name
        return 0, name

    return sorted(collections, key=rank)


@dataclass
class Trimmed(Generic[Doc]):
    """What a cut keeps of some collections, and how many documents it left out of each."""

    kept: dict[str, list[Doc]]
    dropped: dict[str, int] = field(default_factory=dict)


def is_receipt(document: Mapping[str, Any]) -> bool:
    """A once-per-event receipt stored among the changes (`kimnetz.runtime.changes`): it names
    the change an event caused and is kept exactly when that change is."""
    return "receipt_of" in document


def trim_versioned(spec: Versioned, views: Sequence[Doc], changes: Sequence[Doc]) -> Trimmed[Doc]:
    view_version = {view[spec.view_key]: int(view.get("version", 0)) for view in views}
    versions: dict[Any, set[int]] = {}
    for change in changes:
        if not is_receipt(change):
            versions.setdefault(change[spec.aggregate_field], set()).add(int(change["version"]))
    keep: dict[Any, int] = {}  # aggregate -> highest version kept
    for aggregate, present in versions.items():
        top = view_version.get(aggregate, 0)
        while top + 1 in present:
            top += 1
        keep[aggregate] = top
    kept_views = list(views)  # a view is never left out (it may predate its changes)
    kept_changes = [c for c in changes if not is_receipt(c)
                    and int(c["version"]) <= keep.get(c[spec.aggregate_field], -1)]
    kept_ids = {c["_id"] for c in kept_changes}
    # A receipt without its change counts as no receipt (`VersionedStore.applied`): left out.
    kept_changes += [c for c in changes if is_receipt(c) and c["receipt_of"] in kept_ids]
    return Trimmed({spec.view: kept_views, spec.changes: kept_changes},
                   {spec.view: len(views) - len(kept_views),
                    spec.changes: len(changes) - len(kept_changes)})


def chain_sequence(entry: Mapping[str, Any]) -> int | None:
    """An audit entry's sequence number (`sequence`; the `_id` in the trail's first format);
    None for the trail's head (services/case/audit_trail.py), which is no entry."""
    if "sequence" in entry:
        return int(entry["sequence"])
    try:
        return int(entry["_id"])
    except (TypeError, ValueError):
        return None


def trim_chain(entries: Sequence[Doc]) -> tuple[list[Doc], int]:
    """The run of sequence numbers 1..n without gap (sorted), and how many entries were left out.
    The head is not an entry: the caller writes it anew for the kept tail, since a head copied
    after the cut could point beyond the kept run, and the next append would leave a gap."""
    by_sequence = {n: entry for entry in entries if (n := chain_sequence(entry)) is not None}
    kept: list[Doc] = []
    while (len(kept) + 1) in by_sequence:
        kept.append(by_sequence[len(kept) + 1])
    return kept, len(by_sequence) - len(kept)


def complete_files(files: Sequence[Doc], chunks: Sequence[Doc]) -> Trimmed[Doc]:
    """GridFS descriptions whose chunks are all there, and the chunks of those (and of nothing
    else: chunks without description are a file being written after the cut)."""
    have: dict[Any, set[int]] = {}
    for chunk in chunks:
        have.setdefault(chunk["files_id"], set()).add(int(chunk["n"]))
    whole = {f["_id"] for f in files
             if have.get(f["_id"], set()) >= set(range(math.ceil(int(f["length"]) / int(f["chunkSize"]))))}
    kept_files = [f for f in files if f["_id"] in whole]
    kept_chunks = [c for c in chunks if c["files_id"] in whole]
    return Trimmed({"files": kept_files, "chunks": kept_chunks},
                   {"files": len(files) - len(kept_files), "chunks": len(chunks) - len(kept_chunks)})


def view_repairs(spec: Versioned, views: Sequence[Doc], changes: Sequence[Doc]) -> list[tuple[Any, Doc]]:
    """(aggregate id, newest change) for each aggregate whose view lags behind its newest kept
    change, as `VersionedStore.load` would repair it."""
    view_version = {view[spec.view_key]: int(view.get("version", 0)) for view in views}
    newest: dict[Any, Doc] = {}
    for change in changes:
        if is_receipt(change):
            continue
        aggregate = change[spec.aggregate_field]
        if aggregate not in newest or int(change["version"]) > int(newest[aggregate]["version"]):
            newest[aggregate] = change
    return [(aggregate, change) for aggregate, change in newest.items()
            if int(change["version"]) > view_version.get(aggregate, 0)]
