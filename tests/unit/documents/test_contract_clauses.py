"""The contract's clauses per partner kind, funding law and Baustein, read back from the DOCX:
data-protection law (Kommune, Caritas, Diakonie, other Träger), ANBest-G/ANBest-P, Prüfrecht,
Rückforderung, Defizitübernahme, Stellenteilung, Baustein 1 and 3."""

from __future__ import annotations

import pytest

from services.documents.domain.contract import contract_context, parse_allocation_file
from services.documents.domain.kinds import CONTRACT
from tests.unit.documents.documents_factories import (
    body_text,
    make_allocation,
    make_allocation_file,
    render_builtin,
    table_rows,
)


def contract_text(allocation, **overrides) -> str:
    allocations = parse_allocation_file(make_allocation_file(allocations=[allocation], **overrides))
    return body_text(render_builtin(CONTRACT, contract_context(allocations, allocations.allocations[0])))


KOMMUNE = make_allocation()
CARITAS = make_allocation(name="Caritasverband für den Kreis Mettmann e. V.", kind="welfare_org",
                          municipality="Stadt Mettmann", fte=1,
                          partner={"name": "Caritasverband für den Kreis Mettmann e. V.",
                                   "kind": "welfare_org",
                                   "address": "Weg 1", "church": "katholisch"})
DIAKONIE = make_allocation(municipality="Stadt Leichlingen", fte=1,
                           partner={"name": "Diakonie Leichlingen", "kind": "welfare_org", "address": "Weg 2",
                                    "church": "evangelisch"})
AWO = make_allocation(municipality="Stadt Hilden", fte=1,
                      partner={"name": "AWO Kreisverband", "kind": "welfare_org", "address": "Weg 3"})


@pytest.mark.parametrize(("allocation", "present", "absent"), [
    (KOMMUNE, ["Datenschutzgesetz Nordrhein-Westfalen (DSG NRW)", "§§ 67 ff. SGB X",
               "Für den Partner als Kommune gilt"], ["KDG", "DSG-EKD", "BDSG"]),
    (CARITAS, ["Gesetz über den Kirchlichen Datenschutz (KDG)", "Art. 91 DSGVO",
               "Art. 26 DSGVO und den entsprechenden Vorschriften des KDG", "Katholische Datenschutzzentrum",
               "§ 78 SGB X"], ["DSG-EKD", "BDSG", "DSG NRW)"]),
    (DIAKONIE, ["(DSG-EKD)", "Art. 26 DSGVO und den entsprechenden Vorschriften des DSG-EKD",
                "Beauftragte für den Datenschutz der EKD"], ["KDG", "BDSG"]),
    (AWO, ["Datenschutz-Grundverordnung (DSGVO) und Bundesdatenschutzgesetz (BDSG)", "LDI NRW"],
     ["KDG", "DSG-EKD"]),
])
def test_the_data_protection_annex_follows_the_kind_of_partner(allocation, present, absent):
    text = contract_text(allocation)
    assert "Anlage: Vereinbarung über die gemeinsame Verantwortlichkeit (Datenschutz)" in text
    for expected in present:
        assert expected in text
    for unexpected in absent:
        assert unexpected not in text


def test_a_kommune_is_bound_by_anbest_g_and_a_traeger_by_anbest_p_by_default():
    assert "Projektförderung an Gemeinden (GV) (ANBest-G)" in contract_text(KOMMUNE)
    text = contract_text(AWO)
    assert "Projektförderung (ANBest-P)" in text
    assert "ANBest-G" not in text


def test_the_kreis_chooses_the_funding_law():
    text = contract_text(KOMMUNE, funding={"law": {"municipality": "ANBest-P"}})
    assert "(ANBest-P)" in text
    assert "ANBest-G" not in text


def test_every_contract_has_pruefrecht_and_rueckforderung():
    text = contract_text(KOMMUNE)
    assert "§ 6 Zuwendungsrecht, Prüfrecht und Rückforderung" in text
    assert "Landesrechnungshof Nordrhein-Westfalen (§ 91 LHO NRW)" in text
    assert "§ 49a VwVfG NRW" in text


def test_defizituebernahme_replaces_the_flat_topup():
    allocation = {**AWO, "deficit_cover": {"cap_per_year": 12000}}
    allocations = parse_allocation_file(make_allocation_file(
        allocations=[allocation], rates={"case_management_per_fte": 55000, "kreis_topup_per_fte": 5000},
        term={"from": "2026-07-01", "to": "2026-12-31"}))
    document = render_builtin(CONTRACT, contract_context(allocations, allocations.allocations[0]))
    rows = dict(table_rows(document, "Stellenanteil"))
    assert "Aufstockung durch den Kreis je VZÄ und Jahr" not in rows
    assert rows["Jahresbetrag"] == "55.000,00\xa0€"
    assert rows["Defizitübernahme durch den Kreis"] == ("bis zu 12.000,00\xa0€ je Jahr "
                                                        "(6.000,00\xa0€ für die Laufzeit)")
    assert "Anstelle einer pauschalen Aufstockung übernimmt der Kreis das Defizit" in body_text(document)


def test_without_defizituebernahme_there_is_no_such_clause():
    assert "Defizitübernahme" not in contract_text(KOMMUNE)


def test_stellenteilung_lists_each_kommune_with_its_part():
    allocation = make_allocation(name="Stadt Voerde (Niederrhein)", fte=1, shared_by=[
        {"municipality": "Stadt Voerde (Niederrhein)", "fte": 0.5},
        {"municipality": "Gemeinde Hünxe", "fte": 0.5}])
    allocations = parse_allocation_file(make_allocation_file(allocations=[allocation]))
    document = render_builtin(CONTRACT, contract_context(allocations, allocations.allocations[0]))
    assert "(Stellenteilung)" in body_text(document)
    assert table_rows(document, "Kommune")[1:] == [
        ["Stadt Voerde (Niederrhein)", "0,5", "27.500,00\xa0€", "27.500,00\xa0€"],
        ["Gemeinde Hünxe", "0,5", "27.500,00\xa0€", "27.500,00\xa0€"]]


def test_baustein_1_to_a_kommune_is_coordination_without_fachaufsicht_over_case_managers():
    text = contract_text(make_allocation(name="Stadt Arnsberg", fte=1, baustein=1),
                         rates={"case_management_per_fte": 55000, "coordination_per_fte": 65000})
    assert "Baustein 1 – strategische Steuerung (koordinierende Stelle)" in text
    assert "die strategische Steuerung des Kommunalen Integrationsmanagements" in text
    assert "Fachaufsicht über die Case Managerinnen" not in text


def test_baustein_3_is_for_the_auslaenderbehoerde():
    text = contract_text(make_allocation(name="Stadt Wesel", fte="0,5", baustein=3),
                         rates={"case_management_per_fte": 55000, "immigration_office_per_fte": 50000})
    assert "Ausländer- und Einbürgerungsbehörde (Baustein 3)" in text
    assert "25.000,00\xa0€" in text


def test_the_key_and_the_grant_are_named_in_the_preamble():
    key = {"label": "Schlüssel des Kreises Wesel", "kreis_share": "1/3"}
    text = contract_text(KOMMUNE, funding={"granted_fte": {"baustein_2": 11}, "key": key})
    assert ("Dem Kreis sind 11,0 VZÄ für Baustein 2 – rechtskreisübergreifendes Case Management "
            "bewilligt. Die Stellen werden nach dem Schlüssel des Kreises verteilt: Schlüssel des Kreises "
            "Wesel; beim Kreis verbleibt ein Drittel der Stellen.") in text
