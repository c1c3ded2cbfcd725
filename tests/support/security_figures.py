"""The figures table of docs/security.md, written by the test run that measures it.

A test that proves a security property over many cases (the access matrix, the corpus of forged
events, fault injection, fuzzing) records one row: what it covered and how it came out. The rows
go to `out/security/figures.json` (merged by key, so each tier adds its own rows) and are
rendered as a Markdown table into `out/security/figures.md` at the end of the session;
docs/security.md quotes the table of the last full run.

A row is recorded after the test's assertions, so a recorded row is a passed check; a failing
run leaves the previous value and the test's failure says why.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "out" / "security"
FIGURES = OUT / "figures.json"
TABLE = OUT / "figures.md"


def record(key: str, what: str, result: str, detail: str = "") -> None:
    """One row: `key` identifies it across runs, `what` says what was tried (German or English
    as the docs are), `result` the outcome ("3,456 of 3,456 cells as specified", "0 lost, 0
    applied twice"), `detail` how it was done."""
    OUT.mkdir(parents=True, exist_ok=True)
    rows = _read()
    rows[key] = {"what": what, "result": result, "detail": detail,
                 "recorded_at": datetime.now(UTC).isoformat(timespec="seconds")}
    temporary = FIGURES.with_suffix(f".{os.getpid()}.tmp")
    temporary.write_text(json.dumps(rows, indent=2, ensure_ascii=False, sort_keys=True), encoding="utf-8")
    temporary.replace(FIGURES)


def render() -> str:
    """The Markdown table of every recorded row, in key order."""
    rows = _read()
    lines = ["| check | result | how | recorded (UTC) |", "|---|---|---|---|"]
    for key in sorted(rows):
        row = rows[key]
        lines.append(f"| {row['what']} | {row['result']} | {row['detail']} | {row['recorded_at']} |")
    return "\n".join(lines) + "\n"


def write_table() -> Path | None:
    if not FIGURES.exists():
        return None
    TABLE.write_text(render(), encoding="utf-8")
    return TABLE


def _read() -> dict[str, dict[str, str]]:
    if not FIGURES.exists():
        return {}
    loaded: dict[str, dict[str, str]] = json.loads(FIGURES.read_text(encoding="utf-8"))
    return loaded
