"""Data migrations of the case service (kimnetz/runtime/migrations.py; docs/operations.md).

1. Audit entries stored with their sequence number as `_id` get the zero-padded text `_id`
   (`services.case.audit_trail.audit_id`) and a `sequence` field: FerretDB 1.24 finds only a
   text `_id` without scanning, and the append finds the chain's tail by `_id` alone. The hash
   of an entry covers its sequence, not its `_id`, so the chain verifies as before. Each entry
   is inserted under its new `_id` first and removed under its old one after: a run that stops
   half-way leaves no entry missing, and a second run finishes it. The chain's head (a copy of
   the tail entry, services/case/audit_trail.py) is written before the entries.
2. Changes caused by a consumed event get their receipt (`kimnetz.runtime.changes.receipt`), so
   the once-per-event check finds them by `_id` instead of counting changes by `cause` (a scan
   of every change on FerretDB 1.24).
3. Every case gets its pseudonym document (`PseudonymDocument`): the lookup by pseudonym and the
   collision check of a new pseudonym are finds by `_id`.
4. The maintained lists and figures (services/case/read_models.py) are built from the case
   documents of a node that kept its cases before they existed; run again, it builds them anew
   (the same result), which is also the repair should `CaseReadModels.check` ever find them
   apart from the cases."""

from __future__ import annotations

from typing import Any

from pymongo.database import Database
from pymongo.errors import BulkWriteError, DuplicateKeyError

from kimnetz.runtime.changes import write_receipts
from kimnetz.runtime.migrations import Migration
from services.case.audit_trail import DUPLICATE_KEY, HEAD, audit_id
from services.case.read_models import CaseReadModels
from services.case.repository import AuditDocument, CaseChangeDocument, CaseDocument, PseudonymDocument

BATCH = 1000


def _audit_ids_as_text(database: Database[Any]) -> int:
    collection = database[AuditDocument._meta["collection"]]
    changed = 0
    last = collection.find_one({"_id": {"$not": {"$type": "string"}}}, sort=[("_id", -1)])
    if last is not None and collection.find_one({"_id": HEAD}) is None:
        # The head first, so that it stays among the table's first rows (audit_trail.py).
        collection.insert_one({"_id": HEAD, "tail": {
            **{k: v for k, v in last.items() if k != "_id"}, "sequence": int(last["_id"])}})
    while True:
        # Numbers sort before text in BSON's order, so the old entries come first.
        old = list(collection.find({"_id": {"$not": {"$type": "string"}}}).limit(BATCH))
        if not old:
            return changed
        converted = [{**entry, "_id": audit_id(int(entry["_id"])), "sequence": int(entry["_id"])}
                     for entry in old]
        try:
            collection.insert_many(converted, ordered=False)
        except BulkWriteError as error:  # converted by an earlier, interrupted run
            if any(e.get("code") != DUPLICATE_KEY for e in error.details.get("writeErrors", ())):
                raise
        collection.delete_many({"_id": {"$in": [entry["_id"] for entry in old]}})
        changed += len(old)


def _read_models(database: Database[Any]) -> int:
    """How many cases the read models were built from (0: they already agreed with the cases)."""
    models = CaseReadModels(database)
    return 0 if not models.check() else models.rebuild()


def _receipts(database: Database[Any]) -> int:
    return write_receipts(database[CaseChangeDocument._meta["collection"]])


def _pseudonyms(database: Database[Any]) -> int:
    pseudonyms = database[PseudonymDocument._meta["collection"]]
    written = 0
    for case in database[CaseDocument._meta["collection"]].find({}, {"pseudonym": 1}):
        try:
            pseudonyms.insert_one({"_id": case["pseudonym"], "case_id": case["_id"]})
        except DuplicateKeyError:
            continue
        written += 1
    return written


MIGRATIONS = [
    Migration(1, "Zugriffsprotokoll: Einträge unter ihrer Nummer als Text ablegen (Anhängen ohne "
                 "Sortieren des ganzen Protokolls)", _audit_ids_as_text),
    Migration(2, "Quittungen der angewandten Ereignisse anlegen (Prüfung „schon angewandt“ ohne "
                 "Durchsuchen aller Änderungen)", _receipts),
    Migration(3, "Pseudonyme der Fälle einzeln ablegen (Suche nach Pseudonym ohne Durchsuchen "
                 "aller Fälle)", _pseudonyms),
    Migration(4, "Falllisten und Kennzahlen aus den gespeicherten Fällen aufbauen (Lese-Modelle)",
              _read_models),
]
