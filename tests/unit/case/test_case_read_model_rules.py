"""The rules of the read models (services/case/domain/read_models.py): which lists a case
stands in, what it counts, which lists answer a filter and whether a case belongs on it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

from services.case.domain.ports import CaseFilter
from services.case.domain.read_models import (
    Figures,
    listed,
    manager_list,
    matches,
    moment_text,
    org_list,
    plan,
    sort_key,
)
from services.case.domain.vocabulary import CaseStatus

CREATED = datetime(2026, 3, 4, 11, 0, 0, 123456, tzinfo=UTC)


def fields(**overrides: object) -> dict[str, object]:
    return {"owner_org": "caritas", "access_orgs": ["kreis"], "status": "active", "zielgruppe": "umf",
            "case_manager": "cm-anna", "created_at": CREATED, "figures": {"goals": 2, "closed": 0},
            "next_review_due": "2026-06-01", **overrides}


def test_positions_sort_as_creation_time_then_case_id_in_utc_milliseconds() -> None:
    assert moment_text(CREATED) == "2026-03-04T11:00:00.123"
    assert moment_text(CREATED.replace(tzinfo=None)) == "2026-03-04T11:00:00.123", "naive is UTC"
    assert moment_text(CREATED.astimezone(timezone(timedelta(hours=1)))) == "2026-03-04T11:00:00.123"
    later = CREATED + timedelta(milliseconds=1)
    assert sort_key(CREATED, "b") < sort_key(CREATED, "c") < sort_key(later, "a")


def test_a_case_stands_in_the_lists_of_every_organisation_that_sees_it() -> None:
    case = listed("case-1", 3, fields())
    assert case.lists == {
        org_list(o) for o in ("caritas", "kreis")} | {org_list(o, "active") for o in ("caritas", "kreis")} | {
        manager_list(o, "cm-anna") for o in ("caritas", "kreis")} | {
        manager_list(o, "cm-anna", "active") for o in ("caritas", "kreis")}
    assert listed("case-1", 3, fields(case_manager="")).lists == {
        org_list("caritas"), org_list("caritas", "active"), org_list("kreis"), org_list("kreis", "active")}


def test_a_deleted_case_stands_nowhere_and_counts_nothing() -> None:
    gone = listed("case-1", 4, {"erased": True, "version": 4})
    assert not gone.counted and gone.lists == frozenset()
    figures = Figures.empty(("goals",))
    figures.move(None, listed("case-1", 3, fields()))
    figures.move(listed("case-1", 3, fields()), gone)
    assert figures.shown() == {"status": {}, "zielgruppe": {}, "totals": {"goals": 0}}


def test_figures_move_a_case_from_its_counted_version_to_the_new_one() -> None:
    figures = Figures.empty(("goals", "closed"))
    figures.move(None, listed("a", 1, fields()))
    figures.move(None, listed("b", 1, fields(zielgruppe="")))
    closed = fields(status="closed", figures={"goals": 2, "closed": 1})
    figures.move(listed("a", 1, fields()), listed("a", 2, closed))
    assert figures.shown() == {"status": {"active": 1, "closed": 1}, "zielgruppe": {"": 1, "umf": 1},
                               "totals": {"goals": 4, "closed": 1}}


def test_a_filter_reads_the_lists_of_its_statuses_and_its_case_manager() -> None:
    assert plan(CaseFilter("caritas")).lists == (org_list("caritas"),)
    proposals = plan(CaseFilter("kreis", statuses=(CaseStatus.PROPOSED, CaseStatus.IN_REVIEW)))
    assert proposals.lists == (org_list("kreis", "proposed"), org_list("kreis", "in_review"))
    assert proposals.exact
    assert plan(CaseFilter("caritas", case_manager="cm-anna")).lists == (manager_list("caritas", "cm-anna"),)
    due = plan(CaseFilter("caritas", review_due_by=date(2026, 6, 1), case_manager="cm-anna"))
    assert due.lists == (manager_list("caritas", "cm-anna", "active"),) and not due.exact
    closed_and_due = CaseFilter("caritas", statuses=(CaseStatus.CLOSED,), review_due_by=date(2026, 6, 1))
    assert plan(closed_and_due).lists == ()
    assert not plan(CaseFilter("caritas", zielgruppe="umf")).exact


def test_a_case_belongs_on_a_list_only_if_it_meets_the_whole_filter() -> None:
    stored = fields()
    assert matches(CaseFilter("kreis"), stored) and not matches(CaseFilter("awo"), stored)
    assert matches(CaseFilter("caritas", statuses=(CaseStatus.ACTIVE,)), stored)
    assert not matches(CaseFilter("caritas", statuses=(CaseStatus.CLOSED,)), stored)
    assert not matches(CaseFilter("caritas", zielgruppe="ueber_27"), stored)
    assert not matches(CaseFilter("caritas", case_manager="cm-jonas"), stored)
    assert matches(CaseFilter("caritas", review_due_by=date(2026, 6, 1)), stored)
    assert not matches(CaseFilter("caritas", review_due_by=date(2026, 5, 31)), stored)
    assert not matches(CaseFilter("caritas", review_due_by=date(2026, 6, 1)), fields(next_review_due=None))
    assert not matches(CaseFilter("caritas", review_due_by=date(2026, 6, 1)), fields(status="planning"))
