"""The Beschlussvorlage: what a Lenkungsgruppe session decides on.

Prepared by the koordinierende Stelle or by a Projektgruppe; one from a Projektgruppe links
back to the barrier counts that motivated it (`evidence`, already suppressed below 5, so a
Vorlage never carries a small number that could point at a person).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime

from kimnetz.errors import InvalidArgument
from kimnetz.validation import Violations
from services.conference.domain.vocabulary import BarrierCategory, Rechtskreis, VorlageKind
from services.conference.domain.zielgruppen import ZielgruppeDefinition, validate_definitions


@dataclass(frozen=True)
class EvidenceCount:
    """One cell of the barrier register as shown (`display` is "< 5" below the threshold)."""

    rechtskreis_a: Rechtskreis
    rechtskreis_b: Rechtskreis | None
    category: BarrierCategory
    display: str


@dataclass(frozen=True)
class Beschlussvorlage:
    vorlage_id: str
    kind: VorlageKind
    title: str
    proposed_wording: str
    submitted_by: str
    submitted_at: datetime
    rationale: str = ""
    responsible_org: str = ""
    responsible_person: str = ""
    due_on: date | None = None
    zielgruppen: tuple[ZielgruppeDefinition, ...] = ()
    projektgruppe_id: str = ""
    evidence: tuple[EvidenceCount, ...] = ()

    @classmethod
    def draft(
        cls,
        *,
        kind: VorlageKind,
        title: str,
        proposed_wording: str,
        submitted_by: str,
        now: datetime,
        rationale: str = "",
        responsible_org: str = "",
        responsible_person: str = "",
        due_on: date | None = None,
        zielgruppen: tuple[ZielgruppeDefinition, ...] = (),
        projektgruppe_id: str = "",
        evidence: tuple[EvidenceCount, ...] = (),
        vorlage_id: str | None = None,
    ) -> Beschlussvorlage:
        v = Violations()
        v.text("title", title, max_len=300)
        v.text("proposed_wording", proposed_wording, max_len=10000)
        v.text("rationale", rationale, required=False, max_len=20000)
        v.not_in_past("due_on", due_on, now.date())
        if kind is VorlageKind.ZIELGRUPPEN:
            try:
                validate_definitions(zielgruppen)
            except InvalidArgument as exc:  # reported together with the other violations
                v.items.extend(exc.violations)
        elif zielgruppen:
            v.add("zielgruppen", "Zielgruppen nur in einer Vorlage „Zielgruppen festlegen“.")
        v.raise_if_any("Die Beschlussvorlage ist unvollständig.")
        return cls(
            vorlage_id=vorlage_id or str(uuid.uuid4()),
            kind=kind,
            title=title.strip(),
            proposed_wording=proposed_wording.strip(),
            submitted_by=submitted_by,
            submitted_at=now,
            rationale=rationale.strip(),
            responsible_org=responsible_org,
            responsible_person=responsible_person,
            due_on=due_on,
            zielgruppen=zielgruppen,
            projektgruppe_id=projektgruppe_id,
            evidence=evidence,
        )
