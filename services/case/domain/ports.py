"""What the case service layer needs from storage: the `CaseRepository` port and its values.

Who implements it: the mongoengine adapter `services.case.repository.MongoCaseRepository` (the
api process and the worker get it from their composition root) and the hand-written fake
`tests.support.fakes.case.InMemoryCaseRepository` (unit tests). Both are held to the same
behaviour by tests/integration/case/test_case_repository_contract.py. Pure typing: nothing here
imports a framework, so the service layer imports no database code.

What every implementation promises:

- A write of a case is its next version: `save` (and `erase_person`, `delete`) write
  `case.version + 1` and refuse with FailedPrecondition (`VersionConflict` for `save` and
  `erase_person`) if another write took that version first; then the case's pending events
  stay pending. A successful write records the pending events with that version (the outbox
  the relay sends), empties `pending_events` and sets `case.version`.
- `add` writes version 1; a pseudonym another case carries raises `PseudonymTaken` (draw a new
  one), a case id that exists raises AlreadyExists.
- Reads return a copy as stored: changing it changes nothing until it is saved. A missing case
  is NotFound; the person of a case whose person retention erased is FailedPrecondition.
- `applied(cause)`: whether a write caused by that event id was stored (events are applied once).
- The audit trail is one hash chain; appends seal each draft after the current tail.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from services.case.domain.audit import AuditDraft, AuditEntry
from services.case.domain.case import Case
from services.case.domain.movements import LedgerEntry
from services.case.domain.person import Person
from services.case.domain.vocabulary import CaseStatus
from services.case.domain.zielgruppen import ZielgruppenCatalogue

#: Lists return pages of this many cases unless the caller asks for a size up to MAX_PAGE_SIZE.
DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100


@dataclass(frozen=True)
class CaseFilter:
    """Which cases a list shows: always those `organization` may see (owned or shared)."""

    organization: str
    statuses: tuple[CaseStatus, ...] = ()
    zielgruppe: str = ""
    case_manager: str = ""
    #: Only active cases whose next review is due on or before this day.
    review_due_by: date | None = None


@dataclass(frozen=True)
class CasePage:
    """One page of a list, oldest case first, each with its person (None: erased by
    retention); `next_page_token` is "" on the last page."""

    items: list[tuple[Case, Person | None]]
    next_page_token: str


class PseudonymTaken(Exception):
    """Another case already carries this pseudonym (a rare collision): draw a new one."""


class CaseRepository(Protocol):
    """What the service layer needs from storage (see the module docstring for the rules)."""

    def add(self, case: Case, person: Person) -> None: ...
    def get(self, case_id: str) -> Case: ...
    def get_by_pseudonym(self, pseudonym: str) -> Case: ...
    def get_person(self, case_id: str) -> Person: ...
    def save(self, case: Case, person: Person | None = None, *, cause: str = "") -> None: ...
    def applied(self, cause: str) -> bool: ...

    # -- retention and re-checks --------------------------------------------------------------

    def closed_before(self, moment: datetime) -> list[str]:
        """Ids of closed cases untouched since `moment` that still hold personal data."""
        ...

    def undecided_checked_before(self, version: int) -> list[str]:
        """Ids of undecided proposals checked against a Zielgruppen version below `version`."""
        ...

    def erase_person(self, case: Case) -> None:
        """Retention: the person goes, the (anonymised) case stays; a versioned write."""
        ...

    def delete(self, case: Case) -> None:
        """Retention: the case goes; its pending events (the erase request) are still sent."""
        ...

    def forget_erased(self) -> int:
        """Forgets what `delete` kept once its events are sent; how many."""
        ...

    # -- lists and figures -------------------------------------------------------------------

    def figures(self) -> dict[str, dict[str, int]]:
        """Counts by "status" and "zielgruppe", and the "totals" of every case's figures, with
        every write made before the call."""
        ...

    def fold_read_models(self) -> int:
        """Brings the maintained lists and figures up to the writes made so far (what reads would
        otherwise do first); how many writes it took in. Idempotent; the worker's timer."""
        ...

    def record_ledger(self, entries: Sequence[LedgerEntry]) -> None:
        """Adds entries to the figures ledger (movements.py): kept through retention, never
        changed, no case id; an empty sequence writes nothing."""
        ...

    def ledger(self, until: date) -> list[LedgerEntry]:
        """The ledger's entries dated up to `until` (a period's figures need nothing later)."""
        ...

    def list_cases(self, query: CaseFilter, page_size: int, page_token: str) -> CasePage:
        """A page of `query` (page_size 0: the default; outside 1..MAX_PAGE_SIZE or a token
        that is not one: InvalidArgument)."""
        ...

    # -- audit trail -------------------------------------------------------------------------

    def append_audit(self, draft: AuditDraft) -> AuditEntry: ...
    def append_audits(self, drafts: Sequence[AuditDraft]) -> list[AuditEntry]: ...

    def audit_entries(self, case_id: str = "", after_sequence: int = 0,
                      limit: int = 100) -> list[AuditEntry]:
        """Entries after `after_sequence` in sequence order (of one case if given)."""
        ...

    # -- Zielgruppen -------------------------------------------------------------------------

    def current_catalogue(self) -> ZielgruppenCatalogue:
        """The highest version stored, or the default catalogue."""
        ...

    def store_catalogue(self, catalogue: ZielgruppenCatalogue) -> bool:
        """False if this version is already stored (it is kept as it is)."""
        ...
