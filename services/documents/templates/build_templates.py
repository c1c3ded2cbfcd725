"""Builds the built-in templates (contract, drucksache, fallkonferenz, lenkungsgruppe,
monitoringbericht, einwilligungserklaerung .docx) with python-docx.

Run after a change and commit the script and the .docx files together:

    .venv/bin/python -m services.documents.templates.build_templates

The templates use docxtpl's syntax ({{ value }}, {%p ... %} for paragraphs, {%tr ... %} for table
rows); the variables each kind provides are listed in docs/documents.md. Layout follows German
administrative papers: DIN A4, Arial, a letterhead block, numbered paragraphs (§), tables with a
shaded label column, page numbers in the footer, signature blocks.
"""

from __future__ import annotations

import io
from pathlib import Path

from docx import Document
from docx.document import Document as DocumentObject
from docx.enum.section import WD_SECTION_START
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor
from docx.table import Table, _Cell
from docx.text.paragraph import Paragraph

HERE = Path(__file__).resolve().parent
FONT = "Arial"
GREY = RGBColor(0x59, 0x59, 0x59)
SHADE = "E7E6E6"


# --- building blocks ---------------------------------------------------------------------------

def new_document(title: str, subject: str) -> DocumentObject:
    doc = Document()
    props = doc.core_properties
    props.title, props.subject, props.author, props.language = title, subject, "KIM-Netz", "de-DE"
    props.comments, props.keywords = "", "KIM"
    section = doc.sections[0]
    section.start_type = WD_SECTION_START.NEW_PAGE
    section.page_width, section.page_height = Cm(21.0), Cm(29.7)
    section.left_margin, section.right_margin = Cm(2.5), Cm(2.0)
    section.top_margin, section.bottom_margin = Cm(2.0), Cm(2.0)
    section.header_distance = section.footer_distance = Cm(1.0)
    for name, size, bold in (("Normal", 11, False), ("Heading 1", 13, True), ("Heading 2", 11, True),
                             ("Title", 16, True)):
        style = doc.styles[name]
        style.font.name, style.font.size, style.font.bold = FONT, Pt(size), bold
        style.font.color.rgb = RGBColor(0, 0, 0)
        style.font.italic = False
        r_pr = style.element.get_or_add_rPr()
        fonts = r_pr.find(qn("w:rFonts"))
        if fonts is None:
            fonts = OxmlElement("w:rFonts")
            r_pr.append(fonts)
        for attribute in ("w:ascii", "w:hAnsi", "w:cs", "w:eastAsia"):
            fonts.set(qn(attribute), FONT)
        for theme in ("w:asciiTheme", "w:hAnsiTheme", "w:cstheme", "w:eastAsiaTheme"):
            fonts.attrib.pop(qn(theme), None)
        lang = OxmlElement("w:lang")
        lang.set(qn("w:val"), "de-DE")
        r_pr.append(lang)
        fmt = style.paragraph_format
        fmt.space_before = Pt(12 if name.startswith("Heading") else 0)
        fmt.space_after = Pt(6)
        fmt.line_spacing = 1.15
    doc.styles["Heading 1"].paragraph_format.keep_with_next = True
    doc.styles["Heading 2"].paragraph_format.keep_with_next = True
    doc.styles["Title"].paragraph_format.space_after = Pt(6)
    _no_title_border(doc)
    # python-docx's default package carries a thumbnail of an empty page; file managers would show
    # it as the preview of every contract.
    package_rels = doc.part.package.rels
    for rel_id, rel in list(package_rels.items()):
        if rel.reltype.endswith("/metadata/thumbnail"):
            package_rels.pop(rel_id)
    return doc


def _no_title_border(doc: DocumentObject) -> None:
    # python-docx's default Title style has a blue bottom border that no German administration uses.
    p_pr = doc.styles["Title"].element.find(qn("w:pPr"))
    if p_pr is not None:
        border = p_pr.find(qn("w:pBdr"))
        if border is not None:
            p_pr.remove(border)


def para(container: DocumentObject | _Cell, text: str = "", *, bold: bool = False, size: float | None = None,
         align: WD_ALIGN_PARAGRAPH | None = None, style: str | None = None, grey: bool = False,
         after: float | None = None) -> Paragraph:
    paragraph = container.add_paragraph(style=style)
    if text:
        run = paragraph.add_run(text)
        run.bold = bold or None
        if size:
            run.font.size = Pt(size)
        if grey:
            run.font.color.rgb = GREY
    if align is not None:
        paragraph.alignment = align
    if after is not None:
        paragraph.paragraph_format.space_after = Pt(after)
    return paragraph


def tag(container: DocumentObject | _Cell, statement: str) -> None:
    """A paragraph holding only a docxtpl paragraph tag ({%p ... %}); it vanishes on render."""
    container.add_paragraph(f"{{%p {statement} %}}")


def heading(doc: DocumentObject, text: str, level: int = 1) -> None:
    doc.add_paragraph(text, style=f"Heading {level}")


def shade(cell: _Cell, fill: str = SHADE) -> None:
    shading = OxmlElement("w:shd")
    shading.set(qn("w:val"), "clear")
    shading.set(qn("w:color"), "auto")
    shading.set(qn("w:fill"), fill)
    cell._tc.get_or_add_tcPr().append(shading)


def cell_text(cell: _Cell, text: str, *, bold: bool = False, size: float | None = None) -> None:
    paragraph = cell.paragraphs[0]
    paragraph.paragraph_format.space_after = Pt(2)
    run = paragraph.add_run(text)
    run.bold = bold or None
    if size:
        run.font.size = Pt(size)


def table(doc: DocumentObject, widths_cm: list[float], *, borders: bool = True) -> Table:
    grid: Table = doc.add_table(rows=0, cols=len(widths_cm))
    grid.style = doc.styles["Table Grid"] if borders else None
    grid.alignment = WD_TABLE_ALIGNMENT.LEFT
    grid.autofit = False
    # Word reads the cell widths, LibreOffice the grid: set both (cells in row()).
    for column, width in zip(grid.columns, widths_cm, strict=True):
        column.width = Cm(width)
    grid._widths = widths_cm  # type: ignore[attr-defined]
    return grid


def row(grid: Table, *texts: str, bold: bool = False, label: bool = False, size: float | None = None) -> None:
    cells = grid.add_row().cells  # type: ignore[no-untyped-call]
    for index, (cell, text) in enumerate(zip(cells, texts, strict=False)):
        cell.width = Cm(grid._widths[index])  # type: ignore[attr-defined]
        cell_text(cell, text, bold=bold or (label and index == 0), size=size)
        if bold or (label and index == 0):
            shade(cell)


def loop_rows(grid: Table, statement: str, *texts: str) -> None:
    """A table row repeated by docxtpl: {%tr for %}, the row itself, {%tr endfor %}."""
    row(grid, f"{{%tr {statement} %}}")
    row(grid, *texts)
    row(grid, "{%tr endfor %}")


def field(paragraph: Paragraph, instruction: str) -> None:
    """A Word field (PAGE, NUMPAGES) that the word processor fills in."""
    def fld_char(kind: str) -> None:
        run = paragraph.add_run()
        char = OxmlElement("w:fldChar")
        char.set(qn("w:fldCharType"), kind)
        run._r.append(char)

    fld_char("begin")
    instr = OxmlElement("w:instrText")
    instr.set(qn("xml:space"), "preserve")
    instr.text = f" {instruction} "
    paragraph.add_run()._r.append(instr)
    fld_char("separate")
    paragraph.add_run("1")
    fld_char("end")


def footer(doc: DocumentObject, text: str) -> None:
    paragraph = doc.sections[0].footer.paragraphs[0]
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    for part in (text, " · Seite ", "PAGE", " von ", "NUMPAGES"):
        if part in ("PAGE", "NUMPAGES"):
            field(paragraph, part)
        else:
            paragraph.add_run(part)
    for run in paragraph.runs:
        run.font.size = Pt(8)
        run.font.color.rgb = GREY


def header(doc: DocumentObject, text: str) -> None:
    paragraph = doc.sections[0].header.paragraphs[0]
    paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    run = paragraph.add_run(text)
    run.font.size, run.font.color.rgb = Pt(8), GREY


def signature_block(doc: DocumentObject, left: list[str], right: list[str]) -> None:
    grid = table(doc, [8.0, 8.5], borders=False)
    cells = grid.add_row().cells  # type: ignore[no-untyped-call]
    for cell, width, lines in zip(cells, grid._widths, (left, right), strict=True):  # type: ignore[attr-defined]
        cell.width = Cm(width)
        cell_text(cell, "________________, den ____________")
        cell.add_paragraph("")
        cell.add_paragraph("")
        cell.add_paragraph("____________________________________")
        for index, line in enumerate(lines):
            run = cell.add_paragraph().add_run(line)
            run.bold = index == 0 or None


# --- Kooperations-/Weiterleitungsvertrag ---------------------------------------------------------

def build_contract() -> DocumentObject:
    doc = new_document("Kooperations- und Weiterleitungsvertrag KIM", "KIM Baustein 2 – Case Management")
    header(doc, "{{ kreis.name }} · {{ kreis.office }}")
    footer(doc, "Weiterleitungsvertrag KIM – {{ partner.name }} ({{ municipality }})")

    letterhead = table(doc, [9.5, 7.0], borders=False)
    left, right = letterhead.add_row().cells  # type: ignore[no-untyped-call]
    left.width, right.width = Cm(9.5), Cm(7.0)
    cell_text(left, "{{ kreis.name }}", bold=True, size=14)
    left.add_paragraph("{{ kreis.office }}")
    left.add_paragraph("{{ kreis.address }}")
    cell_text(right, "Kommunales Integrationsmanagement NRW", bold=True, size=9)
    right.add_paragraph("Baustein 2 – rechtskreisübergreifendes Case Management").runs[0].font.size = Pt(9)
    right.paragraphs[-1].alignment = right.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.RIGHT

    para(doc, "")
    para(doc, "Kooperations- und Weiterleitungsvertrag", style="Title", align=WD_ALIGN_PARAGRAPH.CENTER)
    para(doc, "über die Weiterleitung der fachbezogenen Pauschale für das rechtskreisübergreifende "
              "Case Management im Kommunalen Integrationsmanagement (KIM)",
         align=WD_ALIGN_PARAGRAPH.CENTER, after=18)

    para(doc, "zwischen", align=WD_ALIGN_PARAGRAPH.CENTER)
    para(doc, "{{ kreis.name }}", bold=True, after=0)
    para(doc, "{{ kreis.address }}", after=0)
    para(doc, "vertreten durch {{ kreis.represented_by }}", after=0)
    para(doc, "– nachfolgend „Kreis“ genannt –", grey=True)
    para(doc, "und", align=WD_ALIGN_PARAGRAPH.CENTER)
    para(doc, "{{ partner.name }}", bold=True, after=0)
    para(doc, "{{ partner.address }}", after=0)
    para(doc, "({{ partner.kind }})", after=0)
    para(doc, "– nachfolgend „Partner“ genannt –", grey=True, after=12)

    heading(doc, "Präambel")
    para(doc, "Das Land Nordrhein-Westfalen fördert mit dem Kommunalen Integrationsmanagement (KIM) den "
              "Aufbau "
              "eines rechtskreisübergreifenden individuellen Case Managements für Menschen mit "
              "Einwanderungsgeschichte. Der Kreis erhält hierfür eine fachbezogene Pauschale je "
              "Vollzeitäquivalent (VZÄ) und leitet Stellenanteile in Abstimmung mit den kreisangehörigen "
              "Kommunen an Kommunen und Träger der Freien Wohlfahrtspflege weiter. Die Vertragsparteien "
              "schließen hierzu den folgenden Vertrag.")

    heading(doc, "§ 1 Gegenstand des Vertrages")
    para(doc, "(1) Der Partner richtet für die Laufzeit dieses Vertrages Personalstellen für das "
              "rechtskreisübergreifende individuelle Case Management im Umfang von {{ amounts.fte }} "
              "Vollzeitäquivalenten (VZÄ) ein und setzt sie in {{ municipality }} ein.")
    tag(doc, "if partner.is_welfare_org")
    para(doc, "(2) Der Partner ist Träger der Freien Wohlfahrtspflege. Der Einsatz der Stellen erfolgt in "
              "Abstimmung mit {{ municipality }}; die Kommune wird über Besetzung und Arbeitsschwerpunkte "
              "unterrichtet.")
    tag(doc, "endif")
    para(doc, "{% if partner.is_welfare_org %}(3){% else %}(2){% endif %} Zielgruppen und Handlungsfelder "
              "legt die Lenkungsgruppe fest. Über die Aufnahme eines Falles in das Case Management "
              "entscheidet die Fallkonferenz.")

    heading(doc, "§ 2 Laufzeit")
    para(doc, "Der Vertrag gilt vom {{ term.start }} bis zum {{ term.end }}. Diese Laufzeit umfasst "
              "{{ term.months }} anrechenbare Monate.")

    heading(doc, "§ 3 Höhe, Berechnung und Auszahlung der Mittel")
    para(doc, "(1) Der Kreis leitet dem Partner die folgenden Mittel weiter:")
    money = table(doc, [10.5, 6.0])
    row(money, "Stellenanteil", "{{ amounts.fte }} VZÄ", label=True)
    row(money, "Fachbezogene Pauschale des Landes je VZÄ und Jahr", "{{ amounts.rate_per_fte }}", label=True)
    row(money, "{%tr if amounts.has_topup %}")
    row(money, "Aufstockung durch den Kreis je VZÄ und Jahr", "{{ amounts.topup_per_fte }}", label=True)
    row(money, "{%tr endif %}")
    row(money, "Jahresbetrag", "{{ amounts.annual }}", label=True)
    row(money, "Laufzeit", "{{ term.start }} bis {{ term.end }} ({{ term.months }} Monate)", label=True)
    row(money, "Betrag für die Laufzeit", "{{ amounts.term }}", label=True)
    para(doc, "")
    para(doc, "(2) Der Jahresbetrag ergibt sich aus dem Stellenanteil, vervielfältigt mit dem Betrag je VZÄ "
              "und Jahr. Weicht die Laufzeit von zwölf Monaten ab, wird der Betrag anteilig nach Monaten "
              "berechnet (Jahresbetrag × anrechenbare Monate / 12, kaufmännisch auf volle Cent gerundet). "
              "Ein Kalendermonat ist anrechenbar, wenn die Laufzeit mindestens 15 Tage dieses Monats "
              "umfasst.")
    para(doc, "(3) Die Auszahlung erfolgt in vierteljährlichen Teilbeträgen jeweils zu Beginn eines "
              "Quartals, "
              "vorbehaltlich des Eingangs der Landesmittel beim Kreis.")
    para(doc, "(4) Die Mittel sind zweckgebunden und ausschließlich für die Personalausgaben der in § 1 "
              "genannten Stellen zu verwenden. Personalkosteneigenanteile und Sachkosten trägt der Partner, "
              "soweit nichts anderes vereinbart ist. Für Zeiträume, in denen die Stellen nicht besetzt sind, "
              "sind die Mittel anteilig zu erstatten.")

    heading(doc, "§ 4 Fachaufsicht und Zusammenarbeit")
    para(doc, "(1) Die Fachaufsicht über die Case Managerinnen und Case Manager übt der Kreis durch das "
              "Kommunale Integrationszentrum als koordinierende Stelle aus (zuständig: {{ kreis.office }}).")
    para(doc, "(2) Dienst- und Arbeitgeberpflichten verbleiben beim Partner.")
    para(doc, "(3) Die Case Managerinnen und Case Manager nehmen an den Fallkonferenzen, an der "
              "Projektgruppe "
              "„Case Management“ sowie an den Qualifizierungen des Kommunalen Integrationszentrums teil und "
              "melden festgestellte strukturelle Barrieren zwischen den Rechtskreisen.")

    heading(doc, "§ 5 Berichtspflichten")
    para(doc, "(1) Der Partner übermittelt dem Kommunalen Integrationszentrum vierteljährlich bis zum "
              "15. des "
              "Folgemonats die anonymisierten Fallzahlen und die festgestellten strukturellen Barrieren.")
    para(doc, "(2) Bis zum 31. März des Folgejahres legt der Partner einen Sachbericht und einen "
              "zahlenmäßigen "
              "Verwendungsnachweis über die weitergeleiteten Mittel vor.")
    para(doc, "(3) Besetzung, Vakanz und Ausfallzeiten von mehr als sechs Wochen teilt der Partner dem Kreis "
              "unverzüglich mit.")

    heading(doc, "§ 6 Datenschutz")
    para(doc, "(1) Die Vertragsparteien verarbeiten personenbezogene Daten, insbesondere Sozialdaten "
              "(§§ 67 ff. SGB X) und besondere Kategorien personenbezogener Daten (Art. 9 DSGVO), nur im "
              "erforderlichen Umfang und auf Grundlage einer Einwilligung der betroffenen Person oder einer "
              "gesetzlichen Befugnis.")
    para(doc, "(2) Soweit die Vertragsparteien gemeinsam über Zwecke und Mittel der Verarbeitung "
              "entscheiden, "
              "insbesondere in der Fallkonferenz und in der gemeinsam genutzten Fachanwendung, sind sie "
              "gemeinsam Verantwortliche nach Art. 26 DSGVO. Die Einzelheiten regelt die Vereinbarung "
              "über die "
              "gemeinsame Verantwortlichkeit (Anlage); ihr wesentlicher Inhalt wird den betroffenen Personen "
              "zur Verfügung gestellt.")
    para(doc, "(3) Jede Vertragspartei trifft geeignete technische und organisatorische Maßnahmen nach "
              "Art. 32 DSGVO und unterrichtet die andere unverzüglich über Verletzungen des Schutzes "
              "personenbezogener Daten (Art. 33 DSGVO).")
    para(doc, "(4) Personenbezogene Daten verbleiben bei der Stelle, die den Fall bearbeitet. An den Kreis "
              "werden sie nur pseudonymisiert oder im Umfang der Einwilligung übermittelt; Berichte "
              "enthalten "
              "ausschließlich zusammengefasste Zahlen.")

    heading(doc, "§ 7 Kündigung")
    para(doc, "Der Vertrag kann von jeder Vertragspartei aus wichtigem Grund schriftlich gekündigt werden, "
              "insbesondere wenn die Förderung durch das Land entfällt oder die Mittel nicht "
              "zweckentsprechend "
              "verwendet werden. Bereits ausgezahlte, nicht verwendete Mittel sind zu erstatten.")

    heading(doc, "§ 8 Schlussbestimmungen")
    para(doc, "(1) Änderungen und Ergänzungen dieses Vertrages bedürfen der Schriftform.")
    para(doc, "(2) Sollte eine Bestimmung unwirksam sein oder werden, bleibt die Wirksamkeit der übrigen "
              "Bestimmungen unberührt. Die Vertragsparteien ersetzen sie durch eine Regelung, die dem "
              "Zweck der unwirksamen Bestimmung am nächsten kommt.")
    para(doc, "(3) Der Vertrag wird zweifach ausgefertigt; jede Vertragspartei erhält eine Ausfertigung.")

    para(doc, "Anlage: Vereinbarung über die gemeinsame Verantwortlichkeit nach Art. 26 DSGVO", grey=True,
         after=18)
    signature_block(
        doc,
        ["Für den Kreis", "{{ kreis.name }}", "{{ kreis.represented_by }}"],
        ["Für den Partner", "{{ partner.name }}", "Name, Funktion"],
    )
    return doc


# --- Drucksache (Beschlussvorlage / Mitteilungsvorlage) ------------------------------------------

def build_drucksache() -> DocumentObject:
    doc = new_document("Drucksache", "Beschlussvorlage / Mitteilungsvorlage")
    footer(doc, "{% if issuer %}{{ issuer }} · {% endif %}Drucksache {{ number }} vom {{ date }}")

    letterhead = table(doc, [10.0, 6.5], borders=False)
    left, right = letterhead.add_row().cells  # type: ignore[no-untyped-call]
    left.width, right.width = Cm(10.0), Cm(6.5)
    cell_text(left, "{% if issuer %}{{ issuer }}{% endif %}", bold=True, size=14)
    left.add_paragraph("Drucksache").runs[0].font.color.rgb = GREY
    cell_text(right, "{{ kind }}", bold=True, size=14)
    right.add_paragraph("– {{ publicity }} –")
    for paragraph in right.paragraphs:
        paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    para(doc, "")

    facts = table(doc, [4.5, 12.0])
    row(facts, "Vorlagen-Nr.", "{{ number }}", label=True)
    row(facts, "Datum", "{{ date }}", label=True)
    row(facts, "Fachbereich", "{{ department.fachbereich }}", label=True)
    row(facts, "Fachdienst", "{{ department.fachdienst }}", label=True)

    heading(doc, "Beratungsfolge")
    consultations = table(doc, [7.8, 4.2, 4.5])
    row(consultations, "Gremium", "Sitzungstermin", "Rolle", bold=True)
    loop_rows(consultations, "for c in consultations", "{{ c.body }}", "{{ c.date }}", "{{ c.role }}")

    heading(doc, "Betreff")
    para(doc, "{{ title }}", bold=True, size=12)

    heading(doc, "Beschlussvorschlag")
    tag(doc, "for text in resolution")
    para(doc, "{{ text }}")
    tag(doc, "endfor")

    heading(doc, "Finanzielle Auswirkungen")
    tag(doc, "for text in financial_impact")
    para(doc, "{{ text }}")
    tag(doc, "endfor")

    heading(doc, "Klimaschutzrelevanz")
    climate = table(doc, [6.1, 3.6, 3.6, 3.2])
    row(climate, "Auswirkungen auf den Klimaschutz:", "{{ climate.ja_positiv }} ja, positiv*",
        "{{ climate.ja_negativ }} ja, negativ*", "{{ climate.nein }} nein", label=True)
    para(doc, "* Erläuterung in der Sachdarstellung", grey=True, size=8)

    heading(doc, "Sachdarstellung")
    tag(doc, "for text in body_paragraphs")
    para(doc, "{{ text }}")  # not justified: lines ending in a line break would be stretched
    tag(doc, "endfor")

    para(doc, "")
    para(doc, "{{ signature.name }}", bold=True, after=0)
    para(doc, "{{ signature.function }}")

    heading(doc, "Anlagen")
    tag(doc, "if attachments")
    tag(doc, "for attachment in attachments")
    para(doc, "({{ attachment.number }}) {{ attachment.title }}", after=2)
    tag(doc, "endfor")
    tag(doc, "else")
    para(doc, "keine")
    tag(doc, "endif")
    return doc


# --- Fallkonferenz-Protokoll --------------------------------------------------------------------

def letterhead_block(doc: DocumentObject, left_title: str, left_lines: list[str], right_title: str,
                     right_lines: list[str]) -> None:
    grid = table(doc, [10.0, 6.5], borders=False)
    left, right = grid.add_row().cells  # type: ignore[no-untyped-call]
    left.width, right.width = Cm(10.0), Cm(6.5)
    cell_text(left, left_title, bold=True, size=14)
    for line in left_lines:
        left.add_paragraph(line)
    cell_text(right, right_title, bold=True, size=12)
    for line in right_lines:
        right.add_paragraph(line)
    for paragraph in right.paragraphs:
        paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    para(doc, "")


def build_fallkonferenz() -> DocumentObject:
    doc = new_document("Protokoll der Fallkonferenz", "KIM – Fallkonferenz")
    header(doc, "{{ coordination_office }} · vertraulich – nur für die Teilnehmenden")
    footer(doc, "Protokoll der Fallkonferenz vom {{ date }}")
    letterhead_block(doc, "{{ coordination_office }}", ["Kommunales Integrationsmanagement"],
                     "Protokoll", ["Fallkonferenz", "– vertraulich –"])

    para(doc, "Protokoll der Fallkonferenz", style="Title")
    facts = table(doc, [4.5, 12.0])
    row(facts, "Datum", "{{ date }}", label=True)
    row(facts, "{%tr if times %}")
    row(facts, "Zeit", "{{ times }}", label=True)
    row(facts, "{%tr endif %}")
    row(facts, "Ort", "{{ place }}", label=True)
    row(facts, "Leitung", "{{ signature.name }} ({{ signature.function }})", label=True)

    heading(doc, "Teilnehmende ({{ participant_count }})")
    participants = table(doc, [5.5, 5.5, 5.5])
    row(participants, "Funktion", "Name", "Organisation", bold=True)
    row(participants, "{%tr for group in participant_groups %}")
    row(participants, "{%tr for person in group.people %}")
    row(participants, "{{ group.role }}", "{{ person.name }}", "{{ person.organization }}")
    row(participants, "{%tr endfor %}")
    row(participants, "{%tr endfor %}")
    para(doc, "Die Fälle werden ausschließlich unter ihrem Pseudonym und mit der pseudonymisierten "
              "Kurzinformation beraten; Angaben zur Person bleiben bei der fallführenden Stelle.",
         grey=True, size=9)

    heading(doc, "Beratene Fälle")
    tag(doc, "for item in items")
    heading(doc, "TOP {{ item.number }}: {{ item.pseudonym }} – {{ item.kind }}", level=2)
    para(doc, "Kurzinformation", bold=True, after=2)
    tag(doc, "for text in item.brief")
    para(doc, "{{ text }}")
    tag(doc, "endfor")
    decision = table(doc, [4.5, 12.0])
    row(decision, "Entscheidung", "{{ item.decision }}", label=True)
    row(decision, "{%tr if item.assigned_to %}")
    row(decision, "Zuständig / Ziel", "{{ item.assigned_to }}", label=True)
    row(decision, "{%tr endif %}")
    para(doc, "Begründung", bold=True, after=2)
    tag(doc, "for text in item.reasoning")
    para(doc, "{{ text }}")
    tag(doc, "endfor")
    tag(doc, "endfor")

    tag(doc, "if next_date")
    para(doc, "Nächste Fallkonferenz: {{ next_date }}", bold=True)
    tag(doc, "endif")
    para(doc, "")
    para(doc, "Für die Richtigkeit:", after=24)
    para(doc, "____________________________________", after=0)
    para(doc, "{{ signature.name }}", bold=True, after=0)
    para(doc, "{{ signature.function }}", after=0)
    para(doc, "{{ coordination_office }}")
    return doc


# --- Lenkungsgruppe-Beschlussprotokoll ---------------------------------------------------------------

def build_lenkungsgruppe() -> DocumentObject:
    doc = new_document("Beschlussprotokoll der Lenkungsgruppe", "KIM – Lenkungsgruppe")
    header(doc, "{{ issuer }} · {{ body }}")
    footer(doc, "Beschlussprotokoll {{ session }} vom {{ date }}")
    letterhead_block(doc, "{{ issuer }}", ["{{ body }}", "Geschäftsführung: Kommunales Integrationszentrum"],
                     "Beschlussprotokoll", ["{{ session }}"])

    para(doc, "Beschlussprotokoll", style="Title")
    facts = table(doc, [4.5, 12.0])
    row(facts, "Gremium", "{{ body }}", label=True)
    row(facts, "Sitzung", "{{ session }}", label=True)
    row(facts, "Datum", "{{ date }}", label=True)
    row(facts, "Ort", "{{ place }}", label=True)
    row(facts, "Vorsitz", "{{ chair }}", label=True)
    row(facts, "Protokoll", "{{ minute_taker }}", label=True)

    heading(doc, "Anwesende Mitglieder")
    present = table(doc, [5.5, 5.5, 5.5])
    row(present, "Name", "Organisation", "Funktion", bold=True)
    loop_rows(present, "for m in members_present", "{{ m.name }}", "{{ m.organization }}", "{{ m.function }}")
    tag(doc, "if members_absent")
    para(doc, "Entschuldigt:", bold=True, after=2)
    tag(doc, "for m in members_absent")
    para(doc, "{{ m.name }} ({{ m.organization }}, {{ m.function }})", after=2)
    tag(doc, "endfor")
    tag(doc, "endif")

    heading(doc, "Beschlussfähigkeit")
    para(doc, "{{ quorum.statement }}")

    heading(doc, "Beschlüsse")
    tag(doc, "if beschluesse")
    tag(doc, "for b in beschluesse")
    heading(doc, "Beschluss {{ b.number }}: {{ b.title }}", level=2)
    para(doc, "Wortlaut:", bold=True, after=2)
    tag(doc, "for text in b.wording")
    para(doc, "{{ text }}")
    tag(doc, "endfor")
    votes = table(doc, [4.1, 4.1, 4.1, 4.2])
    row(votes, "Ja", "Nein", "Enthaltung", "Ergebnis", bold=True)
    row(votes, "{{ b.ja }}", "{{ b.nein }}", "{{ b.enthaltung }}", "{{ b.result }}")
    para(doc, "")
    owner = table(doc, [4.5, 12.0])
    row(owner, "Verantwortlich", "{{ b.responsible }}", label=True)
    row(owner, "Frist", "{{ b.due }}", label=True)
    para(doc, "")
    tag(doc, "endfor")
    tag(doc, "else")
    para(doc, "In dieser Sitzung wurden keine Beschlüsse gefasst.")
    tag(doc, "endif")

    heading(doc, "Beschlussverfolgung")
    tag(doc, "if tracking")
    tracked = table(doc, [1.8, 4.6, 2.2, 3.2, 2.2, 2.5])
    row(tracked, "Nr.", "Beschluss", "vom", "Verantwortlich", "Frist", "Stand", bold=True, size=9)
    row(tracked, "{%tr for t in tracking %}")
    row(tracked, "{{ t.number }}", "{{ t.title }}{% if t.note %} – {{ t.note }}{% endif %}",
        "{{ t.decided_on }}", "{{ t.responsible }}", "{{ t.due }}", "{{ t.status }}", size=9)
    row(tracked, "{%tr endfor %}")
    tag(doc, "else")
    para(doc, "Keine offenen Beschlüsse aus früheren Sitzungen.")
    tag(doc, "endif")

    para(doc, "")
    signature_block(doc, ["Vorsitz", "{{ signature.name }}", "{{ signature.function }}"],
                    ["Protokoll", "{{ minute_taker }}", "Geschäftsführung der Lenkungsgruppe"])
    return doc


# --- Monitoringbericht ---------------------------------------------------------------------------------

def chart_placeholder(doc: DocumentObject, key: str, description: str) -> None:
    """A picture the renderer replaces by the chart `key`; it shows the sample data meanwhile."""
    from services.documents import charts
    from services.documents.domain.kinds import MONITORING

    spec = MONITORING.prepare(MONITORING.sample_input()).charts[key]
    width, height = Cm(16.0), Cm(8.0)
    png = charts.draw(spec, width.inches, height.inches)
    doc.add_picture(io.BytesIO(png), width=width, height=height)
    doc_pr = doc.inline_shapes[-1]._inline.docPr
    doc_pr.set("name", f"kim-chart:{key}")
    doc_pr.set("descr", description)


def count_table(doc: DocumentObject, caption: str, variable: str) -> None:
    grid = table(doc, [12.5, 4.0])
    row(grid, caption, "Fälle", bold=True)
    loop_rows(grid, f"for r in {variable}.rows", "{{ r.label }}", "{{ r.count }}")
    row(grid, "Summe", f"{{{{ {variable}.total }}}}", bold=True)
    para(doc, "")


def build_monitoring() -> DocumentObject:
    doc = new_document("Monitoringbericht KIM", "KIM – Monitoring")
    header(doc, "{{ issuer }} · {{ office }}")
    footer(doc, "{{ title }} · {{ period.start }} – {{ period.end }}")
    letterhead_block(doc, "{{ issuer }}", ["{{ office }}"], "Monitoringbericht",
                     ["{% if recipient %}für: {{ recipient }}{% endif %}"])

    para(doc, "{{ title }}", style="Title")
    para(doc, "Berichtszeitraum: {{ period.start }} bis {{ period.end }}", bold=True)

    # The federation's figures (Kreis' node): where they come from, before anything is counted.
    tag(doc, "if federation.active")
    heading(doc, "Datengrundlage")
    para(doc, "Die Zahlen dieses Berichts fassen die Angaben der folgenden Knoten des KIM-Verbunds "
              "zusammen (Stand: Zeitpunkt des Abrufs):")
    tag(doc, "for n in federation.nodes")
    para(doc, "– {{ n.name }} (Stand: {{ n.stand }})", after=0)
    tag(doc, "endfor")
    tag(doc, "if federation.unavailable")
    para(doc, "")
    para(doc, "Ohne Angaben von:", after=0)
    tag(doc, "for u in federation.unavailable")
    para(doc, "– {{ u.name }} ({{ u.reason }})", after=0)
    tag(doc, "endfor")
    tag(doc, "endif")
    para(doc, "")
    para(doc, "Zielgruppenkatalog: {{ federation.zielgruppen }}")
    tag(doc, "endif")

    heading(doc, "Zusammenfassung")
    tag(doc, "for text in summary")
    para(doc, "{{ text }}")
    tag(doc, "endfor")

    heading(doc, "Fälle nach Status")
    chart_placeholder(doc, "cases_by_status", "Balkendiagramm: Fälle nach Status")
    count_table(doc, "Status", "by_status")

    heading(doc, "Fälle nach Zielgruppe")
    chart_placeholder(doc, "cases_by_zielgruppe", "Balkendiagramm: Fälle nach Zielgruppe")
    count_table(doc, "Zielgruppe", "by_zielgruppe")

    tag(doc, "if has_barriers")
    heading(doc, "Strukturelle Barrieren")
    para(doc, "Von den Case Managerinnen und Case Managern gemeldete Barrieren zwischen den Rechtskreisen:")
    grid = table(doc, [12.5, 4.0])
    row(grid, "Art der Barriere", "Meldungen", bold=True)
    loop_rows(grid, "for r in barriers.rows", "{{ r.label }}", "{{ r.count }}")
    row(grid, "Summe", "{{ barriers.total }}", bold=True)
    tag(doc, "endif")

    heading(doc, "Hinweis zum Datenschutz")
    para(doc, "{{ suppression_note }}", grey=True, size=9)
    tag(doc, "for note in federation.notes")
    para(doc, "{{ note }}", grey=True, size=9)
    tag(doc, "endfor")
    para(doc, "Alle Angaben sind zusammengefasste Zahlen; der Bericht enthält keine personenbezogenen Daten.",
         grey=True, size=9)

    para(doc, "")
    para(doc, "{{ signature.name }}", bold=True, after=0)
    para(doc, "{{ signature.function }}", after=0)
    para(doc, "{{ office }}")
    return doc


# --- Einwilligungserklärung ----------------------------------------------------------------------

def build_einwilligung() -> DocumentObject:
    doc = new_document("Einwilligungserklärung", "KIM – Einwilligung in die Datenverarbeitung")
    footer(doc, "{{ title }} – Fall {{ case_reference }}")
    letterhead_block(doc, "{{ controller.name }}",
                     ["{% if controller.office %}{{ controller.office }}{% endif %}",
                      "{% if controller.address %}{{ controller.address }}{% endif %}"],
                     "Kommunales Integrationsmanagement", ["Fall {{ case_reference }}"])
    para(doc, "{{ title }}", bold=True, size=14)
    para(doc, "nach Art. 6 Abs. 1 lit. a und Art. 7 DSGVO sowie § 67b Abs. 2 SGB X"
              "{% if is_schweigepflichtentbindung %} und Entbindung von der Schweigepflicht "
              "(§ 203 StGB){% endif %}", grey=True, size=9)

    facts = table(doc, [4.5, 12.0])
    row(facts, "Name", "{{ person.name }}", label=True)
    row(facts, "Geburtsdatum", "{{ person.birth_date }}", label=True)
    row(facts, "Verantwortliche Stelle", "{{ controller.name }}", label=True)

    heading(doc, "Worum es geht")
    para(doc, "Ich werde im Kommunalen Integrationsmanagement (Case Management) von {{ controller.name }} "
              "begleitet. Damit die beteiligten Stellen mich rechtskreisübergreifend unterstützen können, "
              "dürfen Angaben über mich an die unten genannten Organisationen übermittelt und dort für die "
              "genannten Zwecke verarbeitet werden. In der Fallkonferenz wird mein Fall ohne Namen, "
              "Geburtsdatum und Kontaktdaten (pseudonymisiert) beraten.")

    heading(doc, "An wen, wozu und welche Angaben")
    recipients = table(doc, [5.0, 5.5, 6.0])
    row(recipients, "Empfangende Organisation", "Zweck", "Daten", bold=True)
    loop_rows(recipients, "for r in recipients", "{{ r.organization }}", "{{ r.purposes }}",
              "{{ r.categories }}")
    para(doc, "")
    tag(doc, "if includes_health")
    para(doc, "Ich willige ausdrücklich ein, dass dabei auch Angaben über meine Gesundheit verarbeitet "
              "werden (Art. 9 Abs. 2 lit. a DSGVO).")
    tag(doc, "endif")
    tag(doc, "if is_schweigepflichtentbindung")
    para(doc, "Für diese Übermittlung entbinde ich die Mitarbeitenden der genannten Stellen insoweit von "
              "ihrer Schweigepflicht.")
    tag(doc, "endif")

    heading(doc, "Wie lange")
    para(doc, "Die Einwilligung gilt {{ validity }}. Danach werden die Angaben bei den empfangenden "
              "Organisationen gelöscht, soweit keine gesetzliche Pflicht zur Aufbewahrung besteht.")

    heading(doc, "Freiwilligkeit und Widerruf")
    para(doc, "Die Einwilligung ist freiwillig. Wenn ich sie nicht erteile oder widerrufe, entstehen mir "
              "keine Nachteile bei Leistungen, auf die ich einen Anspruch habe; die Begleitung ist dann nur "
              "ohne Beteiligung der genannten Organisationen möglich.")
    para(doc, "Ich kann die Einwilligung jederzeit ganz oder für einzelne Organisationen, Zwecke oder "
              "Angaben widerrufen, mündlich oder schriftlich bei {{ controller.name }} (Art. 7 Abs. 3 "
              "DSGVO). Der Widerruf wirkt für die Zukunft: Die Verarbeitung bis zum Widerruf bleibt "
              "rechtmäßig. Nach dem Widerruf werden die übermittelten Angaben bei den Empfängern gelöscht.")

    heading(doc, "Meine Rechte")
    para(doc, "Ich habe das Recht auf Auskunft, Berichtigung, Löschung und Einschränkung der Verarbeitung "
              "(Art. 15 bis 18 DSGVO) und kann mich bei der Landesbeauftragten für Datenschutz und "
              "Informationsfreiheit Nordrhein-Westfalen beschweren (Art. 77 DSGVO).")
    tag(doc, "if controller.data_protection_contact")
    para(doc, "Fragen zum Datenschutz: {{ controller.data_protection_contact }}")
    tag(doc, "endif")

    heading(doc, "Erklärung")
    para(doc, "Ich habe diese Erklärung gelesen oder sie wurde mir in einer mir verständlichen Sprache "
              "erläutert. Ich willige in die beschriebene Übermittlung und Verarbeitung ein.")
    para(doc, "{% if place %}{{ place }}, {% endif %}{{ date }}")
    signature_block(doc, ["{{ person.name }}", "Unterschrift der betroffenen Person"],
                    ["{{ controller.name }}", "Fallmanagement"])
    return doc


BUILDS = {
    "contract.docx": build_contract,
    "drucksache.docx": build_drucksache,
    "fallkonferenz.docx": build_fallkonferenz,
    "lenkungsgruppe.docx": build_lenkungsgruppe,
    "monitoringbericht.docx": build_monitoring,
    "einwilligungserklaerung.docx": build_einwilligung,
}


def main() -> None:
    for name, build in BUILDS.items():
        build().save(str(HERE / name))
        print(f"wrote {HERE / name}")


if __name__ == "__main__":
    main()
