"""Reading a federation file (YAML) into the domain model, with every problem reported at once.

The file is read from YAML's node tree rather than from plain Python values, because only the
nodes know their line: an IT operator gets "Zeile 14, organizations[1].type: ..." for each
mistake, and nothing is applied while any remains. Format: docs/identity.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from services.identity.domain import (
    IDP_PROTOCOLS,
    ORGANIZATION_TYPES,
    REALM_ROLES,
    Clients,
    Federation,
    IdentityProvider,
    LocalRealm,
    LocalUser,
    Node,
    Organization,
    RoleMapping,
)

_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,}$")
_FINGERPRINT = re.compile(r"^[0-9a-f]{64}$")
_ENDPOINT = re.compile(r"^[A-Za-z0-9.-]+:[0-9]{1,5}$")
#: Where people open a node's portal: https (http only on the loopback address, for tests).
_PORTAL_URL = re.compile(r"^(https://[A-Za-z0-9.-]+(:[0-9]{1,5})?|http://127\.0\.0\.1(:[0-9]{1,5})?)(/[^\s?#]*)?$")


@dataclass(frozen=True)
class Problem:
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"Zeile {self.line}, {self.field}: {self.message}"


class FederationFileError(Exception):
    """The file is not a valid federation; `problems` lists each with line and field."""

    def __init__(self, source: str, problems: list[Problem]) -> None:
        self.source = source
        self.problems = sorted(problems, key=lambda p: (p.line, p.field))
        super().__init__(
            f"Die Verbunddatei {source} ist fehlerhaft; nichts wurde angewendet:\n"
            + "\n".join(f"  {p}" for p in self.problems)
        )


class _Map:
    """A YAML mapping with its path; reading a key records problems instead of raising."""

    def __init__(self, node: yaml.Node, path: str, problems: list[Problem]) -> None:
        self.node = node
        self.path = path
        self.problems = problems
        self.items: dict[str, yaml.Node] = {}
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                self.items[str(key.value)] = value

    def where(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def problem(self, node: yaml.Node, key: str, message: str) -> None:
        self.problems.append(Problem(node.start_mark.line + 1, self.where(key), message))

    def text(self, key: str, *, required: bool = True, default: str = "",
             pattern: re.Pattern[str] | None = None, choices: tuple[str, ...] = ()) -> str:
        node = self.items.get(key)
        if node is None:
            if required:
                self.problem(self.node, key, "fehlt")
            return default
        if not isinstance(node, yaml.ScalarNode) or node.value == "":
            self.problem(node, key, "muss ein nicht leerer Text sein")
            return default
        value = str(node.value)
        if choices and value not in choices:
            self.problem(node, key, f"unbekannter Wert {value!r} (erlaubt: {', '.join(choices)})")
        elif pattern is not None and not pattern.match(value):
            self.problem(node, key, f"ungültiger Wert {value!r}")
        return value

    def integer(self, key: str, default: int, low: int, high: int) -> int:
        node = self.items.get(key)
        if node is None:
            return default
        try:
            value = int(str(node.value)) if isinstance(node, yaml.ScalarNode) else None
        except ValueError:
            value = None
        if value is None or not low <= value <= high:
            self.problem(node, key, f"muss eine ganze Zahl von {low} bis {high} sein")
            return default
        return value

    def seq(self, key: str, *, required: bool = False) -> list[tuple[yaml.Node, str]]:
        node = self.items.get(key)
        if node is None:
            if required:
                self.problem(self.node, key, "fehlt")
            return []
        if not isinstance(node, yaml.SequenceNode):
            self.problem(node, key, "muss eine Liste sein")
            return []
        return [(item, f"{self.where(key)}[{i}]") for i, item in enumerate(node.value)]

    def texts(self, key: str, *, required: bool = False,
              pattern: re.Pattern[str] | None = None) -> tuple[str, ...]:
        values = []
        for item, path in self.seq(key, required=required):
            if not isinstance(item, yaml.ScalarNode) or item.value == "":
                self.problems.append(Problem(item.start_mark.line + 1, path, "muss ein Text sein"))
            elif pattern is not None and not pattern.match(str(item.value)):
                self.problems.append(
                    Problem(item.start_mark.line + 1, path, f"ungültiger Wert {item.value!r}"))
            else:
                values.append(str(item.value))
        return tuple(values)

    def mapping(self, key: str, *, required: bool = True) -> _Map | None:
        node = self.items.get(key)
        if node is None:
            if required:
                self.problem(self.node, key, "fehlt")
            return None
        return _child(node, self.where(key), self.problems)

    def only(self, *allowed: str) -> None:
        """Unknown keys are mistakes (a typo would otherwise silently drop a setting)."""
        for key, value in self.items.items():
            if key not in allowed:
                self.problem(value, key, f"unbekanntes Feld (erlaubt: {', '.join(allowed)})")


def _child(node: yaml.Node, path: str, problems: list[Problem]) -> _Map | None:
    if not isinstance(node, yaml.MappingNode):
        problems.append(Problem(node.start_mark.line + 1, path, "muss eine Zuordnung (key: value) sein"))
        return None
    return _Map(node, path, problems)


def load(path: str | Path) -> Federation:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise FederationFileError(str(path), [Problem(0, "-", f"nicht lesbar ({exc.strerror})")]) from exc
    return parse(text, str(path))


def parse(text: str, source: str = "<federation>") -> Federation:
    problems: list[Problem] = []
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 0
        problem = Problem(line, "-", f"kein gültiges YAML ({exc.problem})")
        raise FederationFileError(source, [problem]) from exc
    if root is None:
        raise FederationFileError(source, [Problem(1, "-", "die Datei ist leer")])
    top = _child(root, "", problems)
    if top is None:
        raise FederationFileError(source, problems)
    top.only("realm", "display_name", "access_token_lifespan", "clients", "organizations", "nodes")
    realm = top.text("realm", pattern=_NAME)
    display_name = top.text("display_name", required=False, default="KIM-Netz")
    lifespan = top.integer("access_token_lifespan", 300, 60, 3600)
    clients = _clients(top.mapping("clients", required=False))
    organizations = [
        (o, node.start_mark.line + 1, where) for node, where in top.seq("organizations", required=True)
        if (o := _organization(node, where, problems)) is not None
    ]
    nodes = [
        (n, node.start_mark.line + 1, where) for node, where in top.seq("nodes")
        if (n := _node(node, where, problems)) is not None
    ]
    _check_unique(organizations, nodes, problems)
    if problems:
        raise FederationFileError(source, problems)
    return Federation(
        realm=realm, display_name=display_name, organizations=tuple(o for o, _, _ in organizations),
        nodes=tuple(n for n, _, _ in nodes), clients=clients, access_token_lifespan=lifespan,
    )


def _clients(m: _Map | None) -> Clients:
    if m is None:
        return Clients()
    m.only("api", "login", "login_redirect_uris")
    default = Clients()
    return Clients(
        api=m.text("api", required=False, default=default.api, pattern=_NAME),
        login=m.text("login", required=False, default=default.login, pattern=_NAME),
        login_redirect_uris=m.texts("login_redirect_uris") or default.login_redirect_uris,
    )


def _organization(node: yaml.Node, where: str, problems: list[Problem]) -> Organization | None:
    m = _child(node, where, problems)
    if m is None:
        return None
    m.only("alias", "type", "name", "description", "domains", "identity_provider", "role_mappings")
    alias = m.text("alias", pattern=_NAME)
    kind = m.text("type", choices=ORGANIZATION_TYPES)
    name = m.text("name")
    domains = m.texts("domains", required=True, pattern=_DOMAIN)
    if isinstance(m.items.get("domains"), yaml.SequenceNode) and not m.items["domains"].value:
        m.problem(m.items["domains"], "domains", "mindestens eine E-Mail-Domain angeben")
    idp_map = m.mapping("identity_provider")
    idp = _identity_provider(idp_map) if idp_map is not None else None
    mappings = []
    for item, path in m.seq("role_mappings"):
        r = _child(item, path, problems)
        if r is None:
            continue
        r.only("claim", "value", "role")
        mappings.append(RoleMapping(
            claim=r.text("claim"), value=r.text("value"),
            role=r.text("role", choices=tuple(REALM_ROLES)),
        ))
    if idp is None:
        return None
    return Organization(
        alias=alias, type=kind, name=name, domains=domains, identity_provider=idp,
        role_mappings=tuple(mappings), description=m.text("description", required=False),
    )


def _identity_provider(m: _Map) -> IdentityProvider | None:
    m.only("alias", "protocol", "display_name", "issuer", "authorization_url", "token_url",
           "jwks_url", "client_id", "client_secret_env", "entity_id", "sso_url",
           "signing_certificate", "local_realm")
    alias = m.text("alias", pattern=_NAME)
    protocol = m.text("protocol", choices=IDP_PROTOCOLS)
    display_name = m.text("display_name", required=False, default=alias)
    local = m.mapping("local_realm", required=False)
    local_realm = _local_realm(local) if local is not None else None
    if protocol == "oidc" and local_realm is None:
        return IdentityProvider(
            alias=alias, protocol=protocol, display_name=display_name,
            issuer=m.text("issuer"),
            authorization_url=m.text("authorization_url"),
            token_url=m.text("token_url"),
            jwks_url=m.text("jwks_url"),
            client_id=m.text("client_id"),
            client_secret_env=m.text("client_secret_env", pattern=re.compile(r"^[A-Z_][A-Z0-9_]*$")),
        )
    if protocol == "saml":
        if local_realm is not None:
            m.problem(m.items["local_realm"], "local_realm", "lokale Heimat-Realms gibt es nur mit OIDC")
        return IdentityProvider(
            alias=alias, protocol=protocol, display_name=display_name,
            entity_id=m.text("entity_id"), sso_url=m.text("sso_url"),
            signing_certificate=m.text("signing_certificate"),
        )
    return IdentityProvider(alias=alias, protocol=protocol, display_name=display_name,
                            local_realm=local_realm)


def _local_realm(m: _Map) -> LocalRealm:
    m.only("realm", "groups_claim", "users")
    users = []
    for item, path in m.seq("users"):
        u = _child(item, path, m.problems)
        if u is None:
            continue
        u.only("username", "first_name", "last_name", "email", "groups")
        users.append(LocalUser(
            username=u.text("username", pattern=re.compile(r"^[a-z0-9._-]+$")),
            first_name=u.text("first_name"), last_name=u.text("last_name"),
            email=u.text("email", pattern=re.compile(r"^[^@\s]+@[^@\s]+$")),
            groups=u.texts("groups"),
        ))
    return LocalRealm(
        realm=m.text("realm", pattern=_NAME),
        groups_claim=m.text("groups_claim", required=False, default="groups"),
        users=tuple(users),
    )


def _node(node: yaml.Node, where: str, problems: list[Problem]) -> Node | None:
    m = _child(node, where, problems)
    if m is None:
        return None
    m.only("id", "organization", "grpc_endpoint", "certificate_fingerprints", "portal_url")
    return Node(
        id=m.text("id", pattern=_NAME),
        organization=m.text("organization"),
        grpc_endpoint=m.text("grpc_endpoint", pattern=_ENDPOINT),
        portal_url=m.text("portal_url", required=False, pattern=_PORTAL_URL),
        certificate_fingerprints=tuple(
            f.replace(":", "").lower() for f in m.texts("certificate_fingerprints")
            if _FINGERPRINT.match(f.replace(":", "").lower()) or _bad_fingerprint(m, f)
        ),
    )


def _bad_fingerprint(m: _Map, value: str) -> bool:
    node = next(n for n in m.items["certificate_fingerprints"].value if n.value == value)
    m.problem(node, "certificate_fingerprints",
              f"{value!r} ist kein SHA-256-Fingerabdruck (64 Hex-Zeichen)")
    return False


def _check_unique(organizations: list[tuple[Organization, int, str]],
                  nodes: list[tuple[Node, int, str]], problems: list[Problem]) -> None:
    """Aliases, domains, IdP aliases, home realms and node ids name things in Keycloak: each once."""
    seen: dict[str, str] = {}
    for o, line, where in organizations:
        keys = [("alias", o.alias), ("identity_provider.alias", o.identity_provider.alias),
                *(("domains", d) for d in o.domains)]
        if o.identity_provider.local_realm is not None:
            keys.append(("identity_provider.local_realm.realm", o.identity_provider.local_realm.realm))
        for name, value in keys:
            key = f"{name.split('.')[-1]}:{value}"
            if key in seen:
                problems.append(
                    Problem(line, f"{where}.{name}", f"{value!r} ist schon bei {seen[key]} vergeben"))
            seen[key] = where
    aliases = {o.alias for o, _, _ in organizations}
    ids: set[str] = set()
    for n, line, where in nodes:
        if n.organization and n.organization not in aliases:
            problems.append(Problem(line, f"{where}.organization",
                                    f"keine Organisation {n.organization!r} in dieser Datei"))
        if n.id in ids:
            problems.append(Problem(line, f"{where}.id", f"{n.id!r} ist doppelt"))
        ids.add(n.id)
