"""Small-number suppression of the local monitoring figures (domain/monitoring.py)."""

from __future__ import annotations

from services.case.domain.monitoring import SMALL, Visibility, mean_duration, monitoring_figures, suppress

V = Visibility


def shown(table: object) -> dict[str, str]:
    return {c.key: c.shown for c in table.cells}  # type: ignore[attr-defined]


def test_counts_of_five_and_more_are_shown_exactly() -> None:
    table = suppress([("a", "A", 5), ("b", "B", 12)])
    assert [(c.visibility, c.count) for c in table.cells] == [(V.SHOWN, 5), (V.SHOWN, 12)]
    assert (table.total.visibility, table.total.count) == (V.SHOWN, 17)


def test_a_count_below_five_is_suppressed_and_never_given() -> None:
    for small in range(SMALL):
        table = suppress([("a", "A", small), ("b", "B", 7), ("c", "C", 9), ("d", "D", 6)])
        cell = table.cells[0]
        assert (cell.visibility, cell.count, cell.shown) == (V.SUPPRESSED, None, "< 5")


def test_a_single_suppressed_cell_withholds_the_next_smallest_so_the_total_reveals_nothing() -> None:
    table = suppress([("a", "A", 2), ("b", "B", 7), ("c", "C", 9), ("d", "D", 6)])
    assert shown(table) == {"a": "< 5", "b": "7", "c": "9", "d": "x"}
    assert table.cells[3].count is None and table.total.count == 24
    # 24 - 7 - 9 = 8 is all one learns: a and d together, not either of them.


def test_two_suppressed_cells_need_no_secondary_suppression() -> None:
    table = suppress([("a", "A", 1), ("b", "B", 3), ("c", "C", 9)])
    assert shown(table) == {"a": "< 5", "b": "< 5", "c": "9"}


def test_a_small_total_is_suppressed_itself() -> None:
    table = suppress([("a", "A", 3), ("b", "B", 0)])
    assert (table.total.visibility, table.total.count) == (V.SUPPRESSED, None)
    assert shown(table) == {"a": "< 5", "b": "< 5"}


def test_a_mean_duration_over_fewer_than_five_cases_is_suppressed() -> None:
    assert mean_duration(40, 4) == mean_duration(0, 0)
    assert mean_duration(40, 4).visibility is V.SUPPRESSED and mean_duration(40, 4).mean_days is None
    assert (mean_duration(53, 5).visibility, mean_duration(53, 5).mean_days) == (V.SHOWN, 10.6)


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
    assert shown(figures.by_zielgruppe) == {"umf": "6", "suedosteuropa": "< 5", "alte_gruppe": "< 5",
                                            "": "< 5"}
    assert shown(figures.by_handlungsfeld)["sprache"] == "8"
    assert shown(figures.by_barrier_category)["wartezeit"] == "5"
    assert shown(figures.by_goal_outcome) == {"achieved": "< 5", "partially_achieved": "< 5",
                                              "not_achieved": "< 5"}
    assert figures.days_to_decision.mean_days == 10.0
    assert figures.days_open.visibility is V.SUPPRESSED
    assert "unter 5" in figures.note
