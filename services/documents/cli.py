"""`kim documents`: Weiterleitungsverträge, Drucksachen, Fallkonferenz- and Beschlussprotokolle and
Monitoringberichte from YAML, without a running node.

Exit codes: 0 done; 2 invalid input (every problem listed with its path, no file written);
1 the environment cannot do it (LibreOffice missing for --pdf, conversion failed).
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import typer
import yaml
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from kimnetz.errors import FailedPrecondition, FieldViolation, InvalidArgument
from services.documents import pdf
from services.documents.domain import formats
from services.documents.domain.contract import (
    Allocation,
    contract_amounts,
    contract_context,
    parse_allocation_file,
)
from services.documents.domain.drucksache import drucksache_context, parse_drucksache
from services.documents.domain.kinds import (
    CONTRACT,
    DRUCKSACHE,
    FALLKONFERENZ,
    LENKUNGSGRUPPE,
    MONITORING,
    SACHBERICHT,
    VERWENDUNGSNACHWEIS,
    Kind,
)

if TYPE_CHECKING:
    from services.documents.rendering import Renderer, TemplateRef

INVALID_INPUT = 2
ENVIRONMENT = 1

app = typer.Typer(
    help="Dokumente: Verträge, Drucksachen, Protokolle und Monitoringberichte aus DOCX-Vorlagen.",
    no_args_is_help=True,
)
console = Console()
errors = Console(stderr=True)

TEMPLATE_OPTION = typer.Option(
    None, "--template", exists=True, dir_okay=False, help="Eigene DOCX-Vorlage statt der mitgelieferten."
)
PDF_OPTION = typer.Option(False, "--pdf", help="Zusätzlich PDF/A erzeugen (braucht LibreOffice).")


@app.command("contract")
def contract(
    allocation: Path = typer.Option(  # noqa: B008
        ..., "--allocation", exists=True, dir_okay=False, help="YAML: Kreis, Laufzeit, Sätze, Zuweisungen."
    ),
    out: Path = typer.Option(..., "--out", file_okay=False, help="Verzeichnis für die Verträge."),  # noqa: B008
    template: Path | None = TEMPLATE_OPTION,
    to_pdf: bool = PDF_OPTION,
) -> None:
    """Je Zuweisung einen Kooperations-/Weiterleitungsvertrag erzeugen."""
    allocations = _checked(parse_allocation_file, _read_yaml(allocation))
    _require_pdf_if(to_pdf)
    renderer, ref = _template(CONTRACT, template)
    documents: list[Allocation] = []
    contents: list[tuple[str, bytes]] = []
    with _progress() as progress:
        task = progress.add_task("Verträge erzeugen", total=len(allocations.allocations))
        for number, item in enumerate(allocations.allocations, 1):
            content = _checked(renderer.render, ref, contract_context(allocations, item))
            documents.append(item)
            contents.append((contract_filename(number, item), content))
            progress.advance(task)
    # Written only after every contract rendered, so a failure leaves no half-finished set behind.
    out.mkdir(parents=True, exist_ok=True)
    paths = [_write(out / name, content) for name, content in contents]
    _convert_if(to_pdf, paths, out)

    period = f"{formats.day(allocations.term.start)} – {formats.day(allocations.term.end)}"
    table = Table(title=f"Weiterleitungsverträge {period}", caption=f"Verzeichnis: {out}")
    table.add_column("Partner (Einsatzort)", ratio=3)
    for column in ("VZÄ", "Jahresbetrag", "Betrag Laufzeit"):
        table.add_column(column, justify="right", no_wrap=True)
    table.add_column("Datei", ratio=2, overflow="fold")
    totals = [Decimal(0)] * 3
    for item, path in zip(documents, paths, strict=True):
        amounts = contract_amounts(allocations.rates, allocations.term, item.fte)
        totals = [t + v for t, v in zip(totals, (amounts.fte, amounts.annual, amounts.term), strict=True)]
        partner = item.partner.name + (f" ({item.place})" if item.place != item.partner.name else "")
        table.add_row(partner, formats.fte(amounts.fte), formats.money(amounts.annual),
                      formats.money(amounts.term), path.name)
    table.add_section()
    table.add_row("Summe", *(formats.fte(totals[0]), formats.money(totals[1]), formats.money(totals[2])), "",
                  style="bold")
    console.print(table)


@app.command("drucksache")
def drucksache(
    input_file: Path = typer.Option(  # noqa: B008
        ..., "--input", exists=True, dir_okay=False, help="YAML der Beschluss- oder Mitteilungsvorlage."
    ),
    out: Path = typer.Option(..., "--out", dir_okay=False, help="Ziel, z. B. vorlage.docx."),  # noqa: B008
    template: Path | None = TEMPLATE_OPTION,
    to_pdf: bool = PDF_OPTION,
) -> None:
    """Eine Drucksache (Beschlussvorlage oder Mitteilungsvorlage) erzeugen."""
    paper = _checked(parse_drucksache, _read_yaml(input_file))
    _require_pdf_if(to_pdf)
    renderer, ref = _template(DRUCKSACHE, template)
    content = _checked(renderer.render, ref, drucksache_context(paper))
    out.parent.mkdir(parents=True, exist_ok=True)
    path = _write(out, content)
    _convert_if(to_pdf, [path], out.parent)
    console.print(f"{paper.kind} {paper.number} geschrieben: {path}")


INPUT_OPTION_HELP = "YAML-Eingabe (Felder: docs/documents.md, Beispiele: services/documents/examples/)."


@app.command("protokoll")
def protokoll(
    input_file: Path = typer.Option(..., "--input", exists=True, dir_okay=False, help=INPUT_OPTION_HELP),  # noqa: B008
    out: Path = typer.Option(..., "--out", dir_okay=False, help="Ziel, z. B. protokoll.docx."),  # noqa: B008
    template: Path | None = TEMPLATE_OPTION,
    to_pdf: bool = PDF_OPTION,
) -> None:
    """Ein Fallkonferenz-Protokoll erzeugen (Fälle nur mit Pseudonym)."""
    _single(FALLKONFERENZ, input_file, out, template, to_pdf)


@app.command("beschlussprotokoll")
def beschlussprotokoll(
    input_file: Path = typer.Option(..., "--input", exists=True, dir_okay=False, help=INPUT_OPTION_HELP),  # noqa: B008
    out: Path = typer.Option(..., "--out", dir_okay=False, help="Ziel, z. B. beschlussprotokoll.docx."),  # noqa: B008
    template: Path | None = TEMPLATE_OPTION,
    to_pdf: bool = PDF_OPTION,
) -> None:
    """Ein Beschlussprotokoll der Lenkungsgruppe mit Beschlussverfolgung erzeugen."""
    _single(LENKUNGSGRUPPE, input_file, out, template, to_pdf)


@app.command("monitoring")
def monitoring(
    input_file: Path = typer.Option(..., "--input", exists=True, dir_okay=False, help=INPUT_OPTION_HELP),  # noqa: B008
    out: Path = typer.Option(..., "--out", dir_okay=False, help="Ziel, z. B. monitoringbericht.docx."),  # noqa: B008
    template: Path | None = TEMPLATE_OPTION,
    to_pdf: bool = PDF_OPTION,
) -> None:
    """Einen Monitoringbericht mit Diagrammen erzeugen (kleine Zahlen unter 5 unterdrückt)."""
    _single(MONITORING, input_file, out, template, to_pdf)


@app.command("verwendungsnachweis")
def verwendungsnachweis(
    input_file: Path = typer.Option(..., "--input", exists=True, dir_okay=False, help=INPUT_OPTION_HELP),  # noqa: B008
    out: Path = typer.Option(..., "--out", dir_okay=False, help="Ziel, z. B. verwendungsnachweis.docx."),  # noqa: B008
    template: Path | None = TEMPLATE_OPTION,
    to_pdf: bool = PDF_OPTION,
) -> None:
    """Den zahlenmäßigen Verwendungsnachweis an die Bewilligungsbehörde erzeugen (Förderrichtlinie KIM)."""
    _single(VERWENDUNGSNACHWEIS, input_file, out, template, to_pdf)


@app.command("sachbericht")
def sachbericht(
    input_file: Path = typer.Option(..., "--input", exists=True, dir_okay=False, help=INPUT_OPTION_HELP),  # noqa: B008
    out: Path = typer.Option(..., "--out", dir_okay=False, help="Ziel, z. B. sachbericht.docx."),  # noqa: B008
    template: Path | None = TEMPLATE_OPTION,
    to_pdf: bool = PDF_OPTION,
) -> None:
    """Den jährlichen Sachbericht an die Bewilligungsbehörde erzeugen (mit den Fallzahlen des Jahres)."""
    _single(SACHBERICHT, input_file, out, template, to_pdf)


def _single(kind: Kind, input_file: Path, out: Path, template: Path | None, to_pdf: bool) -> None:
    """One document of `kind` from a YAML file: checked completely before anything is written."""
    prepared = _checked(kind.prepare, _read_yaml(input_file))
    _require_pdf_if(to_pdf)
    renderer, ref = _template(kind, template)
    slots = renderer.compiled(ref).charts
    wanted = {key: spec for key, spec in prepared.charts.items() if key in slots}
    drawn: dict[str, bytes] = {}
    if wanted:
        from services.documents import charts  # matplotlib only where a chart is drawn

        drawn = {key: charts.draw(spec, slots[key].width_inches, slots[key].height_inches)
                 for key, spec in wanted.items()}
    content = _checked(renderer.render, ref, prepared.context, drawn)
    out.parent.mkdir(parents=True, exist_ok=True)
    path = _write(out, content)
    _convert_if(to_pdf, [path], out.parent)
    console.print(f"{prepared.title} geschrieben: {path}")


def contract_filename(number: int, allocation: Allocation) -> str:
    """01-stadt-bergisch-gladbach.docx; a Träger also names its Kommune (one Träger, several places)."""
    parts = [allocation.partner.name]
    if allocation.place != allocation.partner.name:
        parts.append(allocation.place)
    return f"{number:02d}-" + "-".join(_slug(part) for part in parts) + ".docx"


def _slug(text: str) -> str:
    for umlaut, spelled in (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("ß", "ss")):
        text = text.lower().replace(umlaut, spelled)
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        place = f"Zeile {mark.line + 1}, Spalte {mark.column + 1}" if mark else "unbekannte Stelle"
        _fail(InvalidArgument([FieldViolation(str(path), f"YAML-Syntaxfehler in {place}: {exc.problem}")]))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        _fail(InvalidArgument([FieldViolation(str(path), f"Keine lesbare YAML-Datei: {exc}")]))


def _checked(function: Any, *args: Any) -> Any:
    try:
        return function(*args)
    except InvalidArgument as exc:
        _fail(exc)


def _fail(exc: InvalidArgument) -> NoReturn:
    errors.print(f"[red bold]{exc.message}[/] ({len(exc.violations)} Problem(e), keine Datei geschrieben)")
    for violation in exc.violations:
        errors.print(f"  [bold]{violation.field}[/]: {violation.description}", highlight=False)
    raise typer.Exit(INVALID_INPUT)


def _template(kind: Kind, path: Path | None) -> tuple[Renderer, TemplateRef]:
    # Imported here so `kim --help` does not pay for docxtpl, python-docx and lxml.
    from services.documents.rendering import Renderer

    renderer = Renderer()
    if path is None:
        return renderer, renderer.builtin(kind)
    return renderer, _checked(renderer.load_file, f"file:{path.name}", path.read_bytes(), kind)


def _require_pdf_if(to_pdf: bool) -> None:
    if to_pdf and not pdf.available():
        errors.print(f"[red]{pdf.MISSING}[/]")
        raise typer.Exit(ENVIRONMENT)


def _convert_if(to_pdf: bool, paths: list[Path], out_dir: Path) -> None:
    if not to_pdf:
        return
    with console.status("PDF/A mit LibreOffice erzeugen"):
        try:
            pdf.convert_to_pdf(paths, out_dir)
        except FailedPrecondition as exc:
            errors.print(f"[red]{exc.message}[/]")
            raise typer.Exit(ENVIRONMENT) from None
    console.print(f"{len(paths)} PDF/A-Datei(en) in {out_dir}")


def _progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=console)


def _write(path: Path, content: bytes) -> Path:
    path.write_bytes(content)
    return path
