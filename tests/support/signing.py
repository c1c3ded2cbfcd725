"""Event signatures for tests that stand in for other nodes (kimnetz/runtime/event_trust.py).

One development CA per test session (a temporary folder): every node id a test uses gets a
certificate from it on demand, the session's own node a TLS folder (`tls_dir`), so its api
process signs and its workers verify as in a federation. A test that publishes an event in the
name of another node signs it with `sign` and lets the receiving node know that node with
`trust` (written into the receiver's directory snapshot, as its api process would copy it from
the Kreis's node directory).
"""

from __future__ import annotations

import tempfile
from functools import cache
from pathlib import Path

from kim.common.v1.event_pb2 import EventEnvelope
from kimnetz.runtime import node
from kimnetz.runtime.directory_snapshot import DirectorySnapshotStore
from kimnetz.runtime.event_trust import DirectoryEntry, EnvelopeSigner
from kimnetz.runtime.pki import DevCertificateAuthority, NodeCredentials, save_node_credentials
from kimnetz.runtime.settings import Settings


@cache
def _root() -> Path:
    return Path(tempfile.mkdtemp(prefix="kim-test-pki-"))


@cache
def authority() -> DevCertificateAuthority:
    return DevCertificateAuthority.create("KIM-Netz Test-CA")


@cache
def credentials(node_id: str) -> NodeCredentials:
    return authority().issue(node_id)


def tls_dir(node_id: str) -> str:
    """A node's TLS folder (node.key, node.crt, ca.crt) with a certificate of the session CA."""
    folder = _root() / node_id
    if not (folder / "node.crt").exists():
        save_node_credentials(credentials(node_id), folder)
    return str(folder)


def sign(envelope: EventEnvelope, as_node: str | None = None) -> EventEnvelope:
    """The envelope signed with the key of `as_node` (default: its own `source_node`)."""
    who = credentials(as_node or envelope.source_node)
    return EnvelopeSigner(who.key, who.certificate).sign_envelope(envelope)


def signed_body(envelope: EventEnvelope, as_node: str | None = None) -> bytes:
    return sign(envelope, as_node).SerializeToString()


def trust(receiver: Settings, nodes: dict[str, tuple[str, str]], status: str = "active") -> None:
    """Let `receiver` know these nodes (node id -> (organisation, role)), with the session
    CA's certificates, as the directory would."""
    trust_entries(receiver, [DirectoryEntry(credentials(n).fingerprint, n, org, role, status)
                             for n, (org, role) in nodes.items()])


def trust_entries(receiver: Settings, entries: list[DirectoryEntry]) -> None:
    """Merge these entries into the directory snapshot of the receiver's node database (what
    its api process would copy from the node directory; a node outside any federation file
    has no directory, so whoever links such nodes says whom they trust)."""
    alias = f"node-{receiver.node_id}"
    node.connect(receiver, alias=alias)
    store = DirectorySnapshotStore(alias)
    known = dict(store.read().entries)
    known.update({e.fingerprint: e for e in entries})
    store.write(list(known.values()))
