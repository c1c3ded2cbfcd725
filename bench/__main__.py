"""`make bench`: start two benchmark nodes on the local servers, measure every hot path next to
its floor in the same run, write out/bench/bench.json and bench.md, print the table.

    .venv/bin/python -m bench [--quick] [--out out/bench]

Load comes from this machine on loopback only; every loop is bounded in count and time.
"""

from __future__ import annotations

import argparse
import os
import platform
import socket
import tempfile
import time
import uuid
from pathlib import Path

from rich.console import Console

from bench import runtime_paths
from bench.measure import Row, write_report
from kim import devrealm, nodes
from kim.runtime.broker_admin import BrokerAdmin
from kim.runtime.settings import Settings

console = Console()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (a smoke run)")
    parser.add_argument("--out", type=Path, default=Path("out/bench"))
    args = parser.parse_args()
    count = 50 if args.quick else 300
    events = 20 if args.quick else 100

    os.environ["KIM_HOME"] = tempfile.mkdtemp(prefix="kim-bench-")
    base = devrealm.settings_with_secret(Settings())
    prefix = f"bench{uuid.uuid4().hex[:4]}"
    ids = [f"{prefix}-kreis", f"{prefix}-caritas"]
    notes = [
        f"{time.strftime('%Y-%m-%d %H:%M')} on {platform.node()}: {os.cpu_count()} cores, "
        f"Python {platform.python_version()}; servers: FerretDB (SQLite), RabbitMQ, Keycloak, local.",
        "Ratios compare the project's path with its floor measured in the same run on the same servers.",
    ]
    rows: list[Row] = []
    started: list[str] = []
    try:
        for node_id in ids:
            nodes.init(nodes.NodeSpec(node_id, "bench", free_port()), base)
        nodes.link(ids[0], ids[1])
        settings = []
        for node_id in ids:
            with console.status(f"starting benchmark node {node_id}"):
                up = nodes.up(node_id)
            started.append(node_id)
            settings.append(up.model_copy(update={"client_secret": base.client_secret}))
        kreis, caritas = settings
        with runtime_paths.echo_server() as echo, console.status("authenticated gRPC call vs bare echo"):
            rows.append(runtime_paths.authenticated_call(kreis, echo, count))
        with console.status("event path on one node vs bare kombu"):
            rows.append(runtime_paths.event_latency(kreis, events))
        with console.status("event path across the federation vs bare kombu"):
            rows.append(runtime_paths.federated_event_latency(caritas, kreis, events))
    finally:
        for node_id in started:
            nodes.down(node_id)
        admin = BrokerAdmin(base.rabbitmq_management_url, base.amqp_uri)
        for node_id in ids:
            admin.delete_vhost(node_id)
    console.print(write_report(rows, notes, args.out))
    console.print(f"written: {args.out / 'bench.json'}, {args.out / 'bench.md'}")


if __name__ == "__main__":
    main()
