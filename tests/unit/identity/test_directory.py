"""Rules of the node directory: who registers, approves and revokes which node, and that a
certificate fingerprint names one node only."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from kimnetz.errors import FailedPrecondition, InvalidArgument, PermissionDenied
from services.identity import directory
from services.identity.directory import (
    ACTIVE,
    PENDING,
    REVOKED,
    Actor,
    DirectoryNode,
    RegisterNode,
    members_of,
)

NOW = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
FP_HILDEN = "a" * 64
FP_HILDEN_NEW = "b" * 64
FP_CARITAS = "c" * 64
FP_DECLARED = "d" * 64

MEMBERS = members_of(
    [("kreis-mettmann", "district"), ("stadt-hilden", "municipality"),
     ("caritas-mettmann", "welfare_org"), ("verein", "partner")],
    [("kreis-mettmann", "kreis-mettmann", ()), ("stadt-hilden", "stadt-hilden", ()),
     ("caritas-mettmann", "caritas-mettmann", (FP_DECLARED.upper(),))],
)


def admin(organization: str, *roles: str) -> Actor:
    return Actor(f"sub-{organization}", f"admin@{organization}", organization,
                 frozenset(roles or ("node_admin",)))


KREIS, HILDEN, CARITAS = admin("kreis-mettmann"), admin("stadt-hilden"), admin("caritas-mettmann")


def command(**overrides: object) -> RegisterNode:
    base = RegisterNode("stadt-hilden", "stadt-hilden", "municipality", "kim.hilden.de:443",
                        "kim.hilden.de:8443", (FP_HILDEN,))
    return replace(base, **overrides)  # type: ignore[arg-type]


def nobody_owns(_: str) -> str | None:
    return None


def register(actor: Actor, existing: DirectoryNode | None = None, owner=nobody_owns,  # type: ignore[no-untyped-def]
             **overrides: object) -> DirectoryNode:
    return directory.register(existing, command(**overrides), actor, MEMBERS, owner, NOW)


def test_node_admin_registers_own_organisations_node_which_waits_for_the_kreis() -> None:
    node = register(HILDEN)
    assert (node.status, node.organization, node.fingerprints) == (PENDING, "stadt-hilden", (FP_HILDEN,))
    assert node.history[0].by == "admin@stadt-hilden"


def test_kreis_node_admin_registers_any_node_active_at_once() -> None:
    assert register(KREIS).status == ACTIVE


def test_fingerprints_declared_in_the_federation_file_need_no_approval() -> None:
    node = register(CARITAS, node_id="caritas-mettmann", organization="caritas-mettmann",
                    role="welfare_org", fingerprints=(":".join(["DD"] * 32),))
    assert node.status == ACTIVE and node.fingerprints == (FP_DECLARED,)


def test_node_admin_of_another_organisation_is_refused() -> None:
    with pytest.raises(PermissionDenied, match="nur Knoten Ihrer Organisation"):
        register(CARITAS)


def test_case_manager_without_node_admin_is_refused() -> None:
    with pytest.raises(PermissionDenied, match="Administration eines Knotens"):
        register(admin("stadt-hilden", "case_manager"))


def test_node_missing_from_the_federation_file_is_refused() -> None:
    with pytest.raises(InvalidArgument) as raised:
        register(KREIS, node_id="stadt-ratingen")
    assert raised.value.violations[0].field == "node_id"


def test_bad_role_endpoint_and_fingerprint_are_reported_together() -> None:
    with pytest.raises(InvalidArgument) as raised:
        register(HILDEN, role="welfare_org", api_endpoint="hilden", fingerprints=("xyz",))
    fields = {v.field for v in raised.value.violations}
    assert fields == {"role", "api_endpoint", "certificate_fingerprints[0]"}


def test_partner_organisations_run_no_node() -> None:
    with pytest.raises(InvalidArgument) as raised:
        register(KREIS, node_id="verein", organization="verein", role="partner")
    assert any(v.field == "role" for v in raised.value.violations)


def test_fingerprint_of_another_node_is_refused() -> None:
    with pytest.raises(FailedPrecondition, match="gehört zum Knoten caritas-mettmann"):
        register(HILDEN, owner=lambda f: "caritas-mettmann" if f == FP_HILDEN else None)


def test_too_many_fingerprints_are_refused() -> None:
    with pytest.raises(InvalidArgument, match="Höchstens"):
        register(HILDEN, fingerprints=tuple(str(i) * 64 for i in range(4)))


def test_rotation_keeps_status_and_retires_the_old_fingerprint() -> None:
    node = replace(register(KREIS), version=1)
    both = register(HILDEN, existing=node, fingerprints=(FP_HILDEN, FP_HILDEN_NEW))
    rotated = register(HILDEN, existing=both, fingerprints=(FP_HILDEN_NEW,))
    assert rotated.status == ACTIVE
    assert rotated.fingerprints == (FP_HILDEN_NEW,) and rotated.retired_fingerprints == (FP_HILDEN,)
    assert rotated.history[-1].reason == "Zertifikat gewechselt"


def test_kreis_approves_a_pending_node_and_others_cannot() -> None:
    pending = register(HILDEN)
    with pytest.raises(PermissionDenied, match="Kreises"):
        directory.approve(pending, HILDEN, MEMBERS, NOW)
    approved = directory.approve(pending, KREIS, MEMBERS, NOW, "geprüft")
    assert approved.status == ACTIVE and approved.history[-1].reason == "geprüft"
    with pytest.raises(FailedPrecondition, match="bereits freigegeben"):
        directory.approve(approved, KREIS, MEMBERS, NOW)


def test_revocation_by_the_kreis_or_the_own_organisation_only() -> None:
    node = register(KREIS)
    with pytest.raises(PermissionDenied, match="nur der Kreis"):
        directory.revoke(node, CARITAS, MEMBERS, NOW, "Verdacht")
    with pytest.raises(InvalidArgument):
        directory.revoke(node, KREIS, MEMBERS, NOW, " ")
    revoked = directory.revoke(node, HILDEN, MEMBERS, NOW, "Schlüssel verloren")
    assert revoked.status == REVOKED
    assert [h.status for h in revoked.history] == [ACTIVE, REVOKED]
    with pytest.raises(FailedPrecondition, match="bereits widerrufen"):
        directory.revoke(revoked, KREIS, MEMBERS, NOW, "nochmal")


def test_revoked_node_comes_back_only_through_the_kreis() -> None:
    revoked = directory.revoke(register(KREIS), KREIS, MEMBERS, NOW, "Wartung")
    with pytest.raises(FailedPrecondition, match="nur der Kreis"):
        register(HILDEN, existing=revoked, fingerprints=(FP_HILDEN_NEW,))
    assert directory.approve(revoked, KREIS, MEMBERS, NOW).status == ACTIVE


def test_node_keeps_its_organisation_when_the_file_moves_it() -> None:
    """A node id re-declared for another organisation does not hand over the entry."""
    node = register(KREIS)
    moved = members_of([("kreis-mettmann", "district"), ("caritas-mettmann", "welfare_org")],
                       [("stadt-hilden", "caritas-mettmann", ())])
    with pytest.raises(PermissionDenied, match="gehört zu stadt-hilden"):
        directory.register(node, command(organization="caritas-mettmann", role="welfare_org"),
                           KREIS, moved, nobody_owns, NOW)
