"""Glue for the nameko worker processes (`nameko run`, eventlet): configuration, the MongoDB
dependency and the probe handler every service's worker carries.

Never start a gRPC server here, and make no gRPC client calls from here: grpcio blocks every
green thread of the process (docs/decisions.md).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nameko.extensions import DependencyProvider

from kim.common.v1.event_pb2 import EventEnvelope
from kim.node.v1.probe_pb2 import ProbeRequested
from kim.runtime import events, mongo, node
from kim.runtime.consume import reliable_handler
from kim.runtime.settings import Settings

#: The config every worker runs with; values come from the environment (see the file).
NAMEKO_CONFIG = Path(__file__).with_name("nameko.yaml")


class NodeDatabase(DependencyProvider):
    """Connects the service's database (and the node database) when the worker starts, and
    hands the node's settings to the service."""

    def __init__(self, service: str) -> None:
        self.service = service
        self.settings: Settings | None = None

    def setup(self) -> None:
        self.settings = Settings()
        mongo.connect(self.settings, self.service)
        node.connect(self.settings)

    def get_dependency(self, worker_ctx: Any) -> Settings | None:
        return self.settings


class ProbeResponder:
    """Mixin for every service worker: answers `kim node check` probes."""

    name: str

    @reliable_handler(node.NODE_ALIAS, events.event_type(ProbeRequested))
    def on_probe_requested(self, envelope: EventEnvelope) -> None:
        probe = events.unpack(envelope)
        assert isinstance(probe, ProbeRequested)  # the wrapper checked the type
        node.record_receipt(probe.probe_id, self.name, envelope.id)
