"""The case service's nameko worker (run by `kim node worker`): event handlers, timers."""

from __future__ import annotations

from kim.runtime.worker import NodeDatabase, ProbeResponder
from services.case import SERVICE


class CaseWorker(ProbeResponder):
    name = SERVICE
    database = NodeDatabase(SERVICE)
