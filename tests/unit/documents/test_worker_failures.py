"""The documents worker's bulk job after a failure (issue 12, item 4): a passing one is raised
to the consuming wrapper, which delivers the request again after a back-off (the job stays
"requested"); any other ends the job "failed" with a German reason the requester sees."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from pymongo.errors import ServerSelectionTimeoutError

from kim.common.v1.event_pb2 import EventEnvelope
from kim.documents.v1.events_pb2 import ContractsRequested
from kimnetz.errors import VersionConflict
from kimnetz.runtime import events
from kimnetz.runtime.event_trust import Sender
from services.documents.worker import DocumentsWorker


@dataclass
class FakeDocuments:
    """Runs a job by raising what it was given; records how jobs ended."""

    error: Exception | None
    failed: dict[str, str] = field(default_factory=dict)

    def run_contracts_job(self, job_id: str) -> int:
        if self.error is not None:
            raise self.error
        return 1

    def fail_contracts_job(self, job_id: str, reason: str) -> None:
        self.failed[job_id] = reason


class OwnNode:
    """The worker's event verification for a request of this node itself (the only sender a
    bulk job is taken from; refusals are tested in tests/unit/runtime/test_trusted_events.py)."""

    def verify(self, envelope: EventEnvelope) -> Sender:
        return Sender(envelope.source_node, "stadt-hilden", "municipality", local=True)


@dataclass
class Worker:
    documents: FakeDocuments
    trust: OwnNode = field(default_factory=OwnNode)


def deliver(documents: FakeDocuments) -> None:
    envelope = events.pack(ContractsRequested(job_id="job-1", organization="stadt-hilden", expected=2),
                           source_service="documents", source_node="n")
    DocumentsWorker.on_contracts_requested(Worker(documents), envelope)  # type: ignore[arg-type]


@pytest.mark.parametrize("error", [ServerSelectionTimeoutError("no servers"), VersionConflict("neu laden")])
def test_a_passing_failure_is_raised_for_a_retry_and_the_job_stays_requested(error: Exception) -> None:
    documents = FakeDocuments(error)
    with pytest.raises(type(error)):
        deliver(documents)
    assert documents.failed == {}


def test_a_permanent_failure_ends_the_job_failed_with_a_german_reason() -> None:
    documents = FakeDocuments(RuntimeError("template engine crashed"))
    deliver(documents)
    assert list(documents.failed) == ["job-1"]
    assert documents.failed["job-1"].startswith("Die Verträge konnten nicht erzeugt werden")
    assert "RuntimeError" in documents.failed["job-1"]


def test_a_job_that_ran_is_not_touched() -> None:
    documents = FakeDocuments(None)
    deliver(documents)
    assert documents.failed == {}
