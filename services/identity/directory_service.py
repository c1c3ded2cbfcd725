"""The node directory's use cases, one method per rpc of `IdentityService` that touches the
directory (docs/decisions.md, issue 13: plain classes taking their ports and a clock).

Framework-free: the rules are directory.py's, storage is the `NodeDirectoryRepository` port
(ports.py); the gRPC servicer (api.py) maps requests to these calls and the results back. Who
may change what is decided by the rules against the node's federation file (`Members`); a node
without one keeps no directory, so its changes answer FAILED_PRECONDITION. Reading the
directory is open to every signed-in caller (the auth interceptor let them in).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from kimnetz.errors import FailedPrecondition, FieldViolation, InvalidArgument, NotFound
from kimnetz.runtime.peers import PeerRecord
from services.identity import directory
from services.identity.directory import Actor, DirectoryNode, Members, RegisterNode
from services.identity.ports import NodeDirectoryRepository


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _node_id(value: str) -> str:
    if not value:
        raise InvalidArgument([FieldViolation("node_id", "Bitte die Kennung des Knotens angeben.")])
    return value


class NodeDirectoryService:
    def __init__(self, repository: NodeDirectoryRepository, members: Members | None,
                 clock: Callable[[], datetime] = _utc_now) -> None:
        self._repository = repository
        self._members = members
        self._clock = clock

    def _federation(self) -> Members:
        if self._members is None:
            raise FailedPrecondition(
                "Dieser Knoten führt kein Knotenverzeichnis (KIM_FEDERATION_FILE ist nicht gesetzt).")
        return self._members

    def register_node(self, actor: Actor, command: RegisterNode) -> DirectoryNode:
        """Enter a node or update it (endpoints, certificate rotation)."""
        members = self._federation()
        existing = self._repository.find(command.node_id) if command.node_id else None
        node = directory.register(existing, command, actor, members,
                                  self._repository.fingerprint_owner, self._clock())
        return self._repository.save(node)

    def approve_node(self, actor: Actor, node_id: str, reason: str = "") -> DirectoryNode:
        members = self._federation()
        node = self._repository.get(_node_id(node_id))
        return self._repository.save(directory.approve(node, actor, members, self._clock(), reason))

    def revoke_node(self, actor: Actor, node_id: str, reason: str) -> DirectoryNode:
        members = self._federation()
        node = self._repository.get(_node_id(node_id))
        return self._repository.save(directory.revoke(node, actor, members, self._clock(), reason))

    def get_node(self, actor: Actor, node_id: str) -> DirectoryNode:
        return self._repository.get(_node_id(node_id))

    def list_nodes(self, actor: Actor, organization: str = "", status: str = "") -> list[DirectoryNode]:
        return self._repository.list(organization, status)

    def resolve_peer(self, actor: Actor, fingerprint: str) -> PeerRecord:
        """Whose certificate this is (the peer check of the other nodes)."""
        record = self._repository.peer(directory.normalise_fingerprint(fingerprint))
        if record is None:
            raise NotFound("Dieses Zertifikat ist im Verbund nicht eingetragen.")
        return record
