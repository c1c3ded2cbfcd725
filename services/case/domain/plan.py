"""Bedarfsermittlung and Integrationsplan: the needs assessed per Handlungsfeld, the plan's goals
with their steps and progress notes, and the quarterly reviews of an active plan. Values the
`Case` aggregate holds and changes (`record_need`, `add_goal`, `add_step`, `finish_step`,
`record_progress`, `record_review`); the rules live there."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from services.case.domain.vocabulary import (
    GoalOutcome,
    Handlungsfeld,
    Priority,
    Rechtskreis,
    ReviewOutcome,
    StepStatus,
)


@dataclass(frozen=True)
class NeedAssessment:
    handlungsfeld: Handlungsfeld
    need: str
    resources: str
    priority: Priority
    assessed_at: datetime
    assessed_by: str


@dataclass
class Step:
    step_id: str
    description: str
    responsible: str
    rechtskreis: Rechtskreis | None
    due_on: date | None
    status: StepStatus = StepStatus.OPEN
    finished_at: datetime | None = None
    note: str = ""


@dataclass(frozen=True)
class ProgressEntry:
    entry_id: str
    note: str
    recorded_at: datetime
    recorded_by: str


@dataclass
class Goal:
    goal_id: str
    title: str
    handlungsfeld: Handlungsfeld
    due_on: date | None
    created_at: datetime
    steps: list[Step] = field(default_factory=list)
    progress: list[ProgressEntry] = field(default_factory=list)
    outcome: GoalOutcome | None = None
    outcome_note: str = ""


@dataclass(frozen=True)
class Review:
    held_on: date
    note: str
    recorded_at: datetime
    recorded_by: str
    #: Set when the Fallkonferenz of the koordinierende Stelle reviewed the case (its event
    #: `CaseReviewDecided`); None for a review recorded over RecordReview.
    outcome: ReviewOutcome | None = None
    decision_reference: str = ""
    offices_to_invite: tuple[str, ...] = ()
