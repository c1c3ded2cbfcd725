"""The Fall lifecycle as a state machine (Borken and RBK concepts).

    proposed -> in_review -> admitted | referred | rejected | deferred
    deferred -> in_review                         (next Fallkonferenz)
    admitted -> assessment -> planning -> active -> closed
    closed -> assessment                          (reopen with a reason: a new Bedarfsermittlung)
    referred | rejected -> in_review              (reopen with a reason: back to the conference)

Closing is also allowed from admitted, assessment and planning: a person may move away or end
the cooperation before a plan is active, and the case must then be closed with that reason
rather than stay open forever.

Each move is a named `Transition` with its source states, so the same target reached by two
commands (in_review by submitting or by reopening) keeps each command's own rule. Any other
move raises FailedPrecondition naming the current state.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from kimnetz.errors import FailedPrecondition
from services.case.domain.vocabulary import CaseStatus, ClosureReason

S = CaseStatus


class Transition(StrEnum):
    SUBMIT_FOR_REVIEW = "submit_for_review"
    ADMIT = "admit"
    REFER = "refer"
    REJECT = "reject"
    DEFER = "defer"
    START_ASSESSMENT = "start_assessment"
    START_PLANNING = "start_planning"
    ACTIVATE_PLAN = "activate_plan"
    CLOSE = "close"
    REOPEN = "reopen"


#: transition -> {source state: target state}
TRANSITIONS: dict[Transition, dict[CaseStatus, CaseStatus]] = {
    Transition.SUBMIT_FOR_REVIEW: {S.PROPOSED: S.IN_REVIEW, S.DEFERRED: S.IN_REVIEW},
    Transition.ADMIT: {S.IN_REVIEW: S.ADMITTED},
    Transition.REFER: {S.IN_REVIEW: S.REFERRED},
    Transition.REJECT: {S.IN_REVIEW: S.REJECTED},
    Transition.DEFER: {S.IN_REVIEW: S.DEFERRED},
    Transition.START_ASSESSMENT: {S.ADMITTED: S.ASSESSMENT},
    Transition.START_PLANNING: {S.ASSESSMENT: S.PLANNING},
    Transition.ACTIVATE_PLAN: {S.PLANNING: S.ACTIVE},
    Transition.CLOSE: {s: S.CLOSED for s in (S.ADMITTED, S.ASSESSMENT, S.PLANNING, S.ACTIVE)},
    Transition.REOPEN: {S.CLOSED: S.ASSESSMENT, S.REFERRED: S.IN_REVIEW, S.REJECTED: S.IN_REVIEW},
}

_VERBS: dict[Transition, str] = {
    Transition.SUBMIT_FOR_REVIEW: "zur Fallkonferenz angemeldet werden",
    Transition.ADMIT: "ins Case Management aufgenommen werden",
    Transition.REFER: "in die Verweisberatung gegeben werden",
    Transition.REJECT: "abgelehnt werden",
    Transition.DEFER: "zurückgestellt werden",
    Transition.START_ASSESSMENT: "in die Bedarfsermittlung gehen",
    Transition.START_PLANNING: "in die Integrationsplanung gehen",
    Transition.ACTIVATE_PLAN: "mit aktivem Integrationsplan ins Monitoring gehen",
    Transition.CLOSE: "abgeschlossen werden",
    Transition.REOPEN: "wieder aufgenommen werden",
}

#: States in which case work (assessment, plan, barriers) happens.
WORKING_STATES: frozenset[CaseStatus] = frozenset({S.ADMITTED, S.ASSESSMENT, S.PLANNING, S.ACTIVE})

#: States after which nothing follows without a reopening.
ENDED_STATES: frozenset[CaseStatus] = frozenset({S.REFERRED, S.REJECTED, S.CLOSED})
OPEN_STATES: frozenset[CaseStatus] = frozenset(S) - ENDED_STATES


def target_of(transition: Transition, current: CaseStatus) -> CaseStatus | None:
    return TRANSITIONS[transition].get(current)


def reachable(current: CaseStatus) -> frozenset[CaseStatus]:
    """Every state one transition away from `current`."""
    return frozenset(t[current] for t in TRANSITIONS.values() if current in t)


def ensure_transition(transition: Transition, current: CaseStatus) -> CaseStatus:
    """The target state of `transition` from `current`, or FailedPrecondition."""
    target = target_of(transition, current)
    if target is None:
        raise FailedPrecondition(
            f"Der Fall ist im Status „{current.label}“ und kann nicht {_VERBS[transition]}."
        )
    return target


def ensure_state(current: CaseStatus, allowed: frozenset[CaseStatus], action: str) -> None:
    """For actions that are not transitions (e.g. record a goal): only in some states."""
    if current not in allowed:
        raise FailedPrecondition(f"{action} ist im Status „{current.label}“ nicht möglich.")


# -- what the case records of the moves that end and restart it -------------------------------


@dataclass(frozen=True)
class Closure:
    reason: ClosureReason
    note: str
    closed_at: datetime
    closed_by: str


@dataclass(frozen=True)
class Reopening:
    from_status: CaseStatus
    to_status: CaseStatus
    reason: str
    reopened_at: datetime
    reopened_by: str
