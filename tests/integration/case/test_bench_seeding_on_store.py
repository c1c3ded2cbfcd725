"""What the bench's scale part seeds in bulk (bench/seeding.py) is what the case repository reads
and continues: cases it loads, lists and counts, and an audit trail whose chain the next append
continues and that verifies as a whole."""

from __future__ import annotations

from datetime import UTC, datetime

from bench import seeding
from services.case.domain.audit import AuditDraft, verify_chain
from services.case.domain.ports import CaseFilter
from services.case.domain.vocabulary import CaseStatus
from services.case.repository import CaseDocument, MongoCaseRepository


def test_seeded_cases_and_audit_entries_are_read_and_continued_by_the_repository(
        repository: MongoCaseRepository) -> None:
    database = CaseDocument._get_db()
    seeded = seeding.seed_cases(database, repository.node_id, 0, 24)
    assert [s.number for s in seeded] == list(range(24))

    for s in seeded[:4]:
        case = repository.get(s.case_id)
        assert case.status.value == seeding.kind(s.number) and case.version >= 1
        assert repository.get_person(s.case_id).given_name == f"Amina{s.number}"
        assert repository.get_by_pseudonym(case.pseudonym).case_id == s.case_id

    page = repository.list_cases(CaseFilter(seeding.OWNER, statuses=(CaseStatus.ADMITTED,),
                                            case_manager=seeding.MANAGERS[0]), 50, "")
    expected = [s.case_id for s in seeded
                if seeding.kind(s.number) == "admitted" and seeding.manager(s.number) == seeding.MANAGERS[0]]
    assert [case.case_id for case, _ in page.items] == expected and expected

    assert repository.figures()["status"] == {"admitted": 12, "in_review": 6, "proposed": 6}
    assert repository.read_models.check() == [], "the maintained lists and figures agree with a scan"

    tail = seeding.seed_audit(database, 30, [s.case_id for s in seeded])
    assert tail is not None and tail.sequence == 30
    appended = repository.append_audit(AuditDraft(datetime.now(UTC), "cm", seeding.OWNER, ("case_manager",),
                                                  seeded[0].case_id, "GetCase", "Fallbearbeitung", True))
    assert appended.sequence == 31 and appended.previous_hash == tail.entry_hash
    more = seeding.seed_audit(database, 5, [])  # continues after the api's own append
    assert more is not None and more.sequence == 36
    trail = repository.audit_entries(limit=100)
    assert len(trail) == 36 and verify_chain(trail).intact
