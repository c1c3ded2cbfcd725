"""The `CaseRepository` contract (services/case/domain/ports.py), run on both of its
implementations: the in-memory fake the service unit tests use (tests/support/fakes/case.py)
and the mongoengine adapter on the real FerretDB. A case that passes on one and fails on the
other is a fake that lies to the unit tests, or an adapter that broke its promise.

Each FerretDB case gets a database of its own (`own_case_database`), so no other test's
writes and no outbox relay of the session's api process see it. What the relay does to an
outbox (send and empty it) is `Store.send`, done directly on each store.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "unit" / "case"))
from case_factories import ABH, CM, OWNER, later, make_case_with_person, make_person_data, propose

from kimnetz.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound, VersionConflict
from kimnetz.runtime.settings import Settings
from services.case.domain import commands as c
from services.case.domain.audit import AuditDraft, verify_chain
from services.case.domain.case import Case
from services.case.domain.ports import CaseFilter, CaseRepository, PseudonymTaken
from services.case.domain.retention import FIGURE_KEYS, erased, figures
from services.case.domain.vocabulary import CaseStatus
from services.case.domain.zielgruppen import DEFAULT_CATALOGUE, METTMANN_V1
from services.case.repository import (
    CaseChangeDocument,
    MongoCaseRepository,
)
from tests.integration.case.conftest import own_case_database
from tests.support.fakes.case import InMemoryCaseRepository


@dataclass(frozen=True)
class Store:
    """A repository and what its outbox shows: the events recorded and not yet sent (by type
    name, oldest write first), the relay sending them all, and the versions whose changes are
    kept."""

    repository: CaseRepository
    unsent: Callable[[str], list[str]]
    send: Callable[[], None]
    versions: Callable[[str], list[int]]


def in_memory() -> Store:
    fake = InMemoryCaseRepository("contract-node")

    def send() -> None:
        fake.send()

    return Store(fake, lambda case_id: [type(e).__name__ for e in fake.unsent(case_id)], send,
                 fake.versions)


def on_ferretdb(settings: Settings) -> Iterator[Store]:
    """The adapter on a database of this test's own (see the module docstring)."""
    with own_case_database(settings) as node_id:

        def unsent(case_id: str) -> list[str]:
            changes = CaseChangeDocument.objects(aggregate_id=case_id).order_by("version")
            return [entry.routing_key.rpartition(".")[2] for change in changes for entry in change.outbox]

        def send() -> None:  # what the relay leaves: every outbox empty
            CaseChangeDocument._get_collection().update_many({}, {"$set": {"outbox": []}})

        def versions(case_id: str) -> list[int]:
            return sorted(d.version for d in CaseChangeDocument.objects(aggregate_id=case_id))

        yield Store(MongoCaseRepository(node_id), unsent, send, versions)


@pytest.fixture(params=["in-memory", "ferretdb"])
def store(request: pytest.FixtureRequest) -> Iterator[Store]:
    if request.param == "in-memory":
        yield in_memory()
        return
    # The session's "case" alias must exist: switching a Document remembers its collection.
    yield from on_ferretdb(request.getfixturevalue("case_settings"))


def closed_by_event(store: Store, cause: str = "") -> Case:
    """An active case closed by a second write (its `CaseClosed` still unsent)."""
    case = added(store, CaseStatus.ACTIVE)
    loaded = store.repository.get(case.case_id)
    loaded.close(c.CloseCase(case.case_id, "moved_away", outcomes=tuple(
        c.GoalOutcomeInput(goal.goal_id, "achieved") for goal in loaded.goals)), CM, later(50))
    store.repository.save(loaded, cause=cause)
    return loaded


def added(store: Store, status: CaseStatus = CaseStatus.PROPOSED, **overrides: object) -> Case:
    case, person = make_case_with_person(status, **overrides)
    store.repository.add(case, person)
    return case


# -- writing and reading a case ------------------------------------------------------------------


def test_an_added_case_reads_back_as_written_with_its_person_and_its_event(store: Store) -> None:
    case, person = propose()
    store.repository.add(case, person)
    assert case.version == 1 and case.pending_events == []
    assert store.repository.get(case.case_id) == case
    assert store.repository.get_by_pseudonym(case.pseudonym) == case
    assert store.repository.get_person(case.case_id) == person
    assert store.unsent(case.case_id) == ["CaseProposed"]
    assert store.versions(case.case_id) == [1]


def test_the_person_and_case_fields_of_issue_14_read_back_as_written(store: Store) -> None:
    case, person = propose(access_route="frauenberatungsstelle", person=make_person_data(
        gender="weiblich", home_kommune_key="05158016", home_kommune_name="Hilden",
        entry_date=date(2015, 9, 5), interpreter_needed=True, interpreter_language="prs",
        residence_valid_until=date(2026, 6, 30)))
    store.repository.add(case, person)
    assert store.repository.get_person(case.case_id) == person
    loaded = store.repository.get(case.case_id)
    assert loaded == case and loaded.home_kommune == person.home_kommune
    assert (loaded.gender.value, loaded.proposal.access_route) == ("weiblich", "frauenberatungsstelle")
    # Retention erases the person; the case keeps its Kommune and gender for the figures.
    active = added(store, CaseStatus.ACTIVE, person=make_person_data(
        gender="divers", home_kommune_key="05158016", home_kommune_name="Hilden"))
    active.close(c.CloseCase(active.case_id, "moved_away", outcomes=tuple(
        c.GoalOutcomeInput(goal.goal_id, "achieved") for goal in active.goals)), CM, later(50))
    store.repository.save(active)
    store.repository.erase_person(erased(store.repository.get(active.case_id), later(100), "anonymise"))
    kept = store.repository.get(active.case_id)
    assert kept.home_kommune is not None and kept.home_kommune.name == "Hilden"
    assert kept.gender.value == "divers"


def test_an_unknown_case_is_not_found(store: Store) -> None:
    for read in (store.repository.get, store.repository.get_person, store.repository.get_by_pseudonym):
        with pytest.raises(NotFound):
            read("nie-gesehen")


def test_a_read_is_a_copy_that_changes_nothing_until_saved(store: Store) -> None:
    case = added(store)
    loaded = store.repository.get(case.case_id)
    loaded.add_journal_note(c.AddJournalNote(case.case_id, "nicht gespeichert"), CM, later(1))
    assert store.repository.get(case.case_id).journal == []


def test_a_save_writes_the_next_version_with_its_events_in_order(store: Store) -> None:
    case = added(store, CaseStatus.ASSESSMENT)
    store.send()
    loaded = store.repository.get(case.case_id)
    loaded.record_need(c.RecordNeed(case.case_id, "sprache", "Deutschkurs B1"), CM, later(10))
    loaded.add_journal_note(c.AddJournalNote(case.case_id, "Kurs gefunden"), CM, later(11))
    store.repository.save(loaded)
    assert loaded.version == 2 and loaded.pending_events == []
    assert store.repository.get(case.case_id) == loaded
    assert store.unsent(case.case_id) == ["NeedRecorded", "JournalNoteAdded"]
    assert store.versions(case.case_id) == [1, 2]


def test_a_save_over_a_version_taken_meanwhile_is_refused_and_keeps_its_events(store: Store) -> None:
    case = added(store)
    first, second = store.repository.get(case.case_id), store.repository.get(case.case_id)
    first.add_journal_note(c.AddJournalNote(case.case_id, "Erstgespräch"), CM, later(1))
    second.add_journal_note(c.AddJournalNote(case.case_id, "Telefonat"), CM, later(2))
    store.repository.save(first)
    with pytest.raises(VersionConflict, match="inzwischen"):
        store.repository.save(second)
    assert second.version == 1 and [type(e).__name__ for e in second.pending_events] == ["JournalNoteAdded"]
    assert [note.text for note in store.repository.get(case.case_id).journal] == ["Erstgespräch"]
    assert store.unsent(case.case_id) == ["JournalNoteAdded"]


def test_a_save_with_the_person_replaces_it_and_one_without_keeps_it(store: Store) -> None:
    case = added(store)
    person = store.repository.get_person(case.case_id)
    moved = replace(person, family_name="Haddad-Nour", languages=("ar", "de", "en"))
    loaded = store.repository.get(case.case_id)
    store.repository.save(loaded, moved)
    assert store.repository.get_person(case.case_id) == moved
    store.repository.save(store.repository.get(case.case_id))
    assert store.repository.get_person(case.case_id) == moved


def test_a_write_caused_by_an_event_is_known_as_applied(store: Store) -> None:
    case = added(store, CaseStatus.IN_REVIEW)
    assert not store.repository.applied("event-1")
    loaded = store.repository.get(case.case_id)
    loaded.reject(c.RejectCase(case.case_id, "gehört nicht zur Zielgruppe"), CM, later(5))
    store.repository.save(loaded, cause="event-1")
    assert store.repository.applied("event-1")
    assert not store.repository.applied("event-2") and not store.repository.applied("")


def test_an_event_stays_applied_across_later_writes_and_is_forgotten_with_the_case(store: Store) -> None:
    case = closed_by_event(store, "event-9")
    store.repository.save(store.repository.get(case.case_id))  # a later write of the case
    assert store.repository.applied("event-9")
    assert store.versions(case.case_id) == [1, 2, 3]  # the receipt is no version of the case
    store.repository.delete(erased(store.repository.get(case.case_id), later(100), "delete"))
    assert not store.repository.applied("event-9")


def test_pseudonyms_and_case_ids_are_unique(store: Store) -> None:
    case = added(store)
    twin, twin_person = propose()
    twin.pseudonym = case.pseudonym
    with pytest.raises(PseudonymTaken):
        store.repository.add(twin, twin_person)
    assert twin.version == 0 and len(twin.pending_events) == 1  # to be drawn again and retried
    assert store.unsent(twin.case_id) == []
    again, again_person = propose()
    again.case_id = case.case_id
    with pytest.raises(AlreadyExists):
        store.repository.add(again, again_person)
    assert store.repository.get(case.case_id) == case


# -- lists and figures -------------------------------------------------------------------------


def test_lists_show_own_and_shared_cases_oldest_first_filtered_and_paged(store: Store) -> None:
    base = datetime(2026, 3, 4, 11, 0, tzinfo=UTC)
    ids = []
    for i in range(5):
        case, person = make_case_with_person(CaseStatus.ACTIVE if i % 2 == 0 else CaseStatus.IN_REVIEW)
        case.created_at = base + timedelta(seconds=5 - i if i < 2 else i)  # not in insertion order
        store.repository.add(case, person)
        ids.append((case.created_at, case.case_id))
    foreign, foreign_person = propose(owner_org="awo-ratingen", coordination_org="kreis-mettmann-ki")
    store.repository.add(foreign, foreign_person)
    repository = store.repository

    seen, token, pages = [], "", 0
    while True:
        page = repository.list_cases(CaseFilter(organization=OWNER), 2, token)
        seen += [case.case_id for case, _ in page.items]
        pages += 1
        if not page.next_page_token:
            break
        token = page.next_page_token
    assert seen == [case_id for _, case_id in sorted(ids)] and pages == 3
    assert all(person is not None for _, person in repository.list_cases(CaseFilter(OWNER), 0, "").items)
    assert len(repository.list_cases(CaseFilter(OWNER, statuses=(CaseStatus.ACTIVE,)), 10, "").items) == 3
    assert len(repository.list_cases(CaseFilter(OWNER, review_due_by=date(2026, 6, 4)), 10, "").items) == 3
    assert not repository.list_cases(CaseFilter(OWNER, review_due_by=date(2026, 6, 3)), 10, "").items
    assert not repository.list_cases(CaseFilter(OWNER, statuses=(CaseStatus.IN_REVIEW,),
                                                review_due_by=date(2026, 6, 4)), 10, "").items
    assert len(repository.list_cases(CaseFilter(OWNER, case_manager=CM.subject), 10, "").items) == 3
    assert len(repository.list_cases(CaseFilter(OWNER, zielgruppe="geduldete_gestattete_ueber_27"),
                                     10, "").items) == 5
    assert not repository.list_cases(CaseFilter(OWNER, zielgruppe="umf"), 10, "").items
    shared = repository.list_cases(CaseFilter(ABH), 10, "")
    assert {case.case_id for case, _ in shared.items} == {case_id for _, case_id in ids}
    assert repository.list_cases(CaseFilter("jobcenter-me"), 10, "").items == []
    for size in (-1, 101):
        with pytest.raises(InvalidArgument):
            repository.list_cases(CaseFilter(OWNER), size, "")
    with pytest.raises(InvalidArgument):
        repository.list_cases(CaseFilter(OWNER), 10, "kaputt")


def test_figures_count_by_status_and_zielgruppe_and_sum_every_case(store: Store) -> None:
    assert store.repository.figures() == {"status": {}, "zielgruppe": {},
                                          "totals": dict.fromkeys(FIGURE_KEYS, 0)}
    cases = [added(store, status) for status in (CaseStatus.ACTIVE, CaseStatus.ACTIVE, CaseStatus.CLOSED)]
    result = store.repository.figures()
    assert result["status"] == {"active": 2, "closed": 1}
    assert result["zielgruppe"] == {cases[0].eligibility.primary: 3}
    assert result["totals"] == {key: sum(figures(case)[key] for case in cases) for key in FIGURE_KEYS}


def test_the_figures_ledger_keeps_its_entries_up_to_a_day_and_through_retention(store: Store) -> None:
    from datetime import date

    from services.case.domain.movements import LedgerEntry

    # The database may hold other tests' entries (dated today): recording nothing adds none.
    before = store.repository.ledger(date(2030, 1, 1))
    store.repository.record_ledger([])
    assert store.repository.ledger(date(2030, 1, 1)) == before
    entries = [LedgerEntry(date(2026, 3, 31), "status", "active", 1),
               LedgerEntry(date(2026, 4, 1), "admitted_kommune", "05158016", 1, "Hilden"),
               LedgerEntry(date(2026, 4, 1), "status", "proposed", -1)]
    store.repository.record_ledger(entries)
    assert store.repository.ledger(date(2026, 3, 31)) == entries[:1]
    assert sorted(store.repository.ledger(date(2026, 4, 1)), key=repr) == sorted(entries, key=repr)
    closed = closed_by_event(store)
    store.repository.delete(store.repository.get(closed.case_id))
    assert sorted(store.repository.ledger(date(2026, 4, 1)), key=repr) == sorted(entries, key=repr)


def test_undecided_proposals_checked_against_an_older_version_are_found(store: Store) -> None:
    proposed, deferred = added(store), added(store, CaseStatus.DEFERRED)
    added(store, CaseStatus.ADMITTED)
    version = proposed.eligibility.catalogue_version
    assert set(store.repository.undecided_checked_before(version + 1)) == {proposed.case_id, deferred.case_id}
    assert store.repository.undecided_checked_before(version) == []


# -- retention ---------------------------------------------------------------------------------


def test_closed_cases_untouched_since_a_moment_are_found_until_their_person_is_erased(store: Store) -> None:
    closed = added(store, CaseStatus.CLOSED)
    added(store, CaseStatus.ACTIVE)
    assert store.repository.closed_before(closed.updated_at) == [closed.case_id]
    assert store.repository.closed_before(closed.updated_at - timedelta(seconds=1)) == []
    store.repository.erase_person(erased(store.repository.get(closed.case_id), later(100), "anonymise"))
    assert store.repository.closed_before(later(100)) == []


def test_erasing_the_person_keeps_the_anonymised_case_and_forgets_its_history(store: Store) -> None:
    case = closed_by_event(store, "event-7")
    anonymised = erased(store.repository.get(case.case_id), later(100), "anonymise")
    store.repository.erase_person(anonymised)
    assert anonymised.version == 3 and anonymised.pending_events == []
    with pytest.raises(FailedPrecondition, match="gelöscht"):
        store.repository.get_person(case.case_id)
    assert store.repository.get(case.case_id) == anonymised
    assert store.versions(case.case_id) == [3]
    # The unsent events of the forgotten versions go with the erase request, after it.
    assert store.unsent(case.case_id) == ["CaseErased", "CaseClosed"]
    assert not store.repository.applied("event-7")
    assert [person for _, person in store.repository.list_cases(CaseFilter(OWNER), 10, "").items] == [None]


def test_erasing_over_a_version_taken_meanwhile_is_refused(store: Store) -> None:
    case = added(store, CaseStatus.CLOSED)
    stale = erased(store.repository.get(case.case_id), later(100), "anonymise")
    store.repository.save(store.repository.get(case.case_id))
    with pytest.raises(VersionConflict):
        store.repository.erase_person(stale)
    assert store.repository.get_person(case.case_id) is not None


def test_a_deleted_case_is_gone_but_its_erase_request_waits_to_be_sent(store: Store) -> None:
    case = closed_by_event(store)
    store.repository.delete(erased(store.repository.get(case.case_id), later(100), "delete"))
    with pytest.raises(NotFound):
        store.repository.get(case.case_id)
    assert store.repository.figures()["status"] == {}
    assert store.unsent(case.case_id) == ["CaseErased", "CaseClosed"]
    assert store.versions(case.case_id) == [3]
    assert store.repository.forget_erased() == 0, "the erase request is not sent yet"
    store.send()
    assert store.repository.forget_erased() == 1
    assert store.versions(case.case_id) == []


def test_deleting_over_a_version_taken_meanwhile_is_refused(store: Store) -> None:
    case = added(store, CaseStatus.CLOSED)
    stale = erased(store.repository.get(case.case_id), later(100), "delete")
    store.repository.save(store.repository.get(case.case_id))
    with pytest.raises(FailedPrecondition):
        store.repository.delete(stale)
    assert store.repository.get(case.case_id).version == 2


# -- the audit trail and the Zielgruppen -------------------------------------------------------


def _draft(i: int, case_id: str = "case-1") -> AuditDraft:
    return AuditDraft(datetime(2026, 3, 4, 12, 0, 0, 123456, tzinfo=UTC) + timedelta(seconds=i),
                      f"user-{i}", OWNER, ("case_manager",), case_id, "GetCase", "Fallbearbeitung", True)


def test_the_audit_trail_is_one_chain_read_in_pages_and_by_case(store: Store) -> None:
    first = store.repository.append_audit(_draft(1))
    run = store.repository.append_audits([_draft(2, "case-2"), _draft(3), _draft(4, "case-2")])
    last = store.repository.append_audit(_draft(5))
    assert [e.sequence for e in (first, *run, last)] == [1, 2, 3, 4, 5]
    entries = store.repository.audit_entries()
    assert entries == [first, *run, last] and verify_chain(entries).intact
    assert [e.sequence for e in store.repository.audit_entries("case-2")] == [2, 4]
    assert [e.sequence for e in store.repository.audit_entries(after_sequence=2, limit=2)] == [3, 4]
    assert [e.sequence for e in store.repository.audit_entries("case-1", after_sequence=1)] == [3, 5]
    assert store.repository.append_audits([]) == []


def test_the_highest_zielgruppen_version_is_current_and_a_known_one_is_kept(store: Store) -> None:
    assert store.repository.current_catalogue() == DEFAULT_CATALOGUE
    newer = replace(METTMANN_V1, version=7)
    assert store.repository.store_catalogue(newer)
    assert store.repository.store_catalogue(replace(METTMANN_V1, version=3))
    assert not store.repository.store_catalogue(replace(newer, decision_reference="anders"))
    assert store.repository.current_catalogue() == newer


# -- lists and figures after many mixed writes (the adapter keeps them as read models) ----------

MANAGERS = (CM.subject, "cm-jonas", "")
FILTERS = (
    CaseFilter(OWNER), CaseFilter(ABH), CaseFilter("awo-ratingen"),
    CaseFilter(OWNER, statuses=(CaseStatus.PROPOSED, CaseStatus.IN_REVIEW, CaseStatus.DEFERRED)),
    CaseFilter(OWNER, statuses=(CaseStatus.CLOSED,)),
    CaseFilter(OWNER, case_manager=CM.subject),
    CaseFilter(OWNER, statuses=(CaseStatus.ACTIVE, CaseStatus.PROPOSED), case_manager="cm-jonas"),
    CaseFilter(OWNER, review_due_by=date(2026, 6, 4)),
    CaseFilter(OWNER, zielgruppe="geduldete_gestattete_ueber_27"),
    CaseFilter(OWNER, statuses=(CaseStatus.ACTIVE,), case_manager=CM.subject, review_due_by=date(2026, 6, 4)),
)


def _listed_by_scan(cases: list[Case], query: CaseFilter) -> list[str]:
    """What a full scan lists: the reference the maintained lists must equal."""
    def shown(case: Case) -> bool:
        if query.organization != case.owner_org and query.organization not in case.access_orgs:
            return False
        if query.statuses and case.status not in query.statuses:
            return False
        if query.zielgruppe and case.eligibility.primary != query.zielgruppe:
            return False
        if query.case_manager and case.case_manager != query.case_manager:
            return False
        if query.review_due_by is not None:
            return case.status is CaseStatus.ACTIVE and case.next_review_due is not None \
                and case.next_review_due <= query.review_due_by
        return True
    return [case.case_id for case in sorted(cases, key=lambda k: (k.created_at, k.case_id)) if shown(case)]


def _figures_by_scan(cases: list[Case]) -> dict[str, dict[str, int]]:
    status: dict[str, int] = {}
    groups: dict[str, int] = {}
    for case in cases:
        status[case.status.value] = status.get(case.status.value, 0) + 1
        groups[case.eligibility.primary] = groups.get(case.eligibility.primary, 0) + 1
    return {"status": dict(sorted(status.items())), "zielgruppe": dict(sorted(groups.items())),
            "totals": {key: sum(figures(case)[key] for case in cases) for key in FIGURE_KEYS}}


def _walk_pages(repository: CaseRepository, query: CaseFilter, size: int) -> list[str]:
    seen: list[str] = []
    token = ""
    while True:
        page = repository.list_cases(query, size, token)
        seen += [case.case_id for case, _ in page.items]
        if not page.next_page_token:
            return seen
        token = page.next_page_token


def _present(repository: CaseRepository, ids: list[str]) -> list[Case]:
    found = []
    for case_id in ids:
        try:
            found.append(repository.get(case_id))
        except NotFound:
            continue
    return found


def _small_buckets(store: Store) -> None:
    """On the adapter: buckets of 3 positions, so that a few dozen cases split and merge them."""
    if isinstance(store.repository, MongoCaseRepository):
        store.repository.read_models.bucket_size = 3


def test_lists_and_figures_after_many_mixed_writes_equal_a_full_scan(store: Store) -> None:
    _small_buckets(store)
    repository = store.repository
    statuses = list(CaseStatus)
    base = datetime(2026, 3, 4, 11, 0, tzinfo=UTC)
    ids = []
    for i in range(30):
        case, person = make_case_with_person(CaseStatus.ACTIVE if i % 3 else CaseStatus.PROPOSED)
        case.created_at = base + timedelta(seconds=(i * 7919) % 31)  # not in insertion order, ties too
        case.case_manager = MANAGERS[i % 3]
        if i % 4 == 0:
            case.access_orgs = [*case.access_orgs, "awo-ratingen"]
        repository.add(case, person)
        ids.append(case.case_id)
    for round_ in range(3):  # status, manager and sharing move cases between lists, back and forth
        for i, case_id in enumerate(ids[round_::2]):
            case = repository.get(case_id)
            case.status = statuses[(i + round_) % len(statuses)]
            case.case_manager = MANAGERS[(i + round_ + 1) % 3]
            case.access_orgs = [o for o in case.access_orgs if o != "awo-ratingen"] if round_ == 1 \
                else case.access_orgs
            repository.save(case)
    for case_id in ids[:4]:  # retention: two anonymised, two deleted
        case = repository.get(case_id)
        case.status = CaseStatus.CLOSED
        repository.save(case)
    for case_id in ids[:2]:
        repository.erase_person(erased(repository.get(case_id), later(100), "anonymise"))
    for case_id in ids[2:4]:
        repository.delete(erased(repository.get(case_id), later(100), "delete"))
    cases = _present(repository, ids)
    assert len(cases) == 28
    assert repository.figures() == _figures_by_scan(cases)
    for number, query in enumerate(FILTERS):
        # Every filter in one page; a few also in small pages (each page costs its finds).
        for size in (100, 4) if number < 4 else (100,):
            assert _walk_pages(repository, query, size) == _listed_by_scan(cases, query), (query, size)


def test_lists_and_figures_stay_exact_while_threads_write(store: Store) -> None:
    import threading

    _small_buckets(store)
    repository = store.repository
    writers, per_writer = 4, 6
    ids: list[list[str]] = [[] for _ in range(writers)]
    problems: list[str] = []
    done = threading.Event()

    def write(n: int) -> None:
        try:
            for i in range(per_writer):
                case, person = make_case_with_person(CaseStatus.PROPOSED)
                case.case_manager = MANAGERS[(n + i) % 2]
                repository.add(case, person)
                ids[n].append(case.case_id)
                if i % 2:
                    loaded = repository.get(ids[n][i - 1])
                    loaded.status = CaseStatus.ACTIVE
                    repository.save(loaded)
        except Exception as error:
            problems.append(repr(error))

    def read() -> None:
        try:
            while not done.is_set():
                started = sum(len(i) for i in ids)
                total = sum(repository.figures()["status"].values())
                finished = sum(len(i) for i in ids) + writers  # an add in flight may be counted
                if not started <= total <= finished:
                    problems.append(f"{total} cases counted while {started}..{finished} were written")
        except Exception as error:
            problems.append(repr(error))

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    reader = threading.Thread(target=read)
    reader.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    done.set()
    reader.join()
    assert problems == []
    cases = _present(repository, [case_id for own in ids for case_id in own])
    assert len(cases) == writers * per_writer
    assert repository.figures() == _figures_by_scan(cases)
    for query in FILTERS[:7]:
        assert _walk_pages(repository, query, 100) == _listed_by_scan(cases, query), query
