"""The case service's application services wired to one repository: what the api process
(api.py) and the worker (worker.py) build, each with the mongoengine adapter, and what the unit
tests build with the in-memory fake (tests/support/fakes/case.py). The areas share one
`CaseAccess` (application.py): the repository, this node's organisation and the clock."""

from __future__ import annotations

from dataclasses import dataclass

from services.case.application import CaseAccess, Clock, utc_now
from services.case.datenschutz import Datenschutz
from services.case.domain.ports import CaseRepository
from services.case.domain.reminders import LeadTimes
from services.case.einwilligungen import Einwilligungen
from services.case.erinnerungen import Erinnerungen
from services.case.fallarbeit import Fallarbeit
from services.case.falldaten import Falldaten
from services.case.fallvorschlaege import Fallvorschlaege
from services.case.verbund import Verbund
from services.case.zielgruppen import Zielgruppen


@dataclass(frozen=True)
class CaseServices:
    fallvorschlaege: Fallvorschlaege
    fallarbeit: Fallarbeit
    einwilligungen: Einwilligungen
    falldaten: Falldaten
    verbund: Verbund
    zielgruppen: Zielgruppen
    datenschutz: Datenschutz
    erinnerungen: Erinnerungen

    @property
    def repository(self) -> CaseRepository:
        """The one repository every area works on (for tests and tools that read the store)."""
        return self.falldaten.repository


def case_services(repository: CaseRepository, *, node_org: str, clock: Clock = utc_now,
                  reminder_lead_times: LeadTimes | None = None) -> CaseServices:
    """`node_org`: the organisation operating this node (the policy's own organisation);
    `reminder_lead_times`: the settings' lead times of the reminders (defaults otherwise)."""
    access = CaseAccess(repository, node_org, clock)
    return CaseServices(
        fallvorschlaege=Fallvorschlaege(access),
        fallarbeit=Fallarbeit(access),
        einwilligungen=Einwilligungen(access),
        falldaten=Falldaten(access),
        verbund=Verbund(access),
        zielgruppen=Zielgruppen(access),
        datenschutz=Datenschutz(access),
        erinnerungen=Erinnerungen(access, reminder_lead_times),
    )
