"""The case pseudonym ("KIM-2026-7F3K9Q"): how a case is named outside its owning node.

Random, not derived from any personal data (a hash of name and birth date could be reversed
by trying the few plausible inputs), so it reveals nothing and stays stable for the case's
life. The alphabet is Crockford's Base32 (no I, L, O, U) so that it can be read aloud and typed
from a conference protocol without confusing 0/O or 1/I. 32^6 ≈ 10^9 values per year; the
repository's unique index turns the rare collision into a retry.
"""

from __future__ import annotations

import re
import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
LENGTH = 6
PATTERN = re.compile(rf"^KIM-\d{{4}}-[{ALPHABET}]{{{LENGTH}}}$")


def new_pseudonym(year: int) -> str:
    suffix = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
    return f"KIM-{year:04d}-{suffix}"


def is_pseudonym(value: str) -> bool:
    return bool(PATTERN.match(value))
