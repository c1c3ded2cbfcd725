"""The `NodeDirectoryRepository` contract (services/identity/ports.py), one set of cases run on
the in-memory fake (tests/support/fakes/identity.py) and on the mongoengine adapter against the
real MongoDB-wire server (FerretDB locally), so the unit tests of the service layer run on a
fake that behaves like the store.

The session's identity database is shared with the other identity tests: every case works on
node ids, an organisation and fingerprints of its own instead of emptying the collections."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from kimnetz.errors import FailedPrecondition, NotFound
from kimnetz.runtime import mongo
from kimnetz.runtime.peers import PeerRecord
from kimnetz.runtime.settings import Settings
from services.identity import SERVICE
from services.identity.directory import ACTIVE, PENDING, REVOKED, DirectoryNode, StatusChange
from services.identity.directory_store import FingerprintClaim, MongoNodeDirectoryRepository, NodeDocument
from services.identity.ports import NodeDirectoryRepository
from tests.support.fakes.identity import InMemoryNodeDirectoryRepository

AT = datetime(2026, 3, 1, 9, 30, 15, tzinfo=UTC)  # whole seconds: MongoDB keeps milliseconds


@pytest.fixture(params=["fake", "mongo"])
def repository(request: pytest.FixtureRequest, node_settings: Settings) -> Iterator[NodeDirectoryRepository]:
    if request.param == "fake":
        yield InMemoryNodeDirectoryRepository()
        return
    mongo.connect(node_settings, SERVICE)
    NodeDocument.ensure_indexes()
    FingerprintClaim.ensure_indexes()
    yield MongoNodeDirectoryRepository()


@pytest.fixture
def org() -> str:
    return f"org-{uuid.uuid4().hex[:8]}"


def fingerprint() -> str:
    return secrets.token_hex(32)


def node(org: str, name: str, *fingerprints: str, status: str = PENDING) -> DirectoryNode:
    return DirectoryNode(
        node_id=f"{org}-{name}", organization=org, role="municipality",
        api_endpoint=f"{name}.example:443", federation_endpoint=f"{name}.example:8443",
        fingerprints=fingerprints or (fingerprint(),), status=status,
        history=(StatusChange(status, AT, "admin@kreis", "kreis-mettmann", "Antrag auf Aufnahme"),))


def test_a_new_node_is_stored_as_version_1_and_read_back_as_saved(
        repository: NodeDirectoryRepository, org: str) -> None:
    new = node(org, "a")
    saved = repository.save(new)
    assert saved == replace(new, version=1)
    assert repository.get(new.node_id) == saved == repository.find(new.node_id)
    assert saved.history[0].at == AT and saved.history[0].at.tzinfo is not None
    assert repository.find(f"{org}-unbekannt") is None
    with pytest.raises(NotFound):
        repository.get(f"{org}-unbekannt")


def test_a_save_must_find_the_version_it_read(repository: NodeDirectoryRepository, org: str) -> None:
    first = repository.save(node(org, "a"))
    second = repository.save(replace(first, status=ACTIVE))
    assert second.version == 2 and second.status == ACTIVE
    with pytest.raises(FailedPrecondition, match="von anderer Seite geändert"):
        repository.save(replace(first, status=REVOKED))  # read at version 1, stored is 2
    with pytest.raises(FailedPrecondition):
        repository.save(replace(first, version=0))  # a "new" node under a stored id
    assert repository.get(first.node_id) == second


def test_a_fingerprint_names_one_node_ever(repository: NodeDirectoryRepository, org: str) -> None:
    shared, retired = fingerprint(), fingerprint()
    a = repository.save(replace(node(org, "a", shared), retired_fingerprints=(retired,)))
    for taken in (shared, retired):
        with pytest.raises(FailedPrecondition, match=f"gehört zum Knoten {a.node_id}"):
            repository.save(node(org, "b", taken))
        assert repository.find(f"{org}-b") is None
    # A save that loses on the version still claimed what it presented first.
    claimed = fingerprint()
    with pytest.raises(FailedPrecondition):
        repository.save(replace(a, version=0, fingerprints=(shared, claimed)))
    with pytest.raises(FailedPrecondition, match=f"gehört zum Knoten {a.node_id}"):
        repository.save(node(org, "c", claimed))
    # The node itself keeps presenting its own fingerprints.
    assert repository.save(replace(a, api_endpoint="neu.example:443")).version == 2


def test_lookups_by_fingerprint_and_the_peer_answer(repository: NodeDirectoryRepository, org: str) -> None:
    current, retired = fingerprint(), fingerprint()
    saved = repository.save(replace(node(org, "a", current, status=ACTIVE), retired_fingerprints=(retired,)))
    assert repository.by_fingerprint(current) == saved == repository.by_fingerprint(retired)
    assert repository.fingerprint_owner(retired) == saved.node_id
    assert repository.peer(current) == PeerRecord(saved.node_id, org, "municipality", ACTIVE)
    assert repository.peer(retired) == PeerRecord(saved.node_id, org, "municipality", REVOKED)
    unknown = fingerprint()
    assert (repository.by_fingerprint(unknown), repository.fingerprint_owner(unknown),
            repository.peer(unknown)) == (None, None, None)


def test_lists_filter_by_organisation_and_status_ordered_by_node_id(
        repository: NodeDirectoryRepository, org: str) -> None:
    for name, status in (("c", PENDING), ("a", ACTIVE), ("b", PENDING)):
        repository.save(node(org, name, status=status))
    other = f"{org}-x"
    repository.save(node(other, "a"))
    assert [n.node_id for n in repository.list(org)] == [f"{org}-a", f"{org}-b", f"{org}-c"]
    assert [n.node_id for n in repository.list(org, PENDING)] == [f"{org}-b", f"{org}-c"]
    assert [n.node_id for n in repository.list(other)] == [f"{other}-a"]
    everything = [n.node_id for n in repository.list()]
    assert {f"{org}-a", f"{org}-b", f"{org}-c", f"{other}-a"} <= set(everything)
    assert everything == sorted(everything)
    assert all(n.status == ACTIVE for n in repository.list(status=ACTIVE))
