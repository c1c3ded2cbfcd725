"""GridFS on the real MongoDB-wire server (FerretDB 1.24 locally): content round trip with its
SHA-256, content larger than one chunk, and the indexes the bucket relies on."""

from __future__ import annotations

import hashlib
import os
import time
import uuid
from datetime import UTC, datetime

from mongoengine.connection import get_db

from kimnetz.runtime.settings import Settings
from services.documents.domain.events import DocumentGenerated
from services.documents.domain.ports import DocumentRecord
from services.documents.repository import BUCKET, GeneratedDocument, MongoDocumentsRepository


def record(content: bytes, **overrides: object) -> DocumentRecord:
    fields: dict[str, object] = {
        "document_id": str(uuid.uuid4()),
        "organization": "stadt-hilden",
        "kind": "contract",
        "title": "Weiterleitungsvertrag",
        "filename": "01-test.docx",
        "sha256": hashlib.sha256(content).hexdigest(),
        "size": len(content),
        "template_id": "builtin:contract",
        "template_version": 0,
        "template_sha256": "ab" * 32,
        "input_json": '{"fte": 0.5}',
        "generated_by": "subject-1",
        "generated_by_username": "r.buero",
        "created_at": datetime.now(UTC),
    }
    fields.update(overrides)
    return DocumentRecord(**fields)  # type: ignore[arg-type]


def test_gridfs_round_trip_keeps_bytes_and_sha256(documents_db: Settings) -> None:
    store = MongoDocumentsRepository(documents_db.node_id)
    # Larger than GridFS's 255 KiB chunk, so the content really spans several chunks.
    content = b"PK" + os.urandom(700_000)
    stored = record(content)
    store.add_document(stored, content, [DocumentGenerated(
        stored.document_id, stored.organization, stored.kind, stored.sha256, stored.template_id,
        stored.template_version, stored.generated_by, stored.created_at)])

    read = store.content(stored.document_id)
    assert hashlib.sha256(read).hexdigest() == stored.sha256
    assert read == content
    described = store.document(stored.document_id)
    assert described is not None
    assert (described.sha256, described.size, described.input_json) == (
        stored.sha256,
        len(content),
        '{"fte": 0.5}',
    )
    chunks = get_db("documents")[f"{BUCKET}.chunks"].count_documents(
        {"files_id": f"document:{stored.document_id}"}
    )
    assert chunks == 3
    # The event was written with the description (its outbox); the api process's relay sends it
    # with publisher confirms and only then removes it.
    deadline = time.monotonic() + 15
    while GeneratedDocument.objects(document_id=stored.document_id).first().outbox:
        assert time.monotonic() < deadline, "the DocumentGenerated event stayed in the outbox"
        time.sleep(0.2)


def test_the_bucket_has_the_indexes_gridfs_needs(documents_db: Settings) -> None:
    store = MongoDocumentsRepository(documents_db.node_id)
    content = b"PK index check"
    store.add_document(record(content), content, [])
    database = get_db("documents")
    chunk_indexes = database[f"{BUCKET}.chunks"].index_information()
    files_indexes = database[f"{BUCKET}.files"].index_information()
    unique_chunks = [i for i in chunk_indexes.values() if i["key"] == [("files_id", 1), ("n", 1)]]
    assert unique_chunks and unique_chunks[0].get("unique") is True
    assert any(i["key"] == [("filename", 1), ("uploadDate", 1)] for i in files_indexes.values())


def test_a_file_left_by_an_interrupted_attempt_is_replaced(documents_db: Settings) -> None:
    store = MongoDocumentsRepository(documents_db.node_id)
    stored = record(b"PK new")
    store.bucket.upload_from_stream_with_id(f"document:{stored.document_id}", "old.docx", b"PK old")
    store.add_document(stored, b"PK new", [])
    assert store.content(stored.document_id) == b"PK new"


def test_retention_deletes_old_case_records_with_content_and_input_and_keeps_administrative_records(
    documents_db: Settings,
) -> None:
    from datetime import timedelta

    from kimnetz.runtime.audit import MemoryAuditSink
    from services.documents.service import DocumentsService

    store = MongoDocumentsRepository(documents_db.node_id)
    now = datetime.now(UTC)
    old = now - timedelta(days=40)
    protocol = record(b"PK protocol", kind="fallkonferenz_protokoll", created_at=old,
                      input_json='{"items": [{"pseudonym": "KIM-2026-GEHEIM"}]}')
    recent = record(b"PK recent", kind="fallkonferenz_protokoll", created_at=now - timedelta(days=2))
    contract = record(b"PK contract", kind="contract", created_at=old)
    for stored in (protocol, recent, contract):
        store.add_document(stored, b"PK" + stored.document_id.encode(), [])
    audit = MemoryAuditSink()
    deleted = DocumentsService(store, audit=audit).apply_retention(timedelta(days=30), now=now)

    assert protocol.document_id in {d.document_id for d in deleted}
    assert recent.document_id not in {d.document_id for d in deleted}
    assert store.document(protocol.document_id) is None
    database = get_db("documents")
    file_id = f"document:{protocol.document_id}"
    assert not database[f"{BUCKET}.files"].count_documents({"_id": file_id})
    assert not database[f"{BUCKET}.chunks"].count_documents({"files_id": file_id})
    assert not database["generated_documents"].count_documents({"input_json": {"$regex": "GEHEIM"}})
    # The recent protocol (within its period) and the contract (an administrative record) stay.
    assert store.document(recent.document_id) is not None and store.document(contract.document_id) is not None
    assert store.content(contract.document_id) == b"PK" + contract.document_id.encode()
    [event] = [e for e in audit.events if protocol.document_id in e.reason]
    assert (event.kind, event.outcome, event.action) == ("retention", "deleted", "DocumentRetention")
    assert "KIM-2026-GEHEIM" not in event.reason
