"""scripts/infra.sh's choice of the store's backend (`store-backend`): the setting, the record in
$KIM_HOME, and the refusal to start a developer's data on the other, empty backend. The script
itself runs, in a KIM_HOME of the test's own; no server is started."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = ROOT / "scripts" / "infra.sh"


def backend(home: Path, requested: str = "") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("MONGODB_URI", "KIM_STORE_BACKEND")}
    env |= {"KIM_HOME": str(home), **({"KIM_STORE_BACKEND": requested} if requested else {})}
    return subprocess.run([str(SCRIPT), "store-backend"], env=env, capture_output=True, text=True,
                          check=False)


def default() -> str:
    found = re.search(r"^DEFAULT_STORE_BACKEND=(\w+)$", SCRIPT.read_text("utf-8"), re.MULTILINE)
    assert found is not None
    return found.group(1)


@pytest.fixture
def open_home() -> Iterator[Path]:
    """A KIM_HOME whose every folder above is searchable by others (pytest's tmp_path lies in a
    private folder of the user running the tests)."""
    home = Path(tempfile.mkdtemp(prefix="kim-home-", dir="/tmp"))
    home.chmod(0o755)
    yield home
    shutil.rmtree(home, ignore_errors=True)


def test_a_new_home_starts_on_the_default_or_on_the_backend_asked_for(open_home: Path) -> None:
    assert default() in ("sqlite", "postgresql")
    assert backend(open_home).stdout.strip() == default()
    assert backend(open_home, "postgresql").stdout.strip() == "postgresql"
    assert backend(open_home, "sqlite").stdout.strip() == "sqlite"


def test_a_home_under_a_private_folder_stays_on_sqlite_as_root_and_says_why(tmp_path: Path) -> None:
    """As root, PostgreSQL runs as `postgres`, which cannot pass a private folder; any other
    user runs it as themselves and keeps the default."""
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    chosen = backend(private / ".kim")
    if os.geteuid() == 0 and default() == "postgresql":
        assert chosen.stdout.strip() == "sqlite"
        assert "the postgres user cannot reach" in chosen.stderr and "chmod o+x" in chosen.stderr
    else:
        assert chosen.stdout.strip() == default()
    assert backend(private / ".kim", "postgresql").stdout.strip() == "postgresql"  # asked for: tried


def test_a_data_directory_from_before_the_setting_is_sqlite(tmp_path: Path) -> None:
    (tmp_path / "ferretdb" / "data").mkdir(parents=True)
    (tmp_path / "ferretdb" / "data" / "kim_hilden_case.sqlite").write_bytes(b"")
    assert backend(tmp_path).stdout.strip() == "sqlite"


def test_the_recorded_backend_is_kept_and_the_other_refused_naming_the_migration(tmp_path: Path) -> None:
    (tmp_path / "ferretdb").mkdir()
    (tmp_path / "ferretdb" / "backend").write_text("postgresql\n")
    assert backend(tmp_path).stdout.strip() == "postgresql"
    assert backend(tmp_path, "postgresql").stdout.strip() == "postgresql"

    refused = backend(tmp_path, "sqlite")

    assert refused.returncode == 1
    assert refused.stdout == ""
    assert "is on postgresql" in refused.stderr
    assert "scripts/infra.sh migrate-store sqlite" in refused.stderr


def test_an_unknown_backend_is_refused(tmp_path: Path) -> None:
    refused = backend(tmp_path, "mysql")
    assert refused.returncode == 1
    assert "unknown store backend 'mysql'" in refused.stderr
