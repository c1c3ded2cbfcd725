"""Einwilligung / Schweigepflichtentbindung: what the person allowed to be shared, with whom.

A consent names one recipient organisation, the purposes and the data categories, when it was
signed, optionally when it expires, and whether it was revoked. Nothing leaves the owning node
unless `coverage()` says the consents on file cover the whole disclosure (every category, for
that recipient and purpose, on that day). Several consents may together cover a disclosure.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from kimnetz.validation import format_date
from services.case.domain.vocabulary import ConsentKind, ConsentPurpose, DataCategory


@dataclass(frozen=True)
class ErasureConfirmation:
    """A node of the recipient organisation confirmed that it erased what it held of the case
    under a revoked consent (its answer to the erase request `ConsentRevoked`)."""

    node: str
    organization: str
    erased_at: datetime
    summary: str
    recorded_at: datetime


@dataclass(frozen=True)
class Consent:
    consent_id: str
    kind: ConsentKind
    recipient_org: str
    purposes: tuple[ConsentPurpose, ...]
    categories: tuple[DataCategory, ...]
    signed_on: date
    expires_on: date | None = None
    recorded_by: str = ""
    recorded_at: datetime | None = None
    revoked_on: date | None = None
    revocation_reason: str = ""
    #: The receivers' answers to the erase request of the revocation, in arrival order.
    erasure_confirmations: tuple[ErasureConfirmation, ...] = ()

    @property
    def erasure_outstanding(self) -> bool:
        """Revoked, and no node of the recipient organisation has confirmed the erasure yet.
        The revocation asks the nodes of `recipient_org` (the receivers of the disclosure)."""
        return self.revoked_on is not None and not any(
            c.organization == self.recipient_org for c in self.erasure_confirmations)

    def valid_on(self, on: date) -> bool:
        if on < self.signed_on:
            return False
        if self.expires_on is not None and on > self.expires_on:
            return False
        return not (self.revoked_on is not None and on >= self.revoked_on)

    def why_invalid(self, on: date) -> str:
        """German reason why this consent does not hold on `on` ("" when it does)."""
        if on < self.signed_on:
            return f"Einwilligung erst ab {format_date(self.signed_on)} unterschrieben."
        if self.revoked_on is not None and on >= self.revoked_on:
            return f"Einwilligung am {format_date(self.revoked_on)} widerrufen."
        if self.expires_on is not None and on > self.expires_on:
            return f"Einwilligung am {format_date(self.expires_on)} abgelaufen."
        return ""


@dataclass(frozen=True)
class Coverage:
    allowed: bool
    consent_ids: tuple[str, ...]
    reason: str


def coverage(
    consents: Iterable[Consent],
    *,
    recipient_org: str,
    purpose: ConsentPurpose,
    categories: Iterable[DataCategory],
    on: date,
) -> Coverage:
    """Whether disclosing `categories` to `recipient_org` for `purpose` on `on` is covered."""
    wanted = list(dict.fromkeys(categories))
    if not wanted:
        return Coverage(False, (), "Es wurden keine Datenkategorien angegeben.")
    relevant = [c for c in consents if c.recipient_org == recipient_org and purpose in c.purposes]
    valid = [c for c in relevant if c.valid_on(on)]
    used: list[str] = []
    missing: list[DataCategory] = []
    for category in wanted:
        holder = next((c for c in valid if category in c.categories), None)
        if holder is None:
            missing.append(category)
        elif holder.consent_id not in used:
            used.append(holder.consent_id)
    if not missing:
        return Coverage(True, tuple(used), "")
    if not relevant:
        reason = (f"Keine Einwilligung für die Weitergabe an „{recipient_org}“ zum Zweck "
                  f"„{purpose.label}“.")
    elif not valid:
        reason = " ".join(c.why_invalid(on) for c in relevant)
    else:
        reason = "Nicht von der Einwilligung umfasst: " + ", ".join(m.label for m in missing) + "."
    return Coverage(False, (), reason)
