"""The conference service's nameko worker (run by `kim node worker`): event handlers and timers.

- `BarrierRecorded` from the case service ("case.events") feeds the barrier register with the
  anonymised part only (barrier id, Rechtskreise, category, Handlungsfeld, day): case id and
  pseudonym are dropped here. Idempotent: the register is unique per barrier id, so a
  redelivered envelope (same id) or a re-sent event counts once.
- A timer reminds of overdue Beschlüsse: `BeschlussOverdue` once per Beschluss and due date,
  written with the Beschluss (outbox); the api process's relay publishes it. Several workers
  may run; the repository's optimistic lock lets one of them write each reminder.

- `CaseSubmittedForReview` (local, and from Stadt/Caritas nodes over event federation) addressed
  to this node's organisation (`KIM_ORGANIZATION_ID`) is a Fallvorschlag: registered once per
  submission with what the event carries (pseudonym, owning node, consent, brief fields; no
  personal data). The agenda asks the owning node for a fresh brief (federated_cases.py).
- `ConsentRevoked` addressed to this node's organisation is an erase request: the registry
  entries of the case and its briefs in Fallkonferenzen not yet closed are erased, then
  `CaseDataErased` is written to the erasure's outbox (the api process's relay publishes it),
  once per revocation however often the request is delivered. A conference saved meanwhile
  (version conflict) or the database away: retried with back-off by the consuming wrapper
  (`kimnetz.runtime.consume`) until it succeeds or, after `KIM_EVENT_MAX_ATTEMPTS`, dead-lettered
  with its reason; never lost.
- `ConsentRevoked` addressed to another organisation, for a case this node holds: if stored
  agenda briefs of the case are covered for that organisation (a Fallkonferenz participant
  hosted here without a node of its own, the ABH), they lose that coverage at once, in every
  conference, and a `CaseDataErased` naming that organisation and this node confirms it once
  (`Loeschersuchen.withdraw_coverage`; the same sender rule: only the case's owner asks).
- `CaseErased` naming this node's organisation among its recipients is the erase request of
  a retention deletion on the owning node: the same erasure, confirmed with a
  `CaseDataErased` without consent id.

Every event is verified first (`self.trust.verify`, kimnetz/runtime/event_trust.py); the verified
`Sender` goes to the service layer, which decides whether it may assert the event (proposals
only from the owning node, erase requests only from the case's owner); refusals are logged,
audited and kept (`self.trust.refused`).

No gRPC here (eventlet); storage only through the service layer.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from kim.case.v1 import events_pb2 as case_events, types_pb2 as case_types
from kim.common.v1.event_pb2 import EventEnvelope
from kimnetz.errors import UntrustedEvent
from kimnetz.runtime import events
from kimnetz.runtime.consume import reliable_handler
from kimnetz.runtime.node_worker import ProbeResponder
from kimnetz.runtime.settings import Settings
from kimnetz.runtime.worker import Provide, WorkerContext, every
from services.conference import SERVICE
from services.conference.case_client import AGE_BANDS
from services.conference.composition import ConferenceServices, conference_services
from services.conference.domain.projektgruppe import BarrierObservation
from services.conference.domain.proposals import Proposal
from services.conference.domain.vocabulary import BarrierCategory, Handlungsfeld, Rechtskreis
from services.conference.loeschersuchen import ErasureRequest
from services.conference.repository import MongoConferenceRepository

log = logging.getLogger(__name__)


def conference_service(worker: WorkerContext) -> ConferenceServices:
    """The service layer for one handler call: the repository remembers the versions it loaded,
    so handlers running at the same time must not share one."""
    return conference_services(MongoConferenceRepository(worker.node.node_id), node_id=worker.node.node_id,
                               register_org=worker.node.organization_id)


def observation(message: case_events.BarrierRecorded) -> BarrierObservation:
    """The anonymised observation of a recorded barrier (nothing that points at the case)."""
    recorded = (
        message.occurred_at.ToDatetime(tzinfo=UTC) if message.HasField("occurred_at") else datetime.now(UTC)
    )
    handlungsfeld = None
    if message.handlungsfeld:
        handlungsfeld = Handlungsfeld[
            case_types.Handlungsfeld.Name(message.handlungsfeld).removeprefix("HANDLUNGSFELD_")
        ]
    return BarrierObservation(
        barrier_id=message.barrier_id,
        rechtskreise=tuple(
            Rechtskreis[case_types.Rechtskreis.Name(r).removeprefix("RECHTSKREIS_")]
            for r in message.rechtskreise
        ),
        category=BarrierCategory[
            case_types.BarrierCategory.Name(message.category).removeprefix("BARRIER_CATEGORY_")
        ],
        recorded_on=recorded.date(),
        handlungsfeld=handlungsfeld,
    )


def _when(message: Any, envelope: EventEnvelope) -> datetime:
    if message.HasField("occurred_at"):
        when: datetime = message.occurred_at.ToDatetime(tzinfo=UTC)
        return when
    if envelope.HasField("occurred_at"):
        return envelope.occurred_at.ToDatetime(tzinfo=UTC)
    return datetime.now(UTC)


def _millis(value: datetime) -> datetime:
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


def proposal(envelope: EventEnvelope, message: case_events.CaseSubmittedForReview) -> Proposal:
    """The registry entry of a submitted Fallvorschlag: the event's pseudonymised fields only."""
    brief = message.brief
    return Proposal(
        case_id=message.case_id,
        # Older case nodes sent no owner_node: the node that published the event owns the case.
        owner_node=message.owner_node or envelope.source_node,
        owner_org=message.owner_org,
        coordination_org=message.coordination_org,
        pseudonym=message.pseudonym or brief.pseudonym,
        consent_id=message.consent_id,
        # Stored as BSON dates (milliseconds): cut here so the id and the stored time agree.
        submitted_at=_millis(_when(message, envelope)),
        received_at=datetime.now(UTC),
        zielgruppe=brief.zielgruppe,
        zielgruppen_version=brief.zielgruppen_version,
        handlungsfelder=tuple(
            Handlungsfeld[case_types.Handlungsfeld.Name(h).removeprefix("HANDLUNGSFELD_")]
            for h in brief.handlungsfelder
        ),
        rechtskreise=tuple(
            Rechtskreis[case_types.Rechtskreis.Name(r).removeprefix("RECHTSKREIS_")]
            for r in brief.rechtskreise
        ),
        age_band=AGE_BANDS.get(brief.age_band),
        received_as_umf=brief.received_as_umf,
    )


class ConferenceWorker(ProbeResponder):
    name = SERVICE
    conference: ConferenceServices = Provide(conference_service, per_worker=True)

    @reliable_handler("case", events.event_type(case_events.BarrierRecorded))
    def on_barrier_recorded(self, envelope: EventEnvelope) -> None:
        message = events.unpack(envelope)
        assert isinstance(message, case_events.BarrierRecorded)
        try:
            self.trust.verify(envelope)  # any active node of the federation records barriers
        except UntrustedEvent as error:
            self.trust.refused(envelope, error)
            raise  # kept with its reason in the dead letters (kimnetz.runtime.consume)
        # An event this node cannot read (KeyError, ValueError): dead-lettered by the wrapper.
        counted = self.conference.barrierenregister.record_barrier(observation(message))
        log.info("barrier event %s %s", envelope.id, "counted" if counted else "already counted")

    @every(lambda worker: worker.node.reminder_interval_seconds, eager=True)
    def remind_overdue_beschluesse(self) -> None:
        reminded = self.conference.beschlussverfolgung.remind_overdue()
        if reminded:
            log.info("reminded of %d overdue Beschlüsse: %s", len(reminded), ", ".join(reminded))

    @every(lambda worker: worker.node.reminder_interval_seconds)
    def prune_superseded_changes(self) -> None:
        """Superseded changes leave by this timer, not by each write (services/conference/repository.py)."""
        pruned = MongoConferenceRepository(self.node_settings.node_id).prune_superseded()
        if pruned:
            log.info("deleted %d superseded changes", pruned)

    @reliable_handler("case", events.event_type(case_events.CaseSubmittedForReview))
    def on_case_submitted(self, envelope: EventEnvelope) -> None:
        message = events.unpack(envelope)
        assert isinstance(message, case_events.CaseSubmittedForReview)
        settings: Settings = self.node_settings
        if message.coordination_org != settings.organization_id:
            log.info("proposal %s of case %s is for %s, not for this node", envelope.id,
                     message.case_id, message.coordination_org)
            return
        # An event this node cannot read, or a refusal: dead-lettered by the wrapper with its
        # reason; the database away: retried.
        try:
            sender = self.trust.verify(envelope)
            outcome = self.conference.fallvorschlaege.register_proposal(proposal(envelope, message), sender)
        except UntrustedEvent as error:
            self.trust.refused(envelope, error)
            raise  # kept with its reason in the dead letters (kimnetz.runtime.consume)
        log.info("proposal %s of case %s %s", envelope.id, message.case_id, outcome)

    @reliable_handler("case", events.event_type(case_events.ConsentRevoked))
    def on_consent_revoked(self, envelope: EventEnvelope) -> None:
        message = events.unpack(envelope)
        assert isinstance(message, case_events.ConsentRevoked)
        settings: Settings = self.node_settings
        request = ErasureRequest(
            case_id=message.case_id, consent_id=message.consent_id, pseudonym=message.pseudonym,
            owner_org=message.owner_org, owner_node=message.owner_node,
        )
        service = self.conference.loeschersuchen
        if message.recipient_org != settings.organization_id:
            # Another organisation's consent: a participant organisation hosted here (the ABH)
            # may have been shown briefs under it; they are withheld from it at once.
            if not message.recipient_org or not service.holds_case(message.case_id, message.consent_id):
                return  # nothing of the case here, nothing anyone could read
            try:
                sender = self.trust.verify(envelope)
                withdrawn, confirmed = service.withdraw_coverage(request, message.recipient_org, sender)
            except UntrustedEvent as error:
                self.trust.refused(envelope, error)
                raise  # kept with its reason in the dead letters (kimnetz.runtime.consume)
            log.info("revocation %s for %s, case %s: %s", envelope.id, message.recipient_org,
                     message.case_id, "nothing covered here" if withdrawn is None else
                     ("withheld" if confirmed else "already withheld") + f": {withdrawn.summary}")
            return
        try:
            sender = self.trust.verify(envelope)
            erasure, confirmed = service.erase_case(request, sender)
        except UntrustedEvent as error:
            self.trust.refused(envelope, error)
            raise  # kept with its reason in the dead letters (kimnetz.runtime.consume)
        log.info("erase request %s for case %s %s: %s", envelope.id, message.case_id,
                 "erased" if confirmed else "already erased", erasure.summary)

    @reliable_handler("case", events.event_type(case_events.CaseErased))
    def on_case_erased(self, envelope: EventEnvelope) -> None:
        message = events.unpack(envelope)
        assert isinstance(message, case_events.CaseErased)
        settings: Settings = self.node_settings
        if settings.organization_id not in message.recipient_orgs:
            return  # nothing of the case was given to this organisation
        request = ErasureRequest(
            case_id=message.case_id, consent_id="", pseudonym=message.pseudonym,
            owner_org=message.owner_org, owner_node=message.owner_node,
        )
        try:  # only the case's owner asks (the same rule as for a revoked consent)
            sender = self.trust.verify(envelope)
            erasure, confirmed = self.conference.loeschersuchen.erase_case(request, sender)
        except UntrustedEvent as error:
            self.trust.refused(envelope, error)
            raise  # kept with its reason in the dead letters (kimnetz.runtime.consume)
        log.info("retention erase request %s for case %s %s: %s", envelope.id, message.case_id,
                 "erased" if confirmed else "already erased", erasure.summary)
