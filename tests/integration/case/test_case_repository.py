"""The case repository on a real MongoDB-wire server (FerretDB locally), on a database of each
test's own: these tests look at outboxes, which the session api process's relay would send."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "unit" / "case"))
from case_factories import ABH, CM, COORDINATION, OWNER, later, make_case_with_person, propose

from kim.case.v1 import events_pb2
from kimnetz.errors import FailedPrecondition, InvalidArgument, NotFound
from kimnetz.runtime import events
from kimnetz.runtime.amqp import Publisher
from kimnetz.runtime.outbox import OutboxRelay
from kimnetz.runtime.settings import Settings
from services.case.domain import commands as c
from services.case.domain.audit import AuditDraft, verify_chain
from services.case.domain.ports import CaseFilter, PseudonymTaken
from services.case.domain.retention import FIGURE_KEYS
from services.case.domain.vocabulary import CaseStatus
from services.case.domain.zielgruppen import METTMANN_V1, ZielgruppeDefinition
from services.case.repository import AuditDocument, CaseChangeDocument, CaseDocument, MongoCaseRepository
from tests.integration.case.conftest import own_case_database


@pytest.fixture
def repository(case_settings: Settings) -> Iterator[MongoCaseRepository]:
    with own_case_database(case_settings) as node_id:
        yield MongoCaseRepository(node_id)


def outbox_types(case_id: str) -> list[str]:
    """The pending events of a case's writes, oldest first (nothing relays them here)."""
    changes = CaseChangeDocument.objects(aggregate_id=case_id).order_by("version")
    return [entry.routing_key for change in changes for entry in change.outbox]


def test_a_proposed_case_and_its_event_are_written_in_one_document(repository: MongoCaseRepository) -> None:
    case, person = propose()
    repository.add(case, person)
    assert outbox_types(case.case_id) == ["kim.case.v1.CaseProposed"]
    stored = CaseChangeDocument.objects.get(change_id=f"{case.case_id}:1")
    assert stored.fields["status"] == "proposed" and stored.fields["version"] == 1
    envelope = events.decode(stored.outbox[0].body)
    message = events.unpack(envelope)
    assert isinstance(message, events_pb2.CaseProposed)
    assert message.pseudonym == case.pseudonym and envelope.source_node == repository.node_id
    assert "Haddad" not in str(message)


def test_case_round_trips_through_the_store_unchanged(repository: MongoCaseRepository) -> None:
    case, person = make_case_with_person(CaseStatus.ACTIVE)
    repository.add(case, person)
    loaded = repository.get(case.case_id)
    assert loaded == case
    assert repository.get_person(case.case_id) == person
    assert repository.get_by_pseudonym(case.pseudonym).case_id == case.case_id


def test_the_case_read_does_not_carry_the_person(repository: MongoCaseRepository) -> None:
    case, person = propose()
    repository.add(case, person)
    raw = CaseDocument.objects(case_id=case.case_id).exclude("person").first()
    assert not raw.person and "Haddad" not in str(raw.state)


def test_saving_appends_the_new_events_and_bumps_the_version(repository: MongoCaseRepository) -> None:
    case, person = propose()
    repository.add(case, person)
    case = repository.get(case.case_id)
    case.record_consent(c.RecordConsent(case.case_id, "einwilligung", COORDINATION, ("fallkonferenz",),
                                        ("falldokumentation",), date(2026, 3, 4)), CM, later(1))
    case.submit_for_review(c.SubmitForReview(case.case_id, (ABH,)), CM, later(2))
    repository.save(case)
    assert case.version == 2
    assert outbox_types(case.case_id) == [
        "kim.case.v1.CaseProposed", "kim.case.v1.ConsentRecorded", "kim.case.v1.CaseSubmittedForReview"]
    assert repository.get(case.case_id).status is CaseStatus.IN_REVIEW


def test_a_concurrent_change_is_refused_and_keeps_its_events(repository: MongoCaseRepository) -> None:
    case, person = propose()
    repository.add(case, person)
    first, second = repository.get(case.case_id), repository.get(case.case_id)
    first.add_journal_note(c.AddJournalNote(case.case_id, "Erstgespräch"), CM, later(1))
    second.add_journal_note(c.AddJournalNote(case.case_id, "Telefonat"), CM, later(2))
    repository.save(first)
    with pytest.raises(FailedPrecondition, match="inzwischen"):
        repository.save(second)
    assert len(second.pending_events) == 1
    assert [n.text for n in repository.get(case.case_id).journal] == ["Erstgespräch"]


def test_a_writer_that_loaded_before_two_sent_writes_still_loses(
    repository: MongoCaseRepository, case_settings: Settings,
) -> None:
    """The superseded changes stay the claim on their versions after the relay sent their
    events; deleted at once, the stale writer would insert version 2 anew and its note would
    be silently lost."""
    case, person = propose()
    repository.add(case, person)
    stale = repository.get(case.case_id)
    for minute, text in ((1, "Erstgespräch"), (2, "Telefonat")):
        current = repository.get(case.case_id)
        current.add_journal_note(c.AddJournalNote(case.case_id, text), CM, later(minute))
        repository.save(current)
        if minute == 1:  # the relay sends versions 1 and 2 before version 3 is written
            with Publisher(case_settings.amqp_uri) as publisher:
                OutboxRelay(publisher, [CaseChangeDocument._get_collection()]).relay_pending()
    assert outbox_types(case.case_id) == ["kim.case.v1.JournalNoteAdded"]
    stale.add_journal_note(c.AddJournalNote(case.case_id, "Hausbesuch"), CM, later(3))
    with pytest.raises(FailedPrecondition, match="inzwischen"):
        repository.save(stale)
    assert len(stale.pending_events) == 1
    loaded = repository.get(case.case_id)
    assert loaded.version == 3 and [n.text for n in loaded.journal] == ["Erstgespräch", "Telefonat"]
    assert [d.version for d in CaseChangeDocument.objects(aggregate_id=case.case_id)] == [1, 2, 3]


def test_a_closed_case_leaves_the_review_lists_and_counts_as_closed(
    repository: MongoCaseRepository,
) -> None:
    """Closing clears the review date: the case document then has none (not a null), which
    the review filter and the figures treat like a case that never had one."""
    case, person = make_case_with_person(CaseStatus.ACTIVE)
    repository.add(case, person)
    due_by = CaseFilter(OWNER, review_due_by=date(2026, 6, 4))
    assert [listed.case_id for listed, _ in repository.list_cases(due_by, 10, "").items] == [case.case_id]
    case = repository.get(case.case_id)
    case.close(c.CloseCase(case.case_id, "goals_achieved", outcomes=tuple(
        c.GoalOutcomeInput(g.goal_id, "achieved") for g in case.goals)), CM, later(20))
    repository.save(case)
    raw = CaseDocument._get_collection().find_one({"_id": case.case_id})
    assert raw is not None and "next_review_due" not in raw and raw["status"] == "closed"
    assert repository.list_cases(due_by, 10, "").items == []
    assert repository.get(case.case_id).next_review_due is None
    figures = repository.figures()
    assert figures["status"] == {"closed": 1}
    assert set(figures["totals"]) == set(FIGURE_KEYS)


def test_pseudonyms_are_unique(repository: MongoCaseRepository) -> None:
    case, person = propose()
    repository.add(case, person)
    twin, twin_person = propose()
    twin.pseudonym = case.pseudonym
    with pytest.raises(PseudonymTaken):
        repository.add(twin, twin_person)


def test_unknown_case_is_not_found(repository: MongoCaseRepository) -> None:
    with pytest.raises(NotFound):
        repository.get("missing")
    with pytest.raises(NotFound):
        repository.get_person("missing")


def test_list_shows_own_and_shared_cases_filtered_and_paged(repository: MongoCaseRepository) -> None:
    base = datetime(2026, 3, 4, 11, 0, tzinfo=UTC)
    ids = []
    for i in range(5):
        case, person = make_case_with_person(CaseStatus.ACTIVE if i % 2 == 0 else CaseStatus.IN_REVIEW)
        case.created_at = base + timedelta(seconds=i)
        repository.add(case, person)
        ids.append(case.case_id)
    foreign, foreign_person = propose(owner_org="awo-ratingen", coordination_org="kreis-mettmann-ki")
    repository.add(foreign, foreign_person)

    seen, token = [], ""
    while True:
        page = repository.list_cases(CaseFilter(organization=OWNER), 2, token)
        seen += [case.case_id for case, _ in page.items]
        if not page.next_page_token:
            break
        token = page.next_page_token
    assert seen == ids

    active = repository.list_cases(CaseFilter(OWNER, statuses=(CaseStatus.ACTIVE,)), 10, "")
    assert len(active.items) == 3
    due = repository.list_cases(CaseFilter(OWNER, review_due_by=date(2026, 6, 4)), 10, "")
    assert len(due.items) == 3
    assert not repository.list_cases(CaseFilter(OWNER, review_due_by=date(2026, 6, 3)), 10, "").items
    assert len(repository.list_cases(CaseFilter(OWNER, case_manager=CM.subject), 10, "").items) == 3
    by_group = repository.list_cases(CaseFilter(OWNER, zielgruppe="geduldete_gestattete_ueber_27"), 10, "")
    assert len(by_group.items) == 5
    shared = repository.list_cases(CaseFilter(ABH), 10, "")
    assert {case.case_id for case, _ in shared.items} == set(ids)
    assert repository.list_cases(CaseFilter("jobcenter-me"), 10, "").items == []
    with pytest.raises(InvalidArgument):
        repository.list_cases(CaseFilter(OWNER), 101, "")
    with pytest.raises(InvalidArgument):
        repository.list_cases(CaseFilter(OWNER), 10, "kaputt")


def _draft(i: int, case_id: str = "case-1") -> AuditDraft:
    return AuditDraft(datetime(2026, 3, 4, 12, 0, tzinfo=UTC) + timedelta(seconds=i), f"user-{i}", OWNER,
                      ("case_manager",), case_id, "GetCase", "Fallbearbeitung", True)


def test_audit_chain_survives_storage_and_detects_an_altered_document(
    repository: MongoCaseRepository,
) -> None:
    for i in range(4):
        repository.append_audit(_draft(i, "case-1" if i % 2 == 0 else "case-2"))
    entries = repository.audit_entries()
    assert [e.sequence for e in entries] == [1, 2, 3, 4]
    assert verify_chain(entries).intact
    assert [e.sequence for e in repository.audit_entries(case_id="case-2")] == [2, 4]
    # Someone with database access edits an entry behind the service's back.
    AuditDocument.objects(sequence=3).update_one(set__actor_subject="nobody")
    result = verify_chain(repository.audit_entries())
    assert not result.intact and result.first_broken_sequence == 3


def test_concurrent_audit_appends_keep_one_chain(repository: MongoCaseRepository) -> None:
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda i: repository.append_audit(_draft(i)), range(12)))
    entries = repository.audit_entries(limit=100)
    assert len(entries) == 12 and verify_chain(entries).intact


def test_zielgruppen_versions_are_stored_once_and_the_highest_is_current(
    repository: MongoCaseRepository,
) -> None:
    assert repository.current_catalogue() == METTMANN_V1
    v2 = replace(METTMANN_V1, version=2, decided_on=date(2026, 2, 1), definitions=(
        ZielgruppeDefinition("frauen", "Frauen in der Frauenberatungsstelle", min_age=18),))
    assert repository.store_catalogue(v2)
    assert not repository.store_catalogue(replace(v2, decision_reference="changed"))
    assert repository.current_catalogue() == v2


def test_a_case_document_that_missed_its_last_write_is_repaired_from_the_change(
    repository: MongoCaseRepository,
) -> None:
    """As if the process died between inserting the change and updating the case document,
    or a stale write-back of FerretDB undid that update."""
    case, person = propose()
    repository.add(case, person)
    case = repository.get(case.case_id)
    case.add_journal_note(c.AddJournalNote(case.case_id, "Erstgespräch"), CM, later(1))
    repository.save(case)
    CaseDocument._get_collection().update_one(
        {"_id": case.case_id}, {"$set": {"version": 1, "state.journal": []}})
    repaired = repository.get(case.case_id)
    assert repaired.version == 2 and [n.text for n in repaired.journal] == ["Erstgespräch"]
    assert CaseDocument.objects.get(case_id=case.case_id).version == 2
