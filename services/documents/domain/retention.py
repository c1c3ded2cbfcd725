"""Which generated documents are deleted when (the documents' Löschfrist).

A document kind is either a *case record* or an *administrative record*:

- case records (the Fallkonferenz-Protokoll: pseudonyms, briefs, decisions about persons; the
  Einwilligungserklärung: a person's name and consent) are
  deleted, content and input alike, once they are older than the case Löschfrist
  (`KIM_DOCUMENTS_CASE_RECORD_RETENTION_DAYS`, by default the case service's three years:
  a protocol is kept exactly as long as the cases it decided may be);
- administrative records (contracts, Drucksachen, Beschlussprotokolle of the Lenkungsgruppe,
  Monitoringberichte) carry no data about a person (names of staff and organisations,
  aggregates with small numbers suppressed) and are kept: they are the organisation's files,
  archived by its own Aktenordnung, outside KIM.

A kind added later is a case record until it is listed here, so nothing new is kept by
oversight.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum


class Rule(StrEnum):
    CASE_RECORD = "case_record"
    ADMINISTRATIVE_RECORD = "administrative_record"


#: Kind id -> its rule; a kind not listed is a case record.
RULES: dict[str, Rule] = {
    "fallkonferenz_protokoll": Rule.CASE_RECORD,
    # Names the person and their consent: kept no longer than the case may be.
    "einwilligungserklaerung": Rule.CASE_RECORD,
    "contract": Rule.ADMINISTRATIVE_RECORD,
    "drucksache": Rule.ADMINISTRATIVE_RECORD,
    "lenkungsgruppe_protokoll": Rule.ADMINISTRATIVE_RECORD,
    "monitoringbericht": Rule.ADMINISTRATIVE_RECORD,
}


def rule(kind: str) -> Rule:
    return RULES.get(kind, Rule.CASE_RECORD)


def kept_kinds() -> tuple[str, ...]:
    """The kinds retention never deletes (every other kind is due after the period)."""
    return tuple(k for k, r in RULES.items() if r is Rule.ADMINISTRATIVE_RECORD)


def due(kind: str, created_at: datetime, now: datetime, period: timedelta) -> bool:
    return rule(kind) is Rule.CASE_RECORD and created_at <= now - period
