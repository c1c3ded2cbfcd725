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
from pydantic_settings import BaseSettings

from kimnetz.runtime import metrics, mongo, node
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
