"""Versioned aggregates whose every write is the insert of a change document.

Why: FerretDB 1.24 applies an update as a read-modify-write of the whole document without
isolation (docs/decisions.md, "Storage on FerretDB 1.24 and MongoDB 7"): concurrent updates lose
each other, and two writers with the same version condition can both "win". Only the insert of a
unique key is atomic on both FerretDB and MongoDB 7. So:

- Each write of an aggregate inserts a `ChangeDocument` with `_id` "<aggregate id>:<version>",
  the aggregate's written fields (its materialised state at that version) and the events of that
  write as its outbox. The unique `_id` makes exactly one writer of a version win; the losers get
  `FailedPrecondition` and reload. After the insert nobody but the outbox relay writes the change
  (the invariant of `kimnetz.runtime.outbox`), so no event is lost or sent twice by a race.
- The aggregate's materialised document (the "view": what reads, lists and indexes use; it has
  NO outbox) is then brought up to that version with an update conditional on
  `version < new`, which can only ever move it forward. Because that update is not isolated
  either, and a process may stop between the two writes, the change is the truth: `load()`
  repairs the view from a newer change.
- Superseded changes whose events are sent (and that record no `cause`) are deleted once they
  are older than `keep_superseded` (a day by default). Not at once: the change's `_id` is the
  claim on its version, and a writer that loaded the version before it would otherwise insert
  that id anew and "win" a version that is long taken (its write then silently lost: measured
  with the relay emptying outboxes within milliseconds, tests/integration/runtime/
  test_changes.py). A writer holds a loaded version for one call, far less than a day.
- A change caused by a consumed event (`cause`, its event id) is inserted together with a
  receipt in the same collection, `_id` "applied:<event id>" (`receipt_id`), naming the change:
  one ordered insert of both, the change first (refused, it takes the receipt with it).
  `applied(cause)` then reads the receipt and its change by `_id`: FerretDB 1.24 answers only a
  string `_id` without scanning the whole collection in Go, and a count by `cause` was a scan per
  consumed event (docs/benchmarks.md, "Constant-cost hot paths"). A receipt whose change is gone
  (retention forgot the history) no longer counts, as the count by `cause` did not. Receipts
  carry neither `aggregate_id` nor `version`, so no query of changes by aggregate meets them.

Usage (a service's repository):

    class CaseChange(ChangeDocument):
        meta = {"db_alias": "case", "collection": "case_changes"}

    store = VersionedStore(CaseChange, CaseDocument, key="case_id")
    change = store.new_change(case_id, version, fields)
    record_event(change, message, source_service=..., source_node=...)
    store.commit(change)              # FailedPrecondition if `version` was taken meanwhile
    view = store.load(case_id)        # the view document at its newest version, or None
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, TypeVar

from mongoengine import DateTimeField, DictField, Document, IntField, NotUniqueError, StringField
from pymongo.collection import Collection
from pymongo.errors import BulkWriteError, DuplicateKeyError

from kimnetz.errors import AlreadyExists, VersionConflict
from kimnetz.runtime.outbox import OutboxDocument, inserted

CONFLICT = "Der Datensatz wurde inzwischen geändert; bitte neu laden."
EXISTS = "Der Datensatz existiert bereits."


class ChangeDocument(OutboxDocument):
    """One written version of an aggregate: its fields at that version and the events of that
    write. Insert-only (`OutboxDocument`). A subclass names its collection and alias; it may map
    `aggregate_id` to another stored name (`db_field`) to keep an existing collection's shape."""

    meta: dict[str, Any] = {
        "abstract": True,
        "indexes": ["outbox.event_id", ("aggregate_id", "version"), "cause"],
    }

    change_id = StringField(primary_key=True)  # "<aggregate id>:<version>"
    aggregate_id = StringField(required=True)
    version = IntField(required=True, min_value=1)
    #: The materialised document's stored fields at this version (`version` among them).
    fields = DictField(required=True)
    #: The id of the event that caused this write ("" for api calls): a consumer looks it up to
    #: apply a redelivered event once (`VersionedStore.applied`). Kept while the aggregate lives.
    cause = StringField(default="")
    written_at = DateTimeField(required=True)


def change_id(aggregate_id: str, version: int) -> str:
    return f"{aggregate_id}:{version}"


RECEIPT_PREFIX = "applied:"
DUPLICATE_KEY = 11000


def receipt_id(cause: str) -> str:
    """The `_id` of the receipt of event `cause` in a change collection."""
    return f"{RECEIPT_PREFIX}{cause}"


def receipt(change: ChangeDocument) -> dict[str, Any]:
    """The receipt of the event that caused `change`: its `_id` and the change it names (and the
    aggregate, for retention's deletion of everything of it)."""
    return {"_id": receipt_id(change.cause), "receipt_of": change.change_id,
            "receipt_for": change.aggregate_id, "written_at": change.written_at}


def write_receipts(collection: Collection[Any]) -> int:
    """The receipts of the caused changes stored before receipts existed (a data migration:
    one scan, idempotent); how many were written."""
    written = 0
    for stored in collection.find({"cause": {"$nin": ["", None]}, "version": {"$exists": True}},
                                  {"cause": 1, "written_at": 1}):
        try:
            collection.insert_one({"_id": receipt_id(stored["cause"]), "receipt_of": stored["_id"],
                                   "receipt_for": str(stored["_id"]).rpartition(":")[0],
                                   "written_at": stored.get("written_at")})
        except DuplicateKeyError:
            continue
        written += 1
    return written


C = TypeVar("C", bound=ChangeDocument)
V = TypeVar("V", bound=Document)


class VersionedStore(Generic[C, V]):
    """Commits versions of the aggregates of one change collection (`changes`) and keeps their
    materialised documents (`view`, a plain mongoengine Document with an `IntField` `version`)
    up to date. `key`: the view's field (by its mongoengine name) that holds the aggregate id;
    it must be unique in the view (its primary key or a unique index)."""

    def __init__(
        self, changes: type[C], view: type[V], *, key: str,
        conflict_message: str = CONFLICT, exists_message: str = EXISTS,
        keep_superseded: timedelta = timedelta(days=1), prune_on_write: bool = True,
        project: Callable[[ChangeDocument], None] | None = None,
    ) -> None:
        if issubclass(view, OutboxDocument):
            raise TypeError(f"{view.__name__}: the materialised document is updated, so it "
                            "must not carry an outbox (the changes carry the events)")
        self.changes = changes
        self.view = view
        self.key = key
        self._key_db = view._fields[key].db_field
        self.conflict_message = conflict_message
        self.exists_message = exists_message
        self.keep_superseded = keep_superseded
        #: False: a write never deletes superseded changes; `prune_superseded` (a timer) does.
        self.prune_on_write = prune_on_write
        #: Called with every change after its insert and before the view follows it, and again
        #: whenever `apply` repairs a view from it: read models fed from the changes (the case's
        #: lists and figures, services/case/read_models.py) catch up exactly where the view
        #: does, also after a process stopped between the writes. It must be idempotent by the
        #: change's id.
        self.project = project

    def new_change(self, aggregate_id: str, version: int, fields: dict[str, Any], *,
                   cause: str = "") -> C:
        """The change that writes `fields` as `version` (record its events with
        `kimnetz.runtime.outbox.record_event`, then `commit` it)."""
        return self.changes(
            change_id=change_id(aggregate_id, version), aggregate_id=aggregate_id, version=version,
            fields={**fields, "version": version}, cause=cause, written_at=datetime.now(UTC),
        )

    def commit(self, change: C) -> None:
        """Insert the change, then bring the view up to it.

        Version 1 creates the aggregate: if the id is taken, or the view's other unique indexes
        refuse the new fields, nothing stays written and AlreadyExists is raised (chained to the
        NotUniqueError/DuplicateKeyError, for a caller that tells the cases apart). A later
        version that another writer took first raises VersionConflict (a FailedPrecondition);
        the events stay with the caller's aggregate."""
        try:
            if change.cause:
                self._insert_with_receipt(change)
            else:
                change.save()
        except NotUniqueError as error:
            if change.version == 1:
                raise AlreadyExists(self.exists_message) from error
            raise VersionConflict(self.conflict_message) from error
        if change.version == 1:
            if self.project is not None:
                self.project(change)
            try:
                self.view._get_collection().insert_one(
                    {self._key_db: change.aggregate_id, **_present(change.fields)})
            except DuplicateKeyError as error:
                # Nobody else knows the new id yet; the relay may only have sent its events if it
                # swept within these milliseconds (docs/events.md, "Versioned aggregates").
                self.changes.objects(change_id=change.change_id).delete()
                raise AlreadyExists(self.exists_message) from error
            return
        self.apply(change)

    def _insert_with_receipt(self, change: C) -> None:
        """The change and the receipt of its cause, in one ordered insert (see the module's note).
        A receipt already there names an earlier change of the same event, which can only be one
        retention has forgotten meanwhile (the caller checked `applied`) or a redelivery handled
        at the same instant: the receipt then names this change."""
        change.validate()
        collection = self.changes._get_collection()
        try:
            collection.insert_many([change.to_mongo(), receipt(change)], ordered=True)
        except BulkWriteError as error:
            errors = error.details.get("writeErrors", ())
            if any(e.get("code") != DUPLICATE_KEY for e in errors):
                raise
            if any(e.get("index") == 0 for e in errors):
                raise NotUniqueError(f"{change.change_id} exists") from error
            collection.replace_one({"_id": receipt_id(change.cause)}, receipt(change))
        change._created = False  # as `save()` leaves it: inserted, never saved again
        if change.outbox:
            inserted(collection.full_name, change.pk)

    def apply(self, change: ChangeDocument) -> None:
        """Bring the view up to `change`; never back (only over an older version)."""
        if self.project is not None:
            self.project(change)
        collection = self.view._get_collection()
        fields = dict(change.fields)
        update: dict[str, Any] = {"$set": _present(fields)}
        absent = {name: "" for name, value in fields.items() if value is None}
        if absent:  # unset rather than null: sparse unique indexes skip what is absent only
            update["$unset"] = absent
        matched = collection.update_one(
            {self._key_db: change.aggregate_id, "version": {"$lt": change.version}}, update,
        ).matched_count
        if not matched and not collection.count_documents({self._key_db: change.aggregate_id}, limit=1):
            # The view of version 1 never landed (the process stopped between the writes); a
            # duplicate means another reader repaired it meanwhile.
            with contextlib.suppress(DuplicateKeyError):
                collection.insert_one({self._key_db: change.aggregate_id, **_present(fields)})
        if not self.prune_on_write:
            return
        # Superseded changes whose events are sent have done their job once no writer can still
        # hold their version (see the module's note). Only empty outboxes are deleted, and the
        # relay only ever empties them, so no event can go with them.
        cutoff = datetime.now(UTC) - self.keep_superseded
        first = self.changes.objects(change_id=change_id(change.aggregate_id, 1)).only("written_at").first()
        if first is not None and _aware(first.written_at) >= cutoff:
            # Every change of the aggregate was written after its first, so none is old enough
            # yet; this `_id` lookup spares the delete's scan of the whole collection on
            # FerretDB 1.24 (docs/benchmarks.md).
            return
        self.changes.objects(aggregate_id=change.aggregate_id, version__lt=change.version,
                             outbox__size=0, cause="",
                             written_at__lt=cutoff).delete()

    def prune_superseded(self, batch: int = 1000) -> int:
        """Deletes the superseded changes older than `keep_superseded` whose events are sent and
        that record no cause, of every aggregate at once: one read of those changes (a scan,
        for a timer, not for a write: on FerretDB 1.24 the write's own delete was a scan of the
        whole collection per write of any aggregate older than a day), then deletes by `_id`.
        Of each aggregate's old changes the newest stays (it may be the aggregate's newest of
        all, which nothing supersedes). How many went."""
        cutoff = datetime.now(UTC) - self.keep_superseded
        aggregate = self.changes._fields["aggregate_id"].db_field
        found: dict[str, list[tuple[int, str]]] = {}
        for row in self.changes._get_collection().find(
                {"outbox": {"$size": 0}, "cause": "", "written_at": {"$lt": cutoff},
                 "version": {"$exists": True}}, {aggregate: 1, "version": 1}):
            found.setdefault(str(row.get(aggregate)), []).append((int(row["version"]), str(row["_id"])))
        doomed = [change for versions in found.values() for _, change in sorted(versions)[:-1]]
        collection = self.changes._get_collection()
        for start in range(0, len(doomed), batch):
            collection.delete_many({"_id": {"$in": doomed[start:start + batch]}, "outbox": {"$size": 0}})
        return len(doomed)

    def newest_change(self, aggregate_id: str, *, after: int = 0) -> C | None:
        """The newest change of the aggregate above version `after` (without its outbox).

        Looked up by `_id`, version after version: the changes above the view's version are
        contiguous (a writer commits the version after the newest it loaded, and `load` repairs
        the view first), and FerretDB 1.24 (SQLite) answers only a bare `_id` equality without
        scanning the whole collection (docs/benchmarks.md: the scan made every case read cost
        seconds at a few hundred cases). Usually this is one lookup that finds nothing."""
        found: C | None = None
        version = after + 1
        while (newer := self.changes.objects(change_id=change_id(aggregate_id, version))
               .exclude("outbox").first()) is not None:
            found, version = newer, version + 1
        return found

    def load(self, aggregate_id: str, *, exclude: tuple[str, ...] = ()) -> V | None:
        """The view document at the aggregate's newest version (None if there is none), repaired
        from a newer change first if the view lags behind. `exclude`: fields not to load."""
        query = self.view.objects(**{self.key: aggregate_id})
        if exclude:
            query = query.exclude(*exclude)
        document: V | None = query.first()
        newer = self.newest_change(aggregate_id, after=document.version if document else 0)
        if newer is not None:
            self.apply(newer)
            document = query.first()
        return document

    def applied(self, cause: str) -> bool:
        """Whether a change caused by event `cause` was written and is still kept (a redelivery
        is then skipped): its receipt and the change it names, both by `_id`."""
        if not cause:
            return False
        collection = self.changes._get_collection()
        found = collection.find_one({"_id": receipt_id(cause)}, {"receipt_of": 1})
        return (found is not None
                and collection.find_one({"_id": found["receipt_of"]}, {"_id": 1}) is not None)

    def delete(self, aggregate_id: str) -> None:
        """The aggregate and all its changes are gone for good (retention only)."""
        self.view.objects(**{self.key: aggregate_id}).delete()
        self.changes.objects(aggregate_id=aggregate_id).delete()
        self.changes._get_collection().delete_many({"receipt_for": aggregate_id})


def _aware(moment: datetime) -> datetime:
    """Stored times come back naive (UTC) where the connection is not tz-aware."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _present(fields: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in fields.items() if value is not None}
