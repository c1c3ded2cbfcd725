"""`InMemoryCaseRepository`: the `CaseRepository` port (services/case/domain/ports.py) in memory.

It does what `services.case.repository.MongoCaseRepository` does, minus the database:

- Every write of a case is a new change at `version + 1` holding the case's stored form (what
  the codec would write) and the events of that write (its outbox); a version taken already is
  refused (VersionConflict, `delete`: FailedPrecondition) and the events stay pending. Reads
  decode the stored form again, so a caller's changes never leak into the store unsaved, and
  timestamps lose their microseconds below the millisecond as in BSON.
- Pseudonyms are unique (`PseudonymTaken`), as are case ids (AlreadyExists).
- Retention: `erase_person` forgets the earlier changes (and with them the events they caused,
  `applied`), carrying their unsent events into the new change after its own; `delete` keeps only a change
  without fields that holds the erase request until `send` empties it, then `forget_erased`.
- Lists: the organisation's own and shared cases, oldest first (created_at, case id), filtered
  and paged as the adapter pages (page size 1..100, default 20, an opaque token).
- The audit trail: one hash chain sealed by `services.case.domain.audit.seal`.

What the adapter's relay does is `send()`: it hands out every recorded event, oldest first,
and empties the outboxes. `unsent(case_id)` shows what is still waiting.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from kimnetz.errors import (
    AlreadyExists,
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
    VersionConflict,
)
from services.case.codec import from_primitive, to_primitive
from services.case.domain.audit import AuditDraft, AuditEntry, seal
from services.case.domain.case import Case
from services.case.domain.events import Event
from services.case.domain.movements import LedgerEntry
from services.case.domain.person import Person
from services.case.domain.ports import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, CaseFilter, CasePage, PseudonymTaken
from services.case.domain.retention import FIGURE_KEYS, figures
from services.case.domain.vocabulary import CaseStatus
from services.case.domain.zielgruppen import DEFAULT_CATALOGUE, ZielgruppenCatalogue

#: The adapter's messages, so that tests asserting on them hold for both.
CONFLICT = "Der Fall wurde inzwischen von anderer Stelle geändert; bitte neu laden."
CASE_NOT_FOUND = "Fall nicht gefunden."
PERSON_ERASED = "Die Personendaten dieses Falls wurden gelöscht."
EXISTS = "Der Datensatz existiert bereits."
UNDECIDED = (CaseStatus.PROPOSED, CaseStatus.IN_REVIEW, CaseStatus.DEFERRED)


@dataclass
class Change:
    """One written version of a case: its events (the outbox) and the event id that caused it."""

    version: int
    cause: str = ""
    outbox: list[Event] = field(default_factory=list)
    #: Set on the change `delete` leaves: the case is gone, only its erase request waits.
    erased: bool = False


@dataclass
class Stored:
    """The case at its newest version, as the adapter's case document holds it."""

    state: dict[str, Any]
    person: dict[str, Any] | None
    version: int


class InMemoryCaseRepository:
    """`CaseRepository` in memory (see the module docstring). `node_id` as the adapter's."""

    def __init__(self, node_id: str = "fake-node") -> None:
        self.node_id = node_id
        self._cases: dict[str, Stored] = {}  # in insertion order, as a collection scan returns
        self._changes: dict[str, dict[int, Change]] = {}
        self._audit: list[AuditEntry] = []
        self._catalogues: dict[int, ZielgruppenCatalogue] = {}
        self._ledger: list[LedgerEntry] = []

    # -- cases -------------------------------------------------------------------------------

    def add(self, case: Case, person: Person) -> None:
        # As the adapter tells a refused insert apart: the pseudonym first, then the id.
        if any(s.state["pseudonym"] == case.pseudonym for s in self._cases.values()):
            raise PseudonymTaken(case.pseudonym)
        if case.case_id in self._cases:
            raise AlreadyExists(EXISTS)
        self._write(case, 1, person=_stored(person))

    def get(self, case_id: str) -> Case:
        stored = self._stored(case_id)
        case = from_primitive(Case, stored.state)
        case.version = stored.version
        return case

    def get_by_pseudonym(self, pseudonym: str) -> Case:
        for case_id, stored in self._cases.items():
            if stored.state["pseudonym"] == pseudonym:
                return self.get(case_id)
        raise NotFound(CASE_NOT_FOUND)

    def get_person(self, case_id: str) -> Person:
        stored = self._stored(case_id)
        if not stored.person:
            raise FailedPrecondition(PERSON_ERASED)
        return from_primitive(Person, stored.person)

    def save(self, case: Case, person: Person | None = None, *, cause: str = "") -> None:
        self._write(case, case.version + 1, cause=cause,
                    person=None if person is None else _stored(person))

    def applied(self, cause: str) -> bool:
        return bool(cause) and any(change.cause == cause for changes in self._changes.values()
                                   for change in changes.values())

    # -- retention ---------------------------------------------------------------------------

    def erase_person(self, case: Case) -> None:
        version = case.version + 1
        unsent = self._unsent_before(case.case_id, version)
        self._write(case, version, person={}, carried=unsent)
        self._changes[case.case_id] = {version: self._changes[case.case_id][version]}

    def delete(self, case: Case) -> None:
        version = case.version + 1
        changes = self._changes.get(case.case_id, {})
        if version in changes:
            raise FailedPrecondition(CONFLICT)
        outbox = [*case.pending_events, *self._unsent_before(case.case_id, version)]
        self._changes[case.case_id] = {version: Change(version, outbox=outbox, erased=True)}
        case.collect_events()
        case.version = version
        self._cases.pop(case.case_id, None)

    def forget_erased(self) -> int:
        gone = 0
        for case_id, changes in list(self._changes.items()):
            for version, change in list(changes.items()):
                if change.erased and not change.outbox:
                    del changes[version]
                    gone += 1
            if not changes:
                del self._changes[case_id]
        return gone

    def closed_before(self, moment: datetime) -> list[str]:
        return [case_id for case_id, stored in self._cases.items()
                if stored.state["status"] == CaseStatus.CLOSED.value and stored.person
                and _aware(stored.state["updated_at"]) <= moment]

    def undecided_checked_before(self, version: int) -> list[str]:
        return [case_id for case_id, stored in self._cases.items()
                if stored.state["status"] in {s.value for s in UNDECIDED}
                and stored.state["eligibility"]["catalogue_version"] < version]

    # -- lists and figures -------------------------------------------------------------------

    def figures(self) -> dict[str, dict[str, int]]:
        counts: dict[str, dict[str, int]] = {"status": {}, "zielgruppe": {}}
        totals = dict.fromkeys(FIGURE_KEYS, 0)
        for case_id in list(self._cases):  # a copy: writers of other threads may add meanwhile
            case = self.get(case_id)
            for name, value in (("status", case.status.value), ("zielgruppe", case.eligibility.primary)):
                counts[name][value] = counts[name].get(value, 0) + 1
            for key, number in figures(case).items():
                totals[key] += number
        return {"status": dict(sorted(counts["status"].items())),
                "zielgruppe": dict(sorted(counts["zielgruppe"].items())), "totals": totals}

    def fold_read_models(self) -> int:
        """Nothing to fold: the fake computes lists and figures from its cases on every read,
        which is what the adapter's maintained read models answer."""
        return 0

    def record_ledger(self, entries: Sequence[LedgerEntry]) -> None:
        self._ledger.extend(entries)

    def ledger(self, until: date) -> list[LedgerEntry]:
        return [entry for entry in self._ledger if entry.day <= until]

    def list_cases(self, query: CaseFilter, page_size: int, page_token: str) -> CasePage:
        size = DEFAULT_PAGE_SIZE if page_size == 0 else page_size
        if not 1 <= size <= MAX_PAGE_SIZE:
            raise InvalidArgument([FieldViolation(
                "page_size", f"Seitengröße zwischen 1 und {MAX_PAGE_SIZE} angeben.")])
        after = _decode_token(page_token) if page_token else None
        cases = sorted((self.get(case_id) for case_id in list(self._cases)),
                       key=lambda case: (case.created_at, case.case_id))
        shown = [case for case in cases if _matches(case, query)
                 and (after is None or (case.created_at, case.case_id) > after)]
        page = shown[:size]
        items = [(case, self.get_person(case.case_id) if self._cases[case.case_id].person else None)
                 for case in page]
        more = len(shown) > size
        return CasePage(items, _encode_token(page[-1].created_at, page[-1].case_id) if more else "")

    # -- audit trail -------------------------------------------------------------------------

    def append_audit(self, draft: AuditDraft) -> AuditEntry:
        entry = seal(draft, self._audit[-1] if self._audit else None)
        self._audit.append(entry)
        return entry

    def append_audits(self, drafts: Sequence[AuditDraft]) -> list[AuditEntry]:
        return [self.append_audit(draft) for draft in drafts]

    def audit_entries(self, case_id: str = "", after_sequence: int = 0,
                      limit: int = 100) -> list[AuditEntry]:
        entries = [e for e in self._audit
                   if e.sequence > after_sequence and (not case_id or e.case_id == case_id)]
        return entries[:limit] if limit else entries  # limit 0: no limit, as MongoDB's

    # -- Zielgruppen -------------------------------------------------------------------------

    def current_catalogue(self) -> ZielgruppenCatalogue:
        if not self._catalogues:
            return DEFAULT_CATALOGUE
        return self._catalogues[max(self._catalogues)]

    def store_catalogue(self, catalogue: ZielgruppenCatalogue) -> bool:
        if catalogue.version in self._catalogues:
            return False
        self._catalogues[catalogue.version] = from_primitive(ZielgruppenCatalogue,
                                                             to_primitive(catalogue))
        return True

    # -- what the adapter's relay and its collections show ------------------------------------

    def unsent(self, case_id: str = "") -> list[Event]:
        """The recorded events not sent yet (of one case, if given), oldest write first."""
        return [event for cid, changes in self._changes.items() if not case_id or cid == case_id
                for _, change in sorted(changes.items()) for event in change.outbox]

    def send(self) -> list[Event]:
        """The relay: every recorded event, oldest write first; the outboxes are empty after."""
        sent = self.unsent()
        for changes in self._changes.values():
            for change in changes.values():
                change.outbox = []
        return sent

    def versions(self, case_id: str) -> list[int]:
        """The versions of the case whose changes are kept."""
        return sorted(self._changes.get(case_id, {}))

    # -- internals ---------------------------------------------------------------------------

    def _stored(self, case_id: str) -> Stored:
        stored = self._cases.get(case_id)
        if stored is None:
            raise NotFound(CASE_NOT_FOUND)
        return stored

    def _write(self, case: Case, version: int, *, cause: str = "",
               person: dict[str, Any] | None = None, carried: Sequence[Event] = ()) -> None:
        """The change at `version` with the case's pending events; then the case as stored.
        `person` None keeps the stored person, {} erases it."""
        changes = self._changes.setdefault(case.case_id, {})
        if version in changes:
            if version == 1:
                raise AlreadyExists(EXISTS)
            raise VersionConflict(CONFLICT)
        # The adapter records the write's own events first, then those it carries over.
        changes[version] = Change(version, cause, [*case.pending_events, *carried])
        state = _stored(case)
        state["version"] = version
        previous = self._cases.get(case.case_id)
        kept = previous.person if previous is not None else None
        self._cases[case.case_id] = Stored(state, kept if person is None else person, version)
        case.collect_events()
        case.version = version

    def _unsent_before(self, case_id: str, version: int) -> list[Event]:
        return [event for v, change in sorted(self._changes.get(case_id, {}).items()) if v < version
                for event in change.outbox]


def _matches(case: Case, query: CaseFilter) -> bool:
    if query.organization != case.owner_org and query.organization not in case.access_orgs:
        return False
    if query.statuses and case.status not in query.statuses:
        return False
    if query.zielgruppe and case.eligibility.primary != query.zielgruppe:
        return False
    if query.case_manager and case.case_manager != query.case_manager:
        return False
    if query.review_due_by is not None:
        return (case.status is CaseStatus.ACTIVE and case.next_review_due is not None
                and case.next_review_due <= query.review_due_by)
    return True


def _stored(value: Any) -> Any:
    """The stored form (the codec's), with timestamps cut to milliseconds as BSON keeps them."""
    return _milliseconds(to_primitive(value))


def _milliseconds(value: Any) -> Any:
    if isinstance(value, datetime):
        return _aware(value).replace(microsecond=value.microsecond // 1000 * 1000)
    if isinstance(value, dict):
        return {k: _milliseconds(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_milliseconds(v) for v in value]
    return value


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _encode_token(created_at: datetime, case_id: str) -> str:
    raw = json.dumps([_aware(created_at).isoformat(), case_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_token(token: str) -> tuple[datetime, str]:
    try:
        created_at, case_id = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        return _aware(datetime.fromisoformat(created_at)), str(case_id)
    except (ValueError, TypeError, binascii.Error) as error:
        raise InvalidArgument([FieldViolation("page_token", "Ungültiges Seiten-Token.")]) from error
