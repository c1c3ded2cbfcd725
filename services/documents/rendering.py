"""DOCX rendering: docxtpl's template syntax, but each template parsed and compiled once.

docxtpl re-reads the DOCX, re-runs its regex clean-up and recompiles the Jinja template on every
render, and python-docx re-zips every part on save. Here a template version is compiled once into
a `CompiledTemplate`: the clean-up (`DocxTemplate.patch_xml`) is done once, the Jinja code of each
templated part (body, headers, footers, footnotes) is compiled once, and every untouched part sits
in a ready-made zip to which a render only appends the parts it produced.

Charts: a template marks a picture as a placeholder by its name ("kim-chart:<key>", Word's
selection pane); its image part is replaced by the PNG a render supplies under that key, at the
size the author gave the picture (`CompiledTemplate.charts`).

Every template, built-in or uploaded, runs in a Jinja2 `SandboxedEnvironment` with autoescape and
`StrictUndefined`: a template cannot reach Python internals (`{{ ''.__class__ }}`), text like
"<GmbH> & Co" is printed literally, and a misspelt variable is an error instead of a silent gap.

Word refuses a file whose XML holds a character XML 1.0 forbids (control characters such as
U+0001 or U+000B): every rendered part is cleaned of them (`xml_safe`), input that carries them
is refused with the field named (`control_character_violations`), and so is an uploaded template.
An uploaded template is a program its author runs on the server: its validation is bounded in
size (upload, unpacked parts, number of parts and placeholders), in the output of a part, in
repetition (`*`, `**` on long operands) and in time (`VALIDATION_SECONDS`, checked as it renders),
each refused with a German error rather than the process's memory or a server thread.
"""

from __future__ import annotations

import hashlib
import io
import operator
import re
import threading
import time
import zipfile
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from docxtpl import DocxTemplate
from jinja2 import StrictUndefined, Template, TemplateError, TemplateSyntaxError, meta, nodes
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment
from lxml import etree  # type: ignore[import-untyped]

from kimnetz.errors import FieldViolation, InvalidArgument
from services.documents.domain.kinds import Kind

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"

_TEMPLATED_PART = re.compile(r"word/(document|header\d*|footer\d*|footnotes)\.xml")
_XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
# docxtpl tags whose output changes a table's column count; only then is its table fix needed.
_COLUMN_TAGS = re.compile(r"{%-?\s*(tc\s|colspan|cellbg|hm\s*%|vm\s*%)")
_DOCPR_ID = re.compile(r'(<wp:docPr\b[^>]*?\bid=")\d+(")')
_LISTING_CHARS = ("\t", "\a", "\n", "\f")
_COMPRESSLEVEL = 6
CHART_PREFIX = "kim-chart:"
_EMU_PER_INCH = 914400
_NS = {
    "wp": "http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing",
    "a": "http://schemas.openxmlformats.org/drawingml/2006/main",
    "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    "rel": "http://schemas.openxmlformats.org/package/2006/relationships",
}

#: Characters XML 1.0 forbids (all C0 controls but tab, line feed, carriage return; lone
#: surrogates; U+FFFE, U+FFFF). Word cannot open a part that contains one.
ILLEGAL_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")

# Limits of an uploaded template (validation runs on an api thread, for anyone who may upload).
MAX_TEMPLATE_BYTES = 10 * 1024 * 1024  # the DOCX as uploaded
MAX_UNPACKED_BYTES = 60 * 1024 * 1024  # all its parts unpacked (a zip bomb stops here)
MAX_PARTS = 400  # files in the DOCX
MAX_PLACEHOLDERS = 5000  # {{ … }} and {% … %} over all templated parts
MAX_PART_OUTPUT = 40 * 1024 * 1024  # characters one rendered part may have
MAX_REPEAT = 1_000_000  # length of a text or list made by * or **
VALIDATION_SECONDS = 10.0  # compiling and the trial render of an upload

_PLACEHOLDER = re.compile(r"{{|{%")

# docxtpl's text transformations (patch_xml, resolve_listing, fix_tables) read no instance state;
# one instance without a file lends them, so templates keep exactly docxtpl's syntax.
_docxtpl = DocxTemplate(None)


class _Deadline(threading.local):
    """The time by which the render running on this thread must be done (inf: none)."""

    at: float = float("inf")


_deadline = _Deadline()


def _check_deadline() -> None:
    if time.monotonic() > _deadline.at:
        raise _TooExpensive(
            f"Die Prüfung der Vorlage dauert zu lange (mehr als {VALIDATION_SECONDS:.0f} s); "
            "bitte Schleifen und Wiederholungen in der Vorlage verringern.")


class _TooExpensive(Exception):
    """A template exceeded a limit while it rendered (German message)."""


class _BoundedSandbox(SandboxedEnvironment):
    """The sandbox with limits: `*` and `**` cannot make huge texts, lists or numbers, every
    call checks the render's deadline, and `range` checks it as it counts."""

    intercepted_binops = frozenset({"*", "**"})

    def __init__(self) -> None:
        super().__init__(autoescape=True, undefined=StrictUndefined)
        self.globals["range"] = self._range

    def call_binop(self, context: Any, operator_name: str, left: Any, right: Any) -> Any:
        _check_deadline()
        if operator_name == "**":
            if isinstance(right, int | float) and abs(right) > 64 and not (
                    isinstance(left, int | float) and abs(left) <= 1):
                raise SecurityError("Potenzen mit Exponenten über 64 sind in Vorlagen gesperrt.")
            return operator.pow(left, right)
        sized = next((v for v in (left, right) if isinstance(v, str | list | tuple)), None)
        factor = right if sized is left else left
        if sized is not None and isinstance(factor, int) and len(sized) * factor > MAX_REPEAT:
            raise SecurityError(
                f"Wiederholungen über {MAX_REPEAT} Zeichen oder Einträge sind in Vorlagen gesperrt.")
        return operator.mul(left, right)

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        _check_deadline()
        return super().call(__context, __obj, *args, **kwargs)

    def _range(self, *args: int) -> Iterator[int]:
        from jinja2.sandbox import safe_range

        for number, value in enumerate(safe_range(*args)):
            if number % 256 == 0:
                _check_deadline()
            yield value


def sandbox() -> SandboxedEnvironment:
    return _BoundedSandbox()


def xml_safe(text: str) -> str:
    """`text` without the characters XML 1.0 forbids."""
    return ILLEGAL_XML.sub("", text)


def control_character_violations(data: Any, path: str = "") -> list[FieldViolation]:
    """A German violation for every text in `data` (nested dicts and lists, as parsed from
    JSON or YAML) that holds a character Word cannot store, named by its path."""
    found: list[FieldViolation] = []
    if isinstance(data, str):
        match = ILLEGAL_XML.search(data)
        if match:
            found.append(FieldViolation(
                path or "(gesamte Eingabe)",
                f"Enthält ein Steuerzeichen (U+{ord(match.group()):04X}), das Word nicht speichern "
                "kann; bitte entfernen."))
    elif isinstance(data, Mapping):
        for key, value in data.items():
            found += control_character_violations(value, f"{path}.{key}" if path else str(key))
    elif isinstance(data, list | tuple):
        for index, value in enumerate(data):
            found += control_character_violations(value, f"{path}[{index}]")
    return found


@dataclass(frozen=True)
class TemplateRef:
    """Cache key of one template version; a new upload is a new version, never a changed one."""

    template_id: str
    version: str


@dataclass(frozen=True)
class _Part:
    name: str
    date_time: tuple[int, int, int, int, int, int]
    source: str
    template: Template
    fix_tables: bool
    renumber_drawings: bool

    def render(self, context: Mapping[str, Any]) -> bytes:
        pieces, size = [], 0
        for piece in self.template.generate(context):
            size += len(piece)
            if size > MAX_PART_OUTPUT:
                raise _TooExpensive(
                    f"{_label(self.name).capitalize()} wird beim Ausfüllen größer als "
                    f"{MAX_PART_OUTPUT // (1024 * 1024)} Mio. Zeichen.")
            pieces.append(piece)
        xml = "".join(pieces)
        # Undo the line breaks added before each paragraph for error line numbers (see _source).
        xml = xml.replace("\n<w:p>", "<w:p>").replace("\n<w:p ", "<w:p ")
        if "{_" in xml or "_}" in xml:  # docxtpl's escape for literal braces in a template
            xml = xml.replace("{_{", "{{").replace("}_}", "}}").replace("{_%", "{%").replace("%_}", "%}")
        if any(char in xml for char in _LISTING_CHARS):  # line breaks and tabs inside values
            xml = _docxtpl.resolve_listing(xml)
        # What remains of control characters would make a file Word cannot open.
        xml = xml_safe(xml)
        if self.fix_tables:
            xml = etree.tostring(_docxtpl.fix_tables(xml), encoding="unicode")
        if self.renumber_drawings:
            ids = iter(range(1001, 1_000_000))
            xml = _DOCPR_ID.sub(lambda m: f"{m.group(1)}{next(ids)}{m.group(2)}", xml)
        return (_XML_DECLARATION + xml).encode("utf-8")


@dataclass(frozen=True)
class ChartSlot:
    """A picture placeholder: its image part, kept out of the ready-made zip, and its size."""

    key: str
    info: zipfile.ZipInfo
    placeholder: bytes
    width_inches: float
    height_inches: float


class CompiledTemplate:
    """One template version, ready to render many times (thread-safe: rendering shares no state)."""

    def __init__(
        self, parts: list[_Part], base_zip: bytes, charts: dict[str, ChartSlot] | None = None
    ) -> None:
        self.parts = parts
        self._base_zip = base_zip
        self.charts = charts or {}

    def render(self, context: Mapping[str, Any], images: Mapping[str, bytes] | None = None) -> bytes:
        return self.package(self.fill(context), images)

    def fill(self, context: Mapping[str, Any]) -> list[tuple[_Part, bytes]]:
        """The templated parts filled with `context` (the Jinja work)."""
        return [(part, _render_part(part, context)) for part in self.parts]

    def package(
        self, rendered: list[tuple[_Part, bytes]], images: Mapping[str, bytes] | None = None
    ) -> bytes:
        """The DOCX: the ready-made zip of untouched parts plus the filled ones (the zip work) and
        the charts (a placeholder without a chart keeps its template picture)."""
        buffer = io.BytesIO(self._base_zip)
        with zipfile.ZipFile(buffer, "a") as docx:
            for part, data in rendered:
                # The template's timestamp, not now: the same input gives the same bytes (and SHA-256).
                info = zipfile.ZipInfo(part.name, date_time=part.date_time)
                docx.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=_COMPRESSLEVEL)
            for slot in self.charts.values():
                image = (images or {}).get(slot.key, slot.placeholder)
                # PNG is compressed already; deflating it again costs time and saves nothing.
                info = zipfile.ZipInfo(slot.info.filename, date_time=slot.info.date_time)
                docx.writestr(info, image, compress_type=zipfile.ZIP_STORED)
        return buffer.getvalue()


def compile_template(data: bytes, env: SandboxedEnvironment) -> CompiledTemplate:
    """Parse a DOCX once; raise InvalidArgument for a file that is no DOCX or has syntax errors."""
    members = _read_docx(data)
    parts: list[_Part] = []
    violations: list[FieldViolation] = []
    slots = _chart_places(dict((info.filename, content) for info, content in members), violations)
    charts: dict[str, ChartSlot] = {}
    placeholders = 0
    base = io.BytesIO()
    with zipfile.ZipFile(base, "w", zipfile.ZIP_DEFLATED) as out:
        for info, content in members:
            if info.filename in slots:
                key, width, height = slots[info.filename]
                charts[key] = ChartSlot(key, info, content, width, height)
                continue
            try:
                source = _source(info.filename, content)
            except etree.XMLSyntaxError as exc:
                violations.append(FieldViolation(
                    "template", f"{_label_any(info.filename)} ist kein gültiges XML ({exc.msg})."))
                continue
            if source is None:
                out.writestr(info, content)
                continue
            # Counted before Jinja compiles anything: compiling is the expensive part.
            placeholders += len(_PLACEHOLDER.findall(source))
            if placeholders > MAX_PLACEHOLDERS:
                raise _too_large(f"Die Vorlage hat mehr als {MAX_PLACEHOLDERS} Platzhalter und "
                                 f"Anweisungen; erlaubt sind höchstens {MAX_PLACEHOLDERS}.")
            try:
                template = env.from_string(source)
            except TemplateSyntaxError as exc:
                violations.append(_syntax_violation(info.filename, source, exc))
                continue
            parts.append(
                _Part(
                    name=info.filename,
                    date_time=info.date_time,
                    source=source,
                    template=template,
                    fix_tables=bool(_COLUMN_TAGS.search(_text_of(content.decode("utf-8")))),
                    renumber_drawings="<wp:docPr" in source,
                )
            )
    if violations:
        raise InvalidArgument(violations, message="Die Vorlage enthält Fehler.")
    return CompiledTemplate(parts, base.getvalue(), charts)


def _chart_places(
    members: dict[str, bytes], violations: list[FieldViolation]
) -> dict[str, tuple[str, float, float]]:
    """Image part -> (chart key, width, height in inches) of every picture named kim-chart:<key>."""
    document = members.get("word/document.xml", b"")
    if CHART_PREFIX.encode() not in document:
        return {}
    rels = etree.fromstring(members.get("word/_rels/document.xml.rels", b"<x/>"))
    targets = {rel.get("Id"): rel.get("Target", "") for rel in rels.iterfind("rel:Relationship", _NS)}
    found: dict[str, tuple[str, float, float]] = {}
    for doc_pr in etree.fromstring(document).iterfind(".//wp:docPr", _NS):
        name = doc_pr.get("name", "")
        if not name.startswith(CHART_PREFIX):
            continue
        key, drawing = name.removeprefix(CHART_PREFIX).strip(), doc_pr.getparent()
        blip, extent = drawing.find(".//a:blip", _NS), drawing.find("wp:extent", _NS)
        target = targets.get(blip.get(f"{{{_NS['r']}}}embed")) if blip is not None else None
        part = f"word/{target}" if target and not target.startswith("/") else (target or "").lstrip("/")
        if not target or part not in members or extent is None:
            violations.append(
                FieldViolation("template", f"Das Diagramm „{key}“ ist kein eingebettetes Bild.")
            )
        elif part in found:
            violations.append(FieldViolation(
                "template", f"Die Diagramme „{found[part][0]}“ und „{key}“ teilen sich ein Bild; "
                            "jedes Diagramm braucht ein eigenes Platzhalterbild."))
        else:
            found[part] = (key, int(extent.get("cx", "0")) / _EMU_PER_INCH,
                           int(extent.get("cy", "0")) / _EMU_PER_INCH)
    return found


def validate_template(data: bytes, kind: Kind, env: SandboxedEnvironment | None = None) -> CompiledTemplate:
    """Check a template for `kind` as on upload and return it compiled; raise InvalidArgument with
    every problem: syntax errors with their place, variables the kind does not provide, access to
    protected attributes, and a trial render with the kind's sample data."""
    env = env or sandbox()
    started = time.monotonic()
    compiled = compile_template(data, env)
    violations: list[FieldViolation] = []
    for part in compiled.parts:
        ast = env.parse(part.source)
        violations += _static_violations(part, ast, kind)
        violations += _control_characters_in(part, ast)
    for key in sorted(compiled.charts.keys() - set(kind.charts)):
        available = ", ".join(kind.charts) or "keine"
        violations.append(FieldViolation(
            "template", f"Diagramm „{key}“ gibt es für die Dokumentart „{kind.label}“ nicht; "
                        f"verfügbar: {available}."))
    if not violations:
        _deadline.at = started + VALIDATION_SECONDS
        try:
            for part in compiled.parts:
                _check_deadline()
                etree.fromstring(_render_part(part, kind.variables))
        except InvalidArgument as exc:
            violations += exc.violations
        except _TooExpensive as exc:
            raise _too_large(str(exc)) from None
        except etree.XMLSyntaxError as exc:
            violations.append(
                FieldViolation("template", f"Die Vorlage ergibt kein gültiges Word-Dokument ({exc}).")
            )
        finally:
            _deadline.at = float("inf")
    if violations:
        raise InvalidArgument(violations, message="Die Vorlage enthält Fehler.")
    return compiled


class Renderer:
    """Keeps compiled templates by (template id, version), the least recently used evicted first."""

    def __init__(self, capacity: int = 64) -> None:
        self.env = sandbox()
        self._capacity = capacity
        self._compiled: OrderedDict[TemplateRef, CompiledTemplate] = OrderedDict()
        self._lock = threading.Lock()
        self._builtins: dict[str, tuple[TemplateRef, str]] = {}

    def load(self, ref: TemplateRef, data: bytes, kind: Kind) -> CompiledTemplate:
        """Validate and compile a template version once; later calls return the cached one."""
        with self._lock:
            if ref in self._compiled:
                self._compiled.move_to_end(ref)
                return self._compiled[ref]
        compiled = validate_template(data, kind, self.env)
        with self._lock:
            self._compiled[ref] = compiled
            while len(self._compiled) > self._capacity:
                self._compiled.popitem(last=False)
        return compiled

    def builtin(self, kind: Kind) -> TemplateRef:
        """The default template of `kind` shipped in templates/, versioned by its content (read
        once per process: an api renders with it many times a second)."""
        known = self._builtins.get(kind.id)
        if known is not None and self.is_loaded(known[0]):
            return known[0]
        data = (TEMPLATES_DIR / kind.default_template).read_bytes()
        ref = self.load_file(f"builtin:{kind.id}", data, kind)
        self._builtins[kind.id] = (ref, hashlib.sha256(data).hexdigest())
        return ref

    def builtin_sha256(self, kind: Kind) -> str:
        """SHA-256 of the built-in template of `kind` (recorded with each document made from it)."""
        self.builtin(kind)
        return self._builtins[kind.id][1]

    def load_file(self, template_id: str, data: bytes, kind: Kind) -> TemplateRef:
        ref = TemplateRef(template_id, hashlib.sha256(data).hexdigest()[:16])
        self.load(ref, data, kind)
        return ref

    def compiled(self, ref: TemplateRef) -> CompiledTemplate:
        with self._lock:
            compiled = self._compiled.get(ref)
        if compiled is None:
            raise KeyError(f"template {ref} is not loaded")
        return compiled

    def render(
        self, ref: TemplateRef, context: Mapping[str, Any], images: Mapping[str, bytes] | None = None
    ) -> bytes:
        return self.compiled(ref).render(context, images)

    def is_loaded(self, ref: TemplateRef) -> bool:
        with self._lock:
            return ref in self._compiled


def _render_part(part: _Part, context: Mapping[str, Any]) -> bytes:
    try:
        return part.render(context)
    except _TooExpensive as exc:
        if _deadline.at != float("inf"):
            raise  # validate_template reports it as a limit of the upload
        raise InvalidArgument([FieldViolation("template", str(exc))],
                              message="Die Vorlage lässt sich nicht ausfüllen.") from None
    except SecurityError as exc:
        raise InvalidArgument(
            [FieldViolation("template", f"Unzulässiger Zugriff in {_label(part.name)}: {exc}")],
            message="Die Vorlage wurde abgewiesen.",
        ) from None
    except TemplateError as exc:
        raise InvalidArgument(
            [FieldViolation("template", f"Fehler beim Ausfüllen von {_label(part.name)}: {exc}")],
            message="Die Vorlage lässt sich nicht ausfüllen.",
        ) from None


def _too_large(what: str) -> InvalidArgument:
    return InvalidArgument([FieldViolation("template", what)],
                           message="Die Vorlage überschreitet eine Grenze.")


def _read_docx(data: bytes) -> list[tuple[zipfile.ZipInfo, bytes]]:
    if len(data) > MAX_TEMPLATE_BYTES:
        raise _too_large(f"Die Vorlage ist {len(data) / 1024 / 1024:.1f} MB groß; erlaubt sind "
                         f"höchstens {MAX_TEMPLATE_BYTES // (1024 * 1024)} MB.")
    members: list[tuple[zipfile.ZipInfo, bytes]] = []
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as docx:
            infos = docx.infolist()
            if len(infos) > MAX_PARTS:
                raise _too_large(f"Die Vorlage besteht aus {len(infos)} Teilen; erlaubt sind "
                                 f"höchstens {MAX_PARTS}.")
            unpacked = 0
            for info in infos:
                # Read at most what the budget leaves: the sizes in the zip's headers may lie.
                with docx.open(info) as member:
                    content = member.read(MAX_UNPACKED_BYTES - unpacked + 1)
                unpacked += len(content)
                if unpacked > MAX_UNPACKED_BYTES:
                    raise _too_large(f"Die Vorlage ist entpackt größer als "
                                     f"{MAX_UNPACKED_BYTES // (1024 * 1024)} MB.")
                members.append((info, content))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, NotImplementedError,
            ValueError):
        members = []
    if not any(info.filename == "word/document.xml" for info, _ in members):
        raise InvalidArgument([FieldViolation("template", "Keine gültige DOCX-Datei (Word-Dokument).")])
    return members


def _source(name: str, content: bytes) -> str | None:
    """The Jinja source of a templated part, or None for a part to copy as it is."""
    if not _TEMPLATED_PART.fullmatch(name) or b"{" not in content:
        return None
    # Serialise with lxml as docxtpl does: its clean-up regexes expect lxml's spelling of the XML.
    xml = _docxtpl.patch_xml(etree.tostring(etree.fromstring(content), encoding="unicode"))
    if "{{" not in xml and "{%" not in xml:
        return None
    # One line per paragraph, so Jinja's line numbers point at a paragraph (as in docxtpl).
    return re.sub(r"<w:p([ >])", r"\n<w:p\1", xml)


def _label_any(part_name: str) -> str:
    if _TEMPLATED_PART.fullmatch(part_name):
        return _label(part_name).replace("dem ", "Der ", 1).replace("der ", "Die ", 1).replace(
            "den ", "Die ", 1)
    return f"Der Teil {part_name}"


def _text_of(xml: str) -> str:
    return re.sub(r"<[^>]+>", "", xml)


def _label(part_name: str) -> str:
    stem = part_name.removeprefix("word/").removesuffix(".xml")
    if stem == "document":
        return "dem Haupttext"
    if stem.startswith("header"):
        return f"der Kopfzeile ({stem})"
    if stem.startswith("footer"):
        return f"der Fußzeile ({stem})"
    return "den Fußnoten"


def _syntax_violation(part_name: str, source: str, exc: TemplateSyntaxError) -> FieldViolation:
    lines = source.splitlines()
    line = lines[exc.lineno - 1] if 0 < exc.lineno <= len(lines) else ""
    text = _text_of(line).strip()[:80]
    return FieldViolation(
        "template",
        f"Syntaxfehler in {_label(part_name)}, Absatz {max(exc.lineno - 1, 1)}: {exc.message}"
        + (f" (Text: „{text}“)" if text else ""),
    )


def _static_violations(part: _Part, ast: nodes.Template, kind: Kind) -> Iterator[FieldViolation]:
    where = _label(part.name)
    provided = kind.variables
    for name in sorted(meta.find_undeclared_variables(ast) - provided.keys()):
        yield FieldViolation(
            "template",
            f"Variable „{name}“ in {where} wird von der Dokumentart „{kind.label}“ nicht bereitgestellt; "
            f"verfügbar: {', '.join(sorted(provided))}.",
        )
    # Loop variables over lists of dicts (`{% for c in consultations %}`) get their items' keys.
    known = {name: value for name, value in provided.items() if isinstance(value, dict)}
    for loop in ast.find_all(nodes.For):
        if isinstance(loop.target, nodes.Name) and isinstance(loop.iter, nodes.Name):
            items = provided.get(loop.iter.name)
            if isinstance(items, list) and items and isinstance(items[0], dict):
                known[loop.target.name] = items[0]
    for node in ast.find_all((nodes.Getattr, nodes.Getitem, nodes.Filter)):
        attribute = _accessed_name(node)
        if attribute is not None and attribute.startswith("_"):
            yield FieldViolation(
                "template",
                f"Unzulässiger Zugriff auf „{attribute}“ in {where}: geschützte Attribute sind gesperrt.",
            )
        elif isinstance(node, nodes.Getattr) and isinstance(node.node, nodes.Name):
            allowed = known.get(node.node.name)
            if allowed is not None and node.attr not in allowed:
                yield FieldViolation(
                    "template",
                    f"„{node.node.name}.{node.attr}“ in {where} gibt es nicht; "
                    f"verfügbar: {', '.join(sorted(allowed))}.",
                )


def _control_characters_in(part: _Part, ast: nodes.Template) -> Iterator[FieldViolation]:
    """Texts written into the template ({{ "…" }}) with characters Word cannot store."""
    for node in ast.find_all(nodes.Const):
        if isinstance(node.value, str):
            match = ILLEGAL_XML.search(node.value)
            if match:
                yield FieldViolation(
                    "template",
                    f"Ein Text in {_label(part.name)} enthält ein Steuerzeichen "
                    f"(U+{ord(match.group()):04X}), das Word nicht speichern kann.")
                return


def _accessed_name(node: nodes.Node) -> str | None:
    if isinstance(node, nodes.Getattr):
        return str(node.attr)
    if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
        return node.arg.value if isinstance(node.arg.value, str) else None
    if isinstance(node, nodes.Filter) and node.name == "attr" and node.args:
        argument = node.args[0]
        if isinstance(argument, nodes.Const) and isinstance(argument.value, str):
            return argument.value
    return None
