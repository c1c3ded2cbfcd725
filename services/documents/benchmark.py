"""Render timings: the cached renderer next to a bare docxtpl render of the same template, and next
to docxtemplater (npm) on the same contract-like document with a 100-row table, in one run.

    .venv/bin/python -m services.documents.benchmark [--runs 200] [--no-docxtemplater]

Pinned to one core, like the figures in ARCHITECTURE ("docxtpl 41.7 ms p50 for a 100-row table,
docxtemplater about 19 ms"). Bare docxtpl is split into load (read and parse the DOCX), render
(clean-up, compile and fill the Jinja template) and save (python-docx re-zips every part); the
cached renderer has no per-document load, so its split is render (fill the compiled template) and
save (append the rendered parts to the ready-made zip). docxtemplater runs as its documentation
shows it, per document: PizZip reads the DOCX, Docxtemplater parses and fills it, PizZip zips
(DEFLATE); N renders in one node process, so node's start-up and JIT warm-up are not counted.

docxtemplater and pizzip are installed by this benchmark into `.kim/bench/node_modules`
(`npm install --prefix`, ignored by git); they are a benchmark's yardstick, not a dependency.
"""

from __future__ import annotations

import argparse
import functools
import io
import json
import os
import shutil
import statistics
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from docxtpl import DocxTemplate

from services.documents.domain.kinds import CONTRACT, DRUCKSACHE, Kind
from services.documents.rendering import TEMPLATES_DIR, CompiledTemplate, Renderer, compile_template, sandbox

EXAMPLES = Path(__file__).resolve().parent / "examples"
BENCH_DIR = Path(__file__).resolve().parents[2] / ".kim" / "bench"
NODE_PACKAGES = ("docxtemplater@3", "pizzip@3")
ROWS = 100

NODE_SCRIPT = r"""
const fs = require("fs");
const PizZip = require("pizzip");
const Docxtemplater = require("docxtemplater");
const [template, dataFile, runs] = process.argv.slice(2);
const content = fs.readFileSync(template);
const data = JSON.parse(fs.readFileSync(dataFile, "utf8"));
const load = [], render = [], save = [], total = [];
for (let i = 0; i < Number(runs); i++) {
  const t0 = process.hrtime.bigint();
  const doc = new Docxtemplater(new PizZip(content), { paragraphLoop: true, linebreaks: true });
  const t1 = process.hrtime.bigint();
  doc.render(data);
  const t2 = process.hrtime.bigint();
  doc.getZip().generate({ type: "nodebuffer", compression: "DEFLATE" });
  const t3 = process.hrtime.bigint();
  load.push(Number(t1 - t0) / 1e6); render.push(Number(t2 - t1) / 1e6);
  save.push(Number(t3 - t2) / 1e6); total.push(Number(t3 - t0) / 1e6);
}
if (process.argv[5]) {
  const doc = new Docxtemplater(new PizZip(content), { paragraphLoop: true, linebreaks: true });
  doc.render(data);
  fs.writeFileSync(process.argv[5], doc.getZip().generate({ type: "nodebuffer", compression: "DEFLATE" }));
}
const p50 = (values) => { const s = [...values].sort((a, b) => a - b); const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
console.log(JSON.stringify({ load: p50(load), render: p50(render), save: p50(save), total: p50(total),
  totals: total }));
"""


def cases() -> list[tuple[str, Kind, dict[str, Any]]]:
    voerde = yaml.safe_load((EXAMPLES / "voerde-beschlussvorlage-2021.yaml").read_text(encoding="utf-8"))
    long_agenda = {**voerde, "consultations": [
        {"body": f"Ausschuss {i}", "date": "2021-11-16", "role": "vorberatend"} for i in range(99)
    ] + [{"body": "Stadtrat", "date": "2021-12-07", "role": "beschließend"}]}
    return [
        ("Weiterleitungsvertrag", CONTRACT, CONTRACT.variables),
        ("Drucksache (Voerde)", DRUCKSACHE, DRUCKSACHE.prepare(voerde).context),
        ("Drucksache, 100 Zeilen Beratungsfolge", DRUCKSACHE, DRUCKSACHE.prepare(long_agenda).context),
    ]


# --- the shared yardstick: one contract-like document in both engines' syntax ---------------------

def table_document(syntax: str) -> bytes:
    """A Weiterleitungsvertrag-like document (letterhead, parties, eight §§ of text, a money table,
    signatures) with a 100-row table of positions, written in docxtpl's or docxtemplater's syntax
    from the same building blocks, so both engines fill the same text, tables and styles."""
    from services.documents.templates import build_templates as b

    def var(name: str) -> str:
        return f"{{{{ {name} }}}}" if syntax == "docxtpl" else f"{{{name}}}"

    doc = b.new_document("Weiterleitungsvertrag (Benchmark)", "KIM")
    b.header(doc, f"{var('kreis_name')} · {var('kreis_office')}")
    b.para(doc, var("kreis_name"), bold=True, size=14)
    b.para(doc, var("kreis_address"))
    b.para(doc, "Kooperations- und Weiterleitungsvertrag", style="Title")
    b.para(doc, f"zwischen {var('kreis_name')}, vertreten durch {var('represented_by')}, und "
                f"{var('partner_name')}, {var('partner_address')}")
    for number in range(1, 9):
        b.heading(doc, f"§ {number}")
        b.para(doc, f"Der Partner setzt {var('fte')} VZÄ in {var('municipality')} ein. Die Mittel sind "
                    "zweckgebunden und ausschließlich für die Personalausgaben der genannten Stellen zu "
                    f"verwenden; die Laufzeit reicht vom {var('term_start')} bis zum {var('term_end')}.")
    money = b.table(doc, [10.5, 6.0])
    for label, name in (("Stellenanteil", "fte"), ("Pauschale je VZÄ", "rate"), ("Jahresbetrag", "annual"),
                        ("Betrag für die Laufzeit", "term_amount")):
        b.row(money, label, var(name), label=True)
    b.heading(doc, "Anlage: Stellenübersicht")
    positions = b.table(doc, [6.5, 4.0, 2.0, 4.0])
    b.row(positions, "Partner", "Einsatzort", "VZÄ", "Jahresbetrag", bold=True)
    if syntax == "docxtpl":
        b.loop_rows(positions, "for r in rows", "{{ r.partner }}", "{{ r.place }}", "{{ r.fte }}",
                    "{{ r.annual }}")
    else:
        b.row(positions, "{#rows}{partner}", "{place}", "{fte}", "{annual}{/rows}")
    b.signature_block(doc, ["Für den Kreis", var("kreis_name")], ["Für den Partner", var("partner_name")])
    buffer = io.BytesIO()
    doc.save(buffer)
    return buffer.getvalue()


def table_data() -> dict[str, Any]:
    return {
        "kreis_name": "Rheinisch-Bergischer Kreis", "kreis_office": "Kommunales Integrationszentrum",
        "kreis_address": "Am Rübezahlwald 7, 51469 Bergisch Gladbach", "represented_by": "den Landrat",
        "partner_name": "Katholische Jugendagentur <Rhein-Berg> & Co", "partner_address": "Burscheid",
        "fte": "1,0", "municipality": "Burscheid", "term_start": "01.01.2026", "term_end": "31.12.2026",
        "rate": "55.000,00 €", "annual": "55.000,00 €", "term_amount": "55.000,00 €",
        "rows": [
            {"partner": f"Träger {i}", "place": f"Kommune {i % 8}", "fte": "0,5", "annual": "27.500,00 €"}
            for i in range(ROWS)
        ],
    }


# --- timing -----------------------------------------------------------------------------------------

def _p50(values: list[float]) -> float:
    return statistics.median(values) * 1000


def bare_docxtpl(template: bytes, context: dict[str, Any], runs: int) -> dict[str, float]:
    env = sandbox()
    load, render, save = [], [], []
    for _ in range(runs):
        t0 = time.perf_counter()
        document = DocxTemplate(io.BytesIO(template))
        document.init_docx()
        t1 = time.perf_counter()
        document.render(context, jinja_env=env, autoescape=True)
        t2 = time.perf_counter()
        document.save(io.BytesIO())
        t3 = time.perf_counter()
        load.append(t1 - t0)
        render.append(t2 - t1)
        save.append(t3 - t2)
    totals = [a + b + c for a, b, c in zip(load, render, save, strict=True)]
    return {"load": _p50(load), "render": _p50(render), "save": _p50(save), "total": _p50(totals)}


def cached(
    compiled: CompiledTemplate, context: dict[str, Any], runs: int, load_ms: float
) -> dict[str, float]:
    fill, package = [], []
    for _ in range(runs):
        t0 = time.perf_counter()
        rendered = compiled.fill(context)
        t1 = time.perf_counter()
        compiled.package(rendered)
        t2 = time.perf_counter()
        fill.append(t1 - t0)
        package.append(t2 - t1)
    totals = [a + b for a, b in zip(fill, package, strict=True)]
    return {"load (once)": load_ms, "render": _p50(fill), "save": _p50(package), "total": _p50(totals)}


def _timed(function: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    result = function()
    return result, (time.perf_counter() - start) * 1000


def docxtemplater(template: bytes, data: dict[str, Any], runs: int) -> dict[str, float]:
    """N renders in one node process; installs docxtemplater and pizzip on first use."""
    timings = docxtemplater_runs(template, data, runs)
    return {k: v for k, v in timings.items() if k != "totals"}


def docxtemplater_runs(template: bytes, data: dict[str, Any], runs: int) -> dict[str, Any]:
    """As `docxtemplater`, with every run's total in ms under "totals" (for percentiles)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        raise RuntimeError("docxtemplater braucht Node.js und npm (Debian: apt-get install nodejs npm)")
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    if not (BENCH_DIR / "node_modules" / "docxtemplater").exists():
        subprocess.run([npm, "install", "--silent", "--no-audit", "--no-fund", "--prefix", str(BENCH_DIR),  # noqa: S603
                        *NODE_PACKAGES], check=True)
    script, template_file, data_file = (BENCH_DIR / "bench.js", BENCH_DIR / "table-docxtemplater.docx",
                                        BENCH_DIR / "table-data.json")
    script.write_text(NODE_SCRIPT, encoding="utf-8")
    template_file.write_bytes(template)
    data_file.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    result = subprocess.run([node, str(script), str(template_file), str(data_file), str(runs),  # noqa: S603
                             str(BENCH_DIR / "table-docxtemplater-out.docx")],
                            capture_output=True, text=True, check=True, cwd=BENCH_DIR)
    timings: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return timings


def _line(name: str, timings: dict[str, float], reference: float | None = None) -> str:
    text = f"  {name:<15}" + "  ".join(f"{k} {v:.1f}" for k, v in timings.items())
    text += f"  -> {1000 / timings['total']:.0f} docs/s"
    if reference is not None:
        text += f", {reference / timings['total']:.1f}x"
    return text


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--no-docxtemplater", action="store_true", help="skip the npm comparison")
    arguments = parser.parse_args()
    runs = arguments.runs
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # node, started later, inherits it
    print(f"p50 over {runs} runs, one core; ms")
    for name, kind, context in cases():
        template = (TEMPLATES_DIR / kind.default_template).read_bytes()
        renderer = Renderer()
        ref, load_ms = _timed(functools.partial(renderer.builtin, kind))  # with the upload check
        bare = bare_docxtpl(template, context, runs)
        ours = cached(renderer.compiled(ref), context, runs, load_ms)
        print(f"\n{name}")
        print(_line("bare docxtpl:", bare))
        print(_line("cached:", ours, bare["total"]))

    print(f"\nVertragsähnliches Dokument mit {ROWS}-Zeilen-Tabelle (gleicher Inhalt in allen drei)")
    data = table_data()
    ours_template = table_document("docxtpl")
    compiled, load_ms = _timed(lambda: compile_template(ours_template, sandbox()))
    bare = bare_docxtpl(ours_template, data, runs)
    ours = cached(compiled, data, runs, load_ms)
    print(_line("bare docxtpl:", bare))
    print(_line("cached:", ours, bare["total"]))
    if not arguments.no_docxtemplater:
        theirs = docxtemplater(table_document("docxtemplater"), data, runs)
        print(_line("docxtemplater:", theirs, bare["total"]))
        print(f"  ratios: cached is {bare['total'] / ours['total']:.1f}x bare docxtpl and "
              f"{theirs['total'] / ours['total']:.1f}x docxtemplater; docxtemplater is "
              f"{bare['total'] / theirs['total']:.1f}x bare docxtpl")


if __name__ == "__main__":
    main()
