"""`kim demo`, the main job of the README: the local federation (Kreis Mettmann with its
Kommunales Integrationszentrum and Ausländerbehörde, Stadt Hilden, Caritas) with one node per
organisation on the local infrastructure."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from kimctl.output import console, print_checks, print_results
from kimnetz.runtime.settings import Settings

if TYPE_CHECKING:
    from kimctl.devlogin import LocalUsers
    from kimctl.story import StepResult as StoryRow
    from kimnetz.runtime.pki import NodeCredentials
    from services.identity.domain import Federation

ROOT = Path(__file__).resolve().parent.parent

#: The local federation of the demo (Kreis Mettmann with KI and ABH, Stadt Hilden, Caritas).
LOCAL_FEDERATION = ROOT / "services" / "identity" / "federations" / "local.yaml"
#: Its nodes as local.yaml declares them: (node id, api port, mutual-TLS port for peers).
DEMO_NODES = (("kreis-mettmann", 50051, 50151), ("stadt-hilden", 50052, 50152),
              ("caritas-mettmann", 50053, 50153))
#: The portal of each demo node (docs/portal.md), on this machine's loopback address.
DEMO_PORTAL_PORTS = {"kreis-mettmann": 8401, "stadt-hilden": 8402, "caritas-mettmann": 8403}
#: Where the story puts the documents it generates (the repository's out/ folder).
OUT_DIR = ROOT / "out"
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
    ("kreis-mettmann", "v.vertrag", "kreis-mettmann", "Kreistagsbüro des Kreises"),
)
ROLE_NAMES = {"case_manager": "Fallmanagement", "coordinator": "Koordination",
              "immigration_liaison": "Integrationslotsin", "steering_member": "Lenkungsgruppe",
              "clerk": "Ratsbüro", "data_protection_officer": "Datenschutz",
              "node_admin": "Knoten-Administration"}


def demo(stop: bool = typer.Option(
    False, "--stop", help="Stop the nodes at the end (by default they keep running until make down).",
)) -> None:
    """The main job: the local federation (Kreis Mettmann, Stadt Hilden, Caritas) with one node
    per organisation on the local infrastructure: people log in through their home identity
    providers, the nodes join the Kreis's node directory, every component and the events
    between the nodes are checked, and what the federation must refuse is refused."""
    import time

    from kimctl import devlogin, nodes
    from kimctl.nodecheck import CheckResult, check_federation, run_checks

    began = time.monotonic()
    base = Settings()
    federation, users = _apply_local_federation(base)
    kreis_peer_port = dict((n, f) for n, _, f in DEMO_NODES)[DIRECTORY_NODE]
    for node_id, port, federation_port in DEMO_NODES:
        nodes.down(node_id)  # nodes left running by an earlier demo get the new configuration
        declared = next(n for n in federation.nodes if n.id == node_id)
        directory = "" if node_id == DIRECTORY_NODE else f"127.0.0.1:{kreis_peer_port}"
        nodes.init(nodes.NodeSpec(node_id, declared.organization, port, LOCAL_FEDERATION,
                                  federation_port, directory, DEMO_PORTAL_PORTS[node_id]), base)
    for node_id, peers in DEMO_LINKS.items():
        for peer in peers:
            nodes.link(node_id, peer)
    console.print("[bold]Verbund:[/] " + "; ".join(
        f"{n} empfängt Ereignisse von {', '.join(p)}" for n, p in DEMO_LINKS.items()))
    started: list[str] = []
    try:
        settings = {}
        for node_id, _, _ in DEMO_NODES:
            with console.status(f"Knoten {node_id}: api, worker und Portal starten"):
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
            print_checks(node_settings, results)
            failed |= not all(r.ok for r in results)
        crossing: list[CheckResult] = []
        with console.status("Ereignisse über den Verbund prüfen"):
            for receiver, senders in DEMO_LINKS.items():
                crossing += [check_federation(settings[s], settings[receiver], 60) for s in senders]
        print_results("Verbund: Ereignisse zwischen den Knoten", crossing)
        failed |= not all(r.ok for r in crossing)
        failed |= not _refusals(users)
        if failed:
            raise typer.Exit(1)
        console.print(f"[green bold]Der Verbund arbeitet: Anmeldung über die Heimat-Anmeldedienste, "
                      f"Knotenverzeichnis beim Kreis, alle Knoten antworten, Ereignisse erreichen "
                      f"ihre Empfänger, Fremdes wird abgelehnt[/] ({time.monotonic() - began:.0f} s).")
        if not run_story(users, settings):
            raise typer.Exit(1)
        console.print(f"[green bold]Die KIM-Geschichte ist über die drei Knoten gelaufen[/] "
                      f"({time.monotonic() - began:.0f} s insgesamt).")
        if not stop:
            passwords = devlogin.passwords_file(nodes.kim_home())
            _print_portals(federation)
            console.print("Die Knoten und ihre Portale laufen weiter, zum Erkunden im Browser und mit "
                          f"`kim`-Befehlen; anhalten mit: make down. Passwörter der Testpersonen: {passwords}")
            started.clear()
    finally:
        for node_id in started:  # failed, interrupted or --stop: nothing is left half-running
            nodes.down(node_id)


def _print_portals(federation: Federation) -> None:
    """Each node's portal and whom to log in as there (the people of the node's organisations:
    the Kreis's node also serves the ABH's Integrationslotsin)."""
    from kimctl import nodes

    table = Table(title="Portale: im Browser öffnen und anmelden als")
    for column in ("Knoten", "Portal", "Testperson (Organisation)", "Rollen"):
        table.add_column(column)
    for node_id, _, _ in DEMO_NODES:
        url = nodes.portal_url(node_id)
        for organization in federation.organizations:
            local = organization.identity_provider.local_realm
            if local is None or not any(node == node_id for o, _, node, _ in DEMO_PEOPLE
                                        if o == organization.alias):
                continue
            for user in local.users:
                roles = sorted({ROLE_NAMES.get(m.role, m.role) for m in organization.role_mappings
                                if m.value in user.groups})
                table.add_row(node_id, url, f"{user.username} ({organization.alias})", ", ".join(roles))
    console.print(table)


def _apply_local_federation(base: Settings) -> tuple[Federation, LocalUsers]:
    """`kim identity apply` of local.yaml (idempotent) with the passwords file of this KIM home."""
    from kimctl import devlogin, nodes
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

    from kim.identity.v1 import identity_pb2
    from kimctl import nodes

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

    from kim.identity.v1 import identity_pb2_grpc
    from kimctl import nodes
    from kimnetz.errors import PermissionDenied
    from kimnetz.runtime.grpc_peer import Peer
    from kimnetz.runtime.peers import DirectoryPeerCheck
    from kimnetz.runtime.pki import DevCertificateAuthority
    from kimnetz.runtime.service_account import ServiceAccount
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
    ok &= _peer_call_refusals(table, stranger)
    console.print(table)
    return ok


def _peer_call_refusals(table: Table, stranger: NodeCredentials) -> bool:
    """Peer calls each node's mutual-TLS port refuses (FEDERATION_METHODS, docs/federation.md),
    next to the one it answers: a node certificate and its own service account's token."""
    import grpc

    from kim.case.v1 import case_pb2, federation_pb2
    from kimctl import nodes
    from kimnetz.runtime.grpc_channels import peer_channel
    from kimnetz.runtime.service_account import ServiceAccount

    def token(node_id: str) -> str:
        s = nodes.node_settings(node_id)
        return ServiceAccount(s.keycloak_url, s.keycloak_realm, s.client_id, s.client_secret).token()

    briefs = "/kim.case.v1.CaseFederation/GetCaseBriefs"
    ask = federation_pb2.GetCaseBriefsRequest(case_ids=["unbekannt"], purpose="Demo")
    kreis, stadt, caritas = "kreis-mettmann", "stadt-hilden", "caritas-mettmann"
    attempts = (
        ("Kreis-Knoten fragt beim Caritas-Knoten Kurzakten ab (Gegenprobe)", nodes.node_credentials(kreis),
         kreis, caritas, briefs, ask, federation_pb2.GetCaseBriefsResponse, ("OK",)),
        ("Caritas-Knoten fragt beim Stadt-Knoten Kurzakten ab (nur Kreisknoten dürfen das)",
         nodes.node_credentials(caritas), caritas, stadt, briefs, ask, federation_pb2.GetCaseBriefsResponse,
         ("PERMISSION_DENIED",)),
        ("Kreis-Knoten ruft CaseService.ListCases am Peer-Port der Caritas auf (keine Verbundmethode)",
         nodes.node_credentials(kreis), kreis, caritas, "/kim.case.v1.CaseService/ListCases",
         case_pb2.ListCasesRequest(purpose="Demo"), case_pb2.ListCasesResponse, ("PERMISSION_DENIED",)),
        ("Zertifikat des Kreis-Knotens mit dem Dienstkonto-Token der Stadt", nodes.node_credentials(kreis),
         stadt, caritas, briefs, ask, federation_pb2.GetCaseBriefsResponse,
         ("PERMISSION_DENIED", "UNAUTHENTICATED")),
        ("Nicht eingetragenes Zertifikat der Verbund-CA fragt beim Stadt-Knoten Kurzakten ab", stranger,
         kreis, stadt, briefs, ask, federation_pb2.GetCaseBriefsResponse,
         ("PERMISSION_DENIED", "UNAUTHENTICATED")),
    )
    ok = True
    for label, credentials, token_of, target, method, request, response, expected in attempts:
        peer = nodes.node_settings(target)
        try:
            with peer_channel(f"{peer.grpc_host}:{peer.federation_port}", credentials) as channel:
                call = channel.unary_unary(method, request_serializer=lambda m: m.SerializeToString(),
                                           response_deserializer=response.FromString)
                call(request, timeout=10, metadata=[("authorization", f"Bearer {token(token_of)}"),
                                                    ("x-kim-acting-user", "demo")])
            code, answer = "OK", "beantwortet"
        except grpc.RpcError as exc:
            code, answer = exc.code().name, str(exc.details())
        good = code in expected
        table.add_row(label, " oder ".join(expected) if expected != ("OK",) else "beantwortet",
                      f"{'[green]ok[/]' if good else '[red]FEHLER[/]'} {code}: {answer}")
        ok &= good
    return ok


# --- the KIM story ---------------------------------------------------------------------------

class _Progress:
    """Prints the story's progress as it goes: each step's title, then each node's result."""

    def step_started(self, title: str) -> None:
        console.print(f"[bold cyan]Schritt {title}[/]")

    def row(self, result: StoryRow) -> None:
        mark = "[green]ok[/]" if result.ok else "[red]FEHLER[/]"
        console.print(f"  {mark} [bold]{result.node}[/]: {result.detail}", highlight=False)


def run_story(users: LocalUsers, settings: dict[str, Settings], out_dir: Path = OUT_DIR,
              timeout: float = 60.0) -> bool:
    """The KIM story (kimctl/story/) over the demo's three running nodes, with visible progress,
    the summary of what ran where and the documents generated."""
    from kimctl.story import Story, StoryNode

    console.rule("[bold]Die KIM-Geschichte im Verbund")
    story = Story(StoryNode.of(settings["kreis-mettmann"]), StoryNode.of(settings["stadt-hilden"]),
                  StoryNode.of(settings["caritas-mettmann"]), users.access_token, out_dir,
                  timeout=timeout, observer=_Progress())
    result = story.run()
    table = Table(title="Was lief wo")
    table.add_column("Schritt")
    table.add_column("Knoten", no_wrap=True)
    table.add_column("Ergebnis")
    table.add_column("Dauer", justify="right", no_wrap=True)
    shown = ""
    for row in result.steps:
        mark = "[green]ok[/]" if row.ok else "[red]FEHLER[/]"
        table.add_row(row.step if row.step != shown else "", row.node, f"{mark} {row.summary or row.detail}",
                      f"{row.seconds:.1f} s".replace(".", ","))
        shown = row.step
    console.print(table)
    if result.documents:
        documents = Table(title=f"Erzeugte Dokumente in {out_dir}")
        documents.add_column("Dokument")
        documents.add_column("Datei", overflow="fold")
        documents.add_column("Größe", justify="right", no_wrap=True)
        for document in result.documents:
            documents.add_row(document.title, document.path.name,
                              f"{document.size:,} Bytes".replace(",", "."))
        console.print(documents)
    if not result.ok:
        from kimctl import nodes

        console.print(f"[red bold]Die Geschichte brach ab bei „{result.failed_step}“.[/] Protokolle der "
                      f"Knoten: {', '.join(str(nodes.node_dir(n)) for n in settings)}", highlight=False)
    return result.ok


def story(timeout: float = typer.Option(60.0, help="How long to wait for what crosses the federation (s)."),
          out: Path = typer.Option(OUT_DIR, help="Folder for the generated documents."),  # noqa: B008
          ) -> None:
    """The KIM story again over the running demo nodes (after `kim demo`): proposals with
    consent, Fallkonferenz, decisions back at home, Integrationsplan and barrier, Lenkungsgruppe
    with a new Zielgruppe, Projektgruppe register, documents into ./out/, consent revocation."""
    import contextlib

    from kimctl import devlogin, nodes
    from services.identity import federation as federation_file
    from services.identity.keycloak_sync import LocalPasswords

    base = Settings()
    federation = federation_file.load(LOCAL_FEDERATION)
    users = devlogin.LocalUsers(base.keycloak_url, federation,
                                LocalPasswords(devlogin.passwords_file(nodes.kim_home())))
    settings = {}
    for node_id, _, _ in DEMO_NODES:
        with contextlib.suppress(FileNotFoundError):  # a node never set up here
            settings[node_id] = nodes.node_settings(node_id)
        if node_id not in settings or not _serving(settings[node_id]):
            console.print(f"[red]Knoten {node_id} läuft nicht; zuerst `kim demo` (oder make demo).[/]")
            raise typer.Exit(1)
    if not run_story(users, settings, out_dir=out, timeout=timeout):
        raise typer.Exit(1)


def _serving(settings: Settings) -> bool:
    """Whether the node's api answers, asked over gRPC: its processes may run elsewhere (in
    compose each in a container of its own), so no pid file of this machine tells."""
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    try:
        with grpc.insecure_channel(f"{settings.grpc_host}:{settings.grpc_port}") as channel:
            answer = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)
    except grpc.RpcError:
        return False
    return bool(answer.status == health_pb2.HealthCheckResponse.SERVING)
