"""Case work after admission: Bedarfsermittlung, Integrationsplan (goals, steps, progress,
activation), quarterly reviews, barriers, the journal, assignment and transfer, closing and
reopening. Each use case is one rpc and the five steps of `CaseAccess.change`.
"""

from __future__ import annotations

from services.case.application import WORK, CaseAccess
from services.case.domain import commands as c
from services.case.domain.case import Case
from services.case.domain.policy import Action, Actor


class Fallarbeit:
    """The case manager's commands on one case (rpc names in snake_case)."""

    def __init__(self, access: CaseAccess) -> None:
        self.access = access
        self.repository = access.repository
        self.clock = access.clock

    def start_assessment(self, actor: Actor, command: c.StartAssessment, purpose: str = WORK) -> Case:
        return self.access.change(actor, command.case_id, Action.CASE_WORK, "StartAssessment", purpose,
                                  lambda case, now: case.start_assessment(command, actor, now))

    def record_need(self, actor: Actor, command: c.RecordNeed, purpose: str = WORK) -> Case:
        return self.access.change(actor, command.case_id, Action.CASE_WORK, "RecordNeed", purpose,
                                  lambda case, now: case.record_need(command, actor, now))

    def start_planning(self, actor: Actor, command: c.StartPlanning, purpose: str = WORK) -> Case:
        return self.access.change(actor, command.case_id, Action.CASE_WORK, "StartPlanning", purpose,
                                  lambda case, now: case.start_planning(command, actor, now))

    def add_goal(self, actor: Actor, command: c.AddGoal, purpose: str = WORK) -> Case:
        return self.access.change(actor, command.case_id, Action.CASE_WORK, "AddGoal", purpose,
                                  lambda case, now: case.add_goal(command, actor, now))

    def add_step(self, actor: Actor, command: c.AddStep, purpose: str = WORK) -> Case:
        return self.access.change(actor, command.case_id, Action.CASE_WORK, "AddStep", purpose,
                                  lambda case, now: case.add_step(command, actor, now))

    def finish_step(self, actor: Actor, command: c.FinishStep, purpose: str = WORK) -> Case:
        return self.access.change(actor, command.case_id, Action.CASE_WORK, "FinishStep", purpose,
                                  lambda case, now: case.finish_step(command, actor, now))

    def record_progress(self, actor: Actor, command: c.RecordProgress, purpose: str = WORK) -> Case:
        return self.access.change(actor, command.case_id, Action.CASE_WORK, "RecordProgress", purpose,
                                  lambda case, now: case.record_progress(command, actor, now))

    def activate_plan(self, actor: Actor, command: c.ActivatePlan, purpose: str = WORK) -> Case:
        return self.access.change(actor, command.case_id, Action.CASE_WORK, "ActivatePlan", purpose,
                                  lambda case, now: case.activate_plan(command, actor, now))

    def record_review(self, actor: Actor, command: c.RecordReview, purpose: str = WORK) -> Case:
        return self.access.change(actor, command.case_id, Action.RECORD_REVIEW, "RecordReview", purpose,
                                  lambda case, now: case.record_review(command, actor, now))

    def record_barrier(self, actor: Actor, command: c.RecordBarrier, purpose: str = WORK) -> Case:
        return self.access.change(actor, command.case_id, Action.CASE_WORK, "RecordBarrier", purpose,
                                  lambda case, now: case.record_barrier(command, actor, now))

    def change_barrier_status(self, actor: Actor, command: c.ChangeBarrierStatus,
                              purpose: str = WORK) -> Case:
        return self.access.change(actor, command.case_id, Action.CASE_WORK, "ChangeBarrierStatus", purpose,
                                  lambda case, now: case.change_barrier_status(command, actor, now))

    def add_journal_note(self, actor: Actor, command: c.AddJournalNote, purpose: str = WORK) -> Case:
        return self.access.change(actor, command.case_id, Action.CASE_WORK, "AddJournalNote", purpose,
                                  lambda case, now: case.add_journal_note(command, actor, now))

    def assign_case_manager(self, actor: Actor, command: c.AssignCaseManager,
                            purpose: str = WORK) -> Case:
        return self.access.change(actor, command.case_id, Action.ASSIGN, "AssignCaseManager", purpose,
                                  lambda case, now: case.assign_case_manager(command, actor, now))

    def transfer_case(self, actor: Actor, command: c.TransferCase, purpose: str = WORK) -> Case:
        return self.access.change(actor, command.case_id, Action.TRANSFER, "TransferCase", purpose,
                                  lambda case, now: case.transfer(command, actor, now))

    def close_case(self, actor: Actor, command: c.CloseCase, purpose: str = WORK) -> Case:
        return self.access.change(actor, command.case_id, Action.CLOSE, "CloseCase", purpose,
                                  lambda case, now: case.close(command, actor, now))

    def reopen_case(self, actor: Actor, command: c.ReopenCase, purpose: str = WORK) -> Case:
        return self.access.change(actor, command.case_id, Action.REOPEN, "ReopenCase", purpose,
                                  lambda case, now: case.reopen(command, actor, now))
