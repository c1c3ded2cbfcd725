"""Where the 400-contract batch spends its time: the documents worker's part
(`DocumentsService.run_contracts_job`) in-process on a database of its own, under pyinstrument
and with every MongoDB command timed. Not part of `make bench`; run it when the batch misses:

    .venv/bin/python -m bench.profile_documents [--contracts 400] [--out out/bench/profile-documents.txt]

The outbox relay of the api process is not running here: this is the worker alone (render,
GridFS, the document with its DocumentGenerated event). The database is dropped afterwards.
"""

from __future__ import annotations

import argparse
import time
import uuid
from pathlib import Path
from typing import Any

from pymongo import MongoClient, monitoring

from bench.documents_paths import allocation_file
from bench.profile_case import _COMMANDS, _Commands


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--contracts", type=int, default=400)
    parser.add_argument("--out", type=Path, default=Path("out/bench/profile-documents.txt"))
    args = parser.parse_args()
    monitoring.register(_Commands())

    from pyinstrument import Profiler

    from kimnetz.runtime.auth import Principal
    from kimnetz.runtime.mongo import connect
    from kimnetz.runtime.settings import Settings
    from services.documents import SERVICE
    from services.documents.domain.policy import RENDER_ROLES
    from services.documents.repository import MongoDocumentsRepository
    from services.documents.service import DocumentsService

    settings = Settings().model_copy(update={"node_id": f"benchprof{uuid.uuid4().hex[:4]}"})
    connect(settings, SERVICE)
    service = DocumentsService(MongoDocumentsRepository(settings.node_id))
    clerk = Principal(subject="bench-clerk", username="r.buero", organization="stadt-hilden",
                      roles=frozenset(RENDER_ROLES["contract"]))
    lines: list[str] = []
    try:
        job = service.request_contracts(clerk, allocation_file(args.contracts))
        _COMMANDS.clear()
        profiler = Profiler(interval=0.005)
        begin = time.perf_counter()
        with profiler:
            stored = service.run_contracts_job(job.job_id)
        seconds = time.perf_counter() - begin
        lines += [f"run_contracts_job: {stored} contracts stored in {seconds:.1f} s "
                  f"({stored / seconds:.1f} per s)", "",
                  "MongoDB commands (total ms, count, command, query shape):"]
        for (name, shape), (count, millis) in sorted(_COMMANDS.items(), key=lambda kv: -kv[1][1])[:15]:
            lines.append(f"{millis:9.1f} ms {int(count):4d}x {name} {shape}")
        lines += ["", profiler.output_text(unicode=True, color=False)]
    finally:
        client: MongoClient[dict[str, Any]]
        with MongoClient(settings.mongodb_uri) as client:
            client.drop_database(settings.database_name(SERVICE))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines[:60]))
    print(f"written: {args.out}")


if __name__ == "__main__":
    main()
