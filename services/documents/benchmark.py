"""Render timings: the cached renderer next to a bare docxtpl render of the same template.

    .venv/bin/python -m services.documents.benchmark [--runs 200]

Pinned to one core, like the figures in ARCHITECTURE ("docxtpl 41.7 ms p50 for a 100-row table").
Bare docxtpl is split into load (read and parse the DOCX), render (clean-up, compile and fill the
Jinja template) and save (python-docx re-zips every part); the cached renderer has no per-document
load, so its split is render (fill the compiled template) and save (append the rendered parts to
the ready-made zip). The docxtemplater (npm) comparison the issue asks for is not part of this yet.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import time
from pathlib import Path
from typing import Any

import yaml
from docxtpl import DocxTemplate

from services.documents.domain.drucksache import drucksache_context, parse_drucksache
from services.documents.domain.kinds import CONTRACT, DRUCKSACHE, Kind
from services.documents.rendering import TEMPLATES_DIR, Renderer, sandbox

EXAMPLES = Path(__file__).resolve().parent / "examples"


def cases() -> list[tuple[str, Kind, dict[str, Any]]]:
    voerde = yaml.safe_load((EXAMPLES / "voerde-beschlussvorlage-2021.yaml").read_text(encoding="utf-8"))
    long_agenda = {**voerde, "consultations": [
        {"body": f"Ausschuss {i}", "date": "2021-11-16", "role": "vorberatend"} for i in range(99)
    ] + [{"body": "Stadtrat", "date": "2021-12-07", "role": "beschließend"}]}
    return [
        ("Weiterleitungsvertrag", CONTRACT, CONTRACT.variables),
        ("Drucksache (Voerde)", DRUCKSACHE, drucksache_context(parse_drucksache(voerde))),
        ("Drucksache, 100 Zeilen Beratungsfolge", DRUCKSACHE,
         drucksache_context(parse_drucksache(long_agenda))),
    ]


def bare_docxtpl(kind: Kind, context: dict[str, Any], runs: int) -> dict[str, float]:
    path, env = TEMPLATES_DIR / kind.default_template, sandbox()
    load, render, save = [], [], []
    for _ in range(runs):
        t0 = time.perf_counter()
        template = DocxTemplate(path)
        template.init_docx()
        t1 = time.perf_counter()
        template.render(context, jinja_env=env, autoescape=True)
        t2 = time.perf_counter()
        template.save(io.BytesIO())
        t3 = time.perf_counter()
        load.append(t1 - t0)
        render.append(t2 - t1)
        save.append(t3 - t2)
    split = {name: statistics.median(values) * 1000 for name, values in
             (("load", load), ("render", render), ("save", save))}
    split["total"] = statistics.median(a + b + c for a, b, c in zip(load, render, save, strict=True)) * 1000
    return split


def cached(kind: Kind, context: dict[str, Any], runs: int) -> dict[str, float]:
    renderer = Renderer()
    start = time.perf_counter()
    ref = renderer.builtin(kind)  # includes the upload check with a trial render
    load = (time.perf_counter() - start) * 1000
    compiled = renderer.load(ref, b"", kind)
    fill, package = [], []
    for _ in range(runs):
        t0 = time.perf_counter()
        rendered = compiled.fill(context)
        t1 = time.perf_counter()
        compiled.package(rendered)
        t2 = time.perf_counter()
        fill.append(t1 - t0)
        package.append(t2 - t1)
    render, save = statistics.median(fill) * 1000, statistics.median(package) * 1000
    total = statistics.median(a + b for a, b in zip(fill, package, strict=True)) * 1000
    return {"load (once)": load, "render": render, "save": save, "total": total}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=200)
    runs = parser.parse_args().runs
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    print(f"p50 over {runs} runs, one core; ms")
    for name, kind, context in cases():
        bare, ours = bare_docxtpl(kind, context, runs), cached(kind, context, runs)
        print(f"\n{name}")
        print("  bare docxtpl:  " + "  ".join(f"{k} {v:.1f}" for k, v in bare.items())
              + f"  -> {1000 / bare['total']:.0f} docs/s")
        print("  cached:        " + "  ".join(f"{k} {v:.1f}" for k, v in ours.items())
              + f"  -> {1000 / ours['total']:.0f} docs/s, {bare['total'] / ours['total']:.1f}x")


if __name__ == "__main__":
    main()
