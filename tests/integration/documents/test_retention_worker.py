"""The documents' Löschfrist applied by a real `kim node worker` process: its timer deletes a
Fallkonferenz-Protokoll past its period (GridFS content and description with its input) and
logs it, and keeps a contract (an administrative record) of the same age."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from mongoengine.connection import get_db

from kimnetz.runtime.settings import Settings
from services.documents.repository import BUCKET, MongoDocumentsRepository
from tests.integration.documents.test_storage import record
from tests.support import servers


@pytest.fixture(scope="module")
def worker(documents_settings: Settings, documents_db: Settings,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The worker with a Löschfrist of about a minute and its timer every second."""
    log = tmp_path_factory.mktemp("documents-retention") / "worker.log"
    extra = {"KIM_DOCUMENTS_CASE_RECORD_RETENTION_DAYS": str(60 / 86400),
             "KIM_DOCUMENTS_RETENTION_INTERVAL_SECONDS": "1"}
    with servers.running_worker(documents_settings, log, {"ContractsRequested": 1}, extra):
        yield log


def test_the_worker_deletes_a_protocol_past_its_period_and_keeps_the_contract(
    worker: Path, documents_db: Settings,
) -> None:
    store = MongoDocumentsRepository(documents_db.node_id)
    old = datetime.now(UTC) - timedelta(hours=1)
    protocol = record(b"PK protocol", kind="fallkonferenz_protokoll", created_at=old)
    contract = record(b"PK contract", kind="contract", created_at=old)
    for stored in (protocol, contract):
        store.add_document(stored, b"PK" + stored.document_id.encode(), [])
    deadline = time.monotonic() + 30
    while store.document(protocol.document_id) is not None:
        assert time.monotonic() < deadline, worker.read_text()[-3000:]
        time.sleep(0.3)
    assert not get_db("documents")[f"{BUCKET}.chunks"].count_documents(
        {"files_id": f"document:{protocol.document_id}"})
    assert f"retention: fallkonferenz_protokoll {protocol.document_id}" in worker.read_text()
    assert store.document(contract.document_id) is not None, "an administrative record is kept"
