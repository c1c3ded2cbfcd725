"""The one rule for identifiers that services hand to each other (user ids such as a case
manager's, organisation and node ids, case ids), so that no service accepts a value that
another refuses (issue 12: the conference admitted a case with a `case_manager` that the case
service then refused, and the case stayed "in review" at home while the Protokoll said
"aufgenommen").

Pure (no framework), beside `kimnetz.errors`: the domain cores of every service may import it.
"""

from __future__ import annotations

import re

#: Letters, digits and `. _ : @ -`, starting with a letter or digit, at most 128 characters:
#: what Keycloak usernames, organisation aliases, node ids and case ids (UUIDs) all fit.
ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$")
MISSING = "Angabe fehlt."
INVALID = "Ungültige Kennung (erlaubt: Buchstaben, Ziffern, . _ : @ -, höchstens 128)."


def clean(value: str | None) -> str:
    """The identifier as both services store it: surrounding blanks removed."""
    return (value or "").strip()


def problem(value: str | None, *, required: bool = True) -> str | None:
    """Why `value` (after `clean`) is not a valid identifier, in German; None if it is."""
    cleaned = clean(value)
    if not cleaned:
        return MISSING if required else None
    if not ID_PATTERN.match(cleaned):
        return INVALID
    return None
