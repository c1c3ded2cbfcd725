"""The worker bootstrap (kimnetz/runtime/worker.py): importing a worker module reads no setting;
a service container reads its settings when it starts (the environment, with the container
config's `KIM_SETTINGS` over it), and hands them and what `Provide` builds to the handlers, once
per container or afresh per handler call. Real nameko containers, set up without being started
(no broker); the database connections this makes are lazy and dropped after each test."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from nameko.constants import AMQP_URI_CONFIG_KEY
from nameko.containers import ServiceContainer
from pydantic import ValidationError

from kimnetz.runtime import mongo
from kimnetz.runtime.settings import Settings
from kimnetz.runtime.worker import SETTINGS_KEY, NodeRuntime, SettingsTimer
from services.case.settings import CaseSettings
from services.case.worker import CaseWorker
from services.conference.worker import ConferenceWorker

WORKER_MODULES = ["services.case.worker", "services.conference.worker", "services.documents.worker",
                  "services.identity.worker", "kimnetz.runtime.node_worker"]
UNREADABLE = {"KIM_REMINDER_INTERVAL_SECONDS": "stündlich", "KIM_CASE_RETENTION_INTERVAL_SECONDS": "nie",
              "KIM_DOCUMENTS_RETENTION_INTERVAL_SECONDS": "-1", "KIM_GRPC_PORT": "kein Port"}


@pytest.fixture(autouse=True)
def _no_connections_left() -> Iterator[None]:
    yield
    for alias in ("case", "conference", "node"):
        mongo.disconnect(alias)


def container(worker: type, **settings: dict[str, Any]) -> ServiceContainer:
    return ServiceContainer(worker, {AMQP_URI_CONFIG_KEY: "amqp://nobody@127.0.0.1:1/",
                                     SETTINGS_KEY: settings})


def extension(of: ServiceContainer, name: str) -> Any:
    """The bound dependency or entrypoint `name` of the container, set up."""
    found = [e for e in of.extensions
             if getattr(e, "attr_name", None) == name or getattr(e, "method_name", None) == name]
    assert found, f"{name} is no dependency or entrypoint of {of.service_name}"
    found[0].setup()
    return found[0]


def test_importing_the_workers_reads_no_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in UNREADABLE.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError):
        Settings()  # the environment below is really unreadable
    with pytest.raises(ValidationError):
        CaseSettings()
    imported = subprocess.run(
        [sys.executable, "-c", f"import {', '.join(WORKER_MODULES)}; print('imported')"],
        env={**os.environ, **UNREADABLE}, capture_output=True, text=True, timeout=120, check=False)
    assert imported.stdout.strip() == "imported", imported.stderr


def test_a_container_reads_the_environment_with_its_config_over_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KIM_ORGANIZATION_ID", "kreis-mettmann")
    monkeypatch.setenv("KIM_NODE_ID", "from-the-environment")
    case = container(CaseWorker, Settings={"node_id": "bootstrap-case", "events_unsigned": True},
                     CaseSettings={"retention_days": 5, "retention_interval_seconds": 3})
    node_settings = extension(case, "node_settings").get_dependency(None)
    assert (node_settings.node_id, node_settings.organization_id) == ("bootstrap-case", "kreis-mettmann")
    assert extension(case, "settings").get_dependency(None).retention_days == 5
    timer = extension(case, "apply_retention")
    assert isinstance(timer, SettingsTimer)
    assert timer.interval == 3


def test_the_timer_of_the_node_settings_and_a_service_layer_per_handler_call() -> None:
    conference = container(ConferenceWorker, Settings={
        "node_id": "bootstrap-conference", "organization_id": "kreis-mettmann",
        "reminder_interval_seconds": 7, "events_unsigned": True})
    timer = extension(conference, "remind_overdue_beschluesse")
    assert (timer.interval, timer.eager) == (7, True)
    provider = extension(conference, "conference")
    first, second = provider.get_dependency(None), provider.get_dependency(None)
    assert first is not second  # its repository remembers the versions one handler loaded
    assert first.barrierenregister.barriers is not second.barrierenregister.barriers
    assert first.barrierenregister.barriers.node_id == "bootstrap-conference"
    assert first.barrierenregister.register_org == "kreis-mettmann"


def test_one_runtime_per_container_and_none_shared_between_containers() -> None:
    first = container(CaseWorker, Settings={"node_id": "bootstrap-a", "events_unsigned": True})
    second = container(CaseWorker, Settings={"node_id": "bootstrap-b", "events_unsigned": True})
    for each in (first, second):
        runtimes = {id(e.runtime) for e in each.extensions if hasattr(e, "runtime")}
        assert len(runtimes) == 1
        assert isinstance(each.shared_extensions[NodeRuntime], NodeRuntime)
    assert extension(first, "node_settings").get_dependency(None).node_id == "bootstrap-a"
    assert extension(second, "node_settings").get_dependency(None).node_id == "bootstrap-b"
    provided = extension(first, "settings")
    assert provided.get_dependency(None) is provided.get_dependency(None)  # once per container
