"""Persistence of the case service: mongoengine Documents behind a small repository.

Who enters: the service layer (the areas services/case/composition.py builds), handed this
adapter of its `CaseRepository` port (services/case/domain/ports.py) by the composition root
(api process) or a nameko DependencyProvider (worker). Nothing else touches these collections.

- `case_changes`: every write of a case is the insert of its next version (`<case id>:<version>`,
  unique: optimistic concurrency that also holds on FerretDB) with the new fields and that
  write's events as outbox, so a state change and its events are one document write. Written
  through the runtime's `VersionedStore` (`kimnetz.runtime.changes`, docs/events.md "Versioned
  aggregates"); the relay sends and removes the events; superseded changes go a day after
  their events were sent (until then they are the claim on their version).
- `cases`: one document per case at its newest version (the store's materialised view): the
  state (nested, via `codec`), the person (never loaded unless asked for) and indexed
  top-level copies (status, organisation, Zielgruppe, case manager, review date) for lists.
  Repaired from a newer change on load.
- `audit`: the hash-chained audit trail; appends only, sequence unique.
- `case_pseudonyms`: pseudonym -> case id (`_id` the pseudonym): the pseudonym's claim and lookup.
- `zielgruppen`: every catalogue version the Lenkungsgruppe decided; the highest is current.

Kept to what FerretDB 1.24 and MongoDB 7 both do: no transactions, no $lookup/$facet, no
$pull with a condition; uniqueness by unique indexes.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

from mongoengine import (
    BooleanField,
    DateTimeField,
    DictField,
    Document,
    IntField,
    ListField,
    NotUniqueError,
    StringField,
)
from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError

from kimnetz.errors import (
    AlreadyExists,
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
)
from kimnetz.runtime.changes import ChangeDocument, VersionedStore
from kimnetz.runtime.outbox import OutboxDocument, PendingEvent, record_event
from services.case import SERVICE, contract
from services.case.audit_trail import AuditTrail, audit_id
from services.case.codec import from_primitive, to_primitive
from services.case.domain.audit import AuditDraft, AuditEntry
from services.case.domain.case import Case
from services.case.domain.movements import LedgerEntry
from services.case.domain.person import Person
from services.case.domain.ports import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, CaseFilter, CasePage, PseudonymTaken
from services.case.domain.read_models import SortKey, sort_key
from services.case.domain.retention import figures
from services.case.domain.vocabulary import CaseStatus
from services.case.domain.zielgruppen import DEFAULT_CATALOGUE, ZielgruppenCatalogue
from services.case.read_models import CaseReadModels

#: The only field of the change a retention deletion leaves until its erase request is sent.
ERASED_MARK = "erased"


class CaseDocument(Document):
    """The case at its newest version, as lists and reads need it (see `CaseChangeDocument`)."""

    meta = {
        "db_alias": SERVICE,
        "collection": "cases",
        "indexes": [
            {"fields": ["pseudonym"], "unique": True},
            ["owner_org", "created_at"],
            "access_orgs",
            "status",
            "zielgruppe",
            "case_manager",
            "next_review_due",
            # `closed_before` (the retention timer); MongoDB uses it, FerretDB 1.24 scans.
            ["status", "updated_at"],
        ],
    }

    case_id = StringField(primary_key=True)
    pseudonym = StringField(required=True)
    owner_org = StringField(required=True)
    access_orgs = ListField(StringField())
    status = StringField(required=True)
    zielgruppe = StringField(default="")
    case_manager = StringField(default="")
    next_review_due = StringField()  # ISO date, compares as text
    created_at = DateTimeField(required=True)
    updated_at = DateTimeField(required=True)
    version = IntField(required=True, default=0)
    state = DictField(required=True)
    person = DictField()
    #: What this case adds to the monitoring sums (`domain.retention.figures`).
    figures = DictField()
    #: Set when retention has erased the person; the case remains as anonymised statistics.
    person_erased = BooleanField(default=False)


class CaseChangeDocument(ChangeDocument):
    """One written version of a case: its fields and the events of that write (the outbox the
    relay sends). See `kimnetz.runtime.changes.ChangeDocument`."""

    meta = {"db_alias": SERVICE, "collection": "case_changes", "indexes": [
        # (with ChangeDocument's) `forget_erased`, the retention timer: what `delete` left.
        {"fields": [f"fields.{ERASED_MARK}"], "sparse": True},
    ]}

    #: Stored as `case_id`, the name the collection had before the runtime's store existed.
    aggregate_id = StringField(required=True, db_field="case_id")


class AuditDocument(Document):
    """One entry of the hash chain. `_id` is the sequence as zero-padded text (`audit_id`); the
    collection also holds the chain's head (`audit_trail.HEAD`, a copy of the tail entry), so
    an append reads no entry at all in the steady state (services/case/audit_trail.py). Trails
    stored with the sequence itself as `_id` are converted by the case service's data
    migration 1 (services/case/migrations.py)."""

    meta = {"db_alias": SERVICE, "collection": "audit", "strict": False,  # the head: `_id` "#head", `tail`
            "indexes": [("case_id", "sequence"), "sequence", "actor_org"]}

    entry_id = StringField(primary_key=True)
    sequence = IntField(required=True)
    occurred_at = DateTimeField(required=True)
    actor_subject = StringField(required=True)
    actor_org = StringField(default="")
    actor_roles = ListField(StringField())
    case_id = StringField(default="")
    call = StringField(required=True)
    purpose = StringField(default="")
    allowed = BooleanField(required=True)
    detail = StringField(default="")
    actor_node = StringField(default="")
    previous_hash = StringField(required=True)
    entry_hash = StringField(required=True)


class PseudonymDocument(Document):
    """Which case carries a pseudonym: `_id` the pseudonym (its uniqueness is this insert), so
    that a lookup by pseudonym and the collision check are finds by `_id`, not queries of
    `cases` (a scan on FerretDB 1.24). Written before the case, removed with it (retention)."""

    meta = {"db_alias": SERVICE, "collection": "case_pseudonyms"}

    pseudonym = StringField(primary_key=True)
    case_id = StringField(required=True)


class ZielgruppenDocument(Document):
    meta = {"db_alias": SERVICE, "collection": "zielgruppen"}

    version = IntField(primary_key=True)
    catalogue = DictField(required=True)
    received_at = DateTimeField(required=True)


class LedgerDocument(Document):
    """One entry of the figures ledger (services/case/domain/movements.py): a day as ISO text (a
    period's query compares text), a table, a key, +1 or -1; a random id, no case id. Retention
    does not touch this collection."""

    meta = {"db_alias": SERVICE, "collection": "figures_ledger", "indexes": ["day"]}

    day = StringField(required=True)
    table = StringField(required=True)
    key = StringField(default="")
    delta = IntField(required=True)
    label = StringField(default="")


class MongoCaseRepository:
    """`CaseRepository` (services/case/domain/ports.py) on MongoDB/FerretDB. `node_id` stamps
    the events' source node."""

    def __init__(self, node_id: str, *, audit_retries: int = 20) -> None:
        self.node_id = node_id
        self.audit_retries = audit_retries
        self._read_models: CaseReadModels | None = None
        # Every change also feeds the lists and figures (services/case/read_models.py), through
        # the store so that a view repaired from a change feeds them too.
        self._store = VersionedStore(
            CaseChangeDocument, CaseDocument, key="case_id",
            conflict_message="Der Fall wurde inzwischen von anderer Stelle geändert; bitte neu laden.",
            # No scan on a write: the retention timer sweeps superseded changes (`forget_erased`).
            prune_on_write=False,
            project=lambda change: self.read_models.project(change))

    @property
    def read_models(self) -> CaseReadModels:
        """The lists and figures of this database (made on first use: the connection is
        registered after the repository is built)."""
        if self._read_models is None:
            self._read_models = CaseReadModels(CaseDocument._get_collection().database)
        return self._read_models

    # -- cases -------------------------------------------------------------------------------
    #
    # Every write of a case is the insert of a `CaseChangeDocument` through `self._store`, never
    # an update of a document with an outbox: FerretDB 1.24 loses concurrent updates
    # (docs/decisions.md), and the relay must be the only writer of an outbox. The store then
    # brings the case document up to the new version, and every load repairs it from a newer
    # change (docs/events.md, "Versioned aggregates").

    def add(self, case: Case, person: Person) -> None:
        """Insert a new case with its person and its events. A pseudonym collision raises
        PseudonymTaken (events stay pending); the caller draws a new pseudonym and tries again.
        The pseudonym is claimed first by the insert of its `PseudonymDocument` (unique `_id`),
        so neither the collision nor a lookup by pseudonym needs a query of the cases."""
        pseudonyms = PseudonymDocument._get_collection()
        try:
            pseudonyms.insert_one({"_id": case.pseudonym, "case_id": case.case_id})
        except DuplicateKeyError as error:
            raise PseudonymTaken(case.pseudonym) from error
        fields = {**self._fields(case, version=1), "person": to_primitive(person)}
        change = self._change(case, 1, fields)
        try:
            self._store.commit(change)  # deletes the change again if the case is refused
        except AlreadyExists as error:
            pseudonyms.delete_one({"_id": case.pseudonym, "case_id": case.case_id})
            if isinstance(error.__cause__, DuplicateKeyError):  # the change was projected first
                self.read_models.discard(change.change_id)
            # A case stored before the pseudonym documents existed (migration 3 adds them).
            if CaseDocument.objects(pseudonym=case.pseudonym).count():
                raise PseudonymTaken(case.pseudonym) from error
            raise
        case.collect_events()
        case.version = 1

    def get(self, case_id: str) -> Case:
        return self._case(self._document(case_id, with_person=False))

    def get_by_pseudonym(self, pseudonym: str) -> Case:
        found = PseudonymDocument._get_collection().find_one({"_id": pseudonym})
        if found is None:
            raise NotFound("Fall nicht gefunden.")
        return self.get(str(found["case_id"]))

    def get_person(self, case_id: str) -> Person:
        document = self._document(case_id, with_person=True)
        if document.person_erased or not document.person:
            raise FailedPrecondition("Die Personendaten dieses Falls wurden gelöscht.")
        return from_primitive(Person, dict(document.person))

    def save(self, case: Case, person: Person | None = None, *, cause: str = "") -> None:
        """Writes the case (and the person, if given) with its pending events as the version
        after the one that was loaded; if another write took that version first, this raises
        FailedPrecondition and the events stay pending. `cause`: the consumed event's id."""
        version = case.version + 1
        fields = self._fields(case, version=version)
        if person is not None:
            fields["person"] = to_primitive(person)
        self._store.commit(self._change(case, version, fields, cause=cause))
        case.collect_events()
        case.version = version

    def erase_person(self, case: Case) -> None:
        """Retention: the person's data go, the case stays as anonymised statistics (`case` is
        already anonymised, with its erase request pending). A versioned write like any other,
        so it cannot cross a concurrent change."""
        version = case.version + 1
        fields = {**self._fields(case, version=version), "person": {}, "person_erased": True}
        change = self._change(case, version, fields)
        self._carry_unsent(case.case_id, version, change)
        self._store.commit(change)
        case.collect_events()
        case.version = version
        # Earlier changes hold the person and every text of the case (the history of its
        # fields); they go at once rather than after the store's day, and with them the claims
        # on their versions. A writer that loaded the version this write replaced is still
        # refused (this change claims the next one); one holding an even older version would
        # have to have held it since before the case's last write, which retention only erases
        # after the whole Löschfrist.
        CaseChangeDocument.objects(aggregate_id=case.case_id, version__lt=version).delete()

    def delete(self, case: Case) -> None:
        """Retention: the case and every change of it go. What stays until the relay has sent
        it is one change without the case's fields (the claim on the next version) carrying the
        erase request (`case.pending_events`) and any event of the case not sent yet;
        `forget_erased` removes it once sent."""
        version = case.version + 1
        change = self._change(case, version, {ERASED_MARK: True})
        self._carry_unsent(case.case_id, version, change)
        try:
            change.save()
        except NotUniqueError as error:  # changed meanwhile: the next run tries again
            raise FailedPrecondition(self._store.conflict_message) from error
        self.read_models.project(change)  # the case leaves its lists and figures
        case.collect_events()
        case.version = version
        CaseDocument.objects(case_id=case.case_id).delete()
        PseudonymDocument._get_collection().delete_one({"_id": case.pseudonym})
        CaseChangeDocument.objects(aggregate_id=case.case_id, version__lt=version).delete()
        CaseChangeDocument._get_collection().delete_many({"receipt_for": case.case_id})

    def forget_erased(self) -> int:
        """Removes the changes `delete` left behind once their events are sent; their number.
        Also sweeps the superseded changes older than the store's day (not counted): a write
        of a case does not (`prune_on_write=False`), as that delete scanned every change on
        FerretDB 1.24 for each write of a case older than a day."""
        self._store.prune_superseded()
        return int(CaseChangeDocument.objects(**{f"fields__{ERASED_MARK}": True}, outbox__size=0).delete())

    def _carry_unsent(self, case_id: str, version: int, change: CaseChangeDocument) -> None:
        """Events of earlier changes the relay has not sent yet move into `change`, as the
        earlier changes are deleted with the case's history. Should the relay send one in the
        meantime, it goes out twice; consumers apply an event id once."""
        earlier = CaseChangeDocument._get_collection().find(
            {"case_id": case_id, "version": {"$lt": version}, "outbox.0": {"$exists": True}},
            {"outbox": 1})
        for document in earlier:
            for entry in document.get("outbox", []):
                change.outbox.append(PendingEvent(**{k: entry[k] for k in (
                    "event_id", "exchange", "routing_key", "body", "recorded_at") if k in entry}))

    def applied(self, cause: str) -> bool:
        return self._store.applied(cause)

    def closed_before(self, moment: datetime) -> list[str]:
        """Ids of closed cases untouched since `moment` that still hold personal data (the
        service checks the closure date itself)."""
        return [d.case_id for d in CaseDocument.objects(
            status=CaseStatus.CLOSED.value, updated_at__lte=moment, person_erased__ne=True).only("case_id")]

    def undecided_checked_before(self, version: int) -> list[str]:
        """Ids of the proposals the conference has not decided yet (proposed, in review,
        deferred) whose eligibility was checked against a Zielgruppen version below `version`."""
        undecided = [CaseStatus.PROPOSED.value, CaseStatus.IN_REVIEW.value, CaseStatus.DEFERRED.value]
        return [d.case_id for d in CaseDocument.objects(
            status__in=undecided, state__eligibility__catalogue_version__lt=version).only("case_id")]

    def figures(self) -> dict[str, dict[str, int]]:
        """Local monitoring: counts by status and Zielgruppe, and the sums of every case's
        `figures` (Handlungsfelder, barrier categories, goal outcomes, durations), maintained
        from each change (services/case/read_models.py): one document, whatever the node holds."""
        return self.read_models.figures()

    def fold_read_models(self) -> int:
        """Folds the pending changes into the lists and figures; how many (0 if another process
        is folding). Reads do it too; the worker's timer keeps what they must read short."""
        return self.read_models.fold() or 0

    def record_ledger(self, entries: Sequence[LedgerEntry]) -> None:
        if entries:
            LedgerDocument._get_collection().insert_many(
                [{"_id": uuid.uuid4().hex, "day": entry.day.isoformat(), "table": entry.table,
                  "key": entry.key, "delta": entry.delta, "label": entry.label} for entry in entries],
                ordered=False)

    def ledger(self, until: date) -> list[LedgerEntry]:
        rows = LedgerDocument._get_collection().find({"day": {"$lte": until.isoformat()}}, {"_id": 0})
        return [LedgerEntry(date.fromisoformat(row["day"]), row["table"], row.get("key", ""),
                            int(row["delta"]), row.get("label", "")) for row in rows]

    def list_cases(self, query: CaseFilter, page_size: int, page_token: str) -> CasePage:
        size = DEFAULT_PAGE_SIZE if page_size == 0 else page_size
        if not 1 <= size <= MAX_PAGE_SIZE:
            raise InvalidArgument([FieldViolation(
                "page_size", f"Seitengröße zwischen 1 und {MAX_PAGE_SIZE} angeben.")])
        after = _position(*_decode_token(page_token)) if page_token else None
        documents = [CaseDocument._from_son(d) for d in self.read_models.page(query, size, after)]
        more = len(documents) > size
        documents = documents[:size]
        items = [
            (self._case(d), None if d.person_erased or not d.person
             else from_primitive(Person, dict(d.person)))
            for d in documents
        ]
        token = _encode_token(documents[-1].created_at, documents[-1].case_id) if more else ""
        return CasePage(items, token)

    # -- audit -------------------------------------------------------------------------------

    def append_audit(self, draft: AuditDraft) -> AuditEntry:
        """Appends to the chain: one find by `_id` and one insert in the steady state, whatever
        the trail's length (services/case/audit_trail.py); the unique `_id` decides between
        concurrent appends of several processes."""
        return self._audit_trail().append([draft])[0]

    def append_audits(self, drafts: Sequence[AuditDraft]) -> list[AuditEntry]:
        """Appends several entries as one run of the chain (one ordered insert; a peer's call
        for 200 briefs is 200 entries)."""
        return self._audit_trail().append(drafts) if drafts else []

    def audit_entries(self, case_id: str = "", after_sequence: int = 0, limit: int = 100) -> list[AuditEntry]:
        """The data protection officer's reads (not a hot path): by case on the `(case_id,
        sequence)` index, else in pages of `_id` (MongoDB); FerretDB 1.24 scans for both."""
        collection = AuditDocument._get_collection()
        if case_id:
            rows = collection.find({"case_id": case_id, "sequence": {"$gt": after_sequence}})
            rows = rows.sort("sequence", 1)
        else:
            rows = collection.find({"_id": {"$gt": audit_id(after_sequence)}}).sort("_id", 1)
        return [stored_audit_entry(row) for row in rows.limit(limit)]

    def _audit_trail(self) -> AuditTrail:
        return audit_trail(AuditDocument._get_collection(), retries=self.audit_retries)

    # -- Zielgruppen -------------------------------------------------------------------------

    def current_catalogue(self) -> ZielgruppenCatalogue:
        latest = ZielgruppenDocument.objects.order_by("-version").first()
        if latest is None:
            return DEFAULT_CATALOGUE
        return from_primitive(ZielgruppenCatalogue, dict(latest.catalogue))

    def store_catalogue(self, catalogue: ZielgruppenCatalogue) -> bool:
        """Idempotent: a version already stored is kept as it is (returns False)."""
        try:
            ZielgruppenDocument(version=catalogue.version, catalogue=to_primitive(catalogue),
                                received_at=datetime.now(UTC)).save(force_insert=True)
        except NotUniqueError:
            return False
        return True

    # -- internals ---------------------------------------------------------------------------

    def _document(self, case_id: str, *, with_person: bool) -> CaseDocument:
        """The case document at its newest version, repaired from a newer change if the last
        write of the case document did not land (see the note above `add`)."""
        document = self._store.load(case_id, exclude=() if with_person else ("person",))
        if document is None:
            raise NotFound("Fall nicht gefunden.")
        return document

    def _case(self, document: CaseDocument) -> Case:
        case = from_primitive(Case, dict(document.state))
        case.version = document.version
        return case

    def _fields(self, case: Case, *, version: int) -> dict[str, Any]:
        """The case document's stored fields (indexed copies and the state, which carries its
        own copy of `version`; the store sets the document's). None fields are left out of the
        case document (`next_review_due` of a case without a review: no `$lte` matches it)."""
        state = to_primitive(case)
        state["version"] = version
        return {
            "pseudonym": case.pseudonym,
            "owner_org": case.owner_org,
            "access_orgs": list(case.access_orgs),
            "status": case.status.value,
            "zielgruppe": case.eligibility.primary,
            "case_manager": case.case_manager,
            "next_review_due": case.next_review_due.isoformat() if case.next_review_due else None,
            "created_at": case.created_at,
            "updated_at": case.updated_at,
            "state": state,
            "figures": figures(case),
        }

    def _change(self, case: Case, version: int, fields: dict[str, Any], *,
                cause: str = "") -> CaseChangeDocument:
        """The change that writes `fields` as `version`, with the case's pending events."""
        change = self._store.new_change(case.case_id, version, fields, cause=cause)
        for event in case.pending_events:
            record_event(change, contract.event_message(event, self.node_id), source_service=SERVICE,
                         source_node=self.node_id, correlation_id=event.case_id)
        return change


_AUDIT_FIELDS = ("sequence", "occurred_at", "actor_subject", "actor_org", "actor_roles", "case_id", "call",
                 "purpose", "allowed", "detail", "actor_node", "previous_hash", "entry_hash")


def audit_trail(collection: Collection[Any], *, retries: int = 20) -> AuditTrail:
    """The trail in `collection` with this adapter's stored shape (also for bulk seeding)."""
    return AuditTrail(collection, retries=retries, to_entry=stored_audit_entry, to_document=audit_document)


def stored_audit_entry(row: dict[str, Any]) -> AuditEntry:
    defaults = AuditDocument._fields
    return from_primitive(AuditEntry, {
        name: row[name] if name in row else defaults[name].default for name in _AUDIT_FIELDS})


def audit_document(entry: AuditEntry) -> dict[str, Any]:
    stored: dict[str, Any] = AuditDocument(
        entry_id=audit_id(entry.sequence), **to_primitive(entry)).to_mongo()
    return dict(stored)


def _position(created_at: datetime, case_id: str) -> SortKey:
    return sort_key(created_at, case_id)


def _encode_token(created_at: datetime, case_id: str) -> str:
    if created_at.tzinfo is None:
        created_at = created_at.replace(tzinfo=UTC)
    raw = json.dumps([created_at.isoformat(), case_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_token(token: str) -> tuple[datetime, str]:
    try:
        padded = token + "=" * (-len(token) % 4)
        created_at, case_id = json.loads(base64.urlsafe_b64decode(padded))
        return datetime.fromisoformat(created_at), str(case_id)
    except (ValueError, TypeError) as error:
        raise InvalidArgument([FieldViolation("page_token", "Ungültiges Seiten-Token.")]) from error


def outbox_documents() -> Sequence[type[OutboxDocument]]:
    return (CaseChangeDocument,)
