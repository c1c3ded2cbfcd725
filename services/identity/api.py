"""Entry of the identity service into an api process: WhoAmI and the node directory.

Who enters: every caller whose bearer token the auth interceptor accepted. The servicer only
translates: request -> one method of `NodeDirectoryService` (directory_service.py, on the
rules of directory.py and the repository port) -> response. Who may change the directory is
decided there, against the node's federation file (`KIM_FEDERATION_FILE`); without one, this
node keeps no directory (FAILED_PRECONDITION). The composition (`registration`) is the only
place that names the mongoengine adapter.
"""

from __future__ import annotations

import grpc

from kim.identity.v1 import identity_pb2, identity_pb2_grpc
from kimnetz.errors import Unauthenticated
from kimnetz.runtime.auth import Principal, current_principal
from kimnetz.runtime.grpc_server import Registration
from kimnetz.runtime.outbox import OutboxDocument
from kimnetz.runtime.settings import Settings
from services.identity import SERVICE, directory
from services.identity.directory import Actor, DirectoryNode, Members
from services.identity.directory_service import NodeDirectoryService

OUTBOX_DOCUMENTS: list[type[OutboxDocument]] = []

_METHOD = "/kim.identity.v1.IdentityService/"

#: What other nodes may call on this node's mutual-TLS port (kimnetz.runtime.grpc_interceptors
#: PeerInterceptor). The directory's own calls that `kim node join`/`approve` make with a
#: node's certificate (kimctl/nodes.py directory_channel) are open to any certificate of the
#: federation's CA (None): a joining node is not in the directory yet, and the directory's
#: rules (directory.py) decide who may enter, approve or revoke what. ResolvePeer is the peer
#: check of the other nodes (directory_client.RemotePeerResolver): every active node.
FEDERATION_METHODS: dict[str, frozenset[str] | None] = {
    f"{_METHOD}RegisterNode": None,
    f"{_METHOD}ApproveNode": None,
    f"{_METHOD}RevokeNode": None,
    f"{_METHOD}GetNode": None,
    f"{_METHOD}ListNodes": None,
    f"{_METHOD}ResolvePeer": frozenset(directory.NODE_ROLES),
}

_ROLE = {
    "district": identity_pb2.NODE_ROLE_DISTRICT,
    "municipality": identity_pb2.NODE_ROLE_MUNICIPALITY,
    "welfare_org": identity_pb2.NODE_ROLE_WELFARE_ORG,
    "immigration_office": identity_pb2.NODE_ROLE_IMMIGRATION_OFFICE,
}
_STATUS = {
    directory.PENDING: identity_pb2.NODE_STATUS_PENDING,
    directory.ACTIVE: identity_pb2.NODE_STATUS_ACTIVE,
    directory.REVOKED: identity_pb2.NODE_STATUS_REVOKED,
}
_ROLE_NAME = {v: k for k, v in _ROLE.items()}
_STATUS_NAME = {v: k for k, v in _STATUS.items()}


def _principal() -> Principal:
    principal = current_principal.get()
    if principal is None:
        raise Unauthenticated("Anmeldung erforderlich.")
    return principal


def _actor() -> Actor:
    p = _principal()
    return Actor(p.subject, p.username, p.organization or "", p.roles)


def node_message(node: DirectoryNode, members: Members | None = None) -> identity_pb2.Node:
    message = identity_pb2.Node(
        organization_name=members.organization_names.get(node.organization, "") if members else "",
        node_id=node.node_id, organization=node.organization,
        role=_ROLE.get(node.role, identity_pb2.NODE_ROLE_UNSPECIFIED),
        api_endpoint=node.api_endpoint, federation_endpoint=node.federation_endpoint,
        certificate_fingerprints=list(node.fingerprints), status=_STATUS[node.status],
    )
    for change in node.history:
        item = message.history.add(status=_STATUS[change.status], by=change.by,
                                   by_organization=change.organization, reason=change.reason)
        item.at.FromDatetime(change.at)
    return message


class IdentityServicer(identity_pb2_grpc.IdentityServiceServicer):
    def __init__(self, node_id: str, members: Members | None,
                 directory_service: NodeDirectoryService) -> None:
        self._node_id = node_id
        self._members = members  # the organisations' names in the answers
        self._directory = directory_service

    def WhoAmI(
        self, request: identity_pb2.WhoAmIRequest, context: grpc.ServicerContext
    ) -> identity_pb2.WhoAmIResponse:
        principal = _principal()
        return identity_pb2.WhoAmIResponse(
            subject=principal.subject,
            username=principal.username,
            organization=principal.organization or "",
            roles=sorted(principal.roles),
            client_id=principal.client_id or "",
            node_id=self._node_id,
            principal_node_id=principal.node or "",
        )

    def RegisterNode(self, request: identity_pb2.RegisterNodeRequest,
                     context: grpc.ServicerContext) -> identity_pb2.Node:
        command = directory.RegisterNode(
            node_id=request.node_id, organization=request.organization,
            role=_ROLE_NAME.get(request.role, ""), api_endpoint=request.api_endpoint,
            federation_endpoint=request.federation_endpoint,
            fingerprints=tuple(request.certificate_fingerprints),
        )
        return node_message(self._directory.register_node(_actor(), command), self._members)

    def ApproveNode(self, request: identity_pb2.ApproveNodeRequest,
                    context: grpc.ServicerContext) -> identity_pb2.Node:
        node = self._directory.approve_node(_actor(), request.node_id, request.reason)
        return node_message(node, self._members)

    def RevokeNode(self, request: identity_pb2.RevokeNodeRequest,
                   context: grpc.ServicerContext) -> identity_pb2.Node:
        node = self._directory.revoke_node(_actor(), request.node_id, request.reason)
        return node_message(node, self._members)

    def GetNode(self, request: identity_pb2.GetNodeRequest,
                context: grpc.ServicerContext) -> identity_pb2.Node:
        return node_message(self._directory.get_node(_actor(), request.node_id), self._members)

    def ListNodes(self, request: identity_pb2.ListNodesRequest,
                  context: grpc.ServicerContext) -> identity_pb2.ListNodesResponse:
        nodes = self._directory.list_nodes(_actor(), request.organization,
                                           _STATUS_NAME.get(request.status, ""))
        return identity_pb2.ListNodesResponse(nodes=[node_message(n, self._members) for n in nodes])

    def ResolvePeer(self, request: identity_pb2.ResolvePeerRequest,
                    context: grpc.ServicerContext) -> identity_pb2.ResolvePeerResponse:
        record = self._directory.resolve_peer(_actor(), request.fingerprint)
        return identity_pb2.ResolvePeerResponse(
            node_id=record.node_id, organization=record.organization,
            role=_ROLE.get(record.role, identity_pb2.NODE_ROLE_UNSPECIFIED), status=_STATUS[record.status],
            active=record.active)


def registration(settings: Settings) -> Registration:
    from services.identity.directory_store import MongoNodeDirectoryRepository
    from services.identity.node_trust import federation_members

    members = federation_members(settings)
    service = NodeDirectoryService(MongoNodeDirectoryRepository(), members)

    def add_to_server(server: grpc.Server) -> None:
        identity_pb2_grpc.add_IdentityServiceServicer_to_server(  # type: ignore[no-untyped-call]
            IdentityServicer(settings.node_id, members, service), server
        )

    return Registration(SERVICE, add_to_server)
