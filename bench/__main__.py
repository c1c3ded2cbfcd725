"""`make bench`: start benchmark nodes on the local servers (two development-realm nodes for the
runtime part, three nodes of the bench's federation for the agenda, one member node for the
rest, one group after the other), measure every hot path next to its floor in the same run,
write out/bench/bench.json and bench.md, print the table.

    .venv/bin/python -m bench [--quick] [--out out/bench]

Load comes from this machine on loopback only; every loop is bounded in count and time.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import socket
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from rich.console import Console

from bench import agenda_paths, case_paths, documents_paths, runtime_paths, scale_paths, store_paths
from bench.federation import BenchFederation, unique_file
from bench.levels import parts_budget
from bench.measure import Row, write_report
from kimctl import devrealm, nodes
from kimctl.story import KREIS, STADT
from kimnetz.runtime.broker_admin import BrokerAdmin
from kimnetz.runtime.settings import Settings

console = Console()
STARTED = time.monotonic()


def status(message: str) -> Any:
    """A spinner on a terminal, and a timestamped line in the log either way."""
    console.print(f"[{time.monotonic() - STARTED:5.0f} s] {message}", highlight=False)
    return console.status(message)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


PARTS = ("runtime", "agenda", "case", "documents", "scale", "store")
#: What `make bench` runs. The store part compares the two FerretDB backends at 10,000 cases
#: on servers of its own (`make bench-store`): it decided the default once and is rerun when the
#: store changes, not in every run that must fit 15 minutes.
DEFAULT_PARTS = ("runtime", "agenda", "case", "documents", "scale")
#: `make bench` as a whole fits 15 minutes (issue 15); RESERVE: stopping nodes, the report.
WHOLE_RUN, RESERVE = 15 * 60.0, 45.0
#: Seconds for BuildAgenda at the scale levels (seeding the Kreis included).
AGENDA_LEVELS_BUDGET = 150.0
AGENDA_CASES = 200
#: Per node proposed, consented and submitted through the api; the rest are clones of the first.
AGENDA_THROUGH_API = 4


def member_paths(node: case_paths.CaseNode, parts: set[str], quick: bool, count: int,
                 notes: list[str]) -> list[Row]:
    """The paths on the federation member node, in an order that keeps each one's data exact:
    scale last (it seeds)."""
    rows: list[Row] = []
    if "case" in parts:
        if not node.cases().find_one({}):
            node.propose(1)
        with runtime_paths.echo_server() as echo, status("GetCase vs bare echo + find_one"):
            rows.append(case_paths.get_case(node, echo, count))
        with runtime_paths.echo_server() as echo, status("ProposeCase vs bare echo + insert"):
            rows.append(case_paths.propose_case(node, echo, 50 if quick else 100))
        with status("ProposeCase, 8 concurrent clients vs bare inserts"):
            rows.append(case_paths.concurrent_writes(node, 8, 10 if quick else 40, 10 if quick else 30,
                                                    notes))
    if "documents" in parts:
        with status("rendering: cached renderer vs bare docxtpl vs docxtemplater"):
            rows += documents_paths.renders(30 if quick else 100)
        with status(f"{documents_paths.BATCH} contracts end to end vs bare docxtpl"):
            rows.append(documents_paths.contract_batch(node, 240))
    if "scale" in parts:
        # The whole run fits WHOLE_RUN: the scale part gets what the parts before it left
        # (bench/levels.py plans the levels; what does not fit is a row "not measured").
        levels = (500, 1_000) if quick else scale_paths.LEVELS
        budget = 60.0 if quick else parts_budget(WHOLE_RUN, time.monotonic() - STARTED, RESERVE)
        with runtime_paths.echo_server() as echo:
            rows += scale_paths.scale(node, echo, levels, budget, notes, status)
    return rows


def drop_databases(base: Settings, node_ids: list[str]) -> None:
    """The benchmark nodes' databases go with them (the scale part leaves up to 100,000 cases)."""
    from pymongo import MongoClient

    prefixes = tuple(base.model_copy(update={"node_id": n}).database_name("") for n in node_ids)
    client: MongoClient[dict[str, Any]]
    with MongoClient(base.mongodb_uri) as client:
        for name in client.list_database_names():
            if name.startswith(prefixes):
                client.drop_database(name)


def store_of(operators_home: Path) -> str:
    """What the nodes store in: the server MONGODB_URI names, or the FerretDB of scripts/infra.sh
    on the backend recorded in the operator's KIM_HOME (a store from before the record: SQLite)."""
    if os.environ.get("MONGODB_URI"):
        return "the MongoDB-wire server of MONGODB_URI"
    recorded = operators_home / "ferretdb" / "backend"
    backend = recorded.read_text("utf-8").strip() if recorded.is_file() else "sqlite"
    return f"FerretDB on {'PostgreSQL' if backend == 'postgresql' else 'SQLite'}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (a smoke run)")
    parser.add_argument("--out", type=Path, default=Path("out/bench"))
    parser.add_argument("--only", default=",".join(DEFAULT_PARTS),
                        help=f"comma-separated parts to run, of {','.join(PARTS)} "
                             f"(default: {','.join(DEFAULT_PARTS)})")
    parser.add_argument("--store", default="", metavar="BACKEND=URI[,BACKEND=URI]",
                        help="store part: FerretDBs to measure (default: one of its own per backend)")
    args = parser.parse_args()
    parts = {p.strip() for p in args.only.split(",") if p.strip()}
    count = 50 if args.quick else 200
    events = 20 if args.quick else 60
    began = time.monotonic()

    home = Path(tempfile.mkdtemp(prefix="kim-bench-"))
    operators_home = Path(os.environ.get("KIM_HOME", Path(__file__).resolve().parents[1] / ".kim"))
    # The broker's administrator stays the one of the operator's KIM_HOME (scripts/infra.sh
    # wrote it there; the broker refuses guest), not one looked for in the fresh KIM_HOME.
    os.environ.setdefault("KIM_RABBITMQ_ADMIN_FILE", str(operators_home / "rabbitmq-admin"))
    os.environ["KIM_HOME"] = str(home)
    base = devrealm.settings_with_secret(Settings())
    prefix = f"bench{uuid.uuid4().hex[:4]}"
    ids = [f"{prefix}-kreis"]
    notes = [
        f"{time.strftime('%Y-%m-%d %H:%M')} on {platform.node()}: {os.cpu_count()} cores, "
        f"Python {platform.python_version()}; servers: {store_of(operators_home)}, RabbitMQ, Keycloak, "
        "local.",
        "Ratios compare the project's path with its floor measured in the same run on the same servers.",
    ]
    rows: list[Row] = []
    started: list[str] = []
    federation: BenchFederation | None = None
    member = f"{prefix}-hilden"
    agenda_ids = agenda_paths.node_ids(prefix)
    try:
        if "store" in parts:  # no nodes: the two FerretDB backends under the store operations alone
            rows += store_paths.run(base, args.store, args.quick, notes, status)
        if "runtime" in parts:
            # One node of the development realm; the event path across nodes is measured on the
            # agenda part's nodes below, which are joined to a directory (signed events).
            nodes.init(nodes.NodeSpec(ids[0], "bench", free_port()), base)
            with status(f"starting benchmark node {ids[0]}"):
                up = nodes.up(ids[0])
            started.append(ids[0])
            kreis = up.model_copy(update={"client_secret": base.client_secret})
            with runtime_paths.echo_server() as echo, status("authenticated gRPC call vs bare echo"):
                rows.append(runtime_paths.authenticated_call(kreis, echo, count))
            with status("event path on one node vs bare kombu"):
                rows.append(runtime_paths.event_latency(kreis, events, notes))
            nodes.down(ids[0])  # its part is done: the next nodes get both cores
            started.remove(ids[0])
        if parts & {"case", "agenda", "documents", "scale", "runtime"}:
            port = free_port()
            agenda_ports = {o: free_port() for o in agenda_paths.ORGANIZATIONS}
            with status("applying the local federation (unique realms) to Keycloak"):
                path = unique_file(home / "federation.yaml", prefix, {
                    member: (case_paths.OWNER, port),
                    **{agenda_ids[o]: (o, agenda_ports[o]) for o in agenda_paths.ORGANIZATIONS}})
                federation = BenchFederation.apply(path, base.keycloak_url, home)
        if parts & {"agenda", "scale", "runtime"} and federation is not None:
            # Three nodes of their own, stopped before the member node starts: each part gets
            # both cores, and the member node's paths run on a node without a peer port, as before.
            agenda = agenda_paths.start(agenda_ids, agenda_ports, free_port(),
                                        {o: free_port() for o in agenda_paths.ORGANIZATIONS},
                                        federation, base, started, status)
            try:
                if "runtime" in parts:  # Hilden's events at the Kreis, as in the story
                    with status("event path across the federation vs bare kombu"):
                        rows.append(runtime_paths.federated_event_latency(
                            agenda.settings[STADT], agenda.settings[KREIS],
                            events, notes))
                with runtime_paths.echo_server() as echo:
                    if parts & {"agenda", "scale"}:
                        rounds = (2 if args.quick else 4) if "agenda" in parts else 0
                        rows += agenda_paths.run(agenda, AGENDA_CASES, AGENDA_THROUGH_API, rounds, echo,
                                                 notes, status)
                    if "scale" in parts:  # BuildAgenda at each level (issue 15): these three nodes
                        rows += scale_paths.agenda_levels(
                            agenda, agenda.proposals, (500, 1_000) if args.quick else scale_paths.LEVELS,
                            40.0 if args.quick else AGENDA_LEVELS_BUDGET, echo, notes, status)
            finally:
                agenda_paths.stop(agenda, started)
        if parts & {"case", "documents", "scale"} and federation is not None:
            nodes.init(nodes.NodeSpec(member, case_paths.OWNER, port, federation_file=path), base)
            with status(f"starting federation member node {member}"):
                member_settings = nodes.up(member)
            started.append(member)
            node = case_paths.CaseNode.open(member_settings, federation)
            try:
                rows += member_paths(node, parts, args.quick, count, notes)
            finally:
                node.close()
    finally:
        for node_id in started:
            nodes.down(node_id)
        if parts - {"store"}:  # the store part starts no nodes and leaves no vhost behind
            admin = BrokerAdmin(base.rabbitmq_management_url, base.amqp_uri)
            for node_id in [*ids, member, *agenda_ids.values()]:
                admin.delete_vhost(node_id)
            drop_databases(base, [*ids, member, *agenda_ids.values()])
        if federation is not None:
            federation.close()
    shutil.rmtree(home, ignore_errors=True)  # kept only when the run failed: the nodes' logs
    notes.append(f"Whole run: {time.monotonic() - began:.0f} s.")
    console.print(write_report(rows, notes, args.out))
    console.print(f"written: {args.out / 'bench.json'}, {args.out / 'bench.md'}")


if __name__ == "__main__":
    main()
