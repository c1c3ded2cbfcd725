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
- `zielgruppen`: every catalogue version the Lenkungsgruppe decided; the highest is current.

Kept to what FerretDB 1.24 and MongoDB 7 both do: no transactions, no $lookup/$facet, no
$pull with a condition; uniqueness by unique indexes.
"""

from __future__ import annotations

import base64
import json
import random
import threading
import time
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
from pymongo.errors import BulkWriteError, DuplicateKeyError

from kimnetz.errors import (
    AlreadyExists,
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
    VersionConflict,
)
from kimnetz.runtime.changes import ChangeDocument, VersionedStore
from kimnetz.runtime.outbox import OutboxDocument, PendingEvent, record_event
from services.case import SERVICE, contract
from services.case.codec import from_primitive, to_primitive
from services.case.domain.audit import AuditDraft, AuditEntry, seal
from services.case.domain.case import Case
from services.case.domain.movements import LedgerEntry
from services.case.domain.person import Person
from services.case.domain.ports import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, CaseFilter, CasePage, PseudonymTaken
from services.case.domain.read_models import SortKey, sort_key
from services.case.domain.retention import figures
from services.case.domain.vocabulary import CaseStatus
from services.case.domain.zielgruppen import DEFAULT_CATALOGUE, ZielgruppenCatalogue
from services.case.read_models import CaseReadModels

#: Appends to the audit trail of one process take turns (see `append_audit`).
_APPEND_LOCK = threading.Lock()
DUPLICATE_KEY = 11000
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

    meta = {"db_alias": SERVICE, "collection": "case_changes"}

    #: Stored as `case_id`, the name the collection had before the runtime's store existed.
    aggregate_id = StringField(required=True, db_field="case_id")


class AuditDocument(Document):
    meta = {"db_alias": SERVICE, "collection": "audit", "indexes": ["case_id", "actor_org"]}

    sequence = IntField(primary_key=True)
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
        PseudonymTaken (events stay pending); the caller draws a new pseudonym and tries again."""
        fields = {**self._fields(case, version=1), "person": to_primitive(person)}
        change = self._change(case, 1, fields)
        try:
            self._store.commit(change)  # deletes the change again if the case is refused
        except AlreadyExists as error:
            if isinstance(error.__cause__, DuplicateKeyError):  # the change was projected first
                self.read_models.discard(change.change_id)
            if CaseDocument.objects(pseudonym=case.pseudonym).count():
                raise PseudonymTaken(case.pseudonym) from error
            raise
        case.collect_events()
        case.version = 1

    def get(self, case_id: str) -> Case:
        return self._case(self._document(case_id, with_person=False))

    def get_by_pseudonym(self, pseudonym: str) -> Case:
        document = CaseDocument.objects(pseudonym=pseudonym).only("case_id").first()
        if document is None:
            raise NotFound("Fall nicht gefunden.")
        return self.get(document.case_id)

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
        CaseChangeDocument.objects(aggregate_id=case.case_id, version__lt=version).delete()

    def forget_erased(self) -> int:
        """Removes the changes `delete` left behind once their events are sent; their number."""
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
        """Appends to the chain. Concurrent appends race for the next sequence number; the
        unique `_id` lets exactly one win, the others re-read the tail and try again, after a
        random pause growing with each loss. Within this process appends take turns (one lock
        for every repository of the process): finding the tail takes a scan on FerretDB 1.24,
        and 8 concurrent ProposeCase clients lost that race again and again until some ran out
        of attempts (bench, issue 8); now only another process (the worker) can race us."""
        for attempt in range(self.audit_retries):
            with _APPEND_LOCK:  # this process's appends take turns; other processes may race
                last = AuditDocument.objects.order_by("-sequence").first()
                entry = seal(draft, None if last is None else _audit_entry(last))
                try:
                    AuditDocument(**to_primitive(entry)).save(force_insert=True)
                except NotUniqueError:
                    pass
                else:
                    return entry
            time.sleep(random.uniform(0, 0.01 * (attempt + 1)))  # noqa: S311 (a pause, no secret)
        raise VersionConflict("Das Zugriffsprotokoll ist gerade stark ausgelastet; bitte erneut versuchen.")

    def append_audits(self, drafts: Sequence[AuditDraft]) -> list[AuditEntry]:
        """Appends several entries as one run of the chain: one look at the tail and one
        ordered insert, where single appends would each look (finding the tail sorts the whole
        trail on FerretDB 1.24: ~0.1 s at 600 entries, growing with the trail; a peer's call
        for 200 briefs is 200 entries). A concurrent append taking a sequence number stops the
        insert there; the entries before it stay (they continued the chain), the rest are
        sealed again after the new tail."""
        written: list[AuditEntry] = []
        remaining = list(drafts)
        for _ in range(self.audit_retries):
            if not remaining:
                return written
            last = AuditDocument.objects.order_by("-sequence").first()
            previous = None if last is None else _audit_entry(last)
            entries = []
            for draft in remaining:
                previous = seal(draft, previous)
                entries.append(previous)
            try:
                AuditDocument._get_collection().insert_many(
                    [AuditDocument(**to_primitive(e)).to_mongo() for e in entries], ordered=True)
            except BulkWriteError as error:
                if any(e.get("code") != DUPLICATE_KEY for e in error.details.get("writeErrors", ())):
                    raise
                inserted = int(error.details.get("nInserted", 0))
                written += entries[:inserted]
                remaining = remaining[inserted:]
                continue
            return written + entries
        raise VersionConflict("Das Zugriffsprotokoll ist gerade stark ausgelastet; bitte erneut versuchen.")

    def audit_entries(self, case_id: str = "", after_sequence: int = 0, limit: int = 100) -> list[AuditEntry]:
        query = AuditDocument.objects(sequence__gt=after_sequence)
        if case_id:
            query = query.filter(case_id=case_id)
        return [_audit_entry(d) for d in query.order_by("sequence").limit(limit)]

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


def _audit_entry(document: AuditDocument) -> AuditEntry:
    return from_primitive(AuditEntry, {
        name: getattr(document, name) for name in (
            "sequence", "occurred_at", "actor_subject", "actor_org", "actor_roles", "case_id", "call",
            "purpose", "allowed", "detail", "actor_node", "previous_hash", "entry_hash")})


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
