"""No hand-written file can hide from git (issue 13, item 5).

- Every file that looks like source (Python, protos, YAML, Markdown, shell, templates, build
  files) and that git ignores lies in a place that holds only generated or local output: the
  generated contracts `kim/`, `.venv`, `.kim`, `out`, `build` and the tools' caches.
- No tracked file matches an ignore rule: a new file beside it would be ignored silently.
- `kim/` holds nothing but what `kim protos generate` writes (kimctl/protogen.py): the modules
  `*_pb2.py`, `*_pb2_grpc.py`, their stubs `*_pb2.pyi` and empty `__init__.py` files. So the
  ignore rule that hides the generated code cannot hide a hand-written module there.

The rules are plain functions, checked on made-up paths first, so each check can fail.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

import pytest

ROOT = Path(__file__).resolve().parents[2]

SOURCE_SUFFIXES = {".py", ".pyi", ".proto", ".yaml", ".yml", ".md", ".sh", ".toml", ".json", ".cfg",
                   ".ini", ".conf", ".txt", ".docx", ".j2", ".jinja", ".html", ".css", ".js"}
SOURCE_NAMES = {"Dockerfile", "Makefile", "enabled_plugins", ".gitignore", ".dockerignore"}
#: Top-level places of generated or local output (never hand-written code).
OUTPUT_ROOTS = {"kim", ".venv", ".kim", "out", "build"}
#: Caches of the tools, wherever they are.
CACHE_DIRS = {"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".hypothesis"}
#: Packages installed from a lockfile by the set-up (the portal's KERN UX and axe-core).
INSTALLED_DIRS = {"node_modules"}
GENERATED_ENDINGS = ("_pb2.py", "_pb2_grpc.py", "_pb2.pyi")


def in_output_place(path: str) -> bool:
    parts = PurePosixPath(path.rstrip("/")).parts
    if not parts:
        return False
    return (parts[0] in OUTPUT_ROOTS or any(p in CACHE_DIRS | INSTALLED_DIRS for p in parts)
            or any(p.endswith(".egg-info") for p in parts))


def looks_like_source(path: str) -> bool:
    name = PurePosixPath(path).name
    return name in SOURCE_NAMES or PurePosixPath(name).suffix in SOURCE_SUFFIXES


def hidden_sources(ignored_files: Iterable[str]) -> list[str]:
    """The ignored files (repository-relative, `/`-separated) that look like source and lie
    outside the places of generated or local output."""
    return sorted(p for p in ignored_files if looks_like_source(p) and not in_output_place(p))


def not_generated(files: Iterable[tuple[str, str]]) -> list[str]:
    """Of `(path relative to kim/, text)`, the files protogen does not write (caches aside)."""
    foreign = []
    for path, text in files:
        pure = PurePosixPath(path)
        if any(p in CACHE_DIRS for p in pure.parts):
            continue
        if pure.name.endswith(GENERATED_ENDINGS) or (pure.name == "__init__.py" and not text.strip()):
            continue
        foreign.append(path)
    return sorted(foreign)


def git(*args: str) -> list[str]:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.fail(f"this test reads the git checkout at {ROOT}; run it in a checkout with git installed")
    done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True, timeout=60)
    return [p for p in done.stdout.split("\0") if p]


def ignored_files() -> list[str]:
    """Every file git ignores; wholly ignored folders are listed as one entry by git and opened
    here unless they are output places (.venv alone holds tens of thousands of files)."""
    found = []
    for entry in git("ls-files", "-z", "--others", "--ignored", "--exclude-standard", "--directory"):
        if in_output_place(entry) or not entry.endswith("/"):
            found.append(entry.rstrip("/"))
            continue
        found += [str(f.relative_to(ROOT)) for f in (ROOT / entry).rglob("*") if f.is_file()]
    return found


def test_the_rules_find_what_they_are_for() -> None:
    ignored = ["services/case/generated/models.py", "docs/draft.md", "scripts/local.sh",
               "services/documents/templates/brief.docx", "kim/case/v1/case_pb2.py", ".venv/lib/x.py",
               ".kim/keycloak/conf/keycloak.conf", "services/case/__pycache__/service.cpython-311.pyc",
               "kimnetz/__pycache__/errors.py", "build/lib/kimnetz/errors.py", "out/report.md",
               "kim_netz.egg-info/PKG-INFO", "notes.bak", "Makefile"]
    assert hidden_sources(ignored) == ["Makefile", "docs/draft.md", "scripts/local.sh",
                                       "services/case/generated/models.py",
                                       "services/documents/templates/brief.docx"]
    assert hidden_sources([]) == []
    assert not_generated([("__init__.py", ""), ("case/v1/case_pb2.py", "x"), ("case/v1/case_pb2.pyi", "x"),
                          ("case/v1/case_pb2_grpc.py", "x"), ("case/v1/__pycache__/a.pyc", ""),
                          ("runtime/__init__.py", '"""The runtime."""\n'), ("runtime/grpc_server.py", ""),
                          ("story.py", "")]) == ["runtime/__init__.py", "runtime/grpc_server.py", "story.py"]


def test_no_file_that_looks_like_source_is_ignored_outside_the_output_places() -> None:
    hidden = hidden_sources(ignored_files())
    assert not hidden, ("git ignores these files, so they would never be committed; move them or "
                        f"narrow the rule in .gitignore: {hidden}")


def test_no_tracked_file_matches_an_ignore_rule() -> None:
    matched = git("ls-files", "-z", "--cached", "--ignored", "--exclude-standard")
    assert not matched, f"tracked files an ignore rule matches (a file beside one would hide): {matched}"


def test_the_generated_package_holds_only_generated_code() -> None:
    generated = ROOT / "kim"
    assert (generated / "__init__.py").is_file(), "run `kim protos generate`"
    files = [(str(f.relative_to(generated)), f.read_text(errors="replace") if f.suffix == ".py" else "")
             for f in generated.rglob("*") if f.is_file()]
    foreign = not_generated(files)
    assert not foreign, ("kim/ holds only what `kim protos generate` writes; hand-written code belongs "
                         f"to kimnetz/, kimctl/ or services/: {foreign}")
