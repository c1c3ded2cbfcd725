"""German formats for the templates (Babel, CLDR de_DE), registered as Jinja filters:

- `datum`: 16.11.2021 (a `date`, `datetime`, ISO text or `kim.common.v1.Date`; empty for none)
- `datum_zeit`: 16.11.2021, 14:05 Uhr (Europe/Berlin; a `datetime` or protobuf Timestamp)
- `euro`: 1.250,50 €
- `zahl`: 1.250,5 (up to 2 decimals; `zahl(0)` for whole numbers)
- `label`: the German label of a shared vocabulary value (`"in_review" | label("CaseStatus")`
  -> "in der Fallkonferenz"), or of a proto enum number (`case.status | label("CaseStatus")`).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from babel.numbers import format_currency, format_decimal
from flask import Flask

from kimnetz import vocabulary
from kimnetz.runtime.auth import ROLE_LABELS

LOCALE = "de_DE"
BERLIN = ZoneInfo("Europe/Berlin")


def _as_date(value: Any) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.astimezone(BERLIN).date() if value.tzinfo else value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        return date.fromisoformat(value[:10])
    if all(hasattr(value, a) for a in ("year", "month", "day")):  # kim.common.v1.Date
        if not (value.year and value.month and value.day):
            return None
        return date(int(value.year), int(value.month), int(value.day))
    raise TypeError(f"kein Datum: {value!r}")


def datum(value: Any) -> str:
    day = _as_date(value)
    return format_date(day, "dd.MM.yyyy", locale=LOCALE) if day else ""


def _as_datetime(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str):
        parsed = datetime.fromisoformat(value)
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    if hasattr(value, "ToDatetime"):  # google.protobuf.Timestamp
        if not (value.seconds or value.nanos):
            return None
        return value.ToDatetime(tzinfo=UTC)  # type: ignore[no-any-return]
    raise TypeError(f"kein Zeitpunkt: {value!r}")


def datum_zeit(value: Any) -> str:
    moment = _as_datetime(value)
    if moment is None:
        return ""
    return format_datetime(moment, "dd.MM.yyyy, HH:mm", tzinfo=BERLIN, locale=LOCALE) + " Uhr"


def euro(value: Any) -> str:
    if value is None or value == "":
        return ""
    return format_currency(Decimal(str(value)), "EUR", locale=LOCALE)


def zahl(value: Any, decimals: int = 2) -> str:
    if value is None or value == "":
        return ""
    pattern = "#,##0" + ("." + "#" * decimals if decimals else "")
    return format_decimal(Decimal(str(value)), format=pattern, locale=LOCALE)


#: The shared vocabulary by enum name, for `label`.
VOCABULARY: dict[str, type[vocabulary.Labelled]] = {
    name: value for name, value in vars(vocabulary).items()
    if isinstance(value, type) and issubclass(value, vocabulary.Labelled) and value is not vocabulary.Labelled
}


def label(value: Any, enum: str) -> str:
    """German label of `value` in the shared vocabulary `enum` (a value string, or a proto
    enum number of kim.common.v1 mapped by name); unknown values are shown as they are."""
    if enum == "Role":
        return ROLE_LABELS.get(str(value), str(value))
    kind = VOCABULARY.get(enum)
    if kind is None:
        return str(value)
    if isinstance(value, int) and not isinstance(value, bool):
        from kimnetz.runtime.proto_mapping import SHARED_ENUMS, from_proto_enum

        proto = next((p for p, d in SHARED_ENUMS if d is kind), None)
        if proto is None:
            return str(value)
        try:
            member = from_proto_enum(proto, kind, value)
        except ValueError:
            return str(value)
        return member.label if member is not None else ""
    member = kind.parse(str(value))
    return member.label if member is not None else str(value)


def register(app: Flask) -> None:
    app.add_template_filter(datum)
    app.add_template_filter(datum_zeit)
    app.add_template_filter(euro)
    app.add_template_filter(zahl)
    app.add_template_filter(label)
