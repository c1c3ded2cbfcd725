"""Integration tests of the case service's repository: real FerretDB/MongoDB, nothing faked.

Each test session connects the "case" alias to its own database (a random node id), so runs
share the server without colliding, and drops that database at the end. A server that cannot
be reached fails the tests with what to start; nothing is skipped.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import mongoengine
import pytest
from pymongo.errors import PyMongoError

from kim.runtime.mongo import connect, disconnect
from kim.runtime.settings import Settings
from services.case import SERVICE
from services.case.repository import AuditDocument, CaseDocument, MongoCaseRepository, ZielgruppenDocument


@pytest.fixture(scope="session")
def case_settings() -> Iterator[Settings]:
    settings = Settings(node_id=f"test-case-{uuid.uuid4().hex[:10]}")
    connect(settings, SERVICE)
    try:
        mongoengine.get_db(SERVICE).client.admin.command("ping")
    except PyMongoError as error:
        disconnect(SERVICE)
        pytest.fail(
            f"MongoDB-wire server not reachable at {settings.mongodb_uri} ({error}). "
            "Start the local infrastructure with `make infra-up`.", pytrace=False)
    yield settings
    mongoengine.get_db(SERVICE).client.drop_database(settings.database_name(SERVICE))
    disconnect(SERVICE)


@pytest.fixture
def repository(case_settings: Settings) -> Iterator[MongoCaseRepository]:
    for document in (CaseDocument, AuditDocument, ZielgruppenDocument):
        document.ensure_indexes()
    yield MongoCaseRepository(case_settings.node_id)
    for document in (CaseDocument, AuditDocument, ZielgruppenDocument):
        document.objects.delete()
