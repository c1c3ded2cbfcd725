"""The zahlenmäßiger Verwendungsnachweis and the Sachbericht to the Bewilligungsbehörde (issue 14):
rendered from the Mettmann example with the built-in templates and read back; every table adds
up (positions to Personalausgaben, Personal- and Sachausgaben to the Baustein, Bausteine to the
totals, Einnahmen to their sum), VZÄ are Jahresmittel against the bewilligte, German formats;
impossible inputs are refused at their path.
"""

from __future__ import annotations

import copy
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from kimnetz.errors import InvalidArgument
from services.documents.domain.kinds import SACHBERICHT, VERWENDUNGSNACHWEIS
from tests.unit.documents.documents_factories import body_text, render_builtin

EXAMPLE = (Path(__file__).resolve().parents[3] / "services" / "documents" / "examples"
           / "mettmann-foerdernachweis-2026.yaml")


def example() -> dict[str, Any]:
    return copy.deepcopy(yaml.safe_load(EXAMPLE.read_text(encoding="utf-8")))


def euro(text: str) -> Decimal:
    """'63.200,00 €' -> Decimal('63200.00')"""
    return Decimal(text.replace("\xa0€", "").replace(".", "").replace(",", "."))


def test_the_verwendungsnachweis_adds_up_in_every_table() -> None:
    document = render_builtin(VERWENDUNGSNACHWEIS, VERWENDUNGSNACHWEIS.prepare(example()).context)
    tables = [[[cell.text for cell in row.cells] for row in t.rows] for t in document.tables]
    einnahmen = next(t for t in tables if t[0][:2] == ["Baustein", "Zuwendung"])
    positions = [t for t in tables if t[0][0] == "Stelle"]
    assert len(positions) == 3
    ausgaben = Decimal(0)
    for table in positions:
        listed = [r for r in table[1:] if r[0] not in ("Personalausgaben", "Sachausgaben",
                                                      "Ausgaben des Bausteins")]
        personal = next(r for r in table if r[0] == "Personalausgaben")[-1]
        sach = next(r for r in table if r[0] == "Sachausgaben")[-1]
        baustein = next(r for r in table if r[0] == "Ausgaben des Bausteins")[-1]
        assert sum(euro(r[-1]) for r in listed) == euro(personal)
        assert euro(personal) + euro(sach) == euro(baustein)
        ausgaben += euro(baustein)
    for column in (1, 2, 3):
        assert sum(euro(r[column]) for r in einnahmen[1:-1]) == euro(einnahmen[-1][column])
    text = body_text(document)
    assert "Ausgaben insgesamt: 713.750,00\xa0€" in text and ausgaben == Decimal("713750.00")
    assert "Einnahmen insgesamt: 713.750,00\xa0€" in text
    assert "Zuwendungsbescheid vom 16.02.2026, Az. 36.04.01-KIM-2026-0158" in text
    assert "Allgemeinen Nebenbestimmungen für Zuwendungen zur Projektförderung an Gemeinden (GV)" in text
    # VZÄ: bewilligt against the Jahresmittel of the positions (0,5 VZÄ for 6 months = 0,25).
    vzae = next(t for t in tables if t[0][0] == "Baustein" and t[0][1] == "bewilligte VZÄ")
    assert vzae[1:] == [
        ["Baustein 1 – Strategische Steuerung (koordinierende Stelle)", "3,5", "3,25", "-0,25"],
        ["Baustein 2 – Rechtskreisübergreifendes Case Management", "7,0", "6,25", "-0,75"],
        ["Baustein 3 – Ausländer- und Einbürgerungsbehörde", "1,5", "1,5", "0,0"],
        ["Insgesamt", "12,0", "11,0", ""]]
    assert "Personalausgaben je besetzter VZÄ: 62.400,00\xa0€ (Pauschale je VZÄ: 55.000,00\xa0€)" in text
    assert "Nicht verbrauchte Zuwendung" not in text


def test_an_unused_zuwendung_is_named_for_the_rueckforderung() -> None:
    data = example()
    data["bausteine"] = [data["bausteine"][2]]
    data["bausteine"][0]["einnahmen"] = {"zuwendung": 75000, "eigenanteil": 0}
    data["bausteine"][0]["positions"][1]["personalausgaben"] = 1900  # 68.200,00 € spent in all
    context = VERWENDUNGSNACHWEIS.prepare(data).context
    assert (context["saldo"], context["unused"], context["has_unused"]) == (
        "6.800,00\xa0€", "6.800,00\xa0€", True)
    text = body_text(render_builtin(VERWENDUNGSNACHWEIS, context))
    assert "Nicht verbrauchte Zuwendung: 6.800,00\xa0€" in text


@pytest.mark.parametrize(("change", "field", "message"), [
    (lambda d: d["bausteine"][1]["einnahmen"].update(zuwendung=400000), "bausteine[1].einnahmen.zuwendung",
     "übersteigt die bewilligte (385.000,00\xa0€)"),
    (lambda d: d["bausteine"][2].update(baustein=2), "bausteine[2].baustein", "doppelt"),
    (lambda d: d.update(date="2026-12-01"), "date", "nach dem Ende des Bewilligungszeitraums (31.12.2026)"),
    (lambda d: d["bausteine"][0]["positions"][0].update(personalausgaben=72400.001),
     "bausteine[0].positions[0].personalausgaben", "Cent"),
    (lambda d: d["bausteine"][0]["positions"][0].update(months=13), "bausteine[0].positions[0].months", ""),
])
def test_impossible_figures_are_refused_at_their_path(change: Any, field: str, message: str) -> None:
    data = example()
    change(data)
    with pytest.raises(InvalidArgument) as refused:
        VERWENDUNGSNACHWEIS.prepare(data)
    assert [v.field for v in refused.value.violations] == [field], refused.value.violations
    assert message in refused.value.violations[0].description


def test_the_sachbericht_reports_the_year_in_words_with_vzae_and_case_figures() -> None:
    context = SACHBERICHT.prepare(example()).context
    text = body_text(render_builtin(SACHBERICHT, context))
    assert "Sachbericht für das Jahr 2026" in text
    assert "Stellenteilung mit 0,5 VZÄ" in text and "Clearingstelle" in text
    assert "Fallzahlen im Berichtszeitraum" in text and "Aufnahmen nach Wohnort (Kommune)" in text
    assert "Thomas Hendele" in text and "Landrat" in text
    data = example()
    del data["sachbericht"]
    with pytest.raises(InvalidArgument) as refused:
        SACHBERICHT.prepare(data)
    assert refused.value.violations[0].field == "sachbericht"
    VERWENDUNGSNACHWEIS.prepare(data)  # the Verwendungsnachweis needs no Sachbericht texts
