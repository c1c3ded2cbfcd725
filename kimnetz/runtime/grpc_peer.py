"""Who calls over the mutual-TLS port: the peer node its certificate names (`Peer`, set for
the servicer as `current_peer`), the person on whose behalf it asks (metadata
"x-kim-acting-user", percent-encoded), and the shapes of the directory check and of the methods
each api module opens to peers. Shared by the server's door (kimnetz.runtime.grpc_interceptors)
and the calling side (kimnetz.runtime.federation).
"""

from __future__ import annotations

import contextvars
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import quote, unquote

import grpc

from kimnetz import errors
from kimnetz.runtime.pki import fingerprint


@dataclass(frozen=True)
class Peer:
    """The node at the other end of a mutual-TLS connection: what its certificate names
    (fingerprint, common name), what the node directory says of it (node id, organisation,
    role; empty until the peer check has read the directory) and on whose behalf it asks
    (`acting_user`, metadata "x-kim-acting-user"; empty when the node asks for itself)."""

    fingerprint: str
    common_name: str
    node_id: str = ""
    organization: str = ""
    role: str = ""
    acting_user: str = ""


#: The peer node of the federation call being served (set by the peer interceptor).
current_peer: contextvars.ContextVar[Peer | None] = contextvars.ContextVar("current_peer", default=None)


#: Full method path -> node roles allowed to call it over the mutual-TLS port, or None for
#: any holder of a certificate of the federation's CA (only the node directory's join calls:
#: a joining node is not in the directory yet). Each api module declares its own.
FederationMethods = Mapping[str, frozenset[str] | None]

#: Metadata naming the person on whose behalf a peer node calls (both audit trails).
ACTING_USER_HEADER = "x-kim-acting-user"
MAX_ACTING_USER_LENGTH = 200


class PeerEntry(Protocol):
    """What the node directory says of a certificate (kimnetz.runtime.peers.PeerRecord)."""

    @property
    def node_id(self) -> str: ...

    @property
    def organization(self) -> str: ...

    @property
    def role(self) -> str: ...


class PeerCheck(Protocol):
    """The directory check of a peer's certificate for `method`: returns the node's active
    directory entry, or raises PermissionDenied (unknown, pending, revoked certificate) or
    Unavailable (directory unreadable); it audits its own refusals."""

    def __call__(self, peer: Peer, method: str) -> PeerEntry: ...


#: Printable ASCII is what gRPC metadata carries as is; "%" starts an escape.
_PLAIN_METADATA = "".join(chr(c) for c in range(0x20, 0x7F) if chr(c) != "%")


def acting_user_header(username: str) -> str:
    """The metadata value naming `username`: percent-encoded UTF-8 beyond printable ASCII
    ("j.müller" -> "j.m%C3%BCller"), because gRPC refuses other header values."""
    return quote(username, safe=_PLAIN_METADATA)


def acting_user_of(metadata: Mapping[str, Any]) -> str:
    """The person named in "x-kim-acting-user" ("" if none); refuses what is no user name."""
    value = metadata.get(ACTING_USER_HEADER, "")
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    value = unquote(str(value), errors="replace")
    if len(value) > MAX_ACTING_USER_LENGTH or not value.isprintable():
        raise errors.InvalidArgument(
            [errors.FieldViolation(
                ACTING_USER_HEADER,
                f"Höchstens {MAX_ACTING_USER_LENGTH} druckbare Zeichen (Benutzername der Person, "
                "für die der Knoten anfragt).")],
            "Die Angabe der handelnden Person ist ungültig.")
    return value


def peer_of(context: grpc.ServicerContext) -> Peer | None:
    """The verified client certificate of this call, if it came over the mutual-TLS port."""
    auth = context.auth_context()
    pem = auth.get("x509_pem_cert")
    if not pem:
        return None
    names = auth.get("x509_common_name") or [b""]
    return Peer(fingerprint=fingerprint(pem[0]), common_name=names[0].decode())
