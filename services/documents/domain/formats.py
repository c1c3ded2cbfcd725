"""German formats for everything a document prints, from CLDR via Babel rather than by hand."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from babel.dates import format_date
from babel.numbers import format_currency, format_decimal, format_percent

LOCALE = "de_DE"


def money(amount: Decimal) -> str:
    """27.500,00 € (with a non-breaking space, so the sign never wraps onto the next line)."""
    return format_currency(amount, "EUR", locale=LOCALE)


def day(value: date) -> str:
    """16.11.2021"""
    return format_date(value, "dd.MM.yyyy", locale=LOCALE)


def fte(value: Decimal) -> str:
    """Vollzeitäquivalente as the papers write them: 2,0 / 0,5 / 0,75."""
    return format_decimal(value, "#,##0.0#", locale=LOCALE)


def integer(value: int) -> str:
    """Counts with a thousands separator: 1.234"""
    return format_decimal(value, "#,##0", locale=LOCALE)


def decimal_one(value: float) -> str:
    """A mean with one decimal: 23,5"""
    return format_decimal(value, "#,##0.0", locale=LOCALE)


def percent(value: Decimal) -> str:
    """A share as a percentage with at most two decimals: 40 %, 33,33 % (CLDR: non-breaking space)."""
    return format_percent(value, "#,##0.##\u00a0%", locale=LOCALE)
