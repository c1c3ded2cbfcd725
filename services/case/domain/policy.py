"""Who may do what on a case: the authorisation rules as domain policy.

Decided by the actor's organisation, roles and the case's own access list:

- The owning organisation works the case. Case managers do the case work; coordinators
  (Fachaufsicht) can do all of that and also decide, assign and reopen; the Integrationslotsin
  may propose and prepare a case; the data protection officer reads the audit trail and erases.
- A foreign organisation sees a case only if it is on the case's access list (the koordinierende
  Stelle it was proposed to, the conference's other members such as the Ausländerbehörde) and
  then only the pseudonymised brief; the coordinator there may also record conference decisions
  and reviews, and read full data where the person's consent covers that.
- Steering members, clerks and node administrators never see single cases; coordinators,
  steering members and clerks of the node's organisation read the monitoring figures
  (aggregates, small numbers suppressed).
- A peer node of the federation (an `Actor` with `node`, asking on behalf of one of its users)
  acts by its node role, not by personal roles: a Kreis node (role "district") reads the
  pseudonymised brief of a case proposed to its organisation while a valid consent covers the
  Fallkonferenz there, and this node's monitoring figures; nothing else, whatever the user's
  roles at home may be.

Every refusal on a foreign case says the same thing, whether the case is on the list or not,
so an answer never hints at a case's existence or state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import TYPE_CHECKING

from kim.errors import PermissionDenied
from services.case.domain.vocabulary import ConsentPurpose, DataCategory, Role

if TYPE_CHECKING:
    from services.case.domain.case import Case

NO_ACCESS = "Kein Zugriff auf diesen Fall."


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
    READ_FIGURES = "read_figures"
    ERASE = "erase"

    @property
    def label(self) -> str:
        return _ACTION_LABELS[self]


_ACTION_LABELS = {
    Action.PROPOSE: "einen Fall vorschlagen",
    Action.LIST: "Fälle auflisten",
    Action.READ_BRIEF: "die Kurzinformation lesen",
    Action.READ_CASE: "den Fall lesen",
    Action.READ_PERSON: "die Personendaten lesen",
    Action.EDIT_PERSON: "die Personendaten ändern",
    Action.MANAGE_CONSENT: "Einwilligungen erfassen oder widerrufen",
    Action.SUBMIT_FOR_REVIEW: "den Fall zur Fallkonferenz anmelden",
    Action.DECIDE: "Entscheidungen der Fallkonferenz erfassen",
    Action.CASE_WORK: "am Fall arbeiten (Bedarfe, Integrationsplan, Barrieren, Journal)",
    Action.RECORD_REVIEW: "eine Fallbesprechung erfassen",
    Action.ASSIGN: "den Fall zuweisen",
    Action.TRANSFER: "den Fall übergeben",
    Action.CLOSE: "den Fall abschließen",
    Action.REOPEN: "den Fall wieder aufnehmen",
    Action.READ_AUDIT: "das Protokoll lesen",
    Action.READ_FIGURES: "die Monitoring-Kennzahlen abrufen",
    Action.ERASE: "Fälle löschen",
}

A = Action
_CASE_WORKER = frozenset({
    A.PROPOSE, A.LIST, A.READ_BRIEF, A.READ_CASE, A.READ_PERSON, A.EDIT_PERSON, A.MANAGE_CONSENT,
    A.SUBMIT_FOR_REVIEW, A.CASE_WORK, A.TRANSFER, A.CLOSE,
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

#: What each role may do on a foreign organisation's case that lists the actor's organisation.
SHARED: dict[Role, frozenset[Action]] = {
    Role.COORDINATOR: frozenset({A.LIST, A.READ_BRIEF, A.DECIDE, A.RECORD_REVIEW}),
    Role.IMMIGRATION_LIAISON: frozenset({A.LIST, A.READ_BRIEF}),
}

#: Full reads on a shared case need the person's consent for this purpose and these categories.
CONSENTED_READS: dict[Action, tuple[DataCategory, ...]] = {
    A.READ_CASE: (DataCategory.FALLDOKUMENTATION,),
    A.READ_PERSON: (DataCategory.STAMMDATEN,),
}
CONSENTED_READ_ROLES = frozenset({Role.COORDINATOR})

#: What a peer node may do on one case, by its federation role: a brief only of a case proposed
#: to the node's organisation and while a consent covers the Fallkonferenz there (`peer_refusal`).
PEER_CASE_ACTIONS: dict[str, frozenset[Action]] = {"district": frozenset({A.READ_BRIEF})}
#: What a peer node may do on this node as a whole: the aggregates, small numbers suppressed.
PEER_NODE_ACTIONS: dict[str, frozenset[Action]] = {"district": frozenset({A.READ_FIGURES})}


def allowed_actions(actor: Actor, owner_org: str) -> frozenset[Action]:
    """Node-level actions (propose, list, audit) for the actor's own organisation."""
    if actor.organization != owner_org:
        return frozenset()
    return frozenset().union(*(OWN_ORG.get(Role(r), frozenset()) for r in _known_roles(actor)))


def authorize(actor: Actor, action: Action, case: Case | None = None, *, node_org: str = "",
              on: date | None = None) -> None:
    """Raises PermissionDenied unless `actor` may do `action` (on `case`, if one is given;
    otherwise on the node owned by `node_org`). `on` is the day consent must hold."""
    if actor.is_peer:
        if peer_refusal(actor, action, case, on):
            raise PermissionDenied(NO_ACCESS)
        return
    roles = [Role(r) for r in _known_roles(actor)]
    if case is None:
        if actor.organization == node_org and any(action in OWN_ORG[r] for r in roles):
            return
        raise PermissionDenied(f"Ihre Rolle erlaubt nicht, {action.label}.")
    if actor.organization == case.owner_org:
        if any(action in OWN_ORG[r] for r in roles):
            return
        raise PermissionDenied(f"Ihre Rolle erlaubt nicht, {action.label}.")
    if actor.organization not in case.access_orgs:
        raise PermissionDenied(NO_ACCESS)
    if any(action in SHARED.get(r, frozenset()) for r in roles):
        return
    if action in CONSENTED_READS and any(r in CONSENTED_READ_ROLES for r in roles) and on is not None:
        covered = case.disclosure_coverage(actor.organization, ConsentPurpose.FALLKONFERENZ,
                                           CONSENTED_READS[action], on)
        if covered.allowed:
            return
    raise PermissionDenied(NO_ACCESS)


def peer_refusal(actor: Actor, action: Action, case: Case | None = None,
                 on: date | None = None) -> str:
    """Why the peer node `actor` may not do `action` (on `case`), in German, for this node's
    audit trail only ("" when it may). The peer itself is always told the same NO_ACCESS."""
    allowed = (PEER_NODE_ACTIONS if case is None else PEER_CASE_ACTIONS).get(actor.node_role, frozenset())
    if action not in allowed:
        return f"Die Knotenrolle „{actor.node_role or 'unbekannt'}“ erlaubt nicht, {action.label}."
    if case is None:
        return ""
    if actor.organization == case.owner_org or not (
            actor.organization == case.coordination_org or actor.organization in case.access_orgs):
        return f"Der Fall ist der Organisation {actor.organization} nicht vorgeschlagen."
    if on is None:
        return "Ohne Stichtag ist keine Einwilligung prüfbar."
    # The same consent the Fallvorschlag needed: revoked or expired, the brief stays home.
    covered = case.conference_coverage(actor.organization, on)
    return "" if covered.allowed else covered.reason


def can(actor: Actor, action: Action, case: Case | None = None, *, node_org: str = "",
        on: date | None = None) -> bool:
    try:
        authorize(actor, action, case, node_org=node_org, on=on)
    except PermissionDenied:
        return False
    return True


def _known_roles(actor: Actor) -> list[str]:
    known = {r.value for r in Role}
    return sorted(r for r in actor.roles if r in known)
