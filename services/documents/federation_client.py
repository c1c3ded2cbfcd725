"""Adapter of the `PeerFigures` port: the other nodes' figures through the runtime's
`FederationClient` (kimnetz/runtime/federation.py), which calls a peer's mutual-TLS port with this
node's certificate and service-account token, names the acting person in the metadata
("x-kim-acting-user"), maps gRPC errors to `kimnetz.errors` and audits refusals on this side.

Only the generated contract (kim.case.v1 CaseFederation) is used, never the case service's code.
Runs in the api process (plain threads).
"""

from __future__ import annotations

from typing import Any, Protocol

from kim.case.v1 import case_pb2
from kimnetz.runtime.settings import Settings
from services.documents.figures import CaseFiguresRecord, PeerNode, ReportPeriod
from services.documents.figures_client import figures_record, figures_request

GET_FIGURES = "/kim.case.v1.CaseFederation/GetFigures"
TIMEOUT_SECONDS = 10.0
"""Per node: a node that does not answer in time is "nicht erreichbar"; the nodes are asked in
parallel, so a render waits about this long at worst."""


class _Client(Protocol):
    """What this adapter uses of kimnetz.runtime.federation.FederationClient."""

    @property
    def node_id(self) -> str: ...

    @property
    def organization(self) -> str: ...

    def nodes(self) -> list[Any]: ...

    def call(self, node_id: str, method_path: str, request: Any, response_type: Any, *,
             acting_user: str = "", timeout: float = 15.0) -> Any: ...


class FederationPeerFigures:
    def __init__(self, client: _Client, *, keeps_directory: bool = False) -> None:
        self._client = client
        self.keeps_directory = keeps_directory

    @property
    def node_id(self) -> str:
        return self._client.node_id

    @property
    def organization(self) -> str:
        return self._client.organization

    def nodes(self) -> list[PeerNode]:
        return [PeerNode(n.node_id, n.organization, n.role, n.organization_name)
                for n in self._client.nodes()]

    def figures(self, node_id: str, acting_user: str,
                period: ReportPeriod | None = None) -> CaseFiguresRecord:
        answer = self._client.call(node_id, GET_FIGURES, figures_request(period), case_pb2.Figures,
                                   acting_user=acting_user, timeout=TIMEOUT_SECONDS)
        return figures_record(answer)


def peer_figures(client: _Client | None, settings: Settings) -> FederationPeerFigures | None:
    """The federation as the documents service asks it (`client`: the api process's
    FederationClient, from the composition root), None on a node without one."""
    if client is None:
        return None
    # No directory target: the directory is this node's own (FederationClient reads it locally).
    return FederationPeerFigures(client, keeps_directory=not settings.directory_target)
