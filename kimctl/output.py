"""What the command line prints: one console and the tables of checks."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:  # the command line must start before the contracts are generated
    from kimctl.nodecheck import CheckResult
    from kimnetz.runtime.settings import Settings

console = Console()


def print_checks(settings: Settings, results: Sequence[CheckResult]) -> None:
    print_results(f"Knoten {settings.node_id}: Prüfung der Komponenten", results)


def print_results(title: str, results: Sequence[CheckResult]) -> None:
    table = Table(title=title)
    for column in ("Komponente", "Prüfung", "Ergebnis", "Dauer"):
        table.add_column(column)
    for r in results:
        mark = "[green]ok[/]" if r.ok else "[red]FEHLER[/]"
        table.add_row(r.component, r.check, f"{mark} {r.detail}", f"{r.seconds * 1000:.0f} ms")
    console.print(table)
