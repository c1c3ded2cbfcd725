"""The `CaseBriefs` port on a node of the federation: this node's own cases as before (the
adapter it wraps, with the caller's token) plus fresh briefs of the Fallvorschläge other nodes
sent to this koordinierende Stelle (the registry the worker fills from `CaseSubmittedForReview`).

Remote briefs are asked of each owning node with `kim.case.v1.CaseFederation/GetCaseBriefs` on
its mutual-TLS port, as this node, naming the coordinator who builds the agenda as the acting
user (both nodes audit that person). One call per node and at most 200 case ids; the nodes are
asked in parallel, so the slowest node, not the sum of all, bounds the build. A node that cannot
be asked (not reachable, not or no longer in the directory, refusing) does not block the agenda:
it is reported with its waiting proposals, which stay registered for the next build. A case the
owner answers as unavailable (consent revoked or expired, not proposed here) is withdrawn with a
note. A brief's `owner_node` is the node that answered for it: decisions go back to that node.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol, TypeVar

from google.protobuf.message import Message

from kim.case.v1 import federation_pb2
from kim.common.v1 import types_pb2 as common
from kimnetz import errors
from services.conference.case_client import PURPOSE, brief_from_message
from services.conference.cases import AgendaCandidates, CaseBriefs, UnreachableNode
from services.conference.domain.briefs import CaseBrief
from services.conference.domain.proposals import Proposal

log = logging.getLogger(__name__)

GET_CASE_BRIEFS = "/kim.case.v1.CaseFederation/GetCaseBriefs"
#: What GetCaseBriefs takes per call (protos/kim/case/v1/federation.proto).
MAX_IDS_PER_CALL = 200
TIMEOUT_SECONDS = 10.0
MAX_PARALLEL_NODES = 4

ResponseT = TypeVar("ResponseT", bound=Message)


class PeerCaller(Protocol):
    """What this adapter needs of `kimnetz.runtime.federation.FederationClient`."""

    node_id: str

    def call(self, node_id: str, method_path: str, request: Message, response_type: type[ResponseT], *,
             acting_user: str = "", timeout: float = 15.0) -> ResponseT: ...


#: The open proposals of OTHER nodes to a koordinierende Stelle (service layer, registry).
RemoteProposals = Callable[[str], list[Proposal]]


def withdrawn_note(node_id: str, pseudonym: str) -> str:
    return (
        f"Der Knoten {node_id} gibt {pseudonym} für die Fallkonferenz nicht mehr frei "
        "(Einwilligung widerrufen oder abgelaufen); von der Tagesordnung genommen."
    )


@dataclass
class _NodeAnswer:
    briefs: list[CaseBrief] = field(default_factory=list)
    withdrawn: dict[str, str] = field(default_factory=dict)
    failed: list[Proposal] = field(default_factory=list)
    reason: str = ""


class FederatedCaseBriefs(CaseBriefs):
    def __init__(
        self, local: CaseBriefs, federation: PeerCaller, remote_proposals: RemoteProposals, *,
        acting_user: str, timeout: float = TIMEOUT_SECONDS,
    ) -> None:
        self._local = local
        self._federation = federation
        self._remote_proposals = remote_proposals
        self._acting_user = acting_user
        self._timeout = timeout

    def agenda_candidates(self, coordination_org: str, reviews_due_by: date) -> AgendaCandidates:
        local = self._local.agenda_candidates(coordination_org, reviews_due_by)
        known = {b.case_id for b in local.briefs}
        by_node: dict[str, list[Proposal]] = {}
        for proposal in self._remote_proposals(coordination_org):
            if proposal.owner_node != self._federation.node_id and proposal.case_id not in known:
                by_node.setdefault(proposal.owner_node, []).append(proposal)
        if not by_node:
            return local
        nodes = sorted(by_node)
        with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL_NODES, len(nodes)),
                                thread_name_prefix="agenda-peer") as pool:
            answers = list(pool.map(lambda n: self._ask(n, by_node[n], coordination_org), nodes))
        briefs, withdrawn, unreachable = list(local.briefs), dict(local.withdrawn), list(local.unreachable)
        for node_id, answer in zip(nodes, answers, strict=True):
            briefs.extend(answer.briefs)
            withdrawn.update(answer.withdrawn)
            if answer.failed:
                unreachable.append(UnreachableNode(
                    node_id=node_id,
                    organisation=answer.failed[0].owner_org,
                    reason=answer.reason,
                    case_ids=tuple(p.case_id for p in answer.failed),
                    pseudonyms=tuple(p.pseudonym for p in answer.failed),
                ))
        return AgendaCandidates(briefs, withdrawn, tuple(unreachable))

    def brief(self, case_id: str, coordination_org: str, owner_node: str = "") -> CaseBrief:
        if not owner_node or owner_node == self._federation.node_id:
            return self._local.brief(case_id, coordination_org)
        response = self._federation.call(
            owner_node, GET_CASE_BRIEFS,
            federation_pb2.GetCaseBriefsRequest(case_ids=[case_id], purpose=PURPOSE),
            federation_pb2.GetCaseBriefsResponse, acting_user=self._acting_user, timeout=self._timeout,
        )
        found = next((m for m in response.briefs if m.case_id == case_id), None)
        if found is None:
            raise errors.FailedPrecondition(
                f"Der Knoten {owner_node} gibt den Fall {case_id} für die Fallkonferenz nicht mehr frei "
                "(Einwilligung widerrufen oder abgelaufen)."
            )
        return brief_from_message(found, owner_node=owner_node, coordination_org=coordination_org)

    def _ask(self, node_id: str, proposals: list[Proposal], coordination_org: str) -> _NodeAnswer:
        answer = _NodeAnswer()
        for start in range(0, len(proposals), MAX_IDS_PER_CALL):
            chunk = {p.case_id: p for p in proposals[start:start + MAX_IDS_PER_CALL]}
            try:
                response = self._federation.call(
                    node_id, GET_CASE_BRIEFS,
                    federation_pb2.GetCaseBriefsRequest(case_ids=list(chunk), purpose=PURPOSE),
                    federation_pb2.GetCaseBriefsResponse,
                    acting_user=self._acting_user, timeout=self._timeout,
                )
            except errors.KimError as error:
                log.warning("agenda: briefs of node %s not fetched: %s", node_id, error.message)
                answer.failed.extend(chunk.values())
                answer.reason = error.message
                continue
            except Exception:  # whatever else fails with one node must not cost the agenda
                log.exception("agenda: briefs of node %s not fetched", node_id)
                answer.failed.extend(chunk.values())
                answer.reason = f"Der Knoten {node_id} konnte nicht abgefragt werden."
                continue
            for message in response.briefs:
                proposal = chunk.pop(message.case_id, None)
                if proposal is None:  # never asked for: not ours to hold
                    log.warning("agenda: node %s answered an unrequested case %s", node_id, message.case_id)
                    continue
                try:
                    # An admitted case comes back for its review: it is no proposal any more.
                    submitted = message.status == common.CASE_STATUS_IN_REVIEW
                    answer.briefs.append(brief_from_message(
                        message, owner_node=node_id, coordination_org=coordination_org,
                        proposed_on=proposal.submitted_at.date() if submitted else None,
                    ))
                except errors.Unavailable as error:
                    answer.failed.append(proposal)
                    answer.reason = error.message
            for case_id in response.unavailable_case_ids:
                proposal = chunk.pop(case_id, None)
                if proposal is not None:
                    answer.withdrawn[case_id] = withdrawn_note(node_id, proposal.pseudonym)
            if chunk:  # neither brief nor unavailable: the node's answer is incomplete
                answer.failed.extend(chunk.values())
                answer.reason = answer.reason or (
                    f"Der Knoten {node_id} hat zu {len(chunk)} Fallvorschlägen nicht geantwortet."
                )
        return answer
