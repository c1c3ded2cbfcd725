"""Calendar days of the case domain: due dates, review dates and "today" are days in NRW
(Europe/Berlin), not UTC days; a timestamp becomes a day only here."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

BERLIN = ZoneInfo("Europe/Berlin")


def local_date(moment: datetime) -> date:
    """The calendar day in NRW: due dates and "today" are German days, not UTC days."""
    return moment.astimezone(BERLIN).date()


def add_months(day: date, months: int) -> date:
    """Same day `months` later, clamped to the month's end (30 Nov + 3 months = 28/29 Feb)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    for candidate in (day.day, 30, 29, 28):
        try:
            return date(year, month, min(day.day, candidate))
        except ValueError:
            continue
    raise AssertionError("unreachable")
