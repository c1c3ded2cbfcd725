"""The local federation for the benchmark: services/identity/federations/local.yaml applied to the
local Keycloak with the identity service's sync code (as `kim demo` does), but under unique realm
names and with the bench's own node ids, so the demo's realms, passwords and nodes are never
touched; the realms are deleted afterwards. People log in through the broker (kimctl/devlogin.py),
so the tokens carry what Keycloak really puts there."""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from kimctl import devlogin
from services.identity import federation as federation_file
from services.identity.domain import Federation
from services.identity.keycloak_sync import KeycloakSync, LocalPasswords

LOCAL_FILE = Path(__file__).resolve().parents[1] / "services" / "identity" / "federations" / "local.yaml"


def unique_file(target: Path, suffix: str, nodes: dict[str, tuple[str, int]]) -> Path:
    """local.yaml with every realm suffixed and its nodes replaced by the bench's
    (`node id -> (organisation, gRPC port)`); the node processes read this copy themselves."""
    data = yaml.safe_load(LOCAL_FILE.read_text(encoding="utf-8"))
    data["realm"] = f"{data['realm']}-{suffix}"
    for organization in data["organizations"]:
        local = organization["identity_provider"].get("local_realm")
        if local is not None:
            local["realm"] = f"{local['realm']}-{suffix}"
    data["nodes"] = [{"id": node_id, "organization": organization, "grpc_endpoint": f"127.0.0.1:{port}"}
                     for node_id, (organization, port) in nodes.items()]
    target.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return target


@dataclass
class BenchFederation:
    path: Path
    server_url: str
    federation: Federation
    sync: KeycloakSync
    _tokens: dict[tuple[str, str], tuple[float, str]] = field(default_factory=dict)

    @classmethod
    def apply(cls, path: Path, server_url: str, home: Path) -> BenchFederation:
        federation = federation_file.load(path)
        sync = KeycloakSync(server_url,
                            admin_user=os.environ.get("KIM_KEYCLOAK_ADMIN_USER", "admin"),
                            admin_password=os.environ.get("KIM_KEYCLOAK_ADMIN_PASSWORD", "admin"),
                            passwords=LocalPasswords(devlogin.passwords_file(home)))
        sync.apply(federation)
        return cls(path, server_url, federation, sync)

    @property
    def users(self) -> devlogin.LocalUsers:
        return devlogin.LocalUsers(self.server_url, self.federation, self.sync.passwords)

    def token(self, organization: str, role: str) -> str:
        """An access token of the organisation's test user with `role`; a new brokered login
        when the cached one is older than 4 minutes (the realm's tokens live 5)."""
        key = (organization, role)
        cached = self._tokens.get(key)
        if cached is None or time.monotonic() - cached[0] > 240:
            users = self.users
            login: dict[str, Any] = users.login(organization, users.holder_of(organization, role))
            cached = (time.monotonic(), str(login["access_token"]))
            self._tokens[key] = cached
        return cached[1]

    def metadata(self, organization: str, role: str) -> tuple[tuple[str, str], ...]:
        return (("authorization", f"Bearer {self.token(organization, role)}"),)

    def close(self) -> None:
        admin = self.sync.admin("master")
        for realm in [self.federation.realm, *(r.realm for r in self.federation.local_realms())]:
            with contextlib.suppress(Exception):  # a realm already gone is what we want
                admin.delete_realm(realm)
