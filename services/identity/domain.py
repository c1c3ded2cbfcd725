"""The federation as the Kreis's IT operator declares it: broker realm, organisations with their
home identity providers and role mappings, the clients every node needs, and the nodes.

Pure data and rules (stdlib only): the YAML reader (`federation.py`) builds it, the Keycloak
adapter (`keycloak_sync.py`) makes Keycloak match it, the node directory serves its nodes.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

ORGANIZATION_TYPES = ("district", "municipality", "welfare_org", "immigration_office", "partner")

#: Realm roles of every KIM federation (DOMAIN.md), with their German descriptions.
REALM_ROLES: dict[str, str] = {
    "case_manager": "Case Manager*in",
    "coordinator": "Koordinator*in (Fachaufsicht)",
    "immigration_liaison": "Integrationslots*in der Ausländerbehörde",
    "steering_member": "Mitglied der Lenkungsgruppe",
    "clerk": "Verwaltung / Ratsbüro",
    "data_protection_officer": "Datenschutzbeauftragte*r",
    "node_admin": "Administration eines Knotens",
}

IDP_PROTOCOLS = ("oidc", "saml")


@dataclass(frozen=True)
class RoleMapping:
    """A home-IdP claim (OIDC) or attribute (SAML) value that grants a realm role, e.g. members
    of the AD group `ki-koordination` become `coordinator`."""

    claim: str
    value: str
    role: str


@dataclass(frozen=True)
class LocalUser:
    """A test user of a local home realm (development and tests only). No password here: the
    apply step generates one or reads it from the environment (see docs/identity.md)."""

    username: str
    first_name: str
    last_name: str
    email: str
    groups: tuple[str, ...] = ()


@dataclass(frozen=True)
class LocalRealm:
    """A home IdP simulated by another realm of the same Keycloak, so brokered login is real."""

    realm: str
    users: tuple[LocalUser, ...] = ()
    groups_claim: str = "groups"


@dataclass(frozen=True)
class IdentityProvider:
    """An organisation's own login: OIDC (Keycloak, Entra ID, ...) or SAML (ADFS).

    The client secret of an OIDC IdP is never in the file: `client_secret_env` names the
    environment variable that holds it (or `<NAME>_FILE` a file with it)."""

    alias: str
    protocol: str
    display_name: str
    # OIDC
    issuer: str = ""
    authorization_url: str = ""
    token_url: str = ""
    jwks_url: str = ""
    client_id: str = ""
    client_secret_env: str = ""
    # SAML
    entity_id: str = ""
    sso_url: str = ""
    signing_certificate: str = ""
    # development: home realm in the same Keycloak
    local_realm: LocalRealm | None = None


@dataclass(frozen=True)
class Organization:
    alias: str
    type: str
    name: str
    domains: tuple[str, ...]
    identity_provider: IdentityProvider
    role_mappings: tuple[RoleMapping, ...] = ()
    description: str = ""


@dataclass(frozen=True)
class Node:
    """A node of the federation: which organisation runs it, where its gRPC api listens and
    which certificate fingerprints (SHA-256 of the DER, hex) its mTLS identity may present."""

    id: str
    organization: str
    grpc_endpoint: str
    certificate_fingerprints: tuple[str, ...] = ()
    #: Where people open the node's portal (https://portal.example.de); empty: on this
    #: machine's loopback address, any port (development, tests, the demo).
    portal_url: str = ""

    @property
    def client_id(self) -> str:
        return f"kim-node-{self.id}"

    @property
    def portal_client_id(self) -> str:
        """The portal's confidential login client (docs/portal.md)."""
        return f"kim-portal-{self.id}"

    @property
    def portal_base(self) -> str:
        """The portal's address for its redirect URIs; Keycloak matches a registered
        http://127.0.0.1 address with any port (RFC 8252 loopback redirects)."""
        return self.portal_url.rstrip("/") or "http://127.0.0.1"


@dataclass(frozen=True)
class Clients:
    """Client ids every node shares: the api audience and the public login client."""

    api: str = "kim-api"
    login: str = "kim-cli"
    login_redirect_uris: tuple[str, ...] = ("http://127.0.0.1/*", "http://localhost/*")


@dataclass(frozen=True)
class Federation:
    realm: str
    display_name: str
    organizations: tuple[Organization, ...]
    nodes: tuple[Node, ...] = ()
    clients: Clients = field(default_factory=Clients)
    access_token_lifespan: int = 300

    def organization(self, alias: str) -> Organization:
        for organization in self.organizations:
            if organization.alias == alias:
                return organization
        raise KeyError(alias)

    def local_realms(self) -> list[LocalRealm]:
        return [
            o.identity_provider.local_realm for o in self.organizations
            if o.identity_provider.local_realm is not None
        ]

    def renamed(self, suffix: str) -> Federation:
        """The same federation with every realm name suffixed: tests run many federations side
        by side on one Keycloak, and realm names are the only server-wide names."""
        organizations = []
        for o in self.organizations:
            idp = o.identity_provider
            if idp.local_realm is not None:
                idp = replace(idp, local_realm=replace(
                    idp.local_realm, realm=f"{idp.local_realm.realm}-{suffix}"))
            organizations.append(replace(o, identity_provider=idp))
        return replace(self, realm=f"{self.realm}-{suffix}", organizations=tuple(organizations))
