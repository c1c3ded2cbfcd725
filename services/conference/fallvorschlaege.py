"""The registry of Fallvorschläge: a case a node submits for review to this node's koordinierende
Stelle (`CaseSubmittedForReview`, received by the worker) is registered once per submission with
the pseudonymised fields the event carries; the agenda asks the owning nodes of the proposals
still open for fresh briefs (federated_cases.py).

`node_id` is this node: its own cases reach the agenda through its case service, not the registry.
"""

from __future__ import annotations

from kimnetz.errors import UntrustedEvent
from kimnetz.runtime.event_trust import Sender
from services.conference.domain.ports import ErasureRepository, FallkonferenzRepository, ProposalRepository
from services.conference.domain.proposals import Proposal, admitted_proposals, open_proposals


class Fallvorschlaege:
    def __init__(
        self, proposals: ProposalRepository, erasures: ErasureRepository,
        conferences: FallkonferenzRepository, *, node_id: str,
    ) -> None:
        self.proposals = proposals
        self.erasures = erasures
        self.conferences = conferences
        self.node_id = node_id

    def register_proposal(self, proposal: Proposal, sender: Sender) -> str:
        """From the worker: a Fallvorschlag to this node's koordinierende Stelle. Returns
        "registered", "already registered" (a redelivery) or "consent revoked" (the erase
        request for its consent overtook it: nothing is kept). Only the owning node proposes
        its case: the event's owner node and organisation must be the verified `sender`."""
        if (proposal.owner_node, proposal.owner_org) != (sender.node_id, sender.organization):
            raise UntrustedEvent(
                "sender-not-allowed", f"Fallvorschlag {proposal.case_id} nennt den Knoten "
                f"{proposal.owner_node} ({proposal.owner_org}) als Eigentümer, kommt aber vom "
                f"Knoten {sender.node_id} ({sender.organization}).")
        if proposal.consent_id and self.erasures.erased(proposal.case_id, proposal.consent_id):
            return "consent revoked"
        return "registered" if self.proposals.record_proposal(proposal) else "already registered"

    def remote_open_proposals(self, coordination_org: str) -> list[Proposal]:
        """The proposals other nodes sent to `coordination_org` that no Fallkonferenz here has
        decided since they were submitted (their owners are asked for fresh briefs)."""
        proposals = self.proposals.proposals(coordination_org, other_than_node=self.node_id)
        decided = self.conferences.decided_at(coordination_org, sorted({p.case_id for p in proposals}))
        return open_proposals(proposals, decided)

    def remote_agenda_cases(self, coordination_org: str) -> list[Proposal]:
        """What an agenda asks other nodes about: their open proposals, then the cases this
        Stelle admitted, whose quarterly reviews its Fallkonferenz holds (Borken)."""
        proposals = self.proposals.proposals(coordination_org, other_than_node=self.node_id)
        ids = sorted({p.case_id for p in proposals})
        decided = self.conferences.decided_at(coordination_org, ids)
        followed = admitted_proposals(proposals, decided, self.conferences.admitted(coordination_org, ids))
        return [*open_proposals(proposals, decided), *followed]
