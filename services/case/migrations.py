"""Data migrations of the case service (kimnetz/runtime/migrations.py; docs/operations.md).

1. The maintained lists and figures (services/case/read_models.py) are built from the case
   documents of a node that kept its cases before they existed; run again, it builds them anew
   (the same result), which is also the repair should `CaseReadModels.check` ever find them
   apart from the cases."""

from __future__ import annotations

from typing import Any

from pymongo.database import Database

from kimnetz.runtime.migrations import Migration
from services.case.read_models import CaseReadModels


def _read_models(database: Database[Any]) -> int:
    """How many cases the read models were built from (0: they already agreed with the cases)."""
    models = CaseReadModels(database)
    return 0 if not models.check() else models.rebuild()


MIGRATIONS = [
    Migration(1, "Fallisten und Kennzahlen aus den gespeicherten Fällen aufbauen (Lese-Modelle)",
              _read_models),
]
