"""`kim documents protokoll|beschlussprotokoll|monitoring` through the real `kim` command line."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from kimctl.cli import app
from services.documents import pdf
from services.documents.cli import ENVIRONMENT, INVALID_INPUT
from tests.unit.documents.documents_factories import body_text, open_docx

EXAMPLES = Path(__file__).resolve().parents[3] / "services" / "documents" / "examples"


def kim(*args: str):
    return CliRunner().invoke(app, ["documents", *args])


def example(name: str) -> dict:
    return yaml.safe_load((EXAMPLES / name).read_text(encoding="utf-8"))


def test_protokoll_from_the_example_names_cases_by_pseudonym_with_their_decisions(tmp_path):
    out = tmp_path / "protokoll.docx"
    source = EXAMPLES / "mettmann-fallkonferenz-2026.yaml"
    result = kim("protokoll", "--input", str(source), "--out", str(out))
    assert result.exit_code == 0, result.output
    text = body_text(open_docx(out.read_bytes()))
    for expected in ("KIM-2026-7F3K9Q", "KIM-2026-2M8XRT", "KIM-2025-9QW4ZD", "12.03.2026", "09:30–11:15 Uhr",
                     "Aufnahme ins Case Management", "Verweisberatung", "Runder Tisch", "Leyla Lotsin",
                     "Caritasverband Mettmann", "11.06.2026"):
        assert expected in text, expected


def test_beschlussprotokoll_from_the_example_has_votes_consensus_and_tracking(tmp_path):
    out = tmp_path / "beschluss.docx"
    result = kim("beschlussprotokoll", "--input", str(EXAMPLES / "mettmann-lenkungsgruppe-2026.yaml"),
                 "--out", str(out))
    assert result.exit_code == 0, result.output
    text = body_text(open_docx(out.read_bytes()))
    for expected in ("1. Sitzung 2026", "mit 4 von 5 Mitgliedern beschlussfähig", "Clearingstelle Ausbildung",
                     "einvernehmlich angenommen", "30.06.2026", "Sprechstunde der ABH im Jobcenter",
                     "in Umsetzung – überfällig", "umgesetzt", "Ömer Yıldız"):
        assert expected in text, expected


def test_monitoring_from_the_example_suppresses_small_numbers_and_embeds_charts(tmp_path):
    out = tmp_path / "bericht.docx"
    result = kim("monitoring", "--input", str(EXAMPLES / "mettmann-monitoring-2026.yaml"), "--out", str(out))
    assert result.exit_code == 0, result.output
    document = open_docx(out.read_bytes())
    text = body_text(document)
    assert "Sozial- und Gesundheitsausschuss" in text and "< 5" in text
    # Kreis Mettmann's own Zielgruppen (Hilden seed), and the period's movements beside the stock
    assert "Zugewanderte aus Süd-Ost-Europa" in text
    assert "Bewegungen im Berichtszeitraum" in text and "Bestand am 30.06.2026" in text
    # the built-in placeholders were replaced by charts drawn from this input (PNG parts)
    images = [p for p in document.part.package.parts if p.partname.endswith(".png")]
    assert len(images) >= 2


@pytest.mark.parametrize(
    ("command", "name", "path", "broken", "expected"),
    [
        ("protokoll", "mettmann-fallkonferenz-2026.yaml", "items[0].pseudonym", "Amina Haddad", "nie Name"),
        ("beschlussprotokoll", "mettmann-lenkungsgruppe-2026.yaml", "beschluesse[0].mode", "vote_maybe", ""),
        ("monitoring", "mettmann-monitoring-2026.yaml", "period.to", "2025-01-01", ""),
    ],
)
def test_bad_input_lists_the_problem_with_its_path_and_writes_nothing(
        tmp_path, command, name, path, broken, expected):
    data = example(name)
    target = data
    *parents, leaf = path.replace("[", ".").replace("]", "").split(".")
    for key in parents:
        target = target[int(key)] if key.isdigit() else target[key]
    target[leaf] = broken
    source = tmp_path / "input.yaml"
    source.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    out = tmp_path / "out.docx"
    result = kim(command, "--input", str(source), "--out", str(out))
    assert result.exit_code == INVALID_INPUT, result.output
    output = " ".join(result.output.split())  # rich wraps long lines
    assert path in output and expected in output
    assert not out.exists()


def test_consensus_with_a_no_vote_is_refused(tmp_path):
    data = example("mettmann-lenkungsgruppe-2026.yaml")
    data["beschluesse"][1]["votes"]["nein"] = 1
    source = tmp_path / "input.yaml"
    source.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    result = kim("beschlussprotokoll", "--input", str(source), "--out", str(tmp_path / "x.docx"))
    assert result.exit_code == INVALID_INPUT
    output = " ".join(result.output.split())
    assert "beschluesse[1].mode" in output and "ohne Gegenstimme" in output


def test_pdf_without_libreoffice_says_so_and_exits_1(tmp_path, monkeypatch):
    monkeypatch.setattr(pdf, "soffice", lambda: None)
    out = tmp_path / "p.docx"
    result = kim("protokoll", "--input", str(EXAMPLES / "mettmann-fallkonferenz-2026.yaml"),
                 "--out", str(out), "--pdf")
    assert result.exit_code == ENVIRONMENT
    assert "libreoffice-writer-nogui" in " ".join(result.output.split()) and not out.exists()
