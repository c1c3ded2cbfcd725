"""PDF/A output through LibreOffice headless, where it is installed (Debian: libreoffice-writer-nogui).

LibreOffice is a large system package, not a Python dependency: the documents container image and
the test set-up install it; a clerk's laptop may not have it, so callers ask `available()` first
and tell the user instead of failing half way.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from kimnetz.errors import FailedPrecondition

# PDF/A-2b (SelectPdfVersion 2); the JSON filter options need LibreOffice 7.4 or newer.
PDFA_FILTER = 'pdf:writer_pdf_Export:{"SelectPdfVersion":{"type":"long","value":"2"}}'
MISSING = (
    "LibreOffice ist nicht installiert (Programm „soffice“ nicht gefunden); PDF-Ausgabe nicht möglich. "
    "Installation unter Debian/Ubuntu: apt-get install libreoffice-writer-nogui. "
    "Ohne --pdf werden nur die DOCX-Dateien erzeugt."
)


def soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def available() -> bool:
    return soffice() is not None


def convert_to_pdf(documents: list[Path], out_dir: Path, timeout: float = 600) -> list[Path]:
    """Convert DOCX files to PDF/A in one LibreOffice run (its start-up costs seconds)."""
    executable = soffice()
    if executable is None:
        raise FailedPrecondition(MISSING)
    # A private profile: a LibreOffice the user has open would otherwise swallow the request.
    with tempfile.TemporaryDirectory(prefix="kim-soffice-") as profile:
        command = [
            executable, f"-env:UserInstallation={Path(profile).as_uri()}", "--headless", "--norestore",
            "--convert-to", PDFA_FILTER, "--outdir", str(out_dir), *map(str, documents),
        ]
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)  # noqa: S603
    pdfs = [out_dir / f"{document.stem}.pdf" for document in documents]
    missing = [pdf.name for pdf in pdfs if not pdf.exists()]
    if result.returncode != 0 or missing:
        failed = ", ".join(missing) or f"Rückgabewert {result.returncode}"
        output = (result.stderr or result.stdout).strip()[-500:]
        raise FailedPrecondition(f"LibreOffice konnte nicht umwandeln ({failed}): {output}")
    return pdfs


def docx_to_pdf(content: bytes, timeout: float = 120) -> bytes:
    """One DOCX's bytes as PDF/A bytes (the api's GetDocumentPdf); FailedPrecondition without
    LibreOffice or when it fails."""
    with tempfile.TemporaryDirectory(prefix="kim-pdf-") as work:
        source = Path(work) / "dokument.docx"
        source.write_bytes(content)
        (converted,) = convert_to_pdf([source], Path(work), timeout=timeout)
        return converted.read_bytes()
