"""The case service's figures as paragraphs of a Drucksache's Sachdarstellung (`body_text`):
the node's own (`figures_paragraphs`) or, on the Kreis' node, the federation's
(`federation_paragraphs`), put where the paragraph „[Fallzahlen]“ stands or after the last one
(`drucksache_with_figures`); the result is checked by domain/drucksache.py like a
`kim documents drucksache` YAML file.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from services.documents.domain import formats
from services.documents.domain.drucksache import paragraphs
from services.documents.domain.federation import CombinedFigures
from services.documents.figures import CaseFiguresRecord
from services.documents.inputs.figure_lines import (
    check_known_statuses,
    combined_listing,
    combined_mean,
    listing,
    mean,
    notes,
    sources,
    suppression_line,
)

FIGURES_MARKER = "[Fallzahlen]"
"""A paragraph of a Drucksache's body_text that is exactly this is replaced by the figures."""


def figures_paragraphs(figures: CaseFiguresRecord, stand: date) -> list[str]:
    """The figures as paragraphs of a Sachdarstellung."""
    check_known_statuses(figures)
    return [
        f"Fallzahlen des Kommunalen Integrationsmanagements (Stand: {formats.day(stand)}). "
        + suppression_line(),
        listing("Fälle nach Status", figures.by_status),
        listing("Fälle nach Zielgruppe", figures.by_zielgruppe),
        listing("Barrieren nach Kategorie", figures.by_barrier_category),
        mean("Dauer vom Fallvorschlag bis zur ersten Entscheidung", figures.days_to_decision),
    ]


def drucksache_with_figures(data: Any, figures: CaseFiguresRecord | CombinedFigures, stand: date) -> Any:
    """The Drucksache input with the figures (the node's or the federation's) in its
    Sachdarstellung (`body_text`): in place of a paragraph „[Fallzahlen]“, else after the last
    paragraph. Input that is no mapping or has no usable body_text is returned unchanged, so the
    Drucksache's parser reports it with its path."""
    if not isinstance(data, dict) or not isinstance(data.get("body_text"), str):
        return data
    block = (federation_paragraphs(figures, stand) if isinstance(figures, CombinedFigures)
             else figures_paragraphs(figures, stand))
    body = paragraphs(data["body_text"].replace("\r\n", "\n"))
    if FIGURES_MARKER in body:
        at = body.index(FIGURES_MARKER)
        body[at:at + 1] = block
    else:
        body += block
    return {**data, "body_text": "\n\n".join(body)}


def federation_paragraphs(figures: CombinedFigures, day: date) -> list[str]:
    """The federation's figures as paragraphs of a Sachdarstellung: where they come from, the
    tables, the mean duration and the footnotes of the marks used."""
    for node in figures.sources:
        check_known_statuses(node.figures)
    return [
        "Fallzahlen des Kommunalen Integrationsmanagements der beteiligten Stellen "
        f"(Stand: {formats.day(day)}). " + sources(figures),
        combined_listing("Fälle nach Status", figures.by_status),
        combined_listing("Fälle nach Zielgruppe", figures.by_zielgruppe, "keine Zielgruppe"),
        combined_listing("Barrieren nach Kategorie", figures.by_barrier_category),
        combined_mean("Dauer vom Fallvorschlag bis zur ersten Entscheidung", figures.days_to_decision),
        "Erläuterungen: " + notes(figures),
    ]


