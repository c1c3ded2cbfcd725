"""Projektgruppen: a Beschluss of the Lenkungsgruppe mandates a Projektgruppe on a topic; the
koordinierende Stelle keeps its members; its members prepare Beschlussvorlagen with evidence
from the barrier register for the Lenkungsgruppe (domain/projektgruppe.py, domain/policy.py).

`register_org` is the koordinierende Stelle of this node (its operating organisation), whose
Projektgruppen the list shows.
"""

from __future__ import annotations

from services.conference.application import Clock, VorlageDraft, utc_now
from services.conference.domain.policy import Action, Actor, require
from services.conference.domain.ports import BeschlussRepository, Page, ProjektgruppeRepository
from services.conference.domain.projektgruppe import Projektgruppe, ProjektgruppenMember
from services.conference.domain.vocabulary import Topic
from services.conference.domain.vorlage import Beschlussvorlage


class Projektgruppen:
    def __init__(
        self, projektgruppen: ProjektgruppeRepository, beschluesse: BeschlussRepository, *,
        register_org: str, clock: Clock = utc_now,
    ) -> None:
        self.projektgruppen = projektgruppen
        self.beschluesse = beschluesse
        self.register_org = register_org
        self.clock = clock

    def establish_projektgruppe(
        self,
        actor: Actor,
        *,
        name: str,
        topic: Topic,
        mandate_beschluss_id: str,
        members: list[ProjektgruppenMember],
        municipality: str = "",
    ) -> Projektgruppe:
        mandate = self.beschluesse.beschluss(mandate_beschluss_id)
        require(actor, Action.MANAGE_PROJEKTGRUPPE, beschluss=mandate)
        group = Projektgruppe.establish(
            name=name, topic=topic, mandate=mandate, now=self.clock(), members=members,
            municipality=municipality,
        )
        self.projektgruppen.save_projektgruppe(group)
        return group

    def get_projektgruppe(self, actor: Actor, projektgruppe_id: str) -> Projektgruppe:
        group = self.projektgruppen.projektgruppe(projektgruppe_id)
        if not group.is_member(actor.person, actor.organisation):
            require(actor, Action.READ_GREMIUM, coordination_org=group.coordination_org)
        return group

    def list_projektgruppen(self, actor: Actor, *, page_size: int, page_token: str) -> Page[Projektgruppe]:
        require(actor, Action.READ_GREMIUM, coordination_org=self.register_org)
        return self.projektgruppen.projektgruppen(
            self.register_org, page_size=page_size, page_token=page_token
        )

    def add_projektgruppe_member(
        self, actor: Actor, projektgruppe_id: str, member: ProjektgruppenMember
    ) -> Projektgruppe:
        group = self.projektgruppen.projektgruppe(projektgruppe_id)
        require(actor, Action.MANAGE_PROJEKTGRUPPE, projektgruppe=group)
        group.add_member(member)
        self.projektgruppen.save_projektgruppe(group)
        return group

    def remove_projektgruppe_member(self, actor: Actor, projektgruppe_id: str, person: str,
                                    organisation: str = "") -> Projektgruppe:
        """`organisation` empty: a member of the koordinierende Stelle's own organisation."""
        group = self.projektgruppen.projektgruppe(projektgruppe_id)
        require(actor, Action.MANAGE_PROJEKTGRUPPE, projektgruppe=group)
        group.remove_member(person, organisation or group.coordination_org)
        self.projektgruppen.save_projektgruppe(group)
        return group

    def prepare_vorlage(self, actor: Actor, projektgruppe_id: str, draft: VorlageDraft) -> Beschlussvorlage:
        group = self.projektgruppen.projektgruppe(projektgruppe_id)
        require(actor, Action.PREPARE_VORLAGE, projektgruppe=group)
        vorlage = group.prepare_vorlage(
            title=draft.title,
            proposed_wording=draft.proposed_wording,
            submitted_by=actor.person,
            now=self.clock(),
            rationale=draft.rationale,
            evidence=draft.evidence,
            responsible_org=draft.responsible_org,
            responsible_person=draft.responsible_person,
            due_on=draft.due_on,
        )
        self.projektgruppen.save_projektgruppe(group)
        return vorlage
