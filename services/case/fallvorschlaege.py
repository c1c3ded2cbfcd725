"""Fallvorschläge and the Fallkonferenz's decisions on them: a case manager proposes a case on
this node and submits it to its koordinierende Stelle (with the pseudonymised brief, if the
consent releases it), which admits, refers, rejects or defers it, over the api or as the
conference's event the worker applies once per event id (`apply_decision`).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from kimnetz.errors import FailedPrecondition, KimError, UntrustedEvent
from kimnetz.runtime.event_trust import Sender
from services.case.application import WORK, CaseAccess
from services.case.domain import commands as c, events as e
from services.case.domain.brief import build_brief
from services.case.domain.case import Case
from services.case.domain.dates import local_date
from services.case.domain.policy import Action, Actor, release_verdict
from services.case.domain.ports import PseudonymTaken
from services.case.domain.vocabulary import Role

PSEUDONYM_ATTEMPTS = 5


class Fallvorschlaege:
    """Proposal, submission and the decision of the Fallkonferenz (rpc names in snake_case).
    Each command on an existing case is the five steps of `CaseAccess.change`; `cause` is the
    id of the consumed event a worker applies (else "")."""

    def __init__(self, access: CaseAccess) -> None:
        self.access = access
        self.repository = access.repository
        self.clock = access.clock

    def propose_case(self, actor: Actor, command: c.ProposeCase, purpose: str = "Fallvorschlag") -> Case:
        """Cases are created on the proposing actor's own node, owned by its organisation."""
        now = self.clock()
        self.access.guard(actor, Action.PROPOSE, None, "ProposeCase", purpose, now)
        catalogue = self.repository.current_catalogue()
        for _ in range(PSEUDONYM_ATTEMPTS):
            case, person = Case.propose(command, actor, now, catalogue)
            happened = list(case.pending_events)
            try:
                self.repository.add(case, person)
            except PseudonymTaken:
                continue  # draw again
            self.access.count(None, case, happened, now)
            self.access.audit(actor, case.case_id, "ProposeCase", purpose, True, now)
            return case
        raise KimError("Es konnte kein eindeutiges Pseudonym vergeben werden; bitte erneut versuchen.")

    def submit_for_review(self, actor: Actor, command: c.SubmitForReview, purpose: str = WORK) -> Case:
        return self.access.change(actor, command.case_id, Action.SUBMIT_FOR_REVIEW, "SubmitForReview",
                                  purpose, lambda case, now: case.submit_for_review(command, actor, now),
                                  disclose=self._with_brief)

    def admit_case(self, actor: Actor, command: c.AdmitCase, purpose: str = WORK, *,
                   cause: str = "") -> Case:
        return self.access.change(actor, command.case_id, Action.DECIDE, "AdmitCase", purpose,
                                  lambda case, now: case.admit(command, actor, now), cause=cause)

    def refer_case(self, actor: Actor, command: c.ReferCase, purpose: str = WORK, *,
                   cause: str = "") -> Case:
        return self.access.change(actor, command.case_id, Action.DECIDE, "ReferCase", purpose,
                                  lambda case, now: case.refer(command, actor, now), cause=cause)

    def reject_case(self, actor: Actor, command: c.RejectCase, purpose: str = WORK, *,
                    cause: str = "") -> Case:
        return self.access.change(actor, command.case_id, Action.DECIDE, "RejectCase", purpose,
                                  lambda case, now: case.reject(command, actor, now), cause=cause)

    def defer_case(self, actor: Actor, command: c.DeferCase, purpose: str = WORK, *,
                   cause: str = "") -> Case:
        return self.access.change(actor, command.case_id, Action.DECIDE, "DeferCase", purpose,
                                  lambda case, now: case.defer(command, actor, now), cause=cause)

    def apply_decision(self, decision: c.Decision, event_id: str, sender: Sender) -> Case | None:
        """A Fallkonferenz decision, applied once per event id (None: already applied). The
        conference is run by the case's koordinierende Stelle, so it decides as its
        coordinator; the policy and the audit trail treat it like a decision made over the api.
        Only a node of the organisation the case was submitted to (its coordination org) may
        decide about it: `sender` is the verified node (kimnetz/runtime/event_trust.py), whatever
        the event itself claims."""
        command = decision.command
        case_id = command.case_id
        case = self.repository.get(case_id)
        if sender.organization != case.coordination_org:
            raise UntrustedEvent(
                "sender-not-allowed", f"Beschluss {event_id} zum Fall {case_id} kommt vom Knoten "
                f"{sender.node_id} ({sender.organization}); über den Fall entscheidet nur "
                f"{case.coordination_org}.")
        if self.repository.applied(event_id):
            return None
        actor = Actor(decision.decided_by or "fallkonferenz", case.coordination_org,
                      frozenset({Role.COORDINATOR.value}))
        purpose = "Beschluss der Fallkonferenz"
        if isinstance(command, c.AdmitCase):
            return self.admit_case(actor, command, purpose, cause=event_id)
        if isinstance(command, c.ReferCase):
            return self.refer_case(actor, command, purpose, cause=event_id)
        if isinstance(command, c.DeferCase):
            return self.defer_case(actor, command, purpose, cause=event_id)
        return self.reject_case(actor, command, purpose, cause=event_id)

    def _with_brief(self, case: Case, now: datetime) -> str:
        """The Fallvorschlag's event gets the pseudonymised brief (built from the person, which
        the aggregate does not hold) if the policy releases it to the koordinierende Stelle
        (`submit_for_review` already refused a submission without that consent; checked again
        here because this is where the data leaves). Returns the audit detail of the disclosure."""
        today = local_date(now)
        verdict = release_verdict(case.coordination_org, case, today)
        if not verdict.allowed:
            raise FailedPrecondition(
                "Für die Beratung in der Fallkonferenz fehlt eine gültige Einwilligung. " + verdict.reason)
        brief = build_brief(case, self.repository.get_person(case.case_id), today)
        case.pending_events = [replace(event, brief=brief) if isinstance(event, e.CaseSubmittedForReview)
                               else event for event in case.pending_events]
        if case.coordination_org == case.owner_org:
            return ""
        return (f"Kurzinformation an {case.coordination_org} übermittelt "
                f"(Einwilligung {', '.join(verdict.consent_ids)})")
