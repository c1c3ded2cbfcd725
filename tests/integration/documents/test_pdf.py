"""PDF/A conversion with the real LibreOffice (`soffice`), for each kind of document.

The test set-up installs LibreOffice on every machine (`scripts/infra.sh tools`), so a missing
`soffice` is a broken set-up: these tests fail saying so, they are never skipped.
tests/unit/documents checks the message a user without LibreOffice gets.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from kimctl.cli import app
from services.documents import pdf

EXAMPLES = Path(__file__).resolve().parents[3] / "services" / "documents" / "examples"

MISSING = (
    "LibreOffice (soffice) is not installed, but the test set-up installs it: run "
    "`scripts/infra.sh tools` (or apt-get install libreoffice-writer-nogui)"
)


@pytest.fixture(autouse=True)
def libreoffice() -> None:
    if not pdf.available():
        pytest.fail(MISSING, pytrace=False)


def assert_pdf_a(path: Path) -> None:
    content = path.read_bytes()
    assert content.startswith(b"%PDF-")
    assert b"pdfaid:part" in content  # the PDF/A identification in the XMP metadata


def test_contracts_convert_to_pdf_a(tmp_path):
    result = CliRunner().invoke(
        app,
        [
            "documents",
            "contract",
            "--allocation",
            str(EXAMPLES / "rbk-allocation-2026.yaml"),
            "--out",
            str(tmp_path),
            "--pdf",
        ],
    )
    assert result.exit_code == 0, result.output
    pdfs = sorted(tmp_path.glob("*.pdf"))
    assert len(pdfs) == 7
    for path in pdfs:
        assert_pdf_a(path)


@pytest.mark.parametrize(
    "example", ["voerde-beschlussvorlage-2021.yaml", "hilden-mitteilungsvorlage-2023.yaml"]
)
def test_drucksachen_convert_to_pdf_a(tmp_path, example):
    out = tmp_path / "vorlage.docx"
    result = CliRunner().invoke(
        app, ["documents", "drucksache", "--input", str(EXAMPLES / example), "--out", str(out), "--pdf"]
    )
    assert result.exit_code == 0, result.output
    assert_pdf_a(tmp_path / "vorlage.pdf")
