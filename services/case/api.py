"""Entry of the case service into an api process: its gRPC servicers (added by the issues that
build them) and the documents whose outboxes the relay sends."""

from __future__ import annotations

import grpc

from kim.runtime.grpc_server import Registration
from kim.runtime.outbox import OutboxDocument
from kim.runtime.settings import Settings
from services.case import SERVICE
from services.case.repository import CaseDocument

OUTBOX_DOCUMENTS: list[type[OutboxDocument]] = [CaseDocument]


def registration(settings: Settings) -> Registration:
    def add_to_server(server: grpc.Server) -> None:
        """No public gRPC methods yet; the process reports the service's health."""

    return Registration(SERVICE, add_to_server)
