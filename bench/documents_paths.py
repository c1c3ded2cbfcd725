"""Document rendering: the cached renderer vs a bare docxtpl render of the same template and data
and vs docxtemplater (npm, installed by services/documents/benchmark.py into .kim/bench), and a
batch of 400 contracts (one per Kommune of NRW) end to end through the documents api and worker."""

from __future__ import annotations

import copy
import io
import time
from datetime import date
from typing import Any

import yaml
from docxtpl import DocxTemplate
from google.protobuf import json_format, struct_pb2

from bench.case_paths import OWNER, CaseNode
from bench.measure import Row, Sample, sample, timed_once
from kim.documents.v1 import documents_pb2, documents_pb2_grpc
from services.documents import benchmark
from services.documents.domain.kinds import CONTRACT
from services.documents.rendering import TEMPLATES_DIR, Renderer, compile_template, sandbox

KOMMUNEN_NRW = 396  # plus 4 Träger: 400 allocations, the size of a state-wide run
BATCH = 400


def _bare(template: bytes, context: dict[str, Any]) -> None:
    document = DocxTemplate(io.BytesIO(template))
    document.render(context, jinja_env=sandbox(), autoescape=True)
    document.save(io.BytesIO())


def renders(runs: int) -> list[Row]:
    rows = []
    for name, kind, context in benchmark.cases()[:2]:  # the contract and the Voerde Drucksache
        template = (TEMPLATES_DIR / kind.default_template).read_bytes()
        renderer = Renderer()
        compiled = renderer.compiled(renderer.builtin(kind))
        project = sample(lambda c=compiled, x=context: c.package(c.fill(x)), runs, max_seconds=20)
        floor = sample(lambda t=template, x=context: _bare(t, x), runs, max_seconds=20)
        rows.append(Row.of(f"render {name} (cached renderer)", "bare docxtpl, same template and data",
                           project, floor, "faster than the floor; docs/s"))
    data = benchmark.table_data()
    compiled = compile_template(benchmark.table_document("docxtpl"), sandbox())
    project = sample(lambda: compiled.package(compiled.fill(data)), runs, max_seconds=20)
    timings = benchmark.docxtemplater_runs(benchmark.table_document("docxtemplater"), data, runs)
    totals = tuple(t / 1000 for t in timings["totals"])
    theirs = Sample(totals, sum(totals))
    rows.append(Row.of(f"render contract-like document, {benchmark.ROWS}-row table (cached renderer)",
                       "docxtemplater (node), same document and data", project, theirs,
                       "faster than docxtemplater (ratio < 1)"))
    return rows


def allocation_file(count: int = BATCH) -> dict[str, Any]:
    """The example allocation file with `count` partners: every Kommune of NRW and four Träger."""
    data = yaml.safe_load((benchmark.EXAMPLES / "rbk-allocation-2026.yaml").read_text(encoding="utf-8"))
    allocations = []
    for number in range(count):
        municipality = number < KOMMUNEN_NRW
        allocation: dict[str, Any] = {"partner": {
            "name": f"Kommune {number + 1}" if municipality else f"Träger {number + 1}",
            "kind": "municipality" if municipality else "welfare_org",
            "address": f"Rathausplatz {number + 1}\n4{number:04d} Musterstadt"},
            "fte": 1.0 if number % 2 else 0.5}
        if not municipality:  # a Träger names the Kommune its positions serve
            allocation["municipality"] = f"Kommune {number + 1 - KOMMUNEN_NRW}"
        allocations.append(allocation)
    data["allocations"] = allocations
    # As many VZÄ granted as the partners get: the contract rules refuse a file that hands out
    # more than the Zuwendungsbescheid granted.
    data["funding"]["granted_fte"] = {"baustein_2": sum(a["fte"] for a in allocations)}

    def plain(value: Any) -> Any:  # a Struct takes JSON only: YAML's dates become ISO text
        if isinstance(value, date):
            return value.isoformat()
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, list):
            return [plain(v) for v in value]
        return value

    result: dict[str, Any] = plain(data)
    return result


def contract_batch(node: CaseNode, max_seconds: float) -> Row:
    """RequestContracts with 400 allocations until the worker has stored every contract
    (GetBulkJob DONE), vs 400 bare docxtpl renders of the contract template."""
    stub = documents_pb2_grpc.DocumentsServiceStub(node.channel)  # type: ignore[no-untyped-call]
    request = documents_pb2.RequestContractsRequest(
        allocation_file=json_format.ParseDict(allocation_file(), struct_pb2.Struct()))
    outcome: dict[str, Any] = {}

    def batch() -> None:
        metadata = node.federation.metadata(OWNER, "clerk")
        job = stub.RequestContracts(request, metadata=metadata, timeout=60)
        deadline = time.monotonic() + max_seconds
        while time.monotonic() < deadline:
            state = stub.GetBulkJob(documents_pb2.GetBulkJobRequest(job_id=job.job_id),
                                    metadata=node.federation.metadata(OWNER, "clerk"), timeout=60)
            if state.state != documents_pb2.BulkJob.REQUESTED:
                outcome.update(state=documents_pb2.BulkJob.State.Name(state.state),
                               stored=len(state.documents), error=state.error)
                return
            time.sleep(0.5)  # each look lists the job's documents: a scan on FerretDB
        outcome.update(state="TIMEOUT")

    project = timed_once(batch, BATCH)
    if outcome.get("state") != "DONE":
        raise RuntimeError(f"contract batch did not finish: {outcome}")
    template = (TEMPLATES_DIR / CONTRACT.default_template).read_bytes()
    context = copy.deepcopy(CONTRACT.variables)
    def bare_batch() -> None:
        for _ in range(BATCH):
            _bare(template, context)

    floor = timed_once(bare_batch, BATCH)
    return Row.of(f"{BATCH} contracts end to end (RequestContracts → worker → {outcome['stored']} "
                  "stored), contracts/s", f"{BATCH} bare docxtpl renders", project, floor,
                  "faster than the floor")


