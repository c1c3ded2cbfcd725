"""Entry of the conference service into an api process: its gRPC servicers (added by the issues that
build them) and the documents whose outboxes the relay sends."""

from __future__ import annotations

import grpc

from kim.runtime.grpc_server import Registration
from kim.runtime.outbox import OutboxDocument
from kim.runtime.settings import Settings
from services.conference import SERVICE
from services.conference.repository import OUTBOX_DOCUMENTS as _AGGREGATES

OUTBOX_DOCUMENTS: list[type[OutboxDocument]] = list(_AGGREGATES)


def registration(settings: Settings) -> Registration:
    def add_to_server(server: grpc.Server) -> None:
        """No public gRPC methods yet; the process reports the service's health."""

    return Registration(SERVICE, add_to_server)
