"""Erase requests from a case's owning node (the worker receives them):

- `ConsentRevoked` naming this node's organisation, or `CaseErased` (a retention deletion)
  naming it among the recipients: the registry entries of the case and its briefs in
  Fallkonferenzen are erased (`erase_case`);
- `ConsentRevoked` naming a participant organisation this node hosts (the ABH): the agenda
  briefs covered for it lose that coverage (`withdraw_coverage`).

Either way `CaseDataErased` confirms it once, however often the request is delivered (the
erasure is counted once, its steps are idempotent, the confirmation is its second version).
Only the case's owner asks: the verified `Sender` must be the node that owns every registry
entry and agenda brief of the case here.

`register_org` is this node's koordinierende Stelle and `node_id` this node: both are named in
the confirmation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from kimnetz.errors import AlreadyExists, FailedPrecondition, UntrustedEvent
from kimnetz.runtime.event_trust import Sender
from services.conference.application import Clock, utc_now
from services.conference.domain.fallkonferenz import ErasureOutcome, Fallkonferenz
from services.conference.domain.ports import ErasureRepository, FallkonferenzRepository, ProposalRepository
from services.conference.domain.proposals import Erasure


@dataclass(frozen=True)
class ErasureRequest:
    """A revocation (`ConsentRevoked`) of a consent that named this node's organisation, or a
    participant organisation it hosts (`Loeschersuchen.withdraw_coverage`)."""

    case_id: str
    consent_id: str
    pseudonym: str
    owner_org: str
    owner_node: str  # the node that sent the request (the case's owner)


class Loeschersuchen:
    def __init__(
        self, proposals: ProposalRepository, conferences: FallkonferenzRepository,
        erasures: ErasureRepository, *, register_org: str, node_id: str, clock: Clock = utc_now,
    ) -> None:
        self.proposals = proposals
        self.conferences = conferences
        self.erasures = erasures
        self.register_org = register_org
        self.node_id = node_id
        self.clock = clock

    def holds_case(self, case_id: str, consent_id: str) -> bool:
        """Whether an agenda here (any status) has the case, or an erasure under the consent
        was begun (a crash before its confirmation: the redelivery finishes it)."""
        return bool(self.conferences.conference_ids_with_case(case_id)) or (
            self.erasures.erasure(Erasure.id_for(case_id, consent_id)) is not None)

    def erase_case(self, request: ErasureRequest, sender: Sender) -> tuple[Erasure, bool]:
        """From the worker: erase what this node holds of the case, then confirm once. Returns the
        erasure and whether this call confirmed it (False: confirmed before, a redelivery).
        Only the case's owner asks: the verified `sender` must be the node that owns every
        registry entry and agenda brief of the case here, and its organisation the owner the
        request names; the confirmation goes to `sender`, never to a node the event names."""
        request = self._from_owner(request, sender)

        def erase(erasure: Erasure, now: datetime) -> None:
            self.proposals.delete_proposals(request.case_id)
            for conference_id in erasure.conference_ids:
                self._erase_in_conference(conference_id, request.case_id, now)

        erasure, confirmed = self._erase_once(
            Erasure.id_for(request.case_id, request.consent_id),
            lambda erasure_id, now: self._count_erasure(erasure_id, request, now), erase)
        assert erasure is not None  # an erase request is always counted
        return erasure, confirmed

    def withdraw_coverage(self, request: ErasureRequest, recipient_org: str,
                          sender: Sender) -> tuple[Erasure | None, bool]:
        """From the worker: the revoked consent named `recipient_org`, a participant
        organisation this node hosts (the ABH's Integrationslotsin reads the agenda here), not
        this Stelle. Every stored agenda brief of the case covered for it loses that coverage
        at once, in every conference (a closed one too: the record stays, its readers follow
        the consent), then `CaseDataErased` naming `recipient_org` confirms it once. Returns
        (None, False) when nothing here was covered for it (no confirmation: this node held
        nothing for that organisation), else the erasure and whether this call confirmed it.
        The same sender rule as `erase_case`: only the case's owning node asks."""
        request = self._from_owner(request, sender)

        def counted(erasure_id: str, now: datetime) -> Erasure | None:
            conference_ids = tuple(
                c for c in self.conferences.conference_ids_with_case(request.case_id)
                if self.conferences.conference(c).covers_for(request.case_id, recipient_org))
            if not conference_ids:
                return None
            return Erasure(
                erasure_id=erasure_id, case_id=request.case_id, pseudonym=request.pseudonym,
                owner_node=request.owner_node, owner_org=request.owner_org,
                consent_id=request.consent_id, coordination_org=self.register_org,
                erased_by_node=self.node_id, requested_at=now,
                conference_ids=conference_ids, erased_for_org=recipient_org,
                withheld=len(conference_ids),
            )

        def withdraw(erasure: Erasure, now: datetime) -> None:
            # Idempotent: a retry after a crash finds these briefs no longer covered for it.
            for conference_id in erasure.conference_ids:
                self._withdraw_in_conference(conference_id, request.case_id, recipient_org)

        return self._erase_once(Erasure.id_for(request.case_id, request.consent_id), counted, withdraw)

    def _erase_once(self, erasure_id: str, counted: Callable[[str, datetime], Erasure | None],
                    steps: Callable[[Erasure, datetime], None]) -> tuple[Erasure | None, bool]:
        """One erasure of an erase request, however often it is delivered: counted once (what
        `counted` finds; None: nothing held here, nothing to confirm), its idempotent `steps`
        (a retry after a crash finds less to do, the counts stay the first ones), then
        confirmed once. Returns the erasure and whether this call confirmed it."""
        erasure = self.erasures.erasure(erasure_id)
        if erasure is not None and erasure.confirmed:
            return erasure, False
        now = self.clock()
        if erasure is None:
            erasure = counted(erasure_id, now)
            if erasure is None:
                return None, False
            try:
                self.erasures.save_erasure(erasure)
            except AlreadyExists:  # another worker counted it first: go on with its counts
                erasure = self.erasures.erasure(erasure_id)
                assert erasure is not None
                if erasure.confirmed:
                    return erasure, False
        steps(erasure, now)
        erasure.confirm(now)
        try:
            self.erasures.save_erasure(erasure)
        except FailedPrecondition:  # another worker confirmed meanwhile
            return erasure, False
        return erasure, True

    def _withdraw_in_conference(self, conference_id: str, case_id: str, organisation: str) -> None:
        self._change_conference(conference_id, lambda c: c.withdraw_coverage(case_id, organisation))

    def _from_owner(self, request: ErasureRequest, sender: Sender) -> ErasureRequest:
        """The request as the verified `sender` may make it: only the node that owns every
        registry entry and agenda brief of the case here, and its organisation the owner the
        request names. Owner node and organisation are then the sender's, never what the
        event names."""
        holders = self._holders(request.case_id)
        if (holders - {sender.node_id}) or request.owner_org not in ("", sender.organization):
            raise UntrustedEvent(
                "sender-not-allowed", f"Löschersuchen für den Fall {request.case_id} kommt vom "
                f"Knoten {sender.node_id} ({sender.organization}); der Fall gehört "
                f"{', '.join(sorted(holders)) or request.owner_org}.")
        return replace(request, owner_node=sender.node_id,
                       owner_org=request.owner_org or sender.organization)

    def _holders(self, case_id: str) -> set[str]:
        """The owner nodes this node's registry and agendas name for the case."""
        owners = {p.owner_node for p in self.proposals.proposals_of_case(case_id)}
        for conference_id in self.conferences.conference_ids_with_case(case_id):
            owners.update(i.brief.owner_node for i in self.conferences.conference(conference_id).agenda
                          if i.case_id == case_id)
        return {o for o in owners if o}

    def _count_erasure(self, erasure_id: str, request: ErasureRequest, now: datetime) -> Erasure:
        proposals = self.proposals.proposals_of_case(request.case_id)
        outcomes: dict[str, ErasureOutcome] = {}
        for conference_id in self.conferences.conference_ids_with_case(request.case_id):
            # A dry run on a loaded copy (not saved): what the erasure will do there.
            loaded = self.conferences.conference(conference_id)
            outcomes[conference_id] = loaded.erase_case(request.case_id, now)
        return Erasure(
            erasure_id=erasure_id,
            case_id=request.case_id,
            pseudonym=request.pseudonym or next((p.pseudonym for p in proposals), ""),
            owner_node=request.owner_node or next((p.owner_node for p in proposals), ""),
            owner_org=request.owner_org,
            consent_id=request.consent_id,
            coordination_org=self.register_org,
            erased_by_node=self.node_id,
            requested_at=now,
            proposals=len(proposals),
            withdrawn=sum(o is ErasureOutcome.WITHDRAWN for o in outcomes.values()),
            details_erased=sum(o is ErasureOutcome.DETAILS_ERASED for o in outcomes.values()),
            kept_in_records=sum(o is ErasureOutcome.KEPT_IN_RECORD for o in outcomes.values()),
            conference_ids=tuple(
                c for c, o in outcomes.items()
                if o in (ErasureOutcome.WITHDRAWN, ErasureOutcome.DETAILS_ERASED)
            ),
        )

    def _erase_in_conference(self, conference_id: str, case_id: str, now: datetime) -> None:
        self._change_conference(conference_id, lambda c: c.erase_case(case_id, now) in (
            ErasureOutcome.WITHDRAWN, ErasureOutcome.DETAILS_ERASED))

    def _change_conference(self, conference_id: str, change: Callable[[Fallkonferenz], bool],
                           attempts: int = 5) -> None:
        """Loads the Fallkonferenz, applies `change` (True: something changed) and saves it; a
        coordinator who saved it meanwhile makes it reload and apply the change again."""
        for attempt in range(attempts):
            conference = self.conferences.conference(conference_id)
            if not change(conference):
                return
            try:
                self.conferences.save_conference(conference)
                return
            except FailedPrecondition:  # a coordinator saved the conference meanwhile: reload
                if attempt == attempts - 1:
                    raise
