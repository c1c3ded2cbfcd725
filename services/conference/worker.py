"""The conference service's nameko worker (run by `kim node worker`): event handlers and timers.

- `BarrierRecorded` from the case service ("case.events") feeds the barrier register with the
  anonymised part only (barrier id, Rechtskreise, category, Handlungsfeld, day): case id and
  pseudonym are dropped here. Idempotent: the register is unique per barrier id, so a
  redelivered envelope (same id) or a re-sent event counts once.
- A timer reminds of overdue Beschlüsse: `BeschlussOverdue` once per Beschluss and due date,
  written with the Beschluss (outbox); the api process's relay publishes it. Several workers
  may run; the repository's optimistic lock lets one of them write each reminder.

No gRPC here (eventlet); storage only through the service layer.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from nameko.events import SERVICE_POOL, event_handler
from nameko.timer import timer

from kim.case.v1 import events_pb2 as case_events
from kim.case.v1 import types_pb2 as case_types
from kim.common.v1.event_pb2 import EventEnvelope
from kim.runtime import events
from kim.runtime.settings import Settings
from kim.runtime.worker import NodeDatabase, ProbeResponder
from services.conference import SERVICE
from services.conference.domain.projektgruppe import BarrierObservation
from services.conference.domain.vocabulary import BarrierCategory, Handlungsfeld, Rechtskreis
from services.conference.repository import ConferenceRepository
from services.conference.service import ConferenceService

log = logging.getLogger(__name__)

#: Read when nameko loads this module: a timer's interval is fixed at class definition.
REMINDER_INTERVAL_SECONDS = Settings().reminder_interval_seconds


def _service(settings: Settings) -> ConferenceService:
    return ConferenceService(ConferenceRepository(settings.node_id), register_org=settings.organization_id)


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


class ConferenceWorker(ProbeResponder):
    name = SERVICE
    database = NodeDatabase(SERVICE)

    @event_handler(  # type: ignore[untyped-decorator]
        "case",
        events.event_type(case_events.BarrierRecorded),
        handler_type=SERVICE_POOL,
        reliable_delivery=True,
    )
    def on_barrier_recorded(self, envelope: EventEnvelope) -> None:
        message = events.unpack(envelope)
        assert isinstance(message, case_events.BarrierRecorded)
        settings: Settings = self.database
        try:
            counted = _service(settings).record_barrier(observation(message))
        except (KeyError, ValueError) as exc:  # an event this node cannot read: log, do not loop
            log.error("barrier event %s not registered: %s", envelope.id, exc)
            return
        log.info("barrier event %s %s", envelope.id, "counted" if counted else "already counted")

    @timer(interval=REMINDER_INTERVAL_SECONDS, eager=True)  # type: ignore[untyped-decorator]
    def remind_overdue_beschluesse(self) -> None:
        settings: Settings = self.database
        reminded = _service(settings).remind_overdue()
        if reminded:
            log.info("reminded of %d overdue Beschlüsse: %s", len(reminded), ", ".join(reminded))
