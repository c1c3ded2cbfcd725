"""The erase request is never lost (issue 12, item 4): a `ConsentRevoked` that reaches the
conference worker while its database is stopped is retried with back-off and erased and
confirmed once the database is back (`CaseDataErased` in the erasure's outbox, once). The
database is a private FerretDB (tests/support/faults.py), never the shared one."""

from __future__ import annotations

import uuid
from pathlib import Path

import pymongo

from kim.case.v1 import events_pb2 as case_events
from kimnetz.runtime import events
from kimnetz.runtime.amqp import Publisher
from kimnetz.runtime.settings import Settings
from tests.support import faults, servers, signing
from tests.support.waiting import polled

KREIS = "kreis-mettmann"
HILDEN = "stadt-hilden"


def test_an_erase_request_while_the_database_is_stopped_is_erased_and_confirmed_once_it_is_back(
        node_settings: Settings, tmp_path: Path) -> None:
    database = faults.PrivateFerretDB(tmp_path / "ferretdb")
    database.start()
    base = servers.isolated_settings()
    settings = base.model_copy(update={"mongodb_uri": database.uri, "grpc_services": "conference",
                                       "organization_id": KREIS})
    servers.create_vhost(settings)
    log = tmp_path / "worker.log"
    extra = {"KIM_GRPC_SERVICES": "conference", "KIM_ORGANIZATION_ID": KREIS,
             "KIM_EVENT_RETRY_FIRST_MS": "300", "KIM_EVENT_RETRY_MAX_MS": "2000"}
    worker = faults.start_worker(settings, log, {"ConsentRevoked": 1}, extra)
    client: pymongo.MongoClient[dict[str, object]] = pymongo.MongoClient(
        database.uri, serverSelectionTimeoutMS=5000)
    try:
        case_id, consent_id = str(uuid.uuid4()), f"consent-{uuid.uuid4().hex[:6]}"
        revocation = case_events.ConsentRevoked(case_id=case_id, pseudonym="KIM-OUTAGE", owner_org=HILDEN,
                                                consent_id=consent_id, recipient_org=KREIS)
        envelope = events.pack(revocation, source_service="case", source_node=HILDEN)
        # The erase request comes signed from the Stadt's node, which the directory lists.
        signing.trust(settings, {HILDEN: (HILDEN, "municipality")})
        database.stop()
        with Publisher(settings.amqp_uri) as publisher:
            publisher.publish("case.events", envelope.type, signing.signed_body(envelope), envelope.id)
        retried = f"event {envelope.id} failed for a passing reason"
        assert polled(lambda: log.read_text().count(retried) >= 2, 60), log.read_text()[-3000:]
        database.start()
        erasures = client[settings.database_name("conference")]["erasures"]
        confirmed = {"erasure_id": f"{case_id}:{consent_id}", "confirmed": 1}
        assert polled(lambda: erasures.count_documents(confirmed) == 1, 90), log.read_text()[-3000:]
        # The worker logs after its write: wait for the line rather than race it.
        assert polled(lambda: f"erase request {envelope.id} for case {case_id} erased"
                          in log.read_text(), 30), log.read_text()[-3000:]
        changes = client[settings.database_name("conference")]["erasure_changes"]
        confirmations = [entry for change in changes.find({"aggregate_id": f"{case_id}:{consent_id}"})
                         for entry in change.get("outbox", [])
                         if entry["routing_key"] == "kim.conference.v1.CaseDataErased"]
        assert len(confirmations) == 1, "confirmed once, however often the request was delivered"
        dead = client[settings.database_name("node")]["dead_letters"].count_documents({})
        assert dead == 0
    finally:
        client.close()
        faults.stop_worker(worker)
        database.stop()
        servers.broker_admin(settings).delete_vhost(settings.node_id)
