"""The documents service's nameko worker (run by `kim node worker`): event handlers, timers."""

from __future__ import annotations

from kim.runtime.worker import NodeDatabase, ProbeResponder
from services.documents import SERVICE


class DocumentsWorker(ProbeResponder):
    name = SERVICE
    database = NodeDatabase(SERVICE)
