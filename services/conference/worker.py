"""The conference service's nameko worker (run by `kim node worker`): event handlers, timers."""

from __future__ import annotations

from kim.runtime.worker import NodeDatabase, ProbeResponder
from services.conference import SERVICE


class ConferenceWorker(ProbeResponder):
    name = SERVICE
    database = NodeDatabase(SERVICE)
