"""Who may do what on a case: the authorisation rules as domain policy, and the one consent
gate every release of case data passes.

Decided by the actor's organisation and roles, the case's owner, where the case was sent, and
the consents recorded on the case at the moment of the call:

- The owning organisation works the case. Case managers do the case work; coordinators
  (Fachaufsicht) can do all of that and also decide, assign and reopen; the Integrationslotsin
  may propose and prepare a case; the data protection officer reads the audit trail and erases.
  Who works a case may also read that case's own audit entries ("Wer hat diesen Fall
  eingesehen", READ_CASE_AUDIT): only inside the owning organisation, never on a foreign case.
- A foreign organisation receives case data only where the person's consent covers it: a
  consent naming that organisation as recipient, for the purpose "Fallkonferenz", covering the
  data category of the read (Falldokumentation for the brief and the case, Stammdaten for the
  person), valid on the day of the call (signed, not expired, not revoked). Having been sent the
  case (the koordinierende Stelle it was proposed to, a conference organisation named at
  SubmitForReview: `Case.sent_to`) is a precondition, never enough: that list is where the case
  went, not who may read it, and it does not shrink on revocation; the consent does. So a
  revocation ends every foreign read at the next call, on every path (api, peer port, events).
  Coordinators and Integrationslots*innen there may list and read the brief; coordinators may
  also read the case and the person as far as the consent reaches.
- Decisions of the Fallkonferenz (DECIDE) and quarterly reviews (RECORD_REVIEW) by a foreign
  organisation are taken by a coordinator of the koordinierende Stelle the case was submitted
  to (the case left "vorgeschlagen"). A decision releases no case data (the answer to a foreign
  decider carries only the case's id, pseudonym and status, `may_read_case`), so it needs no
  consent of its own: the discussion it rests on needed one, and a revocation takes undecided
  cases off the conference's agenda (docs/case.md, "Consent is the gate").
- Steering members, clerks and node administrators never see single cases; coordinators,
  steering members and clerks of the node's organisation read the monitoring figures
  (aggregates, small numbers suppressed).
- A peer node of the federation (an `Actor` with `node`, asking on behalf of one of its users)
  acts by its node role, not by personal roles: a Kreis node (role "district") reads the
  pseudonymised brief of a case sent to its organisation while a valid consent covers the
  Fallkonferenz there (the same gate as above), and this node's monitoring figures; nothing
  else, whatever the user's roles at home may be.

Every refusal on a foreign case answers exactly like a case that does not exist (NotFound,
`CASE_NOT_FOUND`), so an answer never hints at a case's existence or state; the reason goes
to the owning node's audit trail only (`decide(...).reason`). Role refusals inside the owning
organisation stay PermissionDenied: that caller may know the case exists.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import TYPE_CHECKING

from kimnetz.errors import NotFound, PermissionDenied
from services.case.domain.vocabulary import ConsentPurpose, DataCategory, Role

if TYPE_CHECKING:
    from services.case.domain.case import Case

#: What a caller hears of a case that does not exist, and of a foreign case it may not touch.
CASE_NOT_FOUND = "Fall nicht gefunden."
NO_ACCESS = CASE_NOT_FOUND
#: What a peer node hears when its node role does not allow a node-wide call.
PEER_NO_ACCESS = "Kein Zugriff."


@dataclass(frozen=True)
class Actor:
    """Who acts, as the domain needs it (mapped from the runtime's Principal, or from the peer
    node of a federation call: then `node` and `node_role` name that node, `subject` the person
    on whose behalf it asks and `organization` the node's organisation)."""

    subject: str
    organization: str
    roles: frozenset[str] = field(default_factory=frozenset)
    node: str = ""
    node_role: str = ""

    @classmethod
    def peer(cls, node: str, organization: str, node_role: str, acting_user: str = "") -> Actor:
        """Node `node` of `organization` (federation role `node_role`) on behalf of
        `acting_user`. Personal roles never travel between nodes, so a peer has none here."""
        return cls(acting_user or f"Knoten {node}", organization, frozenset(), node, node_role)

    @property
    def is_peer(self) -> bool:
        return bool(self.node)

    def has(self, role: Role) -> bool:
        return role.value in self.roles


class Action(StrEnum):
    PROPOSE = "propose"
    LIST = "list"
    READ_BRIEF = "read_brief"
    READ_CASE = "read_case"
    READ_PERSON = "read_person"
    EDIT_PERSON = "edit_person"
    MANAGE_CONSENT = "manage_consent"
    SUBMIT_FOR_REVIEW = "submit_for_review"
    DECIDE = "decide"
    CASE_WORK = "case_work"
    RECORD_REVIEW = "record_review"
    ASSIGN = "assign"
    TRANSFER = "transfer"
    CLOSE = "close"
    REOPEN = "reopen"
    READ_AUDIT = "read_audit"
    READ_CASE_AUDIT = "read_case_audit"
    READ_FIGURES = "read_figures"
    ERASE = "erase"

    @property
    def label(self) -> str:
        return _ACTION_LABELS[self]


#: What each action is, as the zu-infinitive a refusal needs ("Ihre Rolle erlaubt nicht, …").
_ACTION_LABELS = {
    Action.PROPOSE: "einen Fall vorzuschlagen",
    Action.LIST: "Fälle aufzulisten",
    Action.READ_BRIEF: "die Kurzinformation zu lesen",
    Action.READ_CASE: "den Fall zu lesen",
    Action.READ_PERSON: "die Personendaten zu lesen",
    Action.EDIT_PERSON: "die Personendaten zu ändern",
    Action.MANAGE_CONSENT: "Einwilligungen zu erfassen oder zu widerrufen",
    Action.SUBMIT_FOR_REVIEW: "den Fall zur Fallkonferenz anzumelden",
    Action.DECIDE: "Entscheidungen der Fallkonferenz zu erfassen",
    Action.CASE_WORK: "am Fall zu arbeiten (Bedarfe, Integrationsplan, Barrieren, Journal)",
    Action.RECORD_REVIEW: "eine Fallbesprechung zu erfassen",
    Action.ASSIGN: "den Fall zuzuweisen",
    Action.TRANSFER: "den Fall zu übergeben",
    Action.CLOSE: "den Fall abzuschließen",
    Action.REOPEN: "den Fall wieder aufzunehmen",
    Action.READ_AUDIT: "das Protokoll zu lesen",
    Action.READ_CASE_AUDIT: "zu lesen, wer diesen Fall eingesehen hat",
    Action.READ_FIGURES: "die Monitoring-Kennzahlen abzurufen",
    Action.ERASE: "Fälle zu löschen",
}

A = Action
_CASE_WORKER = frozenset({
    A.PROPOSE, A.LIST, A.READ_BRIEF, A.READ_CASE, A.READ_PERSON, A.EDIT_PERSON, A.MANAGE_CONSENT,
    A.SUBMIT_FOR_REVIEW, A.CASE_WORK, A.TRANSFER, A.CLOSE, A.READ_CASE_AUDIT,
})

#: What each role may do on a case of its own organisation.
OWN_ORG: dict[Role, frozenset[Action]] = {
    Role.CASE_MANAGER: _CASE_WORKER,
    Role.COORDINATOR: _CASE_WORKER | {A.DECIDE, A.RECORD_REVIEW, A.ASSIGN, A.REOPEN, A.READ_FIGURES},
    Role.IMMIGRATION_LIAISON: frozenset({
        A.PROPOSE, A.LIST, A.READ_BRIEF, A.READ_CASE, A.READ_PERSON, A.MANAGE_CONSENT,
        A.SUBMIT_FOR_REVIEW,
    }),
    Role.DATA_PROTECTION_OFFICER: frozenset({A.READ_AUDIT, A.ERASE}),
    # Aggregates only, small numbers suppressed (domain/monitoring.py).
    Role.STEERING_MEMBER: frozenset({A.READ_FIGURES}),
    Role.CLERK: frozenset({A.READ_FIGURES}),
    Role.NODE_ADMIN: frozenset(),
}

#: What each role may do on a foreign organisation's case that was sent to the actor's
#: organisation, and which data categories the person's consent (purpose "Fallkonferenz") must
#: cover for it on the day; an empty tuple: no release of case data, no consent needed
#: (decisions, reviews: `_foreign_verdict` adds that only the koordinierende Stelle decides).
FOREIGN: dict[Role, dict[Action, tuple[DataCategory, ...]]] = {
    Role.COORDINATOR: {
        A.LIST: (DataCategory.FALLDOKUMENTATION,),
        A.READ_BRIEF: (DataCategory.FALLDOKUMENTATION,),
        A.READ_CASE: (DataCategory.FALLDOKUMENTATION,),
        A.READ_PERSON: (DataCategory.STAMMDATEN,),
        A.DECIDE: (),
        A.RECORD_REVIEW: (),
    },
    Role.IMMIGRATION_LIAISON: {
        A.LIST: (DataCategory.FALLDOKUMENTATION,),
        A.READ_BRIEF: (DataCategory.FALLDOKUMENTATION,),
    },
}
#: The actions a decision of the koordinierende Stelle consists of.
DECISIONS = frozenset({A.DECIDE, A.RECORD_REVIEW})
#: What the brief discloses, so what a consent must cover before it leaves the owner.
BRIEF_CATEGORIES: tuple[DataCategory, ...] = (DataCategory.FALLDOKUMENTATION,)

#: What a peer node may do on one case, by its federation role: a brief only of a case sent to
#: the node's organisation and while a consent covers the Fallkonferenz there (`decide`).
PEER_CASE_ACTIONS: dict[str, frozenset[Action]] = {"district": frozenset({A.READ_BRIEF})}
#: What a peer node may do on this node as a whole: the aggregates, small numbers suppressed.
PEER_NODE_ACTIONS: dict[str, frozenset[Action]] = {"district": frozenset({A.READ_FIGURES})}


@dataclass(frozen=True)
class Verdict:
    """The policy's answer. `reason` is German and for the owning node's audit trail; a
    `foreign` refusal is answered to the caller as CASE_NOT_FOUND, never with the reason.
    `consent_ids` name the consents a release to a foreign organisation rests on."""

    allowed: bool
    reason: str = ""
    foreign: bool = False
    consent_ids: tuple[str, ...] = ()


ALLOWED = Verdict(True)


def allowed_actions(actor: Actor, owner_org: str) -> frozenset[Action]:
    """Node-level actions (propose, list, audit) for the actor's own organisation."""
    if actor.organization != owner_org:
        return frozenset()
    return frozenset().union(*(OWN_ORG.get(Role(r), frozenset()) for r in _known_roles(actor)))


def decide(actor: Actor, action: Action, case: Case | None = None, *, node_org: str = "",
           on: date | None = None) -> Verdict:
    """Whether `actor` may do `action` (on `case`, if one is given; otherwise on the node owned
    by `node_org`), and why not. `on` is the day a consent must hold: without it no foreign
    organisation receives anything."""
    if actor.is_peer:
        return _peer_verdict(actor, action, case, on)
    roles = [Role(r) for r in _known_roles(actor)]
    if case is None:
        if actor.organization == node_org and any(action in OWN_ORG[r] for r in roles):
            return ALLOWED
        return Verdict(False, f"Ihre Rolle erlaubt nicht, {action.label}.")
    if actor.organization == case.owner_org:
        if any(action in OWN_ORG[r] for r in roles):
            return ALLOWED
        return Verdict(False, f"Ihre Rolle erlaubt nicht, {action.label}.")
    return _foreign_verdict(actor.organization, roles, action, case, on)


def authorize(actor: Actor, action: Action, case: Case | None = None, *, node_org: str = "",
              on: date | None = None) -> None:
    """Raises unless `actor` may do `action`: NotFound (CASE_NOT_FOUND, as for a missing case)
    on a foreign case, PermissionDenied otherwise."""
    verdict = decide(actor, action, case, node_org=node_org, on=on)
    if verdict.allowed:
        return
    if verdict.foreign:
        raise NotFound(CASE_NOT_FOUND)
    raise PermissionDenied(PEER_NO_ACCESS if actor.is_peer else verdict.reason)


def release_verdict(recipient_org: str, case: Case, on: date) -> Verdict:
    """Whether the brief of `case` may leave for `recipient_org` on `on`, for its Fallkonferenz
    (the Fallvorschlag's event, a peer node's GetCaseBriefs): the owner always, any other
    organisation only if the case was sent to it and a consent covers it on that day."""
    if recipient_org == case.owner_org:
        return ALLOWED
    return _consented(recipient_org, case, BRIEF_CATEGORIES, on)


def covered_orgs(case: Case, on: date) -> tuple[str, ...]:
    """The organisations the brief may be shown to in a Fallkonferenz on `on`, sorted: those the
    case was sent to whose consent covers it then (the same gate as every other release). The
    conference uses it to show each participant only what covers their organisation."""
    return tuple(sorted(o for o in case.sent_to if _consented(o, case, BRIEF_CATEGORIES, on).allowed))


def may_read_case(actor: Actor, case: Case, on: date) -> bool:
    """Whether the answer to a command may carry the whole case (a foreign decider's may not)."""
    return decide(actor, Action.READ_CASE, case, on=on).allowed


def _foreign_verdict(org: str, roles: list[Role], action: Action, case: Case,
                     on: date | None) -> Verdict:
    needs = [FOREIGN[r][action] for r in roles if action in FOREIGN.get(r, {})]
    if not needs:
        return Verdict(False, f"Die Rollen in {org} erlauben auf einem fremden Fall nicht, "
                              f"{action.label}.", foreign=True)
    if action in DECISIONS:
        if org != case.coordination_org:
            return Verdict(False, f"Entscheidungen trifft nur die koordinierende Stelle "
                                  f"{case.coordination_org}, nicht {org}.", foreign=True)
        if not case.submitted:
            return Verdict(False, f"Der Fall ist {org} noch nicht zur Fallkonferenz angemeldet.",
                           foreign=True)
        return ALLOWED
    return _consented(org, case, needs[0], on)


def _consented(org: str, case: Case, categories: tuple[DataCategory, ...], on: date | None) -> Verdict:
    if org not in case.sent_to:
        return Verdict(False, f"Der Fall ist der Organisation {org} nicht vorgeschlagen.", foreign=True)
    if on is None:
        return Verdict(False, "Ohne Stichtag ist keine Einwilligung prüfbar.", foreign=True)
    covered = case.disclosure_coverage(org, ConsentPurpose.FALLKONFERENZ, categories, on)
    if not covered.allowed:
        return Verdict(False, covered.reason, foreign=True)
    return Verdict(True, consent_ids=covered.consent_ids)


def _peer_verdict(actor: Actor, action: Action, case: Case | None, on: date | None) -> Verdict:
    allowed = (PEER_NODE_ACTIONS if case is None else PEER_CASE_ACTIONS).get(actor.node_role, frozenset())
    if action not in allowed:
        return Verdict(False, f"Die Knotenrolle „{actor.node_role or 'unbekannt'}“ erlaubt nicht, "
                              f"{action.label}.", foreign=case is not None)
    if case is None:
        return ALLOWED
    if actor.organization == case.owner_org:
        # The owner works its cases over the api of its own node, never as a peer.
        return Verdict(False, "Der eigene Fall wird nicht über den Knotenport gelesen.", foreign=True)
    return _consented(actor.organization, case, BRIEF_CATEGORIES, on)


def peer_refusal(actor: Actor, action: Action, case: Case | None = None,
                 on: date | None = None) -> str:
    """Why the peer node `actor` may not do `action` (on `case`), in German, for this node's
    audit trail only ("" when it may). The peer itself learns nothing of it."""
    return _peer_verdict(actor, action, case, on).reason


def can(actor: Actor, action: Action, case: Case | None = None, *, node_org: str = "",
        on: date | None = None) -> bool:
    return decide(actor, action, case, node_org=node_org, on=on).allowed


def _known_roles(actor: Actor) -> list[str]:
    known = {r.value for r in Role}
    return sorted(r for r in actor.roles if r in known)
