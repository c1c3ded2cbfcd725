"""The case service's name for the one validator every domain core shares (kimnetz.validation);
kept so the entry points that import it from here need no change."""

from kimnetz.validation import (
    COUNTRY_PATTERN,
    ID_PATTERN,
    LONG_TEXT,
    SHORT_TEXT,
    Violations,
    format_date,
    parse_iso_date,
)

__all__ = ["COUNTRY_PATTERN", "ID_PATTERN", "LONG_TEXT", "SHORT_TEXT", "Violations", "format_date",
           "parse_iso_date"]
