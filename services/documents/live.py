"""Live data of the conference service -> the input of a Protokoll (the same plain data as a
`kim documents protokoll|beschlussprotokoll` YAML file), and the case service's monitoring
figures -> the input of a Monitoringbericht or the Sachdarstellung of a Drucksache, so one parser
checks both and the stored input of a rendered document can be rendered again from the command
line (`kim documents monitoring|drucksache`).

The figures come suppressed from the case service and stay so: a cell below 5 is "< 5", a
withheld one "x", in tables, charts and text alike; nothing here adds or subtracts them. The
federation's figures (the Kreis' node) are combined by domain/federation.py and printed with its
marks ("mind. 12"), the nodes they come from and the nodes not reached.

Only a CLOSED Fallkonferenz (its record is frozen) and a CLOSED Lenkungsgruppe session (its
results are final) get a Protokoll; anything else is FAILED_PRECONDITION. Dates and times are
printed in the Kreis' time zone, Europe/Berlin.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from kimnetz.errors import FailedPrecondition, Unavailable
from services.documents.conference import (
    BeschlussRecord,
    CaseDecision,
    ConferenceItem,
    ConferenceRecord,
    Gremium,
    SessionRecord,
)
from services.documents.domain import formats
from services.documents.domain.drucksache import paragraphs
from services.documents.domain.federation import (
    CombinedDuration,
    CombinedFigures,
    CombinedTable,
    stand as stand_text,
)
from services.documents.domain.monitoring import STATUS_LABELS, SUPPRESSED, WITHHELD
from services.documents.figures import CaseFiguresRecord, FigureCell, FigureTable, MeanDuration

BERLIN = ZoneInfo("Europe/Berlin")
DEFAULT_CONFERENCE_SIGNATURE = "Koordination Kommunales Integrationsmanagement"
DEFAULT_SESSION_SIGNATURE = "Geschäftsführung der Lenkungsgruppe"
DEFAULT_BODY = "Lenkungsgruppe Kommunales Integrationsmanagement"

CONFERENCE_STATUS_LABELS = {"planned": "geplant", "prepared": "vorbereitet", "running": "laufend"}
SESSION_STATUS_LABELS = {"planned": "geplant", "open": "eröffnet"}
ROLES = {"coordinator", "case_manager", "immigration_liaison", "guest"}
AGE_BANDS = {
    "under_18": "unter 18 Jahre",
    "from_18_to_27": "18 bis 27 Jahre",
    "from_28_to_39": "28 bis 39 Jahre",
    "from_40_to_64": "40 bis 64 Jahre",
    "from_65": "65 Jahre und älter",
}
HANDLUNGSFELDER = {
    "aufenthalt_identitaet": "Aufenthalt/Identität",
    "sprache": "Sprache",
    "bildung_schule": "Bildung/Schule",
    "ausbildung": "Ausbildung",
    "arbeit": "Arbeit",
    "wohnen": "Wohnen",
    "gesundheit": "Gesundheit",
    "familie_kinder": "Familie/Kinder",
    "finanzielle_sicherung": "Finanzielle Sicherung",
    "soziale_teilhabe": "Soziale Teilhabe",
}
RECHTSKREISE = {
    "sgb_ii": "SGB II (Jobcenter)",
    "sgb_iii": "SGB III (Agentur für Arbeit)",
    "sgb_viii": "SGB VIII (Jugendamt)",
    "sgb_xii": "SGB XII (Sozialamt)",
    "asylblg": "AsylbLG",
    "aufenthg": "AufenthG (Ausländerbehörde)",
    "stag": "StAG (Einbürgerung)",
    "mbe": "Migrationsberatung für Erwachsene (MBE)",
    "jmd": "Jugendmigrationsdienst (JMD)",
}
REFERRAL_TARGETS = {
    "mbe": "Migrationsberatung für Erwachsene (MBE)",
    "jmd": "Jugendmigrationsdienst (JMD)",
    "integrationsagentur": "Integrationsagentur",
    "teilhabemanagement": "Teilhabemanagement (THM)",
    "jobcenter": "Jobcenter",
    "jugendamt": "Jugendamt",
    "other": "sonstiger Regeldienst",
}


@dataclass(frozen=True)
class ConferenceOptions:
    author: str
    """Who renders (username): signs the Protokoll."""
    coordination_office: str = ""
    signature_function: str = ""
    next_date: date | None = None


@dataclass(frozen=True)
class SessionOptions:
    author: str
    """Who renders (username): keeps the minutes and signs."""
    issuer: str = ""
    chair: str = ""
    signature_function: str = ""


def _local(moment: datetime) -> datetime:
    return moment.astimezone(BERLIN)


def _label(labels: dict[str, str], key: str) -> str:
    return labels.get(key, "unbekannt")


# --- Fallkonferenz -------------------------------------------------------------------------------

def fallkonferenz_input(record: ConferenceRecord, options: ConferenceOptions) -> dict[str, Any]:
    if record.status != "closed":
        state = CONFERENCE_STATUS_LABELS.get(record.status, record.status)
        raise FailedPrecondition(
            f"Die Fallkonferenz ist noch nicht abgeschlossen (Stand: {state}); ein Protokoll gibt es "
            "erst, wenn sie geschlossen und ihr Ergebnis damit festgeschrieben ist.")
    decided = sorted((i for i in record.items if i.decision is not None), key=lambda i: i.position)
    if not decided:
        raise FailedPrecondition(
            "Die Fallkonferenz wurde ohne Entscheidung geschlossen; es gibt nichts zu protokollieren.")
    began = _local(record.started_at or record.starts_at)
    data: dict[str, Any] = {
        "coordination_office": options.coordination_office or record.coordination_org,
        "date": began.date().isoformat(),
        "place": record.place or ("Videokonferenz" if record.video_link else "nicht angegeben"),
        "participants": [
            {"name": p.name or p.person, "role": p.role if p.role in ROLES else "guest",
             "organization": p.organization or "nicht angegeben"}
            for p in record.participants
        ],
        "items": [_item(item, {p.organization for p in record.participants}) for item in decided],
        "signature": {"name": options.author,
                      "function": options.signature_function or DEFAULT_CONFERENCE_SIGNATURE},
    }
    if record.started_at is not None:
        data["start"] = began.strftime("%H:%M")
        if record.closed_at is not None:
            ended = _local(record.closed_at)
            if ended.date() == began.date():
                data["end"] = ended.strftime("%H:%M")
    if options.next_date is not None:
        data["next_date"] = options.next_date.isoformat()
    return data


#: What the Protokoll says instead of a brief the consent does not release to every reader.
BRIEF_NOT_COVERED = ("Die Einwilligung umfasst nicht jede teilnehmende Organisation; die "
                     "Kurzinformation steht deshalb nicht im Protokoll.")


def _item(item: ConferenceItem, participant_orgs: set[str]) -> dict[str, Any]:
    """A Protokoll goes to every participating organisation: it prints the brief only where the
    person's consent covers each of them (the owner needs none)."""
    assert item.decision is not None
    decision, assigned_to, reasoning = _decision(item.decision)
    covered = {item.owner_org, *item.covered_orgs}
    printable = not item.withheld and all(org in covered for org in participant_orgs if org)
    data: dict[str, Any] = {
        "pseudonym": item.pseudonym,
        "kind": "review" if item.kind == "review" else "proposal",
        "brief": _brief(item) if printable else BRIEF_NOT_COVERED,
        "decision": decision,
        "reasoning": reasoning,
    }
    if assigned_to:
        data["assigned_to"] = assigned_to
    return data


def _brief(item: ConferenceItem) -> str:
    """The pseudonymised brief as prose: age band, Zielgruppe, fields, legal spheres, owner."""
    parts = [f"Altersgruppe: {_label(AGE_BANDS, item.age_band)}."]
    if item.zielgruppe:
        parts.append(f"Zielgruppe: {item.zielgruppe}.")
    if item.handlungsfelder:
        fields = ", ".join(_label(HANDLUNGSFELDER, h) for h in item.handlungsfelder)
        parts.append(f"Handlungsfelder: {fields}.")
    if item.rechtskreise:
        spheres = ", ".join(_label(RECHTSKREISE, r) for r in item.rechtskreise)
        parts.append(f"Rechtskreise: {spheres}.")
    if item.owner_org:
        parts.append(f"Fallführende Organisation: {item.owner_org}.")
    return " ".join(parts)


def _decision(d: CaseDecision) -> tuple[str, str, str]:
    """(decision key of the Protokoll, assigned_to, reasoning)."""
    by = f"Entschieden von {d.decided_by}." if d.decided_by else ""
    if d.kind == "admission":
        assigned = d.assigned_org + (f", Case Management: {d.case_manager}" if d.case_manager else "")
        return "admission", assigned, _join("Aufnahme ins Case Management beschlossen.", by)
    if d.kind == "referral":
        target = _label(REFERRAL_TARGETS, d.referral_target)
        assigned = f"{target}: {d.service}" if d.service else target
        return "referral", assigned, _join(d.reason or "Verweis an den zuständigen Regeldienst.", by)
    if d.kind == "deferral":
        until = f" Wiedervorlage bis {d.until:%d.%m.%Y}." if d.until else ""
        return "deferral", "", _join((d.reason or "Zurückgestellt.") + until, by)
    if d.kind == "rejection":
        return "rejection", "", _join(d.reason or "Abgelehnt.", by)
    outcome = d.review_outcome if d.review_outcome in ("continue", "closure_recommended", "round_table") \
        else "continue"
    offices = f"Einzuladen: {', '.join(d.offices_to_invite)}." if d.offices_to_invite else ""
    return outcome, "", _join(d.note or "Ergebnis der Fallbesprechung.", offices, by)


def _join(*parts: str) -> str:
    return " ".join(p for p in parts if p)


# --- Lenkungsgruppe ------------------------------------------------------------------------------

def lenkungsgruppe_input(session: SessionRecord, gremium: Gremium, sessions: list[SessionRecord],
                         beschluesse: list[BeschlussRecord], options: SessionOptions) -> dict[str, Any]:
    if session.status != "closed":
        state = SESSION_STATUS_LABELS.get(session.status, session.status)
        raise FailedPrecondition(
            f"Die Sitzung der Lenkungsgruppe ist noch nicht geschlossen (Stand: {state}); ein "
            "Beschlussprotokoll gibt es erst, wenn ihre Ergebnisse feststehen.")
    day = _local(session.opened_at or session.starts_at).date()
    numbers, ordinal = _numbering(session, sessions)
    by_id = {b.beschluss_id: b for b in beschluesse}
    present = set(session.present)
    members = []
    for m in gremium.members:
        by_deputy = m.person not in present and bool(m.deputy_person) and m.deputy_person in present
        name = m.name or m.person
        if by_deputy:
            name += f" (vertreten durch {m.deputy_name or m.deputy_person})"
        function = m.function or "Mitglied"
        if not m.voting:
            function += " (beratend)"
        members.append({"name": name, "organization": m.organization or "nicht angegeben",
                        "function": function, "present": m.person in present or by_deputy})
    data: dict[str, Any] = {
        "body": gremium.name or DEFAULT_BODY,
        "issuer": options.issuer or session.coordination_org,
        "session": f"{ordinal}. Sitzung {session.starts_at.astimezone(BERLIN).year}",
        "date": day.isoformat(),
        "place": session.place or "nicht angegeben",
        "chair": options.chair or options.author,
        "minute_taker": options.author,
        "members": members,
        "beschluesse": [
            _result(item, numbers[(session.session_id, item.vorlage_id)], by_id.get(item.beschluss_id))
            for item in session.items if item.status in ("adopted", "rejected")
        ],
        "tracking": [
            _tracking(b, numbers.get((b.session_id, b.vorlage_id), b.beschluss_id[:8]), day)
            for b in sorted(beschluesse, key=lambda b: _order(numbers, b))
            if b.adopted_on is None or b.adopted_on <= day
        ],
        "signature": {"name": options.author,
                      "function": options.signature_function or DEFAULT_SESSION_SIGNATURE},
    }
    # The conference service counts voting seats represented; its threshold is the Protokoll's.
    if 1 <= session.quorum_required <= len(members):
        data["quorum"] = session.quorum_required
    return data


def _numbering(session: SessionRecord,
               sessions: list[SessionRecord]) -> tuple[dict[tuple[str, str], str], int]:
    """Numbers "<n>/<year>-<item>" (n-th session of the year, item on its agenda): stable, since
    later sessions do not renumber earlier ones, and the same in every later Protokoll's
    Beschlussverfolgung. Returns them and this session's n."""
    known = {s.session_id: s for s in sessions}
    known[session.session_id] = session
    per_year: dict[int, int] = {}
    numbers: dict[tuple[str, str], str] = {}
    ordinal = 1
    for s in sorted(known.values(), key=lambda s: (s.starts_at, s.session_id)):
        year = s.starts_at.astimezone(BERLIN).year
        per_year[year] = per_year.get(year, 0) + 1
        if s.session_id == session.session_id:
            ordinal = per_year[year]
        for position, item in enumerate(s.items, 1):
            numbers[(s.session_id, item.vorlage_id)] = f"{per_year[year]}/{year}-{position}"
    return numbers, ordinal


def _order(numbers: dict[tuple[str, str], str], b: BeschlussRecord) -> tuple[date, int, int, str]:
    number = numbers.get((b.session_id, b.vorlage_id), "")
    head, _, position = number.partition("-")
    return (b.adopted_on or date.min, int(head.partition("/")[0] or 0) if number else 0,
            int(position or 0), b.beschluss_id)


def _responsible(person: str, organization: str) -> str:
    if person and organization:
        return f"{person} ({organization})"
    return person or organization or "nicht festgelegt"


def _result(item: Any, number: str, beschluss: BeschlussRecord | None) -> dict[str, Any]:
    if beschluss is not None:
        data: dict[str, Any] = {
            "number": number, "title": beschluss.title or item.title,
            "wording": beschluss.wording or item.proposed_wording,
            "votes": {"ja": beschluss.yes, "nein": beschluss.no, "enthaltung": beschluss.abstain},
            "mode": "consensus" if beschluss.mode == "consensus" else "vote",
            "responsible": _responsible(beschluss.responsible_person, beschluss.responsible_org),
        }
        if beschluss.due_on is not None:
            data["due"] = beschluss.due_on.isoformat()
        return data
    return {
        "number": number, "title": item.title, "wording": item.proposed_wording or item.title,
        "votes": {"ja": item.yes, "nein": item.no, "enthaltung": item.abstain},
        "responsible": "entfällt (abgelehnt)",
    }


def _tracking(b: BeschlussRecord, number: str, day: date) -> dict[str, Any]:
    decided = b.adopted_on or day
    data: dict[str, Any] = {
        "number": number, "title": b.title or "ohne Titel", "decided_on": decided.isoformat(),
        "responsible": _responsible(b.responsible_person, b.responsible_org),
        "due": (b.due_on or decided).isoformat(),
        "status": b.status if b.status in ("open", "in_progress", "implemented", "discarded") else "open",
    }
    if b.last_note:
        data["note"] = b.last_note
    return data


# --- monitoring figures (case service) ----------------------------------------------------------

DEFAULT_REPORT_OFFICE = "Kommunales Integrationsmanagement"
DEFAULT_REPORT_SIGNATURE = "Koordination Kommunales Integrationsmanagement"
FIGURES_MARKER = "[Fallzahlen]"
"""A paragraph of a Drucksache's body_text that is exactly this is replaced by the figures."""


@dataclass(frozen=True)
class ReportOptions:
    author: str
    """Who renders (username): signs the report."""
    organization: str
    stand: date
    """The day the figures were read: GetFigures gives the current state, not a period's."""
    period_from: date | None = None
    period_to: date | None = None
    issuer: str = ""
    office: str = ""
    title: str = ""
    recipient: str = ""
    summary: str = ""
    signature_function: str = ""


def _printed(cell: FigureCell) -> str:
    figure = cell.figure
    return formats.integer(figure) if isinstance(figure, int) else figure


def _listing(heading: str, table: FigureTable) -> str:
    """One paragraph, a line per cell (docxtpl turns the line breaks into breaks in Word)."""
    lines = [f"{heading}:"]
    lines += [f"{cell.label or 'ohne Angabe'}: {_printed(cell)}" for cell in table.cells]
    lines.append(f"insgesamt: {_printed(table.total)}")
    return "\n".join(lines)


def _mean(what: str, duration: MeanDuration) -> str:
    if duration.days is None:
        return f"{what}: nicht ausgewiesen (weniger als 5 Fälle)."
    return f"{what}: im Mittel {formats.decimal_one(duration.days)} Tage."


def _suppression_line() -> str:
    return (f"Zahlen unter 5 sind als „{SUPPRESSED}“ ausgewiesen, „{WITHHELD}“ steht für einen Wert, "
            "der mit der Summe eine kleine Zahl verraten würde.")


def unknown_statuses(figures: CaseFiguresRecord) -> list[str]:
    return sorted(c.key for c in figures.by_status.cells if c.key not in STATUS_LABELS)


def _known_statuses(figures: CaseFiguresRecord) -> None:
    unknown = unknown_statuses(figures)
    if unknown:
        # A newer case service; printing a status this service cannot name would mislead.
        raise Unavailable(f"Der Falldienst meldet Status, die dieser Dokumentendienst nicht kennt "
                          f"({', '.join(unknown)}); bitte den Dokumentendienst aktualisieren.")


def monitoring_input(figures: CaseFiguresRecord, options: ReportOptions) -> dict[str, Any]:
    """The Monitoringbericht's input from the node's figures: status, Zielgruppe and barrier
    tables as delivered ("< 5" and "x" included, with the case service's totals), the other
    figures (Handlungsfelder, goal outcomes, durations) as paragraphs of the summary."""
    _known_statuses(figures)
    stand = formats.day(options.stand)
    summary = [options.summary.strip()] if options.summary.strip() else []
    summary += [
        f"Die Zahlen geben den Stand der Fallakten am {stand} wieder (alle Fälle des "
        f"Knotens, Zielgruppenkatalog Version {figures.zielgruppen_version}).",
        _listing("Fälle nach Handlungsfeld (ein Fall zählt bei jedem Handlungsfeld, das für ihn "
                 "vorgeschlagen, festgestellt oder geplant ist)", figures.by_handlungsfeld),
        _listing("Ziele abgeschlossener Fälle nach Ergebnis", figures.by_goal_outcome),
        _mean("Dauer vom Fallvorschlag bis zur ersten Entscheidung", figures.days_to_decision)
        + " " + _mean("Dauer abgeschlossener Fälle vom Fallvorschlag bis zum Abschluss", figures.days_open),
    ]
    return _report_data(figures, summary, options)


def figures_paragraphs(figures: CaseFiguresRecord, stand: date) -> list[str]:
    """The figures as paragraphs of a Sachdarstellung."""
    _known_statuses(figures)
    return [
        f"Fallzahlen des Kommunalen Integrationsmanagements (Stand: {formats.day(stand)}). "
        + _suppression_line(),
        _listing("Fälle nach Status", figures.by_status),
        _listing("Fälle nach Zielgruppe", figures.by_zielgruppe),
        _listing("Barrieren nach Kategorie", figures.by_barrier_category),
        _mean("Dauer vom Fallvorschlag bis zur ersten Entscheidung", figures.days_to_decision),
    ]


def drucksache_with_figures(data: Any, figures: CaseFiguresRecord | CombinedFigures, stand: date) -> Any:
    """The Drucksache input with the figures (the node's or the federation's) in its
    Sachdarstellung (`body_text`): in place of a paragraph „[Fallzahlen]“, else after the last
    paragraph. Input that is no mapping or has no usable body_text is returned unchanged, so the
    Drucksache's parser reports it with its path."""
    if not isinstance(data, dict) or not isinstance(data.get("body_text"), str):
        return data
    block = (federation_paragraphs(figures, stand) if isinstance(figures, CombinedFigures)
             else figures_paragraphs(figures, stand))
    body = paragraphs(data["body_text"].replace("\r\n", "\n"))
    if FIGURES_MARKER in body:
        at = body.index(FIGURES_MARKER)
        body[at:at + 1] = block
    else:
        body += block
    return {**data, "body_text": "\n\n".join(body)}


# --- the federation's figures (Kreis' node) -------------------------------------------------------

def _combined_listing(heading: str, table: CombinedTable, empty: str = "ohne Angabe") -> str:
    lines = [f"{heading}:"]
    lines += [f"{cell.label or empty}: {cell.printed}" for cell in table.cells]
    lines.append(f"insgesamt: {table.total.printed}")
    return "\n".join(lines)


def _combined_mean(what: str, duration: CombinedDuration) -> str:
    if duration.days is None:
        return (f"{what}: nicht ausgewiesen (kein Knoten weist einen Mittelwert über mindestens 5 Fälle "
                "mit seiner Fallzahl aus).")
    text = f"{what}: im Mittel {formats.decimal_one(duration.days)} Tage (nach Fallzahlen gewichtet"
    if duration.left_out:
        text += "; ohne " + ", ".join(f"{name}: {reason}" for name, reason in duration.left_out)
    return text + ")."


def _sources(figures: CombinedFigures) -> str:
    if len(figures.sources) == 1:
        text = f"Die Zahlen beruhen allein auf den Angaben von {figures.sources_text()}."
    else:
        text = ("Die Zahlen fassen die Angaben folgender Knoten des KIM-Verbunds zusammen: "
                f"{figures.sources_text()}.")
    if figures.missing:
        text += " " + figures.missing_text()
    return text + f" Zielgruppenkatalog: {figures.versions_text()}."


def _notes(figures: CombinedFigures) -> str:
    return " ".join(["Zum Schutz der betroffenen Personen weist kein Knoten Zahlen unter 5 genau aus; "
                     "die Zahlen des Verbunds sind Summen der von den Knoten ausgewiesenen Werte.",
                     *figures.notes()])


def federation_paragraphs(figures: CombinedFigures, day: date) -> list[str]:
    """The federation's figures as paragraphs of a Sachdarstellung: where they come from, the
    tables, the mean duration and the footnotes of the marks used."""
    for node in figures.sources:
        _known_statuses(node.figures)
    return [
        "Fallzahlen des Kommunalen Integrationsmanagements im Verbund "
        f"(Stand: {formats.day(day)}). " + _sources(figures),
        _combined_listing("Fälle nach Status", figures.by_status),
        _combined_listing("Fälle nach Zielgruppe", figures.by_zielgruppe, "keine Zielgruppe"),
        _combined_listing("Barrieren nach Kategorie", figures.by_barrier_category),
        _combined_mean("Dauer vom Fallvorschlag bis zur ersten Entscheidung", figures.days_to_decision),
        "Erläuterungen: " + _notes(figures),
    ]


def federation_monitoring_input(figures: CombinedFigures, options: ReportOptions) -> dict[str, Any]:
    """The Monitoringbericht's input from the federation's figures: the tables with the marks of
    the combination ("mind. 12"), its totals, the contributing and missing nodes (`federation`)."""
    for node in figures.sources:
        _known_statuses(node.figures)
    summary = [options.summary.strip()] if options.summary.strip() else []
    summary += [
        f"Die Zahlen geben den Stand der Fallakten aller erreichten Knoten des KIM-Verbunds am "
        f"{formats.day(options.stand)} wieder; woher sie stammen, nennt der Abschnitt „Datengrundlage“.",
        _combined_listing("Fälle nach Handlungsfeld (ein Fall zählt bei jedem Handlungsfeld, das für ihn "
                          "vorgeschlagen, festgestellt oder geplant ist)", figures.by_handlungsfeld),
        _combined_listing("Ziele abgeschlossener Fälle nach Ergebnis", figures.by_goal_outcome),
        _combined_mean("Dauer vom Fallvorschlag bis zur ersten Entscheidung", figures.days_to_decision)
        + " " + _combined_mean("Dauer abgeschlossener Fälle vom Fallvorschlag bis zum Abschluss",
                               figures.days_open),
    ]
    return _report_data(figures, summary, options, federation={
        "nodes": [{"name": n.source.name, "stand": stand_text(n.read_at)} for n in figures.sources],
        "unavailable": [{"name": m.source.name, "reason": m.reason} for m in figures.missing],
        "zielgruppen": figures.versions_text(),
        "notes": figures.notes(),
    })


def _report_data(figures: CaseFiguresRecord | CombinedFigures, summary: list[str],
                 options: ReportOptions, federation: dict[str, Any] | None = None) -> dict[str, Any]:
    """The Monitoringbericht's input: the status, Zielgruppe and barrier tables as printed
    (a node's own figures or the federation's combination), the summary paragraphs, and for the
    federation where its figures come from (`federation`)."""
    period_to = options.period_to or options.stand
    period_from = options.period_from or period_to.replace(month=1, day=1)
    data: dict[str, Any] = {
        "issuer": options.issuer or options.organization,
        "office": options.office or DEFAULT_REPORT_OFFICE,
        "period": {"from": period_from.isoformat(), "to": period_to.isoformat()},
        "cases_by_status": {c.key: c.figure for c in figures.by_status.cells},
        "cases_by_zielgruppe": [{"label": c.label or "keine Zielgruppe", "count": c.figure}
                                for c in figures.by_zielgruppe.cells],
        "barriers_by_category": [{"label": c.label, "count": c.figure}
                                 for c in figures.by_barrier_category.cells],
        "cases_total": figures.by_status.total.figure,
        "barriers_total": figures.by_barrier_category.total.figure,
        "summary": "\n\n".join(summary),
        "signature": {"name": options.author,
                      "function": options.signature_function or DEFAULT_REPORT_SIGNATURE},
    }
    if federation is not None:
        data["federation"] = federation
    if options.title:
        data["title"] = options.title
    if options.recipient:
        data["recipient"] = options.recipient
    return data
