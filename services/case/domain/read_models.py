"""The rules of the case service's read models: which lists a case stands in, what it adds to
the figures, and which lists answer a `CaseFilter` (pure; the adapter is
services/case/read_models.py, the design docs/case.md "Lists and figures").

Why read models: on FerretDB 1.24 (SQLite) only an equality on a bare string `_id` is answered
without reading the whole collection (docs/decisions.md), so a list page or the figures computed
from the `cases` collection cost time in proportion to every case the node ever held. The read
models are documents found by `_id` and kept up to date from each write of a case.

A case stands in these lists, for every organisation that may see it (owner and access list):

- `org`: all its cases, and one list per status (the coordinator's list, the proposals
  awaiting a Fallkonferenz, the open cases the reminders walk);
- `manager`: the case manager's cases ("Meine Fälle"), all and per status.

A list is ordered as ListCases orders: by creation time, then case id (`sort_key`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from services.case.domain.ports import CaseFilter
from services.case.domain.vocabulary import CaseStatus

#: The list of all statuses (a list key's status part).
ALL = "*"

#: A position in a list: the creation time as UTC text with milliseconds (as BSON keeps it; the
#: text sorts as the time does) and the case id.
SortKey = tuple[str, str]


def moment_text(moment: datetime) -> str:
    """`moment` as sortable UTC text with milliseconds (naive times are UTC, as stored)."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]


def sort_key(created_at: datetime | str, case_id: str) -> SortKey:
    if isinstance(created_at, str):
        created_at = datetime.fromisoformat(created_at)
    return moment_text(created_at), case_id


def org_list(organization: str, status: str = ALL) -> str:
    return json.dumps(["org", organization, status])


def manager_list(organization: str, case_manager: str, status: str = ALL) -> str:
    return json.dumps(["manager", organization, case_manager, status])


@dataclass(frozen=True)
class Listed:
    """What the read models keep of one version of a case (from its stored fields)."""

    case_id: str
    version: int
    #: None: the case is gone (retention deleted it); it stands in no list, counts nowhere.
    position: SortKey | None
    lists: frozenset[str]
    status: str
    zielgruppe: str
    figures: Mapping[str, int]

    @property
    def counted(self) -> bool:
        return self.position is not None


def listed(case_id: str, version: int, fields: Mapping[str, Any] | None) -> Listed:
    """The read-model view of a case from its stored fields (the case document or a change's
    `fields`); None or an erased change's fields: the case is gone."""
    if not fields or "status" not in fields:
        return Listed(case_id, version, None, frozenset(), "", "", {})
    status = str(fields["status"])
    manager = str(fields.get("case_manager") or "")
    lists: set[str] = set()
    for organization in {str(fields["owner_org"]), *(str(o) for o in fields.get("access_orgs") or ())}:
        lists |= {org_list(organization), org_list(organization, status)}
        if manager:
            lists |= {manager_list(organization, manager), manager_list(organization, manager, status)}
    figures = {str(k): int(v) for k, v in (fields.get("figures") or {}).items()
               if isinstance(v, int | float)}
    return Listed(case_id, version, sort_key(fields["created_at"], case_id), frozenset(lists),
                  status, str(fields.get("zielgruppe") or ""), figures)


@dataclass
class Figures:
    """Counts by status and Zielgruppe and the sums of every case's figures (GetFigures)."""

    status: dict[str, int]
    zielgruppe: dict[str, int]
    totals: dict[str, int]

    @classmethod
    def empty(cls, keys: Iterable[str]) -> Figures:
        return cls({}, {}, dict.fromkeys(keys, 0))

    def add(self, case: Listed, sign: int) -> None:
        """Counts `case` in (sign 1) or out (sign -1); a gone case counts nowhere."""
        if not case.counted:
            return
        for counts, value in ((self.status, case.status), (self.zielgruppe, case.zielgruppe)):
            counts[value] = counts.get(value, 0) + sign
        for key, number in case.figures.items():
            if key in self.totals:
                self.totals[key] += sign * number

    def move(self, before: Listed | None, after: Listed) -> None:
        if before is not None:
            self.add(before, -1)
        self.add(after, 1)

    def shown(self) -> dict[str, dict[str, int]]:
        """As `CaseRepository.figures` answers: counts without zeros, sorted."""
        return {"status": dict(sorted((k, v) for k, v in self.status.items() if v)),
                "zielgruppe": dict(sorted((k, v) for k, v in self.zielgruppe.items() if v)),
                "totals": dict(self.totals)}

    def stored(self) -> dict[str, dict[str, int]]:
        return {"status": dict(self.status), "zielgruppe": dict(self.zielgruppe), "totals": dict(self.totals)}


@dataclass(frozen=True)
class Plan:
    """Which lists answer a filter: the page merges them in order; every case found is checked
    against the whole filter (`matches`), so a list may hold more than the filter (`exact`
    False: the zielgruppe and review filters are checked case by case, a scan of the list)."""

    lists: tuple[str, ...]
    exact: bool


def plan(query: CaseFilter) -> Plan:
    statuses = tuple(s.value for s in query.statuses)
    if query.review_due_by is not None:
        # Only active cases can be due; a status filter without "active" leaves nothing.
        statuses = (CaseStatus.ACTIVE.value,) if not statuses or CaseStatus.ACTIVE.value in statuses else ()
        if not statuses:
            return Plan((), True)
    if query.case_manager:
        lists = tuple(manager_list(query.organization, query.case_manager, s) for s in statuses) \
            or (manager_list(query.organization, query.case_manager),)
    else:
        lists = tuple(org_list(query.organization, s) for s in statuses) or (org_list(query.organization),)
    return Plan(tuple(dict.fromkeys(lists)), not query.zielgruppe and query.review_due_by is None)


def matches(query: CaseFilter, fields: Mapping[str, Any]) -> bool:
    """Whether a stored case (the case document's indexed copies) belongs on the list."""
    visible = {fields.get("owner_org"), *(fields.get("access_orgs") or ())}
    if query.organization not in visible:
        return False
    status = fields.get("status")
    if query.statuses and status not in {s.value for s in query.statuses}:
        return False
    if query.zielgruppe and (fields.get("zielgruppe") or "") != query.zielgruppe:
        return False
    if query.case_manager and (fields.get("case_manager") or "") != query.case_manager:
        return False
    if query.review_due_by is not None:
        due = fields.get("next_review_due")
        return status == CaseStatus.ACTIVE.value and bool(due) and str(due) <= _iso(query.review_due_by)
    return True


def _iso(day: date) -> str:
    return day.isoformat()
