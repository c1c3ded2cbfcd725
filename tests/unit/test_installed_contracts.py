"""The generated contracts import from anywhere, not only from the checkout: node processes
(`kim node api`, the nameko workers) start in other folders and find the packages through the
virtualenv's editable install, which knows only the top-level packages that existed when it
ran. A fresh clone once installed before `kim` was generated, and every node process failed
with "No module named 'kim'" while the tests that import from the checkout passed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_the_generated_contracts_and_the_runtime_import_outside_the_checkout(tmp_path: Path) -> None:
    found = subprocess.run(
        [sys.executable, "-c",
         "import kim.common.v1.event_pb2, kim.case.v1.case_pb2, kimnetz.bootstrap, kimctl.cli; print('ok')"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False,
        env={"PATH": str(Path(sys.executable).parent), "HOME": str(tmp_path)})
    assert found.returncode == 0 and found.stdout.strip() == "ok", (
        "run `make setup` (it installs the project again after generating the contracts):\n"
        + found.stderr[-2000:])
