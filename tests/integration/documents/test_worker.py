"""Bulk rendering through a real `kim node worker` process: the api accepts the RBK allocation
file as a job, the worker renders and stores the seven contracts, and every stored contract
announces itself with DocumentGenerated on the broker (sent by the api process's relay)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import grpc
import pytest
from kombu import Connection, Exchange, Queue

from kim.documents.v1 import documents_pb2 as pb
from kim.documents.v1.events_pb2 import DocumentGenerated
from kimnetz.runtime import events
from kimnetz.runtime.settings import Settings
from tests.integration.documents.conftest import Call
from tests.integration.documents.inputs import all_text, rbk_allocation, struct
from tests.integration.documents.test_api import CARITAS, CLERK, violations
from tests.support import servers


@pytest.fixture(scope="module")
def worker(documents_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """`kim node worker` for the documents service of the test node, ready when it consumes."""
    log = tmp_path_factory.mktemp("documents-worker") / "worker.log"
    with servers.running_worker(documents_settings, log, {"ContractsRequested": 1}):
        yield log


@pytest.fixture
def generated_events(documents_settings: Settings) -> Iterator[Queue]:
    """A queue of this test on documents.events for DocumentGenerated, bound before anything is sent."""
    with Connection(documents_settings.amqp_uri) as connection:
        queue = Queue(
            f"test-generated-{os.getpid()}-{time.monotonic_ns()}",
            Exchange("documents.events", type="topic", durable=True),
            routing_key=events.event_type(DocumentGenerated),
            auto_delete=True,
        )
        bound = queue(connection.default_channel)
        bound.declare()
        yield bound


def wait_for_job(call: Call, job_id: str, seconds: float = 90) -> pb.BulkJob:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        job = call("GetBulkJob", pb.GetBulkJobRequest(job_id=job_id), as_user=CLERK)
        if job.state != pb.BulkJob.REQUESTED:
            return job
        time.sleep(0.3)
    pytest.fail(f"job {job_id} not finished within {seconds} s")


def test_worker_renders_the_contracts_of_an_allocation_and_announces_each(
    call: Call, worker: Path, generated_events: Queue
) -> None:
    accepted = call(
        "RequestContracts",
        pb.RequestContractsRequest(allocation_file=struct(rbk_allocation())),
        as_user=CLERK,
    )
    assert accepted.expected == 7

    job = wait_for_job(call, accepted.job_id)
    assert job.state == pb.BulkJob.DONE, job.error or worker.read_text()[-3000:]
    assert len(job.documents) == 7
    assert {d.bulk_job_id for d in job.documents} == {accepted.job_id}
    assert all(d.generated_by_username == "r.buero" for d in job.documents)

    annual = Decimal(0)
    for info in job.documents:
        content = call(
            "GetDocument", pb.GetDocumentRequest(document_id=info.document_id), as_user=CLERK
        ).content
        text = all_text(content)
        assert info.title.removeprefix("Weiterleitungsvertrag ").split(" – ")[0] in text
        amount = next(line for line in text.splitlines() if line.startswith("Jahresbetrag |"))
        annual += Decimal(
            amount.split("|")[1].strip().removesuffix("€").strip().replace(".", "").replace(",", ".")
        )
    assert annual == Decimal("385000.00")  # 7,0 VZÄ × 55.000 €

    announced: dict[str, DocumentGenerated] = {}
    deadline = time.monotonic() + 30
    while len(announced) < 7 and time.monotonic() < deadline:
        message = generated_events.get(no_ack=True, accept=[events.CONTENT_TYPE])
        if message is None:
            time.sleep(0.2)
            continue
        event = events.unpack(message.decode())
        assert isinstance(event, DocumentGenerated)
        if event.bulk_job_id == accepted.job_id:
            announced[event.document_id] = event
    assert set(announced) == {d.document_id for d in job.documents}
    assert {e.sha256 for e in announced.values()} == {d.sha256 for d in job.documents}


def test_a_bulk_request_with_bad_input_is_refused_at_once(call: Call) -> None:
    data = rbk_allocation()
    data["allocations"][3]["fte"] = 0
    with pytest.raises(grpc.RpcError) as caught:
        call("RequestContracts", pb.RequestContractsRequest(allocation_file=struct(data)), as_user=CLERK)
    assert "allocations[3].fte" in violations(caught.value)


def test_another_organisations_job_is_refused(call: Call) -> None:
    accepted = call(
        "RequestContracts",
        pb.RequestContractsRequest(allocation_file=struct(rbk_allocation())),
        as_user=CLERK,
    )
    with pytest.raises(grpc.RpcError) as caught:
        call("GetBulkJob", pb.GetBulkJobRequest(job_id=accepted.job_id), as_user=CARITAS)
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
