"""Federation-wide figures from the nodes' suppressed figures (services/documents/domain/
federation.py): sums of what the nodes showed, every cell with a hidden part marked so that what
is printed stays true, totals from the nodes' totals, means weighted by cases, and the nodes named.

The property tests suppress random true counts with the case service's own rule
(services/case/domain/monitoring.suppress, the producer of the figures) and check that every
printed figure is true of the real sum and that no small number follows by subtraction."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import assume, given, settings, strategies as st

from services.case.domain import monitoring as case_monitoring
from services.documents.domain.federation import (
    AT_LEAST_NOTE,
    NOT_SHOWN_NOTE,
    SUPPRESSED_NOTE,
    CombinedFigures,
    MissingNode,
    NodeFigures,
    NodeSource,
    combine,
)
from services.documents.domain.figures import CaseFiguresRecord, FigureCell, FigureTable, MeanDuration

BERLIN_SUMMER = timezone(timedelta(hours=2))
READ_AT = datetime(2026, 5, 12, 9, 15, tzinfo=BERLIN_SUMMER)


def shown(key: str, count: int, label: str = "") -> FigureCell:
    return FigureCell(key, label or key, "shown", count)


def small(key: str, label: str = "") -> FigureCell:
    return FigureCell(key, label or key, "suppressed", None)


def withheld(key: str, label: str = "") -> FigureCell:
    return FigureCell(key, label or key, "withheld", None)


def table(*cells: FigureCell, total: FigureCell | None = None) -> FigureTable:
    if total is None:
        total = shown("total", sum(c.count or 0 for c in cells), "Summe")
    return FigureTable(tuple(cells), total)


EMPTY = table()


def record(**overrides: object) -> CaseFiguresRecord:
    fields: dict[str, object] = dict(
        by_status=EMPTY, by_zielgruppe=EMPTY, by_handlungsfeld=EMPTY, by_goal_outcome=EMPTY,
        by_barrier_category=EMPTY, days_to_decision=MeanDuration(None), days_open=MeanDuration(None),
        zielgruppen_version=2, suppression_note="")
    fields.update(overrides)
    return CaseFiguresRecord(**fields)  # type: ignore[arg-type]


def node(name: str, figures: CaseFiguresRecord, *, node_id: str = "",
         read_at: datetime = READ_AT) -> NodeFigures:
    return NodeFigures(NodeSource(node_id or name, name), figures, read_at)


def status(*cells: FigureCell, total: FigureCell | None = None) -> CaseFiguresRecord:
    return record(by_status=table(*cells, total=total))


def printed(figures: CombinedFigures) -> dict[str, str]:
    return {c.key: c.printed for c in figures.by_status.cells} | {"total": figures.by_status.total.printed}


# --- one cell ----------------------------------------------------------------------------------

def test_cells_all_nodes_show_are_summed_exactly_and_printed_in_german() -> None:
    combined = combine([node("kreis", status(shown("active", 1200), shown("closed", 40))),
                        node("hilden", status(shown("active", 34), shown("closed", 5)))])
    assert printed(combined) == {"active": "1.234", "closed": "45", "total": "1.279"}
    assert combined.by_status.cell("active").figure == 1234  # type: ignore[union-attr]
    assert combined.marks() == set() and combined.notes() == []


def test_a_cell_a_node_suppressed_is_at_least_the_shown_sum_never_exact() -> None:
    combined = combine([node("kreis", status(shown("active", 120), shown("closed", 9), small("referred"),
                                             withheld("rejected"), total=shown("total", 140))),
                        node("hilden", status(shown("active", 12), small("closed"), shown("referred", 6),
                                              shown("rejected", 8)))])
    cells = printed(combined)
    assert cells["active"] == "132"  # both shown: exact
    assert cells["closed"] == "mind. 9" and cells["referred"] == "mind. 6" and cells["rejected"] == "mind. 8"
    assert cells["total"] == "166"  # both totals shown: the total is exact
    assert combined.by_status.cell("closed").figure == "mind. 9"  # type: ignore[union-attr]
    assert AT_LEAST_NOTE in combined.notes()
    assert "zzgl. nicht ausgewiesener Kleinstwerte" in AT_LEAST_NOTE


def test_a_large_at_least_figure_keeps_the_thousands_separator() -> None:
    combined = combine([node("kreis", status(shown("active", 1500))),
                        node("hilden", status(small("active")))])
    assert printed(combined)["active"] == "mind. 1.500"
    assert combined.by_status.cell("active").figure == "mind. 1500"  # type: ignore[union-attr]


def test_one_nodes_small_value_stays_below_five_as_nobody_else_counts_there() -> None:
    # Only Hilden knows the Zielgruppe; its "< 5" is still true of the federation's sum.
    kreis = record(by_zielgruppe=table(shown("umf", 20)))
    hilden = record(by_zielgruppe=table(shown("umf", 6), small("roma"), total=shown("total", 9)))
    combined = combine([node("kreis", kreis), node("hilden", hilden)])
    cell = combined.by_zielgruppe.cell("roma")
    assert cell is not None and cell.printed == "< 5"
    assert SUPPRESSED_NOTE in combined.notes()


def test_small_values_of_several_nodes_are_not_shown_as_below_five() -> None:
    # 4 + 4 would be 8: "< 5" would be false, and no lower bound is known.
    combined = combine([
        node("kreis", status(shown("active", 10), small("closed"), total=shown("total", 13))),
        node("hilden", status(shown("active", 10), small("closed"), total=shown("total", 14)))])
    assert printed(combined)["closed"] == "x"
    assert NOT_SHOWN_NOTE in combined.notes() and SUPPRESSED_NOTE not in combined.notes()


def test_a_withheld_value_without_any_shown_part_is_not_shown() -> None:
    combined = combine([node("kreis", status(withheld("active"), small("closed"), total=shown("total", 12)))])
    assert printed(combined) == {"active": "x", "closed": "< 5", "total": "12"}


def test_unknown_visibility_never_counts() -> None:
    odd = FigureCell("active", "aktiv", "something-new", 999)
    combined = combine([node("kreis", status(shown("active", 7))), node("hilden", status(odd))])
    assert printed(combined)["active"] == "mind. 7"


# --- totals, keys, labels -------------------------------------------------------------------------

def test_totals_come_from_the_nodes_totals_not_from_the_combined_cells() -> None:
    # Caritas has 3 cases in all: its total is suppressed, so the federation's is only "mind.".
    kreis = status(shown("active", 50), shown("closed", 10))
    caritas = status(small("active"), small("closed"), total=small("total", "Summe"))
    combined = combine([node("kreis", kreis), node("caritas", caritas)])
    assert printed(combined) == {"active": "mind. 50", "closed": "mind. 10", "total": "mind. 60"}


def test_a_total_suppressed_at_a_single_node_stays_below_five_and_at_several_is_not_shown() -> None:
    tiny = status(small("active"), total=small("total", "Summe"))
    assert combine([node("a", tiny)]).by_status.total.printed == "< 5"
    assert combine([node("a", tiny), node("b", tiny)]).by_status.total.printed == "x"


def test_zielgruppen_of_different_catalogues_keep_the_newest_label_and_no_zielgruppe_comes_last() -> None:
    old = record(zielgruppen_version=1, by_zielgruppe=table(
        shown("", 9, "keine Zielgruppe"), shown("umf", 5, "UMF (alt)"), shown("alt", 6, "Alte Gruppe")))
    new = record(zielgruppen_version=3, by_zielgruppe=table(
        shown("umf", 7, "Unbegleitete Minderjährige"), shown("neu", 8, "Neue Gruppe"),
        shown("", 10, "keine Zielgruppe")))
    combined = combine([node("hilden", old), node("kreis", new)])
    rows = [(c.key, c.label, c.printed) for c in combined.by_zielgruppe.cells]
    assert rows == [("umf", "Unbegleitete Minderjährige", "12"), ("neu", "Neue Gruppe", "8"),
                    ("alt", "Alte Gruppe", "6"), ("", "keine Zielgruppe", "19")]
    # A Zielgruppe a node does not know counts nothing there: it is not "mind.".
    assert combined.by_zielgruppe.cell("neu").exact  # type: ignore[union-attr]
    assert combined.versions == ((3, ("kreis",)), (1, ("hilden",)))
    assert combined.versions_text() == "Fassung 3 (kreis), Fassung 1 (hilden)"
    assert any("unterschiedlichen Fassungen der Zielgruppen" in n for n in combined.notes())


def test_one_catalogue_version_is_named_once() -> None:
    combined = combine([node("kreis", record()), node("hilden", record())])
    assert combined.versions_text() == "Fassung 2 der Lenkungsgruppe (alle Stellen)"
    assert not any("Versionen" in n for n in combined.notes())


# --- durations ----------------------------------------------------------------------------------

def test_mean_durations_are_weighted_by_the_cases_behind_them() -> None:
    kreis = record(by_status=table(shown("proposed", 5), shown("in_review", 5), shown("active", 10),
                                   shown("closed", 10)),
                   days_to_decision=MeanDuration(10.0), days_open=MeanDuration(100.0))
    hilden = record(by_status=table(shown("active", 25), shown("closed", 30)),  # no undecided listed: 0
                    days_to_decision=MeanDuration(22.0), days_open=MeanDuration(200.0))
    combined = combine([node("kreis", kreis), node("hilden", hilden)])
    # decided: kreis 30 - 10 = 20 cases at 10 days, hilden 55 cases at 22 days
    # 18.8 days, given to the week (as each node gives its own mean).
    assert combined.days_to_decision.days == 21.0
    assert combined.days_to_decision.used == ("kreis", "hilden") and combined.days_to_decision.left_out == ()
    # closed: 10 at 100 days, 30 at 200 days -> 175, not the unweighted 150
    assert combined.days_open.days == 175.0


def test_a_node_without_a_mean_or_without_its_weight_is_left_out_and_named() -> None:
    kreis = record(by_status=table(shown("active", 10), shown("closed", 10)), days_open=MeanDuration(50.0))
    hilden = record(by_status=table(shown("active", 10), small("closed"), total=shown("total", 12)),
                    days_open=MeanDuration(80.0))  # mean shown, weight not: cannot be weighted
    caritas = record(by_status=table(shown("active", 10), small("closed"), total=shown("total", 12)))
    combined = combine([node("kreis", kreis), node("hilden", hilden), node("caritas", caritas)])
    assert combined.days_open.days == 49.0 and combined.days_open.used == ("kreis",)
    assert combined.days_open.left_out == (("hilden", "Fallzahl zur Gewichtung nicht ausgewiesen"),
                                           ("caritas", "weniger als 5 Fälle"))
    nobody = combine([node("caritas", caritas)])
    assert nobody.days_open.days is None and nobody.days_to_decision.days is None


def test_decided_cases_need_the_total_and_the_undecided_statuses_shown() -> None:
    hidden_undecided = record(by_status=table(small("proposed"), withheld("active"), shown("closed", 20),
                                              total=shown("total", 40)),
                              days_to_decision=MeanDuration(12.0))
    combined = combine([node("kreis", hidden_undecided)])
    assert combined.days_to_decision.days is None
    assert combined.days_to_decision.left_out == (("kreis", "Fallzahl zur Gewichtung nicht ausgewiesen"),)


# --- sources ------------------------------------------------------------------------------------

def test_contributing_and_unreachable_nodes_are_named_with_their_stand() -> None:
    later = datetime(2026, 5, 12, 9, 16, 30, tzinfo=BERLIN_SUMMER)
    combined = combine(
        [node("kreis-mettmann", record()), node("stadt-hilden", record(), node_id="hilden-1", read_at=later)],
        [MissingNode(NodeSource("caritas-mettmann", "caritas-mettmann")),
         MissingNode(NodeSource("diakonie", "diakonie"), "Angaben nicht lesbar")])
    assert combined.sources_text() == ("kreis-mettmann (Stand: 12.05.2026, 09:15 Uhr), "
                                       "stadt-hilden (hilden-1) (Stand: 12.05.2026, 09:16 Uhr)")
    assert combined.missing_text() == ("Ohne Angaben von caritas-mettmann (nicht erreichbar), "
                                       "diakonie (Angaben nicht lesbar).")
    assert combine([node("kreis", record())]).missing_text() == ""


def test_without_any_node_there_is_nothing_to_combine() -> None:
    with pytest.raises(ValueError):
        combine([], [MissingNode(NodeSource("a", "a"))])


# --- properties against the case service's own suppression ---------------------------------------

KEYS = ("proposed", "in_review", "admitted", "active", "closed")


def released(counts: dict[str, int]) -> FigureTable:
    """What a node's case service releases for these true counts (its own rule)."""
    suppressed = case_monitoring.suppress([(k, k, counts[k]) for k in KEYS])
    cells = tuple(FigureCell(c.key, c.label, c.visibility.value, c.count) for c in suppressed.cells)
    total = suppressed.total
    return FigureTable(cells, FigureCell("total", "Summe", total.visibility.value, total.count))


def random_counts(rng: random.Random) -> dict[str, int]:
    return {k: rng.choice([0, 0, 1, 2, 3, 4, 5, 6, 9, 30, 250]) for k in KEYS}


@pytest.mark.parametrize("seed", range(300))
def test_every_printed_figure_is_true_of_the_real_sum(seed: int) -> None:
    rng = random.Random(seed)
    truth = [random_counts(rng) for _ in range(rng.randint(1, 4))]
    combined = combine([node(f"n{i}", record(by_status=released(c))) for i, c in enumerate(truth)])
    for cell in (*combined.by_status.cells, combined.by_status.total):
        real = sum(sum(c.values()) if cell.key == "total" else c[cell.key] for c in truth)
        figure = cell.figure
        if isinstance(figure, int):
            assert figure == real
        elif figure.startswith("mind. "):
            assert int(figure.removeprefix("mind. ")) <= real
            assert int(figure.removeprefix("mind. ")) >= 5
        elif figure == "< 5":
            assert real < 5
        else:
            assert figure == "x"


@pytest.mark.parametrize("seed", range(300))
def test_no_small_number_follows_from_an_exact_total_by_subtraction(seed: int) -> None:
    rng = random.Random(1000 + seed)
    truth = [random_counts(rng) for _ in range(rng.randint(1, 4))]
    combined = combine([node(f"n{i}", record(by_status=released(c))) for i, c in enumerate(truth)])
    hidden = [c for c in combined.by_status.cells if not c.exact]
    if combined.by_status.total.exact and hidden:
        # total minus the shown parts is the hidden rest: spread over at least two cells
        assert len(hidden) >= 2


def test_times_print_in_the_zone_they_carry() -> None:
    combined = combine([node("kreis", record(), read_at=datetime(2026, 5, 12, 7, 15, tzinfo=UTC))])
    assert "12.05.2026, 07:15 Uhr" in combined.sources_text()


def test_a_node_is_named_by_its_organisation_name_where_the_directory_gives_one() -> None:
    assert NodeSource("stadt-hilden", "stadt-hilden", "Stadt Hilden").name == "Stadt Hilden"
    assert NodeSource("hilden-2", "stadt-hilden", "Stadt Hilden").name == "Stadt Hilden (hilden-2)"
    assert NodeSource("stadt-hilden", "stadt-hilden").name == "stadt-hilden"


def _printed(combined: CombinedFigures) -> list[str]:
    table = combined.by_status
    return [c.printed for c in (*table.cells, table.total)]


@given(st.lists(st.fixed_dictionaries({k: st.sampled_from([0, 0, 1, 2, 3, 4, 5, 6, 9, 30, 250])
                                       for k in KEYS}), min_size=1, max_size=4),
       st.integers(0, 3), st.integers(1, 4))
@settings(max_examples=300, deadline=None)
def test_the_federation_figures_depend_only_on_what_the_nodes_released(
    truth: list[dict[str, int]], which: int, delta: int,
) -> None:
    """Another truth at one node that the node releases alike (a small cell changed within 1 to
    4, the withheld cell larger) gives the same federation figures: the document knows nothing
    the nodes did not release, and their releases are safe (tests/unit/test_disclosure.py)."""
    index = which % len(truth)
    other = dict(truth[index])
    release = released(other)
    small_cells = [c.key for c in release.cells if c.visibility == "suppressed"]
    withheld_cells = [c.key for c in release.cells if c.visibility == "withheld"]
    if small_cells and release.total.visibility != "suppressed":
        other[small_cells[0]] = 1 + (other[small_cells[0]] - 1 + delta) % 4
        other[withheld_cells[0]] += delta + 4  # still the largest
    elif withheld_cells:
        other[withheld_cells[0]] += delta
    assume(released(other) == release)
    before = combine([node(f"n{i}", record(by_status=released(c))) for i, c in enumerate(truth)])
    changed = [*truth[:index], other, *truth[index + 1:]]
    after = combine([node(f"n{i}", record(by_status=released(c))) for i, c in enumerate(changed)])
    assert _printed(after) == _printed(before)
