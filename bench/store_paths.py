"""The embedded store's two backends side by side (issue 15, item 2): FerretDB 1.24.2 on SQLite
and on PostgreSQL, each holding 10,000 cases and their audit trail, under the store operations
the project's hot paths are made of. `--only store`; the result decides the default backend of
`scripts/infra.sh` (docs/decisions.md, "The embedded store's backend").

Each backend's FerretDB is started here, one after the other: `scripts/infra.sh start ferretdb`
with a KIM_HOME and ports of its own (the FerretDB binary copied from the running servers'
KIM_HOME, no build), stopped afterwards; or given as `--store BACKEND=URI[,BACKEND=URI]` (the
running one, say: `--store sqlite=mongodb://127.0.0.1:27018/`). Not the running one by default:
it serves every test and node on the machine, and its times would carry their load.

On each backend, in a database of its own (dropped afterwards): one case proposed in-process
by the case service's own code (`case_services` over `MongoCaseRepository`: the stored case,
its change with the outbox, its audit entry, with the collections' declared indexes), then
cloned in bulk to 10,000 cases (as bench/scale_paths.py clones: own id, pseudonym, creation
time, status, case manager), one change per case and 10,000 audit entries. Measured, each as
the repositories issue it today:

- find by `_id` (GetCase's read of the view);
- case write: insert of the change with its outbox + update of the view by `_id` and version
  (`VersionedStore.commit`/`apply`);
- audit append: the tail by a sort on `_id` + insert (`append_audit` now), and the head document
  updated on `_id` + insert (the compare-and-set shape of issue 15 item 1);
- a ListCases-like page: owner, status and case manager filter, sorted, 51 documents;
- the figures scan: one `$group` count by status;
- the relay's claim by `_id` and the release (`OutboxRelay._claim_by_id`, `_send`);
- the once-per-event check: a change with this `cause` (`VersionedStore.applied`).

Each row is PostgreSQL (the "project" column) against SQLite (the "floor" column): a ratio
below 1 means PostgreSQL is faster. The notes add what a mix of them costs on each.
"""

from __future__ import annotations

import contextlib
import copy
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pymongo import MongoClient, ReturnDocument

from bench.case_paths import clone
from bench.measure import Row, Sample, sample
from kimnetz.runtime.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
#: The KIM_HOME of the running servers: `python -m bench` replaces KIM_HOME with a temporary
#: folder before the parts run, and this module is imported before that.
SERVERS_HOME = os.environ.get("KIM_HOME", str(ROOT / ".kim"))
BACKENDS = ("sqlite", "postgresql")
LABEL = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
CASES = 10_000
AUDIT_ENTRIES = 10_000
OWNER = "stadt-hilden"
MANAGERS = ("bench.manager.a", "bench.manager.b", "bench.manager.c", "bench.manager.d")
STATUSES = ("proposed", "in_review")
PAGE = 50
#: How often each operation occurs in the mix (per 16 requests of a working node: 10 case reads,
#: 3 commands, 2 list pages, 1 figures view). A read is a find and an audit append; a command is
#: a case write, an audit append, the relay's claim and, at the receiver, the once-per-event check.
MIX = {"find": 10, "write": 3, "audit_tail": 13, "page": 2, "figures": 1, "claim": 3, "applied": 3}


@dataclass(frozen=True)
class Store:
    backend: str
    uri: str


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def started_ferretdb(backend: str) -> Iterator[Store]:
    """A FerretDB on `backend` in a KIM_HOME and on ports of its own, stopped (and its folder
    removed) afterwards; the running servers are not touched."""
    home = Path(tempfile.mkdtemp(prefix="kim-store-"))
    home.chmod(0o755)  # as root, the cluster belongs to the postgres user, who must reach it
    binary = Path(SERVERS_HOME) / "ferretdb" / "bin"
    if binary.is_dir():  # the same build, no second one
        shutil.copytree(binary, home / "ferretdb" / "bin")
    port = _free_port()
    env = {**os.environ, "KIM_HOME": str(home), "KIM_STORE_BACKEND": backend, "KIM_MONGO_PORT": str(port),
           "KIM_FERRETDB_DEBUG_PORT": str(_free_port()), "KIM_POSTGRES_PORT": str(_free_port())}
    env.pop("MONGODB_URI", None)
    script = str(ROOT / "scripts" / "infra.sh")
    try:
        subprocess.run([script, "start", "ferretdb"], env=env, check=True)  # noqa: S603
        yield Store(backend, f"mongodb://127.0.0.1:{port}/")
    finally:
        subprocess.run([script, "stop", "ferretdb"], env=env, check=False)  # noqa: S603
        shutil.rmtree(home, ignore_errors=True)


def templates(settings: Settings) -> dict[str, dict[str, Any]]:
    """One case proposed by the case service's own code on `settings`' store: its stored case,
    change (with the outbox of CaseProposed) and audit entry, as templates for the clones."""
    import mongoengine

    from kimnetz.runtime.mongo import connect
    from services.case import SERVICE
    from services.case.composition import case_services
    from services.case.domain import commands as c
    from services.case.domain.person import PersonData
    from services.case.domain.policy import Actor
    from services.case.repository import AuditDocument, CaseChangeDocument, CaseDocument, MongoCaseRepository

    mongoengine.disconnect(alias=SERVICE)
    connect(settings, SERVICE)
    try:
        for document in (CaseDocument, CaseChangeDocument, AuditDocument):
            document.ensure_indexes()
        services = case_services(MongoCaseRepository(settings.node_id), node_org=OWNER)
        person = PersonData(given_name="Amina", family_name="Haddad", birth_date=datetime(1992, 3, 4).date(),
                            nationalities=("SY",), country_of_origin="SY", residence_kind="duldung",
                            legal_basis="§ 60a AufenthG", languages=("ar", "de"), phone="+49 2103 12345",
                            email="amina@example.org")
        proposal = c.ProposeCase(owner_org=OWNER, coordination_org="kreis-mettmann",
                                 proposer_kind="counselling", proposer_unit="Migrationsberatung Hilden",
                                 reason="Ausbildungsplatz in Aussicht, Duldung verhindert die Zustimmung.",
                                 handlungsfelder=("aufenthalt_identitaet", "ausbildung"),
                                 rechtskreise=("aufenthg", "sgb_iii"), person=person)
        actor = Actor(subject="bench.manager.a", organization=OWNER, roles=frozenset({"case_manager"}))
        services.fallvorschlaege.propose_case(actor, proposal)
        database = mongoengine.get_db(SERVICE)
        found = {name: database[name].find_one({}) for name in ("cases", "case_changes", "audit")}
        missing = [name for name, document in found.items() if document is None]
        assert not missing, f"the proposal wrote nothing into {missing}"
        return {name: copy.deepcopy(document) for name, document in found.items() if document is not None}
    finally:
        mongoengine.disconnect(alias=SERVICE)


def seed(database: Any, template: dict[str, dict[str, Any]], cases: int,
         audit: int) -> tuple[list[str], float]:
    """`cases` clones of the case, one version-1 change each (its outbox sent), `audit` entries;
    returns the case ids and the seconds it took."""
    began = time.monotonic()
    database.cases.delete_many({})
    database.case_changes.delete_many({})
    database.audit.delete_many({})
    ids: list[str] = []
    for first in range(0, cases, 1000):
        batch = [clone(template["cases"], n, status=STATUSES[n % 2], case_manager=MANAGERS[n % len(MANAGERS)])
                 for n in range(first, min(cases, first + 1000))]
        database.cases.insert_many(batch, ordered=False)
        changes = [{**template["case_changes"], "_id": f"{d['_id']}:1", "case_id": d["_id"], "outbox": []}
                   for d in batch]
        database.case_changes.insert_many(changes, ordered=False)
        ids += [d["_id"] for d in batch]
    for first in range(1, audit + 1, 1000):
        entries = [{**template["audit"], "_id": n, "case_id": ids[n % len(ids)],
                    "previous_hash": f"{n - 1:064x}", "entry_hash": f"{n:064x}"}
                   for n in range(first, min(audit + 1, first + 1000))]
        database.audit.insert_many(entries, ordered=False)
    return ids, time.monotonic() - began


def measure(database: Any, template: dict[str, dict[str, Any]], ids: list[str],
            quick: bool) -> dict[str, Sample]:
    """Every operation of the mix on one store, on the seeded data."""
    n = 20 if quick else 100
    scans = 3
    cases, changes, audit = database.cases, database.case_changes, database.audit
    results: dict[str, Sample] = {}
    picks = iter(ids[i * 97 % len(ids)] for i in range(10**6))
    results["find"] = sample(lambda: cases.find_one({"_id": next(picks)}, {"person": 0}), n * 2,
                             max_seconds=20)

    change = template["case_changes"]
    versions = iter(range(2, 10**6))
    written: list[str] = []

    def write() -> None:
        case_id, version = ids[len(written) % len(ids)], next(versions)
        entry = {**change["outbox"][0], "event_id": str(uuid.uuid4())} if change.get("outbox") else {}
        changes.insert_one({**change, "_id": f"{case_id}:{version}", "case_id": case_id, "version": version,
                            "cause": "", "outbox": [entry] if entry else [],
                            "written_at": datetime.now(UTC)})
        cases.update_one({"_id": case_id, "version": {"$lt": version}},
                         {"$set": {"version": version, "updated_at": datetime.now(UTC),
                                   "status": "in_review"}})
        written.append(f"{case_id}:{version}")

    results["write"] = sample(write, n, max_seconds=20, warmup=2)

    sequence = iter(range(AUDIT_ENTRIES + 1, 10**7))

    def audit_tail() -> None:
        last = next(audit.find({}, {"_id": 1, "entry_hash": 1}).sort("_id", -1).limit(1), None)
        assert last is not None
        audit.insert_one({**template["audit"], "_id": next(sequence), "previous_hash": last["entry_hash"],
                          "entry_hash": uuid.uuid4().hex * 2, "occurred_at": datetime.now(UTC)})

    results["audit_tail"] = sample(audit_tail, n, max_seconds=20, warmup=2)
    heads = database.audit_head
    heads.delete_many({})
    heads.insert_one({"_id": "head", "sequence": 0, "entry_hash": "0" * 64})
    head_sequence = iter(range(10**7, 2 * 10**7))

    def audit_head() -> None:
        number = next(head_sequence)
        before = heads.find_one_and_update({"_id": "head"}, {"$set": {"sequence": number,
                                                                      "entry_hash": uuid.uuid4().hex * 2}},
                                           return_document=ReturnDocument.BEFORE)
        assert before is not None
        audit.insert_one({**template["audit"], "_id": number, "previous_hash": before["entry_hash"],
                          "entry_hash": uuid.uuid4().hex * 2, "occurred_at": datetime.now(UTC)})

    results["audit_head"] = sample(audit_head, n, max_seconds=20, warmup=2)

    page_filter = {"owner_org": OWNER, "status": {"$in": ["proposed"]}, "case_manager": MANAGERS[0]}
    results["page"] = sample(lambda: list(cases.find(page_filter, {"person": 0})
                                          .sort([("created_at", 1), ("_id", 1)]).limit(PAGE + 1)),
                             scans, max_seconds=30, warmup=0)
    group = [{"$group": {"_id": "$status", "n": {"$sum": 1}}}]
    results["figures"] = sample(lambda: list(cases.aggregate(group)),
                                scans, max_seconds=30, warmup=0)

    claims = iter(written)

    def claim() -> None:
        change_id = next(claims)
        now = datetime.now(UTC)
        before = changes.find_one_and_update({"_id": change_id},
                                             {"$set": {"outbox_claimed_until": now + timedelta(seconds=30)}},
                                             return_document=ReturnDocument.BEFORE)
        assert before is not None
        for entry in before.get("outbox", []):
            changes.update_one({"_id": change_id}, {"$pull": {"outbox": entry},
                                                    "$unset": {"outbox_claimed_until": ""}})

    results["claim"] = sample(claim, len(written) - 1, max_seconds=20, warmup=1)
    causes = iter(str(uuid.uuid4()) for _ in range(10**4))
    results["applied"] = sample(lambda: changes.count_documents({"cause": next(causes)}) > 0, scans,
                                max_seconds=30, warmup=0)
    return results


NAMES = {
    "find": "find by _id (GetCase's read of the view, without the person)",
    "write": "case write: insert of the change with its outbox + update of the view by _id and version",
    "audit_tail": "audit append as now: the tail by a sort on _id + insert",
    "audit_head": "audit append by a head document: findAndModify on _id + insert (issue 15 item 1)",
    "page": f"ListCases-like page: owner, status and case manager filter, sorted, {PAGE + 1} documents",
    "figures": "figures scan: one $group count by status",
    "claim": "outbox claim by _id + release ($pull, $unset)",
    "applied": "once-per-event check: count of changes with this cause",
}


def run(settings: Settings, given: str, quick: bool, notes: list[str], status: Any) -> list[Row]:
    """Both backends, one after the other (each gets both cores); rows PostgreSQL vs SQLite.
    `given`: "BACKEND=URI[,BACKEND=URI]" for FerretDBs to use; a backend not given gets a FerretDB
    of its own here. The running FerretDB serves everybody's tests and nodes, so its times carry
    their load; by default neither backend is measured on it."""
    cases = 2_000 if quick else CASES
    audit = 2_000 if quick else AUDIT_ENTRIES
    uris: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in given.split(","))):
        backend, _, uri = item.partition("=")
        if backend not in BACKENDS or not uri:
            raise SystemExit(f"--store wants BACKEND=URI with BACKEND one of {', '.join(BACKENDS)}, "
                             f"not {item!r}")
        uris[backend] = uri
    found: dict[str, dict[str, Sample]] = {}
    for backend in BACKENDS:
        with contextlib.ExitStack() as stack:
            if backend in uris:
                store = Store(backend, uris[backend])
            else:
                with status(f"store: starting a FerretDB on {LABEL[backend]}"):
                    store = stack.enter_context(started_ferretdb(backend))
            node = settings.model_copy(update={"mongodb_uri": store.uri,
                                               "node_id": f"bench{uuid.uuid4().hex[:4]}-store"})
            name = node.database_name("case")
            client: MongoClient[dict[str, Any]] = MongoClient(store.uri, tz_aware=True,
                                                              uuidRepresentation="standard")
            try:
                with status(f"store: {cases:,} cases and {audit:,} audit entries on {LABEL[store.backend]}"):
                    template = templates(node)
                    ids, seconds = seed(client[name], template, cases, audit)
                where = f"given: {store.uri}" if backend in uris else "own FerretDB"
                notes.append(f"Store, {LABEL[backend]} ({where}): seeded {cases:,} cases, {cases:,} "
                             f"changes and {audit:,} audit entries in {seconds:.0f} s.")
                with status(f"store: the mix on {LABEL[store.backend]}"):
                    found[backend] = measure(client[name], template, ids, quick)
            finally:
                client.drop_database(name)
                client.close()
    pg, lite = found["postgresql"], found["sqlite"]
    rows = [Row.of(f"store, {cases:,} cases: {NAMES[key]}, FerretDB on PostgreSQL",
                   "the same on FerretDB on SQLite", pg[key], lite[key], "the faster is the default")
            for key in NAMES]
    totals = {b: sum(found[b][key].p50_ms * weight for key, weight in MIX.items()) for b in BACKENDS}
    notes.append("Store mix per 16 requests (10 case reads, 3 commands, 2 list pages, 1 figures view; p50 "
                 f"sums): SQLite {totals['sqlite']:.0f} ms, PostgreSQL {totals['postgresql']:.0f} ms "
                 f"({totals['postgresql'] / totals['sqlite']:.2f}×).")
    return rows
