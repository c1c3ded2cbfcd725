"""Small-number suppression of the local monitoring figures (domain/monitoring.py, with the
federation's rule of kimnetz/disclosure.py, which tests/unit/test_disclosure.py proves)."""

from __future__ import annotations

from services.case.domain.monitoring import SMALL, Visibility, mean_duration, monitoring_figures, suppress

V = Visibility


def shown(table: object) -> dict[str, str]:
    return {c.key: c.shown for c in table.cells}  # type: ignore[attr-defined]


def test_counts_of_five_and_more_are_shown_exactly() -> None:
    table = suppress([("a", "A", 5), ("b", "B", 12)])
    assert [(c.visibility, c.count) for c in table.cells] == [(V.SHOWN, 5), (V.SHOWN, 12)]
    assert (table.total.visibility, table.total.count) == (V.SHOWN, 17)


def test_a_count_below_five_is_suppressed_and_never_given_but_a_zero_is_shown() -> None:
    for small in range(1, SMALL):
        table = suppress([("a", "A", small), ("b", "B", 7), ("c", "C", 9), ("d", "D", 6)])
        cell = table.cells[0]
        assert (cell.visibility, cell.count, cell.shown) == (V.SUPPRESSED, None, "< 5")
    zero = suppress([("a", "A", 0), ("b", "B", 7)]).cells[0]
    assert (zero.visibility, zero.count, zero.shown) == (V.SHOWN, 0, "0")


def test_a_suppressed_cell_withholds_the_total_and_the_largest_cell() -> None:
    table = suppress([("a", "A", 2), ("b", "B", 7), ("c", "C", 9), ("d", "D", 6)])
    assert shown(table) == {"a": "< 5", "b": "7", "c": "x", "d": "6"}
    assert table.cells[2].count is None
    assert (table.total.visibility, table.total.count, table.total.shown) == (V.WITHHELD, None, "x")


def test_two_suppressed_cells_are_not_left_to_the_total_either() -> None:
    """Before, 1 and 3 beside a 9 and the total 13 said "4 persons in a and b together"."""
    table = suppress([("a", "A", 1), ("b", "B", 3), ("c", "C", 9)])
    assert shown(table) == {"a": "< 5", "b": "< 5", "c": "x"} and table.total.shown == "x"


def test_a_small_total_is_suppressed_itself() -> None:
    table = suppress([("a", "A", 3), ("b", "B", 0)])
    assert (table.total.visibility, table.total.count) == (V.SUPPRESSED, None)
    assert shown(table) == {"a": "< 5", "b": "< 5"}


def test_a_mean_duration_over_fewer_than_five_cases_is_suppressed_and_otherwise_rounded() -> None:
    assert mean_duration(40, 4) == mean_duration(0, 0)
    assert mean_duration(40, 4).visibility is V.SUPPRESSED and mean_duration(40, 4).mean_days is None
    assert (mean_duration(53, 5).visibility, mean_duration(53, 5).mean_days) == (V.SHOWN, 14.0)
    assert mean_duration(5 * 47, 5).mean_days == 49.0


def test_one_more_closed_case_does_not_give_its_duration_away() -> None:
    """Two calls around one closure (5 cases, 40 days on average, then a sixth of 140 days): the
    exact means 40.0 and 56.7 gave 6 * 56.7 - 5 * 40 = 140; with the rounded ones (to a week) every sum of
    days that fits the first call, plus a duration, fits the second for a wide range of them."""
    before, after = mean_duration(5 * 40, 5), mean_duration(5 * 40 + 140, 6)
    sums = [total for total in range(0, 2000) if mean_duration(total, 5) == before]
    possible = {d for d in range(0, 1000) for total in sums if mean_duration(total + d, 6) == after}
    assert 140 in possible and max(possible) - min(possible) > 60, sorted(possible)


def test_status_zielgruppe_and_handlungsfeld_withhold_together() -> None:
    """They count the same cases: a small cell in one withholds the total in all three."""
    raw = {"status": {"proposed": 20, "active": 10},
           "zielgruppe": {"umf": 27, "": 3},
           "totals": {"handlungsfeld_sprache": 30, "handlungsfeld_arbeit": 12}}
    figures = monitoring_figures(raw, {"umf": "UMF"})
    assert figures.by_zielgruppe.total.shown == figures.by_status.total.shown == "x"
    assert figures.by_handlungsfeld.total.shown == "x"
    assert shown(figures.by_status)["proposed"] == "x" and shown(figures.by_status)["active"] == "10"


def test_figures_list_every_status_category_outcome_and_zielgruppe_also_without_cases() -> None:
    raw = {"status": {"proposed": 6, "closed": 2},
           "zielgruppe": {"umf": 6, "": 1, "alte_gruppe": 1},
           "totals": {"handlungsfeld_sprache": 8, "barrier_wartezeit": 5, "goal_achieved": 3,
                      "decided": 5, "days_to_decision": 50, "closed": 2, "days_open": 300}}
    figures = monitoring_figures(raw, {"umf": "Unbegleitete minderjährige Geflüchtete",
                                       "suedosteuropa": "Zugewanderte aus Süd-Ost-Europa"})
    assert len(figures.by_status.cells) == 10
    assert [(c.key, c.label) for c in figures.by_zielgruppe.cells] == [
        ("umf", "Unbegleitete minderjährige Geflüchtete"),
        ("suedosteuropa", "Zugewanderte aus Süd-Ost-Europa"),
        ("alte_gruppe", "alte_gruppe"), ("", "keine Zielgruppe")]
    assert shown(figures.by_zielgruppe) == {"umf": "x", "suedosteuropa": "0", "alte_gruppe": "< 5",
                                            "": "< 5"}
    assert shown(figures.by_handlungsfeld)["sprache"] == "x"  # the status table has a small cell
    assert shown(figures.by_barrier_category)["wartezeit"] == "5"
    assert shown(figures.by_goal_outcome) == {"achieved": "< 5", "partially_achieved": "< 5",
                                              "not_achieved": "< 5"}
    assert figures.days_to_decision.mean_days == 7.0  # 50 days over 5 cases: 10, to the week
    assert figures.days_open.visibility is V.SUPPRESSED
    assert "„< 5“" in figures.note
