"""Three real nodes (Kreis, Stadt, Caritas) of a federation of their own, set up as `kim demo`
sets up its nodes: local.yaml with unique realm names and node ids (`unique_federation_file`),
`kim node init` with federation file and peer port, RabbitMQ federation links as the demo's,
every node entered into the Kreis's node directory by the Kreis's node administrator. Databases,
vhosts (with their links) and realms are removed afterwards; the demo's nodes are never touched.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pymongo
import pytest
from bson import json_util

from kim.case.v1 import case_pb2, types_pb2 as C
from kim.identity.v1 import identity_pb2
from kimctl import nodes
from kimctl.story import CARITAS, KREIS, STADT, StoryNode
from kimnetz.runtime.broker_admin import link_user, node_user
from kimnetz.runtime.proto_mapping import to_proto_date
from kimnetz.runtime.settings import Settings
from tests.e2e.test_node_smoke import free_port
from tests.support import servers
from tests.support.identity import LocalFederation, unique_federation_file

#: Who receives whose events, as in kimctl/demo.py (by organisation).
LINKS = {KREIS: [STADT, CARITAS], STADT: [KREIS], CARITAS: [KREIS]}


@dataclass
class ThreeNodes:
    home: Path
    local: LocalFederation
    ids: dict[str, str]  # organisation -> node id
    settings: dict[str, Settings]  # organisation -> the running node's settings
    #: Environment every node of this federation starts with besides NODE_EXTRA (a test's
    #: settings overrides, e.g. short timer intervals).
    extra: dict[str, str] | None = None

    def node(self, organization: str) -> StoryNode:
        return StoryNode.of(self.settings[organization])

    def token(self, organization: str, username: str) -> str:
        return self.local.token_for(organization, username)

    def up(self, organization: str) -> Settings:
        extra = {**NODE_EXTRA, **(self.extra or {})}
        self.settings[organization] = nodes.up(self.ids[organization], extra=extra)
        return self.settings[organization]

    def down(self, organization: str) -> None:
        nodes.down(self.ids[organization])


#: Short outbox sweeps: a relay that missed a notify publishes within half a second.
NODE_EXTRA = {"KIM_OUTBOX_SWEEP_SECONDS": "0.5"}



def duldung_proposal(family_name: str, *, gender: int = C.GENDER_MAENNLICH,
                     duldung_until: date | None = None) -> case_pb2.ProposeCaseRequest:
    """A Stadt case manager's proposal for a man (or `gender`) born 1990 with a Duldung (§ 60a),
    living in Hilden, to the Kreis's koordinierende Stelle: no birthday or § 25a occasion falls
    in any reminder window, only the Duldung's end where `duldung_until` is given."""
    return case_pb2.ProposeCaseRequest(
        coordination_org=KREIS, proposer_kind=C.PROPOSER_KIND_CASE_MANAGER,
        proposer_unit="Integrationsbüro", reason="Mehrere Stellen beteiligt.",
        handlungsfelder=[C.HANDLUNGSFELD_AUFENTHALT_IDENTITAET], rechtskreise=[C.RECHTSKREIS_AUFENTHG],
        access_route=C.ACCESS_ROUTE_SOZIALAMT,
        person=case_pb2.Person(
            given_name="Testperson", family_name=family_name, birth_date=to_proto_date(date(1990, 5, 5)),
            nationalities=["SY"], country_of_origin="SY", gender=gender,  # type: ignore[arg-type]
            home_kommune=C.Kommune(key="05158016", name="Hilden"),
            residence=case_pb2.ResidenceStatus(
                kind=C.RESIDENCE_STATUS_KIND_DULDUNG, legal_basis="§ 60a AufenthG",
                valid_until=to_proto_date(duldung_until) if duldung_until else None)))


@contextmanager
def three_nodes(tmp_path_factory: pytest.TempPathFactory,
                extra: dict[str, str] | None = None) -> Iterator[ThreeNodes]:
    home = tmp_path_factory.mktemp("kim-story-home")
    suffix = f"s{uuid.uuid4().hex[:6]}"
    file = unique_federation_file(home / "federation.yaml", suffix)
    local = LocalFederation.start(file, rename=False)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KIM_HOME", str(home))
        base = Settings()
        ids = {n.organization: n.id for n in local.federation.nodes}
        try:
            servers.require_tcp("MongoDB-wire server (FerretDB)", base.mongodb_uri, 27017)
            kreis_peer = free_port()
            for organization in (KREIS, STADT, CARITAS):
                directory = "" if organization == KREIS else f"127.0.0.1:{kreis_peer}"
                nodes.init(nodes.NodeSpec(ids[organization], organization, free_port(), file,
                                          kreis_peer if organization == KREIS else free_port(),
                                          directory), base)
            for organization, peers in LINKS.items():
                for peer in peers:
                    nodes.link(ids[organization], ids[peer])
            federation = ThreeNodes(home, local, ids, {}, extra)
            for organization in (KREIS, STADT, CARITAS):
                federation.up(organization)
            admin = local.token_for(KREIS, "n.admin")
            for organization in (KREIS, STADT, CARITAS):
                joined = nodes.join(ids[organization], admin)
                assert joined.node.status == identity_pb2.NODE_STATUS_ACTIVE, f"{organization}: {joined.node}"
            yield federation
        finally:
            for node_id in ids.values():
                nodes.down(node_id)
            broker = servers.broker_admin(base)
            for node_id in ids.values():
                broker.delete_vhost(node_id)
                broker.delete_user(node_user(node_id))
                for peer in ids.values():
                    broker.delete_user(link_user(node_id, peer))
                servers.drop_databases(base.model_copy(update={"node_id": node_id}))
            local.close()


def find_in_databases(settings: Settings, needles: list[str]) -> dict[str, list[str]]:
    """Every needle found in any document of any database of the node (its databases are named
    `kim_<node>_<service>`), as needle -> ["<database>.<collection>", ...]. Documents are read as
    extended JSON, so dates are found as "YYYY-MM-DD..." too; GridFS chunks are skipped (DOCX
    bytes are compressed; the documents' inputs are stored as JSON in their own collection)."""
    found: dict[str, list[str]] = {}
    client: pymongo.MongoClient[dict[str, object]] = pymongo.MongoClient(
        settings.mongodb_uri, serverSelectionTimeoutMS=5000)
    try:
        prefix = settings.database_name("")
        for name in client.list_database_names():
            if not name.startswith(prefix):
                continue
            database = client[name]
            for collection in database.list_collection_names():
                if collection.endswith(".chunks"):
                    continue
                for document in database[collection].find():
                    text = json.dumps(json.loads(json_util.dumps(document)), ensure_ascii=False)
                    for needle in needles:
                        if needle.lower() in text.lower():
                            found.setdefault(needle, []).append(f"{name}.{collection}")
    finally:
        client.close()
    return found


@dataclass
class Scan:
    """What `scan_databases` found: needle -> ["<database>.<collection>", ...], and every
    collection it read (GridFS chunks included: their bytes are searched as text too)."""

    found: dict[str, list[str]]
    scanned: list[str]


def scan_databases(settings: Settings, needles: Sequence[str], *, scoped: Sequence[str] = (),
                   scoped_needles: Sequence[str] = ()) -> Scan:
    """Like `find_in_databases`, over every collection of every database of the node, GridFS
    chunks included (their raw bytes searched as UTF-8 with errors replaced). `scoped_needles`
    are searched only in documents that also contain one of `scoped` (texts that may occur in
    other persons' cases, like a generic reason of the eligibility check)."""
    found: dict[str, list[str]] = {}
    scanned: list[str] = []
    client: pymongo.MongoClient[dict[str, object]] = pymongo.MongoClient(
        settings.mongodb_uri, serverSelectionTimeoutMS=5000)
    try:
        prefix = settings.database_name("")
        for name in client.list_database_names():
            if not name.startswith(prefix):
                continue
            database = client[name]
            for collection in database.list_collection_names():
                scanned.append(f"{name}.{collection}")
                for document in database[collection].find():
                    if collection.endswith(".chunks"):
                        text = bytes(document.get("data", b"")).decode("utf-8", errors="replace")
                    else:
                        text = json.dumps(json.loads(json_util.dumps(document)), ensure_ascii=False)
                    lowered = text.lower()
                    hits = [n for n in needles if n.lower() in lowered]
                    if any(s.lower() in lowered for s in scoped):
                        hits += [n for n in scoped_needles if n.lower() in lowered]
                    for needle in hits:
                        found.setdefault(needle, []).append(f"{name}.{collection}")
    finally:
        client.close()
    return Scan(found, scanned)
