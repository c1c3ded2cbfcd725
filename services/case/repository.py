"""Persistence of the case service: mongoengine Documents behind a small repository.

Who enters: the service layer (services/case/service.py), handed a `CaseRepository` by the
composition root (api process) or a nameko DependencyProvider (worker). Nothing else touches
these collections.

- `cases`: one document per case. Case state (nested, via `codec`), the person (a separate
  sub-document, never loaded unless asked for) and the outbox of pending events, so that a
  state change and its events are one document write (`record_event`, then `save`). Indexed
  top-level copies (status, organisation, Zielgruppe, case manager, review date) serve lists.
  Saves are conditional on the version that was loaded (optimistic concurrency).
- `audit`: the hash-chained audit trail; appends only, sequence unique.
- `zielgruppen`: every catalogue version the Lenkungsgruppe decided; the highest is current.

Kept to what FerretDB 1.24 and MongoDB 7 both do: no transactions, no $lookup/$facet, no
$pull with a condition; uniqueness by unique indexes.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Protocol

from mongoengine import (
    BooleanField,
    DateTimeField,
    DictField,
    Document,
    IntField,
    ListField,
    NotUniqueError,
    Q,
    StringField,
)
from mongoengine.errors import SaveConditionError

from kim.errors import FailedPrecondition, FieldViolation, InvalidArgument, NotFound
from kim.runtime.outbox import OutboxDocument, record_event
from services.case import SERVICE, contract
from services.case.codec import from_primitive, to_primitive
from services.case.domain.audit import AuditDraft, AuditEntry, seal
from services.case.domain.case import Case
from services.case.domain.events import Event
from services.case.domain.person import Person
from services.case.domain.vocabulary import CaseStatus
from services.case.domain.zielgruppen import DEFAULT_CATALOGUE, ZielgruppenCatalogue

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20


class CaseDocument(OutboxDocument):
    meta = {
        "db_alias": SERVICE,
        "collection": "cases",
        "indexes": [
            "outbox.event_id",
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
    #: Set when retention has erased the person; the case remains as anonymised statistics.
    person_erased = BooleanField(default=False)


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
    previous_hash = StringField(required=True)
    entry_hash = StringField(required=True)


class ZielgruppenDocument(Document):
    meta = {"db_alias": SERVICE, "collection": "zielgruppen"}

    version = IntField(primary_key=True)
    catalogue = DictField(required=True)
    received_at = DateTimeField(required=True)


@dataclass(frozen=True)
class CaseFilter:
    """Which cases a list shows: always those `organization` may see (owned or shared)."""

    organization: str
    statuses: tuple[CaseStatus, ...] = ()
    zielgruppe: str = ""
    case_manager: str = ""
    review_due_by: date | None = None


@dataclass(frozen=True)
class CasePage:
    items: list[tuple[Case, Person | None]]
    next_page_token: str


class PseudonymTaken(Exception):
    """Another case already carries this pseudonym (a rare collision): draw a new one."""


class CaseRepository(Protocol):
    """What the service layer needs from storage (a fake implements it in unit tests)."""

    def add(self, case: Case, person: Person) -> None: ...
    def get(self, case_id: str) -> Case: ...
    def get_by_pseudonym(self, pseudonym: str) -> Case: ...
    def get_person(self, case_id: str) -> Person: ...
    def save(self, case: Case, person: Person | None = None) -> None: ...
    def list(self, query: CaseFilter, page_size: int, page_token: str) -> CasePage: ...
    def append_audit(self, draft: AuditDraft) -> AuditEntry: ...
    def audit_entries(self, case_id: str = "", after_sequence: int = 0,
                      limit: int = 100) -> list[AuditEntry]: ...
    def current_catalogue(self) -> ZielgruppenCatalogue: ...
    def store_catalogue(self, catalogue: ZielgruppenCatalogue) -> bool: ...


class MongoCaseRepository:
    """`CaseRepository` on MongoDB/FerretDB. `node_id` stamps the events' source node."""

    def __init__(self, node_id: str, *, audit_retries: int = 20) -> None:
        self.node_id = node_id
        self.audit_retries = audit_retries

    # -- cases -------------------------------------------------------------------------------

    def add(self, case: Case, person: Person) -> None:
        """Insert a new case with its person and its events. A pseudonym collision raises
        PseudonymTaken (events stay pending); the caller draws a new pseudonym and tries again."""
        document = CaseDocument(case_id=case.case_id, person=to_primitive(person))
        self._write_fields(document, case, version=1)
        self._record(document, case.pending_events)
        try:
            document.save(force_insert=True)
        except NotUniqueError as error:
            if CaseDocument.objects(pseudonym=case.pseudonym).count():
                raise PseudonymTaken(case.pseudonym) from error
            raise
        case.collect_events()
        case.version = 1

    def get(self, case_id: str) -> Case:
        return self._case(self._document(case_id, with_person=False))

    def get_by_pseudonym(self, pseudonym: str) -> Case:
        document = CaseDocument.objects(pseudonym=pseudonym).exclude("person", "outbox").first()
        if document is None:
            raise NotFound("Fall nicht gefunden.")
        return self._case(document)

    def get_person(self, case_id: str) -> Person:
        document = CaseDocument.objects(case_id=case_id).only("person", "person_erased").first()
        if document is None:
            raise NotFound("Fall nicht gefunden.")
        if document.person_erased or not document.person:
            raise FailedPrecondition("Die Personendaten dieses Falls wurden gelöscht.")
        return from_primitive(Person, dict(document.person))

    def save(self, case: Case, person: Person | None = None) -> None:
        """Writes the case (and the person, if given) with its pending events, only over the
        version that was loaded; a concurrent change makes this raise FailedPrecondition."""
        expected = case.version
        document = self._document(case.case_id, with_person=False)
        if document.version != expected:
            raise _conflict()
        self._write_fields(document, case, version=expected + 1)
        if person is not None:
            document.person = to_primitive(person)
        events = case.collect_events()
        self._record(document, events)
        try:
            document.save(save_condition={"version": expected})
        except SaveConditionError as error:
            case.pending_events[:0] = events
            raise _conflict() from error
        case.version = expected + 1

    def list(self, query: CaseFilter, page_size: int, page_token: str) -> CasePage:
        size = DEFAULT_PAGE_SIZE if page_size == 0 else page_size
        if not 1 <= size <= MAX_PAGE_SIZE:
            raise InvalidArgument([FieldViolation(
                "page_size", f"Seitengröße zwischen 1 und {MAX_PAGE_SIZE} angeben.")])
        condition = Q(owner_org=query.organization) | Q(access_orgs=query.organization)
        if query.statuses:
            condition &= Q(status__in=[s.value for s in query.statuses])
        if query.zielgruppe:
            condition &= Q(zielgruppe=query.zielgruppe)
        if query.case_manager:
            condition &= Q(case_manager=query.case_manager)
        if query.review_due_by is not None:
            condition &= Q(status=CaseStatus.ACTIVE.value,
                           next_review_due__lte=query.review_due_by.isoformat())
        if page_token:
            created_at, case_id = _decode_token(page_token)
            condition &= Q(created_at__gt=created_at) | Q(created_at=created_at, case_id__gt=case_id)
        documents = list(
            CaseDocument.objects(condition).exclude("outbox").order_by("created_at", "case_id")
            .limit(size + 1)
        )
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
        unique `_id` lets exactly one win, the others re-read the tail and try again."""
        for _ in range(self.audit_retries):
            last = AuditDocument.objects.order_by("-sequence").first()
            entry = seal(draft, None if last is None else _audit_entry(last))
            try:
                AuditDocument(**to_primitive(entry)).save(force_insert=True)
            except NotUniqueError:
                continue
            return entry
        raise FailedPrecondition("Das Protokoll ist gerade stark ausgelastet; bitte erneut versuchen.")

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
        query = CaseDocument.objects(case_id=case_id)
        if not with_person:
            query = query.exclude("person")
        document = query.first()
        if document is None:
            raise NotFound("Fall nicht gefunden.")
        return document

    def _case(self, document: CaseDocument) -> Case:
        case = from_primitive(Case, dict(document.state))
        case.version = document.version
        return case

    def _write_fields(self, document: CaseDocument, case: Case, *, version: int) -> None:
        state = to_primitive(case)
        state["version"] = version
        document.pseudonym = case.pseudonym
        document.owner_org = case.owner_org
        document.access_orgs = list(case.access_orgs)
        document.status = case.status.value
        document.zielgruppe = case.eligibility.primary
        document.case_manager = case.case_manager
        document.next_review_due = case.next_review_due.isoformat() if case.next_review_due else None
        document.created_at = case.created_at
        document.updated_at = case.updated_at
        document.version = version
        document.state = state

    def _record(self, document: CaseDocument, events: Iterable[Event]) -> None:
        for event in events:
            record_event(document, contract.event_message(event), source_service=SERVICE,
                         source_node=self.node_id, correlation_id=event.case_id)


def _conflict() -> FailedPrecondition:
    return FailedPrecondition("Der Fall wurde inzwischen von anderer Stelle geändert; bitte neu laden.")


def _audit_entry(document: AuditDocument) -> AuditEntry:
    return from_primitive(AuditEntry, {
        name: getattr(document, name) for name in (
            "sequence", "occurred_at", "actor_subject", "actor_org", "actor_roles", "case_id", "call",
            "purpose", "allowed", "detail", "previous_hash", "entry_hash")})


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
    return (CaseDocument,)
