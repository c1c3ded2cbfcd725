"""What the node directory's service layer needs from storage: the `NodeDirectoryRepository` port.

Who implements it: the mongoengine adapter
`services.identity.directory_store.MongoNodeDirectoryRepository` (the api process gets it from
`api.registration`, the peer check and the snapshot from `node_trust`) and the hand-written fake
`tests.support.fakes.identity.InMemoryNodeDirectoryRepository` (unit tests). Both are held to the
same behaviour by tests/integration/identity/test_identity_repository_contract.py. Pure typing:
nothing here imports a framework. (identity keeps its rules in modules of their own, directory.py
and domain.py, not in a `domain` package, so the port sits beside them.)

What every implementation promises:

- `save` writes the node's next version: a new node (version 0, id not stored) is stored as
  version 1; a stored node only if it is still at the version it was read at (optimistic
  locking), else FailedPrecondition and nothing changes. It returns the node as stored.
- A certificate fingerprint names one node, ever: `save` first claims every fingerprint the
  node presents or presented (current and retired) and refuses with FailedPrecondition if
  another node claimed one, also a node that was revoked or never saved after its claim.
- `get` of an unknown id is NotFound; `find` answers None.
- `list` filters by organisation and status (empty: any) and orders by node id.
- `by_fingerprint` finds the node by a current or retired fingerprint; `peer` answers a retired
  one as revoked (the node lives on, that certificate does not).
"""

from __future__ import annotations

from typing import Protocol

from kimnetz.runtime.peers import PeerRecord
from services.identity.directory import DirectoryNode


class NodeDirectoryRepository(Protocol):
    def find(self, node_id: str) -> DirectoryNode | None: ...

    def get(self, node_id: str) -> DirectoryNode: ...

    def list(self, organization: str = "", status: str = "") -> list[DirectoryNode]: ...

    def by_fingerprint(self, fingerprint: str) -> DirectoryNode | None: ...

    def fingerprint_owner(self, fingerprint: str) -> str | None: ...

    def peer(self, fingerprint: str) -> PeerRecord | None: ...

    def save(self, node: DirectoryNode) -> DirectoryNode: ...
