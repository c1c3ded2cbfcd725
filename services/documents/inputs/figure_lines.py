"""The German lines a Monitoringbericht and a Drucksache print of the case figures: a table as
one paragraph (a line per cell), a mean duration, the suppression rule, and for the
federation's figures (domain/federation.py) where they come from and the footnotes of its marks.

The figures stay as the case service suppressed them ("< 5", "x"); a status this service cannot
name is refused (`check_known_statuses`) rather than printed.
"""

from __future__ import annotations

from kimnetz.errors import Unavailable
from services.documents.domain import formats
from services.documents.domain.federation import CombinedDuration, CombinedFigures, CombinedTable
from services.documents.domain.monitoring import STATUS_LABELS, SUPPRESSED, WITHHELD
from services.documents.figures import CaseFiguresRecord, FigureCell, FigureTable, MeanDuration


def printed(cell: FigureCell) -> str:
    figure = cell.figure
    return formats.integer(figure) if isinstance(figure, int) else figure


def listing(heading: str, table: FigureTable) -> str:
    """One paragraph, a line per cell (docxtpl turns the line breaks into breaks in Word)."""
    lines = [f"{heading}:"]
    lines += [f"{cell.label or 'ohne Angabe'}: {printed(cell)}" for cell in table.cells]
    lines.append(f"insgesamt: {printed(table.total)}")
    return "\n".join(lines)


def mean(what: str, duration: MeanDuration) -> str:
    if duration.days is None:
        return f"{what}: nicht ausgewiesen (weniger als 5 Fälle)."
    return f"{what}: im Mittel {formats.decimal_one(duration.days)} Tage."


def suppression_line() -> str:
    return (f"Zahlen unter 5 sind als „{SUPPRESSED}“ ausgewiesen, „{WITHHELD}“ steht für einen Wert, "
            "der mit der Summe eine kleine Zahl verraten würde.")


def unknown_statuses(figures: CaseFiguresRecord) -> list[str]:
    return sorted(c.key for c in figures.by_status.cells if c.key not in STATUS_LABELS)


def check_known_statuses(figures: CaseFiguresRecord) -> None:
    unknown = unknown_statuses(figures)
    if unknown:
        # A newer case service; printing a status this service cannot name would mislead.
        raise Unavailable(f"Der Falldienst meldet Status, die dieser Dokumentendienst nicht kennt "
                          f"({', '.join(unknown)}); bitte den Dokumentendienst aktualisieren.")



def combined_listing(heading: str, table: CombinedTable, empty: str = "ohne Angabe") -> str:
    lines = [f"{heading}:"]
    lines += [f"{cell.label or empty}: {cell.printed}" for cell in table.cells]
    lines.append(f"insgesamt: {table.total.printed}")
    return "\n".join(lines)


def combined_mean(what: str, duration: CombinedDuration) -> str:
    if duration.days is None:
        return (f"{what}: nicht ausgewiesen (keine beteiligte Stelle weist einen Mittelwert über "
                "mindestens 5 Fälle aus).")
    text = f"{what}: im Mittel {formats.decimal_one(duration.days)} Tage (nach Fallzahlen gewichtet"
    if duration.left_out:
        text += "; ohne " + ", ".join(f"{name}: {reason}" for name, reason in duration.left_out)
    return text + ")."


def sources(figures: CombinedFigures) -> str:
    if len(figures.sources) == 1:
        text = f"Die Zahlen beruhen allein auf den Angaben von {figures.sources_text()}."
    else:
        text = ("Die Zahlen fassen die Angaben folgender beteiligter Stellen zusammen: "
                f"{figures.sources_text()}.")
    if figures.missing:
        text += " " + figures.missing_text()
    return text + f" Zielgruppen: {figures.versions_text()}."


def notes(figures: CombinedFigures) -> str:
    return " ".join(["Zum Schutz der betroffenen Personen weist keine beteiligte Stelle Zahlen unter 5 "
                     "genau aus; die Gesamtzahlen sind Summen der von den Stellen ausgewiesenen Werte.",
                     *figures.notes()])

