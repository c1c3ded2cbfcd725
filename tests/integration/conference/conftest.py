"""Integration tier of the conference service: everything real, nothing faked.

- Storage: the session's own databases on the REAL MongoDB-wire server (FerretDB locally,
  `make infra-up`), dropped afterwards (`node_settings`).
- The gRPC api: the api process the node runs (`kimnetz.bootstrap.build_api_process`: auth
  interceptor, error mapping, outbox relay) serving `case` AND `conference` for the Kreis'
  node, so the agenda's briefs come from the real CaseService over real gRPC. Started per
  test module, so the repository tests' outboxes are never drained under their feet.
- Tokens: real brokered logins at the real Keycloak in the federation of federation.yaml
  (one user per role in the Kreis and in Stadt Hilden), under unique realm names.
- Events: consumed with kombu from the session's own RabbitMQ vhost; the worker is a real
  `kim node worker` (`nameko run`) process on that vhost.

A server that cannot be reached fails the tests with what to start; nothing is skipped.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf.message import Message
from kombu import Connection, Exchange, Queue

from kim.case.v1 import case_pb2_grpc
from kim.conference.v1 import conference_pb2_grpc
from kimnetz.bootstrap import ApiProcess, build_api_process
from kimnetz.runtime import events, mongo
from kimnetz.runtime.settings import Settings
from services.conference.repository import MongoConferenceRepository
from tests.support import servers
from tests.support.grpc_calls import refusal
from tests.support.identity import LocalFederation

FEDERATION_FILE = Path(__file__).with_name("federation.yaml")
KREIS = "kreis-mettmann"
HILDEN = "stadt-hilden"
ORG_SHORT = {KREIS: "kreis", HILDEN: "hilden"}
ROLE_SHORT = {
    "case_manager": "cm",
    "coordinator": "koord",
    "immigration_liaison": "lotse",
    "steering_member": "lenkung",
    "clerk": "buero",
    "data_protection_officer": "dsb",
    "node_admin": "admin",
}


@pytest.fixture(scope="session")
def conference_db(node_settings: Settings) -> Settings:
    """The session node's "conference" database (the api process and the worker use the same)."""
    mongo.connect(node_settings, "conference")
    return node_settings


@pytest.fixture
def repository(conference_db: Settings) -> MongoConferenceRepository:
    return MongoConferenceRepository(conference_db.node_id)


@pytest.fixture(scope="session")
def conference_federation() -> Iterator[LocalFederation]:
    federation = LocalFederation.start(FEDERATION_FILE)
    try:
        yield federation
    finally:
        federation.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def kreis_settings(conference_db: Settings, conference_federation: LocalFederation) -> Settings:
    """The Kreis' node: case and conference in one api process on a known port (the conference
    calls the case api of its own process there), trusting the test federation's realm."""
    return conference_db.model_copy(
        update={
            "organization_id": KREIS,
            "grpc_services": "case,conference",
            "grpc_port": _free_port(),
            "keycloak_realm": conference_federation.realm,
            "api_audience": conference_federation.federation.clients.api,
            "reminder_interval_seconds": 1.0,
            "outbox_sweep_seconds": 0.5,
        }
    )


@pytest.fixture(scope="module")
def api_process(kreis_settings: Settings) -> Iterator[ApiProcess]:
    process = build_api_process(kreis_settings)
    process.start()
    yield process
    process.stop()


@dataclass(frozen=True)
class Caller:
    organization: str
    role: str
    prefix: str = ""

    @property
    def username(self) -> str:
        return f"{self.prefix or ROLE_SHORT[self.role]}.{ORG_SHORT[self.organization]}"

    def __str__(self) -> str:
        return f"{self.role}@{self.organization}"


class Api:
    """Clients of both services of the node that call as a given user."""

    def __init__(self, channel: grpc.Channel, token: Callable[[Caller], str]) -> None:
        self.conference = conference_pb2_grpc.ConferenceServiceStub(channel)  # type: ignore[no-untyped-call]
        self.case = case_pb2_grpc.CaseServiceStub(channel)  # type: ignore[no-untyped-call]
        self._token = token

    def call(self, method: str, request: Message, caller: Caller, *, service: str = "conference") -> Any:
        metadata = (("authorization", f"Bearer {self._token(caller)}"),)
        return getattr(getattr(self, service), method)(request, metadata=metadata, timeout=30)

    def case_call(self, method: str, request: Message, caller: Caller) -> Any:
        return self.call(method, request, caller, service="case")

    def fails(self, method: str, request: Message, caller: Caller) -> grpc.RpcError:
        return refusal(lambda: self.call(method, request, caller), f"{method} as {caller}")


@pytest.fixture(scope="module")
def api(api_process: ApiProcess, conference_federation: LocalFederation) -> Iterator[Api]:
    channel = grpc.insecure_channel(f"127.0.0.1:{api_process.port}")
    yield Api(channel, lambda c: conference_federation.token_for(c.organization, c.username))
    channel.close()


class EventTap:
    """A queue on the test vhost bound to an exchange before the events are made, so every
    message published there can be counted afterwards."""

    def __init__(self, amqp_uri: str, exchange: str, name: str) -> None:
        self.connection = Connection(amqp_uri)
        self.queue = Queue(
            name,
            Exchange(exchange, type="topic", durable=True),
            routing_key="#",
            auto_delete=False,
            durable=False,
        )
        self.queue(self.connection.channel()).declare()

    def drain(
        self,
        settle_seconds: float = 2.0,
        timeout: float = 75.0,
        until: Callable[[list[Any]], bool] | None = None,
    ) -> list[Any]:
        """Every envelope in the queue, waiting until `until` holds (or `timeout`), then
        `settle_seconds` more so that a duplicate arriving late would be counted too. The timeout
        is generous: the relay backs off (up to 30 s) while the broker restarts."""
        received: list[Any] = []
        deadline = time.monotonic() + timeout
        settled_at: float | None = None
        with self.connection.channel() as channel:
            bound = self.queue(channel)
            while time.monotonic() < deadline:
                message = bound.get(no_ack=True, accept=[events.SERIALIZER])
                if message is not None:
                    received.append(events.decode(message.body))
                    continue
                if settled_at is None and (until is None or until(received)):
                    settled_at = time.monotonic() + settle_seconds
                if settled_at is not None and time.monotonic() >= settled_at:
                    break
                time.sleep(0.1)
        return received

    def close(self) -> None:
        with self.connection.channel() as channel:
            self.queue(channel).delete()
        self.connection.release()


@pytest.fixture
def conference_events(kreis_settings: Settings, request: pytest.FixtureRequest) -> Iterator[EventTap]:
    tap = EventTap(
        kreis_settings.amqp_uri, events.exchange_name("conference"), f"tap-{request.node.name}"[:200]
    )
    yield tap
    tap.close()


@pytest.fixture
def case_events(kreis_settings: Settings, request: pytest.FixtureRequest) -> Iterator[EventTap]:
    tap = EventTap(
        kreis_settings.amqp_uri, events.exchange_name("case"), f"case-tap-{request.node.name}"[:200]
    )
    yield tap
    tap.close()


@pytest.fixture(scope="module")
def worker(kreis_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """`kim node worker` running the case AND the conference worker of the Kreis' node on the
    test vhost, as the node runs them: decisions and Zielgruppen reach the cases, barriers the
    register, reminders leave on the timer (every second here)."""
    log = tmp_path_factory.mktemp("worker") / "worker.log"
    _purge_left_over_events(kreis_settings)
    extra = {"KIM_GRPC_SERVICES": "case,conference", "KIM_ORGANIZATION_ID": KREIS,
             "KIM_REMINDER_INTERVAL_SECONDS": "1"}
    ready = {"BarrierRecorded": 1, "CaseAdmissionDecided": 1, "ZielgruppenDefined": 1}
    with servers.running_worker(kreis_settings, log, ready, extra):
        yield log


def _purge_left_over_events(settings: Settings) -> None:
    """The session's vhost is shared: a worker of an earlier module (tests/integration/case starts
    one) left durable queues that collected the events of the modules since, e.g. another test's
    Zielgruppen version 2, which this module's worker would store before the one its test adopts."""
    with Connection(settings.amqp_uri) as connection, connection.channel() as channel:
        for queue in servers.broker_admin(settings).queues(settings.node_id):
            channel.queue_purge(str(queue["name"]))


