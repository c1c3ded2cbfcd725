"""Reading a case: the whole case, its person, a brief, the list of briefs, each decided by
the policy's consent gate and audited; and changing the person's data (`update_person`, with
the eligibility re-check it brings).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from services.case.application import WORK, CaseAccess
from services.case.domain import commands as c
from services.case.domain.brief import CaseBrief, build_brief
from services.case.domain.case import Case
from services.case.domain.dates import local_date
from services.case.domain.person import Person
from services.case.domain.policy import Action, Actor, decide, may_read_case
from services.case.domain.ports import CaseFilter
from services.case.domain.vocabulary import CaseStatus


@dataclass(frozen=True)
class BriefPage:
    briefs: list[tuple[str, CaseBrief]]
    next_page_token: str


class Falldaten:
    """What a case's readers ask (rpc names in snake_case), and the person's data."""

    def __init__(self, access: CaseAccess) -> None:
        self.access = access
        self.repository = access.repository
        self.clock = access.clock

    def readable(self, actor: Actor, case: Case) -> bool:
        """Whether the answer to `actor`'s command may carry the whole case: a foreign
        koordinierende Stelle decides without being released the case (api: a receipt)."""
        return may_read_case(actor, case, local_date(self.clock()))

    def get_case(self, actor: Actor, case_id: str, purpose: str) -> Case:
        now = self.clock()
        case = self.access.load(actor, case_id, "GetCase", purpose, now)
        self.access.guard(actor, Action.READ_CASE, case, "GetCase", purpose, now)
        self.access.audit(actor, case_id, "GetCase", purpose, True, now)
        return case

    def get_person(self, actor: Actor, case_id: str, purpose: str) -> Person:
        now = self.clock()
        case = self.access.load(actor, case_id, "GetPerson", purpose, now)
        self.access.guard(actor, Action.READ_PERSON, case, "GetPerson", purpose, now)
        person = self.repository.get_person(case_id)
        self.access.audit(actor, case_id, "GetPerson", purpose, True, now)
        return person

    def update_person(self, actor: Actor, case_id: str,
                      command: c.UpdatePerson | Callable[[], c.UpdatePerson],
                      purpose: str = WORK) -> tuple[Case, Person]:
        """New person data (e.g. a changed Aufenthaltsstatus) and the eligibility re-check
        against the current Zielgruppen, written together with the case in one versioned write;
        the audit entry names the changed parts, not their values. `command` may be a function
        that reads the request: it is called only once the actor may change this person, so a
        caller without access is refused (audited), never given a verdict on their input."""
        now = self.clock()
        case = self.access.load(actor, case_id, "UpdatePerson", purpose, now)
        self.access.guard(actor, Action.EDIT_PERSON, case, "UpdatePerson", purpose, now)
        if not isinstance(command, c.UpdatePerson):
            command = command()
        current = self.repository.get_person(case_id)
        person, changed = case.update_person(command, current, actor, now,
                                             self.repository.current_catalogue())
        self.repository.save(case, person)
        self.access.audit(actor, case.case_id, "UpdatePerson", purpose, True, now,
                          detail=("Geändert: " + ", ".join(changed)) if changed else "Keine Änderung")
        return case, person

    def get_case_brief(self, actor: Actor, case_id: str, purpose: str,
                   pseudonym: str = "") -> tuple[str, CaseBrief]:
        """(case id, brief) by case id or, where a conference knows only the pseudonym, by that."""
        now = self.clock()
        case = self.access.load(actor, case_id or pseudonym, "GetCaseBrief", purpose, now,
                                by_pseudonym=not case_id)
        case_id = case.case_id
        self.access.guard(actor, Action.READ_BRIEF, case, "GetCaseBrief", purpose, now)
        brief = build_brief(case, self.repository.get_person(case_id), local_date(now))
        self.access.audit(actor, case_id, "GetCaseBrief", purpose, True, now)
        return case_id, brief

    def fold_read_models(self) -> int:
        """The worker's timer: the pending writes into the lists and figures, so that a read
        rarely folds them itself (services/case/read_models.py); how many."""
        return self.repository.fold_read_models()

    def list_cases(self, actor: Actor, *, statuses: tuple[CaseStatus, ...] = (), zielgruppe: str = "",
                   case_manager: str = "", review_due_by: date | None = None, page_size: int = 0,
                   page_token: str = "", purpose: str = "Fallübersicht") -> BriefPage:
        """Briefs of the cases the actor's organisation owns or shares, never personal data."""
        now = self.clock()
        query = CaseFilter(actor.organization, statuses, zielgruppe, case_manager, review_due_by)
        page = self.repository.list_cases(query, page_size, page_token)
        briefs = []
        for case, person in page.items:
            # The repository's query is only a preselection (owned or sent to the organisation);
            # the policy decides each case, with the consents as they stand now.
            if not decide(actor, Action.LIST, case, on=local_date(now)).allowed:
                continue
            if person is not None:
                briefs.append((case.case_id, build_brief(case, person, local_date(now))))
        self.access.audit(actor, "", "ListCases", purpose, True, now,
                          detail=f"{len(briefs)} Kurzinformationen")
        return BriefPage(briefs, page.next_page_token)
