"""The door every call of an api process passes, outermost first (kimnetz.runtime.grpc_server
puts them in this order): the bound on open streams, error mapping, the peer node's certificate
(mutual-TLS port), the bearer token, the comparison of token and certificate, and last the
check that no text of the request holds a NUL character.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any, NoReturn

import grpc
from google.protobuf.message import Message
from grpc_status import rpc_status
from mongoengine import NotUniqueError
from opentelemetry.trace import SpanKind, Status, StatusCode

from kimnetz import errors
from kimnetz.runtime import metrics, tracing
from kimnetz.runtime.audit import AuditEvent, AuditSink, RefusalCounter, anonymous_refusals
from kimnetz.runtime.auth import Principal, TokenRefused, TokenValidator, current_principal
from kimnetz.runtime.grpc_errors import status_for
from kimnetz.runtime.grpc_peer import (
    FederationMethods,
    Peer,
    PeerCheck,
    acting_user_of,
    current_peer,
    peer_of,
)
from kimnetz.runtime.proto_mapping import nul_fields

log = logging.getLogger(__name__)

#: Methods callable without a token: probes of Kubernetes and `kim node status`, and server
#: reflection (it describes the contracts, which are public; no data), where a node enables it.
PUBLIC_METHOD_PREFIXES = ("/grpc.health.v1.Health/", "/grpc.reflection.v1alpha.ServerReflection/",
                          "/grpc.reflection.v1.ServerReflection/")


def _wrap(handler: grpc.RpcMethodHandler, wrap: Callable[[Any], Any]) -> grpc.RpcMethodHandler:
    """`handler` with its behaviour passed through `wrap`. A non-blocking behaviour (grpcio's
    `experimental_non_blocking`, as the health servicer's `Watch`: it returns at once and sends
    later through `send_response_callback`) stays non-blocking: the wrapper carries the flag and
    the wrappers pass the callback on. Dropping it made each open `Watch` stream hold one of the
    server's threads until the client went away (issue 12)."""

    def wrap_keeping_flags(behaviour: Callable[..., Any]) -> Callable[..., Any]:
        wrapped = wrap(behaviour)
        for flag in ("experimental_non_blocking", "experimental_thread_pool"):
            if hasattr(behaviour, flag):
                setattr(wrapped, flag, getattr(behaviour, flag))
        return wrapped  # type: ignore[no-any-return]

    return _wrap_each(handler, wrap_keeping_flags)


def _wrap_each(handler: grpc.RpcMethodHandler, wrap: Callable[[Any], Any]) -> grpc.RpcMethodHandler:
    if handler.unary_unary:
        return grpc.unary_unary_rpc_method_handler(
            wrap(handler.unary_unary), handler.request_deserializer, handler.response_serializer)
    if handler.unary_stream:
        return grpc.unary_stream_rpc_method_handler(
            wrap(handler.unary_stream), handler.request_deserializer, handler.response_serializer)
    if handler.stream_unary:
        return grpc.stream_unary_rpc_method_handler(
            wrap(handler.stream_unary), handler.request_deserializer, handler.response_serializer)
    return grpc.stream_stream_rpc_method_handler(
        wrap(handler.stream_stream), handler.request_deserializer, handler.response_serializer)


class ErrorInterceptor(grpc.ServerInterceptor):
    """Turns `kimnetz.errors` (and unique-index violations) into standard status codes with
    `google.rpc.BadRequest` details; anything else is logged and answered INTERNAL."""

    def intercept_service(self, continuation: Any, details: grpc.HandlerCallDetails) -> Any:
        handler = continuation(details)
        if handler is None:
            return None

        def wrap(behaviour: Callable[..., Any]) -> Callable[..., Any]:
            def guarded(request: Any, context: grpc.ServicerContext, *extra: Any) -> Any:
                try:
                    return behaviour(request, context, *extra)
                except (errors.KimError, NotUniqueError) as exc:
                    context.abort_with_status(rpc_status.to_status(status_for(exc)))
                except Exception:
                    if context.code() is not None:  # the servicer aborted on purpose
                        raise
                    log.exception("unhandled error in %s", details.method)
                    context.abort_with_status(rpc_status.to_status(status_for(Exception())))
            return guarded

        return _wrap(handler, wrap)


class MetricsInterceptor(grpc.ServerInterceptor):
    """Counts and times every unary call by its rpc and final status (streams: their opening).
    Outermost, so a refusal by any inner interceptor is counted with its code."""

    def intercept_service(self, continuation: Any, details: grpc.HandlerCallDetails) -> Any:
        handler = continuation(details)
        if handler is None:
            return None
        method = details.method
        if handler.unary_stream or handler.stream_stream:
            return handler  # open streams (health Watch, reflection) are not request latencies

        def wrap(behaviour: Callable[..., Any]) -> Callable[..., Any]:
            def timed(request: Any, context: grpc.ServicerContext, *extra: Any) -> Any:
                started = time.perf_counter()
                try:
                    answer = behaviour(request, context, *extra)
                except Exception:
                    code = metrics.code_of(context)
                    metrics.observe_call(method, code if code is not grpc.StatusCode.OK
                                 else grpc.StatusCode.UNKNOWN, time.perf_counter() - started)
                    raise
                metrics.observe_call(method, metrics.code_of(context), time.perf_counter() - started)
                return answer
            return timed

        return _wrap(handler, wrap)


class TracingInterceptor(grpc.ServerInterceptor):
    """A SERVER span per unary call, continuing the caller's `traceparent` (kimnetz.runtime.tracing):
    the servicer, the outbox entries it records and its log lines share the call's trace."""

    def intercept_service(self, continuation: Any, details: grpc.HandlerCallDetails) -> Any:
        handler = continuation(details)
        if handler is None or handler.unary_stream or handler.stream_stream:
            return handler
        method = details.method
        metadata = dict(details.invocation_metadata or ())

        def wrap(behaviour: Callable[..., Any]) -> Callable[..., Any]:
            def traced(request: Any, context: grpc.ServicerContext, *extra: Any) -> Any:
                service, _, rpc = method.lstrip("/").partition("/")
                with tracing.tracer().start_as_current_span(
                        method.lstrip("/"), context=tracing.context_from(metadata),
                        kind=SpanKind.SERVER,
                        attributes={"rpc.system": "grpc", "rpc.service": service, "rpc.method": rpc},
                ) as span:
                    try:
                        return behaviour(request, context, *extra)
                    finally:
                        code = metrics.code_of(context)
                        span.set_attribute("rpc.grpc.status_code", code.value[0])
                        if code is not grpc.StatusCode.OK:
                            span.set_status(Status(StatusCode.ERROR, code.name))
            return traced

        return _wrap(handler, wrap)


#: Streaming calls an api process keeps open at once (health `Watch` of probes and tools);
#: more are refused with RESOURCE_EXHAUSTED. Each open stream costs memory and a callback in
#: the health servicer, so even non-blocking streams are bounded.
MAX_OPEN_STREAMS = 64


class StreamLimitInterceptor(grpc.ServerInterceptor):
    """Bounds the streaming calls open at once (per server, any method, with or without a
    token: `Health.Watch` needs none). A stream counts from its start until the call ends,
    whichever way (the server's termination callback), so a client that opens streams and
    never reads them cannot hold more than `limit`. Over the limit a new stream is refused
    with RESOURCE_EXHAUSTED; unary calls are not counted."""

    def __init__(self, limit: int = MAX_OPEN_STREAMS) -> None:
        if limit < 1:
            raise ValueError(f"the stream limit must be at least 1, not {limit}")
        self.limit = limit
        self._open = 0
        self._lock = threading.Lock()

    @property
    def open_streams(self) -> int:
        with self._lock:
            return self._open

    def intercept_service(self, continuation: Any, details: grpc.HandlerCallDetails) -> Any:
        handler = continuation(details)
        if handler is None or not (handler.request_streaming or handler.response_streaming):
            return handler

        def wrap(behaviour: Callable[..., Any]) -> Callable[..., Any]:
            def bounded(request: Any, context: grpc.ServicerContext, *extra: Any) -> Any:
                with self._lock:
                    admitted = self._open < self.limit
                    if admitted:
                        self._open += 1
                if not admitted:
                    anonymous_refusals.count(details.method, "zu viele offene Datenströme")
                    context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED,
                                  f"Zu viele gleichzeitig offene Datenströme (höchstens "
                                  f"{self.limit}); bitte später erneut versuchen.")
                released = threading.Event()

                def release() -> None:
                    if not released.is_set():
                        released.set()
                        with self._lock:
                            self._open -= 1

                if not context.add_callback(release):  # the call has already ended
                    release()
                return behaviour(request, context, *extra)
            return bounded

        return _wrap(handler, wrap)


AuthListener = Callable[[str, Principal | None, errors.KimError | None], None]


class AuthInterceptor(grpc.ServerInterceptor):
    """Validates the bearer token of every non-public call and makes its Principal available
    as `current_principal` to the servicer. `on_decision(method, principal, error)` lets the
    audit trail record the decisions about somebody: each accepted principal, each token that
    names somebody but is refused (expired, organisation not enabled: `TokenRefused`), and each
    refused token of a peer node (its certificate names it). A refused call from nobody (no
    client certificate; no, an unreadable or a forged token) goes only to `refusals`: counted per
    reason and logged at a bounded rate. Anyone can make such calls for free, so chaining each
    into the hash-chained case audit trail under the process's lock let an anonymous client
    flood it (issue 12)."""

    def __init__(self, validator: TokenValidator, on_decision: AuthListener | None = None,
                 refusals: RefusalCounter = anonymous_refusals) -> None:
        self._validator = validator
        self._on_decision = on_decision
        self._refusals = refusals

    def intercept_service(self, continuation: Any, details: grpc.HandlerCallDetails) -> Any:
        handler = continuation(details)
        if handler is None or details.method.startswith(PUBLIC_METHOD_PREFIXES):
            return handler
        method = details.method
        metadata = dict(details.invocation_metadata or ())

        def wrap(behaviour: Callable[..., Any]) -> Callable[..., Any]:
            def authenticated(request: Any, context: grpc.ServicerContext, *extra: Any) -> Any:
                try:
                    principal = self._validator.validate(_bearer(metadata))
                except errors.Unauthenticated as exc:
                    named = exc.principal if isinstance(exc, TokenRefused) else None
                    if named is None and current_peer.get() is None:
                        self._refusals.count(method, exc.message)
                    elif self._on_decision:
                        self._on_decision(method, named, exc)
                    raise
                if self._on_decision:
                    self._on_decision(method, principal, None)
                token = current_principal.set(principal)
                try:
                    return behaviour(request, context, *extra)
                finally:
                    current_principal.reset(token)
            return authenticated

        return _wrap(handler, wrap)


def _federation_event(outcome: str, method: str, peer: Peer | None, reason: str = "",
                      principal: Principal | None = None) -> AuditEvent:
    extra = {"direction": "incoming"}
    if peer is not None:
        extra["fingerprint"] = peer.fingerprint
        extra["common_name"] = peer.common_name
        if peer.acting_user:
            extra["acting_user"] = peer.acting_user
    if principal is not None and principal.client_id:
        extra["client_id"] = principal.client_id
    return AuditEvent.now(
        kind="federation", outcome=outcome, action=method,
        subject=principal.subject if principal else None,
        username=principal.username if principal else None,
        organization=(peer.organization if peer and peer.organization else
                      principal.organization if principal else None),
        node=(peer.node_id or peer.common_name or None) if peer else None,
        reason=reason, extra=extra,
    )


class PeerInterceptor(grpc.ServerInterceptor):
    """The door of the mutual-TLS port. A call that came with a client certificate (the
    federation's CA verified it in the handshake) is served only for methods in `methods`:
    with a role set, the certificate must belong to an active node of the directory (`check`)
    whose role is in that set; with None, any certificate of the CA will do (the directory's
    own join calls). Anything else on that port is refused: nobody lists another node's cases.
    On the plain port, methods with a role set are refused; the rest is for people with a
    token. Every refusal goes to `audit` (kind "federation"); granted peer calls are recorded by
    `PeerTokenInterceptor`, once the token is checked too. Inside the servicer,
    `current_peer` is the peer with its directory entry and the acting user."""

    def __init__(self, methods: FederationMethods, check: PeerCheck,
                 audit: AuditSink | None = None,
                 refusals: RefusalCounter = anonymous_refusals,
                 validator: TokenValidator | None = None) -> None:
        """`validator`: tells, for a peer method called on the plain port, whether the token
        names somebody (the refusal is audited with that principal) or nobody (only counted).
        Without one every such refusal is audited."""
        self._methods = dict(methods)
        self._check = check
        self._audit = audit
        self._refusals = refusals
        self._validator = validator

    def intercept_service(self, continuation: Any, details: grpc.HandlerCallDetails) -> Any:
        handler = continuation(details)
        if handler is None:
            return None
        method = details.method
        declared = method in self._methods
        roles = self._methods.get(method)
        public = method.startswith(PUBLIC_METHOD_PREFIXES)
        metadata = dict(details.invocation_metadata or ())

        def wrap(behaviour: Callable[..., Any]) -> Callable[..., Any]:
            def guarded(request: Any, context: grpc.ServicerContext, *extra: Any) -> Any:
                peer = peer_of(context)
                if peer is None:
                    if declared and roles is not None:
                        error = errors.Unauthenticated(
                            "Dieser Aufruf ist Knoten des Verbunds vorbehalten (gegenseitiges TLS).")
                        caller = self._caller(metadata)
                        if caller is None:
                            self._refuse_anonymous(method, error)
                        self._refuse(method, None, error, caller)
                    return behaviour(request, context, *extra)
                if public:
                    return behaviour(request, context, *extra)
                peer = self._admit(method, peer, metadata, declared, roles)
                token = current_peer.set(peer)
                try:
                    return behaviour(request, context, *extra)
                finally:
                    current_peer.reset(token)
            return guarded

        return _wrap(handler, wrap)

    def _admit(self, method: str, peer: Peer, metadata: Mapping[str, Any], declared: bool,
               roles: frozenset[str] | None) -> Peer:
        try:
            peer = replace(peer, acting_user=acting_user_of(metadata))
        except errors.InvalidArgument as exc:
            self._refuse(method, peer, exc)
        if not declared:
            self._refuse(method, peer, errors.PermissionDenied(
                f"Die Methode {method} steht anderen Knoten nicht offen; über den Peer-Port "
                "gibt ein Knoten nur preis, was der Verbund ausdrücklich vorsieht."))
        if roles is None:
            return peer
        entry = self._check(peer, method)  # refuses (and audits) unknown/pending/revoked nodes
        peer = replace(peer, node_id=entry.node_id, organization=entry.organization,
                       role=entry.role)
        if entry.role not in roles:
            allowed = ", ".join(sorted(roles)) or "keine"
            self._refuse(method, peer, errors.PermissionDenied(
                f"Der Knoten {entry.node_id} hat die Rolle {entry.role or 'unbekannt'!r}; "
                f"{method} dürfen nur Knoten mit der Rolle {allowed} aufrufen."))
        return peer

    def _caller(self, metadata: Mapping[str, Any]) -> Principal | None:
        """Who the call's token names, as far as it names anybody."""
        if self._validator is None:
            return Principal(subject="", username="", organization=None)
        try:
            return self._validator.validate(_bearer(dict(metadata)))
        except TokenRefused as exc:
            return exc.principal
        except errors.Unauthenticated:
            return None

    def _refuse_anonymous(self, method: str, error: errors.KimError) -> NoReturn:
        """A call without a client certificate on the plain port: nobody is known, so it is
        counted and logged (rate-limited) rather than audited one by one (issue 12)."""
        self._refusals.count(method, error.message)
        raise error

    def _refuse(self, method: str, peer: Peer | None, error: errors.KimError,
                principal: Principal | None = None) -> NoReturn:
        if self._audit is not None:
            named = principal if principal is not None and principal.subject else None
            self._audit.record(_federation_event("denied", method, peer, error.message, named))
        raise error


class PeerTokenInterceptor(grpc.ServerInterceptor):
    """Runs after the token check, for calls of peer nodes: the token must be of the same
    organisation as the certificate's node (a node cannot call with another organisation's
    token, nor a stolen token with another node's certificate); then the call is recorded as
    granted. Calls to methods open to any certificate (no directory entry) skip the
    organisation check: the directory's rules decide who may join or change a node."""

    def __init__(self, audit: AuditSink | None = None) -> None:
        self._audit = audit

    def intercept_service(self, continuation: Any, details: grpc.HandlerCallDetails) -> Any:
        handler = continuation(details)
        if handler is None or details.method.startswith(PUBLIC_METHOD_PREFIXES):
            return handler
        method = details.method

        def wrap(behaviour: Callable[..., Any]) -> Callable[..., Any]:
            def same_organization(request: Any, context: grpc.ServicerContext, *extra: Any) -> Any:
                peer = current_peer.get()
                if peer is None:
                    return behaviour(request, context, *extra)
                principal = current_principal.get()
                if (peer.organization and principal is not None
                        and principal.organization != peer.organization):
                    reason = (f"Zertifikat von Knoten {peer.node_id} (Organisation "
                              f"{peer.organization}), Zugangstoken von Organisation "
                              f"{principal.organization or 'keiner'}: Aufrufe anderer Knoten "
                              "müssen mit dem Dienstkonto derselben Organisation erfolgen.")
                    if self._audit is not None:
                        self._audit.record(
                            _federation_event("denied", method, peer, reason, principal))
                    raise errors.PermissionDenied(reason)
                if self._audit is not None:
                    self._audit.record(_federation_event("granted", method, peer, "", principal))
                return behaviour(request, context, *extra)
            return same_organization

        return _wrap(handler, wrap)


def _bearer(metadata: dict[str, Any]) -> str:
    value = str(metadata.get("authorization", ""))
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise errors.Unauthenticated("Anmeldung erforderlich: kein Zugangstoken übermittelt.")
    return token.strip()


#: What a person reads for a string with a NUL character (kimnetz.runtime.proto_mapping.NUL).
NUL_REFUSAL = "Enthält ein unzulässiges Nullzeichen (U+0000)."


class TextInterceptor(grpc.ServerInterceptor):
    """Refuses a request any of whose strings holds a NUL character, every field named, before
    a servicer sees it. Domain checks refuse control characters in the texts they clean, but
    not every string is such a text (ids, keys, filters, page tokens), and a NUL that reaches
    the store fails there: PostgreSQL cannot keep it, so FerretDB on PostgreSQL answered such
    a call INTERNAL. One check at the door covers every rpc, present and future. Innermost, so
    only an authenticated call is looked at; no contract streams its requests, so a request is
    one message."""

    def intercept_service(self, continuation: Any, details: grpc.HandlerCallDetails) -> Any:
        handler = continuation(details)
        if handler is None:
            return None

        def wrap(behaviour: Callable[..., Any]) -> Callable[..., Any]:
            def checked(request: Any, context: grpc.ServicerContext, *extra: Any) -> Any:
                if isinstance(request, Message) and (paths := nul_fields(request)):
                    raise errors.InvalidArgument([errors.FieldViolation(path, NUL_REFUSAL) for path in paths])
                return behaviour(request, context, *extra)
            return checked

        return _wrap(handler, wrap)
