"""The identity service's nameko worker (run by `kim node worker`): event handlers, timers."""

from __future__ import annotations

from kimnetz.runtime.worker import NodeDatabase, ProbeResponder
from services.identity import SERVICE


class IdentityWorker(ProbeResponder):
    name = SERVICE
    database = NodeDatabase(SERVICE)
