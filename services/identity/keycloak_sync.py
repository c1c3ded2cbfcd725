"""Making a Keycloak match a federation file (`kim identity plan|apply`), with python-keycloak.

Reconciliation, not replay: every step reads what Keycloak has, compares the fields this module
manages and changes only what differs, so a second apply changes nothing and a re-run after an
interruption (Keycloak down half-way) completes the job. `plan` walks the same steps without
writing. Organisations missing from the file are disabled, never deleted; their node clients too.

Only the IT operator's admin account reaches this room (Keycloak admin API).
"""

from __future__ import annotations

import json
import os
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from keycloak import KeycloakAdmin
from keycloak.exceptions import KeycloakConnectionError, KeycloakError, KeycloakGetError

from services.identity.domain import REALM_ROLES, Federation, IdentityProvider, LocalRealm, Organization

BROKER_CLIENT = "kim-broker"  # the broker's client in a local home realm
ROLE_MAPPER_PREFIX = "kim-role-"
PASSWORD_ENV = "KIM_LOCAL_USER_PASSWORD"  # noqa: S105 - the name of a variable


class KeycloakUnavailable(Exception):
    """Keycloak did not answer; apply is idempotent, so re-running it completes the job."""


class ApplyError(Exception):
    """Keycloak refused a change (message says which)."""


@dataclass(frozen=True)
class Change:
    action: str  # create | update | disable | remove
    kind: str
    name: str
    detail: str = ""

    def __str__(self) -> str:
        labels = {"create": "anlegen", "update": "ändern", "disable": "deaktivieren", "remove": "entfernen"}
        text = f"{labels.get(self.action, self.action):12} {self.kind} {self.name}"
        return f"{text} ({self.detail})" if self.detail else text


@dataclass
class Result:
    changes: list[Change] = field(default_factory=list)
    seconds: float = 0.0


class LocalPasswords:
    """Passwords of local test users: generated once (or taken from `KIM_LOCAL_USER_PASSWORD`),
    kept in a JSON file readable only by its owner, never committed."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def read(self) -> dict[str, dict[str, str]]:
        try:
            data: dict[str, dict[str, str]] = json.loads(self.path.read_text(encoding="utf-8"))
            return data
        except FileNotFoundError:
            return {}

    def get(self, realm: str, username: str) -> str | None:
        return self.read().get(realm, {}).get(username)

    def new(self, realm: str, username: str) -> str:
        password = os.environ.get(PASSWORD_ENV) or secrets.token_urlsafe(18)
        data = self.read()
        data.setdefault(realm, {})[username] = password
        self.path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as out:
            json.dump(data, out, indent=2, ensure_ascii=False)
        os.chmod(self.path, 0o600)
        return password


def differs(desired: Any, actual: Any) -> bool:
    """Whether the managed part (`desired`) differs from Keycloak's representation; fields
    Keycloak adds are ignored, lists of scalars compare as sets."""
    if isinstance(desired, dict):
        if not isinstance(actual, dict):
            return True
        return any(differs(v, actual.get(k)) for k, v in desired.items())
    if isinstance(desired, list | tuple):
        if not isinstance(actual, list):
            return bool(desired)
        if all(not isinstance(x, dict) for x in desired):
            return set(map(str, desired)) != set(map(str, actual))
        return len(desired) != len(actual) or any(
            differs(d, a) for d, a in zip(desired, actual, strict=False))
    if isinstance(desired, bool):
        return desired != actual and str(desired).lower() != str(actual).lower()
    return str(desired) != str(actual) if actual is not None else True


def _audience_mapper(audience: str) -> dict[str, Any]:
    return {
        "name": f"audience {audience}", "protocol": "openid-connect",
        "protocolMapper": "oidc-audience-mapper",
        "config": {"included.client.audience": audience, "access.token.claim": "true",
                   "id.token.claim": "false", "introspection.token.claim": "true"},
    }


def _hardcoded_claim(name: str, claim: str, value: str, json_type: str) -> dict[str, Any]:
    return {
        "name": name, "protocol": "openid-connect", "protocolMapper": "oidc-hardcoded-claim-mapper",
        "config": {"claim.name": claim, "claim.value": value, "jsonType.label": json_type,
                   "access.token.claim": "true", "id.token.claim": "false",
                   "introspection.token.claim": "true", "userinfo.token.claim": "false"},
    }


class KeycloakSync:
    """Plans and applies a federation against one Keycloak server."""

    def __init__(
        self, server_url: str, *, admin_user: str, admin_password: str,
        passwords: LocalPasswords | None = None, timeout: int = 10,
    ) -> None:
        self.server_url = server_url.rstrip("/")
        self._admin_user = admin_user
        self._admin_password = admin_password
        self._timeout = timeout
        self._admin: KeycloakAdmin | None = None
        self.passwords = passwords or LocalPasswords(Path(".kim/identity/passwords.json"))

    # --- entry points -----------------------------------------------------------------------

    def plan(self, federation: Federation) -> Result:
        return self._run(federation, dry_run=True)

    def apply(self, federation: Federation) -> Result:
        return self._run(federation, dry_run=False)

    def _run(self, federation: Federation, *, dry_run: bool) -> Result:
        started = time.monotonic()
        result = Result()
        try:
            _Reconciler(self, federation, dry_run, result.changes).run()
        except (KeycloakConnectionError, requests.ConnectionError, requests.Timeout) as exc:
            done = "" if dry_run else (
                f" {len(result.changes)} Änderungen waren schon angewendet; "
                "erneutes Ausführen vervollständigt den Abgleich.")
            raise KeycloakUnavailable(
                f"Keycloak unter {self.server_url} ist nicht erreichbar ({type(exc).__name__}).{done}"
            ) from exc
        except KeycloakError as exc:
            raise ApplyError(
                f"Keycloak hat eine Änderung abgelehnt (HTTP {exc.response_code}): "
                f"{exc.error_message!s}"
            ) from exc
        result.seconds = time.monotonic() - started
        return result

    def admin(self, realm: str) -> KeycloakAdmin:
        if self._admin is None:
            self._admin = KeycloakAdmin(
                server_url=self.server_url + "/", username=self._admin_user,
                password=self._admin_password, realm_name="master", user_realm_name="master",
                timeout=self._timeout,
            )
        self._admin.change_current_realm(realm)
        return self._admin

    def realm_exists(self, realm: str) -> bool:
        try:
            self.admin("master").get_realm(realm)
            return True
        except KeycloakGetError as exc:
            if exc.response_code == 404:
                return False
            raise

    def disable_organization(self, realm: str, alias: str) -> None:
        """Used by tests and operators: the same as removing it from the file."""
        admin = self.admin(realm)
        for org in admin.get_organizations({"search": alias, "exact": "true"}):
            if org["alias"] == alias:
                admin.update_organization(org["id"], {**org, "enabled": False})


class _Reconciler:
    def __init__(self, sync: KeycloakSync, federation: Federation, dry_run: bool,
                 changes: list[Change]) -> None:
        self.sync = sync
        self.fed = federation
        self.dry_run = dry_run
        self.changes = changes

    def step(self, change: Change, action: Callable[..., object]) -> None:
        # `...`: the actions are lambdas that bind their loop variables as defaults; called bare.
        self.changes.append(change)
        if not self.dry_run:
            action()

    def run(self) -> None:
        for org in self.fed.organizations:
            local = org.identity_provider.local_realm
            if local is not None:
                self.home_realm(org, local)
        fresh = self.broker_realm()
        self.roles(fresh)
        self.clients(fresh)
        for org in self.fed.organizations:
            self.identity_provider(org, fresh)
        self.organizations(fresh)

    # --- local home realms (development and tests) -----------------------------------------

    def broker_endpoint(self, idp_alias: str) -> str:
        return f"{self.sync.server_url}/realms/{self.fed.realm}/broker/{idp_alias}/endpoint"

    def home_realm(self, org: Organization, local: LocalRealm) -> None:
        name = local.realm
        if not self.sync.realm_exists(name):
            self.step(Change("create", "Heimat-Realm", name, org.alias), lambda: self.sync.admin("master")
                      .create_realm({"realm": name, "enabled": True,
                                     "displayName": org.identity_provider.display_name}))
            if self.dry_run:
                self.changes.append(Change("create", "Heimat-Client", f"{name}/{BROKER_CLIENT}"))
                self.changes.extend(Change("create", "Testnutzer*in", f"{name}/{u.username}")
                                    for u in local.users)
                return
        admin = self.sync.admin(name)
        groups = {g["name"]: g["id"] for g in admin.get_groups()}
        for group in sorted({g for u in local.users for g in u.groups} - set(groups)):
            self.step(Change("create", "Gruppe", f"{name}/{group}"),
                      lambda group=group: admin.create_group({"name": group}))
        groups = {g["name"]: g["id"] for g in admin.get_groups()} if not self.dry_run else groups
        client = {
            "clientId": BROKER_CLIENT, "name": f"KIM-Netz Broker {self.fed.realm}", "enabled": True,
            "publicClient": False, "standardFlowEnabled": True, "directAccessGrantsEnabled": False,
            "redirectUris": [self.broker_endpoint(org.identity_provider.alias)],
            "protocol": "openid-connect",
            # Logout at a portal ends the home session too: the broker sends the browser to the
            # home realm's logout, which returns it to the broker's logout_response.
            "attributes": {"post.logout.redirect.uris":
                           self.broker_endpoint(org.identity_provider.alias) + "/logout_response"},
        }
        groups_mapper = {
            "name": "groups", "protocol": "openid-connect",
            "protocolMapper": "oidc-group-membership-mapper",
            "config": {"claim.name": local.groups_claim, "full.path": "false", "id.token.claim": "true",
                       "access.token.claim": "true", "userinfo.token.claim": "true"},
        }
        self.client(admin, name, client, [groups_mapper], [])
        for user in local.users:
            self.home_user(admin, name, user, groups)

    def home_user(self, admin: KeycloakAdmin, realm: str, user: Any, groups: dict[str, str]) -> None:
        payload = {"username": user.username, "firstName": user.first_name, "lastName": user.last_name,
                   "email": user.email, "emailVerified": True, "enabled": True}
        found = admin.get_users({"username": user.username, "exact": True})
        if not found:
            self.step(Change("create", "Testnutzer*in", f"{realm}/{user.username}", ", ".join(user.groups)),
                      lambda: admin.create_user(payload))
            if self.dry_run:
                return
            found = admin.get_users({"username": user.username, "exact": True})
        elif differs(payload, found[0]):
            self.step(Change("update", "Testnutzer*in", f"{realm}/{user.username}"),
                      lambda: admin.update_user(found[0]["id"], payload))
        user_id = found[0]["id"]
        if self.sync.passwords.get(realm, user.username) is None:
            self.step(Change("update", "Passwort", f"{realm}/{user.username}", "neu erzeugt"),
                      lambda: admin.set_user_password(
                          user_id, self.sync.passwords.new(realm, user.username), temporary=False))
        have = {g["name"] for g in admin.get_user_groups(user_id)}
        for group in sorted(set(user.groups) - have):
            self.step(Change("update", "Gruppenmitglied", f"{realm}/{user.username}", group),
                      lambda group=group: admin.group_user_add(user_id, groups[group]))

    # --- broker realm -----------------------------------------------------------------------

    def broker_realm(self) -> bool:
        """Returns True when the realm is new in a dry run (nothing below can be read)."""
        name = self.fed.realm
        desired = {"realm": name, "enabled": True, "displayName": self.fed.display_name,
                   "organizationsEnabled": True, "accessTokenLifespan": self.fed.access_token_lifespan,
                   "registrationAllowed": False, "bruteForceProtected": True}
        if not self.sync.realm_exists(name):
            self.step(Change("create", "Broker-Realm", name),
                      lambda: self.sync.admin("master").create_realm(desired))
            return self.dry_run
        actual = self.sync.admin("master").get_realm(name)
        if differs(desired, actual):
            self.step(Change("update", "Broker-Realm", name),
                      lambda: self.sync.admin(name).update_realm(name, desired))
        return False

    def roles(self, fresh: bool) -> None:
        have = {} if fresh else {r["name"]: r for r in self.sync.admin(self.fed.realm).get_realm_roles()}
        for role, description in REALM_ROLES.items():
            payload = {"name": role, "description": description}
            if role not in have:
                self.step(Change("create", "Rolle", role),
                          lambda payload=payload: self.sync.admin(self.fed.realm).create_realm_role(payload))
            elif differs(payload, have[role]):
                self.step(Change("update", "Rolle", role), lambda role=role, payload=payload:
                          self.sync.admin(self.fed.realm).update_realm_role(role, payload))

    def clients(self, fresh: bool) -> None:
        clients = self.fed.clients
        desired: list[tuple[dict[str, Any], list[dict[str, Any]], list[str]]] = [
            ({"clientId": clients.api, "name": "KIM-Netz gRPC-Schnittstellen", "enabled": True,
              "bearerOnly": True, "publicClient": False, "standardFlowEnabled": False,
              "directAccessGrantsEnabled": False, "serviceAccountsEnabled": False}, [], []),
            ({"clientId": clients.login, "name": "KIM-Netz Anmeldung (Kommandozeile, Portal)",
              "enabled": True, "publicClient": True, "standardFlowEnabled": True,
              "directAccessGrantsEnabled": False, "implicitFlowEnabled": False,
              "redirectUris": list(clients.login_redirect_uris),
              "attributes": {"oauth2.device.authorization.grant.enabled": "true",
                             "pkce.code.challenge.method": "S256"}},
             [_audience_mapper(clients.api)], ["organization"]),
        ]
        for node in self.fed.nodes:
            desired.append((
                {"clientId": node.client_id, "name": f"Dienstkonto des Knotens {node.id}", "enabled": True,
                 "publicClient": False, "bearerOnly": False, "serviceAccountsEnabled": True,
                 "standardFlowEnabled": False, "directAccessGrantsEnabled": False,
                 "clientAuthenticatorType": "client-secret"},
                [_audience_mapper(clients.api),
                 # A service account is no organisation member; the node's operator is its
                 # organisation, stated by the federation file.
                 _hardcoded_claim("organization", "organization", json.dumps([node.organization]), "JSON"),
                 _hardcoded_claim("kim node", "kim_node", node.id, "String")],
                [],
            ))
            # The node's portal logs people in with this client (authorization code + PKCE,
            # confidential: the portal is a backend-for-frontend); its access tokens carry the
            # api's audience and the organisation, like the login client's (docs/portal.md).
            base = node.portal_base
            origin = "/".join(base.split("/")[:3])
            desired.append((
                {"clientId": node.portal_client_id, "name": f"Portal des Knotens {node.id}",
                 "enabled": True, "publicClient": False, "bearerOnly": False,
                 "serviceAccountsEnabled": False, "standardFlowEnabled": True,
                 "directAccessGrantsEnabled": False, "implicitFlowEnabled": False,
                 "clientAuthenticatorType": "client-secret", "frontchannelLogout": False,
                 "redirectUris": [f"{base}/anmeldung/zurueck"], "webOrigins": [origin],
                 "attributes": {"pkce.code.challenge.method": "S256",
                                "post.logout.redirect.uris": f"{base}/abgemeldet"}},
                [_audience_mapper(clients.api)],
                ["organization"],
            ))
        if fresh:
            for payload, _, _ in desired:
                self.changes.append(Change("create", "Client", payload["clientId"]))
            return
        admin = self.sync.admin(self.fed.realm)
        for payload, mappers, scopes in desired:
            self.client(admin, self.fed.realm, payload, mappers, scopes)
        wanted = {p["clientId"] for p, _, _ in desired}
        for client in admin.get_clients():
            if client["clientId"].startswith(("kim-node-", "kim-portal-")) \
                    and client["clientId"] not in wanted and client.get("enabled"):
                self.step(Change("disable", "Client", client["clientId"], "Knoten fehlt in der Datei"),
                          lambda client=client: admin.update_client(
                              client["id"], {**client, "enabled": False}))

    def client(self, admin: KeycloakAdmin, realm: str, payload: dict[str, Any],
               mappers: list[dict[str, Any]], default_scopes: list[str]) -> None:
        name = f"{realm}/{payload['clientId']}"
        existing = [c for c in admin.get_clients() if c["clientId"] == payload["clientId"]]
        if not existing:
            self.step(Change("create", "Client", name),
                      lambda: admin.create_client({**payload, "protocolMappers": mappers}))
            if self.dry_run:
                return
            existing = [c for c in admin.get_clients() if c["clientId"] == payload["clientId"]]
        elif differs(payload, existing[0]):
            self.step(Change("update", "Client", name),
                      lambda: admin.update_client(existing[0]["id"], {**existing[0], **payload}))
        internal = existing[0]["id"]
        have = {m["name"]: m for m in admin.get_mappers_from_client(internal)}
        for mapper in mappers:
            if mapper["name"] not in have:
                self.step(Change("create", "Client-Mapper", f"{name}/{mapper['name']}"),
                          lambda mapper=mapper: admin.add_mapper_to_client(internal, mapper))
            elif differs(mapper, have[mapper["name"]]):
                current = have[mapper["name"]]
                self.step(Change("update", "Client-Mapper", f"{name}/{mapper['name']}"),
                          lambda mapper=mapper, current=current: admin.update_client_mapper(
                              internal, current["id"], {**current, **mapper}))
        if default_scopes:
            have_scopes = {s["name"] for s in admin.get_client_default_client_scopes(internal)}
            scope_ids = {s["name"]: s["id"] for s in admin.get_client_scopes()}
            optional = {s["name"] for s in admin.get_client_optional_client_scopes(internal)}
            for scope in default_scopes:
                if scope not in have_scopes:
                    def make_default(scope: str = scope) -> None:
                        # Keycloak keeps a scope either optional or default, so move it.
                        if scope in optional:
                            admin.delete_client_optional_client_scope(internal, scope_ids[scope])
                        admin.add_client_default_client_scope(internal, scope_ids[scope], {})
                    self.step(Change("update", "Client-Scope", f"{name}/{scope}", "Standard"), make_default)

    # --- identity providers -----------------------------------------------------------------

    def idp_payload(self, org: Organization) -> dict[str, Any]:
        idp = org.identity_provider
        common = {"alias": idp.alias, "displayName": idp.display_name, "enabled": True,
                  "trustEmail": True, "storeToken": False, "firstBrokerLoginFlowAlias": "first broker login"}
        if idp.protocol == "saml":
            return {**common, "providerId": "saml", "config": {
                "entityId": f"{self.sync.server_url}/realms/{self.fed.realm}",
                "idpEntityId": idp.entity_id, "singleSignOnServiceUrl": idp.sso_url,
                "signingCertificate": idp.signing_certificate, "validateSignature": "true",
                "postBindingResponse": "true", "postBindingAuthnRequest": "true",
                "nameIDPolicyFormat": "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified",
                "principalType": "SUBJECT", "syncMode": "FORCE",
                "kc.org.domain": org.domains[0], "kc.org.broker.redirect.mode.email-matches": "true",
            }}
        config = self.oidc_endpoints(idp)
        return {**common, "providerId": "oidc", "config": {
            **config, "clientAuthMethod": "client_secret_post", "validateSignature": "true",
            "useJwksUrl": "true", "pkceEnabled": "true", "pkceMethod": "S256",
            "defaultScope": "openid profile email", "syncMode": "FORCE",
            "kc.org.domain": org.domains[0], "kc.org.broker.redirect.mode.email-matches": "true",
        }}

    def oidc_endpoints(self, idp: IdentityProvider) -> dict[str, str]:
        if idp.local_realm is not None:
            base = f"{self.sync.server_url}/realms/{idp.local_realm.realm}"
            proto = f"{base}/protocol/openid-connect"
            return {"issuer": base, "authorizationUrl": f"{proto}/auth", "tokenUrl": f"{proto}/token",
                    "jwksUrl": f"{proto}/certs", "userInfoUrl": f"{proto}/userinfo",
                    "logoutUrl": f"{proto}/logout", "clientId": BROKER_CLIENT}
        return {"issuer": idp.issuer, "authorizationUrl": idp.authorization_url,
                "tokenUrl": idp.token_url, "jwksUrl": idp.jwks_url, "clientId": idp.client_id}

    def idp_secret(self, idp: IdentityProvider) -> str:
        if idp.local_realm is not None:
            admin = self.sync.admin(idp.local_realm.realm)
            internal = admin.get_client_id(BROKER_CLIENT)
            secret: str = admin.get_client_secrets(internal)["value"]
            return secret
        path = os.environ.get(f"{idp.client_secret_env}_FILE")
        if path:
            return Path(path).read_text(encoding="utf-8").strip()
        value = os.environ.get(idp.client_secret_env)
        if not value:
            raise ApplyError(
                f"Das Client-Geheimnis des Identitätsanbieters {idp.alias} fehlt: "
                f"Umgebungsvariable {idp.client_secret_env} (oder {idp.client_secret_env}_FILE) setzen.")
        return value

    def identity_provider(self, org: Organization, fresh: bool) -> None:
        idp = org.identity_provider
        desired = self.idp_payload(org)
        mappers = [{
            "name": f"{ROLE_MAPPER_PREFIX}{m.role}-{m.value}"[:255], "identityProviderAlias": idp.alias,
            "identityProviderMapper": f"{'saml' if idp.protocol == 'saml' else 'oidc'}-role-idp-mapper",
            "config": (
                {"attribute.name": m.claim, "attribute.value": m.value} if idp.protocol == "saml"
                else {"claim": m.claim, "claim.value": m.value}
            ) | {"role": m.role, "syncMode": "FORCE"},
        } for m in org.role_mappings]
        if fresh:
            self.changes.append(Change("create", "Identitätsanbieter", idp.alias, org.alias))
            self.changes.extend(
                Change("create", "Rollen-Mapper", f"{idp.alias}/{m['name']}") for m in mappers)
            return
        admin = self.sync.admin(self.fed.realm)
        existing = {i["alias"]: i for i in admin.get_idps()}
        if idp.alias not in existing:
            def create() -> None:
                payload = {**desired, "config": {**desired["config"]}}
                if idp.protocol == "oidc":
                    payload["config"]["clientSecret"] = self.idp_secret(idp)
                self.sync.admin(self.fed.realm).create_idp(payload)
            self.step(Change("create", "Identitätsanbieter", idp.alias, org.alias), create)
            if self.dry_run:
                self.changes.extend(Change("create", "Rollen-Mapper", f"{idp.alias}/{m['name']}")
                                    for m in mappers)
                return
        else:
            current = existing[idp.alias]
            # Keycloak masks the secret and keeps the org link in its own field; neither is ours.
            if differs(desired, current):
                def update() -> None:
                    payload = {**current, **desired, "config": {**current["config"], **desired["config"]}}
                    if idp.protocol == "oidc":
                        payload["config"]["clientSecret"] = self.idp_secret(idp)
                    self.sync.admin(self.fed.realm).update_idp(idp.alias, payload)
                self.step(Change("update", "Identitätsanbieter", idp.alias), update)
        admin = self.sync.admin(self.fed.realm)
        have = {m["name"]: m for m in admin.get_idp_mappers(idp.alias)}
        for mapper in mappers:
            if mapper["name"] not in have:
                self.step(Change("create", "Rollen-Mapper", f"{idp.alias}/{mapper['name']}"),
                          lambda mapper=mapper: admin.add_mapper_to_idp(idp.alias, mapper))
            elif differs(mapper, have[mapper["name"]]):
                current = have[mapper["name"]]
                self.step(Change("update", "Rollen-Mapper", f"{idp.alias}/{mapper['name']}"),
                          lambda mapper=mapper, current=current: admin.update_mapper_in_idp(
                              idp.alias, current["id"], {**current, **mapper}))
        wanted = {m["name"] for m in mappers}
        for name, mapper in have.items():
            if name.startswith(ROLE_MAPPER_PREFIX) and name not in wanted:
                self.step(Change("remove", "Rollen-Mapper", f"{idp.alias}/{name}",
                                 "Zuordnung nicht mehr in der Datei"),
                          lambda mapper=mapper: admin.connection.raw_delete(
                              f"admin/realms/{self.fed.realm}/identity-provider/instances/"
                              f"{idp.alias}/mappers/{mapper['id']}"))

    # --- organisations ----------------------------------------------------------------------

    def organizations(self, fresh: bool) -> None:
        if fresh:
            self.changes.extend(Change("create", "Organisation", o.alias, o.type)
                                for o in self.fed.organizations)
            return
        admin = self.sync.admin(self.fed.realm)
        existing = {o["alias"]: o for o in admin.get_organizations({"briefRepresentation": "false"})}
        for org in self.fed.organizations:
            desired = {
                "name": org.name, "alias": org.alias, "enabled": True, "description": org.description,
                "domains": [{"name": d, "verified": False} for d in org.domains],
                "attributes": {"kim.type": [org.type]},
            }
            current = existing.get(org.alias)
            if current is None:
                self.step(Change("create", "Organisation", org.alias, org.type),
                          lambda desired=desired: admin.create_organization(desired))
                if self.dry_run:
                    self.changes.append(Change("update", "Organisation", org.alias,
                                               f"verknüpft {org.identity_provider.alias}"))
                    continue
                current = next(o for o in admin.get_organizations({"briefRepresentation": "false"})
                               if o["alias"] == org.alias)
            elif _org_differs(desired, current):
                self.step(Change("update", "Organisation", org.alias),
                          lambda desired=desired, current=current: admin.update_organization(
                              current["id"], {**current, **desired}))
            linked = {i["alias"] for i in admin.get_organization_idps(current["id"])}
            if org.identity_provider.alias not in linked:
                self.step(Change("update", "Organisation", org.alias,
                                 f"verknüpft {org.identity_provider.alias}"),
                          lambda current=current, org=org: admin.organization_idp_add(
                              current["id"], org.identity_provider.alias))
        wanted = {o.alias for o in self.fed.organizations}
        idps = {i["alias"]: i for i in admin.get_idps()}
        for alias, current in existing.items():
            if alias in wanted:
                continue
            if current.get("enabled", True):
                self.step(Change("disable", "Organisation", alias, "nicht mehr in der Datei"),
                          lambda current=current: admin.update_organization(
                              current["id"], {**current, "enabled": False}))
            # Keycloak still lets members of a disabled organisation log in through its IdP
            # and keeps the organisation in their tokens, so the door is closed here too.
            for linked in admin.get_organization_idps(current["id"]):
                idp = idps.get(linked["alias"], linked)
                if idp.get("enabled", True):
                    self.step(Change("disable", "Identitätsanbieter", idp["alias"], alias),
                              lambda idp=idp: admin.update_idp(idp["alias"], {**idp, "enabled": False}))


def _org_differs(desired: dict[str, Any], current: dict[str, Any]) -> bool:
    domains = {d["name"] for d in desired["domains"]}
    have = {d["name"] for d in current.get("domains", [])}
    rest = {k: v for k, v in desired.items() if k != "domains"}
    return domains != have or differs(rest, current)


def summary(changes: Iterable[Change]) -> str:
    counts: dict[str, int] = {}
    for change in changes:
        counts[change.action] = counts.get(change.action, 0) + 1
    return ", ".join(f"{n} × {a}" for a, n in sorted(counts.items())) or "keine Änderungen"
