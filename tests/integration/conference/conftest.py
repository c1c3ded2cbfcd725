"""Integration tier of the conference service: the REAL MongoDB-wire server (FerretDB locally,
`make infra-up`), its own throw-away database per test session; nothing faked. An unreachable
server fails the tests with what to start."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from kim.runtime import mongo
from kim.runtime.settings import Settings
from services.conference.repository import ConferenceRepository
from tests.support import servers


@pytest.fixture(scope="session")
def conference_db() -> Iterator[Settings]:
    settings = Settings(node_id=f"test-conf-{uuid.uuid4().hex[:8]}")
    servers.require_tcp("MongoDB-wire server (FerretDB)", settings.mongodb_uri, 27017)
    mongo.connect(settings, "conference")
    yield settings
    mongo.disconnect("conference")
    servers.drop_databases(settings)


@pytest.fixture
def repository(conference_db: Settings) -> ConferenceRepository:
    return ConferenceRepository(conference_db.node_id)
