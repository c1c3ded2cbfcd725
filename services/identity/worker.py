"""The identity service's nameko worker (run by `kim node worker`): event handlers, timers."""

from __future__ import annotations

from kimnetz.runtime.node_worker import ProbeResponder
from services.identity import SERVICE


class IdentityWorker(ProbeResponder):
    name = SERVICE
