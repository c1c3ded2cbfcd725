"""The choice of test servers as a developer meets it: a pytest run of this project says at its
start which servers it uses and why, and refuses to run on containers without an engine."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
ONE_TEST = "tests/unit/support/test_containers.py::test_an_unknown_mode_is_refused"


def run_pytest(tmp_path: Path, *options: str, **variables: str) -> subprocess.CompletedProcess[str]:
    environment = {name: value for name, value in os.environ.items()
                   if name not in ("KIM_TEST_SERVERS", "MONGODB_URI", "AMQP_URI", "KEYCLOAK_URL")}
    # No engine answers here, whatever the machine has.
    environment |= {"DOCKER_HOST": f"unix://{tmp_path}/docker.sock", **variables}
    return subprocess.run([sys.executable, "-m", "pytest", ONE_TEST, "-p", "no:cacheprovider", *options],
                          cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120)


def test_the_header_says_local_servers_and_why_and_the_servers_are_set_up_once_per_session(
        tmp_path: Path) -> None:
    run = run_pytest(tmp_path, "--setup-plan")
    assert run.returncode == 0, run.stdout + run.stderr
    header = next(line for line in run.stdout.splitlines() if line.startswith("test servers:"))
    assert header.startswith("test servers: local servers")
    assert f"no Docker engine answers (unix://{tmp_path}/docker.sock" in header
    assert "KIM_TEST_SERVERS=auto" in header
    # The fixture that starts containers where they are chosen: once, for every test.
    assert "SETUP    S test_servers" in run.stdout


def test_a_quiet_run_says_it_too(tmp_path: Path) -> None:
    run = run_pytest(tmp_path, "-q")
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.splitlines()[0].startswith("test servers: local servers")


def test_containers_without_an_engine_stop_the_run_before_any_test(tmp_path: Path) -> None:
    run = run_pytest(tmp_path, KIM_TEST_SERVERS="containers")
    assert run.returncode == 4  # pytest's usage error: nothing ran
    assert "KIM_TEST_SERVERS=containers, but no Docker engine answers" in run.stderr
    assert "passed" not in run.stdout
