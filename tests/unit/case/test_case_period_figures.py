"""Monitoring per reporting period (issue 14): the figures ledger's period arithmetic
(services/case/domain/movements.py), its suppression (period_figures.py), and the service layer
counting as the changes happen (on the in-memory fake): movements in a period, the stock at its
end, the Aufnahmen's breakdowns, and an Abschluss that still counts after the Löschfrist erased
its case.
"""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from kimnetz.errors import InvalidArgument
from services.case.composition import case_services
from services.case.domain import commands as c
from services.case.domain.movements import (
    CLOSED,
    MOVEMENT,
    REFERRED,
    STATUS,
    LedgerEntry,
    Period,
    age_band,
    entries,
    origin_region,
    period_counts,
)
from services.case.domain.period_figures import period_figures
from services.case.domain.vocabulary import CaseStatus
from services.case.settings import RetentionMode
from tests.support.fakes.case import InMemoryCaseRepository

sys.path.insert(0, str(Path(__file__).resolve().parent))
from case_factories import OWNER, birth_date_for_age, make_actor, make_person_data, make_proposal

# -- the period ----------------------------------------------------------------------------------


def test_a_period_without_days_is_the_year_up_to_today() -> None:
    assert Period.of(None, None, today=date(2026, 5, 12)) == Period(date(2026, 1, 1), date(2026, 5, 12))
    assert Period.of(None, date(2025, 12, 31), today=date(2026, 5, 12)) == Period(date(2025, 1, 1),
                                                                                  date(2025, 12, 31))
    assert date(2026, 3, 31) in Period(date(2026, 1, 1), date(2026, 3, 31))
    assert date(2026, 4, 1) not in Period(date(2026, 1, 1), date(2026, 3, 31))


def test_a_period_ending_before_it_begins_is_refused_in_german() -> None:
    with pytest.raises(InvalidArgument) as raised:
        Period.of(date(2026, 4, 1), date(2026, 3, 31), today=date(2026, 5, 12))
    assert raised.value.violations[0].field == "period_to"
    assert "vor seinem Beginn" in raised.value.violations[0].description


@pytest.mark.parametrize(("age", "band"), [(0, "under_18"), (17, "under_18"), (18, "18_27"), (27, "18_27"),
                                           (28, "28_39"), (39, "28_39"), (40, "40_64"), (65, "65_plus")])
def test_age_bands_change_where_the_programmes_do(age: int, band: str) -> None:
    # JMD and Durchstarten up to 27, MBE "über 27" (RBK seed): 27 and 28 are in different bands.
    assert age_band(age) == band


def test_origin_regions_follow_the_hilden_list_for_sued_ost_europa() -> None:
    assert origin_region("XK") == "suedosteuropa"
    assert origin_region("md") == "suedosteuropa"
    assert origin_region("SY") == "naher_mittlerer_osten"
    assert origin_region("FR") == "sonstige"
    assert origin_region("") == "unknown"


# -- entries and their arithmetic ----------------------------------------------------------------


def test_a_status_change_moves_one_case_between_statuses() -> None:
    day = date(2026, 2, 1)
    assert entries(CaseStatus.IN_REVIEW, CaseStatus.IN_REVIEW, [], day) == []
    assert entries(CaseStatus.IN_REVIEW, CaseStatus.DEFERRED, [], day) == [
        LedgerEntry(day, STATUS, "in_review", -1), LedgerEntry(day, STATUS, "deferred", 1)]


days = st.dates(min_value=date(2025, 1, 1), max_value=date(2027, 12, 31))
ledger_entries = st.lists(st.builds(
    LedgerEntry, day=days, table=st.sampled_from([STATUS, MOVEMENT, REFERRED, CLOSED, "admitted_age_band"]),
    key=st.sampled_from(["a", "b", "c"]), delta=st.sampled_from([1, -1])), max_size=60)


@settings(max_examples=200, deadline=None)
@given(ledger_entries, days, st.integers(min_value=0, max_value=400), st.integers(min_value=1, max_value=400))
def test_adjacent_periods_add_up_to_their_union(ledger: list[LedgerEntry], start: date, first: int,
                                                second: int) -> None:
    """Movements of two adjacent periods sum to those of their union (four quarters give the
    year), and the stock at the end of the second is the first's plus the second's changes."""
    p1 = Period(start, start + timedelta(days=first))
    p2 = Period(p1.end + timedelta(days=1), p1.end + timedelta(days=second))
    union = Period(p1.start, p2.end)
    a, b, both = (period_counts(ledger, p) for p in (p1, p2, union))
    for name in ("movements", "referred", "closed"):
        left, right, whole = getattr(a, name), getattr(b, name), getattr(both, name)
        for key in set(left) | set(right) | set(whole):
            assert left.get(key, 0) + right.get(key, 0) == whole.get(key, 0)
    for key in set(a.stock) | set(b.stock):
        changed = sum(e.delta for e in ledger if e.table == STATUS and e.key == key and e.day in p2)
        assert b.stock.get(key, 0) == a.stock.get(key, 0) + changed
    assert both.stock == b.stock


# -- the service layer -------------------------------------------------------------------------------

COORD = make_actor(("coordinator",), OWNER, "koord-hilden")
CM = make_actor(("case_manager",), OWNER, "cm-anna")


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 1, 15, 10, 0, tzinfo=UTC)

    def on(self, day: date) -> None:
        self.now = datetime(day.year, day.month, day.day, 10, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


def _cell(table: object, key: str) -> str:
    return next(cell.shown for cell in table.cells if cell.key == key)  # type: ignore[attr-defined]


def test_the_period_counts_movements_the_stock_at_its_end_and_closings_after_retention() -> None:
    cases = InMemoryCaseRepository("hilden-node")
    clock = Clock()
    service = case_services(cases, node_org=OWNER, clock=clock)
    ages = [19, 25, 27, 30, 45, 33, 50]
    ids = []
    clock.on(date(2026, 1, 15))
    for i, age in enumerate(ages):  # proposed to the own koordinierende Stelle: no consent needed
        person = make_person_data(birth_date=birth_date_for_age(age, on=date(2026, 2, 10)),
                                  gender="weiblich" if i % 2 else "maennlich",
                                  home_kommune_key="05158016" if i < 5 else "05158020",
                                  home_kommune_name="Hilden" if i < 5 else "Langenfeld")
        route = "frauenberatungsstelle" if i % 2 else "jobcenter"
        case = service.fallvorschlaege.propose_case(
            CM, make_proposal(person, coordination_org=OWNER, access_route=route))
        service.fallvorschlaege.submit_for_review(CM, c.SubmitForReview(case.case_id))
        ids.append(case.case_id)
    clock.on(date(2026, 2, 10))
    for case_id in ids[:6]:
        service.fallvorschlaege.admit_case(COORD, c.AdmitCase(case_id, "cm-anna", OWNER))
    service.fallvorschlaege.refer_case(COORD, c.ReferCase(ids[6], "mbe"))
    clock.on(date(2026, 4, 20))
    for case_id in ids[:2]:
        service.fallarbeit.close_case(CM, c.CloseCase(case_id, "moved_away"))

    _, _, q1 = service.verbund.get_figures(COORD, date(2026, 1, 1), date(2026, 3, 31))
    # One Verweisberatung: "< 5", its target too; the movement table withholds its total and
    # its largest cell (7 proposals), and the Aufnahmen (6), whose breakdowns hide small cells
    # and so their totals: the table would otherwise give them back (secondary suppression).
    assert [cell.shown for cell in q1.movements.cells] == ["x", "x", "< 5", "0", "0", "0", "0"]
    assert q1.movements.total.shown == "x"
    assert _cell(q1.referred_by_target, "mbe") == "< 5"
    # Aufnahmen by age on the day of the Aufnahme: 19, 25, 27 | 30, 45, 33 -> 3, 2, 1.
    by_age = next(b.table for b in q1.admitted if b.dimension == "age_band")
    assert [_cell(by_age, k) for k in ("under_18", "18_27", "28_39", "40_64")] == ["0", "x", "< 5", "< 5"]
    by_kommune = next(b.table for b in q1.admitted if b.dimension == "kommune")
    assert [(cell.key, cell.label) for cell in by_kommune.cells] == [
        ("unknown", "Wohnort nicht erfasst"), ("05158016", "Hilden"), ("05158020", "Langenfeld")]
    assert by_age.total.shown == "x"
    # The stock on 31.03.: 6 admitted (withheld beside the one referred), 1 referred.
    assert _cell(q1.stock_by_status, "referred") == "< 5"
    assert _cell(q1.stock_by_status, "admitted") == "x"
    assert _cell(q1.stock_by_status, "closed") == "0"

    # The year: the same movements plus two closings in April, the stock at its end.
    counts = period_counts(cases.ledger(date(2026, 12, 31)), Period(date(2026, 1, 1), date(2026, 12, 31)))
    assert counts.movements == {"proposed": 7, "admitted": 6, "referred": 1, "closed": 2}
    assert counts.closed == {"moved_away": 2}
    assert counts.stock == {"proposed": 0, "in_review": 0, "admitted": 4, "referred": 1, "closed": 2}
    assert counts.admitted["age_band"] == {"18_27": 3, "28_39": 2, "40_64": 1}
    assert counts.admitted["residence"] == {"duldung": 6}
    assert counts.admitted["kommune"] == {"05158016": 5, "05158020": 1}
    assert counts.admitted["gender"] == {"maennlich": 3, "weiblich": 3}
    assert counts.admitted["access_route"] == {"jobcenter": 3, "frauenberatungsstelle": 3}
    assert counts.in_case_management == 4

    # The Löschfrist erases the closed cases; their Abschluss still counts in the year.
    clock.on(date(2030, 1, 1))
    erased = service.datenschutz.apply_retention(timedelta(days=365), RetentionMode.DELETE)
    assert sorted(erased) == sorted(ids[:2])
    after = period_counts(cases.ledger(date(2026, 12, 31)), Period(date(2026, 1, 1), date(2026, 12, 31)))
    assert after == counts
    _, _, year = service.verbund.get_figures(COORD, date(2026, 1, 1), date(2026, 12, 31))
    assert _cell(year.closed_by_reason, "moved_away") == "< 5"


def test_the_period_figures_list_every_row_and_withhold_together() -> None:
    counts = period_counts([], Period(date(2026, 1, 1), date(2026, 3, 31)))
    figures = period_figures(counts, {"umf": "Unbegleitete minderjährige Geflüchtete"})
    assert [cell.shown for cell in figures.movements.cells] == ["0"] * 7
    zielgruppe = next(b.table for b in figures.admitted if b.dimension == "zielgruppe")
    assert [cell.label for cell in zielgruppe.cells] == ["Unbegleitete minderjährige Geflüchtete",
                                                         "keine Zielgruppe"]
    assert "Tag der Aufnahme" in figures.note
