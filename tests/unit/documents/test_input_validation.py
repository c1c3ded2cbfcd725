"""Bad input is refused with every problem at once, each with its path and a German description."""

from __future__ import annotations

import pytest

from kimnetz.errors import InvalidArgument
from services.documents.domain.contract import parse_allocation_file
from services.documents.domain.drucksache import parse_drucksache
from tests.unit.documents.documents_factories import make_allocation, make_allocation_file, make_drucksache


def violations(parse, data) -> dict[str, str]:
    with pytest.raises(InvalidArgument) as caught:
        parse(data)
    return {v.field: v.description for v in caught.value.violations}


def test_every_problem_of_an_allocation_file_is_reported_with_its_path():
    data = make_allocation_file(
        kreis={"name": "Kreis", "address": "Weg 1", "office": "KI"},
        term={"from": "2026-07-01", "to": "2026-01-31"},
        allocations=[
            make_allocation(),
            make_allocation(name="Caritas", kind="welfare_org"),
            make_allocation(name="Stadt A", fte=-1),
            make_allocation(name="Stadt B", kind="verein", ftee=1),
        ],
    )
    found = violations(parse_allocation_file, data)
    assert set(found) == {
        "kreis.represented_by",
        "term.to",
        "allocations[1].municipality",
        "allocations[2].fte",
        "allocations[3].partner.kind",
        "allocations[3].ftee",
    }
    assert found["kreis.represented_by"] == "Pflichtangabe fehlt."
    assert "endet (31.01.2026) vor ihrem Beginn (01.07.2026)" in found["term.to"]
    assert "Kommune anzugeben" in found["allocations[1].municipality"]
    assert (
        found["allocations[3].partner.kind"]
        == "Unzulässiger Wert „verein“; erlaubt: municipality, welfare_org."
    )
    assert found["allocations[3].ftee"] == "Unbekanntes Feld (Tippfehler?)."


@pytest.mark.parametrize(
    ("fte", "expected"),
    [
        (0, "größer als 0"),
        (-0.5, "größer als 0"),
        (12, "Unplausibler Stellenanteil 12,0 VZÄ"),
        (0.333, "zwei Nachkommastellen"),
        (True, "Zahl erwartet"),
        ("viel", "Zahl erwartet"),
    ],
)
def test_zero_negative_absurd_or_non_numeric_fte_is_refused(fte, expected):
    found = violations(parse_allocation_file, make_allocation_file(allocations=[make_allocation(fte=fte)]))
    assert expected in found["allocations[0].fte"]


def test_rate_written_with_a_german_thousands_dot_is_caught():
    # YAML reads `55.000` as the float 55.0: the contract would pay 55 € per position.
    found = violations(parse_allocation_file, make_allocation_file(rates={"case_management_per_fte": 55.000}))
    assert "Unplausibler Betrag 55,00" in found["rates.case_management_per_fte"]


def test_a_year_written_as_a_bare_number_is_not_taken_for_a_date():
    found = violations(parse_allocation_file, make_allocation_file(term={"from": 2026, "to": "2026-12-31"}))
    assert found["term.from"] == "Datum im Format JJJJ-MM-TT erwartet, z. B. 2026-01-01."


def test_a_term_without_a_countable_month_is_refused():
    found = violations(
        parse_allocation_file, make_allocation_file(term={"from": "2026-02-01", "to": "2026-02-10"})
    )
    assert "keinen Monat" in found["term.to"]


def test_the_same_partner_twice_for_the_same_place_is_refused():
    data = make_allocation_file(allocations=[make_allocation(), make_allocation(fte=1)])
    assert "mehrfach eingetragen" in violations(parse_allocation_file, data)["allocations"]


def test_one_traeger_may_serve_two_municipalities():
    data = make_allocation_file(
        allocations=[
            make_allocation(name="Caritas Rhein-Berg", kind="welfare_org", municipality="Gemeinde Kürten"),
            make_allocation(name="Caritas Rhein-Berg", kind="welfare_org", municipality="Gemeinde Odenthal"),
        ]
    )
    assert len(parse_allocation_file(data).allocations) == 2


def test_an_input_that_is_no_mapping_is_reported_as_a_whole():
    assert violations(parse_allocation_file, None) == {"(gesamte Eingabe)": "Abschnitt mit Feldern erwartet."}


def test_unknown_role_in_the_beratungsfolge_is_refused_with_the_allowed_roles():
    data = make_drucksache()
    data["consultations"][1]["role"] = "entscheidend"
    found = violations(parse_drucksache, data)
    allowed = "vorberatend, beschließend, Kenntnisnahme"
    assert found == {"consultations[1].role": f"Unzulässiger Wert „entscheidend“; erlaubt: {allowed}."}


def test_every_problem_of_a_drucksache_is_reported_with_its_path():
    data = make_drucksache(kind="Antrag", climate_relevance="vielleicht", public="ja", attachments="Anlage 1")
    del data["signature"]
    data["consultations"][0]["date"] = "16.11.2021"
    found = violations(parse_drucksache, data)
    assert set(found) == {
        "kind",
        "climate_relevance",
        "public",
        "attachments",
        "signature",
        "consultations[0].date",
    }


def test_a_beschlussvorlage_needs_a_deciding_body():
    data = make_drucksache()
    data["consultations"][2]["role"] = "vorberatend"
    assert "beschließendes Gremium" in violations(parse_drucksache, data)["consultations"]


def test_a_mitteilungsvorlage_is_not_decided():
    found = violations(parse_drucksache, make_drucksache(kind="Mitteilungsvorlage"))
    assert "Stadtrat" in found["consultations"]
