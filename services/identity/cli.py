"""`kim identity ...`: the federation's realm as code (plan, apply) and the login of a person
on the command line (login, whoami). `kim login` and `kim whoami` are the same commands."""

from __future__ import annotations

import os
from pathlib import Path

import typer
from rich.console import Console

from kimnetz.errors import KimError
from kimnetz.runtime.settings import Settings

console = Console()
identity_app = typer.Typer(help="Identität: Verbund in Keycloak abgleichen, Anmeldung.", no_args_is_help=True)

PASSWORDS_OPTION = typer.Option(
    Path(".kim/identity/passwords.json"),
    help="JSON file for the generated passwords of local test users (mode 0600).")


def _sync(passwords: Path):  # type: ignore[no-untyped-def]
    from services.identity.keycloak_sync import KeycloakSync, LocalPasswords

    return KeycloakSync(
        Settings().keycloak_url,
        admin_user=os.environ.get("KIM_KEYCLOAK_ADMIN_USER", "admin"),
        admin_password=os.environ.get("KIM_KEYCLOAK_ADMIN_PASSWORD", "admin"),
        passwords=LocalPasswords(passwords),
    )


def _run(file: Path, passwords: Path, *, dry_run: bool) -> None:
    from services.identity import federation as federation_file
    from services.identity.keycloak_sync import ApplyError, KeycloakUnavailable, summary

    try:
        federation = federation_file.load(file)
    except federation_file.FederationFileError as exc:
        console.print(f"[red]{exc}[/]", highlight=False)
        raise typer.Exit(2) from None
    sync = _sync(passwords)
    try:
        result = sync.plan(federation) if dry_run else sync.apply(federation)
    except (KeycloakUnavailable, ApplyError) as exc:
        console.print(f"[red]{exc}[/]", highlight=False)
        if isinstance(exc, KeycloakUnavailable):
            console.print("Keycloak starten (make infra-up) und den Befehl erneut ausführen.")
        raise typer.Exit(1) from None
    for change in result.changes:
        console.print(f"  {change}", highlight=False)
    verb = "geplant" if dry_run else "angewendet"
    console.print(f"Realm {federation.realm}: {summary(result.changes)} {verb} "
                  f"({result.seconds:.1f} s).")


@identity_app.command("plan")
def plan(file: Path, passwords: Path = PASSWORDS_OPTION) -> None:
    """Zeigt, was `apply` an Keycloak ändern würde."""
    _run(file, passwords, dry_run=True)


@identity_app.command("apply")
def apply(file: Path, passwords: Path = PASSWORDS_OPTION) -> None:
    """Bringt Keycloak auf den Stand der Verbunddatei (idempotent)."""
    _run(file, passwords, dry_run=False)


@identity_app.command("login")
def login(
    realm: str = typer.Option(None, help="Broker realm (default KIM_KEYCLOAK_REALM)."),
    client_id: str = typer.Option("kim-cli", help="Public login client of the federation."),
) -> None:
    """Anmeldung mit Gerätecode: URL im Browser öffnen, Code bestätigen."""
    from services.identity.device_login import DeviceLogin, save_token

    settings = Settings()
    issuer = f"{settings.keycloak_url.rstrip('/')}/realms/{realm or settings.keycloak_realm}"
    device = DeviceLogin(issuer, client_id)
    try:
        authorization = device.start()
        console.print(f"Bitte im Browser öffnen: [bold]{authorization.verification_uri}[/]")
        console.print(f"und diesen Code eingeben: [bold]{authorization.user_code}[/]")
        console.print(f"(oder direkt: {authorization.verification_uri_complete})")
        with console.status("warte auf die Bestätigung im Browser"):
            token = device.poll(authorization)
    except KimError as exc:
        console.print(f"[red]{exc.message}[/]")
        raise typer.Exit(1) from None
    path = save_token(token, issuer, client_id)
    console.print(f"Angemeldet. Token gespeichert in {path} (nur für Sie lesbar).")


@identity_app.command("whoami")
def whoami(target: str = typer.Option(None, help="host:port of an api process")) -> None:
    """Fragt einen Knoten, wer Sie sind (IdentityService.WhoAmI)."""
    import grpc

    from kim.identity.v1 import identity_pb2, identity_pb2_grpc
    from services.identity.device_login import current_token

    settings = Settings()
    try:
        token = current_token()
    except KimError as exc:
        console.print(f"[red]{exc.message}[/]")
        raise typer.Exit(1) from None
    with grpc.insecure_channel(target or f"{settings.grpc_host}:{settings.grpc_port}") as channel:
        try:
            me = identity_pb2_grpc.IdentityServiceStub(channel).WhoAmI(  # type: ignore[no-untyped-call]
                identity_pb2.WhoAmIRequest(), metadata=[("authorization", f"Bearer {token}")], timeout=10)
        except grpc.RpcError as exc:
            console.print(f"[red]{exc.details()}[/]")
            raise typer.Exit(1) from None
    console.print(f"{me.username} ({me.subject})")
    console.print(f"Organisation: {me.organization or '—'}")
    console.print(f"Rollen: {', '.join(r for r in me.roles if r in _ROLES) or '—'}")
    console.print(f"Knoten: {me.node_id}")
    if me.principal_node_id:
        console.print(f"Dienstkonto des Knotens: {me.principal_node_id}")


_ROLES = {"case_manager", "coordinator", "immigration_liaison", "steering_member", "clerk",
          "data_protection_officer", "node_admin"}
