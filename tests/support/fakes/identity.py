"""In-memory `NodeDirectoryRepository` (services/identity/ports.py) with the mongoengine
adapter's behaviour, held to it by tests/integration/identity/test_identity_repository_contract.py:
versions (a save must find the version it read), fingerprint claims made before the save and
kept for ever (also when the save then fails), NotFound for a missing node, lists ordered by
node id."""

from __future__ import annotations

from dataclasses import replace

from kimnetz.errors import FailedPrecondition, NotFound
from kimnetz.runtime.peers import PeerRecord
from services.identity.directory import DirectoryNode


class InMemoryNodeDirectoryRepository:
    def __init__(self) -> None:
        self.nodes: dict[str, DirectoryNode] = {}
        #: fingerprint -> the node id that claimed it first (never removed).
        self.claims: dict[str, str] = {}

    def find(self, node_id: str) -> DirectoryNode | None:
        return self.nodes.get(node_id)

    def get(self, node_id: str) -> DirectoryNode:
        node = self.find(node_id)
        if node is None:
            raise NotFound(f"Der Knoten {node_id!r} ist im Verzeichnis nicht eingetragen.")
        return node

    def list(self, organization: str = "", status: str = "") -> list[DirectoryNode]:
        return [n for _, n in sorted(self.nodes.items())
                if organization in ("", n.organization) and status in ("", n.status)]

    def by_fingerprint(self, fingerprint: str) -> DirectoryNode | None:
        return next((n for n in self.nodes.values() if fingerprint in n.all_fingerprints()), None)

    def fingerprint_owner(self, fingerprint: str) -> str | None:
        node = self.by_fingerprint(fingerprint)
        return node.node_id if node is not None else None

    def peer(self, fingerprint: str) -> PeerRecord | None:
        node = self.by_fingerprint(fingerprint)
        if node is None:
            return None
        status = node.status if fingerprint in node.fingerprints else "revoked"
        return PeerRecord(node.node_id, node.organization, node.role, status)

    def save(self, node: DirectoryNode) -> DirectoryNode:
        for value in sorted(node.all_fingerprints()):
            owner = self.claims.setdefault(value, node.node_id)
            if owner != node.node_id:
                raise FailedPrecondition(
                    f"Der Zertifikats-Fingerabdruck {value[:16]}… gehört zum Knoten {owner}; "
                    "jedes Zertifikat gehört genau einem Knoten.")
        stored = self.nodes.get(node.node_id)
        if (stored is None and node.version != 0) or (stored is not None and stored.version != node.version):
            raise FailedPrecondition(
                f"Der Knoten {node.node_id} wurde gerade von anderer Seite geändert; bitte erneut versuchen.")
        saved = replace(node, version=node.version + 1)
        self.nodes[node.node_id] = saved
        return saved
