"""The worker bootstrap: the one way a nameko service of KIM-Netz (`nameko run`, eventlet) gets
its settings and what its handlers use.

Nothing is read when a module is imported (so `import services.case.worker` has no effect and
tests can start workers with other settings). When a service container starts, `NodeRuntime`
(one per container, shared by all its extensions) reads the node's `Settings` - from the
environment as every process does, with the values of the container config's `KIM_SETTINGS`
mapping over them, keyed by settings class - and connects the service's database and the node
database. Each `Provide` then builds what it hands the handlers from that `WorkerContext`:

    class CaseWorker(ProbeResponder):           # kimnetz.runtime.node_worker: probes, `trust`
        name = SERVICE
        settings: CaseSettings = Provide(lambda worker: worker.settings(CaseSettings))
        cases: CaseServices = Provide(case_service)   # case_service(worker) -> CaseServices

        @every(lambda worker: worker.settings(CaseSettings).retention_interval_seconds)
        def apply_retention(self) -> None: ...

`Provide(build)` builds once per container (a service layer on a stateless repository, a
renderer with its compiled templates); `Provide(build, per_worker=True)` builds afresh for each
handler call (a repository that remembers the versions it loaded must not be shared by handlers
running at the same time). `every` is nameko's timer with its interval read from settings when
the container starts.

    KIM_SETTINGS:                               # in a nameko config (tests; nameko.yaml has none)
      Settings: {node_id: test-node, reminder_interval_seconds: 1}
      CaseSettings: {retention_days: 0}

Never start a gRPC server here, and make no gRPC client calls from here: grpcio blocks every
green thread of the process (docs/decisions.md).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Generic, TypeVar, cast

from nameko.extensions import DependencyProvider, SharedExtension
from nameko.timer import Timer
from opentelemetry import context as otel_context, trace
from opentelemetry.trace import SpanKind, Status, StatusCode
from pydantic_settings import BaseSettings

from kimnetz.runtime import metrics, mongo, node, tracing
from kimnetz.runtime.settings import Settings

#: The config every worker runs with; values come from the environment (see the file).
NAMEKO_CONFIG = Path(__file__).with_name("nameko.yaml")

#: Key of the container config whose mapping (settings class name -> field values) overrides
#: what the environment says.
SETTINGS_KEY = "KIM_SETTINGS"

S = TypeVar("S", bound=BaseSettings)
T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])


class WorkerContext:
    """What a service container of this node knows when it starts: its service's name, the
    node's settings and, read on first use, the service's own settings."""

    def __init__(self, service: str, node_settings: Settings,
                 overrides: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        self.service = service
        self.node = node_settings
        self._overrides = dict(overrides or {})
        self._read: dict[type[BaseSettings], BaseSettings] = {Settings: node_settings}

    def settings(self, settings_class: type[S]) -> S:
        """The settings of `settings_class` (e.g. CaseSettings, environment `KIM_CASE_*`), read
        once per container; `Settings` is the node's."""
        if settings_class not in self._read:
            self._read[settings_class] = settings_class(**self.overrides_for(settings_class))
        return cast(S, self._read[settings_class])

    def overrides_for(self, settings_class: type[BaseSettings]) -> dict[str, Any]:
        return dict(self._overrides.get(settings_class.__name__) or {})


def worker_context(service: str, config: Mapping[str, Any]) -> WorkerContext:
    """The context of `service`'s container with nameko config `config` (settings only; nothing
    is connected)."""
    overrides: Mapping[str, Mapping[str, Any]] = config.get(SETTINGS_KEY) or {}
    node_settings = Settings(**dict(overrides.get(Settings.__name__) or {}))
    return WorkerContext(service, node_settings, overrides)


class NodeRuntime(SharedExtension):
    """Once per service container, on the first `setup` of any of its extensions (nameko sets
    them up in no fixed order): the `WorkerContext`, the service's database and the node
    database connected."""

    def __init__(self) -> None:
        self._context: WorkerContext | None = None

    def setup(self) -> None:
        self.context()

    def context(self) -> WorkerContext:
        if self._context is None:
            context = worker_context(self.container.service_name, self.container.config)
            mongo.connect(context.node, context.service)  # both idempotent
            node.connect(context.node)
            # Once per process, whichever container starts first (events handled, their lag).
            metrics.serve(context.node.worker_metrics_port, context.node.grpc_host)
            tracing.configure(context.node.node_id, "worker", context.node.otlp_endpoint)
            self._context = context
        return self._context


class Provide(DependencyProvider, Generic[T]):
    """Hands each handler `build(context)` as the attribute it is declared as: built once when
    the container starts, or with `per_worker` afresh for each handler call."""

    runtime = NodeRuntime()

    def __init__(self, build: Callable[[WorkerContext], T], *, per_worker: bool = False) -> None:
        self.build = build
        self.per_worker = per_worker
        self._built: list[T] = []

    def setup(self) -> None:
        context = self.runtime.context()
        if not self.per_worker:
            self._built = [self.build(context)]

    def get_dependency(self, worker_ctx: Any) -> T:
        if self.per_worker:
            return self.build(self.runtime.context())
        return self._built[0]


class EventTrace(DependencyProvider):
    """A CONSUMER span around each event handler call, under the trace the event's `traceparent`
    header carries (kimnetz.runtime.tracing): the handler's log lines and the events it records
    join the trace of the call that caused the event, on this node or a peer's. Set up and torn
    down in the worker's own green thread, where the handler runs."""

    runtime = NodeRuntime()

    def setup(self) -> None:
        self.runtime.context()  # tracing is configured with the node's settings
        self._open: dict[int, tuple[Any, object]] = {}

    def worker_setup(self, worker_ctx: Any) -> None:
        entrypoint = worker_ctx.entrypoint
        event_type = getattr(entrypoint, "event_type", None)
        if event_type is None:
            return  # timers open no span of their own
        span = tracing.tracer().start_span(
            f"{event_type} handle", context=tracing.context_from(worker_ctx.data),
            kind=SpanKind.CONSUMER,
            attributes={"messaging.system": "rabbitmq",
                        "messaging.destination.name": str(getattr(entrypoint, "source_service", "")),
                        "messaging.operation": "process", "kim.handler": entrypoint.method_name})
        self._open[id(worker_ctx)] = (span, otel_context.attach(trace.set_span_in_context(span)))

    def worker_result(self, worker_ctx: Any, result: Any = None, exc_info: Any = None) -> None:
        opened = self._open.get(id(worker_ctx))
        if opened is not None and exc_info is not None:
            opened[0].set_status(Status(StatusCode.ERROR, type(exc_info[1]).__name__))

    def worker_teardown(self, worker_ctx: Any) -> None:
        opened = self._open.pop(id(worker_ctx), None)
        if opened is not None:
            span, token = opened
            otel_context.detach(token)  # type: ignore[arg-type]
            span.end()


class SettingsTimer(Timer):
    """nameko's timer, its interval read from the settings when the container starts."""

    runtime = NodeRuntime()

    def __init__(self, read_interval: Callable[[WorkerContext], float], eager: bool = False,
                 **kwargs: Any) -> None:
        super().__init__(0.0, eager=eager, **kwargs)
        self.read_interval = read_interval

    def setup(self) -> None:
        super().setup()
        self.interval = self.read_interval(self.runtime.context())


def every(interval: Callable[[WorkerContext], float], *, eager: bool = False) -> Callable[[F], F]:
    """Runs the decorated handler every `interval(context)` seconds (`eager`: also at once when
    the container starts), e.g.
    `@every(lambda worker: worker.settings(CaseSettings).retention_interval_seconds)`."""
    return cast(Callable[[F], F], SettingsTimer.decorator(read_interval=interval, eager=eager))
