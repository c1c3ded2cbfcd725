"""`apply` against the real Keycloak: idempotent, resumable, and disabling (never deleting)
organisations that leave the file."""

from __future__ import annotations

from dataclasses import replace

import pytest

from services.identity.keycloak_sync import KeycloakSync, KeycloakUnavailable
from tests.support.identity import ADMIN_PASSWORD, ADMIN_USER, LocalFederation, LoginFailed


def test_second_apply_changes_nothing(local_federation: LocalFederation) -> None:
    again = local_federation.sync.apply(local_federation.federation)
    assert again.changes == []
    assert local_federation.sync.plan(local_federation.federation).changes == []


def test_applied_realm_has_organisations_with_domains_and_linked_idps(
    local_federation: LocalFederation,
) -> None:
    admin = local_federation.sync.admin(local_federation.realm)
    organizations = {o["alias"]: o for o in admin.get_organizations({"briefRepresentation": "false"})}
    hilden = organizations["stadt-hilden"]
    assert hilden["enabled"] is True
    assert [d["name"] for d in hilden["domains"]] == ["hilden.de"]
    assert hilden["attributes"]["kim.type"] == ["municipality"]
    assert [i["alias"] for i in admin.get_organization_idps(hilden["id"])] == ["stadt-hilden-idp"]
    assert {"case_manager", "node_admin"} <= {r["name"] for r in admin.get_realm_roles()}


def test_plan_of_a_new_federation_lists_changes_and_writes_nothing(
    local_federation: LocalFederation,
) -> None:
    federation = local_federation.federation.renamed("plan")
    changes = local_federation.sync.plan(federation).changes
    assert any(c.kind == "Broker-Realm" and c.action == "create" for c in changes)
    assert not local_federation.sync.realm_exists(federation.realm)


def test_keycloak_down_gives_a_clear_error_and_a_rerun_completes(tmp_path: object) -> None:
    federation = LocalFederation.start()  # the real server, own realms
    try:
        down = KeycloakSync("http://127.0.0.1:9", admin_user=ADMIN_USER, admin_password=ADMIN_PASSWORD,
                            passwords=federation.sync.passwords, timeout=2)
        with pytest.raises(KeycloakUnavailable, match="nicht erreichbar"):
            down.apply(federation.federation)
        assert federation.sync.apply(federation.federation).changes == []

        # Removing Caritas from the file disables it (and its IdP); nothing is deleted.
        before = federation.token_for("caritas-mettmann", "m.beratung")
        smaller = replace(federation.federation, organizations=tuple(
            o for o in federation.federation.organizations if o.alias != "caritas-mettmann"),
            nodes=tuple(n for n in federation.federation.nodes if n.organization != "caritas-mettmann"))
        changes = federation.sync.apply(smaller).changes
        assert {(c.action, c.kind, c.name) for c in changes} >= {
            ("disable", "Organisation", "caritas-mettmann"),
            ("disable", "Identitätsanbieter", "caritas-mettmann-idp"),
            ("disable", "Client", "kim-node-caritas-mettmann"),
        }
        assert federation.sync.apply(smaller).changes == []
        admin = federation.sync.admin(federation.realm)
        assert any(o["alias"] == "caritas-mettmann" and not o["enabled"] for o in admin.get_organizations())
        with pytest.raises(LoginFailed):
            federation.login("caritas-mettmann", "m.beratung")
        assert before  # issued before: refused by the api processes (test_grpc_service.py)
    finally:
        federation.close()
