"""The peer check of every api process's mutual-TLS port: is the certificate that a peer node
presented registered and active in the node directory?

Shared by all services' api processes, so it knows nothing of the identity service: it asks a
`PeerResolver` (fingerprint -> what the directory says) that the composition root hands in,
e.g. the identity service's store on the node that keeps the directory. Answers are cached for
a few seconds, positive and negative alike, because the check runs on every federation call;
the cache time is also how long a revoked node can still be served, so keep it short.
When the directory cannot be read the call is refused (fail closed): a revoked node must never
get through because a database was away.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from kimnetz.errors import PermissionDenied, Unavailable
from kimnetz.runtime.audit import AuditEvent, AuditSink
from kimnetz.runtime.grpc_peer import Peer

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PeerRecord:
    """The directory's entry for one certificate fingerprint."""

    node_id: str
    organization: str
    role: str
    status: str  # "pending" | "active" | "revoked"

    @property
    def active(self) -> bool:
        return self.status == "active"


PeerResolver = Callable[[str], PeerRecord | None]

_REFUSALS = {
    "pending": "Der Knoten {node} ist im Verbund noch nicht freigegeben.",
    "revoked": "Der Knoten {node} ist im Verbund widerrufen.",
}


class DirectoryPeerCheck:
    """`check(peer, method)` for `FederationListener`: the PeerRecord of an active node, else
    PermissionDenied (German reason); every refusal goes to the audit sink (kind "federation")."""

    def __init__(self, resolve: PeerResolver, *, cache_seconds: float = 5.0,
                 audit: AuditSink | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._resolve = resolve
        self._cache_seconds = cache_seconds
        self._audit = audit
        self._clock = clock
        self._cache: dict[str, tuple[float, PeerRecord | None]] = {}
        self._lock = threading.Lock()

    def __call__(self, peer: Peer, method: str = "") -> PeerRecord:
        """The active directory entry of the peer's certificate (its role decides which
        methods it may call); refused and audited otherwise."""
        try:
            record = self.lookup(peer.fingerprint)
        except (PermissionDenied, Unavailable) as exc:
            self._record(peer, None, exc.message, method)
            raise
        if record is not None and record.active:
            return record
        if record is None:
            reason = (f"Das Zertifikat von {peer.common_name or 'unbekannt'} ist im Verbund "
                      "nicht eingetragen.")
        else:
            reason = _REFUSALS.get(record.status, "Der Knoten {node} ist nicht freigegeben.").format(
                node=record.node_id)
        self._record(peer, record, reason, method)
        raise PermissionDenied(reason)

    def lookup(self, fingerprint: str) -> PeerRecord | None:
        now = self._clock()
        with self._lock:
            cached = self._cache.get(fingerprint)
        if cached is not None and now - cached[0] < self._cache_seconds:
            return cached[1]
        try:
            record = self._resolve(fingerprint)
        except PermissionDenied:
            raise  # the directory refuses this node itself the check (e.g. not yet active)
        except Exception as exc:
            log.warning("node directory unreadable, refusing peer %s: %s", fingerprint[:16], exc)
            raise Unavailable(
                "Das Knotenverzeichnis ist nicht erreichbar; Aufrufe anderer Knoten werden "
                "bis dahin abgelehnt.") from exc
        with self._lock:
            self._cache[fingerprint] = (now, record)
        return record

    def _record(self, peer: Peer, record: PeerRecord | None, reason: str, method: str) -> None:
        if self._audit is None:
            return
        extra = {"direction": "incoming", "fingerprint": peer.fingerprint,
                 "common_name": peer.common_name}
        if peer.acting_user:
            extra["acting_user"] = peer.acting_user
        self._audit.record(AuditEvent.now(
            kind="federation", outcome="denied", action=method or "peer certificate",
            subject=peer.common_name, organization=record.organization if record else None,
            node=record.node_id if record else (peer.common_name or None), reason=reason,
            extra=extra,
        ))
