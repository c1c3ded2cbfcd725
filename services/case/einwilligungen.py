"""Consent: recording and revoking a person's Einwilligung (rpcs), and the receivers' answers
to the erase requests a revocation or the Löschfrist sent (`confirm_erasure`, the worker's
`CaseDataErased`), each checked against the verified sender.
"""

from __future__ import annotations

from kimnetz.errors import UntrustedEvent
from kimnetz.runtime.event_trust import Sender
from kimnetz.validation import format_date
from services.case.application import WORK, CaseAccess
from services.case.domain import commands as c
from services.case.domain.case import Case
from services.case.domain.consent import Consent
from services.case.domain.policy import Action, Actor

#: The audit trail's call for a receiver's answer to a retention erasure (`CaseErased`).
RETENTION_CONFIRMED = "ConfirmRetentionErasure"


def consent_detail(consent: Consent) -> str:
    """A consent as the audit trail names it: id, recipient, purposes, categories, validity."""
    until = f" bis {format_date(consent.expires_on)}" if consent.expires_on else ""
    return (f"Einwilligung {consent.consent_id} für {consent.recipient_org}: "
            f"{', '.join(p.label for p in consent.purposes)}; "
            f"{', '.join(k.label for k in consent.categories)}; "
            f"unterschrieben {format_date(consent.signed_on)}{until}")


class Einwilligungen:
    """Consents of a case and the confirmations that what they released was erased."""

    def __init__(self, access: CaseAccess) -> None:
        self.access = access
        self.repository = access.repository
        self.clock = access.clock

    def record_consent(self, actor: Actor, command: c.RecordConsent, purpose: str = WORK) -> Case:
        # The audit detail names the consent (recipient, purposes, categories, validity; no
        # personal data), so the data protection officer follows consents in the trail.
        return self.access.change(actor, command.case_id, Action.MANAGE_CONSENT, "RecordConsent", purpose,
                                  lambda case, now: case.record_consent(command, actor, now),
                                  disclose=lambda case, now: consent_detail(case.consents[-1]))

    def revoke_consent(self, actor: Actor, command: c.RevokeConsent, purpose: str = WORK) -> Case:
        def detail(case: Case, now: object) -> str:
            consent = next(k for k in case.consents if k.consent_id == command.consent_id)
            return (f"Widerruf: {consent_detail(consent)}; Löschersuchen an {consent.recipient_org}")
        return self.access.change(actor, command.case_id, Action.MANAGE_CONSENT, "RevokeConsent", purpose,
                                  lambda case, now: case.revoke_consent(command, actor, now), disclose=detail)

    def confirm_erasure(self, report: c.ErasureReport, event_id: str, sender: Sender) -> Case | None:
        """A receiving node's answer to an erase request, recorded once per event id (None:
        already recorded, or the answer to a retention erasure). The audit entry names that
        node and its organisation as the actor: it reported, this node only writes it down.
        Only the verified `sender` can confirm: for itself, and for a revoked consent only if
        its organisation is the one the consent named (the holder that was asked to erase);
        or, for a revoked consent only, the node of the case's koordinierende Stelle for an
        organisation it hosts as a Fallkonferenz participant (the ABH has no node: its
        Integrationslotsin reads agenda briefs at the Kreis), if the consent named that
        organisation. Then `erased_by_node` is still the sender, `erased_by_org` the hosted one.
        The answer to a retention erasure (`CaseErased`, no consent id) goes to the audit
        trail only: the case it confirms may be gone."""
        command = report.command
        hosted = (command.consent_id != "" and sender.node_id == command.erased_by_node
                  and sender.organization != command.erased_by_org)
        if not hosted and (sender.node_id, sender.organization) != (
                command.erased_by_node, command.erased_by_org):
            raise UntrustedEvent(
                "sender-not-allowed", f"Löschbestätigung {event_id} nennt {command.erased_by_node} "
                f"({command.erased_by_org}), kommt aber vom Knoten {sender.node_id} "
                f"({sender.organization}).")
        if command.consent_id:
            held = self.repository.get(command.case_id)
            consent = next((k for k in held.consents if k.consent_id == command.consent_id), None)
            if hosted and (consent is None or held.coordination_org != sender.organization):
                raise UntrustedEvent(
                    "sender-not-allowed", f"Löschbestätigung {event_id} für {command.erased_by_org} "
                    f"kommt vom Knoten {sender.node_id} ({sender.organization}); für eine "
                    "teilnehmende Organisation bestätigt nur der Knoten der koordinierenden Stelle "
                    f"des Falls ({held.coordination_org or 'keine'}).")
            if consent is not None and consent.recipient_org != command.erased_by_org:
                raise UntrustedEvent(
                    "sender-not-allowed", f"Löschbestätigung {event_id}: die Einwilligung "
                    f"{command.consent_id} galt {consent.recipient_org}, nicht {command.erased_by_org}.")
        now = self.clock()
        actor = Actor.peer(command.erased_by_node, command.erased_by_org, "")
        if not command.consent_id:
            trail = self.repository.audit_entries(command.case_id, 0, 1000)
            if not any(e.call.startswith("Retention") for e in trail) or any(
                    e.call == RETENTION_CONFIRMED and e.actor_node == command.erased_by_node
                    for e in trail):
                return None  # no retention erased this case here, or this node confirmed it
            self.access.audit(actor, command.case_id, RETENTION_CONFIRMED, "Löschbestätigung", True,
                              now, detail=f"Löschung nach Löschfrist: {command.summary or 'gelöscht'}"[:500])
            return None
        if self.repository.applied(event_id):
            return None
        case = self.access.load(actor, command.case_id, "ConfirmErasure", "Löschbestätigung", now)
        case.confirm_erasure(command, actor, now)
        self.repository.save(case, cause=event_id)
        self.access.audit(actor, case.case_id, "ConfirmErasure", "Löschbestätigung", True, now,
                          detail=f"Einwilligung {command.consent_id}: {command.summary or 'gelöscht'}"[:500])
        return case
