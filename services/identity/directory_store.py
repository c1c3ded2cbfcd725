"""The node directory in MongoDB (mongoengine, alias "identity"): one document per node with its
history, and the lookups the rules and the peer checks need.

Every change is conditional on the version that was read (optimistic locking), so two admins
acting at once cannot overwrite each other; the loser gets FAILED_PRECONDITION and retries.
Kept to what FerretDB 1.24 supports: plain finds on fields and array elements, unique index.

"A fingerprint names one node, ever" is checked by the rules (directory.py) and enforced by
the database: each fingerprint a node presents is claimed once in `fingerprint_claims`, keyed
by the fingerprint itself (`_id`), so two registrations racing with one certificate cannot
both win. A unique index on the nodes' fingerprint array would not do: FerretDB 1.24 compares
the whole array there (two nodes sharing one element pass, two empty arrays collide), unlike
MongoDB's multikey index (measured on FerretDB 1.24.2).
"""

from __future__ import annotations

from datetime import UTC
from typing import Any

from mongoengine import DictField, Document, IntField, ListField, StringField
from pymongo.errors import DuplicateKeyError

from kimnetz.errors import FailedPrecondition, NotFound
from kimnetz.runtime.peers import PeerRecord
from services.identity import SERVICE
from services.identity.directory import DirectoryNode, StatusChange

ALIAS = SERVICE


class NodeDocument(Document):
    meta: dict[str, Any] = {
        "db_alias": ALIAS, "collection": "nodes",
        "indexes": [{"fields": ["node_id"], "unique": True}, "all_fingerprints", "organization"],
    }

    node_id = StringField(required=True)
    organization = StringField(required=True)
    role = StringField(required=True)
    api_endpoint = StringField(required=True)
    federation_endpoint = StringField(required=True)
    fingerprints = ListField(StringField())
    retired_fingerprints = ListField(StringField())
    #: Current and retired together, so one indexed query answers "whose certificate is this?".
    all_fingerprints = ListField(StringField())
    status = StringField(required=True)
    history = ListField(DictField())
    version = IntField(required=True, default=0)


def _node(doc: NodeDocument) -> DirectoryNode:
    return DirectoryNode(
        node_id=doc.node_id, organization=doc.organization, role=doc.role,
        api_endpoint=doc.api_endpoint, federation_endpoint=doc.federation_endpoint,
        fingerprints=tuple(doc.fingerprints), status=doc.status,
        retired_fingerprints=tuple(doc.retired_fingerprints), version=doc.version,
        history=tuple(
            StatusChange(h["status"], h["at"].replace(tzinfo=h["at"].tzinfo or UTC), h["by"],
                         h["organization"], h.get("reason", ""))
            for h in doc.history),
    )


def _fields(node: DirectoryNode) -> dict[str, Any]:
    return {
        "organization": node.organization, "role": node.role,
        "api_endpoint": node.api_endpoint, "federation_endpoint": node.federation_endpoint,
        "fingerprints": list(node.fingerprints),
        "retired_fingerprints": list(node.retired_fingerprints),
        "all_fingerprints": sorted(node.all_fingerprints()),
        "status": node.status,
        "history": [{"status": h.status, "at": h.at, "by": h.by, "organization": h.organization,
                     "reason": h.reason} for h in node.history],
    }


class FingerprintClaim(Document):
    """One certificate fingerprint and the node it names, forever (never deleted)."""

    meta: dict[str, Any] = {"db_alias": ALIAS, "collection": "fingerprint_claims"}

    fingerprint = StringField(primary_key=True)
    node_id = StringField(required=True)


def claim_fingerprints(node_id: str, fingerprints: set[str]) -> None:
    """Claim each fingerprint for `node_id`; FailedPrecondition if another node holds one."""
    claims = FingerprintClaim._get_collection()
    for value in sorted(fingerprints):
        try:
            claims.insert_one({"_id": value, "node_id": node_id})
        except DuplicateKeyError:
            holder = claims.find_one({"_id": value})
            owner = holder["node_id"] if holder else "?"
            if owner != node_id:
                raise FailedPrecondition(
                    f"Der Zertifikats-Fingerabdruck {value[:16]}… gehört zum Knoten {owner}; "
                    "jedes Zertifikat gehört genau einem Knoten.") from None


class MongoNodeDirectoryRepository:
    """The `NodeDirectoryRepository` (ports.py) on MongoDB/FerretDB."""

    def find(self, node_id: str) -> DirectoryNode | None:
        doc = NodeDocument.objects(node_id=node_id).first()
        return _node(doc) if doc is not None else None

    def get(self, node_id: str) -> DirectoryNode:
        node = self.find(node_id)
        if node is None:
            raise NotFound(f"Der Knoten {node_id!r} ist im Verzeichnis nicht eingetragen.")
        return node

    def list(self, organization: str = "", status: str = "") -> list[DirectoryNode]:
        query: dict[str, str] = {}
        if organization:
            query["organization"] = organization
        if status:
            query["status"] = status
        return [_node(d) for d in NodeDocument.objects(**query).order_by("node_id")]

    def by_fingerprint(self, fingerprint: str) -> DirectoryNode | None:
        doc = NodeDocument.objects(all_fingerprints=fingerprint).first()
        return _node(doc) if doc is not None else None

    def fingerprint_owner(self, fingerprint: str) -> str | None:
        node = self.by_fingerprint(fingerprint)
        return node.node_id if node is not None else None

    def peer(self, fingerprint: str) -> PeerRecord | None:
        """The `PeerResolver` of this node's api processes. A retired fingerprint (rotated away)
        is answered as revoked: the node lives on, that certificate does not."""
        node = self.by_fingerprint(fingerprint)
        if node is None:
            return None
        status = node.status if fingerprint in node.fingerprints else "revoked"
        return PeerRecord(node.node_id, node.organization, node.role, status)

    def save(self, node: DirectoryNode) -> DirectoryNode:
        """Insert a new node (version 0) or update the one read at `node.version`; its
        fingerprints are claimed first, so a certificate of another node stops the save."""
        claim_fingerprints(node.node_id, node.all_fingerprints())
        if node.version == 0 and self.find(node.node_id) is None:
            NodeDocument(node_id=node.node_id, version=1, **_fields(node)).save(force_insert=True)
        else:
            result = NodeDocument._get_collection().update_one(
                {"node_id": node.node_id, "version": node.version},
                {"$set": {**_fields(node), "version": node.version + 1}},
            )
            if result.matched_count != 1:
                raise FailedPrecondition(
                    f"Der Knoten {node.node_id} wurde gerade von anderer Seite geändert; "
                    "bitte erneut versuchen.")
        return self.get(node.node_id)
