"""`kim node backup|restore` on the real MongoDB-wire server (kimctl/backup/node.py): GridFS
content comes back byte for byte, what a backup saw of writes after its cut is trimmed (a change
above a gap, audit entries after a gap, a file whose chunks are not all there), a view that lags
behind its change is brought up to it, node.env's paths point into the new KIM_HOME (also for a
file that lay outside the node's folder), and an occupied node is replaced only with force."""

from __future__ import annotations

import hashlib
import os
import uuid
from datetime import UTC, datetime
from pathlib import Path

import gridfs
import pymongo
import pytest
from bson.codec_options import CodecOptions

from kimctl import nodes
from kimctl.backup.node import BackupError, backup, restore, verify_audit
from kimnetz.runtime.settings import Settings
from services.case.audit_trail import HEAD
from services.case.domain.audit import AuditDraft, AuditEntry, seal
from services.case.read_models import CaseReadModels
from services.case.repository import audit_document, audit_trail
from tests.support import servers

PASSPHRASE = "Integrationstest-Kennwort"


def audit_entries(count: int) -> list[AuditEntry]:
    entries: list[AuditEntry] = []
    for number in range(count):
        draft = AuditDraft(datetime.now(UTC), "u1", "stadt", ("case_manager",), f"c{number}",
                           "GetCase", "Fallbearbeitung", True)
        entries.append(seal(draft, entries[-1] if entries else None))
    return entries


def stored(entry: AuditEntry) -> dict[str, object]:
    return audit_document(entry)


def change(case_id: str, version: int, status: str) -> dict[str, object]:
    return {"_id": f"{case_id}:{version}", "case_id": case_id, "version": version, "outbox": [],
            "fields": {"version": version, "status": status}, "cause": "",
            "written_at": datetime.now(UTC)}


@pytest.fixture
def old_machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, Settings, bytes]:
    node_id = f"bk-{uuid.uuid4().hex[:8]}"
    settings = Settings().model_copy(update={"node_id": node_id})
    servers.require_tcp("MongoDB-wire server (FerretDB)", settings.mongodb_uri, 27017)
    home = tmp_path / "alt"
    monkeypatch.setenv("KIM_HOME", str(home))
    folder = home / "nodes" / node_id
    (folder / "tls").mkdir(parents=True)
    (folder / "tls" / "node.key").write_bytes(b"-----BEGIN PRIVATE KEY-----\n")
    (folder / "tls" / "node.key").chmod(0o600)
    (folder / "api.pid").write_text("999999999")  # a process that ended: not running
    federation = tmp_path / "verbund.yaml"
    federation.write_text("realm: kim-test\n")
    (folder / "node.env").write_text(
        f"KIM_NODE_ID={node_id}\nKIM_TLS_DIR={folder / 'tls'}\nKIM_FEDERATION_FILE={federation}\n")
    client: pymongo.MongoClient[dict[str, object]] = pymongo.MongoClient(settings.mongodb_uri)
    content = os.urandom(600_000)
    documents = client[settings.database_name("documents")]
    gridfs.GridFSBucket(documents, bucket_name="files").upload_from_stream_with_id(
        "doc-1", "vertrag.docx", content)
    # A file deleted while the backup read it: its description is there, its chunks are not all.
    documents["files.files"].insert_one({"_id": "doc-gone", "length": 600_000, "chunkSize": 261_120,
                                         "filename": "weg.docx", "uploadDate": datetime.now(UTC)})
    documents["files.chunks"].insert_one({"files_id": "doc-gone", "n": 0, "data": b"x"})
    case = client[settings.database_name("case")]
    case["cases"].insert_one({"_id": "c1", "version": 1, "status": "a", "owner_org": "stadt-hilden",
                              "created_at": datetime.now(UTC), "person": {"name": "bleibt"}})
    # Read models that saw version 4, which the cut leaves out: derived, so not backed up.
    case["case_read_models"].insert_one({"_id": "figures", "status": {"d": 1}})
    case["case_changes"].insert_many([change("c1", 1, "a"), change("c1", 2, "b"), change("c1", 4, "d")])
    entries = audit_entries(3)
    gap = seal(AuditDraft(datetime.now(UTC), "u1", "stadt", (), "", "GetCase", "", True),
               audit_entries(4)[-1])
    # The head was read after entry 5 was appended, entry 4 not yet: it names an entry beyond the gap.
    head = {"_id": HEAD, "tail": {k: v for k, v in stored(gap).items() if k != "_id"}}
    case["audit"].insert_many([head] + [stored(e) for e in entries] + [stored(gap)])
    client.close()
    yield node_id, settings, content
    servers.drop_databases(settings)


def test_a_backup_comes_back_whole_and_cut_on_a_new_machine(
        old_machine: tuple[str, Settings, bytes], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    node_id, settings, content = old_machine
    file = tmp_path / "knoten.kimbackup"
    report = backup(node_id, file, PASSPHRASE)
    assert report.online is False
    assert report.dropped == {"case.case_changes": 1, "case.audit": 1, "documents.files.files": 1,
                              "documents.files.chunks": 1}
    assert report.audit == {"entries": 3, "intact": True, "reason": "", "head": report.audit["head"]}
    assert "config/api.pid" not in report.files and "config/tls/node.key" in report.files

    servers.drop_databases(settings)
    new_home = tmp_path / "neu"
    monkeypatch.setenv("KIM_HOME", str(new_home))
    restored = restore(file, PASSPHRASE)
    assert restored.counts_match, (restored.counts, restored.expected)
    assert restored.counts["case.case_changes"] == 2 and restored.counts["documents.files.chunks"] == 3
    assert restored.audit["intact"] and restored.audit["entries"] == 3

    client: pymongo.MongoClient[dict[str, object]] = pymongo.MongoClient(settings.mongodb_uri)
    try:
        documents = client[settings.database_name("documents")]
        back = gridfs.GridFSBucket(documents, bucket_name="files").open_download_stream("doc-1").read()
        assert hashlib.sha256(back).digest() == hashlib.sha256(content).digest()
        view = client[settings.database_name("case")]["cases"].find_one({"_id": "c1"})
        assert view is not None
        assert (view["version"], view["status"], view["person"]) == (2, "b", {"name": "bleibt"})
        # The lists and figures were built anew from the restored case at version 2.
        read_models = CaseReadModels(client.get_database(settings.database_name("case"),
                                                         codec_options=CodecOptions(tz_aware=True)))
        assert read_models.check() == []
        assert read_models.figures()["status"] == {"b": 1}
        # The head was written anew for the kept tail: the next append continues the chain.
        audit = client[settings.database_name("case")]["audit"]
        third = audit.find_one({"_id": "000000000003"})
        assert third is not None
        (appended,) = audit_trail(audit).append([AuditDraft(
            datetime.now(UTC), "u2", "stadt", ("case_manager",), "c1", "GetCase", "Fallbearbeitung", True)])
        assert appended.sequence == 4 and appended.previous_hash == third["entry_hash"]
        assert verify_audit(list(audit.find())) | {"head": ""} == {
            "entries": 4, "intact": True, "reason": "", "head": ""}
    finally:
        client.close()

    folder = new_home / "nodes" / node_id
    env = nodes.read_env_file(folder / "node.env")
    assert env["KIM_TLS_DIR"] == str(folder / "tls")
    assert env["KIM_FEDERATION_FILE"] == str(folder / "restored" / "KIM_FEDERATION_FILE" / "verbund.yaml")
    assert Path(env["KIM_FEDERATION_FILE"]).read_text() == "realm: kim-test\n"
    assert (folder / "tls" / "node.key").stat().st_mode & 0o777 == 0o600
    assert not (folder / "api.pid").exists()

    with pytest.raises(BackupError, match="--force"):
        restore(file, PASSPHRASE)
    again = restore(file, PASSPHRASE, force=True)
    assert again.counts_match and again.counts == restored.counts
