"""Zielgruppen versions of the Lenkungsgruppe (the worker's `ZielgruppenDefined`): stored once
per version, then every proposal not yet decided is re-checked against the current one.
"""

from __future__ import annotations

from kimnetz.errors import FailedPrecondition, UntrustedEvent
from kimnetz.runtime.event_trust import Sender
from services.case.application import CaseAccess
from services.case.domain.case import Case
from services.case.domain.dates import local_date
from services.case.domain.person import PersonData
from services.case.domain.policy import Action, Actor
from services.case.domain.vocabulary import CaseStatus
from services.case.domain.zielgruppen import (
    EligibilityResult,
    ZielgruppenCatalogue,
    check_entered_person,
    validate_catalogue,
)

RECHECK_ATTEMPTS = 3
UNDECIDED = frozenset({CaseStatus.PROPOSED, CaseStatus.IN_REVIEW, CaseStatus.DEFERRED})
#: Who the audit trail names for re-checks on a new Zielgruppen version (the worker).
ZIELGRUPPEN_ACTOR = Actor("kim-zielgruppen", "", frozenset())


class Zielgruppen:
    """The catalogue of Zielgruppen and the eligibility re-checks it triggers."""

    def __init__(self, access: CaseAccess) -> None:
        self.access = access
        self.repository = access.repository
        self.clock = access.clock

    def check_eligibility(self, actor: Actor, person: PersonData) -> EligibilityResult:
        """The live check of a Fallvorschlag being entered, against the current version; nothing
        is stored. Not audited when allowed: no case is read or written and nothing is kept,
        and the portal asks at every change of a field (a refusal is audited by `guard`)."""
        now = self.clock()
        self.access.guard(actor, Action.PROPOSE, None, "CheckEligibility", "Zielgruppenprüfung", now)
        return check_entered_person(person, self.repository.current_catalogue(), local_date(now))

    def store_catalogue(self, catalogue: ZielgruppenCatalogue, sender: Sender,
                        coordination_org: str = "") -> bool:
        """A new Zielgruppen version of the Lenkungsgruppe; a version already stored is kept.
        Then the undecided proposals are checked against the current version (also when this
        one was known: a redelivery after a crash between storing and re-checking finishes
        the re-check; cases already checked against it are not touched again). Only the
        koordinierende Stelle defines Zielgruppen: the verified `sender` must be a node of the
        Kreis (role "district") of the organisation the event names."""
        if not sender.coordinates or coordination_org not in ("", sender.organization):
            raise UntrustedEvent(
                "sender-not-allowed", f"Zielgruppen-Version {catalogue.version} kommt vom Knoten "
                f"{sender.node_id} ({sender.organization}, Rolle {sender.role or '?'}); "
                "Zielgruppen legt nur die koordinierende Stelle des Kreises fest.")
        validate_catalogue(catalogue)
        stored = self.repository.store_catalogue(catalogue)
        self.recheck_undecided()
        return stored

    def recheck_undecided(self) -> list[str]:
        """Checks every proposal the conference has not decided yet against the current
        Zielgruppen version; each re-check is in the case's history (event) and in the
        audit trail (it reads the person's data). Returns the re-checked case ids."""
        catalogue = self.repository.current_catalogue()
        purpose = f"Neue Zielgruppen-Version {catalogue.version}"
        done = []
        for case_id in self.repository.undecided_checked_before(catalogue.version):
            for _ in range(RECHECK_ATTEMPTS):
                now = self.clock()
                case = self.repository.get(case_id)
                if case.eligibility.catalogue_version >= catalogue.version or case.status not in UNDECIDED:
                    break  # a concurrent writer got there first
                case.recheck_eligibility(self.repository.get_person(case_id), catalogue, now)
                try:
                    self.repository.save(case)
                except FailedPrecondition:
                    continue  # changed meanwhile: load again and check the new version
                self.access.audit(ZIELGRUPPEN_ACTOR, case_id, "RecheckEligibility", purpose, True, now,
                                  detail=_matched(case))
                done.append(case_id)
                break
        return done


def _matched(case: Case) -> str:
    """The re-check's result for the audit trail: Zielgruppen keys only, since the reasons of
    a mismatch name the person's age and status."""
    matched = case.eligibility.matched
    return "Zielgruppen: " + ", ".join(matched) if matched else "Keine Zielgruppe trifft zu."
