"""What users rely on in the generated documents, read back with python-docx."""

from __future__ import annotations

from services.documents.domain.contract import contract_context, parse_allocation_file
from services.documents.domain.drucksache import drucksache_context, parse_drucksache
from services.documents.domain.kinds import CONTRACT, DRUCKSACHE
from tests.unit.documents.documents_factories import (
    body_text,
    footer_text,
    make_allocation,
    make_allocation_file,
    make_drucksache,
    render_builtin,
    table_rows,
)


def contract_document(**overrides):
    allocations = parse_allocation_file(make_allocation_file(**overrides))
    return render_builtin(CONTRACT, contract_context(allocations, allocations.allocations[0]))


def drucksache_document(**overrides):
    return render_builtin(DRUCKSACHE, drucksache_context(parse_drucksache(make_drucksache(**overrides))))


def money_rows(document) -> dict[str, str]:
    return dict(table_rows(document, "Stellenanteil"))


def test_contract_names_both_parties_with_their_addresses():
    document = contract_document()
    paragraphs = [p.text for p in document.paragraphs]
    start = paragraphs.index("zwischen")
    assert paragraphs[start : start + 11] == [
        "zwischen",
        "Rheinisch-Bergischer Kreis",
        "Am Rübezahlwald 7\n51469 Bergisch Gladbach",
        "vertreten durch den Landrat",
        "– nachfolgend „Kreis“ genannt –",
        "und",
        "Gemeinde Kürten",
        "Karlheinz-Stockhausen-Platz 1\n51515 Kürten",
        "(Kommune)",
        "– nachfolgend „Partner“ genannt –",
        "Präambel",
    ]


def test_contract_states_share_annual_amount_and_term_amount_for_a_full_year():
    document = contract_document(allocations=[make_allocation(fte=2)])
    assert money_rows(document) == {
        "Stellenanteil": "2,0 VZÄ",
        "Fachbezogene Pauschale des Landes je VZÄ und Jahr": "55.000,00\xa0€",
        "Jahresbetrag": "110.000,00\xa0€",
        "Laufzeit": "01.01.2026 bis 31.12.2026 (12 Monate)",
        "Betrag für die Laufzeit": "110.000,00\xa0€",
    }
    assert "im Umfang von 2,0 Vollzeitäquivalenten (VZÄ)" in body_text(document)


def test_contract_for_a_fractional_position_and_a_shortened_term_with_topup():
    document = contract_document(
        allocations=[make_allocation(fte=0.5)],
        term={"from": "2026-04-01", "to": "2026-12-31"},
        rates={"case_management_per_fte": 55000, "kreis_topup_per_fte": 5000},
    )
    rows = money_rows(document)
    assert rows["Stellenanteil"] == "0,5 VZÄ"
    assert rows["Aufstockung durch den Kreis je VZÄ und Jahr"] == "5.000,00\xa0€"
    assert rows["Jahresbetrag"] == "30.000,00\xa0€"
    assert rows["Laufzeit"] == "01.04.2026 bis 31.12.2026 (9 Monate)"
    assert rows["Betrag für die Laufzeit"] == "22.500,00\xa0€"
    assert "Der Vertrag gilt vom 01.04.2026 bis zum 31.12.2026" in body_text(document)


def test_contract_without_topup_has_no_topup_row():
    assert "Aufstockung durch den Kreis je VZÄ und Jahr" not in money_rows(contract_document())


def test_contract_for_a_traeger_names_the_municipality_where_it_works():
    document = contract_document(
        allocations=[
            make_allocation(
                name="Katholische Jugendagentur Rhein-Berg",
                kind="welfare_org",
                municipality="Stadt Burscheid",
                fte=1,
            )
        ]
    )
    text = body_text(document)
    assert "(Träger der Freien Wohlfahrtspflege)" in text
    assert "setzt sie in Stadt Burscheid ein" in text
    assert "(2) Der Partner ist Träger der Freien Wohlfahrtspflege" in text
    assert "(3) Zielgruppen" in text
    assert "Katholische Jugendagentur Rhein-Berg (Stadt Burscheid)" in footer_text(document)


def test_contract_carries_supervision_reporting_data_protection_and_signatures():
    text = body_text(contract_document())
    for expected in (
        "§ 4 Fachaufsicht",
        "Die Fachaufsicht über die Case Managerinnen und Case Manager übt der Kreis durch das "
        "Kommunale Integrationszentrum als koordinierende Stelle aus "
        "(zuständig: Kommunales Integrationszentrum)",
        "§ 5 Berichtspflichten",
        "Verwendungsnachweis",
        "§ 7 Datenschutz",
        "gemeinsam Verantwortliche nach Art. 26 DSGVO",
        "Für den Kreis",
        "Für den Partner",
    ):
        assert expected in text


def test_footer_numbers_the_pages():
    document = contract_document()
    instructions = [
        i.text.strip()
        for i in document.sections[0].footer._element.iter(
            "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}instrText"
        )
    ]
    assert instructions == ["PAGE", "NUMPAGES"]
    assert "Seite 1 von 1" in footer_text(document)


def test_drucksache_head_shows_number_date_publicity_and_department():
    document = drucksache_document(public=False)
    assert table_rows(document, "Vorlagen-Nr.") == [
        ["Vorlagen-Nr.", "17/342"],
        ["Datum", "03.11.2021"],
        ["Fachbereich", "Soziales und Jugend"],
        ["Fachdienst", "Soziales"],
    ]
    text = body_text(document)
    assert "Beschlussvorlage" in text
    assert "– nichtöffentlich –" in text
    assert "Stadt Voerde (Niederrhein) · Drucksache 17/342 vom 03.11.2021" in footer_text(document)


def test_drucksache_lists_the_beratungsfolge_in_order_with_dates_and_roles():
    assert table_rows(drucksache_document(), "Gremium") == [
        ["Gremium", "Sitzungstermin", "Rolle"],
        ["Sozialausschuss", "16.11.2021", "vorberatend"],
        ["Haupt- und Finanzausschuss", "30.11.2021", "vorberatend"],
        ["Stadtrat", "07.12.2021", "beschließend"],
    ]


def test_drucksache_crosses_exactly_the_chosen_klimaschutz_option():
    for choice, crossed in (("ja_positiv", 1), ("ja_negativ", 2), ("nein", 3)):
        [box] = table_rows(drucksache_document(climate_relevance=choice), "Auswirkungen auf den Klimaschutz:")
        assert [cell.startswith("☒") for cell in box[1:]] == [i == crossed for i in (1, 2, 3)]
        assert box[1:] == [
            f"{'☒' if i == crossed else '☐'} {label}"
            for i, label in ((1, "ja, positiv*"), (2, "ja, negativ*"), (3, "nein"))
        ]


def test_drucksache_prints_its_sections_and_numbered_attachments():
    text = body_text(drucksache_document())
    for expected in (
        "Betreff\nEinführung des kommunalen Integrationsmanagements",
        "Beschlussvorschlag\nDie Verwaltung wird beauftragt",
        "Finanzielle Auswirkungen\nkeine",
        "Sachdarstellung\nErster Absatz.\nZweiter Absatz.",
        "Haarmann\nBürgermeister",
        "Anlagen\n(1) KIM - Entwurf Kooperationsvertrag\n(2) Handlungskonzept KIM",
    ):
        assert expected in text


def test_mitteilungsvorlage_without_attachments_says_keine():
    document = drucksache_document(
        kind="Mitteilungsvorlage",
        attachments=[],
        consultations=[{"body": "Integrationsrat", "date": "2023-02-15", "role": "Kenntnisnahme"}],
    )
    text = body_text(document)
    assert "Mitteilungsvorlage" in text
    assert text.endswith("Anlagen\nkeine")
    assert table_rows(document, "Gremium")[1] == ["Integrationsrat", "15.02.2023", "zur Kenntnisnahme"]
