"""Who may do what in the conference service: the authorisation rules as domain policy.

- Koordinator*innen of the koordinierende Stelle schedule, prepare, run and close Fallkonferenzen,
  run the Lenkungsgruppe's Geschäftsführung (members, sessions, agenda, attendance, results),
  manage Projektgruppen and track every Beschluss.
- Case Manager*innen and the ABH's Integrationslots*in take part in Fallkonferenzen they are
  invited to (by person or organisation) and read the briefs there.
- Lenkungsgruppe members (steering_member) vote, read sessions and Beschlüsse, and update the
  tracking of the Beschlüsse assigned to them.
- Verwaltung (clerk) reads Beschlüsse (for Drucksachen).
- Projektgruppe members read the barrier register and prepare Beschlussvorlagen in their group.
- Everyone else (Datenschutz, node administration) is denied; roles add up.

People are matched by organisation AND username everywhere (participants, Projektgruppe
members, the person a Beschluss is assigned to, seats in the Lenkungsgruppe), never by a bare
username: a same-named user of another organisation is someone else.

Each denial says why, in German; the api layer maps it to PERMISSION_DENIED and audits it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from kimnetz.errors import PermissionDenied
from services.conference.domain.beschluss import Beschluss
from services.conference.domain.fallkonferenz import Fallkonferenz
from services.conference.domain.projektgruppe import Projektgruppe
from services.conference.domain.vocabulary import Role


@dataclass(frozen=True)
class Actor:
    person: str
    organisation: str | None
    roles: frozenset[str] = field(default_factory=frozenset)

    def has(self, role: Role) -> bool:
        return role.value in self.roles


class Action(StrEnum):
    SCHEDULE_CONFERENCE = "schedule_conference"
    PREPARE_CONFERENCE = "prepare_conference"
    RUN_CONFERENCE = "run_conference"
    READ_CONFERENCE = "read_conference"
    MANAGE_GREMIUM = "manage_gremium"
    READ_GREMIUM = "read_gremium"
    CAST_VOTE = "cast_vote"
    READ_BESCHLUESSE = "read_beschluesse"
    TRACK_BESCHLUSS = "track_beschluss"
    MANAGE_PROJEKTGRUPPE = "manage_projektgruppe"
    PREPARE_VORLAGE = "prepare_vorlage"
    READ_BARRIER_REGISTER = "read_barrier_register"


_COORDINATOR_ONLY = {
    Action.SCHEDULE_CONFERENCE: "Nur Koordinator*innen der koordinierenden Stelle setzen Fallkonferenzen an.",
    Action.PREPARE_CONFERENCE: "Nur Koordinator*innen der koordinierenden Stelle erstellen die Tagesordnung.",
    Action.RUN_CONFERENCE: "Nur Koordinator*innen der koordinierenden Stelle leiten die Fallkonferenz "
    "und halten Entscheidungen fest.",
    Action.MANAGE_GREMIUM: "Die Geschäftsführung der Lenkungsgruppe liegt bei den Koordinator*innen "
    "der koordinierenden Stelle.",
    Action.MANAGE_PROJEKTGRUPPE: (
        "Projektgruppen richten die Koordinator*innen der koordinierenden Stelle ein."
    ),
}


def require(
    actor: Actor,
    action: Action,
    *,
    coordination_org: str | None = None,
    conference: Fallkonferenz | None = None,
    beschluss: Beschluss | None = None,
    projektgruppe: Projektgruppe | None = None,
) -> None:
    """Returns when `actor` may perform `action` on the given resource; raises PermissionDenied."""
    org = coordination_org or _org_of(conference, beschluss, projektgruppe)
    is_coordinator = actor.has(Role.COORDINATOR) and (org is None or actor.organisation == org)

    if action in _COORDINATOR_ONLY:
        if is_coordinator:
            return
        raise PermissionDenied(_COORDINATOR_ONLY[action])

    if action is Action.READ_CONFERENCE:
        if is_coordinator:
            return
        if (actor.has(Role.CASE_MANAGER) or actor.has(Role.IMMIGRATION_LIAISON)) and (
            conference is None or conference.is_participant(actor.person, actor.organisation)
        ):
            return
        raise PermissionDenied(
            "Fallkonferenzen sehen nur die Koordinator*innen und die eingeladenen "
            "Case Manager*innen und Integrationslots*innen."
        )

    if action is Action.CAST_VOTE:
        if actor.has(Role.STEERING_MEMBER):
            return  # whether this person holds a seat is the session's rule
        raise PermissionDenied("Abstimmen dürfen nur Mitglieder der Lenkungsgruppe.")

    if action in (Action.READ_GREMIUM, Action.READ_BESCHLUESSE):
        if is_coordinator or actor.has(Role.STEERING_MEMBER) or actor.has(Role.CLERK):
            return
        raise PermissionDenied(
            "Sitzungen und Beschlüsse der Lenkungsgruppe lesen nur Koordinator*innen, "
            "Mitglieder der Lenkungsgruppe und die Verwaltung."
        )

    if action is Action.TRACK_BESCHLUSS:
        if is_coordinator:
            return
        if (
            actor.has(Role.STEERING_MEMBER)
            and beschluss is not None
            and beschluss.responsible_person == actor.person
            # The person of the responsible organisation (none named: the Stelle's own).
            and (beschluss.responsible_org or beschluss.coordination_org) == actor.organisation
        ):
            return
        raise PermissionDenied(
            "Den Stand eines Beschlusses pflegen die Koordinator*innen oder die "
            "Person, der die Umsetzung übertragen ist."
        )

    if action is Action.PREPARE_VORLAGE:
        if is_coordinator or (
            projektgruppe is not None and projektgruppe.is_member(actor.person, actor.organisation)
        ):
            return
        raise PermissionDenied(
            "Beschlussvorlagen bereiten die Koordinator*innen oder die Mitglieder der Projektgruppe vor."
        )

    if action is Action.READ_BARRIER_REGISTER:
        if (
            is_coordinator
            or actor.has(Role.STEERING_MEMBER)
            or (projektgruppe is not None and projektgruppe.is_member(actor.person, actor.organisation))
        ):
            return
        raise PermissionDenied(
            "Das Barrierenregister sehen Koordinator*innen, die Lenkungsgruppe und "
            "die Mitglieder der Projektgruppe."
        )

    raise PermissionDenied("Diese Aktion ist nicht vorgesehen.")  # pragma: no cover - every Action handled


def _org_of(
    conference: Fallkonferenz | None,
    beschluss: Beschluss | None,
    projektgruppe: Projektgruppe | None,
) -> str | None:
    for resource in (conference, beschluss, projektgruppe):
        if resource is not None:
            return resource.coordination_org
    return None
