"""`make` runs `kim protos generate` on a fresh clone before any contract exists, so the command
line must start without the generated packages."""

import subprocess
import sys

GENERATED = ("kim.common", "kim.node", "kim.identity", "kim.case", "kim.conference", "kim.documents")


def test_command_line_imports_without_generated_contracts() -> None:
    hide = "; ".join(f"sys.modules[{name!r}] = None" for name in GENERATED)  # import raises
    code = f"import sys; {hide}; import kimctl.cli; print(kimctl.cli.app.info.help)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "KIM-Netz" in done.stdout
