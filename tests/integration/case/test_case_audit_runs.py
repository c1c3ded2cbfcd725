"""Runs of audit entries (`MongoCaseRepository.append_audits`, what a peer's call for many
briefs writes) on the real store: one chain with single appends racing them, nothing lost,
nothing twice, and one look at the tail instead of one per entry."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from services.case.audit_trail import HEAD
from services.case.domain.audit import AuditDraft, verify_chain
from services.case.repository import AuditDocument, MongoCaseRepository
from tests.integration.case.conftest import COORDINATION


def draft(i: int, case_id: str) -> AuditDraft:
    return AuditDraft(datetime(2026, 3, 4, 12, 0, tzinfo=UTC) + timedelta(seconds=i), "koord.kreis",
                      COORDINATION, ("district",), case_id, "GetCaseBriefs", "Fallkonferenz", True,
                      actor_node="kreis-mettmann")


def test_runs_and_single_appends_racing_each_other_keep_one_chain(repository: MongoCaseRepository) -> None:
    def run(n: int) -> list[int]:
        return [e.sequence for e in repository.append_audits([draft(i, f"run-{n}-{i}") for i in range(10)])]

    def single(n: int) -> list[int]:
        return [repository.append_audit(draft(n, f"single-{n}")).sequence]

    with ThreadPoolExecutor(4) as pool:
        runs = [pool.submit(run, n) for n in range(4)]
        singles = [pool.submit(single, n) for n in range(8)]
        sequences = [s for f in runs + singles for s in f.result()]
    entries = repository.audit_entries(limit=100)
    assert len(entries) == 48 and verify_chain(entries).intact
    assert sorted(sequences) == list(range(1, 49)), "each entry returned with its own place"
    for n in range(4):
        run_entries = [e for e in entries if e.case_id.startswith(f"run-{n}-")]
        assert [e.case_id for e in run_entries] == [f"run-{n}-{i}" for i in range(10)], "order kept"
    assert {e.actor_node for e in entries} == {"kreis-mettmann"}


def test_a_run_of_two_hundred_is_one_write(repository: MongoCaseRepository) -> None:
    for i in range(300):  # a trail that already has some history
        repository.append_audit(draft(i, f"before-{i}"))
    started = time.monotonic()
    written = repository.append_audits([draft(i, f"case-{i}") for i in range(200)])
    run_seconds = time.monotonic() - started
    started = time.monotonic()
    for i in range(20):
        repository.append_audit(draft(i, f"after-{i}"))
    single_seconds = (time.monotonic() - started) / 20
    assert [e.sequence for e in written] == list(range(301, 501))
    assert AuditDocument.objects(entry_id__ne=HEAD).count() == 520  # the head is no entry
    assert verify_chain(repository.audit_entries(limit=1000)).intact
    # Measured on FerretDB 1.24: a run of 200 costs about as much as a handful of single appends.
    assert run_seconds < 20 * single_seconds, (run_seconds, single_seconds)


def test_an_empty_run_writes_nothing(repository: MongoCaseRepository) -> None:
    assert repository.append_audits([]) == []
    assert AuditDocument.objects.count() == 0
