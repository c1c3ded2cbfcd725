"""Federation-wide monitoring figures: the Kreis node combines the figures of every node it could
reach (its own and those of the Kommunen and Träger, each already suppressed at its source) into
the figures of its Monitoringbericht and Drucksache.

The rule (docs/documents.md, "gRPC service", „Federation-wide figures (Kreis' node)“):

- A cell's federation figure is the sum of the counts the nodes SHOWED for it. A node's cell
  that is suppressed ("< 5") or withheld ("x") adds nothing, because its count never left that
  node; the cell is then not exact, and it says so:
  - "mind. n" where the shown part n is at least 5: at least n, plus the small or withheld
    values of single nodes (footnote);
  - "< 5" where nothing was shown and exactly one node reported the cell as "< 5" (the only
    case in which "< 5" is still true of the sum);
  - "x" otherwise (nothing shown, and several small values or a withheld one: the sum could be
    anything from 0 up, so no figure is given).
  A node that does not list a cell (an older or newer Zielgruppenkatalog) does not count there.
- Totals are combined from the nodes' totals by the same rule, never from the combined cells;
  a node that withheld its total adds the cells it showed (a lower bound), so such a total is
  "mind. n".
- Nothing here can be used to subtract a small number out of the document, because every
  printed number is a function of what the nodes released themselves (sums of shown counts,
  and how many nodes hid a cell): whatever a reader derives from the federation document, they
  could derive from the nodes' own released figures, and those are protected at the source by
  the federation's one rule (`kimnetz.disclosure`: a node with a small cell in a table withholds
  that table's total and its largest cell). tests/unit/documents/test_federation_figures.py
  checks this property: changing a node's hidden counts so that its release stays the same
  never changes the federation's figures. So a federation total is exact only where every
  node showed its whole table.
- Mean durations are weighted by the number of cases behind each node's mean, taken from its
  shown status counts (closed cases for the duration until closure; cases past their first
  decision, i.e. all but "Fallvorschlag" and "in der Fallkonferenz", for the duration until the
  first decision). A node whose mean is suppressed (fewer than 5 cases) or whose weight is not
  shown is left out and named. The combined mean is rounded to `DURATION_STEP` days, as the
  nodes' are.
- The document names the contributing nodes with the time their figures were read, the nodes
  that could not be reached, and the Zielgruppenkatalog version of each node.

Pure: no framework, no clock; the caller reads the figures and says when.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime

from services.documents.domain import formats
from services.documents.domain.figures import (
    CaseFiguresRecord,
    FigureCell,
    FigureTable,
    MeanDuration,
    PeriodRecord,
)

SMALL = 5
#: Mean durations in steps of this many days, as the nodes give theirs.
DURATION_STEP = 7
SUPPRESSED = "< 5"
NOT_SHOWN = "x"
AT_LEAST = "mind."
UNREACHABLE = "nicht erreichbar"

AT_LEAST_NOTE = (f"„{AT_LEAST}“: Summe der von den Knoten ausgewiesenen Werte, zzgl. nicht ausgewiesener "
                 f"Kleinstwerte (unter {SMALL}) oder zurückgehaltener Werte einzelner Knoten.")
NOT_SHOWN_NOTE = (f"„{NOT_SHOWN}“: nicht ausgewiesen, weil die Knoten hierzu nur Kleinstwerte (unter 5) "
                  "oder zurückgehaltene Werte gemeldet haben.")
SUPPRESSED_NOTE = f"„{SUPPRESSED}“: Zahl unter {SMALL}, von einem einzigen Knoten gemeldet."

# Statuses before the first decision of the Fallkonferenz (services/case vocabulary).
_UNDECIDED = ("proposed", "in_review")


@dataclass(frozen=True)
class NodeSource:
    node_id: str
    organization: str
    #: The organisation's name from the federation file ("Stadt Hilden"); "" if unknown.
    organization_name: str = ""

    @property
    def name(self) -> str:
        """How the document names the node: its organisation (by name where the directory
        gives one), and the node where its id differs from the organisation's."""
        organization = self.organization_name or self.organization
        if not self.node_id or self.node_id == self.organization:
            return organization or self.node_id
        return f"{organization} (Knoten {self.node_id})"


@dataclass(frozen=True)
class NodeFigures:
    source: NodeSource
    figures: CaseFiguresRecord
    read_at: datetime
    """When the figures were read (GetFigures gives the current state): the node's "Stand"."""


@dataclass(frozen=True)
class MissingNode:
    source: NodeSource
    reason: str = UNREACHABLE
    """German, printed: "nicht erreichbar"."""


@dataclass(frozen=True)
class CombinedCell:
    key: str
    label: str
    known: int
    """Sum of the counts the nodes showed for this cell."""
    suppressed: int
    """Nodes that reported the cell as "< 5"."""
    withheld: int
    """Nodes that reported the cell as "x"."""

    @property
    def exact(self) -> bool:
        return self.suppressed == 0 and self.withheld == 0

    @property
    def figure(self) -> int | str:
        """As input data (a Monitoringbericht's `Figure`): 1234, "mind. 1234", "< 5" or "x"."""
        if self.exact:
            return self.known
        if self.known >= SMALL:
            return f"{AT_LEAST} {self.known}"
        if self.known == 0 and self.suppressed == 1 and self.withheld == 0:
            return SUPPRESSED
        return NOT_SHOWN

    @property
    def printed(self) -> str:
        """As a document prints it: 1.234, "mind. 1.234", "< 5" or "x"."""
        figure = self.figure
        if isinstance(figure, int):
            return formats.integer(figure)
        if figure.startswith(AT_LEAST):
            return f"{AT_LEAST} {formats.integer(self.known)}"
        return figure


@dataclass(frozen=True)
class CombinedTable:
    cells: tuple[CombinedCell, ...]
    total: CombinedCell

    def cell(self, key: str) -> CombinedCell | None:
        return next((c for c in self.cells if c.key == key), None)


@dataclass(frozen=True)
class CombinedDuration:
    days: float | None
    """The mean weighted by cases, None where no node gives both mean and weight."""
    used: tuple[str, ...]
    """Names of the nodes whose mean is in it."""
    left_out: tuple[tuple[str, str], ...]
    """(node name, German reason) of the nodes left out."""


@dataclass(frozen=True)
class CombinedPeriod:
    """The period's tables of every node, combined cell by cell like the others (sums of what
    the nodes released: a node's secondary suppression across its tables stays intact)."""

    start: date
    end: date
    movements: CombinedTable
    referred_by_target: CombinedTable
    closed_by_reason: CombinedTable
    stock_by_status: CombinedTable
    admitted: tuple[tuple[str, str, CombinedTable], ...]
    """(dimension, title, table)"""

    @property
    def tables(self) -> tuple[CombinedTable, ...]:
        return (self.movements, self.referred_by_target, self.closed_by_reason, self.stock_by_status,
                *(table for _, _, table in self.admitted))


@dataclass(frozen=True)
class CombinedFigures:
    by_status: CombinedTable
    by_zielgruppe: CombinedTable
    by_handlungsfeld: CombinedTable
    by_goal_outcome: CombinedTable
    by_barrier_category: CombinedTable
    days_to_decision: CombinedDuration
    days_open: CombinedDuration
    versions: tuple[tuple[int, tuple[str, ...]], ...]
    """Zielgruppenkatalog version -> names of the nodes counting by it, newest first."""
    sources: tuple[NodeFigures, ...]
    missing: tuple[MissingNode, ...]
    period: CombinedPeriod | None = None
    """Only where every node that answered gave the period's figures (else the period's sums
    would silently miss a node)."""

    @property
    def tables(self) -> tuple[CombinedTable, ...]:
        return (self.by_status, self.by_zielgruppe, self.by_handlungsfeld, self.by_goal_outcome,
                self.by_barrier_category, *(self.period.tables if self.period else ()))

    def marks(self) -> set[str]:
        """The marks the figures use ("mind.", "< 5", "x"), so only those are explained."""
        used = set()
        for table in self.tables:
            for cell in (*table.cells, table.total):
                figure = cell.figure
                if isinstance(figure, str):
                    used.add(AT_LEAST if figure.startswith(AT_LEAST) else figure)
        return used

    def notes(self) -> list[str]:
        """The footnotes the figures need, in German."""
        marks = self.marks()
        notes = [SUPPRESSED_NOTE] if SUPPRESSED in marks else []
        if AT_LEAST in marks:
            notes.append(AT_LEAST_NOTE)
        if NOT_SHOWN in marks:
            notes.append(NOT_SHOWN_NOTE)
        if len(self.versions) > 1:
            notes.append("Die Knoten zählen nach unterschiedlichen Versionen des Zielgruppenkatalogs; eine "
                         "Zielgruppe, die ein Knoten nicht kennt, zählt bei ihm nicht mit.")
        return notes

    def versions_text(self) -> str:
        """"Version 3 (alle Knoten)" or "Version 3 (A, B), Version 2 (C)"."""
        if len(self.versions) == 1:
            return f"Version {self.versions[0][0]} (alle Knoten)"
        return ", ".join(f"Version {version} ({', '.join(names)})" for version, names in self.versions)

    def sources_text(self) -> str:
        """"A (Stand: 12.05.2026, 09:15 Uhr), B (...)"; times in the caller's zone."""
        return ", ".join(f"{n.source.name} (Stand: {stand(n.read_at)})" for n in self.sources)

    def missing_text(self) -> str:
        """"Ohne Angaben von C (nicht erreichbar)." or ""."""
        if not self.missing:
            return ""
        return "Ohne Angaben von " + ", ".join(f"{m.source.name} ({m.reason})" for m in self.missing) + "."


def stand(moment: datetime) -> str:
    """12.05.2026, 09:15 Uhr (in the zone `moment` carries)."""
    return f"{formats.day(moment.date())}, {moment:%H:%M} Uhr"


def combine(nodes: Sequence[NodeFigures], missing: Sequence[MissingNode] = ()) -> CombinedFigures:
    """The federation-wide figures of `nodes` (the node that renders first); `missing` are the
    nodes asked in vain. At least one node is needed: the rendering node's own figures."""
    if not nodes:
        raise ValueError("combine needs the figures of at least one node")
    # Labels of a Zielgruppe from the newest catalogue that names it; the order of the newest too.
    newest_first = sorted(nodes, key=lambda n: -n.figures.zielgruppen_version)
    versions: dict[int, list[str]] = {}
    for n in newest_first:
        versions.setdefault(n.figures.zielgruppen_version, []).append(n.source.name)

    def tables(pick: Callable[[CaseFiguresRecord], FigureTable], last: str | None = None) -> CombinedTable:
        return _combine_tables([pick(n.figures) for n in newest_first], last)

    return CombinedFigures(
        by_status=tables(lambda f: f.by_status),
        by_zielgruppe=tables(lambda f: f.by_zielgruppe, last=""),
        by_handlungsfeld=tables(lambda f: f.by_handlungsfeld),
        by_goal_outcome=tables(lambda f: f.by_goal_outcome),
        by_barrier_category=tables(lambda f: f.by_barrier_category),
        days_to_decision=_combine_durations(
            [(n.source.name, n.figures.days_to_decision, _decided_cases(n.figures)) for n in nodes]),
        days_open=_combine_durations(
            [(n.source.name, n.figures.days_open, _shown(n.figures.by_status, "closed")) for n in nodes]),
        versions=tuple((version, tuple(names)) for version, names in versions.items()),
        sources=tuple(nodes),
        missing=tuple(missing),
        period=_combine_periods([n.figures.period for n in newest_first]),
    )


def _combine_periods(periods: Sequence[PeriodRecord | None]) -> CombinedPeriod | None:
    known = [p for p in periods if p is not None]
    if not known or len(known) < len(periods) or len({(p.start, p.end) for p in known}) > 1:
        return None
    dimensions: dict[str, str] = {}
    for p in known:
        for b in p.admitted:
            dimensions.setdefault(b.dimension, b.title)

    def breakdown(p: PeriodRecord, dimension: str) -> FigureTable:
        found = next((b.table for b in p.admitted if b.dimension == dimension), None)
        return found or FigureTable((), FigureCell("total", "Summe", "shown", 0))

    return CombinedPeriod(
        start=known[0].start, end=known[0].end,
        movements=_combine_tables([p.movements for p in known], None),
        referred_by_target=_combine_tables([p.referred_by_target for p in known], None),
        closed_by_reason=_combine_tables([p.closed_by_reason for p in known], None),
        stock_by_status=_combine_tables([p.stock_by_status for p in known], None),
        admitted=tuple((dimension, title, _combine_tables([breakdown(p, dimension) for p in known],
                                                          "" if dimension == "zielgruppe" else None))
                       for dimension, title in dimensions.items()),
    )


def _combine_tables(tables: Sequence[FigureTable], last: str | None) -> CombinedTable:
    keys: list[str] = []
    labels: dict[str, str] = {}
    for table in tables:
        for cell in table.cells:
            if cell.key not in labels:
                keys.append(cell.key)
                labels[cell.key] = cell.label
    if last is not None and last in labels:  # "keine Zielgruppe" after every Zielgruppe
        keys.remove(last)
        keys.append(last)
    cells = tuple(_combine_cells(key, labels[key], [t.cell(key) for t in tables]) for key in keys)
    total = _combine_cells("total", "Summe", [t.total for t in tables])
    # A node that withholds its total (its table holds a small cell) still showed most of it:
    # its shown cells are a lower bound of its total, and as released as the total would be.
    shown_parts = sum(c.count for t in tables if t.total.visibility != "shown" for c in t.cells
                      if c.visibility == "shown" and c.count is not None)
    return CombinedTable(cells, replace(total, known=total.known + shown_parts))


def _combine_cells(key: str, label: str, cells: Sequence[FigureCell | None]) -> CombinedCell:
    known = suppressed = withheld = 0
    for cell in cells:
        if cell is None:
            continue  # the node does not list this cell: it counts nothing there
        if cell.visibility == "shown" and cell.count is not None:
            known += cell.count
        elif cell.visibility == "withheld":
            withheld += 1
        else:  # suppressed, or anything unknown: never treated as a count
            suppressed += 1
    return CombinedCell(key, label, known, suppressed, withheld)


def _shown(table: FigureTable, key: str) -> int | None:
    """A cell's count where the node showed it; 0 where the node does not list the cell."""
    cell = table.cell(key)
    if cell is None:
        return 0
    return cell.count if cell.visibility == "shown" and cell.count is not None else None


def _decided_cases(figures: CaseFiguresRecord) -> int | None:
    """The cases past their first decision: all cases but the undecided ones, where all shown."""
    total = figures.by_status.total
    if total.visibility != "shown" or total.count is None:
        return None
    undecided = [_shown(figures.by_status, key) for key in _UNDECIDED]
    if any(n is None for n in undecided):
        return None
    return total.count - sum(n for n in undecided if n is not None)


def _combine_durations(means: Sequence[tuple[str, MeanDuration, int | None]]) -> CombinedDuration:
    weighted = 0.0
    weights = 0
    used: list[str] = []
    left_out: list[tuple[str, str]] = []
    for name, mean, cases in means:
        if mean.days is None:
            left_out.append((name, f"weniger als {SMALL} Fälle"))
        elif cases is None or cases <= 0:
            left_out.append((name, "Fallzahl zur Gewichtung nicht ausgewiesen"))
        else:
            weighted += mean.days * cases
            weights += cases
            used.append(name)
    # Rounded like each node's mean (services/case/domain/monitoring.py), so that two documents
    # around one closure do not give its duration away either.
    days = float(round(weighted / weights / DURATION_STEP) * DURATION_STEP) if weights else None
    return CombinedDuration(days, tuple(used), tuple(left_out))
