"""The conference service's name for the one validator every domain core shares
(kimnetz.validation); kept so the entry points that import it from here need no change."""

from kimnetz.validation import Violations, format_date, format_datetime

__all__ = ["Violations", "format_date", "format_datetime"]
