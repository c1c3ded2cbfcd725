"""Outgoing calls to peer nodes: `FederationClient` finds a node in the federation's node
directory and calls a method of its mutual-TLS port, as this node.

Every call presents this node's certificate (the callee's peer check looks its fingerprint up
in the directory), carries this node's service-account token (the callee checks that token and
certificate belong to the same organisation) and names the person on whose behalf the node
asks (`x-kim-acting-user`, for both audit trails). Answers are gRPC errors mapped to
`kimnetz.errors` with German messages naming the node; a refusal by the peer is also written to
this node's audit sink, so the calling side keeps its own record.

The directory is read with the identity service's generated stubs only (no service import):
on the node that keeps the directory (`KIM_DIRECTORY_TARGET` empty) from its own api port,
elsewhere from the directory node's mutual-TLS port. Plain threads (api processes).

Calls are pinned to the directory: before a channel to a node is used (and again once per
`nodes_cache_seconds`), the certificate its mutual-TLS port presents must be one whose
fingerprint the directory lists for that node. Any certificate of the federation's CA passes
the TLS handshake, so without the pin a node whose address was taken over (DNS, a stale
endpoint) by another member could answer in its place. The check is a TLS handshake of its
own ahead of the gRPC connection; a node that swaps its certificate between the two is caught
at the next check.
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import ssl
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import grpc
from google.protobuf.message import Message
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from kimnetz import errors
from kimnetz.runtime.audit import AuditEvent, AuditSink
from kimnetz.runtime.grpc_channels import peer_channel
from kimnetz.runtime.grpc_peer import ACTING_USER_HEADER, acting_user_header
from kimnetz.runtime.pki import NodeCredentials
from kimnetz.runtime.service_account import ServiceAccount
from kimnetz.runtime.settings import Settings

log = logging.getLogger(__name__)

ResponseT = TypeVar("ResponseT", bound=Message)


@dataclass(frozen=True)
class FederationNode:
    """An active entry of the node directory, as far as a caller needs it."""

    node_id: str
    organization: str
    role: str  # "district" | "municipality" | "welfare_org" | "immigration_office"
    federation_endpoint: str  # host:port of its mutual-TLS port
    organization_name: str = ""  # "Stadt Hilden", as the federation file names it
    #: SHA-256 of the certificates the directory lists for the node (two during a rotation);
    #: its mutual-TLS port must present one of them.
    certificate_fingerprints: tuple[str, ...] = ()


#: Reads the active nodes of the directory (raises kimnetz.errors on failure).
DirectoryReader = Callable[[], list[FederationNode]]
#: This node's service-account token (kimnetz.runtime.service_account.ServiceAccount.token).
TokenSource = Callable[[], str]
#: The fingerprint of the certificate that the mutual-TLS port at `endpoint` presents
#: (raises OSError when it cannot be reached, ssl.SSLError when the handshake fails).
PresentedCertificate = Callable[[str], str]


def tls_presented_fingerprint(credentials: NodeCredentials,
                              timeout: float = 5.0) -> PresentedCertificate:
    """A TLS handshake with the peer's mutual-TLS port as this node (its client certificate,
    the federation's CA as the only trust anchor): the SHA-256 of the server's certificate."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False  # the pin below names the one certificate, stricter than a name
    context.verify_mode = ssl.CERT_REQUIRED
    context.load_verify_locations(cadata=credentials.ca_certificate.decode("ascii"))
    with tempfile.TemporaryDirectory(prefix="kim-peer-") as folder:
        # `load_cert_chain` reads files only; they live for this call, readable by us alone.
        key, certificate = os.path.join(folder, "node.key"), os.path.join(folder, "node.crt")
        for path, data in ((key, credentials.key), (certificate, credentials.certificate)):
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "wb") as out:
                out.write(data)
        context.load_cert_chain(certificate, key)

    def presented(endpoint: str) -> str:
        host, _, port = endpoint.rpartition(":")
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout) as raw, \
                context.wrap_socket(raw) as tls:
            der = tls.getpeercert(binary_form=True)
        if not der:
            raise ssl.SSLError("the peer presented no certificate")
        return hashlib.sha256(der).hexdigest()

    return presented


class FederationClient:
    """Calls other nodes of the federation. Build it with `from_settings`; close it at the end."""

    def __init__(self, *, node_id: str, organization: str, credentials: NodeCredentials,
                 token: TokenSource, directory: DirectoryReader, audit: AuditSink | None = None,
                 nodes_cache_seconds: float = 30.0,
                 clock: Callable[[], float] = time.monotonic,
                 closers: tuple[Callable[[], None], ...] = (),
                 presented: PresentedCertificate | None = None) -> None:
        """`presented`: how the certificate a peer presents is read (default: a TLS handshake
        with this node's credentials); calls are refused unless the directory lists it."""
        self.node_id = node_id
        self.organization = organization
        self._credentials = credentials
        self._token = token
        self._directory = directory
        self._audit = audit
        self._cache_seconds = nodes_cache_seconds
        self._clock = clock
        self._closers = closers
        self._lock = threading.Lock()
        self._nodes: tuple[float, list[FederationNode]] | None = None
        self._channels: dict[tuple[str, str], grpc.Channel] = {}
        self._presented = presented or tls_presented_fingerprint(credentials)
        #: (node id, endpoint, listed fingerprints) -> when the presented certificate matched.
        self._pinned: dict[tuple[str, str, tuple[str, ...]], float] = {}

    @classmethod
    def from_settings(cls, settings: Settings, audit: AuditSink | None = None,
                      **options: Any) -> FederationClient | None:
        """The client of a federation member (federation port and TLS folder set), else None."""
        if settings.federation_port == 0 or not settings.tls_dir:
            return None
        folder = Path(settings.tls_dir)
        credentials = NodeCredentials.from_files(
            folder / "node.key", folder / "node.crt", folder / "ca.crt")
        account = ServiceAccount(settings.keycloak_url, settings.keycloak_realm,
                                 settings.client_id, settings.client_secret)
        if settings.directory_target:
            channel = peer_channel(settings.directory_target, credentials)
        else:
            channel = grpc.insecure_channel(f"{settings.grpc_host}:{settings.grpc_port}")
        reader = GrpcDirectoryReader(channel, account.token)
        return cls(node_id=settings.node_id, organization=settings.organization_id,
                   credentials=credentials, token=account.token, directory=reader, audit=audit,
                   closers=(channel.close,), **options)

    # -- directory -----------------------------------------------------------------------

    def nodes(self) -> list[FederationNode]:
        """The active nodes of the federation (this one included), read at most every
        `nodes_cache_seconds`; a revoked node disappears from here after that time."""
        now = self._clock()
        with self._lock:
            cached = self._nodes
        if cached is not None and now - cached[0] < self._cache_seconds:
            return list(cached[1])
        nodes = self._directory()
        with self._lock:
            self._nodes = (now, nodes)
        return list(nodes)

    def node(self, node_id: str) -> FederationNode:
        """The active directory entry of `node_id`; NotFound if the directory has none."""
        found = next((n for n in self.nodes() if n.node_id == node_id), None)
        if found is None:
            raise errors.NotFound(
                f"Der Knoten {node_id!r} ist im Verbund nicht (oder nicht mehr) freigegeben.")
        return found

    # -- calls ---------------------------------------------------------------------------

    def call(self, node_id: str, method_path: str, request: Message,
             response_type: type[ResponseT], *, acting_user: str = "",
             timeout: float = 15.0) -> ResponseT:
        """Call `method_path` ("/kim.case.v1.CaseFederation/GetCaseBriefs") of the node
        `node_id` on behalf of `acting_user`; returns the answer as `response_type`."""
        target = self.node(node_id)
        self._check_pin(target, method_path, acting_user)
        channel = self._channel(target)
        method = channel.unary_unary(
            method_path,
            request_serializer=_serialize,
            response_deserializer=response_type.FromString,
        )
        metadata = [("authorization", f"Bearer {self._token()}")]
        if acting_user:
            metadata.append((ACTING_USER_HEADER, acting_user_header(acting_user)))
        try:
            response: ResponseT = method(request, metadata=metadata, timeout=timeout)
        except grpc.RpcError as error:
            raise self._refused(target, method_path, acting_user, error) from error
        return response

    def _check_pin(self, node: FederationNode, method_path: str, acting_user: str) -> None:
        """The node's port presents a certificate the directory lists for it, checked at most
        every `nodes_cache_seconds`; else the call is refused (and audited) before it is made."""
        key = (node.node_id, node.federation_endpoint, node.certificate_fingerprints)
        now = self._clock()
        with self._lock:
            checked = self._pinned.get(key)
        if checked is not None and now - checked < self._cache_seconds:
            return
        reason = ""
        if not node.certificate_fingerprints:
            reason = (f"Das Knotenverzeichnis nennt für den Knoten {node.node_id} kein Zertifikat; "
                      "ohne Abgleich wird er nicht aufgerufen.")
        else:
            try:
                presented = self._presented(node.federation_endpoint)
            except ssl.SSLError as exc:
                reason = (f"Der Knoten {node.node_id} weist sich nicht mit einem Zertifikat des "
                          f"Verbunds aus ({exc.__class__.__name__}).")
            except (OSError, ValueError) as exc:
                self._forget_nodes()
                raise errors.Unavailable(
                    f"Der Knoten {node.node_id} ist nicht erreichbar; bitte später erneut "
                    "versuchen.") from exc
            else:
                if presented not in node.certificate_fingerprints:
                    reason = (f"Der Knoten {node.node_id} legt ein Zertifikat vor "
                              f"({presented[:16]}…), das das Knotenverzeichnis nicht für ihn "
                              "nennt; der Aufruf unterbleibt.")
        if reason:
            with self._lock:
                self._pinned.pop(key, None)
                channel = self._channels.pop((node.node_id, node.federation_endpoint), None)
            if channel is not None:
                channel.close()
            self._forget_nodes()  # a rotation may have changed the directory meanwhile
            self._record(node, method_path, acting_user, reason)
            raise errors.PermissionDenied(reason)
        with self._lock:
            self._pinned[key] = now

    def _channel(self, node: FederationNode) -> grpc.Channel:
        key = (node.node_id, node.federation_endpoint)
        with self._lock:
            channel = self._channels.get(key)
            if channel is None:
                # Dev CA certificates name the node id as DNS name: the channel then verifies
                # that the server is that node, not merely some member of the federation.
                channel = peer_channel(node.federation_endpoint, self._credentials, node.node_id)
                self._channels[key] = channel
            return channel

    def _refused(self, node: FederationNode, method_path: str, acting_user: str,
                 error: grpc.RpcError) -> errors.KimError:
        code: grpc.StatusCode = error.code()
        details = str(error.details() or "")
        mapped = map_peer_error(node.node_id, code, details, _violations(error))
        if code in (grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.UNAUTHENTICATED):
            self._record(node, method_path, acting_user, mapped.message)
        if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
            self._forget_nodes()
        return mapped

    def _record(self, node: FederationNode, method_path: str, acting_user: str,
                reason: str) -> None:
        if self._audit is None:
            return
        extra = {"direction": "outgoing", "caller_node": self.node_id}
        if acting_user:
            extra["acting_user"] = acting_user
        self._audit.record(AuditEvent.now(
            kind="federation", outcome="denied", action=method_path,
            username=acting_user or None, organization=node.organization, node=node.node_id,
            reason=reason, extra=extra,
        ))

    def _forget_nodes(self) -> None:
        # An unreachable node may have moved: the next call reads its endpoint afresh.
        with self._lock:
            self._nodes = None

    def close(self) -> None:
        with self._lock:
            channels, self._channels = list(self._channels.values()), {}
        for channel in channels:
            channel.close()
        for close in self._closers:
            close()


def _serialize(message: Message) -> bytes:
    return message.SerializeToString()


def _violations(error: grpc.RpcError) -> list[errors.FieldViolation]:
    try:
        status = rpc_status.from_call(error)
    except Exception:  # no rich status attached, or not a call object
        return []
    if status is None:
        return []
    violations: list[errors.FieldViolation] = []
    for detail in status.details:
        bad_request = error_details_pb2.BadRequest()
        if detail.Unpack(bad_request):
            violations.extend(errors.FieldViolation(v.field, v.description)
                              for v in bad_request.field_violations)
    return violations


def map_peer_error(node_id: str, code: grpc.StatusCode, details: str,
                   violations: list[errors.FieldViolation] | None = None) -> errors.KimError:
    """The `kimnetz.errors` error for a peer's gRPC status, with a German message naming the node."""
    said = f": {details}" if details else "."
    if code == grpc.StatusCode.PERMISSION_DENIED:
        return errors.PermissionDenied(f"Der Knoten {node_id} hat den Aufruf abgelehnt{said}")
    if code == grpc.StatusCode.UNAUTHENTICATED:
        return errors.Unauthenticated(
            f"Der Knoten {node_id} hat die Anmeldung dieses Knotens nicht angenommen{said}")
    if code == grpc.StatusCode.NOT_FOUND:
        return errors.NotFound(f"Beim Knoten {node_id} nicht gefunden{said}")
    if code == grpc.StatusCode.INVALID_ARGUMENT:
        return errors.InvalidArgument(
            list(violations or ()), f"Der Knoten {node_id} hat die Anfrage als ungültig "
                                    f"zurückgewiesen{said}")
    if code == grpc.StatusCode.FAILED_PRECONDITION:
        return errors.FailedPrecondition(f"Der Knoten {node_id} kann das so nicht ausführen{said}")
    if code == grpc.StatusCode.ALREADY_EXISTS:
        return errors.AlreadyExists(f"Beim Knoten {node_id} existiert das bereits{said}")
    if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
        return errors.Unavailable(
            f"Der Knoten {node_id} ist nicht erreichbar; bitte später erneut versuchen.")
    return errors.Unavailable(
        f"Der Knoten {node_id} konnte die Anfrage nicht beantworten ({code.name}); "
        "bitte später erneut versuchen.")


class GrpcDirectoryReader:
    """`DirectoryReader` over the identity service's `ListNodes` (active nodes only)."""

    def __init__(self, channel: grpc.Channel, token: TokenSource, *, timeout: float = 10.0) -> None:
        from kim.identity.v1 import identity_pb2_grpc

        self._stub = identity_pb2_grpc.IdentityServiceStub(channel)  # type: ignore[no-untyped-call]
        self._token = token
        self._timeout = timeout

    def __call__(self) -> list[FederationNode]:
        from kim.identity.v1 import identity_pb2

        try:
            answer = self._stub.ListNodes(
                identity_pb2.ListNodesRequest(status=identity_pb2.NODE_STATUS_ACTIVE),
                metadata=[("authorization", f"Bearer {self._token()}")], timeout=self._timeout)
        except grpc.RpcError as error:
            code: grpc.StatusCode = error.code()
            details = str(error.details() or "")
            if code == grpc.StatusCode.PERMISSION_DENIED:
                raise errors.PermissionDenied(
                    f"Das Knotenverzeichnis hat die Anfrage abgelehnt: {details}") from error
            if code == grpc.StatusCode.UNAUTHENTICATED:
                raise errors.Unauthenticated(
                    f"Das Knotenverzeichnis hat die Anmeldung dieses Knotens nicht angenommen: "
                    f"{details}") from error
            raise errors.Unavailable(
                f"Das Knotenverzeichnis ist nicht erreichbar ({code.name}); Aufrufe anderer "
                "Knoten sind bis dahin nicht möglich.") from error
        roles = {
            identity_pb2.NODE_ROLE_DISTRICT: "district",
            identity_pb2.NODE_ROLE_MUNICIPALITY: "municipality",
            identity_pb2.NODE_ROLE_WELFARE_ORG: "welfare_org",
            identity_pb2.NODE_ROLE_IMMIGRATION_OFFICE: "immigration_office",
        }
        return [
            FederationNode(n.node_id, n.organization, roles.get(n.role, ""),
                           n.federation_endpoint, n.organization_name,
                           tuple(f.lower() for f in n.certificate_fingerprints))
            for n in answer.nodes
            if n.status == identity_pb2.NODE_STATUS_ACTIVE
        ]
