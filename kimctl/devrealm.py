"""The local Keycloak's realms (the development realm services/identity/realms/kim.json, and the
realm of a local federation applied with `kim identity apply`): reading the secret that Keycloak
generated for a node's service account, through the admin API with the local bootstrap admin.
For local runs and tests only (`kim node init --federation-file` writes it to the node's
`client-secret` file); production nodes get their secret file from the operator
(`KIM_CLIENT_SECRET_FILE`)."""

from __future__ import annotations

import os

from keycloak import KeycloakAdmin

from kimnetz.runtime.settings import Settings


def admin(settings: Settings) -> KeycloakAdmin:
    return KeycloakAdmin(
        server_url=settings.keycloak_url.rstrip("/") + "/",
        username=os.environ.get("KIM_KEYCLOAK_ADMIN_USER", "admin"),
        password=os.environ.get("KIM_KEYCLOAK_ADMIN_PASSWORD", "admin"),
        realm_name=settings.keycloak_realm,
        user_realm_name="master",
        timeout=10,
    )


def client_secret(settings: Settings, client_id: str | None = None) -> str:
    """The secret of a confidential client of the realm, as Keycloak generated it."""
    keycloak = admin(settings)
    internal_id = keycloak.get_client_id(client_id or settings.client_id)
    if internal_id is None:
        raise LookupError(f"client {client_id or settings.client_id!r} not in realm")
    secret: str = keycloak.get_client_secrets(internal_id)["value"]
    return secret


def settings_with_secret(settings: Settings) -> Settings:
    if settings.client_secret:
        return settings
    return settings.model_copy(update={"client_secret": client_secret(settings)})
