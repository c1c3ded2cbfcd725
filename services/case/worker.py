"""The case service's nameko worker (run by `kim node worker`): what it consumes and runs.

- Fallkonferenz decisions (`kim.conference.v1`: admission with assignee, referral with
  target, deferral, rejection, the quarterly review's outcome) for the cases of this node,
  each applied once per event id: the write records the envelope id, a redelivery finds it
  and changes nothing.
- New Zielgruppen versions of the Lenkungsgruppe (stored once per version).
- Erase confirmations (`kim.conference.v1.CaseDataErased`: a node of a revoked consent's
  recipient organisation erased what it held) for the cases of this node, recorded on the
  case once per event id.
- Failures (docs/events.md, "Failures"): a version conflict (a case manager wrote the case
  meanwhile) or an unreachable database is retried with back-off by the consuming wrapper
  (`kimnetz.runtime.consume`); a refusal that can never apply (unknown case, wrong state, a
  receiver the consent did not name) is dead-lettered there with its reason. Nothing is
  acknowledged and forgotten.
- The retention timer: closed cases past their Löschfrist are deleted or anonymised
  (`KIM_CASE_RETENTION_*`), each in the audit trail.
- The reminder timer: dates in open cases the case manager must act on (end of a Duldung or
  Gestattung, 18th/21st birthday, last day for § 25a, next review) are sent as
  `CaseReminderDue`, once per occasion (`KIM_CASE_REMINDER_*`; docs/case.md, "Reminders").

Every event is verified first (`self.trust.verify`: signature, certificate, node directory;
kimnetz/runtime/event_trust.py) and the verified `Sender` handed to the service layer, which decides
whether that sender may assert it; a refusal is logged, audited and kept (`self.trust.refused`).
Handlers translate only; the service layer does the work. No gRPC here (eventlet).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from kim.common.v1.event_pb2 import EventEnvelope
from kim.conference.v1 import events_pb2 as conference
from kimnetz.errors import UntrustedEvent
from kimnetz.runtime import events
from kimnetz.runtime.consume import reliable_handler
from kimnetz.runtime.node_worker import ProbeResponder
from kimnetz.runtime.worker import Provide, WorkerContext, every
from services.case import SERVICE, inbound
from services.case.composition import CaseServices, case_services
from services.case.repository import CaseChangeDocument, CaseDocument, MongoCaseRepository
from services.case.settings import CaseSettings

log = logging.getLogger(__name__)
CONFERENCE = "conference"


def case_service(worker: WorkerContext) -> CaseServices:
    """The service layer's areas on this node's case database (one per container; the repository
    keeps no state between calls), its indexes ensured."""
    for document in (CaseDocument, CaseChangeDocument):
        document.ensure_indexes()
    return case_services(MongoCaseRepository(worker.node.node_id), node_org=worker.node.organization_id,
                         reminder_lead_times=worker.settings(CaseSettings).reminder_lead_times())


def _decision_handler(message_type: type) -> Any:
    @reliable_handler(CONFERENCE, events.event_type(message_type))
    def handle(self: CaseWorker, envelope: EventEnvelope) -> None:
        self.apply(envelope)

    handle.__name__ = f"on_{message_type.__name__}"
    return handle


class CaseWorker(ProbeResponder):
    name = SERVICE
    settings: CaseSettings = Provide(lambda worker: worker.settings(CaseSettings))
    cases: CaseServices = Provide(case_service)

    on_admission_decided = _decision_handler(conference.CaseAdmissionDecided)
    on_referral_decided = _decision_handler(conference.CaseReferralDecided)
    on_deferral_decided = _decision_handler(conference.CaseDeferralDecided)
    on_rejection_decided = _decision_handler(conference.CaseRejectionDecided)
    on_review_decided = _decision_handler(conference.CaseReviewDecided)

    def apply(self, envelope: EventEnvelope) -> None:
        decision = inbound.decision(events.unpack(envelope))
        if decision.owner_node != self.node_settings.node_id:
            return  # a case of another node: its own worker applies it
        # A version conflict (the case changed meanwhile) is retried, a refusal (unknown case,
        # wrong state) dead-lettered with its reason: both by the wrapper.
        try:
            sender = self.trust.verify(envelope)
            case = self.cases.fallvorschlaege.apply_decision(decision, envelope.id, sender)
        except UntrustedEvent as error:
            self.trust.refused(envelope, error)
            raise  # kept with its reason in the dead letters (kimnetz.runtime.consume)
        if case is None:
            log.info("decision %s already applied", envelope.id)

    @reliable_handler(CONFERENCE, events.event_type(conference.CaseDataErased))
    def on_case_data_erased(self, envelope: EventEnvelope) -> None:
        message = events.unpack(envelope)
        assert isinstance(message, conference.CaseDataErased)
        report = inbound.erasure(message)
        if report.owner_node != self.node_settings.node_id:
            return  # a case of another node: its own worker records it
        # Unknown case or consent, a consent not revoked, a receiver the consent did not name:
        # refused for good, dead-lettered with the reason by the wrapper.
        try:
            sender = self.trust.verify(envelope)
            case = self.cases.einwilligungen.confirm_erasure(report, envelope.id, sender)
        except UntrustedEvent as error:
            self.trust.refused(envelope, error)
            raise  # kept with its reason in the dead letters (kimnetz.runtime.consume)
        if case is None:
            log.info("erase confirmation %s already recorded", envelope.id)
        else:
            log.info("erase confirmation %s recorded on case %s", envelope.id, message.case_id)

    @reliable_handler(CONFERENCE, events.event_type(conference.ZielgruppenDefined))
    def on_zielgruppen_defined(self, envelope: EventEnvelope) -> None:
        message = events.unpack(envelope)
        assert isinstance(message, conference.ZielgruppenDefined)
        try:  # a refusal: dead-lettered
            sender = self.trust.verify(envelope)
            stored = self.cases.zielgruppen.store_catalogue(inbound.catalogue(message), sender,
                                                            message.coordination_org)
        except UntrustedEvent as error:
            self.trust.refused(envelope, error)
            raise  # kept with its reason in the dead letters (kimnetz.runtime.consume)
        log.info("Zielgruppen version %s %s", message.catalogue.version, "stored" if stored else "known")

    @every(lambda worker: worker.settings(CaseSettings).retention_interval_seconds)
    def apply_retention(self) -> None:
        period = timedelta(days=self.settings.retention_days)
        done = self.cases.datenschutz.apply_retention(period, self.settings.retention_mode)
        if done:
            log.info("retention: %d closed cases %s", len(done), self.settings.retention_mode.value)

    @every(lambda worker: worker.settings(CaseSettings).read_models_interval_seconds)
    def fold_read_models(self) -> None:
        folded = self.cases.falldaten.fold_read_models()
        if folded:
            log.debug("read models: %d writes folded", folded)

    @every(lambda worker: worker.settings(CaseSettings).reminder_interval_seconds)
    def send_reminders(self) -> None:
        sent = self.cases.erinnerungen.send_reminders()
        if sent:
            log.info("reminders: %d sent", len(sent))
