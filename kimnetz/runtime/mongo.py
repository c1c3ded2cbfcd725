"""MongoDB connections: one mongoengine alias per service, one database per service per node.

Documents of a service declare `meta = {"db_alias": "<service>"}`; a process that hosts several
services (a small node) connects each alias to its own database.
"""

from __future__ import annotations

import mongoengine
from mongoengine.connection import ConnectionFailure

from kimnetz.runtime.settings import Settings


def connect(settings: Settings, service: str, alias: str | None = None) -> None:
    """Connect the service's database under `alias` (default: the service's name).
    Idempotent: a second call for the same alias keeps the existing connection."""
    alias = alias or service
    try:
        mongoengine.get_connection(alias=alias)
        return
    except ConnectionFailure:
        pass
    mongoengine.connect(
        db=settings.database_name(service),
        alias=alias,
        host=settings.mongodb_uri,
        uuidRepresentation="standard",
        tz_aware=True,
        serverSelectionTimeoutMS=5000,
    )


def disconnect(service: str) -> None:
    mongoengine.disconnect(alias=service)
