"""`kim documents` through the real `kim` command line (typer's runner), files in a temp folder."""

from __future__ import annotations

from pathlib import Path

import yaml
from typer.testing import CliRunner

from kimctl.cli import app
from services.documents import pdf
from services.documents.cli import INVALID_INPUT
from tests.unit.documents.documents_factories import (
    make_allocation,
    make_allocation_file,
    make_drucksache,
    open_docx,
    table_rows,
    template_with,
)

EXAMPLES = Path(__file__).resolve().parents[3] / "services" / "documents" / "examples"
RBK_EXPECTED = [  # (file, VZÄ, Jahresbetrag) from the RBK concept's distribution
    ("01-stadt-bergisch-gladbach.docx", "2,0 VZÄ", "110.000,00\xa0€"),
    ("02-katholische-jugendagentur-rhein-berg-stadt-burscheid.docx", "1,0 VZÄ", "55.000,00\xa0€"),
    ("03-gemeinde-kuerten.docx", "0,5 VZÄ", "27.500,00\xa0€"),
    ("04-diakonie-leichlingen-stadt-leichlingen.docx", "1,0 VZÄ", "55.000,00\xa0€"),
    ("05-gemeinde-odenthal.docx", "0,5 VZÄ", "27.500,00\xa0€"),
    ("06-stadt-roesrath.docx", "1,0 VZÄ", "55.000,00\xa0€"),
    ("07-stadt-wermelskirchen.docx", "1,0 VZÄ", "55.000,00\xa0€"),
]


def kim(*args: str):
    return CliRunner().invoke(app, ["documents", *args])


def write_yaml(path: Path, data) -> Path:
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_rbk_example_renders_seven_contracts_with_the_right_sums(tmp_path):
    result = kim(
        "contract", "--allocation", str(EXAMPLES / "rbk-allocation-2026.yaml"), "--out", str(tmp_path)
    )
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == [name for name, _, _ in RBK_EXPECTED]
    for name, fte, annual in RBK_EXPECTED:
        rows = dict(table_rows(open_docx((tmp_path / name).read_bytes()), "Stellenanteil"))
        assert (rows["Stellenanteil"], rows["Jahresbetrag"], rows["Betrag für die Laufzeit"]) == (
            fte,
            annual,
            annual,
        )
    summary = result.output.replace("\xa0", " ")
    assert "Summe" in summary
    assert summary.count("385.000,00 €") == 2  # annual and term total
    assert "7,0" in summary


def test_bad_allocation_file_lists_every_problem_exits_2_and_writes_nothing(tmp_path):
    data = make_allocation_file(
        term={"from": "2026-12-01", "to": "2026-01-31"},
        allocations=[make_allocation(fte=0), make_allocation(name="Stadt Rösrath", fte=25)],
    )
    out = tmp_path / "out"
    result = kim("contract", "--allocation", str(write_yaml(tmp_path / "a.yaml", data)), "--out", str(out))
    assert result.exit_code == INVALID_INPUT
    assert "3 Problem(e), keine Datei geschrieben" in result.output
    for path in ("term.to", "allocations[0].fte", "allocations[1].fte"):
        assert path in result.output
    assert not out.exists()


def test_yaml_syntax_error_names_line_and_column(tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("kreis:\n  name: [Kreis\nterm: x\n", encoding="utf-8")
    result = kim("contract", "--allocation", str(broken), "--out", str(tmp_path / "out"))
    assert result.exit_code == INVALID_INPUT
    assert "YAML-Syntaxfehler in Zeile 3" in result.output


def test_drucksache_command_writes_the_paper(tmp_path):
    out = tmp_path / "vorlagen" / "voerde.docx"
    result = kim(
        "drucksache", "--input", str(EXAMPLES / "voerde-beschlussvorlage-2021.yaml"), "--out", str(out)
    )
    assert result.exit_code == 0, result.output
    rows = table_rows(open_docx(out.read_bytes()), "Gremium")
    assert [row[0] for row in rows[1:]] == ["Sozialausschuss", "Haupt- und Finanzausschuss", "Stadtrat"]


def test_hilden_example_renders_as_mitteilungsvorlage(tmp_path):
    out = tmp_path / "hilden.docx"
    result = kim(
        "drucksache", "--input", str(EXAMPLES / "hilden-mitteilungsvorlage-2023.yaml"), "--out", str(out)
    )
    assert result.exit_code == 0, result.output
    assert "Mitteilungsvorlage WP 20-25 SV 51/205" in result.output


def test_bad_drucksache_exits_2_and_writes_nothing(tmp_path):
    data = make_drucksache()
    data["consultations"][0]["role"] = "entscheidend"
    out = tmp_path / "d.docx"
    result = kim("drucksache", "--input", str(write_yaml(tmp_path / "d.yaml", data)), "--out", str(out))
    assert result.exit_code == INVALID_INPUT
    assert "consultations[0].role" in result.output
    assert not out.exists()


def test_own_template_with_a_sandbox_escape_is_refused(tmp_path):
    template = tmp_path / "eigene.docx"
    template.write_bytes(template_with("{{ ''.__class__.__mro__ }}"))
    out = tmp_path / "d.docx"
    result = kim(
        "drucksache",
        "--input",
        str(write_yaml(tmp_path / "d.yaml", make_drucksache())),
        "--out",
        str(out),
        "--template",
        str(template),
    )
    assert result.exit_code == INVALID_INPUT
    assert "Unzulässiger Zugriff" in result.output
    assert not out.exists()


def test_pdf_without_libreoffice_says_so_before_rendering_and_exits_1(tmp_path, monkeypatch):
    monkeypatch.setattr(pdf, "soffice", lambda: None)
    result = kim(
        "contract",
        "--allocation",
        str(EXAMPLES / "rbk-allocation-2026.yaml"),
        "--out",
        str(tmp_path / "out"),
        "--pdf",
    )
    assert result.exit_code == 1
    assert "LibreOffice ist nicht installiert" in result.output
    assert not (tmp_path / "out").exists()
