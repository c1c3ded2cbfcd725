"""The portal's settings: the node's settings (`kimnetz.runtime.settings.Settings`, the same
environment and node.env as the api and worker) plus what only the portal reads (`KIM_PORTAL_*`).

`kim node init` writes the portal's port, its Keycloak client and secret file and the
organisation's home identity provider (`kc_idp_hint`) into the node's configuration; the portal
itself never reads the federation file (services do not import each other)."""

from __future__ import annotations

from pydantic import Field

from kimnetz.runtime.settings import Settings


class PortalSettings(Settings):
    portal_host: str = Field("127.0.0.1", description="Where the portal listens.")
    portal_port: int = Field(8400, ge=0, le=65535, description="The portal's HTTP port.")
    portal_public_url: str = Field(
        "", description="The address people open (https://portal.kreis-mettmann.de); empty: "
        "http://<portal_host>:<portal_port>. Cookies are Secure when it starts with https.")
    portal_client_id: str = Field(
        "", description="The portal's confidential Keycloak client (kim-portal-<node>, created by "
        "`kim identity apply`).")
    portal_client_secret: str = Field("", repr=False, description="Its secret (or _FILE).")
    portal_idp_hint: str = Field(
        "", description="Alias of the organisation's home identity provider (kc_idp_hint): a "
        "Caritas case manager lands at the Caritas login.")
    portal_hosted_logins: str = Field(
        "", description="Other organisations whose people work on this node's portal, as "
        "'idp-alias|Name' separated by commas (a Kreis's Ausländerbehörde without a node of its "
        "own); the login then lets each person choose her home login.")
    portal_organization_name: str = Field(
        "", description="The organisation's name as people read it (from the federation file).")
    @property
    def hosted_logins(self) -> list[tuple[str, str]]:
        """(identity provider alias, organisation name) of the hosted organisations."""
        found = []
        for entry in self.portal_hosted_logins.split(","):
            alias, _, name = entry.strip().partition("|")
            if alias.strip():
                found.append((alias.strip(), name.strip() or alias.strip()))
        return found

    portal_session_secret: str = Field(
        "", repr=False, description="Key that signs CSRF tokens; empty: a random one per process "
        "start (forms open across a restart are then refused once).")
    portal_session_hours: float = Field(
        10.0, gt=0, le=24, description="Longest life of a portal session (a working day); "
        "Keycloak's own session may end it earlier.")
    portal_api_target: str = Field(
        "", description="host:port of the node's gRPC api; empty: grpc_host:grpc_port.")
    portal_api_targets: str = Field(
        "", description="Where a node with an api process per service serves each: "
        "'case=case:50051,conference=conference:50051,...'; a service not named is at "
        "portal_api_target (Kubernetes base layout: one Service per service).")
    portal_api_timeout_seconds: float = Field(10.0, gt=0, le=120)
    portal_threads: int = Field(8, ge=1, le=64, description="waitress worker threads.")
    portal_static_dir: str = Field(
        "", description="Folder holding node_modules/@kern-ux/native; empty: services/portal.")

    @property
    def public_url(self) -> str:
        return (self.portal_public_url or f"http://{self.portal_host}:{self.portal_port}").rstrip("/")

    @property
    def secure_cookies(self) -> bool:
        return self.public_url.startswith("https://")

    @property
    def api_target(self) -> str:
        return self.portal_api_target or f"{self.grpc_host}:{self.grpc_port}"

    def target_of(self, service: str) -> str:
        """host:port of the api process that serves `service` (case, conference, documents, identity)."""
        for entry in self.portal_api_targets.split(","):
            name, _, target = entry.strip().partition("=")
            if name.strip() == service and target.strip():
                return target.strip()
        return self.api_target

    @property
    def organization_name(self) -> str:
        return self.portal_organization_name or self.organization_id
