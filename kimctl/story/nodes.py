"""How the story reaches the nodes: their api addresses, channels with stubs bound to the
person who acts (and that person's token), and waiting for what travels between the nodes."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import grpc

from kim.case.v1 import case_pb2_grpc
from kim.conference.v1 import conference_pb2_grpc
from kim.documents.v1 import documents_pb2_grpc
from kimctl.story.scenario import Actor
from kimnetz.runtime.settings import Settings

T = TypeVar("T")

#: (organisation, username) -> a bearer token of that person (a brokered login).
TokenProvider = Callable[[str, str], str]


class StoryFailed(Exception):
    """A step could not be done; the message says what and where (German, for operators)."""


@dataclass(frozen=True)
class StoryNode:
    """A node as the people of the story reach it: its id, organisation and api address."""

    node_id: str
    organization: str
    target: str

    @classmethod
    def of(cls, settings: Settings) -> StoryNode:
        return cls(settings.node_id, settings.organization_id, f"{settings.grpc_host}:{settings.grpc_port}")


class CachedTokens:
    """Tokens per person, fetched again when older than `max_age` seconds (they live 300 s)."""

    def __init__(self, provider: TokenProvider, max_age: float = 240.0) -> None:
        self._provider = provider
        self._max_age = max_age
        self._tokens: dict[tuple[str, str], tuple[float, str]] = {}

    def __call__(self, organization: str, username: str) -> str:
        cached = self._tokens.get((organization, username))
        if cached is None or time.monotonic() - cached[0] > self._max_age:
            cached = (time.monotonic(), self._provider(organization, username))
            self._tokens[organization, username] = cached
        return cached[1]


class _Bound:
    """A stub whose calls carry the actor's token: `api.case(node, actor).GetCase(request)`."""

    def __init__(self, stub: Any, token: Callable[[], str], timeout: float) -> None:
        self._stub, self._token, self._timeout = stub, token, timeout

    def __getattr__(self, method: str) -> Callable[[Any], Any]:
        def call(request: Any) -> Any:
            return getattr(self._stub, method)(
                request, metadata=[("authorization", f"Bearer {self._token()}")], timeout=self._timeout)
        return call


class Api:
    """Channels to the nodes' api ports, one per address, and stubs bound to a person."""

    def __init__(self, tokens: TokenProvider, timeout: float = 20.0) -> None:
        self.tokens = tokens
        self._timeout = timeout
        self._channels: dict[str, grpc.Channel] = {}

    def _channel(self, node: StoryNode) -> grpc.Channel:
        if node.target not in self._channels:
            self._channels[node.target] = grpc.insecure_channel(node.target)
        return self._channels[node.target]

    def _bind(self, stub: Any, actor: Actor) -> _Bound:
        return _Bound(stub, lambda: self.tokens(actor.organization, actor.username), self._timeout)

    def case(self, node: StoryNode, actor: Actor) -> Any:
        return self._bind(case_pb2_grpc.CaseServiceStub(self._channel(node)), actor)  # type: ignore[no-untyped-call]

    def conference(self, node: StoryNode, actor: Actor) -> Any:
        return self._bind(conference_pb2_grpc.ConferenceServiceStub(self._channel(node)), actor)  # type: ignore[no-untyped-call]

    def documents(self, node: StoryNode, actor: Actor) -> Any:
        return self._bind(documents_pb2_grpc.DocumentsServiceStub(self._channel(node)), actor)  # type: ignore[no-untyped-call]

    def close(self) -> None:
        for channel in self._channels.values():
            channel.close()
        self._channels.clear()


def poll(what: str, probe: Callable[[], T | None], timeout: float, interval: float = 1.0) -> T:
    """`probe()` until it gives a value; a gRPC error counts as "not yet" (a node may be down
    for a while). Past `timeout`: StoryFailed naming what did not arrive and the last answer."""
    deadline = time.monotonic() + timeout
    last = ""
    while True:
        try:
            value = probe()
            if value is not None:
                return value
        except grpc.RpcError as exc:
            last = f"{exc.code().name}: {exc.details()}"
        if time.monotonic() >= deadline:
            raise StoryFailed(f"{what}: nach {timeout:.0f} s nicht eingetreten"
                              + (f" (zuletzt {last})" if last else ""))
        time.sleep(interval)


def rpc_error(exc: grpc.RpcError) -> str:
    return f"{exc.code().name}: {exc.details()}"
