"""The one rule for small numbers in every table that leaves a service (figures, reports,
Drucksachen), shared like `kimnetz.errors`: pure, no framework, imported by the domain cores of the
case service (GetFigures) and the documents service (reports from raw counts), which may not
import each other.

The rule (docs/case.md, "Kennzahlen und kleine Zahlen"), for a table of counts and its total:

- 0 is shown as 0: an empty category names nobody.
- A table whose total is 1 to 4 shows nothing: every cell (0 included) and the total are
  "< 5" (`SUPPRESSED`).
- Otherwise a count of 1 to 4 is "< 5", and a table with such a cell shows neither its total
  nor its largest cell (both "x", `WITHHELD`; the largest by count, the first of equal ones):
  with the total, the hidden cells' sum would follow by subtraction (one small cell exactly,
  several as a small group), and the largest cell, bounded by nothing, keeps every sum of the
  table open, so that no other table counting the same persons can close it.
- Tables that count the same persons (cases by status, by Zielgruppe and by Handlungsfeld) form
  a family (`protect_family`): where one member hides a cell, every member withholds its total
  and its largest cell, so that none of them gives the others the number of persons.

Why this holds against a reader who knows the rule (tests/unit/test_disclosure.py checks it by
brute force and at random): "< 5" is read as 1 to 4, the total as the sum of the cells, the "x"
cell as at least every other cell and unbounded above. The table's one equation (cells add up
to the total) then leaves every hidden value a range: the unbounded cell absorbs any change of
a small cell, and the total stays open. Nothing else in a published table depends on the
hidden values.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

SMALL = 5


class Mark(StrEnum):
    SHOWN = "shown"
    SUPPRESSED = "suppressed"  # "< 5"
    WITHHELD = "withheld"  # "x"


@dataclass(frozen=True)
class Protected:
    """Which cells and whether the total may be shown (the counts themselves stay with the caller)."""

    cells: tuple[Mark, ...]
    total: Mark

    @property
    def hidden(self) -> tuple[int, ...]:
        return tuple(i for i, m in enumerate(self.cells) if m is not Mark.SHOWN)

    @property
    def complete(self) -> bool:
        """Everything shown."""
        return self.total is Mark.SHOWN and not self.hidden


def protect(counts: Sequence[int], *, withhold: bool = False) -> Protected:
    """The marks of a distribution's cells and total. `withhold`: withhold the total and the
    largest cell even without a small cell (a member of its family hides one)."""
    if any(n < 0 for n in counts):
        raise ValueError("counts cannot be negative")
    total = sum(counts)
    if total == 0:
        return Protected(tuple(Mark.SHOWN for _ in counts), Mark.SHOWN)
    if total < SMALL:
        return Protected(tuple(Mark.SUPPRESSED for _ in counts), Mark.SUPPRESSED)
    marks = [Mark.SUPPRESSED if 0 < n < SMALL else Mark.SHOWN for n in counts]
    if not withhold and Mark.SUPPRESSED not in marks:
        return Protected(tuple(marks), Mark.SHOWN)
    largest = max(range(len(counts)), key=lambda i: (counts[i], -i))
    marks[largest] = Mark.WITHHELD
    return Protected(tuple(marks), Mark.WITHHELD)


def protect_family(tables: Sequence[Sequence[int]]) -> list[Protected]:
    """Tables counting the same persons: where one of them hides a cell, all withhold their
    total and largest cell (a table of fewer than 5 stays as it is: it shows nothing)."""
    alone = [protect(t) for t in tables]
    if all(p.complete for p in alone):
        return alone
    return [p if p.total is Mark.SUPPRESSED or sum(t) == 0 else protect(t, withhold=True)
            for t, p in zip(tables, alone, strict=True)]


def protect_breakdowns(parent: Sequence[int], children: Mapping[int, Sequence[Sequence[int]]],
                       ) -> tuple[Protected, dict[int, list[Protected]]]:
    """A table and breakdowns of some of its cells (the movements of a period: the Verweisberatungen
    by target break down the movement table's cell "Verweisberatungen", the Aufnahmen by
    Zielgruppe, by age band, ... its cell "Aufnahmen"). The breakdowns of one cell count the same
    persons and are a family (`protect_family`). Each is protected by itself, and then the link
    is closed both ways, so that no subtraction across the tables gives a small number
    (secondary suppression):

    - where a breakdown hides its total, the parent's cell is that total: it is withheld, and
      with it the parent's total (else the parent would give the breakdown's hidden sum);
    - where the parent hides a cell, its breakdowns withhold their totals and largest cells
      (else a breakdown would give the parent's hidden cell, and with the parent's shown cells
      and total, a small one); an empty breakdown of a hidden cell (a parent under 5 hides its
      zeros too) shows nothing, else its zeros would tell the parent's 0.

    A withheld parent cell beside a withheld parent total is unbounded, like the largest cell of
    `protect` — unless a breakdown of it is "< 5" as a whole: then it is 1 to 4, and as the
    parent's largest cell it bounds every parent cell to 0 to 4. The values still stay open: the
    reader only knows each hidden parent cell to be 1 to 4 (the withheld one after the smaller,
    at least the later ones) and the total to be at least 5, which several tables satisfy
    ([3, 4, 4] publishes like [2, 3, 3] and [1, 2, 2], all with breakdowns under 5; the twin
    moves the top cells down together).

    Two rounds reach the fixed point: the second rule only withholds totals of breakdowns whose
    parent cell is already hidden, which the first rule then finds hidden."""
    marks = protect(parent)
    kids = {i: protect_family(family) for i, family in children.items()}
    for _ in range(2):
        cells = list(marks.cells)
        total = marks.total
        for i, family in kids.items():
            if any(kid.total is not Mark.SHOWN for kid in family) and cells[i] is Mark.SHOWN:
                cells[i] = Mark.WITHHELD
                if total is Mark.SHOWN:
                    total = Mark.WITHHELD
        marks = Protected(tuple(cells), total)
        for i, tables in children.items():
            if marks.cells[i] is not Mark.SHOWN:
                kids[i] = [_hide_under(counts, kid) for counts, kid in zip(tables, kids[i], strict=True)]
    return marks, kids


def _hide_under(counts: Sequence[int], kid: Protected) -> Protected:
    """A breakdown of a hidden parent cell: its total must not be shown."""
    if kid.total is not Mark.SHOWN:
        return kid
    if sum(counts) == 0:
        return Protected(tuple(Mark.SUPPRESSED for _ in counts), Mark.SUPPRESSED)
    return protect(counts, withhold=True)
