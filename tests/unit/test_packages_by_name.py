"""Packages by name (the brief's standard, issue 17 item 6): everything the set-up installs
comes through the ordinary clients (apt, pip, npm, mvn, go) by name, so an organisation's
mirrors and proxies apply. No tracked file writes a repository or download host into the
project: no Maven repository URL, no npm registry in a lockfile, no package index for pip, no
release-download address. The rule is a plain function, checked on made-up text first."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

REPOSITORY_HOSTS = re.compile(
    r"repo1\.maven\.org|repo\.maven\.apache\.org|registry\.npmjs\.org|registry\.yarnpkg\.com"
    r"|files\.pythonhosted\.org|pypi\.org/simple|proxy\.golang\.org|deb\.debian\.org"
    r"|objects\.githubusercontent\.com|github\.com/[^\s\"']+/releases/download"
    r"|--(?:extra-)?index-url")

#: Files that name the hosts to forbid them (this test).
ALLOWED = {"tests/unit/test_packages_by_name.py"}


def repository_hosts(text: str) -> list[str]:
    return REPOSITORY_HOSTS.findall(text)


@pytest.mark.parametrize("text", [
    "MAVEN=https://repo1.maven.org/maven2",
    '"resolved": "https://registry.npmjs.org/axe-core/-/axe-core-4.10.0.tgz"',
    "pip install --index-url https://example.org/simple kim",
    "curl -L https://github.com/bufbuild/buf/releases/download/v1.47.2/buf-Linux-x86_64",
])
def test_the_rule_finds_a_written_host(text: str) -> None:
    assert repository_hosts(text)


@pytest.mark.parametrize("text", [
    "mvn dependency:copy -Dartifact=org.keycloak:keycloak-quarkus-dist:26.4.7:tar.gz",
    "npm ci --prefix services/portal",
    "go install github.com/FerretDB/FerretDB/cmd/ferretdb@v1.24.2",
    "apt-get install -y chromium chromium-driver",
])
def test_the_rule_lets_installs_by_name_pass(text: str) -> None:
    assert repository_hosts(text) == []


def test_no_tracked_file_writes_a_repository_host() -> None:
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, check=True, capture_output=True,
                             text=True).stdout.split()
    found = {}
    for name in tracked:
        path = ROOT / name
        if name in ALLOWED or not path.is_file() or path.suffix in {".docx", ".png", ".pdf", ".zip"}:
            continue
        hosts = repository_hosts(path.read_text(encoding="utf-8", errors="replace"))
        if hosts:
            found[name] = sorted(set(hosts))
    assert found == {}, f"repository hosts written into the project: {found}"
