"""Backup and restore of a node while it works (issue 17, item 2; docs/operations.md).

Three real nodes of a federation of their own (tests/e2e/story_support.py). The Stadt Hilden's
case manager proposes cases through the Stadt node's api in a thread while `kim node backup`
copies that node. Then the node is wiped as a lost machine would be: stopped, its databases
dropped, its folder under KIM_HOME removed. While it is gone the Kreis sends it an event (a
node probe, which every service worker of the Stadt receipts once per event id). `kim node
restore` brings the backup up under a new, empty KIM_HOME, and after `kim node up`:

- every case whose proposal was acknowledged before the backup's cut is there;
- the counts in the databases are the archive's, and the audit chain verifies (the restore's
  own check and the data protection officer's VerifyAuditChain, also after a new write);
- the Kreis's event sent while the node was away arrives once at every service;
- an event the node took before the backup, delivered again after the restore, is known as a
  redelivery (its once-per-event record came back with the backup: the probe's receipt counts a
  second delivery instead of a second receipt);
- a second restore onto the now occupied node is refused without --force.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import grpc
import pymongo
import pytest

from kim.case.v1 import case_pb2
from kim.node.v1.probe_pb2 import ProbeRequested
from kimctl import nodes
from kimctl.backup.node import read_manifest
from kimctl.nodecheck import node_alias, wait_for_receipts
from kimctl.story import KREIS, STADT, STADT_CASE_MANAGER, Actor, Api
from kimnetz.runtime import events, node
from kimnetz.runtime.amqp import Publisher
from kimnetz.runtime.event_trust import EnvelopeSigner
from kimnetz.runtime.settings import Settings
from tests.e2e.story_support import NODE_EXTRA, ThreeNodes, duldung_proposal, three_nodes
from tests.support import servers

PASSPHRASE = "Sicherung der Stadt Hilden 2026"
KIM = str(Path(sys.executable).with_name("kim"))
STADT_DATA_PROTECTION = Actor(STADT, "j.datenschutz", "Datenschutz", "prüft das Zugriffsprotokoll")


#: The proposals' Duldung ends long after the test.
UNTIL = date(2030, 1, 31)


@pytest.fixture(scope="module")
def federation(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreeNodes]:
    with three_nodes(tmp_path_factory) as running:
        yield running


class Writer(threading.Thread):
    """Proposes cases one after the other until stopped; keeps (acknowledged at, case id) of
    every proposal the api acknowledged."""

    def __init__(self, case_api: object) -> None:
        super().__init__(daemon=True)
        self.case_api = case_api
        self.acknowledged: list[tuple[datetime, str]] = []
        self.refused: list[str] = []
        self.stop = threading.Event()

    def run(self) -> None:
        number = 0
        while not self.stop.is_set():
            number += 1
            try:
                reply = self.case_api.ProposeCase(duldung_proposal(f"Sicherung{number}", duldung_until=UNTIL))  # type: ignore[attr-defined]
            except grpc.RpcError as error:
                self.refused.append(f"{error.code().name}: {error.details()}")
                if error.code() == grpc.StatusCode.INVALID_ARGUMENT:
                    return  # the request is wrong: no use trying again
                continue
            self.acknowledged.append((datetime.now(UTC), reply.case_id))

    def wait_for(self, count: int, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while len(self.acknowledged) < count:
            assert self.is_alive(), self.refused[-3:]
            assert time.monotonic() < deadline, (len(self.acknowledged), self.refused[-3:])
            time.sleep(0.2)


def kim(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KIM_HOME": str(home), "KIM_BACKUP_PASSPHRASE": PASSPHRASE, "COLUMNS": "200"}
    return subprocess.run([KIM, *args], env=env, capture_output=True, text=True, timeout=600, check=False)


def signed_probe(sender: Settings) -> tuple[str, str, bytes]:
    """(probe id, event id, body) of a probe signed with the sender's key, as its relay sends it."""
    message = ProbeRequested(probe_id=f"vorher-{uuid.uuid4().hex[:8]}", requested_by="vor der Sicherung")
    envelope = events.pack(message, source_service="node", source_node=sender.node_id)
    signed = EnvelopeSigner.from_tls_dir(sender.tls_dir).sign_envelope(envelope)
    return message.probe_id, envelope.id, signed.SerializeToString()


def publish(sender: Settings, event_id: str, body: bytes) -> None:
    with Publisher(sender.amqp_uri) as publisher:
        publisher.publish("node.events", events.event_type(ProbeRequested), body, message_id=event_id)


def deliveries(probe_id: str, receiver: Settings, expected: int, timeout: float = 90) -> dict[str, int]:
    deadline = time.monotonic() + timeout
    while True:
        counts = wait_for_receipts(probe_id, receiver, timeout=timeout)
        if all(counts.get(s) == expected for s in receiver.served_services) or time.monotonic() > deadline:
            return counts
        time.sleep(0.5)


def stored_counts(mongodb_uri: str, node_id: str, manifest: dict[str, object]) -> dict[str, int]:
    client: pymongo.MongoClient[dict[str, object]] = pymongo.MongoClient(mongodb_uri)
    try:
        databases = manifest["databases"]
        assert isinstance(databases, dict)
        return {f"{kind}.{collection}": client[entry["name"]][collection].count_documents({})
                for kind, entry in databases.items() for collection in entry["collections"]}
    finally:
        client.close()


def test_a_node_backed_up_while_writing_comes_back_on_a_fresh_machine(
        federation: ThreeNodes, tmp_path: Path) -> None:
    stadt_id, home = federation.ids[STADT], federation.home
    stadt, kreis = federation.settings[STADT], federation.settings[KREIS]
    api = Api(federation.token)
    case_api = api.case(federation.node(STADT), STADT_CASE_MANAGER)
    backup_file = tmp_path / "stadt.kimbackup"
    fresh = tmp_path / "neue-maschine"

    # An event the Stadt takes before the backup.
    earlier_probe, earlier_id, earlier_body = signed_probe(kreis)
    publish(kreis, earlier_id, earlier_body)
    assert deliveries(earlier_probe, stadt, 1) == {s: 1 for s in stadt.served_services}

    writer = Writer(case_api)
    writer.start()
    try:
        writer.wait_for(5)
        made = kim("node", "backup", stadt_id, "--to", str(backup_file), home=home)
        assert made.returncode == 0, made.stdout + made.stderr
        after_backup = len(writer.acknowledged)
        writer.wait_for(after_backup + 2)  # still writing when the backup ended
    finally:
        writer.stop.set()
        writer.join(60)
    assert "im laufenden Betrieb" in made.stdout and "Kette geprüft und intakt" in made.stdout, made.stdout

    manifest = read_manifest(backup_file, PASSPHRASE)
    cut = datetime.fromisoformat(str(manifest["cut"]))
    before_cut = [case_id for at, case_id in writer.acknowledged if at < cut]
    during_backup = [case_id for at, case_id in writer.acknowledged[:after_backup] if at >= cut]
    assert len(before_cut) >= 5
    assert during_backup, "no proposal was acknowledged while the backup read the node"
    assert manifest["node"] == stadt_id and manifest["online"] is True
    print(f"\n[backup] {len(before_cut)} proposals acknowledged before the cut, {len(during_backup)} "
          f"while the backup ran, {len(writer.acknowledged)} in all\n{made.stdout}")

    # The machine is lost: processes, databases and the node's folder.
    federation.down(STADT)
    servers.drop_databases(stadt)
    shutil.rmtree(home / "nodes" / stadt_id)
    # The Kreis sends the Stadt an event while it is gone.
    probe = node.request_probe(kreis, requested_by="Stadt ausgefallen", alias=node_alias(kreis))

    restored = kim("node", "restore", str(backup_file), home=fresh)
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert "Kette geprüft und intakt" in restored.stdout, restored.stdout
    assert (fresh / "nodes" / stadt_id / "node.env").exists()
    assert stored_counts(stadt.mongodb_uri, stadt_id, manifest) == {
        f"{kind}.{collection}": described["count"]
        for kind, entry in manifest["databases"].items()  # type: ignore[attr-defined]
        for collection, described in entry["collections"].items()}
    again = kim("node", "restore", str(backup_file), home=fresh)
    assert again.returncode == 1 and "--force" in again.stdout, again.stdout

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KIM_HOME", str(fresh))
        try:
            restarted = nodes.up(stadt_id, extra=NODE_EXTRA)
            env = nodes.read_env_file(fresh / "nodes" / stadt_id / "node.env")
            assert env["KIM_TLS_DIR"] == str(fresh / "nodes" / stadt_id / "tls")
            assert env["KIM_FEDERATION_FILE"].startswith(str(fresh))

            for case_id in before_cut:
                case = case_api.GetCase(case_pb2.GetCaseRequest(case_id=case_id))
                assert case.case_id == case_id

            assert wait_for_receipts(probe.probe_id, restarted, timeout=90) == {
                service: 1 for service in restarted.served_services}
            publish(kreis, earlier_id, earlier_body)  # a peer's relay sends it again
            assert deliveries(earlier_probe, restarted, 2) == {s: 2 for s in restarted.served_services}

            audit = api.case(federation.node(STADT), STADT_DATA_PROTECTION)
            verified = audit.VerifyAuditChain(case_pb2.VerifyAuditChainRequest())
            assert verified.intact, verified.reason
            case_api.ProposeCase(duldung_proposal("NachDerWiederherstellung", duldung_until=UNTIL))
            verified_after = audit.VerifyAuditChain(case_pb2.VerifyAuditChainRequest())
            assert verified_after.intact and verified_after.checked > verified.checked, verified_after
        finally:
            nodes.down(stadt_id)
            api.close()
