"""Generates the Python code of every contract in `protos/` into the package `kim`.

`kim` holds nothing but generated code (`kim.<service>.v1` mirrors the proto package names);
git ignores it as a whole, so no hand-written module can hide in it (the runtime is `kimnetz`).

The generated modules are never committed: every make target runs this first, and `check`
proves that what is importable matches the .proto sources (used by the test run).
"""

from __future__ import annotations

import filecmp
import importlib.resources
import tempfile
from pathlib import Path

from grpc_tools import protoc

ROOT = Path(__file__).resolve().parent.parent
PROTOS = ROOT / "protos"


def proto_files() -> list[Path]:
    return sorted(PROTOS.rglob("*.proto"))


def generate(out: Path = ROOT) -> list[Path]:
    """Compile every .proto below protos/ into `out` (messages, gRPC stubs and type stubs)."""
    files = proto_files()
    well_known = importlib.resources.files("grpc_tools") / "_proto"
    args = [
        "grpc_tools.protoc",
        f"-I{PROTOS}",
        f"-I{well_known}",
        f"--python_out={out}",
        f"--pyi_out={out}",
        f"--grpc_python_out={out}",
        *[str(f) for f in files],
    ]
    if protoc.main(args) != 0:
        raise RuntimeError("protoc failed; see the messages above")
    # Generated folders, `kim` itself included, become regular packages, so that every
    # installer finds them.
    for proto in files:
        package_dir = out / proto.parent.relative_to(PROTOS)
        while package_dir != out:
            (package_dir / "__init__.py").touch()
            package_dir = package_dir.parent
    return files


def check() -> list[str]:
    """Regenerate into a scratch folder and list every generated file that differs."""
    with tempfile.TemporaryDirectory() as scratch:
        generate(Path(scratch))
        differing = []
        for fresh in Path(scratch).rglob("*.py*"):
            current = ROOT / fresh.relative_to(scratch)
            if not current.exists() or not filecmp.cmp(fresh, current, shallow=False):
                differing.append(str(current.relative_to(ROOT)))
        return sorted(differing)
