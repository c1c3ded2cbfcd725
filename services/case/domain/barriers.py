"""Barriers (rechtskreisübergreifende Hürden) recorded on a case: which Rechtskreise, which
category, and how their status changed. The monitoring counts them by category
(`retention.figures`); `Case.record_barrier` and `Case.change_barrier_status` change them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from services.case.domain.vocabulary import BarrierCategory, BarrierStatus, Handlungsfeld, Rechtskreis


@dataclass
class Barrier:
    barrier_id: str
    rechtskreise: tuple[Rechtskreis, ...]
    category: BarrierCategory
    description: str
    handlungsfeld: Handlungsfeld | None
    recorded_at: datetime
    recorded_by: str
    status: BarrierStatus = BarrierStatus.OPEN
    status_note: str = ""
    status_changed_at: datetime | None = None
