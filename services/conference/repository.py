"""Persistence of the conference service: each aggregate (Fallkonferenz, Lenkungsgruppe, Sitzung,
Beschluss, Projektgruppe) is versioned with `kimnetz.runtime.changes` (alias "conference").

- Every save inserts a change document `<id>:<version>` into the aggregate's `*_changes`
  collection: its fields at that version (the state as a codec dict next to the fields queries
  need) and its pending domain events as the outbox. State and events are one insert; the relay
  writes only these change documents afterwards.
- The aggregate's materialised document (`conferences`, `lenkungsgruppen`, ...) has no outbox;
  it is brought up to the new version and is what loads and lists read.

Concurrency: the change's unique `_id` makes exactly one save of a version win (optimistic
locking that also holds on FerretDB 1.24, whose conditional updates are unisolated
read-modify-writes: docs/decisions.md); two coordinators deciding at once cannot overwrite each
other, the loser gets FAILED_PRECONDITION and reloads. Kept to what FerretDB 1.24 supports:
plain finds, sorts, skip/limit, unique and compound indexes, no aggregation pipeline.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, date, datetime
from typing import Any, TypeVar

from mongoengine import DateTimeField, DictField, Document, IntField, ListField, StringField
from pymongo.errors import DuplicateKeyError, OperationFailure

from kimnetz.errors import NotFound
from kimnetz.runtime.changes import ChangeDocument, VersionedStore
from kimnetz.runtime.outbox import OutboxDocument, record_event
from services.conference import SERVICE, codec, contracts
from services.conference.domain.beschluss import PENDING_STATUSES, Beschluss
from services.conference.domain.fallkonferenz import Fallkonferenz
from services.conference.domain.lenkungsgruppe import Lenkungsgruppe
from services.conference.domain.ports import (
    MAX_PAGE_SIZE,
    ConferenceRepository,
    Page,
    page_of,
    page_offset,
    page_size,
)
from services.conference.domain.projektgruppe import BarrierObservation, Projektgruppe
from services.conference.domain.proposals import Erasure, Proposal
from services.conference.domain.sitzung import Sitzung
from services.conference.domain.vocabulary import (
    BeschlussStatus,
    ConferenceStatus,
    DecisionKind,
    ParticipantRole,
)

ALIAS = SERVICE

T = TypeVar("T")


class _Aggregate(Document):
    """An aggregate at its newest version. Not strict: documents written before the change
    collections existed still carry an `outbox` field, which is ignored."""

    meta: dict[str, Any] = {"abstract": True, "strict": False}

    version = IntField(required=True, default=0)
    coordination_org = StringField(required=True)
    state = DictField(required=True)


class ConferenceDocument(_Aggregate):
    meta: dict[str, Any] = {
        "db_alias": ALIAS, "collection": "conferences",
        "indexes": [{"fields": ["conference_id"], "unique": True}, ("coordination_org", "starts_at"),
                    ("invited", "starts_at")],
    }
    conference_id = StringField(required=True)
    status = StringField(required=True)
    starts_at = DateTimeField(required=True)
    case_ids = ListField(StringField())
    #: Whom the conference invites, as `Fallkonferenz.is_participant` reads it: "<org>/<person>"
    #: per participant and "<org>" per non-guest one (`invited_keys`). Written with every save;
    #: conferences saved before the field existed get it from data migration 1 (migrations.py).
    invited = ListField(StringField())


class LenkungsgruppeDocument(_Aggregate):
    meta: dict[str, Any] = {
        "db_alias": ALIAS, "collection": "lenkungsgruppen",
        "indexes": [{"fields": ["gremium_id"], "unique": True}],
    }
    gremium_id = StringField(required=True)


class SessionDocument(_Aggregate):
    meta: dict[str, Any] = {
        "db_alias": ALIAS, "collection": "sessions",
        "indexes": [{"fields": ["session_id"], "unique": True}, ("gremium_id", "starts_at")],
    }
    session_id = StringField(required=True)
    gremium_id = StringField(required=True)
    status = StringField(required=True)
    starts_at = DateTimeField(required=True)


class BeschlussDocument(_Aggregate):
    meta: dict[str, Any] = {
        "db_alias": ALIAS, "collection": "beschluesse",
        "indexes": [
            {"fields": ["beschluss_id"], "unique": True},
            ("gremium_id", "status", "due_on"),
            # Zielgruppen versions are numbered per koordinierende Stelle, not per Lenkungsgruppe:
            # the case service keeps one sequence per node and ignores a version it already has,
            # so a re-constituted Lenkungsgruppe must continue its predecessor's numbers.
            ("coordination_org", "zielgruppen_version"),
            # One catalogue per version and Stelle, even if two results race. A single field
            # ("<org>/<version>", absent for other Beschlüsse) so the sparse index skips every
            # Beschluss without a catalogue; a compound sparse index would index those too.
            {"fields": ["zielgruppen_claim"], "unique": True, "sparse": True},
        ],
    }
    beschluss_id = StringField(required=True)
    gremium_id = StringField(required=True)
    status = StringField(required=True)
    due_on = StringField(required=True)  # "YYYY-MM-DD" sorts and compares as a date
    responsible_person = StringField()
    #: Written with every save; a Beschluss saved before the field has none until its next save.
    responsible_org = StringField()
    zielgruppen_version = IntField()
    zielgruppen_claim = StringField()


class ProjektgruppeDocument(_Aggregate):
    meta: dict[str, Any] = {
        "db_alias": ALIAS, "collection": "projektgruppen",
        "indexes": [{"fields": ["projektgruppe_id"], "unique": True}],
    }
    projektgruppe_id = StringField(required=True)


class BarrierObservationDocument(Document):
    """Anonymised; unique per barrier so a redelivered event is stored once."""

    meta: dict[str, Any] = {
        "db_alias": ALIAS, "collection": "barrier_observations",
        "indexes": [{"fields": ["barrier_id"], "unique": True}, ("coordination_org", "recorded_on")],
    }
    barrier_id = StringField(required=True)
    coordination_org = StringField(required=True)
    state = DictField(required=True)
    recorded_on = StringField(required=True)


class ProposalDocument(Document):
    """The registry of Fallvorschläge: one document per submission, inserted once and never
    updated (FerretDB 1.24 updates are unisolated, docs/decisions.md); deleted on erasure."""

    meta: dict[str, Any] = {
        "db_alias": ALIAS, "collection": "proposals",
        "indexes": [
            {"fields": ["proposal_id"], "unique": True}, ("coordination_org", "owner_node"), "case_id",
        ],
    }
    proposal_id = StringField(required=True)
    case_id = StringField(required=True)
    owner_node = StringField(required=True)
    coordination_org = StringField(required=True)
    state = DictField(required=True)


class ErasureDocument(_Aggregate):
    """One erase request (per case and revoked consent): version 1 counts what is to be erased,
    version 2 confirms it with `CaseDataErased` in its change's outbox."""

    meta: dict[str, Any] = {
        "db_alias": ALIAS, "collection": "erasures",
        "indexes": [{"fields": ["erasure_id"], "unique": True}, "case_id"],
    }
    erasure_id = StringField(required=True)
    case_id = StringField(required=True)
    confirmed = IntField(default=0)


class ErasureChange(ChangeDocument):
    meta: dict[str, Any] = {"db_alias": ALIAS, "collection": "erasure_changes"}


_REGISTRY_READY = threading.Event()
_REGISTRY_LOCK = threading.Lock()


def _registry_ready() -> None:
    """Create the registry's and the erasures' collections with their indexes once per process
    before the first use. The worker handles events concurrently, and FerretDB 1.24 refuses a
    second concurrent createIndexes of the same new index ("UNIQUE constraint failed"); mongoengine
    would then keep the collection as indexed. So: one creator per process, and a retry for the
    other process of the node (creating an existing index is a no-op)."""
    if _REGISTRY_READY.is_set():
        return
    with _REGISTRY_LOCK:
        if _REGISTRY_READY.is_set():
            return
        for attempt in range(5):
            try:
                for document_cls in (ProposalDocument, ErasureDocument, ErasureChange):
                    document_cls._get_collection()
                    document_cls.ensure_indexes()
                break
            except OperationFailure:
                if attempt == 4:
                    raise
                time.sleep(0.2 * (attempt + 1))
        _REGISTRY_READY.set()


class ConferenceChange(ChangeDocument):
    meta: dict[str, Any] = {"db_alias": ALIAS, "collection": "conference_changes"}


class LenkungsgruppeChange(ChangeDocument):
    meta: dict[str, Any] = {"db_alias": ALIAS, "collection": "lenkungsgruppe_changes"}


class SessionChange(ChangeDocument):
    meta: dict[str, Any] = {"db_alias": ALIAS, "collection": "session_changes"}


class BeschlussChange(ChangeDocument):
    meta: dict[str, Any] = {"db_alias": ALIAS, "collection": "beschluss_changes"}


class ProjektgruppeChange(ChangeDocument):
    meta: dict[str, Any] = {"db_alias": ALIAS, "collection": "projektgruppe_changes"}


# No store deletes superseded changes on a write (`prune_on_write=False`): for an aggregate older
# than a day (a Lenkungsgruppe lives for years) that delete filtered the whole change collection
# on every write, a cost that grew with use. The worker's timer sweeps them
# (`MongoConferenceRepository.prune_superseded`).
_STORES: dict[type[_Aggregate], VersionedStore[Any, Any]] = {
    document: VersionedStore(change, document, key=key, prune_on_write=False)
    for document, change, key in (
        (ConferenceDocument, ConferenceChange, "conference_id"),
        (LenkungsgruppeDocument, LenkungsgruppeChange, "gremium_id"),
        (SessionDocument, SessionChange, "session_id"),
        (BeschlussDocument, BeschlussChange, "beschluss_id"),
        (ProjektgruppeDocument, ProjektgruppeChange, "projektgruppe_id"),
        (ErasureDocument, ErasureChange, "erasure_id"),
    )
}

OUTBOX_DOCUMENTS: list[type[OutboxDocument]] = [
    ConferenceChange, LenkungsgruppeChange, SessionChange, BeschlussChange, ProjektgruppeChange,
    ErasureChange,
]


def invited_keys(c: Fallkonferenz) -> list[str]:
    """Whom `c` invites as `ConferenceDocument.invited` stores it (also the data migration's)."""
    return sorted({_invited_key(p.organisation, p.person) for p in c.participants}
                  | {_invited_key(p.organisation) for p in c.participants
                     if p.role is not ParticipantRole.GUEST})


def _invited_key(organisation: str, person: str = "") -> str:
    """An invitation as stored in `ConferenceDocument.invited`: by person, or by organisation."""
    return f"{organisation}/{person}" if person else organisation


def _page(query: Any, cls: type[T], requested_size: int, token: str) -> Page[T]:
    size, start = page_size(requested_size), page_offset(token)
    return page_of([codec.decode(cls, d.state) for d in query.skip(start).limit(size + 1)], size, start)


class MongoConferenceRepository:
    """Loads and saves the conference service's aggregates; `node_id` stamps the events.
    Implements every Protocol of `services.conference.domain.ports` (`ConferenceRepository`)."""

    def __init__(self, node_id: str) -> None:
        self.node_id = node_id
        self._versions: dict[tuple[type[Any], str], int] = {}

    # ---- generic

    def prune_superseded(self) -> int:
        """Housekeeping for the worker's timer: deletes the superseded changes of every aggregate
        older than a day whose events are sent (`VersionedStore.prune_superseded`); how many."""
        return sum(store.prune_superseded() for store in _STORES.values())

    def _save(self, document_cls: type[_Aggregate], key: str, aggregate: Any, **fields: Any) -> None:
        """Insert the aggregate's next version (1 if it was not loaded: a new aggregate) with its
        pending events. AlreadyExists if a new one's id or unique fields are taken;
        FailedPrecondition if another save took the version since it was loaded."""
        store = _STORES[document_cls]
        loaded = self._versions.get((document_cls, key))
        version = 1 if loaded is None else loaded + 1
        change = store.new_change(key, version, {
            **fields, "coordination_org": aggregate.coordination_org, "state": codec.encode(aggregate),
        })
        for event in getattr(aggregate, "events", []):
            record_event(change, contracts.to_message(event), source_service=SERVICE,
                         source_node=self.node_id)
        store.commit(change)
        self._versions[(document_cls, key)] = version
        if hasattr(aggregate, "events"):
            aggregate.events.clear()

    def _load(self, document_cls: type[_Aggregate], key: str, cls: type[T], missing: str) -> T:
        document = _STORES[document_cls].load(key)
        if document is None:
            raise NotFound(missing)
        self._versions[(document_cls, key)] = document.version
        aggregate: T = codec.decode(cls, document.state)
        return aggregate

    # ---- Fallkonferenzen

    def save_conference(self, c: Fallkonferenz) -> None:
        self._save(ConferenceDocument, c.conference_id, c, status=c.status.value, starts_at=c.starts_at,
                   case_ids=[i.case_id for i in c.agenda], invited=invited_keys(c))

    def conference(self, conference_id: str) -> Fallkonferenz:
        return self._load(ConferenceDocument, conference_id, Fallkonferenz,
                          f"Die Fallkonferenz {conference_id} gibt es nicht.")

    def conferences(
        self, coordination_org: str, *, status: ConferenceStatus | None = None, page_size: int = 0,
        page_token: str = "",
    ) -> Page[Fallkonferenz]:
        filters: dict[str, Any] = {"coordination_org": coordination_org}
        if status is not None:
            filters["status"] = status.value
        query = ConferenceDocument.objects(**filters).order_by("-starts_at", "conference_id")
        return _page(query, Fallkonferenz, page_size, page_token)

    def conferences_with_participant(
        self, person: str, organisation: str, *, status: ConferenceStatus | None = None,
        page_size: int = 0, page_token: str = "",
    ) -> Page[Fallkonferenz]:
        filters: dict[str, Any] = {
            "invited__in": [_invited_key(organisation, person), _invited_key(organisation)]}
        if status is not None:
            filters["status"] = status.value
        query = ConferenceDocument.objects(**filters).order_by("-starts_at", "conference_id")
        return _page(query, Fallkonferenz, page_size, page_token)

    # ---- Lenkungsgruppe

    def save_gremium(self, g: Lenkungsgruppe) -> None:
        self._save(LenkungsgruppeDocument, g.gremium_id, g)

    def gremium(self, gremium_id: str) -> Lenkungsgruppe:
        return self._load(LenkungsgruppeDocument, gremium_id, Lenkungsgruppe,
                          f"Die Lenkungsgruppe {gremium_id} gibt es nicht.")

    def gremien(
        self, coordination_org: str, *, page_size: int = 0, page_token: str = "",
    ) -> Page[Lenkungsgruppe]:
        query = LenkungsgruppeDocument.objects(coordination_org=coordination_org).order_by("gremium_id")
        return _page(query, Lenkungsgruppe, page_size, page_token)

    def save_session(self, s: Sitzung) -> None:
        self._save(SessionDocument, s.session_id, s, gremium_id=s.gremium_id, status=s.status.value,
                   starts_at=s.starts_at)

    def session(self, session_id: str) -> Sitzung:
        return self._load(SessionDocument, session_id, Sitzung, f"Die Sitzung {session_id} gibt es nicht.")

    def sessions(self, gremium_id: str, *, page_size: int = 0, page_token: str = "") -> Page[Sitzung]:
        query = SessionDocument.objects(gremium_id=gremium_id).order_by("-starts_at", "session_id")
        return _page(query, Sitzung, page_size, page_token)

    # ---- Beschlüsse

    def save_beschluss(self, b: Beschluss) -> None:
        self._save(BeschlussDocument, b.beschluss_id, b, gremium_id=b.gremium_id, status=b.status.value,
                   due_on=b.due_on.isoformat(), responsible_person=b.responsible_person,
                   responsible_org=b.responsible_org or b.coordination_org,
                   zielgruppen_version=b.zielgruppen.version if b.zielgruppen else None,
                   zielgruppen_claim=(f"{b.coordination_org}/{b.zielgruppen.version}"
                                      if b.zielgruppen else None))

    def beschluss(self, beschluss_id: str) -> Beschluss:
        return self._load(BeschlussDocument, beschluss_id, Beschluss,
                          f"Den Beschluss {beschluss_id} gibt es nicht.")

    def beschluesse(
        self, gremium_id: str, *, statuses: list[BeschlussStatus] | None = None, responsible_person: str = "",
        responsible_org: str = "", page_size: int = 0, page_token: str = "",
    ) -> Page[Beschluss]:
        filters: dict[str, Any] = {"gremium_id": gremium_id}
        if statuses:
            filters["status__in"] = [s.value for s in statuses]
        if responsible_person:
            filters["responsible_person"] = responsible_person
        if responsible_org:
            filters["responsible_org"] = responsible_org
        query = BeschlussDocument.objects(**filters).order_by("due_on", "beschluss_id")
        return _page(query, Beschluss, page_size, page_token)

    def overdue_beschluesse(
        self, gremium_id: str, on: date, *, page_size: int = 0, page_token: str = "",
    ) -> Page[Beschluss]:
        query = BeschlussDocument.objects(
            gremium_id=gremium_id, status__in=[s.value for s in PENDING_STATUSES], due_on__lt=on.isoformat(),
        ).order_by("due_on", "beschluss_id")
        return _page(query, Beschluss, page_size, page_token)

    def overdue_beschluss_ids(self, on: date, *, limit: int = MAX_PAGE_SIZE) -> list[str]:
        """Ids of Beschlüsse of every Lenkungsgruppe on this node that are overdue on `on` and not
        yet reminded for their current due date (the worker's timer works through them)."""
        documents = BeschlussDocument.objects(
            status__in=[s.value for s in PENDING_STATUSES], due_on__lt=on.isoformat(),
        ).order_by("due_on", "beschluss_id").only("beschluss_id", "due_on", "state").limit(limit)
        return [d.beschluss_id for d in documents if d.state.get("reminded_for") != d.due_on]

    def latest_zielgruppen_version(self, coordination_org: str) -> int | None:
        """The highest Zielgruppen version any Lenkungsgruppe of `coordination_org` adopted."""
        latest = (BeschlussDocument.objects(coordination_org=coordination_org, zielgruppen_version__ne=None)
                  .order_by("-zielgruppen_version").only("zielgruppen_version").first())
        return latest.zielgruppen_version if latest else None

    # ---- Projektgruppen and barrier register

    def save_projektgruppe(self, p: Projektgruppe) -> None:
        self._save(ProjektgruppeDocument, p.projektgruppe_id, p)

    def projektgruppe(self, projektgruppe_id: str) -> Projektgruppe:
        return self._load(ProjektgruppeDocument, projektgruppe_id, Projektgruppe,
                          f"Die Projektgruppe {projektgruppe_id} gibt es nicht.")

    def projektgruppen(
        self, coordination_org: str, *, page_size: int = 0, page_token: str = "",
    ) -> Page[Projektgruppe]:
        query = ProjektgruppeDocument.objects(coordination_org=coordination_org).order_by("projektgruppe_id")
        return _page(query, Projektgruppe, page_size, page_token)

    def record_barrier(self, coordination_org: str, observation: BarrierObservation) -> bool:
        """False when the barrier is already registered (a redelivered event)."""
        result = BarrierObservationDocument._get_collection().update_one(
            {"barrier_id": observation.barrier_id},
            {"$setOnInsert": {
                "coordination_org": coordination_org, "state": codec.encode(observation),
                "recorded_on": observation.recorded_on.isoformat(),
            }},
            upsert=True,
        )
        return result.upserted_id is not None

    def barrier_observations(self, coordination_org: str) -> list[BarrierObservation]:
        return [codec.decode(BarrierObservation, d.state)
                for d in BarrierObservationDocument.objects(coordination_org=coordination_org)]

    # ---- registry of Fallvorschläge

    def record_proposal(self, proposal: Proposal) -> bool:
        """False when this submission is registered already (a redelivered event)."""
        _registry_ready()
        try:
            ProposalDocument._get_collection().insert_one({
                "proposal_id": proposal.proposal_id, "case_id": proposal.case_id,
                "owner_node": proposal.owner_node, "coordination_org": proposal.coordination_org,
                "state": codec.encode(proposal),
            })
        except DuplicateKeyError:
            return False
        return True

    def proposals(self, coordination_org: str, *, other_than_node: str = "") -> list[Proposal]:
        """Every registered submission to `coordination_org` (of other nodes than `other_than_node`)."""
        _registry_ready()
        filters: dict[str, Any] = {"coordination_org": coordination_org}
        if other_than_node:
            filters["owner_node__ne"] = other_than_node
        return [codec.decode(Proposal, d.state) for d in ProposalDocument.objects(**filters)]

    def proposals_of_case(self, case_id: str) -> list[Proposal]:
        _registry_ready()
        return [codec.decode(Proposal, d.state) for d in ProposalDocument.objects(case_id=case_id)]

    def delete_proposals(self, case_id: str) -> int:
        _registry_ready()
        return int(ProposalDocument.objects(case_id=case_id).delete())

    def decided_at(self, coordination_org: str, case_ids: list[str]) -> dict[str, datetime]:
        """Case id -> the time of its latest decision in a Fallkonferenz of `coordination_org`."""
        if not case_ids:
            return {}
        wanted, latest = set(case_ids), dict[str, datetime]()
        for document in ConferenceDocument.objects(
            coordination_org=coordination_org, case_ids__in=case_ids
        ).only("state"):
            for item in document.state.get("agenda", []):
                case_id = item.get("brief", {}).get("case_id")
                decided = (item.get("decision") or {}).get("decided_at")
                if case_id in wanted and isinstance(decided, datetime):
                    decided = decided if decided.tzinfo else decided.replace(tzinfo=UTC)
                    if case_id not in latest or decided > latest[case_id]:
                        latest[case_id] = decided
        return latest

    def admitted(self, coordination_org: str, case_ids: list[str]) -> set[str]:
        if not case_ids:
            return set()
        wanted, found = set(case_ids), set[str]()
        for document in ConferenceDocument.objects(
            coordination_org=coordination_org, case_ids__in=case_ids
        ).only("state"):
            for item in document.state.get("agenda", []):
                case_id = item.get("brief", {}).get("case_id")
                kind = (item.get("decision") or {}).get("kind")
                if case_id in wanted and kind == DecisionKind.ADMISSION.value:
                    found.add(case_id)
        return found

    def conference_ids_with_case(self, case_id: str) -> list[str]:
        return [d.conference_id for d in ConferenceDocument.objects(case_ids=case_id).only("conference_id")]

    # ---- erasures

    def erasure(self, erasure_id: str) -> Erasure | None:
        _registry_ready()
        try:
            return self._load(ErasureDocument, erasure_id, Erasure, "")
        except NotFound:
            return None

    def save_erasure(self, e: Erasure) -> None:
        _registry_ready()
        self._save(ErasureDocument, e.erasure_id, e, case_id=e.case_id, confirmed=int(e.confirmed))

    def erased(self, case_id: str, consent_id: str) -> bool:
        _registry_ready()
        return bool(ErasureDocument.objects(erasure_id=Erasure.id_for(case_id, consent_id)).count() > 0)


def _implements_every_port(repository: MongoConferenceRepository) -> ConferenceRepository:
    return repository  # mypy checks here that the adapter implements every port
