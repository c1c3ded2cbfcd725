"""Data protection: the Löschfrist (the worker's retention timer deletes or anonymises closed
cases and asks every receiver to erase), and the data protection officer's reading and
verifying of the hash-chained audit trail.
"""

from __future__ import annotations

from datetime import timedelta

from kimnetz.errors import FailedPrecondition
from kimnetz.validation import format_date
from services.case.application import CaseAccess
from services.case.domain.audit import AuditEntry, ChainVerification, verify_chain
from services.case.domain.dates import local_date
from services.case.domain.policy import Action, Actor, can
from services.case.domain.retention import erased, recipients, retention_due
from services.case.domain.vocabulary import Role
from services.case.settings import RetentionMode

#: Who the audit trail names for deletions by the retention timer.
RETENTION_ACTOR = Actor("kim-retention", "", frozenset({Role.DATA_PROTECTION_OFFICER.value}))


class Datenschutz:
    """Retention and the audit trail (rpc names in snake_case)."""

    def __init__(self, access: CaseAccess) -> None:
        self.access = access
        self.repository = access.repository
        self.clock = access.clock

    def apply_retention(self, period: timedelta, mode: RetentionMode) -> list[str]:
        """Deletes or anonymises every closed case whose Löschfrist has passed (nothing of the
        person stays: `retention.anonymised`), and asks every organisation that received data
        of it to erase them (`CaseErased`); each one is written to the audit trail. The only
        place that hard-deletes a case. A case changed meanwhile is left to the next run."""
        now = self.clock()
        done = []
        self.repository.forget_erased()
        for case_id in self.repository.closed_before(now - period):
            case = self.repository.get(case_id)
            if not retention_due(case, now, period):
                continue
            closed_on = format_date(local_date(case.closures[-1].closed_at))
            erasure = erased(case, now, mode.value)
            try:
                if mode is RetentionMode.DELETE:
                    self.repository.delete(erasure)
                else:
                    self.repository.erase_person(erasure)
            except FailedPrecondition:
                continue
            told = ", ".join(recipients(case)) or "keine"
            self.access.audit(RETENTION_ACTOR, case_id, f"Retention{mode.value.capitalize()}",
                              "Löschfrist abgelaufen", True, now,
                              detail=f"Fall {case.pseudonym}, abgeschlossen am {closed_on}; "
                              f"Löschersuchen an: {told}")
            done.append(case_id)
        return done

    def list_audit_entries(self, actor: Actor, case_id: str = "", after_sequence: int = 0,
                      limit: int = 100) -> list[AuditEntry]:
        """The data protection officer reads the whole trail or one case's entries (also of a
        case already deleted). Who works a case reads that case's own entries ("Wer hat diesen
        Fall eingesehen"): the case must exist and be the actor's organisation's; a foreign or
        missing case answers NotFound alike."""
        now = self.clock()
        if case_id and not can(actor, Action.READ_AUDIT, node_org=self.access.node_org):
            purpose = "Wer hat diesen Fall eingesehen"
            case = self.access.load(actor, case_id, "ListAuditEntries", purpose, now)
            self.access.guard(actor, Action.READ_CASE_AUDIT, case, "ListAuditEntries", purpose, now)
            self.access.audit(actor, case_id, "ListAuditEntries", purpose, True, now)
            return self.repository.audit_entries(case_id, after_sequence, limit)
        self.access.guard(actor, Action.READ_AUDIT, None, "ListAuditEntries", "Datenschutzkontrolle", now)
        self.access.audit(actor, case_id, "ListAuditEntries", "Datenschutzkontrolle", True, now)
        return self.repository.audit_entries(case_id, after_sequence, limit)

    def verify_audit_chain(self, actor: Actor, page: int = 500) -> ChainVerification:
        now = self.clock()
        self.access.guard(actor, Action.READ_AUDIT, None, "VerifyAuditChain", "Datenschutzkontrolle", now)
        checked, last = 0, None
        while True:
            entries = self.repository.audit_entries("", last.sequence if last else 0, page)
            if not entries:
                return ChainVerification(True, checked)
            result = verify_chain(entries, after=last)
            if not result.intact:
                return ChainVerification(False, checked + result.checked, result.first_broken_sequence,
                                         result.reason)
            checked, last = checked + result.checked, entries[-1]
