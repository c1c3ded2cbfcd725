"""What the case service's application services share: the repository port, this node's
organisation, the clock, and the steps every use case takes on a case (load, authorise, audit).

The application services (one class per area, one module each; docs/case.md), wired to one
repository by composition.py:

- fallvorschlaege.py `Fallvorschlaege`: propose, submit for review, the Fallkonferenz's
  decisions (rpcs and the worker's `apply_decision`);
- fallarbeit.py `Fallarbeit`: assessment, plan, goals, steps, progress, reviews, barriers,
  journal, assignment, transfer, closing and reopening;
- einwilligungen.py `Einwilligungen`: record and revoke consent, erase confirmations;
- falldaten.py `Falldaten`: read the case, its person, a brief, the list; change the person;
- verbund.py `Verbund`: briefs for peer nodes, the monitoring figures;
- zielgruppen.py `Zielgruppen`: new Zielgruppen versions and the re-checks they trigger;
- datenschutz.py `Datenschutz`: the Löschfrist, reading and verifying the audit trail;
- erinnerungen.py `Erinnerungen`: reminders of dates in a case (worker timer, ListReminders).

Who enters: the gRPC servicers of the api process (services/case/api.py) and the worker's event
handlers (services/case/worker.py), each with an `Actor` (mapped from the token's Principal, the
calling peer node or the deciding conference). One public method per use case, named after its
rpc in snake_case (`SubmitForReview` -> `submit_for_review`), taking domain values and returning
domain objects. Framework-free: every area depends only on the `CaseRepository` port
(services/case/domain/ports.py) it is handed, so unit tests run it on the in-memory fake
(tests/support/fakes/case.py).

Every access to a case's data, allowed or refused, is written to the audit trail before the
answer leaves (who, organisation, roles, case, call, purpose). Every release of case data is
decided by the one consent gate of the domain policy (`decide`, `release_verdict`): the api's
reads and lists, the peer port's briefs, the Fallvorschlag's event. A refusal on another
organisation's case is audited with its reason and answered NotFound exactly like a case that
does not exist (`CaseAccess.guard`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from kimnetz.errors import FailedPrecondition, NotFound, PermissionDenied
from services.case.domain.audit import AuditDraft
from services.case.domain.case import Case
from services.case.domain.dates import local_date
from services.case.domain.events import Event
from services.case.domain.movements import admission_keys, admits, entries
from services.case.domain.person import Person
from services.case.domain.policy import CASE_NOT_FOUND, PEER_NO_ACCESS, Action, Actor, Verdict, decide
from services.case.domain.ports import CaseRepository
from services.case.domain.vocabulary import CaseStatus

Clock = Callable[[], datetime]

#: Purpose written to the audit trail when a caller states none.
WORK = "Fallbearbeitung"


def utc_now() -> datetime:
    return datetime.now(UTC)


class CaseAccess:
    """The steps the areas share, on one repository: what each area class is handed (by
    composition, not inheritance)."""

    def __init__(self, repository: CaseRepository, node_org: str, clock: Clock = utc_now) -> None:
        self.repository = repository
        self.node_org = node_org
        self.clock = clock

    def load(self, actor: Actor, case_id: str, call: str, purpose: str, now: datetime, *,
             by_pseudonym: bool = False) -> Case:
        try:
            if by_pseudonym:
                return self.repository.get_by_pseudonym(case_id)
            return self.repository.get(case_id)
        except NotFound:
            self.audit(actor, case_id, call, purpose, False, now, detail="unbekannter Fall")
            raise

    def change(self, actor: Actor, case_id: str, action: Action, call: str, purpose: str,
               change: Callable[[Case, datetime], object], *, cause: str = "",
               disclose: Callable[[Case, datetime], str] | None = None) -> Case:
        """One command on one case: load it, authorise `action`, apply `change` (the aggregate
        validates and records its events), `disclose` what leaves with the events (its audit
        detail), save as the next version (caused by event `cause`), audit the access."""
        now = self.clock()
        case = self.load(actor, case_id, call, purpose, now)
        self.guard(actor, action, case, call, purpose, now)
        before = case.status
        change(case, now)
        detail = disclose(case, now) if disclose is not None else ""
        happened = list(case.pending_events)
        self.repository.save(case, cause=cause)
        self.count(before, case, happened, now)
        self.audit(actor, case_id, call, purpose, True, now, detail=detail)
        return case

    def count(self, before: CaseStatus | None, case: Case, happened: Sequence[Event], now: datetime) -> None:
        """The figures ledger's entries of a stored write (movements.py): the status change and
        the movements its events record; for an Aufnahme the person's characteristics that day.
        Written after the case (without transactions there is no one write of both): a crash in
        between loses one count, never invents one."""
        day = local_date(now)
        admission = None
        if admits(happened):
            try:
                person: Person | None = self.repository.get_person(case.case_id)
            except (NotFound, FailedPrecondition):  # erased by retention meanwhile
                person = None
            admission = admission_keys(person, case.eligibility.primary, day, case.proposal.access_route)
        self.repository.record_ledger(entries(before, case.status, happened, day, admission))

    def guard(self, actor: Actor, action: Action, case: Case | None, call: str, purpose: str,
              now: datetime) -> Verdict:
        """The policy's verdict, or the refusal: audited with its reason for the data protection
        officer, answered NotFound like a missing case on a foreign case (the caller learns
        neither that it exists nor why), PermissionDenied inside the owning organisation."""
        verdict = decide(actor, action, case, node_org=self.node_org, on=local_date(now))
        if verdict.allowed:
            return verdict
        self.audit(actor, case.case_id if case else "", call, purpose, False, now, detail=verdict.reason)
        if verdict.foreign:
            raise NotFound(CASE_NOT_FOUND)
        raise PermissionDenied(PEER_NO_ACCESS if actor.is_peer else verdict.reason)

    def audit(self, actor: Actor, case_id: str, call: str, purpose: str, allowed: bool, now: datetime,
              detail: str = "") -> None:
        self.repository.append_audit(self.draft(actor, case_id, call, purpose, allowed, now, detail))

    @staticmethod
    def draft(actor: Actor, case_id: str, call: str, purpose: str, allowed: bool, now: datetime,
              detail: str = "") -> AuditDraft:
        # A peer has no personal roles here: its federation role stands in the trail instead.
        roles = tuple(sorted(actor.roles)) or ((actor.node_role,) if actor.node_role else ())
        return AuditDraft(
            occurred_at=now, actor_subject=actor.subject, actor_org=actor.organization,
            actor_roles=roles, case_id=case_id, call=call,
            purpose=purpose[:200], allowed=allowed, detail=detail[:500], actor_node=actor.node)
