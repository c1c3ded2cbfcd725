"""The running record of who works a case and what they noted: journal notes and the
assignments of case managers (also those a transfer to another organisation makes)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class JournalNote:
    note_id: str
    text: str
    written_at: datetime
    author: str


@dataclass(frozen=True)
class Assignment:
    case_manager: str
    organization: str
    assigned_at: datetime
    assigned_by: str
    reason: str = ""
