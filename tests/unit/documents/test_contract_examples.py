"""The allocation and Drucksache examples under services/documents/examples render through the
command line and say what the seeds say (Wesel, HSK, RBK, Voerde)."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from kimctl.cli import app
from tests.unit.documents.documents_factories import body_text, open_docx

EXAMPLES = Path(__file__).resolve().parents[3] / "services" / "documents" / "examples"


def run(*args: str) -> str:
    result = CliRunner().invoke(app, ["documents", *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_wesel_keeps_a_third_shares_a_position_and_covers_the_caritas_deficit(tmp_path):
    output = run("contract", "--allocation", str(EXAMPLES / "wesel-allocation-2022.yaml"),
                 "--out", str(tmp_path))
    assert "Summe" in output
    shared = body_text(open_docx((tmp_path / "02-gemeinde-huenxe-gemeinde-schermbeck.docx")
                                 .read_bytes()))
    assert "(Stellenteilung)" in shared and "Gemeinde Schermbeck" in shared
    caritas = body_text(open_docx(next(tmp_path.glob("03-caritasverband-*.docx")).read_bytes()))
    assert "höchstens 24.000,00\xa0€ je Jahr" in caritas and "(KDG)" in caritas and "(ANBest-P)" in caritas
    assert "beim Kreis verbleibt ein Drittel der Stellen" in caritas
    moers = body_text(open_docx((tmp_path / "05-stadt-moers.docx").read_bytes()))
    assert "Ausländer- und Einbürgerungsbehörde (Baustein 3)" in moers and "(ANBest-G)" in moers


def test_hsk_passes_its_baustein_1_position_on_to_arnsberg(tmp_path):
    run("contract", "--allocation", str(EXAMPLES / "hsk-baustein1-2021.yaml"), "--out", str(tmp_path))
    text = body_text(open_docx((tmp_path / "01-stadt-arnsberg.docx").read_bytes()))
    assert "Baustein 1 – strategische Steuerung (koordinierende Stelle)" in text
    assert "32.500,00\xa0€" in text  # six months of 65.000 €


def test_the_rbk_church_traeger_are_bound_by_kdg_and_dsg_ekd(tmp_path):
    run("contract", "--allocation", str(EXAMPLES / "rbk-allocation-2026.yaml"), "--out", str(tmp_path))
    kja = body_text(open_docx(next(tmp_path.glob("02-katholische-*.docx")).read_bytes()))
    diakonie = body_text(open_docx(next(tmp_path.glob("04-diakonie-*.docx")).read_bytes()))
    assert "(KDG)" in kja and "DSG-EKD" not in kja
    assert "(DSG-EKD)" in diakonie and "KDG" not in diakonie


def test_the_antwort_auf_anfrage_example_renders(tmp_path):
    out = tmp_path / "anfrage.docx"
    run("drucksache", "--input", str(EXAMPLES / "voerde-antwort-auf-anfrage-2021.yaml"), "--out", str(out))
    text = body_text(open_docx(out.read_bytes()))
    assert "Anfrage der Fraktion Bündnis 90/Die Grünen vom 25.10.2021 (Nr. A 17/12)" in text
    assert "Erste BeigeordneteSch.08.11.2021" in text.replace("\n", "")
