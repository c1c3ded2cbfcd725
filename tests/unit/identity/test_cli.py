"""`kim identity plan|apply` refuse a malformed file with line numbers and touch nothing."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from kimctl.cli import app


def test_apply_of_a_malformed_file_names_lines_and_applies_nothing(tmp_path: Path) -> None:
    broken = tmp_path / "verbund.yaml"
    broken.write_text("realm: kim-x\norganizations:\n  - alias: a\n    type: kommune\n", encoding="utf-8")
    # Keycloak's address is unreachable on purpose: the file must be refused before any call.
    result = CliRunner().invoke(app, ["identity", "apply", str(broken)],
                                env={"KEYCLOAK_URL": "http://127.0.0.1:9", "COLUMNS": "200"})
    assert result.exit_code == 2
    assert "Zeile 4, organizations[0].type" in result.output
    assert "nichts wurde angewendet" in result.output


def test_whoami_without_login_says_to_log_in(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["whoami"], env={"XDG_CONFIG_HOME": str(tmp_path)})
    assert result.exit_code == 1
    assert "kim login" in result.output
