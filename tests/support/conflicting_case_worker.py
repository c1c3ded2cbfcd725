"""The case worker with a concurrent writer at the worst moment (run by `nameko run` in
tests/integration/case/test_case_worker_reliability.py): the first time a consumed event is
about to be written, another writer (a second repository, as a case manager's journal note
through the api would be) writes the same case first, so the worker's write meets a real
version conflict in the real store. Later deliveries of the same event write undisturbed."""

from __future__ import annotations

import logging

from kimnetz.runtime.worker import Provide, WorkerContext
from services.case.composition import CaseServices, case_services
from services.case.domain.case import Case
from services.case.domain.person import Person
from services.case.repository import MongoCaseRepository
from services.case.worker import CaseWorker, case_service

log = logging.getLogger(__name__)
_interfered: set[str] = set()


class ConflictingRepository(MongoCaseRepository):
    def save(self, case: Case, person: Person | None = None, *, cause: str = "") -> None:
        if cause and cause not in _interfered:
            _interfered.add(cause)
            other = MongoCaseRepository(self.node_id)
            other.save(other.get(case.case_id))  # takes the version this write is based on
            log.info("concurrent write of case %s before event %s", case.case_id, cause)
        super().save(case, person, cause=cause)


def conflicting_case_service(worker: WorkerContext) -> CaseServices:
    case_service(worker)  # the indexes, as the real worker ensures them
    return case_services(ConflictingRepository(worker.node.node_id), node_org=worker.node.organization_id)


class ConflictingCaseWorker(CaseWorker):
    cases: CaseServices = Provide(conflicting_case_service)
