"""The three protocol and report kinds as a reader gets them from the api: opened with
python-docx, checked for what users rely on, and converted to PDF/A by the real LibreOffice."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import pytest

from kim.documents.v1 import documents_pb2 as pb
from services.documents import pdf
from services.documents.rendering import TEMPLATES_DIR
from tests.integration.documents.conftest import Call
from tests.integration.documents.inputs import INPUTS, all_text, open_docx, struct
from tests.integration.documents.test_api import COORDINATOR


def render(call: Call, kind: int, data: dict | None = None) -> bytes:
    request = pb.RenderDocumentRequest(kind=kind, input=struct(data or INPUTS[kind]()))
    return call("RenderDocument", request, as_user=COORDINATOR).content


def test_fallkonferenz_protokoll_names_cases_only_by_pseudonym(call: Call) -> None:
    text = all_text(render(call, pb.FALLKONFERENZ_PROTOKOLL))
    assert "Datum | 12.03.2026" in text and "Zeit | 09:00–11:30 Uhr" in text
    assert "Ort | Kreishaus Mettmann, Raum 2.14" in text
    # Participants grouped by role, each with the organisation.
    assert "Case Management | Clara Manager | Stadt Hilden" in text
    assert "Integrationslots*in der Ausländerbehörde | Leyla Lotsin | ABH Kreis Mettmann" in text
    assert text.index("Koordination (Kommunales") < text.index("Case Management |")
    # Agenda items in order with brief, decision and reasoning.
    first, second = text.index("TOP 1: KIM-2026-7F3K9Q – Fallvorschlag"), text.index("TOP 2: KIM-2026-2M8XQA")
    assert first < second
    assert "Entscheidung | Aufnahme ins Case Management" in text
    assert "Zuständig / Ziel | Caritas Mettmann" in text
    assert "Drei Rechtskreise beteiligt" in text and "Entscheidung | Fortführung" in text
    assert "Nächste Fallkonferenz: 11.06.2026" in text
    # Signed by the coordinator.
    assert text.rstrip().splitlines()[-3:-1] == ["Katrin Koordination", "Koordinatorin KIM"]


def test_beschlussprotokoll_has_quorum_votes_and_the_beschlussverfolgung(call: Call) -> None:
    text = all_text(render(call, pb.LENKUNGSGRUPPE_PROTOKOLL))
    assert "Dr. Weber | Kreis Mettmann | Dezernentin" in text
    assert "S. Stadt (Stadt Hilden, Amtsleitung)" in text  # excused, not among the present
    assert "Die Lenkungsgruppe ist mit 3 von 4 Mitgliedern beschlussfähig." in text
    assert "Beschluss LG 3/2026: Sprechstunde der ABH im Jobcenter" in text
    assert "monatliche Sprechstunde im Jobcenter" in text
    assert "2 | 0 | 1 | angenommen" in text
    assert "Verantwortlich | ABH Kreis Mettmann" in text and "Frist | 01.07.2026" in text
    rows = [line for line in text.splitlines() if line.startswith("LG ")]
    assert rows == [
        "LG 7/2025 | Wartezeiten Integrationskurse erheben | 12.11.2025 | Kommunales Integrationszentrum"
        " | 31.03.2026 | in Umsetzung – überfällig",
        "LG 5/2025 | Zielgruppe UMF bestätigt | 10.09.2025 | Lenkungsgruppe | 31.12.2025 | umgesetzt",
    ]


def test_monitoringbericht_embeds_charts_and_never_prints_small_numbers(call: Call) -> None:
    content = render(call, pb.MONITORINGBERICHT)
    text = all_text(content)
    assert "Berichtszeitraum: 01.01.2026 bis 30.06.2026" in text
    # 2 is printed "< 5"; the total of 65 and the largest cell (27) are withheld ("x"), so that
    # no subtraction gives the 2 (kimnetz/disclosure.py); the status table, counting the same cases,
    # withholds with it.
    zielgruppen = text.split("Zielgruppe | Fälle\n")[1].split("\nSumme")[0].splitlines()
    assert zielgruppen == [
        "Unbegleitete minderjährige Geflüchtete | 14",
        "§§ 25a, 25b AufenthG | x",
        "Geduldete und Gestattete über 27 | < 5",
        "Süd-Ost-Europa | 22",
    ]
    assert "Summe | 65" not in text and "Summe | x" in text
    assert "in der Fallkonferenz | < 5" in text and "aktiv (Monitoring) | x" in text
    assert not re.search(r"\| [1-4]$", text, re.MULTILINE)  # no count below 5 anywhere
    assert "Wartezeit | 17" in text and "rechtliche Hürde | 6" in text

    document = open_docx(content)
    assert len(document.inline_shapes) == 2
    names = [shape._inline.docPr.get("name") for shape in document.inline_shapes]
    assert names == ["kim-chart:cases_by_status", "kim-chart:cases_by_zielgruppe"]
    with (
        zipfile.ZipFile(io.BytesIO(content)) as rendered,
        zipfile.ZipFile(TEMPLATES_DIR / "monitoringbericht.docx") as template,
    ):
        media = [n for n in rendered.namelist() if n.startswith("word/media/")]
        assert len(media) == 2
        for name in media:
            image = rendered.read(name)
            assert image.startswith(b"\x89PNG")
            assert image != template.read(name)  # the chart of these figures, not the sample


@pytest.mark.parametrize(
    "kind",
    [pb.FALLKONFERENZ_PROTOKOLL, pb.LENKUNGSGRUPPE_PROTOKOLL, pb.MONITORINGBERICHT,
     pb.EINWILLIGUNGSERKLAERUNG],
    ids=pb.DocumentKind.Name,
)
def test_libreoffice_converts_each_new_kind_to_pdf_a(call: Call, kind: int, tmp_path: Path) -> None:
    if not pdf.available():
        pytest.fail(
            "LibreOffice (soffice) is not installed, but the test set-up installs it: "
            "run `scripts/infra.sh tools`",
            pytrace=False,
        )
    source = tmp_path / f"{pb.DocumentKind.Name(kind).lower()}.docx"
    source.write_bytes(render(call, kind))
    (converted,) = pdf.convert_to_pdf([source], tmp_path)
    content = converted.read_bytes()
    assert content.startswith(b"%PDF-") and b"pdfaid:part" in content
