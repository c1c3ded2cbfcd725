"""The node directory's service layer (services/identity/directory_service.py) on the in-memory
repository: what each use case stores, who may do it, the version and fingerprint guards, the
order of lists and the peer answers. No server; the rules themselves are test_directory.py's."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from kimnetz.errors import FailedPrecondition, InvalidArgument, NotFound, PermissionDenied
from services.identity.directory import ACTIVE, PENDING, REVOKED, Actor, RegisterNode, members_of
from services.identity.directory_service import NodeDirectoryService
from tests.support.fakes.identity import InMemoryNodeDirectoryRepository

START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
FP_HILDEN, FP_HILDEN_NEW, FP_CARITAS, FP_DECLARED = "a" * 64, "b" * 64, "c" * 64, "d" * 64
MEMBERS = members_of(
    [("kreis-mettmann", "district"), ("stadt-hilden", "municipality"), ("caritas-mettmann", "welfare_org")],
    [("kreis-mettmann", "kreis-mettmann", ()), ("stadt-hilden", "stadt-hilden", ()),
     ("caritas-mettmann", "caritas-mettmann", (FP_DECLARED,))],
    {"stadt-hilden": "Stadt Hilden"},
)


def admin(organization: str, *roles: str) -> Actor:
    return Actor(f"sub-{organization}", f"admin@{organization}", organization,
                 frozenset(roles or ("node_admin",)))


KREIS, HILDEN, CARITAS = admin("kreis-mettmann"), admin("stadt-hilden"), admin("caritas-mettmann")
READER = admin("stadt-hilden", "case_manager")


def hilden(*fingerprints: str) -> RegisterNode:
    return RegisterNode("stadt-hilden", "stadt-hilden", "municipality", "kim.hilden.de:443",
                        "kim.hilden.de:8443", fingerprints or (FP_HILDEN,))


def caritas(*fingerprints: str) -> RegisterNode:
    return RegisterNode("caritas-mettmann", "caritas-mettmann", "welfare_org", "kim.caritas.de:443",
                        "kim.caritas.de:8443", fingerprints or (FP_CARITAS,))


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        self.now += timedelta(minutes=1)
        return self.now


@pytest.fixture
def repository() -> InMemoryNodeDirectoryRepository:
    return InMemoryNodeDirectoryRepository()


@pytest.fixture
def service(repository: InMemoryNodeDirectoryRepository) -> NodeDirectoryService:
    return NodeDirectoryService(repository, MEMBERS, Clock())


def test_a_registration_waits_for_the_kreis_and_its_approval_is_stored_with_who_and_when(
        service: NodeDirectoryService, repository: InMemoryNodeDirectoryRepository) -> None:
    registered = service.register_node(HILDEN, hilden())
    assert (registered.status, registered.version) == (PENDING, 1)
    assert repository.get("stadt-hilden") == registered
    approved = service.approve_node(KREIS, "stadt-hilden", "geprüft")
    assert (approved.status, approved.version) == (ACTIVE, 2)
    assert [(h.status, h.by, h.organization, h.reason) for h in approved.history] == [
        (PENDING, "admin@stadt-hilden", "stadt-hilden", "Antrag auf Aufnahme"),
        (ACTIVE, "admin@kreis-mettmann", "kreis-mettmann", "geprüft")]
    assert approved.history[0].at < approved.history[1].at
    assert repository.get("stadt-hilden") == approved


def test_the_kreis_registers_active_and_declared_fingerprints_are_preapproved(
        service: NodeDirectoryService) -> None:
    assert service.register_node(KREIS, hilden()).status == ACTIVE
    assert service.register_node(CARITAS, caritas(FP_DECLARED)).status == ACTIVE


def test_refusals_store_nothing(service: NodeDirectoryService,
                                repository: InMemoryNodeDirectoryRepository) -> None:
    with pytest.raises(PermissionDenied):
        service.register_node(CARITAS, hilden())  # another organisation's node
    with pytest.raises(PermissionDenied):
        service.register_node(READER, hilden())  # no node_admin
    with pytest.raises(InvalidArgument):
        service.register_node(HILDEN, hilden("kein-fingerabdruck"))
    assert repository.nodes == {} and repository.claims == {}
    service.register_node(HILDEN, hilden())
    with pytest.raises(PermissionDenied):
        service.approve_node(HILDEN, "stadt-hilden")  # only the Kreis approves
    assert repository.get("stadt-hilden").status == PENDING


def test_a_fingerprint_names_one_node_also_after_it_was_rotated_away(
        service: NodeDirectoryService, repository: InMemoryNodeDirectoryRepository) -> None:
    service.register_node(KREIS, hilden())
    rotated = service.register_node(HILDEN, hilden(FP_HILDEN_NEW))
    assert (rotated.fingerprints, rotated.retired_fingerprints, rotated.version) == (
        (FP_HILDEN_NEW,), (FP_HILDEN,), 2)
    with pytest.raises(FailedPrecondition, match="gehört zum Knoten stadt-hilden"):
        service.register_node(CARITAS, caritas(FP_HILDEN))
    assert repository.find("caritas-mettmann") is None
    assert service.resolve_peer(READER, FP_HILDEN).status == REVOKED  # the old certificate
    assert service.resolve_peer(READER, FP_HILDEN_NEW.upper()).status == ACTIVE  # openssl's spelling


def test_a_concurrent_change_is_refused_not_overwritten(
        service: NodeDirectoryService, repository: InMemoryNodeDirectoryRepository) -> None:
    service.register_node(HILDEN, hilden())
    read_by_other_admin = repository.get("stadt-hilden")
    service.revoke_node(HILDEN, "stadt-hilden", "Schlüssel verloren")
    with pytest.raises(FailedPrecondition, match="von anderer Seite geändert"):
        repository.save(read_by_other_admin)
    assert repository.get("stadt-hilden").status == REVOKED


def test_revocation_needs_a_reason_and_only_the_kreis_brings_a_node_back(
        service: NodeDirectoryService) -> None:
    service.register_node(KREIS, hilden())
    with pytest.raises(InvalidArgument):
        service.revoke_node(HILDEN, "stadt-hilden", " ")
    with pytest.raises(PermissionDenied):
        service.revoke_node(CARITAS, "stadt-hilden", "fremd")
    assert service.revoke_node(HILDEN, "stadt-hilden", "Schlüssel verloren").status == REVOKED
    with pytest.raises(FailedPrecondition, match="nur der Kreis"):
        service.register_node(HILDEN, hilden())
    assert service.approve_node(KREIS, "stadt-hilden", "neuer Schlüssel").status == ACTIVE


def test_reads_list_by_node_id_filter_and_name_what_is_missing(service: NodeDirectoryService) -> None:
    service.register_node(CARITAS, caritas())
    service.register_node(KREIS, hilden())
    assert [n.node_id for n in service.list_nodes(READER)] == ["caritas-mettmann", "stadt-hilden"]
    assert [n.node_id for n in service.list_nodes(READER, status=PENDING)] == ["caritas-mettmann"]
    assert [n.node_id for n in service.list_nodes(READER, organization="stadt-hilden")] == ["stadt-hilden"]
    assert service.get_node(READER, "stadt-hilden").status == ACTIVE
    with pytest.raises(NotFound):
        service.get_node(READER, "unbekannt")
    with pytest.raises(InvalidArgument):
        service.get_node(READER, "")
    with pytest.raises(NotFound, match="nicht eingetragen"):
        service.resolve_peer(READER, "e" * 64)


def test_a_node_without_federation_file_keeps_no_directory(
        repository: InMemoryNodeDirectoryRepository) -> None:
    service = NodeDirectoryService(repository, None, Clock())
    changes: list[Callable[[], object]] = [
        lambda: service.register_node(KREIS, hilden()),
        lambda: service.approve_node(KREIS, "stadt-hilden"),
        lambda: service.revoke_node(KREIS, "stadt-hilden", "Grund")]
    for change in changes:
        with pytest.raises(FailedPrecondition, match="kein Knotenverzeichnis"):
            change()
    assert service.list_nodes(READER) == []
