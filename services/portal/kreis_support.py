"""What the Koordination, Lenkungsgruppe and Kreistagsbüro pages share: the label filter of the
conference's and documents' enums, form input in the shape of repeated api fields, points in
time from a German date and time, and file downloads streamed from the documents service.

Form inputs are named after the api's field paths ("participants[0].person"), so the api's
German field violations land at their fields; where empty rows of a form are left out before
the request is sent, `renumbered` maps the api's index back to the form's row.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime, time
from typing import Any, TypeAlias
from zoneinfo import ZoneInfo

from flask import Blueprint, request, send_file
from werkzeug.wrappers import Response

from services.portal.forms import FormErrors, field_text, parse_date
from services.portal.kreis_labels import label_of

#: What a view returns: a page, a page with its status (a refused form: 400), or a redirect.
View: TypeAlias = str | tuple[str, int] | Response

BERLIN = ZoneInfo("Europe/Berlin")
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
PDF = "application/pdf"
ZIP = "application/zip"


def install_filters(bp: Blueprint) -> None:
    """`kreis_label(value, "ConferenceStatus")` in every template (registered once per blueprint;
    the same function each time)."""
    bp.add_app_template_filter(kreis_label, "kreis_label")


def kreis_label(value: Any, enum: str) -> str:
    return label_of(enum, int(value or 0))


def is_fetch() -> bool:
    """A request of the pages' script (progressive enhancement), which wants a fragment back."""
    return request.headers.get("X-Requested-With") == "fetch"


def parse_time(
    value: str | None, field: str, errors: FormErrors, *, label: str = "Uhrzeit", required: bool = False
) -> time | None:
    """ "14:30" or "14.30"; empty is None (an error where `required`)."""
    text = (value or "").strip()
    if not text:
        if required:
            errors.add(field, f"Bitte geben Sie die {label} an.")
        return None
    match = re.fullmatch(r"(\d{1,2})[:.](\d{2})(?:\s*Uhr)?", text)
    if not match or int(match.group(1)) > 23 or int(match.group(2)) > 59:
        errors.add(field, f"{label}: bitte als Stunden und Minuten angeben, zum Beispiel 14:30.")
        return None
    return time(int(match.group(1)), int(match.group(2)))


def parse_moment(form: Mapping[str, str], field: str, errors: FormErrors, *, what: str) -> datetime | None:
    """A point in time in Mettmann from the day in the field `field` (the api's name, so the
    api's and the form's messages meet there) and the time in `<field>.uhrzeit`."""
    day = parse_date(form.get(field), field, errors, label=f"Tag {what}", required=True)
    clock = parse_time(form.get(f"{field}.uhrzeit"), f"{field}.uhrzeit", errors, required=True)
    if day is None or clock is None:
        return None
    return datetime.combine(day, clock, tzinfo=BERLIN)


def moment_fields(moment: datetime | None) -> tuple[str, str]:
    """What a date and time input show for `moment` (empty for none)."""
    if moment is None:
        return "", ""
    local = moment.astimezone(BERLIN)
    return f"{local:%d.%m.%Y}", f"{local:%H:%M}"


def rows(
    form: Mapping[str, str], prefix: str, names: Sequence[str], count: int
) -> list[tuple[int, dict[str, str]]]:
    """The filled rows of a repeated group (`prefix[i].name`): (form row, values), empty rows left out."""
    filled = []
    for i in range(count):
        values = {n: field_text(form, f"{prefix}[{i}].{n}") for n in names}
        if any(values.values()):
            filled.append((i, values))
    return filled


def renumbered(errors: FormErrors, prefix: str, form_rows: Sequence[int]) -> FormErrors:
    """The api's violations of `prefix[k]...` moved to the form's row `form_rows[k]`."""
    moved = FormErrors(general=list(errors.general))
    pattern = re.compile(rf"^{re.escape(prefix)}\[(\d+)\](.*)$")
    for field, message in errors.items():
        match = pattern.match(field)
        if match and int(match.group(1)) < len(form_rows):
            field = f"{prefix}[{form_rows[int(match.group(1))]}]{match.group(2)}"
        moved.add(field, message)
    return moved


def download(content: bytes, filename: str, mimetype: str) -> Response:
    """A file to save (Content-Disposition: attachment, with the name in UTF-8 for umlauts)."""
    response = send_file(
        io.BytesIO(content), mimetype=mimetype, as_attachment=True, download_name=filename, max_age=0
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def lines(text: str | None) -> list[str]:
    """The non-empty lines of a textarea."""
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def german_day(value: date | None) -> str:
    return f"{value:%d.%m.%Y}" if value else ""
