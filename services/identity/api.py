"""Entry of the identity service into an api process: WhoAmI and the node directory.

Who enters: every caller whose bearer token the auth interceptor accepted. The servicer only
translates: request -> rules of services/identity/directory.py -> store -> response. Who may
change the directory is decided there, against the node's federation file
(`KIM_FEDERATION_FILE`); without one, this node keeps no directory (FAILED_PRECONDITION).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import grpc

from kim.identity.v1 import identity_pb2, identity_pb2_grpc
from kimnetz.errors import FailedPrecondition, FieldViolation, InvalidArgument, NotFound, Unauthenticated
from kimnetz.runtime.auth import Principal, current_principal
from kimnetz.runtime.grpc_server import Registration
from kimnetz.runtime.outbox import OutboxDocument
from kimnetz.runtime.settings import Settings
from services.identity import SERVICE, directory
from services.identity.directory import Actor, DirectoryNode, Members
from services.identity.directory_store import MongoNodeDirectory

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
        node_id=node.node_id, organization=node.organization, role=_ROLE.get(node.role, 0),
        api_endpoint=node.api_endpoint, federation_endpoint=node.federation_endpoint,
        certificate_fingerprints=list(node.fingerprints), status=_STATUS[node.status],
    )
    for change in node.history:
        item = message.history.add(status=_STATUS[change.status], by=change.by,
                                   by_organization=change.organization, reason=change.reason)
        item.at.FromDatetime(change.at)
    return message


def _node_id(value: str) -> str:
    if not value:
        raise InvalidArgument([FieldViolation("node_id", "Bitte die Kennung des Knotens angeben.")])
    return value


class IdentityServicer(identity_pb2_grpc.IdentityServiceServicer):
    def __init__(self, node_id: str, members: Members | None, store: MongoNodeDirectory,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._node_id = node_id
        self._members = members
        self._store = store
        self._clock = clock

    def _federation(self) -> Members:
        if self._members is None:
            raise FailedPrecondition(
                "Dieser Knoten führt kein Knotenverzeichnis (KIM_FEDERATION_FILE ist nicht gesetzt).")
        return self._members

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
        actor, members = _actor(), self._federation()
        command = directory.RegisterNode(
            node_id=request.node_id, organization=request.organization,
            role=_ROLE_NAME.get(request.role, ""), api_endpoint=request.api_endpoint,
            federation_endpoint=request.federation_endpoint,
            fingerprints=tuple(request.certificate_fingerprints),
        )
        existing = self._store.find(request.node_id) if request.node_id else None
        node = directory.register(existing, command, actor, members,
                                  self._store.fingerprint_owner, self._clock())
        return node_message(self._store.save(node), members)

    def ApproveNode(self, request: identity_pb2.ApproveNodeRequest,
                    context: grpc.ServicerContext) -> identity_pb2.Node:
        actor, members = _actor(), self._federation()
        node = self._store.get(_node_id(request.node_id))
        changed = directory.approve(node, actor, members, self._clock(), request.reason)
        return node_message(self._store.save(changed), members)

    def RevokeNode(self, request: identity_pb2.RevokeNodeRequest,
                   context: grpc.ServicerContext) -> identity_pb2.Node:
        actor, members = _actor(), self._federation()
        node = self._store.get(_node_id(request.node_id))
        changed = directory.revoke(node, actor, members, self._clock(), request.reason)
        return node_message(self._store.save(changed), members)

    def GetNode(self, request: identity_pb2.GetNodeRequest,
                context: grpc.ServicerContext) -> identity_pb2.Node:
        _principal()
        return node_message(self._store.get(_node_id(request.node_id)), self._members)

    def ListNodes(self, request: identity_pb2.ListNodesRequest,
                  context: grpc.ServicerContext) -> identity_pb2.ListNodesResponse:
        _principal()
        nodes = self._store.list(request.organization, _STATUS_NAME.get(request.status, ""))
        return identity_pb2.ListNodesResponse(nodes=[node_message(n, self._members) for n in nodes])

    def ResolvePeer(self, request: identity_pb2.ResolvePeerRequest,
                    context: grpc.ServicerContext) -> identity_pb2.ResolvePeerResponse:
        _principal()
        fingerprint = directory.normalise_fingerprint(request.fingerprint)
        record = self._store.peer(fingerprint)
        if record is None:
            raise NotFound("Dieses Zertifikat ist im Verbund nicht eingetragen.")
        return identity_pb2.ResolvePeerResponse(
            node_id=record.node_id, organization=record.organization,
            role=_ROLE.get(record.role, 0), status=_STATUS[record.status], active=record.active)


def registration(settings: Settings) -> Registration:
    from services.identity.node_trust import federation_members

    members = federation_members(settings)

    def add_to_server(server: grpc.Server) -> None:
        identity_pb2_grpc.add_IdentityServiceServicer_to_server(
            IdentityServicer(settings.node_id, members, MongoNodeDirectory()), server
        )

    return Registration(SERVICE, add_to_server)
