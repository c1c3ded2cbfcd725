"""The IT page (/betrieb) for the node's administrators: the health of each component of the
node, the node directory (this node's membership and its peers) and what the portal itself
reaches. It asks the node's gRPC apis only (health service, identity api) and imports no other
service; the broker's federation links need the broker's administrator and are shown by
`kim node check` on the operator's command line (docs/portal.md)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import grpc
from flask import Blueprint, current_app, render_template
from grpc_health.v1 import health_pb2
from werkzeug.exceptions import NotFound

from kim.identity.v1 import identity_pb2
from kimnetz.runtime.settings import SERVICES
from services.portal.apis import ApiUnavailable, apis, call
from services.portal.auth import role_required
from services.portal.forms import FormErrors
from services.portal.navigation import NavItem

bp = Blueprint("betrieb", __name__, url_prefix="/betrieb")

NAV = (NavItem("Betrieb", "betrieb.index", frozenset({"node_admin"}), order=90),)

SERVICE_LABELS = {
    "case": "Fallverwaltung (case)",
    "conference": "Fallkonferenzen und Gremien (conference)",
    "documents": "Dokumente (documents)",
    "identity": "Identität und Knotenverzeichnis (identity)",
}

NODE_STATUS = {
    identity_pb2.NODE_STATUS_PENDING: "beantragt",
    identity_pb2.NODE_STATUS_ACTIVE: "freigegeben",
    identity_pb2.NODE_STATUS_REVOKED: "widerrufen",
}


@dataclass(frozen=True)
class Component:
    name: str
    ok: bool
    state: str


def _health(service: str) -> Component:
    label = SERVICE_LABELS.get(service, service)
    try:
        answer = call(apis().health.Check, health_pb2.HealthCheckRequest(service=service), timeout=3)
    except ApiUnavailable:
        return Component(label, False, "keine Antwort (Schnittstelle nicht erreichbar)")
    except (NotFound, FormErrors):
        return Component(label, False, "wird von diesem Api-Prozess nicht bedient")
    except grpc.RpcError as error:
        return Component(label, False, f"Fehler {error.code().name if isinstance(error, grpc.Call) else ''}")
    serving = answer.status == health_pb2.HealthCheckResponse.SERVING
    return Component(label, serving, "bereit" if serving else
                     health_pb2.HealthCheckResponse.ServingStatus.Name(answer.status))


def _session_store() -> Component:
    store = current_app.extensions["kim_session_store"]
    try:
        store.load("betrieb-probe")
    except Exception as exc:  # the database is what is being checked
        return Component("Datenbank des Portals (Sitzungen)", False,
                         f"nicht erreichbar: {type(exc).__name__}")
    return Component("Datenbank des Portals (Sitzungen)", True, "erreichbar")


@bp.get("/")
@role_required("node_admin")
def index() -> str:
    settings = current_app.config["KIM_SETTINGS"]
    components = [_health(service) for service in SERVICES]
    components.append(_session_store())
    nodes: list[Any] = []
    directory_problem = ""
    try:
        nodes = list(call(apis().identity.ListNodes, identity_pb2.ListNodesRequest()).nodes)
    except ApiUnavailable as error:
        directory_problem = f"Das Knotenverzeichnis ist nicht erreichbar ({error.what})."
    except (NotFound, FormErrors):
        directory_problem = "Das Knotenverzeichnis steht Ihnen nicht zur Verfügung."
    own = next((n for n in nodes if n.node_id == settings.node_id), None)
    peers = [n for n in nodes if n.node_id != settings.node_id]
    return render_template(
        "betrieb/index.html", components=components, own=own, peers=peers,
        directory_problem=directory_problem, node_status=NODE_STATUS, settings=settings)
