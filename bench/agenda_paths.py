"""The Fallkonferenz agenda across three nodes (issue 8, path 5): the Kreis node and two member
nodes (Stadt Hilden, Caritas) as real node processes of the bench's federation, set up as
`kim demo` and tests/e2e/story_support.py set up theirs (`kim node init` with federation file
and mutual-TLS port, RabbitMQ federation links as kimctl/demo.py's, every node entered into the
Kreis's directory by the Kreis's node administrator); about 200 submitted proposals spread over
the three; BuildAgenda at the Kreis (coordinator) vs the sum of the bare brief fetches it needs:
the Kreis's own ListCases pages plus one CaseFederation/GetCaseBriefs call per member node over
mutual TLS with the Kreis's certificate and service account.

Seeding: a few proposals per node go through the api (propose, consent, submit); the rest are
clones of the first (`CaseNode.clone`). A clone's Fallvorschlag reaches the Kreis's registry the
way the api's does: the clone gets the change document the case service writes on
SubmitForReview (`<case id>:<version>`, the case's fields, the `CaseSubmittedForReview` event
built by the case service's own domain and contract code in its outbox), and the member node's
outbox relay publishes it; RabbitMQ federation carries it to the Kreis, whose conference worker
registers it. The bench waits until the Kreis's registry holds every proposal.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from bson import Binary
from pymongo import MongoClient
from pymongo.collection import Collection

from bench.case_paths import COORDINATION, CaseNode
from bench.federation import BenchFederation
from bench.measure import Row, Sample, sample, summed
from bench.runtime_paths import grpc_echo
from kim.case.v1 import case_pb2, federation_pb2, types_pb2 as T
from kim.conference.v1 import conference_pb2, conference_pb2_grpc, types_pb2 as CT
from kimctl import nodes
from kimctl.demo import DEMO_LINKS
from kimctl.story import CARITAS, KREIS, STADT
from kimnetz.runtime import events
from kimnetz.runtime.federation import FederationClient
from kimnetz.runtime.proto_mapping import to_proto_date, to_proto_timestamp
from kimnetz.runtime.settings import Settings
from services.case import SERVICE, contract
from services.case.codec import from_primitive
from services.case.domain.brief import build_brief
from services.case.domain.case import Case
from services.case.domain.events import CaseSubmittedForReview
from services.case.domain.person import Person

ORGANIZATIONS = (KREIS, STADT, CARITAS)
#: Who proposes on each node: the Kreis has no case manager, its coordinator proposes.
PROPOSER_ROLE = {KREIS: "coordinator", STADT: "case_manager", CARITAS: "case_manager"}
GET_CASE_BRIEFS = "/kim.case.v1.CaseFederation/GetCaseBriefs"
FALLKONFERENZ = "Fallkonferenz"
#: Numbers of the cloned cases per node (their pseudonyms B-<number>), apart from each other's.
CLONE_START = {KREIS: 5_000_000, STADT: 6_000_000, CARITAS: 7_000_000}
#: Fields of the stored case that the case service writes into a change (repository `_fields`).
CHANGE_FIELDS = ("pseudonym", "owner_org", "access_orgs", "status", "zielgruppe", "case_manager",
                 "next_review_due", "created_at", "updated_at", "state", "figures")


def node_ids(prefix: str) -> dict[str, str]:
    """Organisation -> the agenda's node id (apart from the runtime part's `<prefix>-kreis`)."""
    return {KREIS: f"{prefix}-fk-kreis", STADT: f"{prefix}-fk-hilden", CARITAS: f"{prefix}-fk-caritas"}


@dataclass
class AgendaNodes:
    ids: dict[str, str]
    settings: dict[str, Settings]
    cases: dict[str, CaseNode]
    #: The submitted proposals `run` seeded, per organisation (the scale part builds on them).
    proposals: dict[str, list[str]] = field(default_factory=dict)

    def close(self) -> None:
        for node in self.cases.values():
            node.close()


def start(ids: dict[str, str], ports: dict[str, int], kreis_peer_port: int, peer_ports: dict[str, int],
          federation: BenchFederation, base: Settings, started: list[str],
          status: Callable[[str], Any]) -> AgendaNodes:
    """Init, link, start and join the three nodes (`started` gets each node that runs, for the
    caller's clean-up). `ports`: each node's gRPC port as the federation file names it."""
    for organization in ORGANIZATIONS:
        kreis = organization == KREIS
        nodes.init(nodes.NodeSpec(
            ids[organization], organization, ports[organization], federation.path,
            kreis_peer_port if kreis else peer_ports[organization],
            "" if kreis else f"127.0.0.1:{kreis_peer_port}"), base)
    # kimctl/demo.py's links: the demo's node ids are the organisations' aliases.
    for receiver, senders in DEMO_LINKS.items():
        for sender in senders:
            nodes.link(ids[receiver], ids[sender])
    settings: dict[str, Settings] = {}
    for organization in ORGANIZATIONS:
        with status(f"starting agenda node {ids[organization]}"):
            settings[organization] = nodes.up(ids[organization])
        started.append(ids[organization])
    admin = federation.token(KREIS, "node_admin")
    for organization in ORGANIZATIONS:
        nodes.join(ids[organization], admin)
    cases = {o: CaseNode.open(settings[o], federation, o, PROPOSER_ROLE[o]) for o in ORGANIZATIONS}
    return AgendaNodes(ids, settings, cases)


def stop(agenda: AgendaNodes, started: list[str]) -> None:
    agenda.close()
    for node_id in agenda.ids.values():
        nodes.down(node_id)
        if node_id in started:
            started.remove(node_id)


# --- seeding -------------------------------------------------------------------------------------

def submission_change(document: dict[str, Any], node_id: str, now: datetime) -> dict[str, Any]:
    """The change the case service writes when the stored case `document` is submitted for
    review (services/case/repository.py `_change`, service `_with_brief`): its fields at its
    version and the `CaseSubmittedForReview` with the pseudonymised brief in its outbox."""
    case = from_primitive(Case, dict(document["state"]))
    person = from_primitive(Person, dict(document["person"]))
    today = now.date()
    consent_id = "" if case.coordination_org == case.owner_org else \
        case.conference_coverage(case.coordination_org, today).consent_ids[0]
    event = CaseSubmittedForReview(
        case_id=case.case_id, pseudonym=case.pseudonym, owner_org=case.owner_org, occurred_at=now,
        coordination_org=case.coordination_org, conference_orgs=(), consent_id=consent_id,
        brief=build_brief(case, person, today))
    envelope = events.pack(contract.event_message(event, node_id), source_service=SERVICE,
                           source_node=node_id, correlation_id=case.case_id)
    version = int(document["version"])
    fields = {name: document[name] for name in CHANGE_FIELDS if document.get(name) is not None}
    return {
        "_id": f"{case.case_id}:{version}", "case_id": case.case_id, "version": version,
        "fields": {**fields, "version": version}, "cause": "", "written_at": now,
        "outbox": [{"event_id": envelope.id, "exchange": events.exchange_name(SERVICE),
                    "routing_key": envelope.type, "body": Binary(envelope.SerializeToString()),
                    "recorded_at": now}],
    }


def seed(node: CaseNode, organization: str, count: int, through_api: int) -> list[str]:
    """`count` submitted proposals on the node: `through_api` through the api, the rest clones of
    the first whose submissions the node's relay publishes (module docstring)."""
    submitted = node.propose(through_api, start=CLONE_START[organization] - 1000)
    node.submit(submitted)
    clones = node.clone(submitted[0], count - through_api, start=CLONE_START[organization])
    now = datetime.now(UTC)
    documents = list(node.cases().find({"_id": {"$in": clones}}))
    changes = node.mongo[node.settings.database_name("case")]["case_changes"]
    changes.insert_many([submission_change(d, node.settings.node_id, now) for d in documents])
    return submitted + clones


def registered(kreis: Settings, expected: int, timeout: float) -> int:
    """How many Fallvorschläge the Kreis's registry holds, once it holds `expected` or after
    `timeout` seconds (polled every second: the count is a scan on FerretDB)."""
    mongo: MongoClient[dict[str, Any]]
    with MongoClient(kreis.mongodb_uri) as mongo:
        proposals: Collection[dict[str, Any]] = mongo[kreis.database_name("conference")]["proposals"]
        deadline = time.monotonic() + timeout
        while True:
            count = proposals.count_documents({"coordination_org": COORDINATION})
            if count >= expected or time.monotonic() > deadline:
                return count
            time.sleep(1.0)


# --- the measurement -----------------------------------------------------------------------------

def measure(agenda: AgendaNodes, seeded: dict[str, list[str]], rounds: int, echo_target: str,
            notes: list[str]) -> list[Row]:
    """`rounds` timed rounds after one warm-up round; each round builds the agenda of a newly
    scheduled Fallkonferenz (scheduling untimed) and then takes the bare fetches one after the
    other, so both sides see the same audit trails and registry sizes."""
    kreis = agenda.cases[KREIS]
    federation = kreis.federation
    conference = conference_pb2_grpc.ConferenceServiceStub(kreis.channel)  # type: ignore[no-untyped-call]
    coordinator = federation.users.holder_of(KREIS, "coordinator")
    client = FederationClient.from_settings(nodes.node_settings(agenda.ids[KREIS]))
    assert client is not None, "the Kreis node has no federation port"
    members = (STADT, CARITAS)
    review_day = (datetime.now(UTC) + timedelta(days=30)).date()

    def build(number: int) -> conference_pb2.BuildAgendaResponse:
        metadata = federation.metadata(COORDINATION, "coordinator")
        day = (datetime.now(UTC) + timedelta(days=30 + number)).replace(microsecond=0)
        scheduled = conference.ScheduleConference(conference_pb2.ScheduleConferenceRequest(
            starts_at=to_proto_timestamp(day), place="Kreishaus Mettmann, Raum 101",
            participants=[conference_pb2.Participant(person=coordinator, name="Bench",
                                                     role=CT.PARTICIPANT_ROLE_COORDINATOR,
                                                     organisation=COORDINATION)]),
            metadata=metadata, timeout=30)
        begin = time.perf_counter()
        built: conference_pb2.BuildAgendaResponse = conference.BuildAgenda(
            conference_pb2.BuildAgendaRequest(conference_id=scheduled.conference_id),
            metadata=metadata, timeout=120)
        timings["build"].append(time.perf_counter() - begin)
        return built

    def pages() -> list[str]:
        """The ListCases calls of services/conference/case_client.py at the Kreis, made bare."""
        metadata = federation.metadata(COORDINATION, "coordinator")
        ids: list[str] = []
        begin = time.perf_counter()
        for statuses, due in (([T.CASE_STATUS_IN_REVIEW], None), ([T.CASE_STATUS_ACTIVE], review_day)):
            token = ""
            while True:
                request = case_pb2.ListCasesRequest(statuses=statuses, page_size=100, page_token=token,
                                                    purpose=FALLKONFERENZ)
                if due is not None:
                    request.review_due_by.CopyFrom(to_proto_date(due))
                response = kreis.stub.ListCases(request, metadata=metadata, timeout=30)
                ids += [c.case_id for c in response.cases]
                token = response.next_page_token
                if not token:
                    break
        timings["pages"].append(time.perf_counter() - begin)
        return ids

    def briefs(organization: str, alone: bool = True) -> federation_pb2.GetCaseBriefsResponse:
        """One bare GetCaseBriefs at the member node for the ids it owns, as the Kreis node
        (timed under the organisation when it runs `alone`)."""
        begin = time.perf_counter()
        response: federation_pb2.GetCaseBriefsResponse = client.call(
            agenda.ids[organization], GET_CASE_BRIEFS,
            federation_pb2.GetCaseBriefsRequest(case_ids=seeded[organization], purpose=FALLKONFERENZ),
            federation_pb2.GetCaseBriefsResponse, acting_user=coordinator, timeout=60)
        if alone:
            timings[organization].append(time.perf_counter() - begin)
        return response

    def both() -> None:
        """Both members' GetCaseBriefs at once, as the port asks them (same machine, same FerretDB:
        the two calls share the cores and the database, unlike the sum's one after the other)."""
        begin = time.perf_counter()
        with ThreadPoolExecutor(max_workers=len(members)) as pool:
            list(pool.map(lambda o: briefs(o, alone=False), members))
        timings["parallel"].append(time.perf_counter() - begin)

    # GetCaseBrief one by one (what a port without GetCaseBriefs would do), at the Stadt node
    # with the Kreis coordinator's token, before the rounds: each GetCaseBriefs of a round adds
    # 67 entries to the Stadt's audit trail, and every call reads the trail's tail (a scan on
    # FerretDB), so afterwards it would measure the rounds' count. Bounded, and extrapolated
    # over the agenda's cases.
    stadt = agenda.cases[STADT]
    first = seeded[STADT][0]
    one = sample(lambda: stadt.stub.GetCaseBrief(
        case_pb2.GetCaseBriefRequest(case_id=first, purpose=FALLKONFERENZ),
        metadata=federation.metadata(COORDINATION, "coordinator"), timeout=30), 10 if rounds > 2 else 3,
        max_seconds=20, warmup=1)
    echo = grpc_echo(echo_target, 50)
    cases = stadt.cases()
    find = sample(lambda: cases.find_one({"_id": first}, {"person": 0}), 50)
    timings: dict[str, list[float]] = {"build": [], "pages": [], STADT: [], CARITAS: [], "parallel": []}
    added = unreachable = listed = 0
    answered: dict[str, int] = {}
    try:
        for number in range(rounds + 1):
            built = build(number)
            added, unreachable = len(built.added_case_ids), len(built.unreachable_nodes)
            listed = len(pages())
            answered = {o: len(briefs(o).briefs) for o in members}
            both()
            if number == 0:  # the warm-up round: channels, tokens, caches
                for recorded in timings.values():
                    recorded.clear()
    finally:
        client.close()

    def of(key: str) -> Sample:
        return Sample(tuple(timings[key]), sum(timings[key]))

    floor = summed(of("pages"), *(of(o) for o in members))
    parallel = summed(of("pages"), of("parallel"))
    total = sum(len(ids) for ids in seeded.values())
    counts = ", ".join(f"{o} {len(seeded[o])}" for o in ORGANIZATIONS)
    notes.append(
        f"Agenda over three nodes ({counts}; {added} added, {unreachable} nodes unreachable): "
        f"BuildAgenda p50 {of('build').p50_ms:.0f} ms; bare fetches p50: Kreis ListCases pages "
        f"{of('pages').p50_ms:.0f} ms ({listed} cases), GetCaseBriefs {STADT} "
        f"{of(STADT).p50_ms:.0f} ms ({answered.get(STADT, 0)} briefs), {CARITAS} "
        f"{of(CARITAS).p50_ms:.0f} ms ({answered.get(CARITAS, 0)} briefs), both at once "
        f"{of('parallel').p50_ms:.0f} ms; the port asks the member nodes at once after the Kreis's "
        f"pages, so pages + both at once ({parallel.p50_ms:.0f} ms) is the floor of that shape: "
        f"BuildAgenda {of('build').p50_ms / parallel.p50_ms:.2f}× it.")

    return [
        Row.of(f"BuildAgenda at the Kreis, {total} proposals over 3 nodes ({counts}), {added} added "
               "(own ListCases + GetCaseBriefs at each member over mutual TLS, in parallel)",
               "sum of the bare brief fetches: the Kreis's ListCases pages + one GetCaseBriefs per "
               "member node (mutual TLS, Kreis certificate and service account)",
               of("build"), floor, "≤ 2× at p50"),
        Row.of("the same BuildAgenda (same rounds)",
               "the port's shape made bare: the Kreis's ListCases pages, then both members' "
               "GetCaseBriefs at once", of("build"), parallel, "≤ 2× at p50"),
        Row.of(f"GetCaseBrief at the Stadt node (Kreis coordinator, purpose Fallkonferenz; × {total} ≈ "
               f"{Sample(one.latencies, one.wall).p50_ms * total / 1000:.0f} s as one-by-one fetches)",
               "bare grpcio echo + bare pymongo find_one (sum)", one, summed(echo, find), "≤ 2× at p50"),
    ]


def run(agenda: AgendaNodes, cases: int, through_api: int, rounds: int, echo_target: str,
        notes: list[str], status: Callable[[str], Any]) -> list[Row]:
    """Seed `cases` proposals over the three nodes, wait for the Kreis's registry, measure
    (`rounds` 0: seed only)."""
    share = {o: cases // 3 + (1 if i < cases % 3 else 0) for i, o in enumerate(ORGANIZATIONS)}
    seeded: dict[str, list[str]] = {}
    began = time.monotonic()
    for organization in ORGANIZATIONS:
        with status(f"agenda: {through_api} proposals through the api of {agenda.ids[organization]}, "
                    f"cloned to {share[organization]}"):
            seeded[organization] = seed(agenda.cases[organization], organization, share[organization],
                                        through_api)
    with status(f"agenda: waiting for the Kreis's registry to hold {cases} Fallvorschläge"):
        held = registered(agenda.settings[KREIS], cases, timeout=240)
    notes.append(f"Agenda seeding: {cases} proposals ({through_api} per node through the api, the rest "
                 f"clones with their CaseSubmittedForReview published by the node's relay) registered "
                 f"at the Kreis ({held} of {cases}) {time.monotonic() - began:.0f} s after seeding began.")
    agenda.proposals = seeded
    if not rounds:
        return []
    with status(f"agenda: BuildAgenda at the Kreis vs bare brief fetches, {rounds} rounds"):
        return measure(agenda, seeded, rounds, echo_target, notes)
