"""Events between nodes, authenticated end to end: the sending node signs each envelope with the
key of its directory certificate, the receiving node verifies it before any handler acts on it.

The broker is a transport, not a witness (ARCHITECTURE, "Events and consistency"): whoever holds
a node's broker credentials can publish anything on its vhost, and federation carries it to every
peer. So a receiver believes nothing an envelope says about its origin unless

1. the envelope carries a certificate issued by the federation's CA, valid now, whose common
   name is the envelope's `source_node`;
2. the signature (ECDSA-SHA256 over the deterministic serialization of the envelope with
   `signature` cleared, docs/events.md) verifies with that certificate's key, so neither the
   payload nor any header was changed and no signature was copied onto another payload;
3. the certificate's SHA-256 fingerprint is an ACTIVE node of the federation's node directory,
   as the api process's snapshot of the directory in the node database says
   (`DirectorySnapshotStore`); the sender's organisation and role come from there, never from
   the payload;
4. no envelope with the same id and other content was seen before (a replay under a known id).

The result is a `Sender`; whether that sender may assert the event about this case is the
service layer's rule (services/*/service.py), which gets the `Sender` handed in. Every refusal
raises `kimnetz.errors.UntrustedEvent` (permanent); a fingerprint the snapshot does not know yet,
or knows as still waiting for approval, while the snapshot is older than the event raises
`kimnetz.errors.Unavailable` (retry: the directory may have admitted or approved the node a moment
ago), for `unknown_grace_seconds` at most. A revoked node is refused at once.

A node that runs outside any federation (development realm, no `KIM_TLS_DIR`) may run unsigned
only with `KIM_EVENTS_UNSIGNED=true`; it then accepts only its own events. A node with a
federation file never runs unsigned (Settings refuses the combination).

Workers are eventlet processes: nothing here makes a network call except MongoDB reads of the
node database (cached for `cache_seconds`).
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from kim.common.v1.event_pb2 import EventEnvelope
from kimnetz.errors import Unavailable, UntrustedEvent
from kimnetz.runtime.pki import fingerprint as certificate_fingerprint

log = logging.getLogger(__name__)

#: Node roles of the directory (services/identity/directory.py NODE_ROLES), as senders carry them.
DISTRICT = "district"
ACTIVE = "active"
#: Entered, not yet approved by the Kreis (a revoked node is refused at once, never waited for).
PENDING = "pending"


@dataclass(frozen=True)
class Sender:
    """Who verifiably sent an event: a node, its organisation and federation role, as the node
    directory (or, for this node itself, its own settings) says."""

    node_id: str
    organization: str
    role: str
    #: This node itself (its own certificate, or unsigned on a development node).
    local: bool = False

    @property
    def coordinates(self) -> bool:
        """A node of a koordinierende Stelle (the Kreis's role in the federation)."""
        return self.role == DISTRICT


def signing_bytes(envelope: EventEnvelope) -> bytes:
    """What the signature covers: the envelope with `signature` cleared, serialized
    deterministically (every field, `signer_certificate` included)."""
    unsigned = EventEnvelope()
    unsigned.CopyFrom(envelope)
    unsigned.ClearField("signature")
    return unsigned.SerializeToString(deterministic=True)


def content_digest(envelope: EventEnvelope) -> str:
    """The event's content without its signature and certificate: a relay that publishes an
    event twice (crash between publish and removal) signs it twice with different ECDSA
    signatures, but the content, and so this digest, stays the same."""
    bare = EventEnvelope()
    bare.CopyFrom(envelope)
    bare.ClearField("signature")
    bare.ClearField("signer_certificate")
    return hashlib.sha256(bare.SerializeToString(deterministic=True)).hexdigest()


class EnvelopeSigner:
    """Signs serialized envelopes with this node's key (loaded once; the relay's fast path pays
    one parse, one ECDSA signature and one serialization per event)."""

    def __init__(self, key_pem: bytes, certificate_pem: bytes) -> None:
        key = serialization.load_pem_private_key(key_pem, None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ValueError("the node key is not an EC key (ECDSA signatures need one)")
        self._key = key
        self.certificate_pem = certificate_pem
        self.fingerprint = certificate_fingerprint(certificate_pem)

    @classmethod
    def from_tls_dir(cls, folder: str | Path) -> EnvelopeSigner:
        folder = Path(folder)
        return cls((folder / "node.key").read_bytes(), (folder / "node.crt").read_bytes())

    def sign_envelope(self, envelope: EventEnvelope) -> EventEnvelope:
        envelope.signer_certificate = self.certificate_pem
        envelope.ClearField("signature")
        envelope.signature = self._key.sign(signing_bytes(envelope), ec.ECDSA(hashes.SHA256()))
        return envelope

    def sign(self, body: bytes) -> bytes:
        """The serialized envelope `body`, signed (as the outbox stored it, now with
        `signer_certificate` and `signature`)."""
        envelope = EventEnvelope()
        envelope.ParseFromString(body)
        return self.sign_envelope(envelope).SerializeToString()


# -- the receiving side ----------------------------------------------------------------------


@dataclass(frozen=True)
class DirectoryEntry:
    """One certificate fingerprint of the node directory and what it stands for."""

    fingerprint: str
    node_id: str
    organization: str
    role: str
    status: str  # "pending" | "active" | "revoked" (a retired certificate counts as revoked)


@dataclass(frozen=True)
class Snapshot:
    entries: Mapping[str, DirectoryEntry] = field(default_factory=dict)
    #: When the api process last read the directory; None: never (no snapshot yet).
    refreshed_at: datetime | None = None


class SeenEvents(Protocol):
    def remember(self, event_id: str, digest: str) -> str:
        """Record `digest` for `event_id` unless one is recorded; return the recorded one."""
        ...


class MemorySeenEvents:
    """`SeenEvents` in memory (unit tests)."""

    def __init__(self) -> None:
        self.digests: dict[str, str] = {}

    def remember(self, event_id: str, digest: str) -> str:
        return self.digests.setdefault(event_id, digest)


def _common_name(certificate: x509.Certificate) -> str:
    names = certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value) if names else ""


class EnvelopeVerifier:
    """`verify(envelope) -> Sender`, or `UntrustedEvent` / `Unavailable` (see the module)."""

    def __init__(
        self,
        *,
        node_id: str,
        organization: str,
        directory: Callable[[], Snapshot],
        ca_certificate: bytes | None = None,
        own_certificate: bytes | None = None,
        own_role: str = "",
        allow_unsigned: bool = False,
        seen: SeenEvents | None = None,
        unknown_grace_seconds: float = 120.0,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.node_id = node_id
        self.organization = organization
        self._directory = directory
        self._ca = x509.load_pem_x509_certificate(ca_certificate) if ca_certificate else None
        self._own_fingerprint = certificate_fingerprint(own_certificate) if own_certificate else ""
        self._own_role = own_role
        self._allow_unsigned = allow_unsigned
        self._seen = seen
        self._grace = unknown_grace_seconds
        self._now = now

    def verify(self, envelope: EventEnvelope) -> Sender:
        sender = self._sender(envelope)
        if self._seen is not None:
            digest = content_digest(envelope)
            if self._seen.remember(envelope.id, digest) != digest:
                raise UntrustedEvent(
                    "replayed", f"Ereignis {envelope.id}: unter dieser Kennung kam bereits ein "
                                "Ereignis mit anderem Inhalt an (Wiederholung mit geändertem Inhalt).")
        return sender

    def _sender(self, envelope: EventEnvelope) -> Sender:
        if not envelope.signature or not envelope.signer_certificate:
            if self._allow_unsigned and envelope.source_node == self.node_id:
                return self._self()
            raise UntrustedEvent(
                "unsigned", f"Ereignis {envelope.id} von {envelope.source_node or '?'} ist nicht "
                            "signiert; Ereignisse werden nur signiert angenommen.")
        if self._ca is None:
            raise UntrustedEvent(
                "no-federation-ca", "Dieser Knoten hat kein CA-Zertifikat des Verbunds "
                                    "(KIM_TLS_DIR/ca.crt) und kann keine Signatur prüfen.")
        try:
            certificate = x509.load_pem_x509_certificate(envelope.signer_certificate)
        except ValueError as exc:
            raise UntrustedEvent("bad-certificate", f"Ereignis {envelope.id}: das Zertifikat "
                                                    f"des Absenders ist unlesbar ({exc}).") from exc
        try:
            certificate.verify_directly_issued_by(self._ca)
        except (ValueError, TypeError, InvalidSignature) as exc:
            raise UntrustedEvent(
                "untrusted-certificate", f"Ereignis {envelope.id}: das Zertifikat von "
                f"{_common_name(certificate)!r} ist nicht von der CA des Verbunds ausgestellt.") from exc
        now = self._now()
        if not certificate.not_valid_before_utc <= now <= certificate.not_valid_after_utc:
            raise UntrustedEvent("certificate-expired", f"Ereignis {envelope.id}: das Zertifikat "
                                 f"von {_common_name(certificate)!r} ist nicht (mehr) gültig.")
        if _common_name(certificate) != envelope.source_node:
            raise UntrustedEvent(
                "wrong-node", f"Ereignis {envelope.id} gibt {envelope.source_node!r} als Absender "
                f"an, ist aber mit dem Zertifikat von {_common_name(certificate)!r} signiert.")
        key = certificate.public_key()
        if not isinstance(key, ec.EllipticCurvePublicKey):
            raise UntrustedEvent("bad-certificate", f"Ereignis {envelope.id}: kein EC-Schlüssel.")
        try:
            key.verify(envelope.signature, signing_bytes(envelope), ec.ECDSA(hashes.SHA256()))
        except InvalidSignature as exc:
            raise UntrustedEvent(
                "bad-signature", f"Ereignis {envelope.id} von {envelope.source_node!r}: die "
                "Signatur passt nicht zum Inhalt (verändert oder fremde Signatur).") from exc
        fingerprint = certificate_fingerprint(envelope.signer_certificate)
        if fingerprint == self._own_fingerprint:
            return self._self()
        return self._directory_sender(envelope, fingerprint)

    def _self(self) -> Sender:
        role = self._own_role
        if self._own_fingerprint:
            own = self._directory().entries.get(self._own_fingerprint)
            if own is not None and own.node_id == self.node_id:
                role = own.role
        return Sender(self.node_id, self.organization, role, local=True)

    def _directory_sender(self, envelope: EventEnvelope, fingerprint: str) -> Sender:
        snapshot = self._directory()
        entry = snapshot.entries.get(fingerprint)
        occurred = (envelope.occurred_at.ToDatetime(tzinfo=UTC)
                    if envelope.HasField("occurred_at") else self._now())
        # The snapshot predates the event and the grace has not run out: the directory may have
        # admitted or approved the node a moment ago (`kim node join` then `approve`), so ask
        # again later rather than refuse what the next refresh would accept.
        may_be_newer = ((snapshot.refreshed_at is None or snapshot.refreshed_at <= occurred)
                        and (self._now() - occurred).total_seconds() < self._grace)
        if entry is None:
            if may_be_newer:
                raise Unavailable(
                    f"Ereignis {envelope.id}: das Zertifikat von {envelope.source_node!r} ist im "
                    "Abbild des Knotenverzeichnisses noch nicht bekannt; später erneut prüfen.")
            raise UntrustedEvent(
                "unknown-node", f"Ereignis {envelope.id}: das Zertifikat von "
                f"{envelope.source_node!r} ({fingerprint[:16]}…) ist im Knotenverzeichnis nicht "
                "eingetragen.")
        if entry.node_id != envelope.source_node:
            raise UntrustedEvent(
                "wrong-node", f"Ereignis {envelope.id}: das Zertifikat gehört laut "
                f"Knotenverzeichnis zu {entry.node_id!r}, nicht zu {envelope.source_node!r}.")
        if entry.status == PENDING and may_be_newer:
            raise Unavailable(
                f"Ereignis {envelope.id}: der Knoten {entry.node_id!r} wartet im Abbild des "
                "Knotenverzeichnisses noch auf Freigabe; später erneut prüfen.")
        if entry.status != ACTIVE:
            raise UntrustedEvent(
                "inactive-node", f"Ereignis {envelope.id}: der Knoten {entry.node_id!r} ist im "
                f"Verbund nicht freigegeben (Status {entry.status}).")
        return Sender(entry.node_id, entry.organization, entry.role)


class CachedSnapshot:
    """Reads the snapshot at most every `cache_seconds` (the worker's view of the directory)."""

    def __init__(self, read: Callable[[], Snapshot], cache_seconds: float = 2.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._read = read
        self._cache_seconds = cache_seconds
        self._clock = clock
        self._cached: tuple[float, Snapshot] | None = None
        self._lock = threading.Lock()

    def __call__(self) -> Snapshot:
        now = self._clock()
        with self._lock:
            cached = self._cached
        if cached is not None and now - cached[0] < self._cache_seconds:
            return cached[1]
        snapshot = self._read()
        with self._lock:
            self._cached = (now, snapshot)
        return snapshot


def entries_of(nodes: Iterable[tuple[str, str, str, str, Iterable[str]]]) -> list[DirectoryEntry]:
    """Entries from (node id, organisation, role, status, fingerprints) of directory nodes."""
    return [DirectoryEntry(fp, node_id, org, role, status)
            for node_id, org, role, status, fingerprints in nodes for fp in fingerprints]


def audit_fields(envelope: EventEnvelope, error: UntrustedEvent, service: str) -> dict[str, Any]:
    """What a refusal's audit record and log line say about the envelope (no payload)."""
    return {"event_id": envelope.id, "type": envelope.type, "source_node": envelope.source_node,
            "source_service": envelope.source_service, "reason": error.reason,
            "service": service}
