"""Bulk seeding for the scale part (issue 15, item 4): cases and audit entries built by the case
service's own domain code and stored with its repository's own field mapping, written with
insert_many instead of one api call each (100,000 proposals through the api take hours on
FerretDB/SQLite).

- A case is proposed with `Case.propose` (validation, eligibility against the catalogue,
  pseudonym), then walked by the domain to its status: every fourth stays proposed, every
  fourth goes into review (consent + SubmitForReview), the other half is admitted by the Kreis's
  coordinator to one of four case managers (`MANAGERS`). Its events count as sent (an old case),
  so the change carries no outbox and no relay publishes 100,000 events.
- Stored as `MongoCaseRepository` stores it: the view document (`cases`) is `_id` + the
  repository's `_fields` + the person (`to_primitive`), and the change (`case_changes`) is the
  repository's `_change` of the case's version, written as mongoengine would.
- Audit entries are sealed with the domain's `seal` after the trail's current tail, so the trail
  stays one verifying chain, and stored in the repository's shape with the trail's head.

One function per store concern (`seed_cases`, `seed_audit`): a read model that the case service
keeps next to the cases (list rows, figures, an audit head) gets its seeding in the function
of its concern, built from the same domain objects (`SeededCase`).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, NamedTuple, TypeVar

from mongoengine import Document
from pymongo.database import Database

from kimnetz.runtime.changes import change_id
from services.case.codec import to_primitive
from services.case.domain import commands as c
from services.case.domain.audit import AuditDraft, AuditEntry, seal
from services.case.domain.case import Case
from services.case.domain.person import Person, PersonData
from services.case.domain.policy import Actor
from services.case.domain.zielgruppen import DEFAULT_CATALOGUE
from services.case.read_models import CaseReadModels
from services.case.repository import (
    CaseChangeDocument,
    MongoCaseRepository,
    PseudonymDocument,
    audit_document,
    audit_trail,
)

OWNER = "stadt-hilden"
COORDINATION = "kreis-mettmann"
MANAGERS = ("bench.manager.a", "bench.manager.b", "bench.manager.c", "bench.manager.d")
#: Seeded cases were proposed one second apart from this moment on (number = seconds).
SEEDED_FROM = datetime(2024, 1, 8, 9, 0, tzinfo=UTC)
BATCH = 1000
T = TypeVar("T")


@dataclass(frozen=True)
class SeededCase:
    """One seeded case as the domain built it, and what the store holds of it."""

    number: int
    case: Case
    person: Person
    view: dict[str, Any]
    change: dict[str, Any]


#: The statuses the cases are walked to, one after the other.
KINDS = ("proposed", "in_review", "admitted", "admitted")
#: For a Kreis whose agenda is measured: none in review (the agenda would take them in).
OFF_AGENDA = ("proposed", "proposed", "admitted", "admitted")


def kind(number: int, kinds: tuple[str, ...] = KINDS) -> str:
    """The status case `number` is walked to: proposed, in_review, admitted (half of them)."""
    return kinds[number % len(kinds)]


def manager(number: int) -> str:
    """The case manager an admitted case `number` gets."""
    return MANAGERS[(number // 4) % len(MANAGERS)] if KINDS[number % 4] == "admitted" else ""


def _person(number: int, today: date) -> PersonData:
    born = today.replace(year=today.year - 19 - number % 40) - timedelta(days=number % 300)
    return PersonData(
        given_name=f"Amina{number}", family_name="Haddad", birth_date=born, nationalities=("SY",),
        country_of_origin="SY", residence_kind="duldung", legal_basis="§ 60a AufenthG",
        languages=("ar", "de"), household_adults=1, household_children=number % 3)


def build_case(number: int, owner: str = OWNER, coordination: str = COORDINATION,
               kinds: tuple[str, ...] = KINDS) -> tuple[Case, Person]:
    """Case `number` built and walked by the domain (module docstring); events collected."""
    proposed_at = SEEDED_FROM + timedelta(seconds=number)
    today = proposed_at.date()
    manager_actor = Actor(f"bench.proposer.{number % 7}", owner, frozenset({"case_manager"}))
    coordinator = Actor("bench.coordinator", coordination, frozenset({"coordinator"}))
    command = c.ProposeCase(
        owner_org=owner, coordination_org=coordination, proposer_kind="case_manager",
        proposer_unit="Integrationsbüro",
        reason="Ausbildung scheitert an Duldung; Jobcenter und ABH stimmen sich nicht ab.",
        handlungsfelder=("aufenthalt_identitaet", "ausbildung"), rechtskreise=("aufenthg", "sgb_iii"),
        person=_person(number, today))
    case, person = Case.propose(command, manager_actor, proposed_at, DEFAULT_CATALOGUE,
                                pseudonym=f"B-{number:07d}")
    status = kind(number, kinds)
    writes = 1  # each command below is one more version, as the api writes it
    if status != "proposed" and coordination != owner:
        case.record_consent(c.RecordConsent(
            case.case_id, "schweigepflichtentbindung", coordination, ("fallkonferenz",),
            ("falldokumentation",), today, today + timedelta(days=365)), manager_actor, proposed_at)
        writes += 1
    if status != "proposed":
        case.submit_for_review(c.SubmitForReview(case.case_id), manager_actor,
                               proposed_at + timedelta(milliseconds=200))
        writes += 1
    if status == "admitted":
        case.admit(c.AdmitCase(case.case_id, manager(number), owner, "FK 2024/01"), coordinator,
                   proposed_at + timedelta(milliseconds=400))
        writes += 1
    case.collect_events()  # sent long ago
    case.version = writes
    return case, person


def stored(number: int, repository: MongoCaseRepository, owner: str = OWNER,
           coordination: str = COORDINATION, kinds: tuple[str, ...] = KINDS) -> SeededCase:
    """Case `number` and the documents the repository would hold of it: the view and its newest
    change, with the repository's `_fields` and the stored names of `CaseChangeDocument`'s
    fields (`new_change`'s values; no outbox: the events were sent)."""
    case, person = build_case(number, owner, coordination, kinds)
    fields = repository._fields(case, version=case.version)
    view = {"_id": case.case_id, **{k: v for k, v in fields.items() if v is not None},
            "version": case.version, "person": to_primitive(person)}
    change = stored_names(CaseChangeDocument, {
        "change_id": change_id(case.case_id, case.version), "aggregate_id": case.case_id,
        "version": case.version, "fields": {**fields, "version": case.version}, "cause": "",
        "written_at": case.updated_at, "outbox": []})
    return SeededCase(number, case, person, view, change)


def stored_names(document: type[Document], values: dict[str, Any]) -> dict[str, Any]:
    """`values` by field name -> by stored name (`_id`, `db_field`), as `document` stores them
    (without building a mongoengine Document per row: that doubled the seeding's time)."""
    return {document._fields[name].db_field: value for name, value in values.items()}


def seeded_cases(start: int, count: int, repository: MongoCaseRepository, owner: str = OWNER,
                 coordination: str = COORDINATION, kinds: tuple[str, ...] = KINDS) -> Iterator[SeededCase]:
    for number in range(start, start + count):
        yield stored(number, repository, owner, coordination, kinds)


class Seeded(NamedTuple):
    """What the bench keeps of a seeded case (100,000 domain objects would not fit in memory)."""

    number: int
    case_id: str
    created_at: datetime


def seed_cases(database: Database[dict[str, Any]], node_id: str, start: int, count: int,
               owner: str = OWNER, coordination: str = COORDINATION,
               kinds: tuple[str, ...] = KINDS) -> list[Seeded]:
    """Cases `start` .. `start + count - 1` inserted into the case service's database (views,
    changes and pseudonyms, in batches of `BATCH`), and added to the lists and figures the
    service maintains (`CaseReadModels.seed`). Returns number, id and creation time of each
    (pages' tokens, ids to read)."""
    repository = MongoCaseRepository(node_id)
    read_models = CaseReadModels(database)
    seeded: list[Seeded] = []

    def insert(batch: list[SeededCase]) -> None:
        database["cases"].insert_many([s.view for s in batch], ordered=False)
        database["case_changes"].insert_many([s.change for s in batch], ordered=False)
        database[PseudonymDocument._meta["collection"]].insert_many(
            [{"_id": s.view["pseudonym"], "case_id": s.view["_id"]} for s in batch], ordered=False)
        read_models.seed([s.view for s in batch])

    with _Writer() as writer:  # the next batch is built while FerretDB writes this one
        for batch in _batches(seeded_cases(start, count, repository, owner, coordination, kinds)):
            writer.write(insert, batch)
            seeded += [Seeded(s.number, s.case.case_id, s.case.created_at) for s in batch]
    return seeded


def audit_drafts(count: int, case_ids: list[str], owner: str = OWNER) -> Iterator[AuditDraft]:
    """`count` reads of the seeded cases by their case managers, one a minute back from now."""
    began = datetime.now(UTC) - timedelta(minutes=count + 1)
    ids = itertools.cycle(case_ids or [""])
    for number in range(count):
        yield AuditDraft(began + timedelta(minutes=number), MANAGERS[number % len(MANAGERS)], owner,
                         ("case_manager",), next(ids), "GetCase", "Fallbearbeitung", True)


def audit_chain(drafts: Iterator[AuditDraft], after: AuditEntry | None) -> Iterator[AuditEntry]:
    previous = after
    for draft in drafts:
        previous = seal(draft, previous)
        yield previous


def seed_audit(database: Database[dict[str, Any]], count: int, case_ids: list[str],
               owner: str = OWNER) -> AuditEntry | None:
    """`count` entries appended to the node's audit trail, sealed after its current tail, in
    the repository's stored shape, and the trail's head pointed at the new tail (no api call may
    append meanwhile). Returns the new tail."""
    trail = audit_trail(database["audit"])
    tail = trail.tail()
    with _Writer() as writer:
        for batch in _batches(audit_chain(audit_drafts(count, case_ids, owner), tail)):
            writer.write(lambda b: trail.collection.insert_many([audit_document(e) for e in b],
                                                                ordered=True), batch)
            tail = batch[-1]
    if tail is not None:
        trail.write_head(tail)
    return tail


def _batches(items: Iterator[T]) -> Iterator[list[T]]:
    while batch := list(itertools.islice(items, BATCH)):
        yield batch


class _Writer:
    """One insert at a time in a thread of its own, so the next batch is built meanwhile (the
    database works in its own process); an insert's error is raised at the next write or at
    the end."""

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1)
        self._pending: Future[None] | None = None

    def write(self, insert: Callable[[list[T]], object], batch: list[T]) -> None:
        if self._pending is not None:
            self._pending.result()
        self._pending = self._pool.submit(_run, insert, batch)

    def __enter__(self) -> _Writer:
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            if self._pending is not None and exc[0] is None:
                self._pending.result()
        finally:
            self._pool.shutdown(wait=True)


def _run(insert: Callable[[list[T]], object], batch: list[T]) -> None:
    insert(batch)
