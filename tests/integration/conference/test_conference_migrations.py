"""Versioned data migrations (kimnetz/runtime/migrations.py, services/conference/migrations.py;
issue 17, "Upgrades") on the real MongoDB-wire server: a node whose conferences were saved by the
previous data version (no `invited` field, data version 0) is brought up to date by
`migrate`: the Integrationslotsin then finds her Fallkonferenzen. A second run changes nothing;
a new node starts at the latest version; the node's status shows the versions."""

from __future__ import annotations

from datetime import timedelta

from pymongo import MongoClient

from kimctl.nodes import data_versions
from kimnetz.bootstrap import service_migrations
from kimnetz.runtime import migrations
from kimnetz.runtime.settings import Settings
from services.case.migrations import MIGRATIONS as CASE_MIGRATIONS
from services.conference.domain.fallkonferenz import Participant
from services.conference.domain.vocabulary import ParticipantRole
from services.conference.migrations import MIGRATIONS
from services.conference.repository import ConferenceDocument, MongoConferenceRepository
from tests.unit.conference.factories import CONFERENCE_START, make_conference, make_participants, next_id


def _as_previous_version(settings: Settings) -> None:
    """What the data version before looked like: conferences without `invited`, no version."""
    with MongoClient(settings.mongodb_uri) as client:
        client[settings.database_name("conference")][ConferenceDocument._meta["collection"]].update_many(
            {}, {"$unset": {"invited": ""}})
        client[settings.database_name("node")][migrations.COLLECTION].delete_many({})


def test_a_node_of_the_previous_data_version_is_migrated_once_and_finds_its_invitations(
        conference_db: Settings) -> None:
    settings = conference_db.model_copy(update={"grpc_services": "conference"})
    repository = MongoConferenceRepository(settings.node_id)
    abh = next_id("abh")
    lotsin = Participant("lotsin", "Lotsin", ParticipantRole.IMMIGRATION_LIAISON, abh)
    conference = make_conference(coordination_org=next_id("ki-migration"),
                                 starts_at=CONFERENCE_START + timedelta(days=3),
                                 participants=[*make_participants(), lotsin])
    repository.save_conference(conference)
    _as_previous_version(settings)
    assert list(repository.conferences_with_participant("lotsin", abh)) == []  # the old shape
    [before] = migrations.versions(settings, service_migrations)
    assert (before.current, before.latest, before.pending) == (0, len(MIGRATIONS), len(MIGRATIONS))
    assert data_versions(settings)["Datenstand conference"].endswith("ausstehend: kim node migrate")

    applied = migrations.migrate(settings, service_migrations)

    assert [(a.service, a.version) for a in applied] == [("conference", 1)]
    assert applied[0].changed >= 1
    assert [c.conference_id for c in repository.conferences_with_participant("lotsin", abh)] == [
        conference.conference_id]
    assert migrations.migrate(settings, service_migrations) == []  # idempotent: nothing pending
    assert MIGRATIONS[0].apply(MongoClient(settings.mongodb_uri)[settings.database_name("conference")]) == 0
    assert data_versions(settings) == {"Datenstand conference": f"{len(MIGRATIONS)} von {len(MIGRATIONS)}"}


def test_a_new_node_starts_at_the_latest_data_version(node_settings: Settings) -> None:
    settings = node_settings.model_copy(update={"node_id": next_id("neu"),
                                                "grpc_services": "conference,case"})
    migrations.stamp_latest(settings, service_migrations)
    found = {v.service: (v.current, v.latest) for v in migrations.versions(settings, service_migrations)}
    case_latest = len(CASE_MIGRATIONS)
    assert found == {"conference": (len(MIGRATIONS), len(MIGRATIONS)), "case": (case_latest, case_latest)}
    assert migrations.migrate(settings, service_migrations) == []
    with MongoClient(settings.mongodb_uri) as client:
        client.drop_database(settings.database_name("node"))
