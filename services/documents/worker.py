"""The documents service's nameko worker (run by `kim node worker`): bulk rendering.

A bulk request (all contracts of an allocation file) is accepted by the api, stored as a job
with the event ContractsRequested in its outbox, and carried out here, out of the api's request
threads (ARCHITECTURE: rendering many documents belongs in a worker). Each stored contract has
DocumentGenerated in its own outbox; the api process's relay sends them.

Failures (docs/events.md, "Failures"): a passing one (the database away, a version conflict)
propagates, so the consuming wrapper delivers the request again after a back-off while the job
stays "requested"; any other ends the job "failed" with a German reason the requester sees
(`GetContractsJob`), instead of leaving it "requested" for ever.

Redelivery is harmless: a job's documents have ids derived from the job, so a second delivery
stores only what the first did not, and a finished job is not run again.

The retention timer deletes generated case records (Fallkonferenz-Protokolle) past their
Löschfrist, content and input (`KIM_DOCUMENTS_*`, services/documents/domain/retention.py);
each deletion is audited and logged.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from kim.common.v1.event_pb2 import EventEnvelope
from kim.documents.v1.events_pb2 import ContractsRequested
from kimnetz.errors import UntrustedEvent
from kimnetz.runtime import events
from kimnetz.runtime.consume import is_transient, reliable_handler
from kimnetz.runtime.node_worker import ProbeResponder
from kimnetz.runtime.worker import Provide, WorkerContext, every
from services.documents import SERVICE
from services.documents.repository import MongoDocumentsRepository
from services.documents.service import DocumentsService
from services.documents.settings import DocumentsSettings

log = logging.getLogger(__name__)
JOB_FAILED = "Die Verträge konnten nicht erzeugt werden (interner Fehler, {error}); bitte erneut beauftragen."


def documents_service(worker: WorkerContext) -> DocumentsService:
    """One service layer (and so one renderer with its compiled templates) per worker process."""
    return DocumentsService(MongoDocumentsRepository(worker.node.node_id))


class DocumentsWorker(ProbeResponder):
    name = SERVICE
    settings: DocumentsSettings = Provide(lambda worker: worker.settings(DocumentsSettings))
    documents: DocumentsService = Provide(documents_service)

    @reliable_handler(SERVICE, events.event_type(ContractsRequested))
    def on_contracts_requested(self, envelope: EventEnvelope) -> None:
        request = events.unpack(envelope)
        assert isinstance(request, ContractsRequested)
        try:
            if not self.trust.verify(envelope).local:
                raise UntrustedEvent("sender-not-allowed", f"Auftrag {request.job_id} kommt von "
                                     f"{envelope.source_node}; Aufträge erteilt nur dieser Knoten.")
        except UntrustedEvent as error:
            self.trust.refused(envelope, error)
            raise  # kept with its reason in the dead letters (kimnetz.runtime.consume)
        try:
            self.documents.run_contracts_job(request.job_id)
        except Exception as exc:
            if is_transient(exc):
                raise  # redelivered after a back-off; the job stays "requested" meanwhile
            log.exception("contracts job %s failed for good", request.job_id)
            self.documents.fail_contracts_job(request.job_id, JOB_FAILED.format(error=type(exc).__name__))

    @every(lambda worker: worker.settings(DocumentsSettings).retention_interval_seconds)
    def apply_retention(self) -> None:
        period = timedelta(days=self.settings.case_record_retention_days)
        for record in self.documents.apply_retention(period):
            log.info("retention: %s %s of %s generated %s deleted", record.kind, record.document_id,
                     record.organization, record.created_at.date().isoformat())
