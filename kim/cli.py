"""The `kim` command line. Service commands join as sub-apps (`kim documents`, `kim identity`,
...); `kim node` runs a node's processes; `kim demo` is the main job of the README."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from kim.runtime.settings import Settings
from services.documents.cli import app as documents_app

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
    organization: str = typer.Option(..., help="Keycloak Organization alias of the operator"),
    grpc_port: int = typer.Option(..., help="Port of the node's api"),
) -> None:
    """Write a node's configuration, create its broker vhost and issue its certificate."""
    from kim import nodes

    path = nodes.init(nodes.NodeSpec(node_id, organization, grpc_port), Settings())
    console.print(f"node {node_id}: configuration in {path}")


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

#: The local KIM network of the demo: the Kreis (koordinierende Stelle and ABH), a Stadt and a
#: Träger, organisations as in services/identity/federations/local.yaml.
DEMO_NODES = (("kreis", "kreis-mettmann", 50051), ("stadt", "stadt-hilden", 50052),
              ("caritas", "caritas-mettmann", 50053))
#: Who receives whose events: Stadt and Träger propose to the Kreis; the Kreis decides back.
DEMO_LINKS = {"kreis": ["stadt", "caritas"], "stadt": ["kreis"], "caritas": ["kreis"]}


@app.command("demo")
def demo(keep_running: bool = typer.Option(False, help="Leave the nodes running afterwards.")) -> None:
    """The main job: a KIM network of three nodes (Kreis, Stadt, Caritas) on the local
    infrastructure; each node's components and the events between the nodes are checked."""
    from kim import devrealm, nodes
    from kim.nodecheck import CheckResult, check_federation, run_checks

    base = devrealm.settings_with_secret(Settings())
    for node_id, organization, port in DEMO_NODES:
        nodes.init(nodes.NodeSpec(node_id, organization, port), base)
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
                node_settings = nodes.up(node_id)
            started.append(node_id)
            settings[node_id] = node_settings.model_copy(update={"client_secret": base.client_secret})
            console.print(f"Knoten {node_id} bedient {node_settings.grpc_host}:{node_settings.grpc_port} "
                          f"(Protokolle: {nodes.node_dir(node_id)})")
        failed = False
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
        if failed:
            raise typer.Exit(1)
        console.print("[green bold]Der Verbund arbeitet: alle Knoten antworten, "
                      "Ereignisse erreichen ihre Empfänger.[/]")
        if keep_running:
            console.print("Die Knoten laufen weiter; anhalten mit: make down")
            started.clear()
    finally:
        for node_id in started:
            nodes.down(node_id)


if __name__ == "__main__":
    main()
