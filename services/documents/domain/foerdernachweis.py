"""What a Kreis sends to the funding authority once a year (issue 14): the zahlenmäßiger
Verwendungsnachweis and the Sachbericht of the KIM funding (Förderrichtlinie Kommunales
Integrationsmanagement NRW; Bewilligungsbehörde e.g. Bezirksregierung Arnsberg), from one input.

The Verwendungsnachweis follows the ANBest (ANBest-G for Gemeinden und Gemeindeverbände, ANBest-P
for other Zuwendungsempfänger, Nr. 6): Einnahmen (Zuwendung, Eigenanteil, Mittel Dritter) and
Ausgaben per Baustein, the Personalausgaben per Stelle with VZÄ and months, the besetzte VZÄ
(Jahresmittel: VZÄ × Monate / 12) against the bewilligte, the Personalausgaben per besetzter VZÄ
beside the Pauschale (55.000 € je VZÄ und Jahr for case management: Voerde seed; 25.000 € per
half position for the ABH: RBK seed), the Saldo, and the Bestätigung the ANBest require.
Everything is added up here, to the cent, in `Decimal`: the tables cannot disagree with their
sums. The Sachbericht reports the same year in words and with the period's case figures
(`period_figures`, the Monitoringbericht's section: movements, stock, breakdowns, small numbers
suppressed), plus the same VZÄ table.

Seeds: Bausteine 1-3 and the Pauschale (Voerde), Baustein 3 and the funding key (RBK), one VZÄ
passed on to Arnsberg (HSK); German formats (DOMAIN.md: 27.500,00 €, 16.11.2021).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from services.documents.domain import formats
from services.documents.domain.drucksache import paragraphs
from services.documents.domain.monitoring import Period, PeriodFigures, Signature, period_context
from services.documents.domain.parsing import IsoDate, Model, Number, Text, located_error, parse, rule_error

CENT = Decimal("0.01")
BAUSTEINE = {
    1: "Baustein 1 – Strategische Steuerung (koordinierende Stelle)",
    2: "Baustein 2 – Rechtskreisübergreifendes Case Management",
    3: "Baustein 3 – Ausländer- und Einbürgerungsbehörde",
}
ANBEST = {
    "ANBest-G": "Allgemeinen Nebenbestimmungen für Zuwendungen zur Projektförderung an Gemeinden (GV) "
                "(ANBest-G)",
    "ANBest-P": "Allgemeinen Nebenbestimmungen für Zuwendungen zur Projektförderung (ANBest-P)",
}
BESTAETIGUNG = ("Es wird bestätigt, dass die allgemeinen und besonderen Nebenbestimmungen des "
                "Zuwendungsbescheides beachtet wurden, die Ausgaben notwendig waren, wirtschaftlich und "
                "sparsam verfahren worden ist und die Angaben mit den Büchern und gegebenenfalls den "
                "Belegen übereinstimmen.")


def _money(value: Number) -> Decimal:
    if value < 0:
        raise rule_error("Beträge können nicht negativ sein.")
    if value != value.quantize(CENT):
        raise rule_error("Beträge auf den Cent genau angeben (höchstens zwei Nachkommastellen).")
    return value


class Party(Model):
    name: Text
    address: list[Text] = Field(default_factory=list)
    office: Text | None = None


class Bescheid(Model):
    date: IsoDate
    reference: Text
    """Aktenzeichen of the Zuwendungsbescheid."""


class Position(Model):
    function: Text
    """„Case Management Stadt Hilden“, „Koordination“ ..."""
    employer: Text | None = None
    """Where the position works when passed on (Weiterleitung an eine Kommune oder einen Träger)."""
    fte: Number
    months: int = Field(ge=1, le=12)
    personalausgaben: Number

    @field_validator("fte")
    @classmethod
    def _fte(cls, value: Decimal) -> Decimal:
        if not Decimal(0) < value <= Decimal(10) or value != value.quantize(CENT):
            raise rule_error("VZÄ größer als 0, höchstens 10, mit höchstens zwei Nachkommastellen.")
        return value

    @field_validator("personalausgaben")
    @classmethod
    def _amount(cls, value: Decimal) -> Decimal:
        return _money(value)


class Einnahmen(Model):
    zuwendung: Number
    eigenanteil: Number = Decimal(0)
    dritte: Number = Decimal(0)

    @field_validator("zuwendung", "eigenanteil", "dritte")
    @classmethod
    def _amount(cls, value: Decimal) -> Decimal:
        return _money(value)


class Baustein(Model):
    baustein: Literal[1, 2, 3]
    bewilligte_vzae: Number
    bewilligte_zuwendung: Number
    """The amount of the Bescheid for this Baustein."""
    pauschale_je_vzae: Number | None = None
    """Per VZÄ and year (55.000 € case management); printed beside the Ist per VZÄ."""
    einnahmen: Einnahmen
    sachausgaben: Number = Decimal(0)
    positions: list[Position] = Field(min_length=1)

    @field_validator("bewilligte_zuwendung", "sachausgaben")
    @classmethod
    def _amount(cls, value: Decimal) -> Decimal:
        return _money(value)


class Sachbericht(Model):
    umsetzung: Text
    erkenntnisse: Text
    zusammenarbeit: Text
    ausblick: Text


class Foerdernachweis(Model):
    zuwendungsempfaenger: Party
    bewilligungsbehoerde: Party = Party(name="Bezirksregierung Arnsberg",
                                        address=["Seibertzstraße 1", "59821 Arnsberg"])
    foerderrichtlinie: Text = ("Richtlinie über die Gewährung von Zuwendungen zur Förderung eines "
                               "Kommunalen Integrationsmanagements in Nordrhein-Westfalen (KIM)")
    bescheid: Bescheid
    anbest: Literal["ANBest-G", "ANBest-P"] = "ANBest-G"
    period: Period
    bausteine: list[Baustein] = Field(min_length=1)
    place: Text
    date: IsoDate
    signature: Signature
    sachbericht: Sachbericht | None = None
    period_figures: PeriodFigures | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Foerdernachweis:
        problems: list[tuple[tuple[int | str, ...], str]] = []
        seen: set[int] = set()
        for i, b in enumerate(self.bausteine):
            if b.baustein in seen:
                problems.append((("bausteine", i, "baustein"),
                                 f"Baustein {b.baustein} ist doppelt aufgeführt."))
            seen.add(b.baustein)
            if b.einnahmen.zuwendung > b.bewilligte_zuwendung:
                problems.append((("bausteine", i, "einnahmen", "zuwendung"),
                                 f"Die erhaltene Zuwendung ({formats.money(b.einnahmen.zuwendung)}) "
                                 f"übersteigt die bewilligte ({formats.money(b.bewilligte_zuwendung)})."))
        if self.date < self.period.end:
            problems.append((("date",), "Der Nachweis kann erst nach dem Ende des Bewilligungszeitraums "
                                        f"({formats.day(self.period.end)}) datiert sein."))
        if self.period_figures is not None:
            problems += self.period_figures.problems(federation=False)
        if problems:
            raise located_error(problems)
        return self


@dataclass(frozen=True)
class BausteinSums:
    baustein: Baustein
    personal: Decimal
    ausgaben: Decimal
    einnahmen: Decimal
    besetzte_vzae: Decimal
    """Jahresmittel: Σ VZÄ × Monate / 12, on two decimals."""

    @property
    def saldo(self) -> Decimal:
        return self.einnahmen - self.ausgaben

    @property
    def je_vzae(self) -> Decimal | None:
        if self.besetzte_vzae == 0:
            return None
        return (self.personal / self.besetzte_vzae).quantize(CENT, ROUND_HALF_UP)


def sums(b: Baustein) -> BausteinSums:
    personal = sum((p.personalausgaben for p in b.positions), Decimal(0))
    staffed = sum((p.fte * p.months / 12 for p in b.positions), Decimal(0))
    e = b.einnahmen
    return BausteinSums(b, personal, personal + b.sachausgaben, e.zuwendung + e.eigenanteil + e.dritte,
                        staffed.quantize(CENT, ROUND_HALF_UP))


def parse_foerdernachweis(data: Any) -> Foerdernachweis:
    return parse(Foerdernachweis, data)


def _signed(amount: Decimal) -> str:
    return ("– " + formats.money(-amount)) if amount < 0 else formats.money(amount)


def foerdernachweis_context(n: Foerdernachweis) -> dict[str, Any]:
    """What both templates may use; money, VZÄ and days already printed in German."""
    parts = [sums(b) for b in sorted(n.bausteine, key=lambda b: b.baustein)]
    total = {
        "zuwendung": sum((s.baustein.einnahmen.zuwendung for s in parts), Decimal(0)),
        "eigenanteil": sum((s.baustein.einnahmen.eigenanteil for s in parts), Decimal(0)),
        "dritte": sum((s.baustein.einnahmen.dritte for s in parts), Decimal(0)),
        "einnahmen": sum((s.einnahmen for s in parts), Decimal(0)),
        "personal": sum((s.personal for s in parts), Decimal(0)),
        "sach": sum((s.baustein.sachausgaben for s in parts), Decimal(0)),
        "ausgaben": sum((s.ausgaben for s in parts), Decimal(0)),
        "bewilligt": sum((s.baustein.bewilligte_zuwendung for s in parts), Decimal(0)),
        "bewilligte_vzae": sum((s.baustein.bewilligte_vzae for s in parts), Decimal(0)),
        "besetzte_vzae": sum((s.besetzte_vzae for s in parts), Decimal(0)),
    }
    saldo = total["einnahmen"] - total["ausgaben"]
    unused = max(Decimal(0), total["zuwendung"] - max(Decimal(0), total["ausgaben"] - total["eigenanteil"]
                                                      - total["dritte"]))
    return {
        "empfaenger": {"name": n.zuwendungsempfaenger.name, "address": list(n.zuwendungsempfaenger.address),
                       "office": n.zuwendungsempfaenger.office or ""},
        "behoerde": {"name": n.bewilligungsbehoerde.name, "address": list(n.bewilligungsbehoerde.address)},
        "richtlinie": n.foerderrichtlinie,
        "bescheid": {"date": formats.day(n.bescheid.date), "reference": n.bescheid.reference},
        "anbest": ANBEST[n.anbest],
        "period": {"start": formats.day(n.period.start), "end": formats.day(n.period.end)},
        "year": str(n.period.end.year),
        "bausteine": [{
            "name": BAUSTEINE[s.baustein.baustein],
            "positions": [{"function": p.function, "employer": p.employer or "", "fte": formats.fte(p.fte),
                           "months": str(p.months), "amount": formats.money(p.personalausgaben)}
                          for p in s.baustein.positions],
            "personal": formats.money(s.personal), "sach": formats.money(s.baustein.sachausgaben),
            "ausgaben": formats.money(s.ausgaben),
            "zuwendung": formats.money(s.baustein.einnahmen.zuwendung),
            "eigenanteil": formats.money(s.baustein.einnahmen.eigenanteil),
            "dritte": formats.money(s.baustein.einnahmen.dritte),
            "einnahmen": formats.money(s.einnahmen), "saldo": _signed(s.saldo),
            "bewilligt": formats.money(s.baustein.bewilligte_zuwendung),
            "bewilligte_vzae": formats.fte(s.baustein.bewilligte_vzae),
            "besetzte_vzae": formats.fte(s.besetzte_vzae),
            "vzae_differenz": formats.fte(s.besetzte_vzae - s.baustein.bewilligte_vzae),
            "je_vzae": formats.money(s.je_vzae) if s.je_vzae is not None else "–",
            "pauschale": formats.money(s.baustein.pauschale_je_vzae) if s.baustein.pauschale_je_vzae else "–",
        } for s in parts],
        "total": {key: (formats.fte(value) if key.endswith("vzae") else formats.money(value))
                  for key, value in total.items()},
        "saldo": _signed(saldo),
        "unused": formats.money(unused),
        "has_unused": unused > 0,
        "bestaetigung": BESTAETIGUNG,
        "place": n.place,
        "date": formats.day(n.date),
        "signature": {"name": n.signature.name, "function": n.signature.function},
        "sachbericht": {key: paragraphs(getattr(n.sachbericht, key)) if n.sachbericht else []
                        for key in ("umsetzung", "erkenntnisse", "zusammenarbeit", "ausblick")},
        "period_figures": period_context(n.period_figures),
    }


def _check_sachbericht(n: Foerdernachweis) -> None:
    if n.sachbericht is None:
        raise located_error([(("sachbericht",), "Für den Sachbericht die Abschnitte umsetzung, erkenntnisse, "
                                                "zusammenarbeit und ausblick angeben.")])


def sachbericht_context(n: Foerdernachweis) -> dict[str, Any]:
    _check_sachbericht(n)
    return foerdernachweis_context(n)
