"""The documents service's nameko worker (run by `kim node worker`): bulk rendering.

A bulk request (all contracts of an allocation file) is accepted by the api, stored as a job
with the event ContractsRequested in its outbox, and carried out here, out of the api's request
threads (ARCHITECTURE: rendering many documents belongs in a worker). Each stored contract has
DocumentGenerated in its own outbox; the api process's relay sends them.

Redelivery is harmless: a job's documents have ids derived from the job, so a second delivery
stores only what the first did not, and a finished job is not run again.
"""

from __future__ import annotations

from typing import Any

from nameko.events import SERVICE_POOL, event_handler
from nameko.extensions import DependencyProvider

from kim.common.v1.event_pb2 import EventEnvelope
from kim.documents.v1.events_pb2 import ContractsRequested
from kim.errors import UntrustedEvent
from kim.runtime import events, mongo
from kim.runtime.settings import Settings
from kim.runtime.worker import NodeDatabase, ProbeResponder
from services.documents import SERVICE
from services.documents.repository import DocumentStore
from services.documents.service import DocumentsService


class Documents(DependencyProvider):
    """One service layer (and so one renderer with its compiled templates) per worker process."""

    def setup(self) -> None:
        settings = Settings()
        mongo.connect(settings, SERVICE)
        self.service = DocumentsService(DocumentStore(settings.node_id))

    def get_dependency(self, worker_ctx: Any) -> DocumentsService:
        return self.service


class DocumentsWorker(ProbeResponder):
    name = SERVICE
    database = NodeDatabase(SERVICE)
    documents = Documents()

    @event_handler(  # type: ignore[untyped-decorator]
        SERVICE, events.event_type(ContractsRequested), handler_type=SERVICE_POOL, reliable_delivery=True,
    )
    def on_contracts_requested(self, envelope: EventEnvelope) -> None:
        request = events.unpack(envelope)
        assert isinstance(request, ContractsRequested)
        try:
            if not self.trust.verify(envelope).local:
                raise UntrustedEvent("sender-not-allowed", f"Auftrag {request.job_id} kommt von "
                                     f"{envelope.source_node}; Aufträge erteilt nur dieser Knoten.")
        except UntrustedEvent as error:
            self.trust.refused(envelope, error)
            return
        self.documents.run_contracts_job(request.job_id)
