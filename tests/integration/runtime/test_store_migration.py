"""`scripts/infra.sh migrate-store` between two real FerretDBs: a store on SQLite, holding a case
written by the case service's own code (its case, change with outbox, audit chain), moved to
PostgreSQL and switched over; afterwards the same FerretDB port serves the same data from
PostgreSQL, the record says postgresql, and asking for SQLite again refuses. The servers are the
test's own (a KIM_HOME and ports of its own, the FerretDB binary of the running servers), so the
shared ones are never touched; all of them are stopped at the end."""

from __future__ import annotations

import os
import random
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import mongoengine
import pytest
from pymongo import MongoClient

from kimctl.store_migration import audit_chain
from kimnetz.runtime.mongo import connect
from kimnetz.runtime.settings import Settings
from services.case import SERVICE
from services.case.composition import case_services
from services.case.domain import commands as c
from services.case.domain.person import PersonData
from services.case.domain.policy import Actor
from services.case.repository import AuditDocument, CaseChangeDocument, CaseDocument, MongoCaseRepository

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = str(ROOT / "scripts" / "infra.sh")
SERVERS_HOME = Path(os.environ.get("KIM_HOME", ROOT / ".kim"))
OWNER = "stadt-hilden"


def free_port() -> int:
    """A free port below the kernel's ephemeral range: the servers here are stopped and started
    again on the same port by `migrate-store`, and a port from the ephemeral range (what binding
    port 0 gives) can meanwhile become some client connection's source port on a busy machine;
    PostgreSQL then exits at its restart (seen once in CI)."""
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    for _ in range(200):
        port = random.randrange(20000, low)
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port between 20000 and {low}")


@pytest.fixture
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The environment of a KIM_HOME of the test's own (searchable by the postgres user, who owns
    the cluster when the tests run as root); its servers stopped at the end."""
    path = tmp_path_factory.mktemp("store-migration")
    for folder in (path, *path.parents):
        if folder in (Path(tempfile.gettempdir()), Path("/")):
            break
        folder.chmod(folder.stat().st_mode | 0o005)
    binary = SERVERS_HOME / "ferretdb" / "bin"
    assert binary.is_dir(), f"no FerretDB build in {binary}; start the local servers with `make infra-up`"
    shutil.copytree(binary, path / "ferretdb" / "bin")
    env = {k: v for k, v in os.environ.items() if k not in ("MONGODB_URI", "KIM_STORE_BACKEND")}
    env |= {"KIM_HOME": str(path), "KIM_MONGO_PORT": str(free_port()),
            "KIM_FERRETDB_DEBUG_PORT": str(free_port()),
            "KIM_POSTGRES_PORT": str(free_port()), "KIM_MIGRATE_MONGO_PORT": str(free_port()),
            "KIM_MIGRATE_DEBUG_PORT": str(free_port())}
    try:
        yield env
    finally:
        subprocess.run([SCRIPT, "stop", "ferretdb"], env=env, check=False)
        shutil.rmtree(path, ignore_errors=True)


def infra(env: dict[str, str], *args: str, backend: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([SCRIPT, *args], env={**env, **({"KIM_STORE_BACKEND": backend} if backend else {})},
                          capture_output=True, text=True, check=False)


def propose_a_case(uri: str) -> str:
    settings = Settings(mongodb_uri=uri, node_id="migration-hilden", organization_id=OWNER)
    mongoengine.disconnect(alias=SERVICE)
    connect(settings, SERVICE)
    try:
        for document in (CaseDocument, CaseChangeDocument, AuditDocument):
            document.ensure_indexes()
        services = case_services(MongoCaseRepository(settings.node_id), node_org=OWNER)
        person = PersonData(given_name="Amina", family_name="Haddad", birth_date=date(1992, 3, 4),
                            nationalities=("SY",), country_of_origin="SY", residence_kind="duldung",
                            legal_basis="§ 60a AufenthG", languages=("ar", "de"))
        actor = Actor(subject="cm-anna", organization=OWNER, roles=frozenset({"case_manager"}))
        case = services.fallvorschlaege.propose_case(actor, c.ProposeCase(
            owner_org=OWNER, coordination_org="kreis-mettmann", proposer_kind="counselling",
            proposer_unit="Migrationsberatung Hilden", reason="Ausbildungsplatz in Aussicht.",
            handlungsfelder=("ausbildung",), rechtskreise=("aufenthg",), person=person))
        # a second audit entry: a chain of two
        services.falldaten.get_case(actor, case.case_id, "Fallbearbeitung")
        return case.case_id
    finally:
        mongoengine.disconnect(alias=SERVICE)


def snapshot(uri: str) -> dict[str, dict[str, list[dict[str, object]]]]:
    with MongoClient(uri, tz_aware=True, uuidRepresentation="standard") as client:
        return {name: {coll: sorted(client[name][coll].find({}), key=lambda d: repr(d["_id"]))
                       for coll in client[name].list_collection_names()}
                for name in client.list_database_names() if name.startswith("kim_")}


def test_a_sqlite_store_moves_to_postgresql_and_stays_there(home: dict[str, str]) -> None:
    started = infra(home, "start", "ferretdb", backend="sqlite")
    assert started.returncode == 0, started.stderr
    uri = f"mongodb://127.0.0.1:{home['KIM_MONGO_PORT']}/"
    case_id = propose_a_case(uri)
    before = snapshot(uri)
    assert [d["_id"] for d in before["kim_migration-hilden_case"]["cases"]] == [case_id]

    moved = infra(home, "migrate-store", "postgresql")

    assert moved.returncode == 0, moved.stderr
    assert "audit chain of 2 entries verified" in moved.stdout
    assert (Path(home["KIM_HOME"]) / "ferretdb" / "backend").read_text().strip() == "postgresql"
    assert "store      postgresql" in infra(home, "status").stdout
    assert snapshot(uri) == before  # the same port, the same documents, now from PostgreSQL
    with MongoClient(uri, tz_aware=True) as client:
        chain = audit_chain(client["kim_migration-hilden_case"]["audit"])
    assert (chain.intact, chain.checked) == (True, 2)
    refused = infra(home, "start", "ferretdb", backend="sqlite")
    assert refused.returncode == 1
    assert "scripts/infra.sh migrate-store sqlite" in refused.stderr
