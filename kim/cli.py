"""The `kim` command line. Service commands join as sub-apps (`kim documents`, `kim identity`,
...); `kim node` runs a node's processes; `kim demo` is the main job of the README."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table

from kim.runtime.settings import Settings
from services.documents.cli import app as documents_app

if TYPE_CHECKING:
    from kim.devlogin import LocalUsers
    from kim.nodes import Joined
    from services.identity.domain import Federation

ROOT = Path(__file__).resolve().parent.parent
console = Console()

app = typer.Typer(help="KIM-Netz: Kommunales Integrationsmanagement im Verbund.", no_args_is_help=True)
protos_app = typer.Typer(help="Contracts: generate and check the code from protos/.", no_args_is_help=True)
node_app = typer.Typer(help="Run and check this node's api and worker processes.", no_args_is_help=True)
infra_app = typer.Typer(
    help="Local infrastructure (RabbitMQ, FerretDB, Keycloak) for development.", no_args_is_help=True
)
app.add_typer(protos_app, name="protos")
app.add_typer(node_app, name="node")
app.add_typer(infra_app, name="infra")
from services.identity.cli import identity_app, login, whoami  # noqa: E402 - sub-app joins here

app.add_typer(identity_app, name="identity")
app.command("login")(login)
app.command("whoami")(whoami)
pki_app = typer.Typer(
    help="Development CA: certificates of nodes for mutual TLS (production: the operator's).",
    no_args_is_help=True,
)
app.add_typer(pki_app, name="pki")
app.add_typer(documents_app, name="documents")


def main() -> None:
    app()


# --- protos -----------------------------------------------------------------------------------

@protos_app.command("generate")
def protos_generate() -> None:
    """Compile protos/ into the kim package."""
    from kim import protogen

    files = protogen.generate()
    console.print(f"generated Python code for {len(files)} proto files")


@protos_app.command("check")
def protos_check() -> None:
    """Fail if the generated code differs from what protos/ gives."""
    from kim import protogen

    differing = protogen.check()
    if differing:
        console.print("[red]generated code is stale:[/] " + ", ".join(differing))
        console.print("run: kim protos generate")
        raise typer.Exit(1)
    console.print("generated code matches protos/")


# --- infra ------------------------------------------------------------------------------------

def _infra(*args: str) -> None:
    script = ROOT / "scripts" / "infra.sh"
    if not script.exists():
        console.print("[red]scripts/infra.sh is part of a source checkout; it is not installed here.[/]")
        raise typer.Exit(2)
    raise typer.Exit(subprocess.call([str(script), *args]))  # noqa: S603


@infra_app.command("start")
def infra_start(components: list[str] = typer.Argument(None)) -> None:  # noqa: B008
    """Provision (first time) and start; wait until each answers."""
    _infra("start", *(components or []))


@infra_app.command("stop")
def infra_stop(components: list[str] = typer.Argument(None)) -> None:  # noqa: B008
    _infra("stop", *(components or []))


@infra_app.command("status")
def infra_status() -> None:
    _infra("status")


@infra_app.command("logs")
def infra_logs(component: str) -> None:
    _infra("logs", component)


# --- pki ------------------------------------------------------------------------------------

PKI_DIR = ROOT / ".kim" / "pki"


@pki_app.command("init")
def pki_init(directory: Path = typer.Option(PKI_DIR, "--dir")) -> None:  # noqa: B008
    """Create the development CA (kept if it exists)."""
    from kim.runtime.pki import DevCertificateAuthority

    if (directory / "ca.crt").exists():
        console.print(f"CA exists: {directory / 'ca.crt'}")
        return
    DevCertificateAuthority.create().save(directory)
    console.print(f"CA created: {directory / 'ca.crt'}")


@pki_app.command("issue")
def pki_issue(
    node_id: str,
    host: list[str] = typer.Option(["localhost", "127.0.0.1"], help="DNS names or IPs of the node"),  # noqa: B008
    directory: Path = typer.Option(PKI_DIR, "--dir"),  # noqa: B008
) -> None:
    """Issue a node certificate (server and client) signed by the development CA."""
    from kim.runtime.pki import DevCertificateAuthority, save_node_credentials

    if not (directory / "ca.key").exists():
        console.print("[red]no CA yet:[/] run `kim pki init` first")
        raise typer.Exit(2)
    credentials = DevCertificateAuthority.load(directory).issue(node_id, tuple(host))
    save_node_credentials(credentials, directory / node_id)
    console.print(f"{node_id}: {directory / node_id}/node.crt")
    console.print(f"SHA-256 fingerprint (for the node directory): {credentials.fingerprint}")


# --- node -------------------------------------------------------------------------------------

@node_app.command("init")
def node_init(
    node_id: str,
    organization: str = typer.Option(None, help="Keycloak Organization alias of the operator "
                                     "(default with --federation-file: the node's organisation there)"),
    grpc_port: int = typer.Option(..., help="Port of the node's api"),
    federation_file: Path = typer.Option(  # noqa: B008
        None, help="Member of this federation: its file (realm, organisations, nodes); the "
        "service account kim-node-<id> and its secret come from there"),
    federation_port: int = typer.Option(0, help="Mutual-TLS port for peer nodes (0 = none)"),
    directory: str = typer.Option(
        "", help="host:port of the mutual-TLS port of the node that keeps the node directory "
        "(the Kreis node); empty: this node keeps it"),
) -> None:
    """Write a node's configuration, create its broker vhost and issue its certificate."""
    from kim import nodes

    if organization is None:
        if federation_file is None:
            console.print("[red]--organization fehlt[/] (oder --federation-file angeben)")
            raise typer.Exit(2)
        organization = _declared_organization(federation_file, node_id)
    spec = nodes.NodeSpec(node_id, organization, grpc_port, federation_file, federation_port, directory)
    try:
        path = nodes.init(spec, Settings())
    except nodes.NodeConfigError as exc:
        console.print(f"[red]{exc}[/]", highlight=False)
        raise typer.Exit(2) from None
    console.print(f"node {node_id}: configuration in {path}")


def _declared_organization(federation_file: Path, node_id: str) -> str:
    from services.identity import federation as federation_file_module

    federation = federation_file_module.load(federation_file)
    for node in federation.nodes:
        if node.id == node_id:
            return node.organization
    console.print(f"[red]Der Knoten {node_id!r} steht nicht in {federation_file}.[/]")
    raise typer.Exit(2)


def _person_token(dev_user: str | None, passwords: Path | None, node_id: str) -> str:
    """The token of the person acting: `kim login`'s stored token, or for the local development
    federation a brokered login of one of its test users (`ORGANISATION/BENUTZER`)."""
    from kim import devlogin, nodes
    from services.identity import federation as federation_file
    from services.identity.device_login import current_token
    from services.identity.keycloak_sync import LocalPasswords

    if dev_user is None:
        return current_token()
    settings = nodes.node_settings(node_id)
    organization, username = devlogin.parse_user(dev_user)
    users = devlogin.LocalUsers(
        settings.keycloak_url, federation_file.load(settings.federation_file),
        LocalPasswords(passwords or devlogin.passwords_file(nodes.kim_home())))
    return users.access_token(organization, username)


DEV_USER_OPTION = typer.Option(
    None, "--dev-user", help="Local development federation only: act as this test user "
    "(ORGANISATION/BENUTZER, password from the file `kim identity apply` wrote); "
    "default: the token of `kim login`")
PASSWORDS_OPTION = typer.Option(None, help="Passwords file of the local test users "
                                "(default $KIM_HOME/identity/passwords.json)")


@node_app.command("join")
def node_join(node_id: str, dev_user: str = DEV_USER_OPTION,
              passwords: Path = PASSWORDS_OPTION) -> None:
    """Enter the node (certificate fingerprint, endpoints) into the federation's node directory."""
    import grpc

    from kim import devlogin, nodes
    from kim.errors import KimError

    try:
        nodes.registration(node_id)  # says what is missing before anyone logs in
        joined = nodes.join(node_id, _person_token(dev_user, passwords, node_id))
    except (KimError, devlogin.LoginFailed, ValueError, LookupError) as exc:
        console.print(f"[red]{getattr(exc, 'message', exc)}[/]", highlight=False)
        raise typer.Exit(1) from None
    except grpc.RpcError as exc:
        console.print(f"[red]{exc.code().name}: {exc.details()}[/]", highlight=False)
        raise typer.Exit(1) from None
    console.print(_joined_line(joined))


def _joined_line(joined: Joined) -> str:
    from kim import nodes

    node = joined.node
    state = nodes.NODE_STATUS.get(node.status, "?")
    done = "eingetragen" if joined.changed else "war bereits eingetragen"
    return (f"Knoten {node.node_id} ({node.organization}) {done}: {state}; "
            f"Zertifikat {node.certificate_fingerprints[0][:16]}…, Peer-Port {node.federation_endpoint}")


@node_app.command("approve")
def node_approve(
    node_id: str,
    via: str = typer.Option(..., help="A node of this machine that reaches the directory "
                            "(usually the Kreis node)"),
    reason: str = typer.Option("Aufnahme geprüft", help="Recorded in the node's history"),
    dev_user: str = DEV_USER_OPTION, passwords: Path = PASSWORDS_OPTION,
) -> None:
    """The Kreis admits a node that asked to join (node_admin of the Kreis)."""
    import grpc

    from kim import devlogin, nodes
    from kim.errors import KimError

    try:
        joined = nodes.approve(node_id, via, _person_token(dev_user, passwords, via), reason)
    except (KimError, devlogin.LoginFailed, ValueError, LookupError) as exc:
        console.print(f"[red]{getattr(exc, 'message', exc)}[/]", highlight=False)
        raise typer.Exit(1) from None
    except grpc.RpcError as exc:
        console.print(f"[red]{exc.code().name}: {exc.details()}[/]", highlight=False)
        raise typer.Exit(1) from None
    console.print(_joined_line(joined))


@node_app.command("link")
def node_link(
    node_id: str,
    peers: list[str] = typer.Argument(..., help="nodes whose events NODE_ID receives"),  # noqa: B008
) -> None:
    """Federate the peers' events into this node's broker (RabbitMQ exchange federation)."""
    from kim import nodes

    for peer in peers:
        nodes.link(node_id, peer)
        console.print(f"node {node_id}: receives the events of {peer}")


@node_app.command("up")
def node_up(node_ids: list[str] = typer.Argument(None)) -> None:  # noqa: B008
    """Start the api and worker processes of the given (default: all initialised) nodes."""
    from kim import nodes

    for node_id in node_ids or nodes.nodes():
        with console.status(f"node {node_id}: starting api and worker"):
            settings = nodes.up(node_id)
        console.print(f"node {node_id}: serving on {settings.grpc_host}:{settings.grpc_port}")


@node_app.command("down")
def node_down(node_ids: list[str] = typer.Argument(None)) -> None:  # noqa: B008
    """Stop the processes of the given (default: all) nodes."""
    from kim import nodes

    for node_id in node_ids or nodes.nodes():
        stopped = nodes.down(node_id)
        console.print(f"node {node_id}: stopped {', '.join(stopped) or 'nothing (was not running)'}")


@node_app.command("status")
def node_status(node_ids: list[str] = typer.Argument(None)) -> None:  # noqa: B008
    """Processes and health of every served service, per node."""
    from kim import nodes

    table = Table(title="Knoten")
    for column in ("Knoten", "Teil", "Zustand"):
        table.add_column(column)
    for node_id in node_ids or nodes.nodes():
        for part, state in nodes.status(node_id).items():
            table.add_row(node_id, part, state)
    console.print(table)


@node_app.command("api")
def node_api() -> None:
    """Run the gRPC api process of the services in KIM_GRPC_SERVICES (foreground)."""
    from kim.bootstrap import build_api_process
    from kim.runtime.grpc_server import serve_until_signal
    from kim.runtime.logging import configure_logging

    settings = Settings()
    configure_logging(settings.log_level, settings.node_id)
    process = build_api_process(settings)
    process.relay.start()
    console.print(
        f"node {settings.node_id}: api for {', '.join(settings.served_services)} "
        f"on {settings.grpc_host}:{process.port}"
    )
    serve_until_signal(process.server, on_stop=process.relay.stop)


@node_app.command("worker")
def node_worker() -> None:
    """Run the nameko worker of the services in KIM_GRPC_SERVICES (`nameko run`, foreground)."""
    from kim.bootstrap import worker_modules
    from kim.runtime.worker import NAMEKO_CONFIG

    nameko = Path(sys.executable).with_name("nameko")
    args = [str(nameko), "run", "--config", str(NAMEKO_CONFIG), *worker_modules(Settings())]
    os.execv(args[0], args)  # noqa: S606 - replaces this process by the worker


@node_app.command("check")
def node_check(
    target: str = typer.Option(None, help="host:port of the api process (default from settings)"),
) -> None:
    """Prove that every component of a running node answers."""
    from kim import devrealm
    from kim.nodecheck import run_checks

    settings = devrealm.settings_with_secret(Settings())
    results = run_checks(settings, target or f"{settings.grpc_host}:{settings.grpc_port}")
    _print_checks(settings, results)
    if not all(r.ok for r in results):
        raise typer.Exit(1)


def _print_checks(settings: Settings, results: list) -> None:  # type: ignore[type-arg]
    _print_results(f"Knoten {settings.node_id}: Prüfung der Komponenten", results)


def _print_results(title: str, results: list) -> None:  # type: ignore[type-arg]
    table = Table(title=title)
    for column in ("Komponente", "Prüfung", "Ergebnis", "Dauer"):
        table.add_column(column)
    for r in results:
        mark = "[green]ok[/]" if r.ok else "[red]FEHLER[/]"
        table.add_row(r.component, r.check, f"{mark} {r.detail}", f"{r.seconds * 1000:.0f} ms")
    console.print(table)


# --- demo -------------------------------------------------------------------------------------

#: The local federation of the demo (Kreis Mettmann with KI and ABH, Stadt Hilden, Caritas).
LOCAL_FEDERATION = ROOT / "services" / "identity" / "federations" / "local.yaml"
#: Its nodes as local.yaml declares them: (node id, api port, mutual-TLS port for peers).
DEMO_NODES = (("kreis-mettmann", 50051, 50151), ("stadt-hilden", 50052, 50152),
              ("caritas-mettmann", 50053, 50153))
#: The Kreis keeps the node directory; the other nodes ask its mutual-TLS port.
DIRECTORY_NODE = "kreis-mettmann"
#: Who receives whose events: Stadt and Träger propose to the Kreis; the Kreis decides back.
DEMO_LINKS = {"kreis-mettmann": ["stadt-hilden", "caritas-mettmann"],
              "stadt-hilden": ["kreis-mettmann"], "caritas-mettmann": ["kreis-mettmann"]}
#: The people of the story: organisation, test user, the node they work on, what they are.
DEMO_PEOPLE = (
    ("stadt-hilden", "c.manager", "stadt-hilden", "Fallmanagerin der Stadt Hilden"),
    ("caritas-mettmann", "m.beratung", "caritas-mettmann", "Fallmanagerin der Caritas"),
    ("kreis-mettmann", "k.koordination", "kreis-mettmann", "Koordination im Kreis"),
    ("abh-kreis-mettmann", "l.lotsin", "kreis-mettmann", "Integrationslotsin der ABH"),
)
#: The nodes of the demo before it ran on the federation (development realm): id, organisation,
#: port. They held the same ports, so they are stopped and removed, but only where their
#: configuration is still exactly the demo's (a node of that name set up by hand stays).
FORMER_DEMO_NODES = (("kreis", "kreis-mettmann", 50051), ("stadt", "stadt-hilden", 50052),
                     ("caritas", "caritas-mettmann", 50053))
ROLE_NAMES = {"case_manager": "Fallmanagement", "coordinator": "Koordination",
              "immigration_liaison": "Integrationslotsin", "steering_member": "Lenkungsgruppe",
              "clerk": "Ratsbüro", "data_protection_officer": "Datenschutz",
              "node_admin": "Knoten-Administration"}


@app.command("demo")
def demo(stop: bool = typer.Option(
    False, "--stop", help="Stop the nodes at the end (by default they keep running until make down).",
)) -> None:
    """The main job: the local federation (Kreis Mettmann, Stadt Hilden, Caritas) with one node
    per organisation on the local infrastructure: people log in through their home identity
    providers, the nodes join the Kreis's node directory, every component and the events
    between the nodes are checked, and what the federation must refuse is refused."""
    import time

    from kim import devlogin, nodes
    from kim.nodecheck import CheckResult, check_federation, run_checks

    began = time.monotonic()
    base = Settings()
    _remove_former_demo_nodes(base)
    federation, users = _apply_local_federation(base)
    kreis_peer_port = dict((n, f) for n, _, f in DEMO_NODES)[DIRECTORY_NODE]
    for node_id, port, federation_port in DEMO_NODES:
        nodes.down(node_id)  # nodes left running by an earlier demo get the new configuration
        declared = next(n for n in federation.nodes if n.id == node_id)
        directory = "" if node_id == DIRECTORY_NODE else f"127.0.0.1:{kreis_peer_port}"
        nodes.init(nodes.NodeSpec(node_id, declared.organization, port, LOCAL_FEDERATION,
                                  federation_port, directory), base)
    for node_id, peers in DEMO_LINKS.items():
        for peer in peers:
            nodes.link(node_id, peer)
    console.print("[bold]Verbund:[/] " + "; ".join(
        f"{n} empfängt Ereignisse von {', '.join(p)}" for n, p in DEMO_LINKS.items()))
    started: list[str] = []
    try:
        settings = {}
        for node_id, _, _ in DEMO_NODES:
            with console.status(f"Knoten {node_id}: api und worker starten"):
                settings[node_id] = nodes.up(node_id)
            started.append(node_id)
            s = settings[node_id]
            console.print(f"Knoten {node_id} ({s.organization_id}) bedient {s.grpc_host}:{s.grpc_port}, "
                          f"Peer-Port {s.federation_port} (Protokolle: {nodes.node_dir(node_id)})")
        failed = not _join_nodes(users)
        failed |= not _people_log_in(users, federation, settings)
        for node_id, node_settings in settings.items():
            with console.status(f"Knoten {node_id}: Komponenten prüfen"):
                results = run_checks(node_settings, f"127.0.0.1:{node_settings.grpc_port}", 60)
            _print_checks(node_settings, results)
            failed |= not all(r.ok for r in results)
        crossing: list[CheckResult] = []
        with console.status("Ereignisse über den Verbund prüfen"):
            for receiver, senders in DEMO_LINKS.items():
                crossing += [check_federation(settings[s], settings[receiver], 60) for s in senders]
        _print_results("Verbund: Ereignisse zwischen den Knoten", crossing)
        failed |= not all(r.ok for r in crossing)
        failed |= not _refusals(users)
        if failed:
            raise typer.Exit(1)
        console.print(f"[green bold]Der Verbund arbeitet: Anmeldung über die Heimat-Anmeldedienste, "
                      f"Knotenverzeichnis beim Kreis, alle Knoten antworten, Ereignisse erreichen "
                      f"ihre Empfänger, Fremdes wird abgelehnt[/] ({time.monotonic() - began:.0f} s).")
        if not stop:
            passwords = devlogin.passwords_file(nodes.kim_home())
            console.print("Die Knoten laufen weiter, zum Erkunden mit `kim`-Befehlen; anhalten mit: "
                          f"make down. Passwörter der Testpersonen: {passwords}")
            started.clear()
    finally:
        for node_id in started:  # failed, interrupted or --stop: nothing is left half-running
            nodes.down(node_id)


def _remove_former_demo_nodes(base: Settings) -> None:
    import shutil

    from kim import nodes
    from kim.runtime.broker_admin import BrokerAdmin, with_vhost

    former = []
    for node_id, organization, port in FORMER_DEMO_NODES:
        config = nodes.node_dir(node_id) / "node.env"
        if config.exists() and nodes.read_env_file(config) == {
            "KIM_NODE_ID": node_id, "KIM_ORGANIZATION_ID": organization,
            "KIM_GRPC_PORT": str(port), "AMQP_URI": with_vhost(base.amqp_uri, node_id),
        }:
            former.append(node_id)
    for node_id in former:
        nodes.down(node_id)
        BrokerAdmin(base.rabbitmq_management_url, base.amqp_uri).delete_vhost(node_id)
        shutil.rmtree(nodes.node_dir(node_id))
    if former:
        console.print(f"Frühere Demo-Knoten ohne Verbund entfernt: {', '.join(former)}")


def _apply_local_federation(base: Settings) -> tuple[Federation, LocalUsers]:
    """`kim identity apply` of local.yaml (idempotent) with the passwords file of this KIM home."""
    from kim import devlogin, nodes
    from services.identity import federation as federation_file
    from services.identity.keycloak_sync import (
        ApplyError,
        KeycloakSync,
        KeycloakUnavailable,
        LocalPasswords,
        summary,
    )

    federation = federation_file.load(LOCAL_FEDERATION)
    passwords = LocalPasswords(devlogin.passwords_file(nodes.kim_home()))
    sync = KeycloakSync(base.keycloak_url,
                        admin_user=os.environ.get("KIM_KEYCLOAK_ADMIN_USER", "admin"),
                        admin_password=os.environ.get("KIM_KEYCLOAK_ADMIN_PASSWORD", "admin"),
                        passwords=passwords)
    try:
        with console.status(f"Verbunddatei {LOCAL_FEDERATION.name} auf Keycloak anwenden"):
            result = sync.apply(federation)
    except (KeycloakUnavailable, ApplyError) as exc:
        console.print(f"[red]{exc}[/]", highlight=False)
        raise typer.Exit(1) from None
    console.print(f"[bold]Identität:[/] Realm {federation.realm} mit "
                  f"{len(federation.organizations)} Organisationen, {summary(result.changes)} "
                  f"({result.seconds:.1f} s)")
    return federation, devlogin.LocalUsers(base.keycloak_url, federation, passwords)


def _join_nodes(users: LocalUsers) -> bool:
    """Each node enters the Kreis's directory as its own organisation's node administration
    would (a Stadt node then waits for the Kreis's approval); an organisation without a node
    administrator of its own is joined by the Kreis's, as the Kreis's operator does."""
    import grpc

    from kim import nodes
    from kim.identity.v1 import identity_pb2

    kreis_admin = users.holder_of(DIRECTORY_NODE, "node_admin")
    tokens: dict[tuple[str, str], str] = {}

    def token(organization: str, username: str) -> str:
        if (organization, username) not in tokens:
            tokens[organization, username] = users.access_token(organization, username)
        return tokens[organization, username]

    table = Table(title="Knotenverzeichnis beim Kreis: Beitritt der Knoten")
    for column in ("Knoten", "eingetragen von", "Ergebnis", "Zertifikat (SHA-256)"):
        table.add_column(column)
    ok = True
    with console.status("Knoten treten dem Verbund bei (IdentityService.RegisterNode)"):
        for node_id, _, _ in DEMO_NODES:
            organization = nodes.node_settings(node_id).organization_id
            own_admin = users.with_role(organization, "node_admin")
            actor = (organization, own_admin) if own_admin else (DIRECTORY_NODE, kreis_admin)
            try:
                joined = nodes.join(node_id, token(*actor))
                result = f"{'eingetragen' if joined.changed else 'bereits eingetragen'}: " \
                         f"{nodes.NODE_STATUS.get(joined.node.status, '?')}"
                if joined.node.status == identity_pb2.NODE_STATUS_PENDING:
                    approved = nodes.approve(node_id, DIRECTORY_NODE, token(DIRECTORY_NODE, kreis_admin),
                                             "Aufnahme im Demo-Verbund geprüft")
                    joined = nodes.Joined(approved.node, joined.changed)
                    result += f" → vom Kreis ({kreis_admin}) freigegeben"
                good = joined.node.status == identity_pb2.NODE_STATUS_ACTIVE
                table.add_row(node_id, f"{actor[1]} ({actor[0]})",
                              f"{'[green]ok[/]' if good else '[red]FEHLER[/]'} {result}",
                              joined.node.certificate_fingerprints[0][:16] + "…")
                ok &= good
            except grpc.RpcError as exc:
                table.add_row(node_id, f"{actor[1]} ({actor[0]})",
                              f"[red]FEHLER[/] {exc.code().name}: {exc.details()}", "")
                ok = False
    console.print(table)
    return ok


def _people_log_in(users: LocalUsers, federation: Federation, settings: dict[str, Settings]) -> bool:
    """Each person logs in at home (brokered login through the organisation's own identity
    provider) and asks their node who they are there."""
    import time

    import grpc

    from kim.identity.v1 import identity_pb2, identity_pb2_grpc

    table = Table(title="Anmeldung über die Heimat-Anmeldedienste, dann WhoAmI am eigenen Knoten")
    for column in ("Person", "angemeldet über", "WhoAmI: Knoten, Organisation, Rollen", "Dauer"):
        table.add_column(column)
    ok = True
    with console.status("Personen melden sich an"):
        for organization, username, node_id, what in DEMO_PEOPLE:
            idp = federation.organization(organization).identity_provider.alias
            began = time.perf_counter()
            try:
                token = users.access_token(organization, username)
                node = settings[node_id]
                with grpc.insecure_channel(f"127.0.0.1:{node.grpc_port}") as channel:
                    stub = identity_pb2_grpc.IdentityServiceStub(channel)  # type: ignore[no-untyped-call]
                    me = stub.WhoAmI(
                        identity_pb2.WhoAmIRequest(), metadata=[("authorization", f"Bearer {token}")],
                        timeout=10)
                roles = ", ".join(ROLE_NAMES[r] for r in me.roles if r in ROLE_NAMES) or "—"
                good = me.organization == organization and me.node_id == node_id and roles != "—"
                mark = "[green]ok[/]" if good else "[red]FEHLER[/]"
                table.add_row(f"{me.username} ({what})", idp,
                              f"{mark} {me.node_id}: {me.organization or '—'}; {roles}",
                              f"{(time.perf_counter() - began) * 1000:.0f} ms")
                ok &= good
            except Exception as exc:  # every failure is shown in its row, the others still run
                table.add_row(f"{username} ({what})", idp, f"[red]FEHLER[/] {node_id}: {exc}", "")
                ok = False
    console.print(table)
    return ok


def _refusals(users: LocalUsers) -> bool:
    """What the federation must refuse, shown on the running nodes: a person of one organisation
    entering another organisation's node into the directory, and a certificate of the
    federation's CA that no node registered, at the peer check a node's mutual-TLS port runs."""
    import grpc

    from kim import nodes
    from kim.errors import PermissionDenied
    from kim.identity.v1 import identity_pb2_grpc
    from kim.runtime.grpc_server import Peer
    from kim.runtime.peers import DirectoryPeerCheck
    from kim.runtime.pki import DevCertificateAuthority
    from kim.runtime.service_account import ServiceAccount
    from services.identity.directory_client import RemotePeerResolver

    table = Table(title="Verbund: was abgelehnt werden muss")
    for column in ("Versuch", "erwartet", "Antwort"):
        table.add_column(column)
    ok = True

    stadt_admin = users.holder_of("stadt-hilden", "node_admin")
    token = users.access_token("stadt-hilden", stadt_admin)
    with nodes.directory_channel("stadt-hilden") as channel:
        try:
            identity_pb2_grpc.IdentityServiceStub(channel).RegisterNode(  # type: ignore[no-untyped-call]
                nodes.registration("caritas-mettmann"),
                metadata=[("authorization", f"Bearer {token}")], timeout=10)
            code, answer = "OK", "angenommen"
        except grpc.RpcError as exc:
            code, answer = exc.code().name, str(exc.details())
    good = code == "PERMISSION_DENIED"
    table.add_row(f"{stadt_admin} (Stadt Hilden) trägt den Caritas-Knoten beim Kreis ein",
                  "PERMISSION_DENIED", f"{'[green]ok[/]' if good else '[red]FEHLER[/]'} {code}: {answer}")
    ok &= good

    stadt = nodes.node_settings("stadt-hilden")
    credentials = nodes.node_credentials("stadt-hilden")
    account = ServiceAccount(stadt.keycloak_url, stadt.keycloak_realm, stadt.client_id, stadt.client_secret)
    resolver = RemotePeerResolver(stadt.directory_target, credentials, account.token)
    check = DirectoryPeerCheck(resolver, cache_seconds=0)
    stranger = DevCertificateAuthority.load(nodes.kim_home() / "pki").issue("fremder-knoten")
    caritas = nodes.node_credentials("caritas-mettmann")
    try:
        for peer, expect_refusal, label in (
            (Peer(stranger.fingerprint, "fremder-knoten"), True,
             "Zertifikat der Verbund-CA, aber kein Knoten im Verzeichnis"),
            (Peer(caritas.fingerprint, "caritas-mettmann"), False,
             "Zertifikat des eingetragenen Caritas-Knotens (Gegenprobe)"),
        ):
            try:
                check(peer)
                code, answer = "OK", "zugelassen"
            except PermissionDenied as exc:
                code, answer = "PERMISSION_DENIED", exc.message
            good = (code == "PERMISSION_DENIED") == expect_refusal
            table.add_row(f"Peer-Prüfung des Stadt-Knotens (Verzeichnis beim Kreis): {label}",
                          "PERMISSION_DENIED" if expect_refusal else "zugelassen",
                          f"{'[green]ok[/]' if good else '[red]FEHLER[/]'} {code}: {answer}")
            ok &= good
    finally:
        resolver.close()
    console.print(table)
    return ok


if __name__ == "__main__":
    main()
