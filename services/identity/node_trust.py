"""What a node trusts, as the composition root (kimnetz/bootstrap.py) wires it into an api process:
the organisations of its federation file for the token check, and the node directory for the
peer check of its mutual-TLS port.

`KIM_FEDERATION_FILE` empty is the development realm: no organisation check, no directory.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import ModuleType

from kimnetz.runtime import mongo
from kimnetz.runtime.audit import AuditSink
from kimnetz.runtime.directory_snapshot import DirectoryListing
from kimnetz.runtime.event_trust import DirectoryEntry, entries_of
from kimnetz.runtime.grpc_server import FederationListener
from kimnetz.runtime.peers import DirectoryPeerCheck, PeerResolver
from kimnetz.runtime.pki import NodeCredentials
from kimnetz.runtime.service_account import ServiceAccount
from kimnetz.runtime.settings import Settings
from services.identity import SERVICE, federation as federation_file
from services.identity.directory import NODE_ROLES, Members, members_of
from services.identity.directory_client import RemoteDirectoryListing, RemotePeerResolver
from services.identity.directory_store import MongoNodeDirectoryRepository
from services.identity.domain import Federation
from services.identity.organizations import FederationOrganizations


def load_federation(settings: Settings) -> Federation | None:
    """The node's copy of the federation file; a broken file stops the process with the
    file's problems (line and field), never a node that silently trusts nobody or everyone."""
    if not settings.federation_file:
        return None
    return federation_file.load(settings.federation_file)


def enabled_organizations(settings: Settings) -> FederationOrganizations | None:
    federation = load_federation(settings)
    return FederationOrganizations(federation) if federation is not None else None


def federation_members(settings: Settings) -> Members | None:
    federation = load_federation(settings)
    if federation is None:
        return None
    return members_of(
        [(o.alias, o.type) for o in federation.organizations],
        [(n.id, n.organization, n.certificate_fingerprints) for n in federation.nodes],
        {o.alias: o.name for o in federation.organizations},
    )


def node_credentials(tls_dir: str) -> NodeCredentials:
    """The files `kim node init` writes (kimnetz/runtime/pki.py `save_node_credentials`)."""
    folder = Path(tls_dir)
    return NodeCredentials.from_files(folder / "node.key", folder / "node.crt", folder / "ca.crt")


def federation_listener(settings: Settings, apis: Iterable[ModuleType],
                        audit: AuditSink | None) -> FederationListener | None:
    """The mutual-TLS port (`KIM_FEDERATION_PORT`, certificate from `KIM_TLS_DIR`), serving the
    services' federation methods (`FEDERATION_METHODS` of each api module) only to peers whose
    certificate the node directory knows as active."""
    if settings.federation_port == 0:
        return None
    if not settings.tls_dir:
        raise ValueError("KIM_FEDERATION_PORT is set but KIM_TLS_DIR names no certificate folder")
    credentials = node_credentials(settings.tls_dir)
    check = DirectoryPeerCheck(peer_resolver(settings, credentials),
                               cache_seconds=settings.peer_cache_seconds, audit=audit)
    return FederationListener(
        f"{settings.grpc_host}:{settings.federation_port}", credentials,
        federation_methods(apis), check, audit)


_METHOD_PATH = re.compile(r"^/[A-Za-z_][\w.]*\.[A-Za-z_]\w*/[A-Za-z_]\w*$")


def federation_methods(apis: Iterable[ModuleType]) -> dict[str, frozenset[str] | None]:
    """The api modules' `FEDERATION_METHODS` merged: full method path -> roles (or None)."""
    methods: dict[str, frozenset[str] | None] = {}
    for api in apis:
        declared = getattr(api, "FEDERATION_METHODS", {})
        if not isinstance(declared, Mapping):
            raise TypeError(f"{api.__name__}.FEDERATION_METHODS must map method paths to "
                            "frozensets of node roles (or None)")
        for method, roles in declared.items():
            if not _METHOD_PATH.match(method):
                raise ValueError(f"{api.__name__}.FEDERATION_METHODS: {method!r} is no full "
                                 "method path like '/kim.case.v1.CaseFederation/GetFigures'")
            unknown = sorted(set(roles or ()) - set(NODE_ROLES))
            if unknown:
                raise ValueError(f"{api.__name__}.FEDERATION_METHODS[{method!r}]: unknown node "
                                 f"roles {', '.join(unknown)} (known: {', '.join(NODE_ROLES)})")
            methods[method] = frozenset(roles) if roles is not None else None
    return methods


def peer_resolver(settings: Settings, credentials: NodeCredentials) -> PeerResolver:
    """The Kreis node reads its own directory; every other node asks the Kreis node
    (`KIM_DIRECTORY_TARGET`) with its certificate and its service-account token."""
    if settings.directory_target:
        account = ServiceAccount(settings.keycloak_url, settings.keycloak_realm,
                                 settings.client_id, settings.client_secret)
        return RemotePeerResolver(settings.directory_target, credentials, account.token)
    mongo.connect(settings, SERVICE)
    return MongoNodeDirectoryRepository().peer


def directory_listing(settings: Settings) -> DirectoryListing | None:
    """Where the api process reads the node directory for the workers' snapshot (event
    verification): the Kreis node its own identity database, every other member the Kreis's
    `ListNodes` over mutual TLS; None off a federation (no directory, nothing to copy)."""
    if not settings.federation_file:
        return None
    if settings.directory_target:
        if not settings.tls_dir:
            raise ValueError("KIM_DIRECTORY_TARGET is set but KIM_TLS_DIR names no certificate folder")
        account = ServiceAccount(settings.keycloak_url, settings.keycloak_realm,
                                 settings.client_id, settings.client_secret)
        return RemoteDirectoryListing(settings.directory_target,
                                      node_credentials(settings.tls_dir), account.token)
    mongo.connect(settings, SERVICE)
    store = MongoNodeDirectoryRepository()

    def local() -> list[DirectoryEntry]:
        nodes = store.list()
        # A rotated-away certificate stays in the snapshot as revoked: refused, never unknown.
        return [*entries_of((n.node_id, n.organization, n.role, n.status, n.fingerprints)
                            for n in nodes),
                *entries_of((n.node_id, n.organization, n.role, "revoked", n.retired_fingerprints)
                            for n in nodes)]

    return local
