"""What leaves this node as aggregates or for peer nodes of the federation: the briefs a Kreis
node asks for its Fallkonferenz (`get_case_briefs`, as an `Actor.peer`: node, its organisation
and federation role, and the person on whose behalf it asks; their audit entries name all
four), and the monitoring figures with small numbers suppressed (`get_figures`, for the node's
own Berichtswesen and for a Kreis node alike; `figures` the raw, node-internal counts).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from kimnetz.errors import FailedPrecondition, NotFound, PermissionDenied
from kimnetz.validation import Violations
from services.case.application import CaseAccess
from services.case.domain.audit import AuditDraft
from services.case.domain.brief import CaseBrief, build_brief
from services.case.domain.dates import local_date
from services.case.domain.monitoring import Figures, monitoring_figures
from services.case.domain.movements import Period, period_counts
from services.case.domain.period_figures import PeriodFigures, period_figures
from services.case.domain.policy import ALLOWED, PEER_NO_ACCESS, Action, Actor, decide

#: At most this many briefs per call of a peer node (federation.proto).
MAX_PEER_BRIEFS = 200
PEER_BRIEF_PURPOSE = "Fallkonferenz"
FIGURES_DETAIL = "Aggregierte Kennzahlen, kleine Zahlen unterdrückt"


@dataclass(frozen=True)
class PeerBriefs:
    """What a peer node gets: briefs by case id, and the ids it does not get (never why)."""

    briefs: list[tuple[str, CaseBrief]]
    unavailable: list[str]


class Verbund:
    """Briefs for peer nodes and the monitoring figures."""

    def __init__(self, access: CaseAccess) -> None:
        self.access = access
        self.repository = access.repository
        self.clock = access.clock

    def get_case_briefs(self, actor: Actor, case_ids: Sequence[str], purpose: str = "") -> PeerBriefs:
        """Briefs of the cases proposed to the peer's organisation whose consent still covers
        its Fallkonferenz; every other id (unknown, not proposed to it, consent revoked or
        expired, person erased) goes to `unavailable`, alike. Each id, served or not, is one
        audit entry on its case with the reason for this node's data protection officer."""
        v = Violations()
        ids: list[str] = []
        if not case_ids:
            v.add("case_ids", "Mindestens eine Fall-ID angeben.")
        elif len(case_ids) > MAX_PEER_BRIEFS:
            v.add("case_ids", f"Höchstens {MAX_PEER_BRIEFS} Fall-IDs je Aufruf (angegeben: {len(case_ids)}).")
        else:
            ids = [v.identifier(f"case_ids[{i}]", case_id) for i, case_id in enumerate(case_ids)]
        purpose = v.text("purpose", purpose, required=False) or PEER_BRIEF_PURPOSE
        v.raise_if_any()
        if not actor.is_peer:
            raise PermissionDenied(PEER_NO_ACCESS)
        now = self.clock()
        today = local_date(now)
        briefs: list[tuple[str, CaseBrief]] = []
        unavailable: list[str] = []
        trail: list[AuditDraft] = []  # appended as one run before the answer leaves
        for case_id in dict.fromkeys(ids):
            brief, reason, verdict = None, "", ALLOWED
            try:
                case = self.repository.get(case_id)
                verdict = decide(actor, Action.READ_BRIEF, case, on=today)
                reason = verdict.reason
                if verdict.allowed:
                    brief = build_brief(case, self.repository.get_person(case_id), today)
            except NotFound:
                reason = "unbekannter Fall"
            except FailedPrecondition as error:  # retention erased the person
                reason = error.message
            if brief is None:
                trail.append(self.access.draft(actor, case_id, "GetCaseBriefs", purpose, False, now, reason))
                unavailable.append(case_id)
                continue
            consents = ", ".join(verdict.consent_ids)
            trail.append(self.access.draft(actor, case_id, "GetCaseBriefs", purpose, True, now,
                                           f"Kurzinformation übermittelt (Einwilligung {consents})"))
            briefs.append((case_id, brief))
        self.repository.append_audits(trail)
        return PeerBriefs(briefs, unavailable)

    def figures(self) -> dict[str, dict[str, int]]:
        """The raw counts and sums (exact: for this node only, never an answer to a caller)."""
        return self.repository.figures()

    def get_figures(self, actor: Actor, period_from: date | None = None,
                    period_to: date | None = None) -> tuple[Figures, int, PeriodFigures]:
        """The local monitoring figures as they may be shown (small numbers suppressed), the
        Zielgruppen version whose names label them, and the figures of the Berichtszeitraum
        (default: 1 January of the end's year to today) from the figures ledger."""
        now = self.clock()
        period = Period.of(period_from, period_to, today=local_date(now))
        self.access.guard(actor, Action.READ_FIGURES, None, "GetFigures", "Monitoring", now)
        catalogue = self.repository.current_catalogue()
        names = {d.key: d.name for d in catalogue.definitions}
        result = monitoring_figures(self.repository.figures(), names)
        in_period = period_figures(period_counts(self.repository.ledger(period.end), period), names)
        self.access.audit(actor, "", "GetFigures", "Monitoring", True, now, detail=FIGURES_DETAIL)
        return result, catalogue.version, in_period
