"""What every service's nameko worker of a node carries (`ProbeResponder`, the base class of
each `services/<svc>/worker.py` service): the node's settings (`node_settings`), the node's
event verification (`trust`), and the answer to `kim node check` probes. Wired like everything
a worker uses, through the worker bootstrap (kimnetz/runtime/worker.py).
"""

from __future__ import annotations

from kim.common.v1.event_pb2 import EventEnvelope
from kim.node.v1.probe_pb2 import ProbeRequested
from kimnetz.errors import UntrustedEvent
from kimnetz.runtime import events, node
from kimnetz.runtime.consume import reliable_handler
from kimnetz.runtime.directory_snapshot import RefusedEvents
from kimnetz.runtime.settings import Settings
from kimnetz.runtime.trusted_events import TrustedEvents, verifier_from
from kimnetz.runtime.worker import EventTrace, Provide, WorkerContext


def trusted_events(worker: WorkerContext) -> TrustedEvents:
    """The node's `TrustedEvents` for one service container (one verifier per container)."""
    return TrustedEvents(verifier_from(worker.node), worker.service, kept=RefusedEvents())


class ProbeResponder:
    """Mixin for every service worker: answers `kim node check` probes, this node's own and
    those of other active nodes (`kim node check` proves the event path between nodes; a probe
    only leaves a receipt). An unverified probe is refused like any event."""

    name: str
    #: In handlers: this node's settings (read when the container starts).
    node_settings: Settings = Provide(lambda worker: worker.node)
    #: In handlers: the node's `TrustedEvents`.
    trust: TrustedEvents = Provide(trusted_events)
    #: Each event handler call in a span of the event's trace (kimnetz.runtime.tracing).
    event_trace = EventTrace()

    @reliable_handler(node.NODE_ALIAS, events.event_type(ProbeRequested))
    def on_probe_requested(self, envelope: EventEnvelope) -> None:
        probe = events.unpack(envelope)
        assert isinstance(probe, ProbeRequested)  # the wrapper checked the type
        try:
            self.trust.verify(envelope)
        except UntrustedEvent as error:
            self.trust.refused(envelope, error)
            raise  # kept with its reason in the dead letters (kimnetz.runtime.consume)
        node.record_receipt(probe.probe_id, self.name, envelope.id)
