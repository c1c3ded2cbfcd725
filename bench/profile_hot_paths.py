"""Whether the case service's hot paths cost the same at 1,000 and at 10,000 cases and audit
entries (issue 15, item 1): the handlers in-process on a database of their own, the node's
data seeded in bulk, each path timed over several rounds and every MongoDB command it sends
counted by its shape (what `bench.profile_case` does for one call). Not part of `make bench`:

    .venv/bin/python -m bench.profile_hot_paths [--sizes 1000,10000] [--rounds 15]
        [--out out/bench/profile-hot-paths.txt]

Seeding: one case goes through the service (propose, consent, submit); it is cloned in bulk
(every stored document of it, its id and pseudonym replaced) to `size` cases, and the audit
trail gets `size` entries in one `append_audits` run. The database (a node id of its own,
"benchhot…") is dropped afterwards.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from pymongo import MongoClient, monitoring

from bench.profile_case import _COMMANDS, _Commands

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "unit" / "case"))


def _replace(value: Any, old: dict[str, str]) -> Any:
    if isinstance(value, str):
        for before, after in old.items():
            value = value.replace(before, after)
        return value
    if isinstance(value, dict):
        return {_replace(k, old): _replace(v, old) for k, v in value.items()}
    if isinstance(value, list):
        return [_replace(v, old) for v in value]
    return value


def _clone(database: Any, case_id: str, pseudonym: str, count: int) -> None:
    """`count` copies of every stored document that names the case (its id or pseudonym)."""
    for name in database.list_collection_names():
        if name in ("audit", "figures_ledger", "zielgruppen"):
            continue
        collection = database[name]
        originals = [d for d in collection.find() if case_id in str(d) or pseudonym in str(d)]
        if not originals:
            continue
        batch: list[dict[str, Any]] = []
        for n in range(count):
            suffix = uuid.uuid4().hex[:12]
            old = {case_id: f"{case_id[:-12]}{suffix}", pseudonym: f"{pseudonym[:-6]}{n:06X}"}
            for original in originals:
                copy = _replace(original, old)
                copy.pop("outbox", None)
                batch.append(copy)
            if len(batch) >= 2000:
                collection.insert_many(batch, ordered=False)
                batch = []
        if batch:
            collection.insert_many(batch, ordered=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--paths", default="", help="only these paths (comma-separated labels' first word)")
    parser.add_argument("--out", type=Path, default=Path("out/bench/profile-hot-paths.txt"))
    args = parser.parse_args()
    monitoring.register(_Commands())
    lines: list[str] = []
    for size in [int(s) for s in args.sizes.split(",")]:
        lines += _measure(size, args.rounds, [p for p in args.paths.split(",") if p])
        print("\n".join(lines[-40:]), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines), encoding="utf-8")
    print(f"written: {args.out}")


def _measure(size: int, rounds: int, only: list[str]) -> list[str]:
    from case_factories import (  # type: ignore[import-not-found]  # tests/unit/case, on sys.path above
        CM,
        COORDINATION,
        OWNER,
        make_actor,
        make_proposal,
    )

    from kimnetz.runtime.mongo import connect, disconnect
    from kimnetz.runtime.settings import Settings
    from services.case.composition import case_services
    from services.case.domain import commands as c
    from services.case.domain.audit import AuditDraft
    from services.case.repository import MongoCaseRepository

    lines: list[str] = []
    settings = Settings().model_copy(update={"node_id": f"benchhot{uuid.uuid4().hex[:4]}"})
    disconnect("case")  # a database of this size's own (connect keeps an existing alias)
    connect(settings, "case")
    repository = MongoCaseRepository(settings.node_id)
    service = case_services(repository, node_org=OWNER)
    coordinator = make_actor(("coordinator",), COORDINATION, "koord-bench")
    clerk = make_actor(("clerk",), OWNER, "buero-bench")  # the node's own monitoring figures
    signed, expires = date.today() - timedelta(days=1), date.today() + timedelta(days=300)

    def consent(case_id: str) -> None:
        service.einwilligungen.record_consent(CM, c.RecordConsent(
            case_id, "schweigepflichtentbindung", COORDINATION, ("fallkonferenz",),
            ("falldokumentation",), signed, expires))

    try:
        began = time.perf_counter()
        seed = service.fallvorschlaege.propose_case(CM, make_proposal()).case_id
        consent(seed)
        service.fallvorschlaege.submit_for_review(CM, c.SubmitForReview(seed))
        database: Any = MongoClient(settings.mongodb_uri)[settings.database_name("case")]
        stored = database["cases"].find_one({"_id": seed}) or {}
        _clone(database, seed, str(stored["pseudonym"]), size - 1)
        draft = AuditDraft(occurred_at=stored["created_at"], actor_subject="seed", actor_org=OWNER,
                           actor_roles=("case_manager",), case_id=seed, call="GetCase",
                           purpose="Fallbearbeitung", allowed=True)
        for start in range(0, size, 2000):
            repository.append_audits([draft] * min(2000, size - start))
        lines.append(f"== {size:,} cases, {size:,} audit entries (seeded in "
                     f"{time.perf_counter() - began:.0f} s): p50 over {rounds} rounds")
        case_ids = [seed, *(d["_id"] for d in database["cases"].find({}, {"_id": 1}).limit(rounds))]
        paths: dict[str, Any] = {
            "GetCase": lambda i: service.falldaten.get_case(
                CM, case_ids[i % len(case_ids)], "Fallbearbeitung"),
            "GetCaseBrief": lambda i: service.falldaten.get_case_brief(coordinator, seed, "Fallkonferenz"),
            "ProposeCase": lambda i: service.fallvorschlaege.propose_case(CM, make_proposal()),
            "RecordConsent (a command)": lambda i: consent(case_ids[i % len(case_ids)]),
            "applied(event id)": lambda i: repository.applied(uuid.uuid4().hex),
            "GetFigures": lambda i: service.verbund.get_figures(clerk),
        }
        for label, call in paths.items():
            if only and label.split(" ")[0].split("(")[0] not in only:
                continue
            call(0)  # warm
            _COMMANDS.clear()
            times = []
            for i in range(rounds):
                begin = time.perf_counter()
                call(i)
                times.append((time.perf_counter() - begin) * 1000)
            lines.append(f"{label}: p50 {statistics.median(times):.1f} ms, "
                         f"max {max(times):.1f} ms; per call:")
            for (name, shape), (count, millis) in sorted(_COMMANDS.items(), key=lambda kv: -kv[1][1]):
                lines.append(f"    {millis / rounds:8.2f} ms {count / rounds:4.1f}x {name} {shape}")
        lines.append("")
    finally:
        client: MongoClient[dict[str, Any]]
        with MongoClient(settings.mongodb_uri) as client:
            client.drop_database(settings.database_name("case"))
    return lines


if __name__ == "__main__":
    main()
