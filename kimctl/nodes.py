"""Operating nodes on one machine: `kim node init|up|down|status`.

A node's configuration is an env file (`<KIM_HOME>/nodes/<id>/node.env`) holding the settings
that make it this node (id, organisation, ports, vhost, TLS folder, and as a member of a
federation its federation file, realm, service account and directory, and its portal's port,
login client and home identity provider); `up` starts its api, worker and portal processes with
that environment, records their pids and waits until the api and the portal serve;
`down` stops them; `join` enters the node into the federation's node directory. The same
settings files feed compose and Kubernetes, so nothing here is local-only in shape.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from kim.identity.v1 import identity_pb2, identity_pb2_grpc
from kimnetz.runtime.broker_admin import (
    BrokerAdmin,
    link_user,
    node_user,
    vhost_of,
    with_credentials,
    with_vhost,
)
from kimnetz.runtime.grpc_channels import peer_channel
from kimnetz.runtime.pki import DevCertificateAuthority, NodeCredentials, fingerprint, save_node_credentials
from kimnetz.runtime.service_names import GRPC_SERVICES
from kimnetz.runtime.settings import Settings

if TYPE_CHECKING:  # the federation file is read lazily, only where a node joins one
    from services.identity.domain import Federation, Organization

ROLES = ("api", "worker")
#: Every process of a node: the portal (docs/portal.md) runs beside api and worker where the
#: node's configuration gives it a port (KIM_PORTAL_PORT; nodes initialised before it had none).
PROCESSES = (*ROLES, "portal")


def kim_home() -> Path:
    root = Path(__file__).resolve().parent.parent
    home = Path(os.environ.get("KIM_HOME", root / ".kim"))
    return home if home.is_absolute() else root / home


def node_dir(node_id: str) -> Path:
    return kim_home() / "nodes" / node_id


def read_env_file(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


@dataclass(frozen=True)
class NodeSpec:
    node_id: str
    organization_id: str
    grpc_port: int
    #: Membership of a federation (docs/identity.md): the node's copy of the federation file,
    #: its mutual-TLS port for peers, and where the node directory is kept (empty: here).
    federation_file: Path | None = None
    federation_port: int = 0
    directory_target: str = ""
    #: The portal's HTTP port; 0: the one an earlier `init` chose, else a free one.
    portal_port: int = 0


class NodeConfigError(ValueError):
    """A node configuration that cannot work; the message says why (German, for operators)."""


def init(spec: NodeSpec, base: Settings) -> Path:
    """Write the node's configuration, create its vhost and issue its certificate for mutual
    TLS with peers (idempotent: an existing certificate and CA are kept). As a federation
    member the node's service-account secret is fetched from Keycloak into a file of its own."""
    membership = _membership(spec, base) if spec.federation_file is not None else {}
    if spec.federation_port and spec.federation_file is None:
        raise NodeConfigError("--federation-port braucht --federation-file (ohne Verbund kein Peer-Port).")
    if spec.directory_target and not spec.federation_port:
        raise NodeConfigError("--directory braucht --federation-port: das Verzeichnis fragt der Peer-Port.")
    directory = node_dir(spec.node_id)
    directory.mkdir(parents=True, exist_ok=True)
    admin = BrokerAdmin.of(base.rabbitmq_management_url, base.rabbitmq_admin)
    admin.ensure_vhost(spec.node_id)
    # The node's own broker user: every right on its vhost, none on any other node's (its
    # processes never see the administrator). Kept across re-runs, so running processes go on.
    user = node_user(spec.node_id)
    password = _broker_password(directory / "node.env", user) or secrets.token_urlsafe(24)
    admin.ensure_node_user(spec.node_id, user, password)
    pki = kim_home() / "pki"
    if not (pki / "ca.crt").exists():
        DevCertificateAuthority.create().save(pki)
    tls = directory / "tls"
    if not (tls / "node.crt").exists():
        save_node_credentials(DevCertificateAuthority.load(pki).issue(spec.node_id), tls)
    settings = {
        "KIM_NODE_ID": spec.node_id,
        "KIM_ORGANIZATION_ID": spec.organization_id,
        "KIM_GRPC_PORT": str(spec.grpc_port),
        "AMQP_URI": with_credentials(with_vhost(base.amqp_uri, spec.node_id), user, password),
        # The broker the vhost lives on: `kim node link` sets the node's upstreams there, also
        # when each node has a broker of its own (compose) and one command line links them all.
        "RABBITMQ_MANAGEMENT_URL": base.rabbitmq_management_url,
        # The node's key signs every event it sends; receivers verify it (docs/events.md).
        "KIM_TLS_DIR": str(tls),
        # The portal (docs/portal.md): its port, and the key that signs its forms' CSRF tokens
        # (kept across restarts, so open forms stay valid).
        "KIM_PORTAL_PORT": str(spec.portal_port or _earlier(directory / "node.env", "KIM_PORTAL_PORT")
                               or _free_port()),
        "KIM_PORTAL_SESSION_SECRET_FILE": str(_kept_secret(directory / "portal-session-secret")),
    }
    if membership:
        secret_file = directory / "client-secret"
        _write_private(secret_file, membership.pop("secret"))
        portal_secret_file = directory / "portal-client-secret"
        _write_private(portal_secret_file, membership.pop("portal_secret"))
        settings |= {**membership, "KIM_CLIENT_SECRET_FILE": str(secret_file),
                     "KIM_PORTAL_CLIENT_SECRET_FILE": str(portal_secret_file)}
        if spec.federation_port:
            settings["KIM_FEDERATION_PORT"] = str(spec.federation_port)
        if spec.directory_target:
            settings["KIM_DIRECTORY_TARGET"] = spec.directory_target
    else:
        # Without federation the node stays on the development realm; a secret file of an
        # earlier membership must not linger next to a configuration that no longer names it.
        (directory / "client-secret").unlink(missing_ok=True)
        (directory / "portal-client-secret").unlink(missing_ok=True)
    lines = ["# KIM-Netz node configuration, written by `kim node init`; see docs/development.md"]
    lines += [f"{key}={value}" for key, value in settings.items()]
    # It holds the node's broker password: readable by the operator's account only. The URI
    # alone too, for processes configured from their own environment (AMQP_URI_FILE, compose).
    _write_private(directory / "node.env", "\n".join(lines) + "\n")
    _write_private(directory / "amqp-uri", settings["AMQP_URI"] + "\n")
    # A new node holds no data of an older shape: it starts at this release's data version (an
    # existing node keeps its recorded version until `kim node migrate`).
    from kimnetz.bootstrap import service_migrations
    from kimnetz.runtime import migrations

    migrations.stamp_latest(base.model_copy(update={"node_id": spec.node_id}), service_migrations)
    return directory / "node.env"


def _earlier(config: Path, key: str) -> str:
    """A setting an earlier `init` wrote (kept on re-runs: bookmarks and redirect URIs stay)."""
    return read_env_file(config).get(key, "") if config.exists() else ""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _kept_secret(path: Path) -> Path:
    if not path.exists():
        _write_private(path, secrets.token_urlsafe(32))
    return path


def _broker_password(config: Path, user: str) -> str:
    """The password an earlier `init` gave the node's broker user, if its node.env has it."""
    if not config.exists():
        return ""
    uri = urlsplit(read_env_file(config).get("AMQP_URI", ""))
    return unquote(uri.password or "") if unquote(uri.username or "") == user else ""


def _membership(spec: NodeSpec, base: Settings) -> dict[str, str]:
    """Settings of a federation member, and its service account's secret as Keycloak generated
    it (read with the local Keycloak admin, as for the development realm: kimctl/devrealm.py).
    The node must be declared in the file under its organisation: only declared nodes get a
    service account from `kim identity apply`, and the directory accepts no other."""
    from kimctl import devrealm
    from services.identity import federation as federation_file

    assert spec.federation_file is not None
    path = spec.federation_file.resolve()
    federation = federation_file.load(path)
    declared = next((n for n in federation.nodes if n.id == spec.node_id), None)
    if declared is None:
        raise NodeConfigError(
            f"Der Knoten {spec.node_id!r} steht nicht in {path} (dort: "
            f"{', '.join(n.id for n in federation.nodes) or 'keine Knoten'}).")
    if declared.organization != spec.organization_id:
        raise NodeConfigError(
            f"Der Knoten {spec.node_id!r} gehört laut {path.name} zu {declared.organization}, "
            f"nicht zu {spec.organization_id}.")
    realm = base.model_copy(update={"keycloak_realm": federation.realm})
    secrets_of: dict[str, str] = {}
    for client in (declared.client_id, declared.portal_client_id):
        try:
            secrets_of[client] = devrealm.client_secret(realm, client)
        except LookupError:
            raise NodeConfigError(
                f"Keycloak kennt den Client {client} im Realm {federation.realm} "
                f"nicht; zuerst `kim identity apply {path}` ausführen.") from None
    organization = federation.organization(declared.organization)
    portal = {"KIM_PORTAL_CLIENT_ID": declared.portal_client_id,
              "KIM_PORTAL_IDP_HINT": organization.identity_provider.alias,
              "KIM_PORTAL_ORGANIZATION_NAME": organization.name,
              "KIM_PORTAL_HOSTED_LOGINS": hosted_logins(federation, organization)}
    if declared.portal_url:
        portal["KIM_PORTAL_PUBLIC_URL"] = declared.portal_url
    return {"KIM_FEDERATION_FILE": str(path), "KIM_KEYCLOAK_REALM": federation.realm,
            "KIM_CLIENT_ID": declared.client_id, **portal,
            "secret": secrets_of[declared.client_id],
            "portal_secret": secrets_of[declared.portal_client_id]}


def hosted_logins(federation: Federation, organization: Organization) -> str:
    """The logins a Kreis's portal offers besides its own: the organisations of the federation
    without a node of their own (its Ausländerbehörde works in the Kreis's Fallkonferenzen), as
    'idp-alias|Name' for KIM_PORTAL_HOSTED_LOGINS. Other nodes host nobody."""
    if organization.type != "district":
        return ""
    with_node = {node.organization for node in federation.nodes}
    return ",".join(f"{o.identity_provider.alias}|{o.name}" for o in federation.organizations
                    if o.alias not in with_node and o.alias != organization.alias)


def _write_private(path: Path, text: str) -> None:
    """Readable by the operator's account only, from the first byte, also when the file
    existed with wider rights (a new 0600 file renamed over it: kimnetz.runtime.pki.write_private)."""
    from kimnetz.runtime.pki import write_private

    write_private(path, text.encode("utf-8"))


#: Exchanges a node federates from its peers by default: the events of every service and of
#: node operations. What crosses is decided by what services publish: events carry no
#: personal data (docs/events.md).
FEDERATED_EXCHANGES = ["case.events", "conference.events", "documents.events", "identity.events",
                       "node.events"]


def link(node_id: str, peer_id: str, exchanges: list[str] | None = None,
         peer_uri: str | None = None) -> None:
    """Let `node_id` receive the events `peer_id` publishes (RabbitMQ exchange federation into
    the node's vhost on the node's broker); call it the other way round for the reverse direction.

    The upstream is the peer's broker as `peer_uri` names it (another organisation's broker,
    `amqps://` in production), else as the peer's configuration on this machine names it (its
    vhost on the same local broker, or its own broker in compose). The node itself is read from
    its node.env, or, where it runs from its environment alone (a Kubernetes Job), from that.
    """
    node = _own_settings(node_id)
    operator = Settings()  # the administrator's credentials are the operator's, never a node's
    exchanges = exchanges or FEDERATED_EXCHANGES
    uri = peer_uri
    if uri is None:
        # A user of this link alone at the peer's broker: it reads the peer's federated
        # exchanges and can publish into none of them (BrokerAdmin.ensure_link_user).
        peer = node_settings(peer_id)
        user, password = link_user(node_id, peer_id), secrets.token_urlsafe(24)
        BrokerAdmin.of(peer.rabbitmq_management_url, operator.rabbitmq_admin).ensure_link_user(
            vhost_of(peer.amqp_uri), user, password, exchanges)
        uri = with_credentials(peer.amqp_uri, user, password)
    BrokerAdmin.of(node.rabbitmq_management_url, operator.rabbitmq_admin).link_upstream(
        vhost_of(node.amqp_uri), peer_id, uri, exchanges
    )


def peer_uris(directory: Path) -> dict[str, str]:
    """Upstream URIs per peer node from a folder with one file per peer (its node id), as a
    Kubernetes Secret is mounted; hidden entries (the Secret's own links) are left out."""
    return {path.name: path.read_text(encoding="utf-8").strip()
            for path in sorted(directory.iterdir())
            if not path.name.startswith(".") and path.is_file()}


def _own_settings(node_id: str) -> Settings:
    if (node_dir(node_id) / "node.env").exists():
        return node_settings(node_id)
    settings = Settings()
    if settings.node_id != node_id:
        raise FileNotFoundError(
            f"node {node_id!r} has no configuration here (and this environment is node "
            f"{settings.node_id!r}); run `kim node init {node_id}`")
    return settings


def environment(node_id: str, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    config = node_dir(node_id) / "node.env"
    if not config.exists():
        raise FileNotFoundError(f"node {node_id!r} has no configuration; run `kim node init {node_id}`")
    return {**os.environ, **read_env_file(config), **(extra or {})}


def node_settings(node_id: str) -> Settings:
    """The settings the node's processes see (its node.env over this environment)."""
    return _settings_from(environment(node_id))


def _pid(node_id: str, role: str) -> int | None:
    """The pid of the node's running process, or None."""
    try:
        pid = int((node_dir(node_id) / f"{role}.pid").read_text())
    except (OSError, ValueError):
        return None
    return pid if _alive(pid) else None


def _alive(pid: int) -> bool:
    try:  # a process this one started stays a zombie until reaped here
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


def up(node_id: str, timeout: float = 60.0, extra: Mapping[str, str] | None = None) -> Settings:
    """Start what is not running and wait until the api serves; returns the node's settings."""
    env = environment(node_id, extra)
    kim = str(Path(sys.executable).with_name("kim"))
    directory = node_dir(node_id)
    for role in _processes(env):
        if _pid(node_id, role):
            continue
        with (directory / f"{role}.log").open("ab") as log:
            process = subprocess.Popen(  # noqa: S603 - our own command line
                [kim, "node", role], env=env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        (directory / f"{role}.pid").write_text(str(process.pid))
    settings = _settings_from(env)
    try:
        _wait_serving(node_id, f"{settings.grpc_host}:{settings.grpc_port}", timeout)
        if "portal" in _processes(env):
            _wait_portal(node_id, portal_url(node_id, env), timeout)
    except BaseException:
        down(node_id)  # a node that does not come up leaves no process behind
        raise
    return settings


def _processes(env: Mapping[str, str]) -> tuple[str, ...]:
    return PROCESSES if env.get("KIM_PORTAL_PORT") else ROLES


def portal_url(node_id: str, env: Mapping[str, str] | None = None) -> str:
    """Where the node's portal is opened (its public URL, else http://127.0.0.1:<port>); empty
    for a node configured before the portal existed."""
    values = env if env is not None else environment(node_id)
    if values.get("KIM_PORTAL_PUBLIC_URL"):
        return values["KIM_PORTAL_PUBLIC_URL"].rstrip("/")
    port = values.get("KIM_PORTAL_PORT", "")
    host = values.get("KIM_PORTAL_HOST", "127.0.0.1")
    return f"http://{host}:{port}" if port else ""


def _portal_health(url: str) -> str:
    """The portal's own answer at /healthz, or why there is none (German, for operators)."""
    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=2) as answer:  # noqa: S310 - our own URL
            return "SERVING" if answer.status == 200 else f"HTTP {answer.status}"
    except OSError as exc:
        return f"keine Antwort ({type(exc).__name__})"


def _wait_portal(node_id: str, url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _pid(node_id, "portal") is None:
            log = node_dir(node_id) / "portal.log"
            raise RuntimeError(f"node {node_id}: portal exited; last lines of {log}:\n"
                               + log.read_text(errors="replace")[-2000:])
        if _portal_health(url) == "SERVING":
            return
        time.sleep(0.3)
    raise TimeoutError(f"node {node_id}: the portal did not serve within {timeout:.0f} s")


def _settings_from(env: Mapping[str, str]) -> Settings:
    """The settings the node's processes see. pydantic-settings reads `os.environ` only, so it
    is swapped for the node's environment while they are read (command-line process only)."""
    saved = dict(os.environ)
    os.environ.update(env)
    try:
        return Settings()
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _wait_serving(node_id: str, target: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    with grpc.insecure_channel(target) as channel:
        while time.monotonic() < deadline:
            for role in ROLES:
                if _pid(node_id, role) is None:
                    log = node_dir(node_id) / f"{role}.log"
                    raise RuntimeError(
                        f"node {node_id}: {role} exited; last lines of {log}:\n"
                        + log.read_text(errors="replace")[-2000:]
                    )
            try:
                status = health_pb2_grpc.HealthStub(channel).Check(
                    health_pb2.HealthCheckRequest(), timeout=1).status
                if status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.RpcError:
                pass
            time.sleep(0.3)
    raise TimeoutError(f"node {node_id}: the api did not serve within {timeout:.0f} s")


def down(node_id: str, timeout: float = 20.0) -> list[str]:
    """Stop the node's processes (SIGTERM, then SIGKILL after `timeout`); returns what stopped."""
    stopped = []
    for role in PROCESSES:
        pid = _pid(node_id, role)
        if pid is None:
            continue
        os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while _pid(node_id, role) and time.monotonic() < deadline:
            time.sleep(0.2)
        if _pid(node_id, role):
            os.killpg(pid, signal.SIGKILL)
        (node_dir(node_id) / f"{role}.pid").unlink(missing_ok=True)
        stopped.append(role)
    return stopped


def status(node_id: str) -> dict[str, str]:
    """Each process's state, where the api runs the health of every served service, and each
    service's data version (pending migrations: `kim node migrate`)."""
    env = environment(node_id)
    states = {role: (f"läuft (pid {pid})" if (pid := _pid(node_id, role)) else "gestoppt")
              for role in _processes(env)}
    if _pid(node_id, "portal"):
        url = portal_url(node_id, env)
        states["portal"] += f", {url}: {_portal_health(url)}"
    if _pid(node_id, "api"):
        settings = _settings_from(env)
        with grpc.insecure_channel(f"{settings.grpc_host}:{settings.grpc_port}") as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            for service in settings.served_services:
                try:
                    answer = stub.Check(health_pb2.HealthCheckRequest(
                        service=GRPC_SERVICES[service][0]), timeout=2)
                    states[service] = health_pb2.HealthCheckResponse.ServingStatus.Name(answer.status)
                except grpc.RpcError as exc:
                    states[service] = f"keine Antwort ({exc.code().name})"
    states.update(data_versions(_settings_from(env)))
    return states


def data_versions(settings: Settings) -> dict[str, str]:
    """"Datenstand <service>" -> its data version against this release's (kimnetz.runtime.migrations)."""
    from kimnetz.bootstrap import service_migrations
    from kimnetz.runtime import migrations

    try:
        found = migrations.versions(settings, service_migrations)
    except Exception as exc:  # status must answer while the database is away
        return {"Datenstand": f"nicht lesbar ({type(exc).__name__})"}
    return {f"Datenstand {v.service}": f"{v.current} von {v.latest}"
            + (f", {v.pending} ausstehend: kim node migrate" if v.pending else "") for v in found}


def nodes() -> list[str]:
    root = kim_home() / "nodes"
    return sorted(p.parent.name for p in root.glob("*/node.env")) if root.exists() else []


# --- the node directory ------------------------------------------------------------------------

_NODE_ROLE = {
    "district": identity_pb2.NODE_ROLE_DISTRICT,
    "municipality": identity_pb2.NODE_ROLE_MUNICIPALITY,
    "welfare_org": identity_pb2.NODE_ROLE_WELFARE_ORG,
    "immigration_office": identity_pb2.NODE_ROLE_IMMIGRATION_OFFICE,
}
NODE_STATUS = {
    identity_pb2.NODE_STATUS_PENDING: "beantragt",
    identity_pb2.NODE_STATUS_ACTIVE: "freigegeben",
    identity_pb2.NODE_STATUS_REVOKED: "widerrufen",
}


@dataclass(frozen=True)
class Joined:
    node: identity_pb2.Node
    changed: bool  # False: the directory already had the node with these values


def directory_channel(node_id: str) -> grpc.Channel:
    """Where this node's operator reaches the node directory: the Kreis node's mutual-TLS port
    (`KIM_DIRECTORY_TARGET`) with this node's certificate, as the node itself asks it; on the
    node that keeps the directory its own api port."""
    settings = _settings_from(environment(node_id))
    if settings.directory_target:
        return peer_channel(settings.directory_target, _credentials(node_id, settings))
    return grpc.insecure_channel(f"{settings.grpc_host}:{settings.grpc_port}")


def node_credentials(node_id: str) -> NodeCredentials:
    """The node's certificate, key and CA as `init` wrote them."""
    return _credentials(node_id, node_settings(node_id))


def _credentials(node_id: str, settings: Settings) -> NodeCredentials:
    tls = Path(settings.tls_dir) if settings.tls_dir else node_dir(node_id) / "tls"
    return NodeCredentials.from_files(tls / "node.key", tls / "node.crt", tls / "ca.crt")


def registration(node_id: str) -> identity_pb2.RegisterNodeRequest:
    """What the directory is to know of this node, from its configuration and certificate."""
    from services.identity import federation as federation_file

    settings = _settings_from(environment(node_id))
    if not settings.federation_file or not settings.federation_port:
        raise NodeConfigError(
            f"Knoten {node_id}: kein Verbundmitglied mit Peer-Port; "
            "`kim node init ... --federation-file DATEI --federation-port N`.")
    organization = federation_file.load(settings.federation_file).organization(settings.organization_id)
    return identity_pb2.RegisterNodeRequest(
        node_id=settings.node_id, organization=settings.organization_id,
        role=_NODE_ROLE[organization.type],
        api_endpoint=f"{settings.grpc_host}:{settings.grpc_port}",
        federation_endpoint=f"{settings.grpc_host}:{settings.federation_port}",
        certificate_fingerprints=[fingerprint(_credentials(node_id, settings).certificate)],
    )


def join(node_id: str, token: str, timeout: float = 10.0) -> Joined:
    """Enter the node (endpoints, certificate fingerprint) into the federation's node directory
    as the person whose token this is (`node_admin` of the node's organisation: the node waits
    for the Kreis's approval; of the Kreis: active at once). Idempotent: a node the directory
    already has with the same certificate and endpoints is left as it is, so its history does
    not grow with every run."""
    request = registration(node_id)
    metadata = [("authorization", f"Bearer {token}")]
    with directory_channel(node_id) as channel:
        stub = identity_pb2_grpc.IdentityServiceStub(channel)  # type: ignore[no-untyped-call]
        try:
            known = stub.GetNode(identity_pb2.GetNodeRequest(node_id=node_id), metadata=metadata,
                                 timeout=timeout)
        except grpc.RpcError as error:
            if error.code() != grpc.StatusCode.NOT_FOUND:
                raise
            known = None
        if known is not None and _same(known, request):
            return Joined(known, changed=False)
        node = stub.RegisterNode(request, metadata=metadata, timeout=timeout)
    return Joined(node, changed=True)


def _same(known: identity_pb2.Node, request: identity_pb2.RegisterNodeRequest) -> bool:
    return (set(known.certificate_fingerprints) == set(request.certificate_fingerprints)
            and known.api_endpoint == request.api_endpoint
            and known.federation_endpoint == request.federation_endpoint)


def approve(node_id: str, via: str, token: str, reason: str, timeout: float = 10.0) -> Joined:
    """The Kreis admits a node that asked to join (`via`: a node whose configuration reaches the
    directory, usually the Kreis node itself). An already active node is left as it is."""
    metadata = [("authorization", f"Bearer {token}")]
    with directory_channel(via) as channel:
        stub = identity_pb2_grpc.IdentityServiceStub(channel)  # type: ignore[no-untyped-call]
        known = stub.GetNode(identity_pb2.GetNodeRequest(node_id=node_id), metadata=metadata,
                             timeout=timeout)
        if known.status == identity_pb2.NODE_STATUS_ACTIVE:
            return Joined(known, changed=False)
        node = stub.ApproveNode(identity_pb2.ApproveNodeRequest(node_id=node_id, reason=reason),
                                metadata=metadata, timeout=timeout)
    return Joined(node, changed=True)
