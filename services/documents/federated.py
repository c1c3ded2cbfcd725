"""Whose figures a Monitoringbericht or Drucksache carries, and gathering the federation's.

The node's own figures are read as always, with the caller's token, FIRST: the own case service
decides whether this person may read figures at all, and a refused caller causes no call to any
other node. Then, on the Kreis' node, every other active node of the directory is asked over
mutual TLS on the caller's behalf (their name goes to both audit trails), in parallel, each with
its own time limit. A node that cannot be reached, refuses, or answers with figures this service
cannot read becomes a named gap in the document ("nicht erreichbar"), never a failed render.

Only a node of role "district" asks: the other nodes give their figures to the Kreis only
(kim.case.v1 CaseFederation), so a Kommune asking would merely collect refusals.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from kimnetz.errors import FailedPrecondition, KimError, Unavailable
from services.documents.domain.federation import (
    UNREACHABLE,
    CombinedFigures,
    MissingNode,
    NodeFigures,
    NodeSource,
    combine,
)
from services.documents.figures import (
    DISTRICT,
    CaseFigures,
    CaseFiguresRecord,
    PeerFigures,
    PeerNode,
    ReportPeriod,
)
from services.documents.inputs.figure_lines import unknown_statuses

log = logging.getLogger(__name__)

AUTO, NODE, FEDERATION = "auto", "node", "federation"
SCOPES = (AUTO, NODE, FEDERATION)
MAX_PARALLEL = 4
UNREADABLE = "Angaben in einer neueren Fassung, hier nicht lesbar"


def read_figures(own: CaseFigures, peers: PeerFigures | None, scope: str, *, acting_user: str,
                 now: Callable[[], datetime],
                 period: ReportPeriod | None = None) -> CaseFiguresRecord | CombinedFigures:
    """The node's figures (scope NODE, or AUTO off the Kreis' node) or the federation's; with
    `period` each node's movements in it and its stock at the end (kim.case.v1.PeriodFigures)."""
    if scope not in SCOPES:
        raise ValueError(f"unknown scope {scope!r}")
    if scope == FEDERATION and peers is None:
        raise FailedPrecondition("Dieser Knoten gehört keinem KIM-Verbund an; es gibt nur seine eigenen "
                                 "Fallzahlen.")
    if scope == NODE or peers is None:
        return own.figures(period)
    mine = own.figures(period)  # the caller's right to read figures, decided by the own case service
    read_at = now()
    try:
        nodes = peers.nodes()
    except KimError as exc:  # refused or away: either way not the caller's fault
        log.warning("node directory not read: %s", exc)
        if scope == AUTO and not peers.keeps_directory:
            # A Kommune or Träger reads the directory at the Kreis: while that is away, its own
            # reports (its own figures by default) must not depend on it. The Kreis' node keeps
            # the directory itself, so there an unreadable directory is an error, not a reason
            # to hand the Kreistag the Kreis' own figures instead of the federation's.
            return mine
        raise Unavailable("Das Knotenverzeichnis des Verbunds ist nicht erreichbar, daher sind die "
                          "verbundweiten Fallzahlen nicht abrufbar; bitte später erneut versuchen oder nur "
                          "die Zahlen dieses Knotens anfordern.") from exc
    me = next((n for n in nodes if n.node_id == peers.node_id), None)
    if me is None or me.role != DISTRICT:
        if scope == FEDERATION:
            raise FailedPrecondition("Verbundweite Fallzahlen gibt es nur auf dem Knoten des Kreises: die "
                                     "anderen Knoten geben ihre Zahlen nur ihm heraus.")
        return mine
    own_node = NodeFigures(NodeSource(peers.node_id, peers.organization, me.organization_name), mine, read_at)
    others = [n for n in nodes if n.node_id != peers.node_id]
    answers = _ask(peers, others, acting_user, now, period)
    read = [answer for answer in answers if isinstance(answer, NodeFigures)]
    missing = [answer for answer in answers if isinstance(answer, MissingNode)]
    return combine([own_node, *read], missing)


def _ask(peers: PeerFigures, nodes: list[PeerNode], acting_user: str,
         now: Callable[[], datetime], period: ReportPeriod | None) -> list[NodeFigures | MissingNode]:
    if not nodes:
        return []

    def one(node: PeerNode) -> NodeFigures | MissingNode:
        source = NodeSource(node.node_id, node.organization, node.organization_name)
        try:
            figures = peers.figures(node.node_id, acting_user, period)
        except Exception as exc:  # any failure of one node is a gap in the document, not a failure
            log.warning("figures of node %s not read: %s", node.node_id, exc)
            return MissingNode(source, UNREACHABLE)
        if unknown_statuses(figures):
            log.warning("figures of node %s carry unknown statuses %s", node.node_id,
                        unknown_statuses(figures))
            return MissingNode(source, UNREADABLE)
        return NodeFigures(source, figures, now())

    with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL, len(nodes)),
                            thread_name_prefix="peer-figures") as pool:
        return list(pool.map(one, nodes))
