"""Retention (Löschfrist) and the figures a case contributes to local monitoring.

A closed case is due once its last closure is older than the retention period. Anonymising
keeps what the monitoring counts (status, dates, Zielgruppe keys, Handlungsfelder, categories,
outcomes, closing reasons) and blanks every text written about the person: free texts (notes
can name the person or relatives), goal and step titles, referral names, the consents' and
erasure confirmations' texts, the reasons of the eligibility check (they spell out age,
residence status and country of origin) and the reminders sent (their dates are the person's).
The home Kommune and the gender stay on the case: reports count by them, and neither names
anybody (figures suppress small numbers). The person record itself is erased by the
repository, with every earlier version of the case (docs/case.md, "Retention").

Either mode emits `CaseErased`, the erase request to every organisation that received data of
the case (`recipients`), which answers as it answers a revoked consent.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from services.case.domain.case import Case
from services.case.domain.events import CaseErased
from services.case.domain.vocabulary import BarrierCategory, CaseStatus, GoalOutcome, Handlungsfeld
from services.case.domain.zielgruppen import Mismatch

ERASED = "[gelöscht]"


def retention_due(case: Case, now: datetime, period: timedelta) -> bool:
    if case.status is not CaseStatus.CLOSED or not case.closures:
        return False
    return case.closures[-1].closed_at <= now - period


def anonymised(case: Case) -> Case:
    """The case without any text about the person; everything counted stays."""
    def blank(text: str) -> str:
        return ERASED if text else ""

    eligibility = case.eligibility
    return replace(
        case,
        proposal=replace(case.proposal, reason=blank(case.proposal.reason),
                         proposer_unit=blank(case.proposal.proposer_unit)),
        # The keys and names of the Zielgruppen stay (the figures count by them); why the
        # person did not match (age, status, country) goes.
        eligibility=replace(eligibility, mismatches=tuple(
            Mismatch(m.key, (), m.name) for m in eligibility.mismatches)),
        decisions=[replace(d, note=blank(d.note), referral_name=blank(d.referral_name),
                           decision_reference=blank(d.decision_reference))
                   for d in case.decisions],
        needs=[replace(n, need=blank(n.need), resources=blank(n.resources)) for n in case.needs],
        goals=[replace(g, title=blank(g.title), outcome_note=blank(g.outcome_note),
                       steps=[replace(s, description=blank(s.description), note=blank(s.note),
                                      responsible=blank(s.responsible))
                              for s in g.steps],
                       progress=[replace(p, note=blank(p.note)) for p in g.progress])
               for g in case.goals],
        barriers=[replace(b, description=blank(b.description), status_note=blank(b.status_note))
                  for b in case.barriers],
        journal=[replace(j, text=blank(j.text)) for j in case.journal],
        assignments=[replace(a, reason=blank(a.reason)) for a in case.assignments],
        reviews=[replace(r, note=blank(r.note)) for r in case.reviews],
        closures=[replace(c, note=blank(c.note)) for c in case.closures],
        reopenings=[replace(r, reason=blank(r.reason)) for r in case.reopenings],
        consents=[replace(k, revocation_reason=blank(k.revocation_reason),
                          erasure_confirmations=tuple(
                              replace(x, summary=blank(x.summary)) for x in k.erasure_confirmations))
                  for k in case.consents],
        # A reminder's date is one of the person's (an 18th birthday gives the birth date, the
        # end of a Duldung the residence status): none stays.
        reminders=[],
        pending_events=[],
    )


def recipients(case: Case) -> tuple[str, ...]:
    """Every other organisation that may hold data of the case: the koordinierende Stelle,
    the organisations on its access list, every recipient of a consent (revoked ones too: an
    erase request that finds nothing is answered all the same)."""
    orgs = [case.coordination_org, *case.access_orgs, *(k.recipient_org for k in case.consents)]
    return tuple(o for o in dict.fromkeys(orgs) if o and o != case.owner_org)


def erased(case: Case, now: datetime, mode: str) -> Case:
    """The anonymised case with its erase request (`CaseErased`) pending; in "delete" mode
    the repository keeps nothing of it but that request until it is sent."""
    result = anonymised(case)
    result.pending_events = [CaseErased(
        case_id=case.case_id, pseudonym=case.pseudonym, owner_org=case.owner_org, occurred_at=now,
        recipient_orgs=recipients(case), mode=mode)]
    return result


def figures(case: Case) -> dict[str, int]:
    """Numbers one case adds to the monitoring sums (every key always present, so a `$group`
    with `$sum` over these fields needs no other operator)."""
    fields = case.handlungsfelder
    values: dict[str, int] = {f"handlungsfeld_{h.value}": int(h in fields) for h in Handlungsfeld}
    values |= {f"barrier_{k.value}": sum(b.category is k for b in case.barriers) for k in BarrierCategory}
    values |= {f"goal_{o.value}": sum(g.outcome is o for g in case.goals) for o in GoalOutcome}
    decided = case.decisions[0].decided_at if case.decisions else None
    values["decided"] = int(decided is not None)
    values["days_to_decision"] = (decided - case.created_at).days if decided else 0
    closed = case.closures[-1].closed_at if case.status is CaseStatus.CLOSED and case.closures else None
    values["closed"] = int(closed is not None)
    values["days_open"] = (closed - case.created_at).days if closed else 0
    return values


#: Every key `figures` returns.
FIGURE_KEYS: tuple[str, ...] = (
    *(f"handlungsfeld_{h.value}" for h in Handlungsfeld),
    *(f"barrier_{k.value}" for k in BarrierCategory),
    *(f"goal_{o.value}" for o in GoalOutcome),
    "decided", "days_to_decision", "closed", "days_open",
)
