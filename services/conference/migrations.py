"""Data migrations of the conference service (kimnetz/runtime/migrations.py; docs/operations.md).

1. Fallkonferenzen saved before `ConferenceDocument.invited` existed get it from their stored
   participants, so the Integrationslotsin finds them (`ListInvitedConferences`) without
   waiting for their next save."""

from __future__ import annotations

from typing import Any

from pymongo.database import Database

from kimnetz.runtime.migrations import Migration
from services.conference import codec
from services.conference.domain.fallkonferenz import Fallkonferenz
from services.conference.repository import ConferenceDocument, invited_keys


def _invitations(database: Database[Any]) -> int:
    collection = database[ConferenceDocument._meta["collection"]]
    changed = 0
    for stored in collection.find({"invited": {"$exists": False}}, {"state": 1}):
        conference = codec.decode(Fallkonferenz, stored["state"])
        collection.update_one({"_id": stored["_id"], "invited": {"$exists": False}},
                              {"$set": {"invited": invited_keys(conference)}})
        changed += 1
    return changed


MIGRATIONS = [
    Migration(1, "Einladungen gespeicherter Fallkonferenzen nachtragen (Liste „Meine Fallkonferenzen“)",
              _invitations),
]
