"""The `kim` command line. Service commands join as sub-apps (`kim documents`, `kim identity`,
...); `kim node` runs a node's processes; `kim demo` is the main job of the README."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
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
    table = Table(title=f"Knoten {settings.node_id}: Prüfung der Komponenten")
    for column in ("Komponente", "Prüfung", "Ergebnis", "Dauer"):
        table.add_column(column)
    for r in results:
        mark = "[green]ok[/]" if r.ok else "[red]FEHLER[/]"
        table.add_row(r.component, r.check, f"{mark} {r.detail}", f"{r.seconds * 1000:.0f} ms")
    console.print(table)


# --- demo -------------------------------------------------------------------------------------

@app.command("demo")
def demo(keep_running: bool = typer.Option(False, help="Leave the node running afterwards.")) -> None:
    """The main job: start one node (api + worker for all four services) on the local
    infrastructure and prove that each real component answers."""
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    from kim import devrealm
    from kim.nodecheck import run_checks

    settings = devrealm.settings_with_secret(Settings())
    logs = ROOT / ".kim" / "demo"
    logs.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "KIM_NODE_ID": settings.node_id}
    kim = str(Path(sys.executable).with_name("kim"))
    processes: dict[str, subprocess.Popen[bytes]] = {}
    try:
        for role in ("api", "worker"):
            console.print(f"[bold]starting[/] node {settings.node_id}: {role} (log: {logs / role}.log)")
            log_file = (logs / f"{role}.log").open("wb")
            processes[role] = subprocess.Popen(  # noqa: S603
                [kim, "node", role], env=env, stdout=log_file, stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        target = f"{settings.grpc_host}:{settings.grpc_port}"
        with console.status("waiting for the api to report SERVING"):
            deadline = time.monotonic() + 60
            channel = grpc.insecure_channel(target)
            while True:
                _fail_if_exited(processes, logs)
                try:
                    status = health_pb2_grpc.HealthStub(channel).Check(
                        health_pb2.HealthCheckRequest(), timeout=1
                    ).status
                    if status == health_pb2.HealthCheckResponse.SERVING:
                        break
                except grpc.RpcError:
                    pass
                if time.monotonic() > deadline:
                    console.print("[red]the api did not become ready; see its log[/]")
                    raise typer.Exit(1)
                time.sleep(0.3)
            channel.close()
        with console.status("checking every component (the probe waits for the workers)"):
            results = run_checks(settings, target, probe_timeout=60)
        _print_checks(settings, results)
        if not all(r.ok for r in results):
            raise typer.Exit(1)
        console.print("[green bold]Der Knoten arbeitet: alle Komponenten antworten.[/]")
        if keep_running:
            console.print("the node keeps running; stop it with: make down")
            processes.clear()
    finally:
        for process in processes.values():
            os.killpg(process.pid, signal.SIGTERM)
        for process in processes.values():
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


def _fail_if_exited(processes: dict[str, subprocess.Popen[bytes]], logs: Path) -> None:
    for role, process in processes.items():
        if process.poll() is not None:
            console.print(f"[red]{role} exited with {process.returncode}[/]; last lines of its log:")
            console.print((logs / f"{role}.log").read_text(errors="replace")[-3000:])
            raise typer.Exit(1)


if __name__ == "__main__":
    main()
