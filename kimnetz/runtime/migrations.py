"""Versioned data migrations of a node (issue 17, "Upgrades"; docs/operations.md).

Each service declares its migrations in order (`services/<svc>/migrations.py`, `MIGRATIONS`,
read by the composition root, `kimnetz.bootstrap.service_migrations`):
a version number, a German description for the operator and a function that brings the
service's database from the version before to this one. The node database keeps each service's
data version (collection `data_versions`: one document per service, `_id` = the service).

`migrate` applies what is pending, one migration at a time, recording the version after each,
so an interrupted run goes on where it stopped. Every migration is idempotent: run twice, it
changes nothing the second time (a run that died after the change and before the record repeats
it harmlessly). `kim node migrate` runs them; `kim node status` shows each service's version.
A new node starts at the latest version (`stamp_latest`): it holds no data of an older shape."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pymongo import MongoClient
from pymongo.database import Database

from kimnetz.runtime.settings import Settings

COLLECTION = "data_versions"


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    #: The service's database -> how many documents it changed (0 on a second run).
    apply: Callable[[Database[Any]], int]


@dataclass(frozen=True)
class Applied:
    service: str
    version: int
    description: str
    changed: int


@dataclass(frozen=True)
class DataVersion:
    service: str
    current: int
    latest: int

    @property
    def pending(self) -> int:
        return max(self.latest - self.current, 0)


#: A service's migrations in order (the composition root reads `services/<svc>/migrations.py`).
Registry = Callable[[str], Sequence[Migration]]


def checked(service: str, found: Sequence[Migration]) -> Sequence[Migration]:
    versions = [m.version for m in found]
    if versions != list(range(1, len(versions) + 1)):
        raise RuntimeError(f"{service}: migrations must be numbered 1, 2, … without gaps: {versions}")
    return found


def _client(settings: Settings) -> MongoClient[dict[str, Any]]:
    return MongoClient(settings.mongodb_uri, serverSelectionTimeoutMS=10_000)


def versions(settings: Settings, registry: Registry) -> list[DataVersion]:
    with _client(settings) as client:
        return _versions(client, settings, registry)


def _versions(client: MongoClient[dict[str, Any]], settings: Settings,
              registry: Registry) -> list[DataVersion]:
    stored = client[settings.database_name("node")][COLLECTION]
    found = []
    for service in settings.served_services:
        record = stored.find_one({"_id": service}) or {}
        found.append(DataVersion(service, int(record.get("version", 0)), len(registry(service))))
    return found


def _record(client: MongoClient[dict[str, Any]], settings: Settings, service: str,
            migration: Migration, changed: int) -> None:
    client[settings.database_name("node")][COLLECTION].update_one(
        {"_id": service},
        {"$set": {"version": migration.version},
         "$push": {"applied": {"version": migration.version, "description": migration.description,
                               "changed": changed, "at": datetime.now(UTC)}}},
        upsert=True)


def migrate(settings: Settings, registry: Registry,
            on_step: Callable[[str, Migration], None] | None = None) -> list[Applied]:
    """Apply every pending migration of the node's services, in order; returns what ran."""
    done: list[Applied] = []
    with _client(settings) as client:
        for state in _versions(client, settings, registry):  # the run's one connection
            for migration in registry(state.service)[state.current:]:
                if on_step is not None:
                    on_step(state.service, migration)
                changed = migration.apply(client[settings.database_name(state.service)])
                _record(client, settings, state.service, migration, changed)
                done.append(Applied(state.service, migration.version, migration.description, changed))
    return done


def stamp_latest(settings: Settings, registry: Registry) -> None:
    """A new node: each service at its latest version, where no version is recorded yet."""
    with _client(settings) as client:
        stored = client[settings.database_name("node")][COLLECTION]
        for service in settings.served_services:
            latest = len(registry(service))
            stored.update_one({"_id": service}, {"$setOnInsert": {"version": latest, "applied": []}},
                              upsert=True)
