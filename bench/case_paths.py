"""Hot paths of the case service on a federation member node, with real tokens of brokered
logins: GetCase, ProposeCase (one client and 8 concurrent ones); `CaseNode` also seeds the
agenda's three nodes (bench/agenda_paths.py) and the scale part."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import grpc
from pymongo import MongoClient
from pymongo.collection import Collection

from bench.federation import BenchFederation
from bench.measure import CONCURRENT_WRITERS, GET_CASE, PROPOSE_CASE, Row, Sample, sample, summed
from bench.runtime_paths import grpc_echo
from kim.case.v1 import case_pb2, case_pb2_grpc, types_pb2 as T
from kimnetz.runtime.proto_mapping import to_proto_date
from kimnetz.runtime.settings import Settings

OWNER = "stadt-hilden"
COORDINATION = "kreis-mettmann"
PURPOSE = "Fallbearbeitung"


def proposal(number: int) -> case_pb2.ProposeCaseRequest:
    """A valid proposal (as the case api tests send them); the name varies so no two are alike."""
    born = date.today().replace(year=date.today().year - 34) - timedelta(days=10 + number % 300)
    return case_pb2.ProposeCaseRequest(
        coordination_org=COORDINATION, proposer_kind=T.PROPOSER_KIND_CASE_MANAGER,
        proposer_unit="Integrationsbüro",
        reason="Ausbildung scheitert an Duldung; Jobcenter und ABH stimmen sich nicht ab.",
        handlungsfelder=[T.HANDLUNGSFELD_AUFENTHALT_IDENTITAET, T.HANDLUNGSFELD_AUSBILDUNG],
        rechtskreise=[T.RECHTSKREIS_AUFENTHG, T.RECHTSKREIS_SGB_III],
        person=case_pb2.Person(
            given_name=f"Amina{number}", family_name="Haddad",
            birth_date=to_proto_date(born),
            nationalities=["SY"], country_of_origin="SY",
            residence=case_pb2.ResidenceStatus(kind=T.RESIDENCE_STATUS_KIND_DULDUNG,
                                               legal_basis="§ 60a AufenthG"),
            languages=["ar", "de"], household_adults=1, household_children=2),
    )


@dataclass
class CaseNode:
    """A node's case api as its clients see it, and its database as the floor sees it; cases
    are proposed by the organisation's test user with `role` (the Kreis has no case manager: its
    coordinator proposes)."""

    settings: Settings
    federation: BenchFederation
    channel: grpc.Channel
    mongo: MongoClient[dict[str, Any]]
    organization: str = OWNER
    role: str = "case_manager"

    @classmethod
    def open(cls, settings: Settings, federation: BenchFederation, organization: str = OWNER,
             role: str = "case_manager") -> CaseNode:
        return cls(settings, federation, grpc.insecure_channel(f"127.0.0.1:{settings.grpc_port}"),
                   MongoClient(settings.mongodb_uri), organization, role)

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.settings.grpc_port}"

    @property
    def stub(self) -> case_pb2_grpc.CaseServiceStub:
        return case_pb2_grpc.CaseServiceStub(self.channel)  # type: ignore[no-untyped-call]

    def cases(self) -> Collection[dict[str, Any]]:
        return self.mongo[self.settings.database_name("case")]["cases"]

    def as_manager(self) -> tuple[tuple[str, str], ...]:
        return self.federation.metadata(self.organization, self.role)

    def propose(self, count: int, start: int = 0) -> list[str]:
        stub = self.stub  # metadata per call: seeding can outlive one token (5 minutes)
        return [stub.ProposeCase(proposal(start + i), metadata=self.as_manager(), timeout=10).case_id
                for i in range(count)]

    def submit(self, case_ids: list[str]) -> None:
        """Hand proposals to the Kreis' koordinierende Stelle (in review), with the person's
        consent to the Fallkonferenz: only submitted proposals reach the agenda. The Kreis's
        own cases need no consent (it coordinates them itself)."""
        stub = self.stub
        signed, expires = date.today() - timedelta(days=1), date.today() + timedelta(days=365)
        for case_id in case_ids:
            metadata = self.as_manager()  # per case: seeding can outlive one token
            if self.organization != COORDINATION:
                self._consent(stub, case_id, signed, expires, metadata)
            stub.SubmitForReview(case_pb2.SubmitForReviewRequest(case_id=case_id), metadata=metadata,
                                 timeout=10)

    @staticmethod
    def _consent(stub: case_pb2_grpc.CaseServiceStub, case_id: str, signed: date, expires: date,
                 metadata: tuple[tuple[str, str], ...]) -> None:
        stub.RecordConsent(case_pb2.RecordConsentRequest(
            case_id=case_id, kind=T.CONSENT_KIND_SCHWEIGEPFLICHTENTBINDUNG, recipient_org=COORDINATION,
            purposes=[T.CONSENT_PURPOSE_FALLKONFERENZ], categories=[T.DATA_CATEGORY_FALLDOKUMENTATION],
            signed_on=to_proto_date(signed),
            expires_on=to_proto_date(expires),
        ), metadata=metadata, timeout=10)

    def clone(self, case_id: str, count: int, start: int, **overrides: Any) -> list[str]:
        """`count` copies of a stored case, each with its own id, pseudonym and creation time
        (and `overrides` of its indexed fields), written with insert_many: the case document as
        `MongoCaseRepository` stores it (indexed copies, state, person, figures). Proposals
        through the api cost three audited, versioned writes each on FerretDB; the reads the
        bench measures see clones exactly as they see cases written through the api."""
        cases = self.cases()
        template = cases.find_one({"_id": case_id})
        assert template is not None, f"case {case_id} to clone is missing"
        ids: list[str] = []
        for first in range(0, count, 1000):
            batch = [clone(template, number, **overrides)
                     for number in range(start + first, start + min(count, first + 1000))]
            cases.insert_many(batch, ordered=False)
            ids += [d["_id"] for d in batch]
        return ids

    def close(self) -> None:
        self.channel.close()
        self.mongo.close()


CLONED_FROM = datetime(2020, 1, 1, tzinfo=UTC)


def clone(template: dict[str, Any], number: int, **overrides: Any) -> dict[str, Any]:
    """A copy of the stored case `template` as case number `number`: its own id, pseudonym and
    creation time, `overrides` applied to the indexed copies and to the state alike."""
    case_id = str(uuid.uuid4())
    created = CLONED_FROM + timedelta(seconds=number)
    values = {"case_id": case_id, "pseudonym": f"B-{number:07d}", "created_at": created,
              "updated_at": created, **overrides}
    document = {**template, "_id": case_id}
    state = dict(template["state"])
    for key, value in values.items():
        if key != "case_id":
            document[key] = value
        if key in state:  # the state holds the same values in its own encoding
            state[key] = value.isoformat() if isinstance(state[key], str) and isinstance(value, datetime) \
                else value
    document["state"] = state
    return document


def get_case(node: CaseNode, echo_target: str, count: int) -> Row:
    case_id = node.propose(1, start=900_000)[0]
    stub = node.stub
    request = case_pb2.GetCaseRequest(case_id=case_id, purpose=PURPOSE)
    project = sample(lambda: stub.GetCase(request, metadata=node.as_manager(), timeout=30), count)
    echo = grpc_echo(echo_target, count)
    cases = node.cases()
    find = sample(lambda: cases.find_one({"_id": case_id}, {"person": 0}), count)
    return Row.of("GetCase (brokered token of a case manager, member node: token, organisation, "
                  "authorisation, audit entry, Mongo read)", "bare grpcio echo + bare pymongo find_one "
                  "(sum)", project, summed(echo, find), GET_CASE)


def _floor_document(node: CaseNode) -> dict[str, Any]:
    """A stored case with its person: what a bare insert writes is as big as what the api writes."""
    document = node.cases().find_one({"owner_org": OWNER})
    assert document is not None, "no case to copy for the floor"
    return document


def propose_case(node: CaseNode, echo_target: str, count: int) -> Row:
    stub = node.stub
    numbers = iter(range(1_000_000, 2_000_000))
    project = sample(lambda: stub.ProposeCase(proposal(next(numbers)), metadata=node.as_manager(),
                                              timeout=10), count)
    template = _floor_document(node)
    floor_collection = node.mongo[f"{node.settings.database_name('case')}"]["bench_floor"]
    try:
        floor = sample(lambda: floor_collection.insert_one({**template, "_id": uuid.uuid4().hex}), count)
    finally:
        floor_collection.drop()
    echo = grpc_echo(echo_target, count)
    # What one command must at least cost: one call and one write (issue 15, item 5).
    return Row.of("ProposeCase (validation, write of case and change, outbox, audit)",
                  "bare grpcio echo + bare pymongo insert_one of the same document (sum)", project,
                  summed(echo, floor), PROPOSE_CASE)


def _concurrent(make: Callable[[], Callable[[], object]], close: Callable[[Any], None], clients: int,
                per_client: int, max_seconds: float, failures: list[str] | None = None) -> Sample:
    """`clients` threads, each with its own connection from `make`, each running its operation
    up to `per_client` times within `max_seconds`; latencies of the successful ones, wall of
    the whole. A failed operation is counted into `failures` (its message), not timed."""
    latencies: list[float] = []
    failed: list[str] = [] if failures is None else failures
    lock = threading.Lock()
    ready = threading.Barrier(clients + 1)
    operations = [make() for _ in range(clients)]

    def attempt(operation: Callable[[], object]) -> bool:
        try:
            operation()
        except grpc.RpcError as error:
            with lock:
                failed.append(f"{error.code().name}: {error.details()}")
            return False
        return True

    def client(operation: Callable[[], object]) -> None:
        try:
            for _ in range(3):
                attempt(operation)
        finally:
            ready.wait()  # every thread reaches the start, even after a failed warm-up
        mine: list[float] = []
        started = time.perf_counter()
        while len(mine) < per_client and time.perf_counter() - started < max_seconds:
            begin = time.perf_counter()
            if attempt(operation):
                mine.append(time.perf_counter() - begin)
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client, args=(op,)) for op in operations]
    for thread in threads:
        thread.start()
    ready.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    for operation in operations:
        close(operation)
    return Sample(tuple(latencies), wall)


def concurrent_writes(node: CaseNode, clients: int, per_client: int, max_seconds: float,
                      notes: list[str]) -> Row:
    metadata = node.as_manager()
    numbers = iter(range(2_000_000, 3_000_000))
    lock = threading.Lock()

    def next_number() -> int:
        with lock:
            return next(numbers)

    channels: list[grpc.Channel] = []

    def api_client() -> Callable[[], object]:
        channel = grpc.insecure_channel(node.target)  # each client its own channel
        channels.append(channel)
        stub = case_pb2_grpc.CaseServiceStub(channel)  # type: ignore[no-untyped-call]
        return lambda: stub.ProposeCase(proposal(next_number()), metadata=metadata, timeout=30)

    failures: list[str] = []
    project = _concurrent(api_client, lambda _: None, clients, per_client, max_seconds, failures)
    for channel in channels:
        channel.close()

    template = _floor_document(node)
    database, uri = node.settings.database_name("case"), node.settings.mongodb_uri
    mongos: list[MongoClient[dict[str, Any]]] = []

    def mongo_client() -> Callable[[], object]:
        client: MongoClient[dict[str, Any]] = MongoClient(uri)  # each client its own connection
        mongos.append(client)
        collection = client[database]["bench_floor"]
        return lambda: collection.insert_one({**template, "_id": uuid.uuid4().hex})

    try:
        floor = _concurrent(mongo_client, lambda _: None, clients, per_client, max_seconds)
    finally:
        node.mongo[database]["bench_floor"].drop()
        for client in mongos:
            client.close()
    refused = ""
    if failures:
        common = max(set(failures), key=failures.count)
        refused = f"; {len(failures)} calls refused, mostly {common!r}"
        notes.append(f"ProposeCase with {clients} concurrent clients: {len(failures)} calls failed "
                     f"(the rest timed), e.g. {common!r}.")
    return Row.of(f"ProposeCase sustained, {clients} concurrent clients (own channel each{refused})",
                  f"bare insert_one, {clients} concurrent clients (own connection each)",
                  project, floor, CONCURRENT_WRITERS)
