"""The case service's figures as paragraphs of a Drucksache's Sachdarstellung (`body_text`):
the node's own (`figures_paragraphs`) or, on the Kreis' node, the federation's
(`federation_paragraphs`), put where the paragraph „[Fallzahlen]“ stands or after the last one
(`drucksache_with_figures`); the result is checked by domain/drucksache.py like a
`kim documents drucksache` YAML file.

A Drucksache goes to politicians: the federation's figures are told in their words ("beteiligte
Stellen", the organisations by name), never in the platform's ("Knoten", "KIM-Verbund",
"Zielgruppenkatalog Version 3"), which domain/drucksache.py refuses.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from services.documents.domain import formats
from services.documents.domain.drucksache import paragraphs
from services.documents.domain.federation import CombinedFigures, NodeSource, stand
from services.documents.figures import CaseFiguresRecord
from services.documents.inputs.figure_lines import (
    check_known_statuses,
    combined_listing,
    combined_mean,
    listing,
    mean,
    notes,
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
    tables, the mean duration and the footnotes of the marks used, in the words of a council paper."""
    for node in figures.sources:
        check_known_statuses(node.figures)
    return [
        "Fallzahlen des Kommunalen Integrationsmanagements aller beteiligten Stellen "
        f"(Stand: {formats.day(day)}). " + council_sources(figures),
        combined_listing("Fälle nach Status", figures.by_status),
        combined_listing("Fälle nach Zielgruppe", figures.by_zielgruppe, "keine Zielgruppe"),
        combined_listing("Barrieren nach Kategorie", figures.by_barrier_category),
        plain(combined_mean("Dauer vom Fallvorschlag bis zur ersten Entscheidung", figures.days_to_decision)),
        "Erläuterungen: " + plain(notes(figures)),
    ]


def council_sources(figures: CombinedFigures) -> str:
    """Whose figures these are, by organisation and with the time they were read; who is missing;
    and, where the Stellen count by different Zielgruppen decisions, which."""
    named = [f"{_organisation(n.source)} (Stand: {stand(n.read_at)})" for n in figures.sources]
    if len(named) == 1:
        text = f"Die Zahlen beruhen allein auf den Angaben von {named[0]}."
    else:
        text = f"Die Zahlen fassen die Angaben folgender Stellen zusammen: {', '.join(named)}."
    if figures.missing:
        text += " Ohne Angaben von " + ", ".join(f"{_organisation(m.source)} ({m.reason})"
                                                 for m in figures.missing) + "."
    if len(figures.versions) > 1:
        text += (" Die Stellen zählen nach unterschiedlichen Fassungen der von der Lenkungsgruppe "
                 "beschlossenen Zielgruppen: " + ", ".join(
                     f"Fassung {version} ({', '.join(names)})" for version, names in figures.versions) + ".")
    return text


def _organisation(source: NodeSource) -> str:
    return source.organization_name or source.organization or source.node_id


_PLAIN = (
    (re.compile(r" \(Knoten [^)]*\)"), ""),
    (re.compile(r"Die Knoten zählen nach unterschiedlichen Versionen des Zielgruppenkatalogs"),
     "Die Stellen zählen nach unterschiedlichen Fassungen der Zielgruppen"),
    (re.compile(r"die ein Knoten nicht kennt, zählt bei ihm"), "die eine Stelle nicht kennt, zählt bei ihr"),
    (re.compile(r"von einem einzigen Knoten"), "von einer einzigen Stelle"),
    (re.compile(r"kein Knoten (\w+) (.*?) mit seiner"), r"keine Stelle \1 \2 mit ihrer"),
    (re.compile(r"kein Knoten"), "keine Stelle"),
    (re.compile(r"einzelner Knoten"), "einzelner Stellen"),
    (re.compile(r"(von den|die) Knoten"), r"\1 beteiligten Stellen"),
    (re.compile(r"die Zahlen des Verbunds"), "die Zahlen aller beteiligten Stellen"),
)


def plain(text: str) -> str:
    """The federation's shared wording (domain/federation.py, figure_lines.py) in council words."""
    for pattern, words in _PLAIN:
        text = pattern.sub(words, text)
    return text
