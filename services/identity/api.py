"""Entry of the identity service into an api process."""

from __future__ import annotations

import grpc

from kim.errors import Unauthenticated
from kim.identity.v1 import identity_pb2, identity_pb2_grpc
from kim.runtime.auth import current_principal
from kim.runtime.grpc_server import Registration
from kim.runtime.outbox import OutboxDocument
from kim.runtime.settings import Settings
from services.identity import SERVICE

OUTBOX_DOCUMENTS: list[type[OutboxDocument]] = []


class IdentityServicer(identity_pb2_grpc.IdentityServiceServicer):
    def __init__(self, node_id: str) -> None:
        self._node_id = node_id

    def WhoAmI(
        self, request: identity_pb2.WhoAmIRequest, context: grpc.ServicerContext
    ) -> identity_pb2.WhoAmIResponse:
        principal = current_principal.get()
        if principal is None:
            raise Unauthenticated("Anmeldung erforderlich.")
        return identity_pb2.WhoAmIResponse(
            subject=principal.subject,
            username=principal.username,
            organization=principal.organization or "",
            roles=sorted(principal.roles),
            client_id=principal.client_id or "",
            node_id=self._node_id,
        )


def registration(settings: Settings) -> Registration:
    def add_to_server(server: grpc.Server) -> None:
        identity_pb2_grpc.add_IdentityServiceServicer_to_server(
            IdentityServicer(settings.node_id), server
        )

    return Registration(SERVICE, add_to_server)
