"""Reminders (Erinnerungen, domain/reminders.py): the worker's timer that reminds case managers
of dates in their cases (`send_reminders`, one `CaseReminderDue` per occasion), and the
„Was ist fällig“ view (`list_reminders`, the rpc ListReminders).

Both stay on the owning node: they read the person (birth date, residence status), so only the
organisation that owns the case, through its case managers and coordinators, sees them.
"""

from __future__ import annotations

from collections.abc import Iterator

from kimnetz.errors import FailedPrecondition
from services.case.application import CaseAccess
from services.case.domain.case import Case
from services.case.domain.dates import local_date
from services.case.domain.lifecycle import OPEN_STATES
from services.case.domain.person import Person
from services.case.domain.policy import Action, Actor, decide
from services.case.domain.ports import MAX_PAGE_SIZE, CaseFilter
from services.case.domain.reminders import LeadTimes, Reminder, reminders_of, unsent
from services.case.domain.vocabulary import Role

#: Who the audit trail names for the reminders the worker sends.
REMINDER_ACTOR = Actor("kim-erinnerungen", "", frozenset({Role.CASE_MANAGER.value}))
PURPOSE = "Erinnerung an Fristen"


class Erinnerungen:
    """Reminders (rpc names in snake_case; the worker's `send_reminders`)."""

    def __init__(self, access: CaseAccess, lead_times: LeadTimes | None = None) -> None:
        self.access = access
        self.repository = access.repository
        self.clock = access.clock
        self.lead_times = lead_times or LeadTimes()

    def list_reminders(self, actor: Actor, *, case_manager: str = "", horizon_days: int = 0,
                       purpose: str = "Was ist fällig") -> list[Reminder]:
        """The open reminders of the open cases of the caller's organisation (of one case
        manager if given), oldest date first. Only cases whose person the caller may read
        (case managers and coordinators of the owner); for anyone else the list is empty."""
        now = self.clock()
        today = local_date(now)
        found: list[Reminder] = []
        if actor.organization == self.access.node_org and not actor.is_peer:
            for case, person in self._open_cases(actor.organization, case_manager):
                if person is not None and decide(actor, Action.READ_PERSON, case,
                                                 node_org=self.access.node_org, on=today).allowed:
                    found.extend(reminders_of(case, person, today, self.lead_times,
                                              horizon_days=horizon_days))
        found.sort(key=lambda r: (r.due_on, r.pseudonym, r.kind.value))
        self.access.audit(actor, "", "ListReminders", purpose, True, now,
                          detail=f"{len(found)} Erinnerungen")
        return found

    def send_reminders(self) -> list[str]:
        """The worker's timer: every occasion whose window is open today and that was not
        reminded of yet is recorded on its case with the event `CaseReminderDue`, one versioned
        write per case. A case changed meanwhile is left to the next run, so each occasion is
        sent once however many workers run. Returns "<case id>:<kind>" of what was sent."""
        sent: list[str] = []
        for listed, person in self._open_cases(self.access.node_org):
            if not unsent(listed, person, local_date(self.clock()), self.lead_times):
                continue
            now = self.clock()
            case = self.repository.get(listed.case_id)  # the newest version, as the save needs
            occasions = unsent(case, person, local_date(now), self.lead_times)
            for occasion in occasions:
                case.remind(occasion, now)
            try:
                self.repository.save(case)
            except FailedPrecondition:
                continue  # written meanwhile: the next run sees the new version
            kinds = ", ".join(o.kind.value for o in occasions)
            self.access.audit(REMINDER_ACTOR, case.case_id, "SendReminders", PURPOSE, True, now,
                              detail=f"Erinnerung: {kinds}")
            sent.extend(f"{case.case_id}:{o.kind.value}" for o in occasions)
        return sent

    def _open_cases(self, organization: str, case_manager: str = "") -> Iterator[tuple[Case, Person | None]]:
        """The open cases `organization` owns (the list also holds cases sent to it)."""
        query = CaseFilter(organization, tuple(sorted(OPEN_STATES)), case_manager=case_manager)
        token = ""
        while True:
            page = self.repository.list_cases(query, MAX_PAGE_SIZE, token)
            for case, person in page.items:
                if case.owner_org == organization:
                    yield case, person
            token = page.next_page_token
            if not token:
                return
