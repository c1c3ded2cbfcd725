"""The `kim` command line. Service commands join as sub-apps (`kim documents`, `kim identity`,
...); `kim node` runs a node's processes; `kim demo` is the main job of the README."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from kimctl.output import console, print_checks
from kimnetz.runtime.settings import Settings
from services.documents.cli import app as documents_app

if TYPE_CHECKING:
    from rich.progress import TaskID

    from kimctl.nodes import Joined

ROOT = Path(__file__).resolve().parent.parent

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
    from kimctl import protogen

    files = protogen.generate()
    console.print(f"generated Python code for {len(files)} proto files")


@protos_app.command("check")
def protos_check() -> None:
    """Fail if the generated code differs from what protos/ gives."""
    from kimctl import protogen

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
    from kimnetz.runtime.pki import DevCertificateAuthority

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
    from kimnetz.runtime.pki import DevCertificateAuthority, save_node_credentials

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
    portal_port: int = typer.Option(
        0, help="HTTP port of the node's portal (0: the earlier one, else a free one)"),
) -> None:
    """Write a node's configuration, create its broker vhost and issue its certificate."""
    from kimctl import nodes

    if organization is None:
        if federation_file is None:
            console.print("[red]--organization fehlt[/] (oder --federation-file angeben)")
            raise typer.Exit(2)
        organization = _declared_organization(federation_file, node_id)
    spec = nodes.NodeSpec(node_id, organization, grpc_port, federation_file, federation_port, directory,
                          portal_port)
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
    from kimctl import devlogin, nodes
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
    from kimctl import nodes

    with _directory_call():
        nodes.registration(node_id)  # says what is missing before anyone logs in
        joined = nodes.join(node_id, _person_token(dev_user, passwords, node_id))
    console.print(_joined_line(joined))


@contextlib.contextmanager
def _directory_call() -> Iterator[None]:
    """A refused or failed call to the node directory ends the command with its reason."""
    import grpc

    from kimctl import devlogin
    from kimnetz.errors import KimError

    try:
        yield
    except (KimError, devlogin.LoginFailed, ValueError, LookupError) as exc:
        console.print(f"[red]{getattr(exc, 'message', exc)}[/]", highlight=False)
        raise typer.Exit(1) from None
    except grpc.RpcError as exc:
        console.print(f"[red]{exc.code().name}: {exc.details()}[/]", highlight=False)
        raise typer.Exit(1) from None


def _joined_line(joined: Joined) -> str:
    from kimctl import nodes

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
    from kimctl import nodes

    with _directory_call():
        joined = nodes.approve(node_id, via, _person_token(dev_user, passwords, via), reason)
    console.print(_joined_line(joined))


@node_app.command("link")
def node_link(
    node_id: str,
    peers: list[str] = typer.Argument(None, help="nodes whose events NODE_ID receives "  # noqa: B008
                                      "(default with --peer-uris: every peer named there)"),
    peer_uri: str = typer.Option(None, help="The peer's broker, e.g. amqps://…, when it is not "
                                 "configured on this machine (one peer only)"),
    peer_uris: Path = typer.Option(  # noqa: B008
        None, help="Folder with one file per peer node (its id) holding its broker URI, "
        "e.g. a mounted Kubernetes Secret"),
) -> None:
    """Federate the peers' events into this node's broker (RabbitMQ exchange federation)."""
    from kimctl import nodes

    uris = nodes.peer_uris(peer_uris) if peer_uris else {}
    if peer_uri is not None:
        if len(peers or []) != 1:
            console.print("[red]--peer-uri gilt für genau einen Peer-Knoten.[/]")
            raise typer.Exit(2)
        uris[peers[0]] = peer_uri
    chosen = peers or sorted(uris)
    if not chosen:
        console.print("[red]Kein Peer-Knoten angegeben (Argument oder --peer-uris).[/]")
        raise typer.Exit(2)
    for peer in chosen:
        try:
            nodes.link(node_id, peer, peer_uri=uris.get(peer))
        except FileNotFoundError as exc:
            console.print(f"[red]{exc}[/]", highlight=False)
            raise typer.Exit(1) from None
        console.print(f"node {node_id}: receives the events of {peer}")


@node_app.command("up")
def node_up(node_ids: list[str] = typer.Argument(None)) -> None:  # noqa: B008
    """Start the api and worker processes of the given (default: all initialised) nodes."""
    from kimctl import nodes

    for node_id in node_ids or nodes.nodes():
        with console.status(f"node {node_id}: starting api, worker and portal"):
            settings = nodes.up(node_id)
        portal = nodes.portal_url(node_id)
        console.print(f"node {node_id}: serving on {settings.grpc_host}:{settings.grpc_port}"
                      + (f", portal {portal}" if portal else ""))


@node_app.command("down")
def node_down(node_ids: list[str] = typer.Argument(None)) -> None:  # noqa: B008
    """Stop the processes of the given (default: all) nodes."""
    from kimctl import nodes

    for node_id in node_ids or nodes.nodes():
        stopped = nodes.down(node_id)
        console.print(f"node {node_id}: stopped {', '.join(stopped) or 'nothing (was not running)'}")


@node_app.command("status")
def node_status(node_ids: list[str] = typer.Argument(None)) -> None:  # noqa: B008
    """Processes and health of every served service, per node."""
    from kimctl import nodes

    table = Table(title="Knoten")
    for column in ("Knoten", "Teil", "Zustand"):
        table.add_column(column)
    for node_id in node_ids or nodes.nodes():
        for part, state in nodes.status(node_id).items():
            table.add_row(node_id, part, state)
    console.print(table)


@node_app.command("migrate")
def node_migrate(node_id: str) -> None:
    """Bring the node's data to the version of this release (docs/operations.md, "Upgrades"):
    each pending migration of each service in order; idempotent, safe to run again."""
    from kimctl import nodes
    from kimnetz.bootstrap import service_migrations
    from kimnetz.runtime import migrations

    try:
        settings = nodes._own_settings(node_id)
    except FileNotFoundError as exc:
        console.print(f"[red]{exc}[/]", highlight=False)
        raise typer.Exit(1) from exc
    done = migrations.migrate(settings, service_migrations, on_step=lambda service, m: console.print(
        f"{node_id}: {service} auf Datenstand {m.version}: {m.description} …", highlight=False))
    # The broker: an earlier release's classic queues become quorum queues (kimnetz.runtime.queues).
    from kimnetz.errors import Unavailable
    from kimnetz.runtime import queues
    from kimnetz.runtime.broker_admin import BrokerAdmin

    admin = BrokerAdmin.of(settings.rabbitmq_management_url, Settings().rabbitmq_admin)
    try:
        moved = queues.to_quorum(settings.amqp_uri, admin, on_move=lambda m: console.print(
            f"{node_id}: Warteschlange {m.source} -> {m.target}: {m.messages} Nachricht(en) "
            f"verschoben" + (f", {m.duplicates} doppelte verworfen" if m.duplicates else ""),
            highlight=False))
    except (queues.QueueInUse, Unavailable) as exc:
        console.print(f"[red]{node_id}: Warteschlangen nicht umgestellt: {exc}[/]", highlight=False)
        raise typer.Exit(1) from exc
    if moved:
        console.print(f"{node_id}: Warteschlangen sind Quorum-Warteschlangen", highlight=False)
    for state in migrations.versions(settings, service_migrations):
        console.print(f"{node_id}: {state.service} Datenstand {state.current} (aktuell {state.latest})",
                      highlight=False)
    console.print(f"{node_id}: {len(done)} Migration(en) angewandt" if done
                  else f"{node_id}: Daten sind auf dem Stand dieser Version", highlight=False)


PASSPHRASE_FILE_OPTION = typer.Option(
    None, "--passphrase-file", help="File holding the backup's passphrase (default: "
    "KIM_BACKUP_PASSPHRASE_FILE or KIM_BACKUP_PASSPHRASE, else asked for); never on the command line")


@node_app.command("backup")
def node_backup(
    node_id: str,
    to: Path = typer.Option(None, "--to", help="The backup file (default "  # noqa: B008
                            "$KIM_HOME/backups/<node>-<time>.kimbackup)"),
    passphrase_file: Path = PASSPHRASE_FILE_OPTION,
) -> None:
    """Write an encrypted backup of the node while it runs: every database, the stored
    documents, certificates, keys and configuration (docs/operations.md, "Backup and restore")."""
    from datetime import UTC, datetime

    from kimctl import nodes
    from kimctl.backup import archive
    from kimctl.backup.node import BackupError, backup

    passphrase = _passphrase(passphrase_file, confirm=True)
    target = to or (nodes.kim_home() / "backups"
                    / f"{node_id}-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.kimbackup")
    try:
        with _progress() as show:
            report = backup(node_id, target, passphrase, show)
    except (BackupError, archive.ArchiveError) as exc:
        console.print(f"[red]{exc}[/]", highlight=False)
        raise typer.Exit(1) from None
    documents = sum(report.counts.values())
    console.print(f"Knoten {node_id}: Sicherung {report.path} ({report.path.stat().st_size:,} Bytes)",
                  highlight=False)
    console.print(f"Schnitt {report.cut} ({'im laufenden Betrieb' if report.online else 'Knoten gestoppt'}); "
                  f"{documents} Dokumente in {len(report.counts)} Sammlungen, {len(report.files)} Dateien",
                  highlight=False)
    for name, count in sorted(report.dropped.items()):
        console.print(f"  {name}: {count} nach dem Schnitt geschrieben, nicht gesichert", highlight=False)
    if report.audit:
        _print_audit(report.audit)
        if not report.audit["intact"]:
            raise typer.Exit(1)


@node_app.command("restore")
def node_restore(
    backup_file: Path,
    force: bool = typer.Option(False, "--force", help="Replace a node that has a folder or "
                               "data here (it must be stopped)"),
    passphrase_file: Path = PASSPHRASE_FILE_OPTION,
) -> None:
    """Bring a node back from its backup on this machine (KIM_HOME, databases, vhost), verify
    every checksum first and the counts and audit chain afterwards; then `kim node up`."""
    from kimctl.backup.node import BackupError, restore

    passphrase = _passphrase(passphrase_file, confirm=False)
    try:
        with _progress() as show:
            restored = restore(backup_file, passphrase, force=force, progress=show)
    except BackupError as exc:
        console.print(f"[red]{exc}[/]", highlight=False)
        raise typer.Exit(1) from None
    table = Table(title=f"Knoten {restored.node}: wiederhergestellt (Schnitt {restored.cut})")
    for column in ("Sammlung", "laut Sicherung", "gespeichert"):
        table.add_column(column)
    for name in sorted(restored.expected):
        found = restored.counts.get(name, 0)
        mark = "" if found == restored.expected[name] else " [red]≠[/]"
        table.add_row(name, str(restored.expected[name]), f"{found}{mark}")
    console.print(table)
    console.print(f"{len(restored.files)} Dateien der Konfiguration geschrieben", highlight=False)
    for warning in restored.warnings:
        console.print(f"[yellow]{warning}[/]", highlight=False)
    if restored.audit:
        _print_audit(restored.audit)
    if not restored.counts_match or (restored.audit and not restored.audit["intact"]):
        console.print("[red]Die Wiederherstellung stimmt nicht mit der Sicherung überein.[/]")
        raise typer.Exit(1)
    console.print(f"Weiter mit: kim node up {restored.node}", highlight=False)


def _print_audit(audit: dict[str, object]) -> None:
    if audit["intact"]:
        console.print(f"Zugriffsprotokoll: {audit['entries']} Einträge, Kette geprüft und intakt",
                      highlight=False)
    else:
        console.print(f"[red]Zugriffsprotokoll: Kette gebrochen: {audit['reason']}[/]", highlight=False)


def _passphrase(file: Path | None, *, confirm: bool) -> str:
    """The backup's passphrase from a file, the environment or a prompt: never an option, so it
    stays out of the shell's history and the process list."""
    named = file or (Path(os.environ["KIM_BACKUP_PASSPHRASE_FILE"])
                     if os.environ.get("KIM_BACKUP_PASSPHRASE_FILE") else None)
    if named is not None:
        try:
            return named.read_text(encoding="utf-8").strip()
        except OSError as exc:
            console.print(f"[red]Kennwortdatei {named} nicht lesbar: {exc.strerror}[/]", highlight=False)
            raise typer.Exit(2) from None
    if os.environ.get("KIM_BACKUP_PASSPHRASE"):
        return os.environ["KIM_BACKUP_PASSPHRASE"]
    if not sys.stdin.isatty():
        console.print("[red]Kein Kennwort für die Sicherung: --passphrase-file, "
                      "KIM_BACKUP_PASSPHRASE_FILE oder KIM_BACKUP_PASSPHRASE angeben.[/]")
        raise typer.Exit(2)
    return str(typer.prompt("Kennwort der Sicherung", hide_input=True,
                            confirmation_prompt=confirm))


@contextlib.contextmanager
def _progress() -> Iterator[Callable[[str, int, int], None]]:
    """A rich progress bar per part (collection or the file being verified)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=console, transient=False) as bars:
        tasks: dict[str, TaskID] = {}

        def show(what: str, done: int, total: int) -> None:
            if what not in tasks:
                tasks[what] = bars.add_task(what, total=total)
            bars.update(tasks[what], completed=done, total=total)

        yield show


@node_app.command("dead-letters")
def node_dead_letters(
    node_id: str,
    replay: str = typer.Option(None, "--replay", help="Deliver this entry to its queue again"),
    replay_all: bool = typer.Option(False, "--replay-all", help="Deliver every open entry again"),
    show_replayed: bool = typer.Option(False, "--all", help="List replayed entries too"),
) -> None:
    """Events the node's workers could never apply (docs/events.md, "`kim node dead-letters`"):
    list them, or deliver them again once the cause is mended (each replay is audited)."""
    from kimctl import nodes
    from kimnetz.runtime import dead_letters, node
    from kimnetz.runtime.amqp import Publisher

    try:
        settings = nodes._own_settings(node_id)
    except FileNotFoundError as exc:
        console.print(f"[red]{exc}[/]", highlight=False)
        raise typer.Exit(2) from None
    node.connect(settings)
    if replay or replay_all:
        failed = 0
        with Publisher(settings.amqp_uri) as publisher:
            if replay:
                letter = dead_letters.get(replay)
                if letter is None:
                    console.print(f"[red]Knoten {node_id}: kein Eintrag {replay}[/]", highlight=False)
                    raise typer.Exit(1)
                outcomes = [(letter, dead_letters.try_replay(letter, publisher))]
            else:
                outcomes = list(dead_letters.replay_all(publisher))
        for letter, error in outcomes:
            if error is None:
                console.print(f"{letter.entry_id}: erneut zugestellt an {letter.queue}", highlight=False)
            else:
                failed += 1
                console.print(f"[red]{letter.entry_id}: nicht zugestellt ({error})[/]", highlight=False)
        if not outcomes:
            console.print(f"Knoten {node_id}: keine offenen Einträge")
        if failed:
            raise typer.Exit(1)
        return
    table = Table(title=f"Knoten {node_id}: nicht zustellbare Ereignisse")
    for column in ("ID", "Ereignis", "Typ", "Warteschlange", "Grund", "Versuche",
                   "Erster Fehler", "Letzter Fehler", "Zustand"):
        table.add_column(column)
    for letter in dead_letters.entries(include_replayed=show_replayed):
        table.add_row(
            letter.entry_id, letter.event_id or "–", letter.event_type or "–",
            f"{letter.queue}\n({letter.handler})", letter.reason, str(letter.attempts),
            f"{letter.first_failure:%Y-%m-%d %H:%M:%S}", f"{letter.last_failure:%Y-%m-%d %H:%M:%S}",
            "offen" if letter.state == dead_letters.DEAD else f"erneut zugestellt ({letter.replays})",
        )
    console.print(table)


@node_app.command("refused-events")
def node_refused_events(node_id: str = typer.Argument(None)) -> None:
    """Events this node refused (unsigned, unknown sender, not allowed to assert them), each
    kept with its reason for the operator (docs/events.md, "Signatures")."""
    from kimctl import nodes
    from kimnetz.runtime import node
    from kimnetz.runtime.directory_snapshot import RefusedEvents

    settings = nodes.node_settings(node_id) if node_id else Settings()
    node.connect(settings)
    table = Table(title=f"Abgewiesene Ereignisse auf {settings.node_id}")
    for column in ("Zeit (UTC)", "Dienst", "Grund", "Ereignis", "Absender laut Ereignis", "Kennung",
                   "Zustellungen"):
        table.add_column(column)
    for kept in RefusedEvents().list(limit=500):
        refused_at = kept.get("refused_at")
        table.add_row(
            refused_at.strftime("%Y-%m-%d %H:%M:%S") if refused_at else "", str(kept["service"]),
            str(kept["reason"]), str(kept["type"]), str(kept["source_node"]), str(kept["event_id"]),
            str(kept.get("deliveries", 1)))
    console.print(table)


@node_app.command("api")
def node_api() -> None:
    """Run the gRPC api process of the services in KIM_GRPC_SERVICES (foreground)."""
    from kimnetz.bootstrap import build_api_process
    from kimnetz.runtime.grpc_server import serve_until_signal
    from kimnetz.runtime.logging import configure_logging

    settings = Settings()
    configure_logging(settings.log_level, settings.node_id, settings.log_format)
    process = build_api_process(settings)
    if process.snapshot is not None:  # the workers verify event senders against this copy
        process.snapshot.start()
    process.relay.start()
    console.print(
        f"node {settings.node_id}: api for {', '.join(settings.served_services)} "
        f"on {settings.grpc_host}:{process.port}"
    )

    def stop() -> None:
        process.relay.stop()
        if process.snapshot is not None:
            process.snapshot.stop()

    serve_until_signal(process.server, on_stop=stop)


@node_app.command("portal")
def node_portal() -> None:
    """Run the node's portal (waitress, foreground) on KIM_PORTAL_PORT; docs/portal.md."""
    from kimnetz.runtime.logging import configure_logging
    from services.portal.app import serve
    from services.portal.settings import PortalSettings

    settings = PortalSettings()
    configure_logging(settings.log_level, settings.node_id, settings.log_format, role="portal")
    console.print(f"node {settings.node_id}: portal on {settings.public_url}")
    serve(settings)


@node_app.command("worker")
def node_worker() -> None:
    """Run the nameko worker of the services in KIM_GRPC_SERVICES (`nameko run`, foreground)."""
    from kimnetz.bootstrap import worker_modules
    from kimnetz.runtime.worker import NAMEKO_CONFIG

    nameko = Path(sys.executable).with_name("nameko")
    args = [str(nameko), "run", "--config", str(NAMEKO_CONFIG), *worker_modules(Settings())]
    os.execv(args[0], args)  # noqa: S606 - replaces this process by the worker


@node_app.command("check")
def node_check(
    target: str = typer.Option(None, help="host:port of the api process (default from settings)"),
) -> None:
    """Prove that every component of a running node answers."""
    from kimctl import devrealm
    from kimctl.nodecheck import run_checks

    settings = devrealm.settings_with_secret(Settings())
    results = run_checks(settings, target or f"{settings.grpc_host}:{settings.grpc_port}")
    print_checks(settings, results)
    if not all(r.ok for r in results):
        raise typer.Exit(1)


from kimctl.demo import demo, story  # noqa: E402 - the main job joins the command line here

app.command("demo")(demo)
app.command("story")(story)


if __name__ == "__main__":
    main()
