"""The node directory as seen from a node that does not keep it: a `PeerResolver` that asks
the directory node's `IdentityService.ResolvePeer`, and the listing of every node the event
verification's snapshot is made of (`ListNodes`).

The question goes to the directory node's mutual-TLS port, not its plain one: the answer
decides whom this node serves, so it must come from a server whose certificate the
federation's CA signed, over an encrypted connection. The call carries this node's
service-account token like every call. Plain threads only (api processes), never eventlet.
"""

from __future__ import annotations

from collections.abc import Callable

import grpc

from kim.identity.v1 import identity_pb2, identity_pb2_grpc
from kimnetz.errors import PermissionDenied, Unavailable
from kimnetz.runtime.event_trust import DirectoryEntry, entries_of
from kimnetz.runtime.grpc_channels import peer_channel
from kimnetz.runtime.peers import PeerRecord
from kimnetz.runtime.pki import NodeCredentials

_ROLE = {
    identity_pb2.NODE_ROLE_DISTRICT: "district",
    identity_pb2.NODE_ROLE_MUNICIPALITY: "municipality",
    identity_pb2.NODE_ROLE_WELFARE_ORG: "welfare_org",
    identity_pb2.NODE_ROLE_IMMIGRATION_OFFICE: "immigration_office",
}
_STATUS = {
    identity_pb2.NODE_STATUS_PENDING: "pending",
    identity_pb2.NODE_STATUS_ACTIVE: "active",
    identity_pb2.NODE_STATUS_REVOKED: "revoked",
}


class RemotePeerResolver:
    """`resolve(fingerprint)` -> PeerRecord, or None for a certificate the directory does not
    know; PermissionDenied when the directory refuses this node the check (it is not active);
    any other failure raises, and the peer check then refuses (fail closed)."""

    def __init__(self, target: str, credentials: NodeCredentials, token: Callable[[], str],
                 *, timeout: float = 5.0, server_name: str | None = None) -> None:
        self._channel = peer_channel(target, credentials, server_name)
        self._stub = identity_pb2_grpc.IdentityServiceStub(self._channel)  # type: ignore[no-untyped-call]
        self._token = token
        self._timeout = timeout

    def __call__(self, fingerprint: str) -> PeerRecord | None:
        try:
            answer = self._stub.ResolvePeer(
                identity_pb2.ResolvePeerRequest(fingerprint=fingerprint),
                metadata=[("authorization", f"Bearer {self._token()}")], timeout=self._timeout)
        except grpc.RpcError as error:
            if error.code() == grpc.StatusCode.NOT_FOUND:
                return None
            if error.code() in (grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.UNAUTHENTICATED):
                # The directory serves peer checks to active nodes only: this node (not yet
                # approved, or revoked) cannot check its callers, so it refuses them.
                raise PermissionDenied(
                    "Dieser Knoten kann Aufrufe anderer Knoten nicht prüfen: das "
                    f"Knotenverzeichnis lehnt seine Anfrage ab ({error.details()}).") from error
            raise
        return PeerRecord(answer.node_id, answer.organization, _ROLE.get(answer.role, ""),
                          _STATUS.get(answer.status, "unknown"))

    def close(self) -> None:
        self._channel.close()


class RemoteDirectoryListing:
    """The whole node directory (every status) from the directory node's `ListNodes` over its
    mutual-TLS port: what the api process copies into the node database for the workers' event
    verification (kimnetz/runtime/directory_snapshot.py). Raises on any failure (the snapshot then
    stays as it was)."""

    def __init__(self, target: str, credentials: NodeCredentials, token: Callable[[], str],
                 *, timeout: float = 5.0) -> None:
        self._channel = peer_channel(target, credentials)
        self._stub = identity_pb2_grpc.IdentityServiceStub(self._channel)  # type: ignore[no-untyped-call]
        self._token = token
        self._timeout = timeout

    def __call__(self) -> list[DirectoryEntry]:
        try:
            answer = self._stub.ListNodes(
                identity_pb2.ListNodesRequest(),
                metadata=[("authorization", f"Bearer {self._token()}")], timeout=self._timeout)
        except grpc.RpcError as error:  # one line in the log, not the channel's whole story
            raise Unavailable(f"Knotenverzeichnis nicht lesbar ({error.code().name}): "
                              f"{error.details()}") from error
        return entries_of(
            (n.node_id, n.organization, _ROLE.get(n.role, ""), _STATUS.get(n.status, "unknown"),
             n.certificate_fingerprints)
            for n in answer.nodes)

    def close(self) -> None:
        self._channel.close()
