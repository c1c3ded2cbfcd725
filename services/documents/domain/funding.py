"""The Kreis's funding key and the check of an allocation file against the granted VZÄ.

What the seeds say (DOMAIN.md, "Boundaries and keys"):
- Kreis Wesel: one third of the case-management positions stays with the Kreis, two thirds go to
  Kommunen and/or Träger, "wobei eine Stellenteilung bei kleineren Kommunen möglich wäre"
  (Voerde). So at most two thirds of the granted VZÄ may be passed on.
- Rheinisch-Bergischer Kreis: the positions follow the key FlüAG 40 % / AWoV 60 % (RBK). Where
  the Kreis gives each Kommune's quota under each part of the key, a Kommune's share of the
  passed-on VZÄ is the weighted sum of its quotas; an allocation above it breaks the key.

The key is configuration of the Kreis (the `funding.key` of an allocation file), never code. Every
split of a total into parts (money to the cent, VZÄ to the hundredth) is by largest remainder, so
the parts always add up to the total exactly: 55.000 € shared by three Kommunen is
18.333,34 € + 18.333,33 € + 18.333,33 €, never 54.999,99 €.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Annotated, Any

from pydantic import BeforeValidator

from services.documents.domain import formats
from services.documents.domain.parsing import rule_error

CENT = Decimal("0.01")
"""Money is split to the cent."""

HUNDREDTH_FTE = Decimal("0.01")
"""VZÄ are written with at most two decimals (0,75)."""

BAUSTEINE = (1, 2, 3)
BAUSTEIN_LABELS = {
    1: "Baustein 1 – strategische Steuerung (koordinierende Stelle)",
    2: "Baustein 2 – rechtskreisübergreifendes Case Management",
    3: "Baustein 3 – zusätzliche Stellen in der Ausländer- und Einbürgerungsbehörde",
}

_FRACTION = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")
_PERCENT = re.compile(r"^\s*(\d+(?:[.,]\d+)?)\s*%\s*$")
_DECIMAL = re.compile(r"^\s*(\d+(?:[,]\d+)?)\s*$")


def _share(value: Any) -> Fraction:
    """A share as the Kreise write it: "1/3", "40 %", "0,4" or 0.4; exact, between 0 and 1."""
    share: Fraction | None = None
    if isinstance(value, bool):
        share = None
    elif isinstance(value, int):
        share = Fraction(value)
    elif isinstance(value, float):
        share = Fraction(str(value))
    elif isinstance(value, str):
        if match := _FRACTION.match(value):
            denominator = int(match.group(2))
            share = Fraction(int(match.group(1)), denominator) if denominator else None
        elif match := _PERCENT.match(value):
            share = Fraction(match.group(1).replace(",", ".")) / 100
        elif match := _DECIMAL.match(value):
            share = Fraction(match.group(1).replace(",", "."))
    if share is None:
        raise rule_error("Anteil erwartet, z. B. „1/3“, „40 %“ oder 0.4.")
    if not 0 <= share <= 1:
        raise rule_error(f"Ein Anteil liegt zwischen 0 und 100 % (angegeben: {percent(share)}).")
    return share


Share = Annotated[Fraction, BeforeValidator(_share)]


def percent(share: Fraction) -> str:
    """40 % / 33,33 % (printed, German)."""
    return formats.percent(Decimal(share.numerator) / Decimal(share.denominator))


def share_label(share: Fraction) -> str:
    """How a contract names a share: "ein Drittel", "zwei Drittel", else "40 %"."""
    return _WORDS.get(share, percent(share))


_WORDS = {Fraction(1, 3): "ein Drittel", Fraction(2, 3): "zwei Drittel", Fraction(1, 2): "die Hälfte",
          Fraction(1, 4): "ein Viertel", Fraction(3, 4): "drei Viertel", Fraction(1): "alle"}


def split(total: Decimal, weights: Sequence[Fraction | Decimal], quantum: Decimal = CENT) -> list[Decimal]:
    """`total` in parts proportional to `weights`, each a multiple of `quantum`, adding up to
    `total` exactly (largest remainder; ties go to the earlier part, so the result is stable).

    `total` must itself be a multiple of `quantum`; weights are not negative and not all 0."""
    exact_weights = [Fraction(w) for w in weights]
    if any(w < 0 for w in exact_weights) or not any(exact_weights):
        raise ValueError("weights must be non-negative and not all zero")
    units_total = Fraction(total) / Fraction(quantum)
    if units_total.denominator != 1:
        raise ValueError(f"{total} is not a multiple of {quantum}")
    whole = sum(exact_weights)
    exact = [units_total * w / whole for w in exact_weights]
    floors = [e.numerator // e.denominator for e in exact]
    left = int(units_total) - sum(floors)
    # The parts with the largest remainders get one unit each; for a negative total the floors are
    # below the exact values too, so the same rule holds.
    order = sorted(range(len(exact)), key=lambda i: (-(exact[i] - floors[i]), i))
    for i in order[:left]:
        floors[i] += 1
    return [Decimal(units) * quantum for units in floors]


@dataclass(frozen=True)
class KeyPart:
    label: str
    share: Fraction


@dataclass(frozen=True)
class FundingKey:
    """A Kreis's key: what stays with the Kreis, and (optionally) how the passed-on positions are
    shared among the Kommunen by weighted quotas (RBK: FlüAG 40 % / AWoV 60 %)."""

    label: str
    kreis_share: Fraction = Fraction(0)
    parts: tuple[KeyPart, ...] = ()
    quotas: tuple[tuple[str, tuple[Fraction, ...]], ...] = ()
    """(Kommune, its quota under each part in the order of `parts`)."""

    def passed_on_limit(self, granted: Decimal) -> Decimal:
        """The most VZÄ the Kreis may pass on: the granted ones less its own share, to the
        hundredth (11 × 2/3 = 7,33: the Kreis keeps 3,67)."""
        return split(granted, [1 - self.kreis_share, self.kreis_share], HUNDREDTH_FTE)[0]

    def entitlements(self, passed_on: Decimal) -> dict[str, Decimal]:
        """Each Kommune's share of `passed_on` VZÄ by the weighted quotas; they add up to it."""
        if not self.quotas:
            return {}
        weights = [sum((part.share * quota for part, quota in zip(self.parts, quotas, strict=True)),
                       Fraction(0)) for _, quotas in self.quotas]
        if not any(weights):
            return {name: Decimal(0) for name, _ in self.quotas}
        return dict(zip((name for name, _ in self.quotas), split(passed_on, weights, HUNDREDTH_FTE),
                        strict=True))

    def description(self) -> str:
        """German, for the contract: "FlüAG 40 % / AWoV 60 %; beim Kreis verbleibt ein Drittel"."""
        text = self.label
        if self.kreis_share:
            text += f"; beim Kreis verbleibt {share_label(self.kreis_share)} der Stellen"
        return text


@dataclass(frozen=True)
class Position:
    """One allocation as the check sees it: the Baustein, the VZÄ, and the VZÄ per Kommune
    (a Stellenteilung lists several)."""

    path: tuple[int | str, ...]
    baustein: int
    fte: Decimal
    per_municipality: tuple[tuple[str, Decimal], ...]


def check_allocation(granted: dict[int, Decimal], key: FundingKey | None,
                     positions: Sequence[Position]) -> list[tuple[tuple[int | str, ...], str]]:
    """German refusals, each at its path: a Baustein whose allocations exceed the granted VZÄ (for
    Baustein 2 less what the key keeps with the Kreis), a Kommune above its share by the key."""
    problems: list[tuple[tuple[int | str, ...], str]] = []
    for baustein in BAUSTEINE:
        used = [p for p in positions if p.baustein == baustein]
        total = sum((p.fte for p in used), Decimal(0))
        if not used or baustein not in granted:
            continue
        limit, why = granted[baustein], f"bewilligt sind {formats.fte(granted[baustein])} VZÄ"
        if baustein == 2 and key is not None and key.kreis_share:
            limit = key.passed_on_limit(granted[baustein])
            why += (f", davon verbleibt nach dem Schlüssel des Kreises {share_label(key.kreis_share)} "
                    f"beim Kreis; weitergeleitet werden dürfen höchstens {formats.fte(limit)} VZÄ")
        if total > limit:
            problems.append(((*used[-1].path, "fte"),
                             f"Die Zuweisungen für Baustein {baustein} ergeben {formats.fte(total)} VZÄ; "
                             f"{why}. Es sind {formats.fte(total - limit)} VZÄ zu viel."))
    if key is not None and key.quotas and 2 in granted:
        problems += _check_quotas(key, key.passed_on_limit(granted[2]),
                                  [p for p in positions if p.baustein == 2])
    return problems


def _check_quotas(key: FundingKey, passed_on: Decimal,
                  positions: Sequence[Position]) -> list[tuple[tuple[int | str, ...], str]]:
    entitled = key.entitlements(passed_on)
    per_place: dict[str, Decimal] = {}
    last_path: dict[str, tuple[int | str, ...]] = {}
    for position in positions:
        for place, fte in position.per_municipality:
            per_place[place] = per_place.get(place, Decimal(0)) + fte
            last_path[place] = position.path
    problems = []
    for place, fte in per_place.items():
        if place not in entitled:
            problems.append(((*last_path[place], "municipality"),
                             f"{place} hat im Schlüssel des Kreises ({key.label}) keine Quote; "
                             "bitte unter funding.key.quotas eintragen."))
        elif fte > entitled[place]:
            problems.append(((*last_path[place], "fte"),
                             f"{place} erhält {formats.fte(fte)} VZÄ; nach dem Schlüssel des Kreises "
                             f"({key.label}) stehen {place} {formats.fte(entitled[place])} VZÄ zu."))
    return problems
