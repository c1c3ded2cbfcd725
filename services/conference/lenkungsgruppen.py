"""Lenkungsgruppen: the koordinierende Stelle constitutes its Lenkungsgruppe and keeps its
roster (members with or without voting right, their deputies).

Only coordinators of the koordinierende Stelle manage the gremium; its members and the Stelle
read it (domain/policy.py). People are identified by organisation and username.
"""

from __future__ import annotations

from services.conference.application import gremium_for
from services.conference.domain.lenkungsgruppe import Deputy, Lenkungsgruppe, Member
from services.conference.domain.policy import Action, Actor, require
from services.conference.domain.ports import LenkungsgruppeRepository, Page
from services.conference.domain.vocabulary import DecisionRule


class Lenkungsgruppen:
    def __init__(self, gremien: LenkungsgruppeRepository, *, register_org: str = "") -> None:
        """`register_org`: this node's koordinierende Stelle, whose Lenkungsgruppen are listed."""
        self.gremien = gremien
        self.register_org = register_org

    def create_lenkungsgruppe(
        self, actor: Actor, name: str, *, decision_rule: DecisionRule = DecisionRule.CONSENSUS,
        rules_reference: str = "",
    ) -> Lenkungsgruppe:
        coordination_org = actor.organisation or ""
        require(actor, Action.MANAGE_GREMIUM, coordination_org=coordination_org)
        gremium = Lenkungsgruppe.constitute(coordination_org=coordination_org, name=name,
                                            decision_rule=decision_rule, rules_reference=rules_reference)
        self.gremien.save_gremium(gremium)
        return gremium

    def get_lenkungsgruppe(self, actor: Actor, gremium_id: str) -> Lenkungsgruppe:
        return gremium_for(actor, self.gremien, gremium_id, Action.READ_GREMIUM)

    def list_lenkungsgruppen(
        self, actor: Actor, *, page_size: int, page_token: str
    ) -> Page[Lenkungsgruppe]:
        require(actor, Action.READ_GREMIUM, coordination_org=self.register_org)
        return self.gremien.gremien(self.register_org, page_size=page_size, page_token=page_token)

    def add_member(self, actor: Actor, gremium_id: str, member: Member) -> Lenkungsgruppe:
        gremium = gremium_for(actor, self.gremien, gremium_id, Action.MANAGE_GREMIUM)
        gremium.add_member(
            person=member.person,
            name=member.name,
            organisation=member.organisation,
            function=member.function,
            voting=member.voting,
            deputy=member.deputy,
        )
        self.gremien.save_gremium(gremium)
        return gremium

    def appoint_deputy(
        self, actor: Actor, gremium_id: str, member_id: str, deputy: Deputy | None
    ) -> Lenkungsgruppe:
        gremium = gremium_for(actor, self.gremien, gremium_id, Action.MANAGE_GREMIUM)
        gremium.appoint_deputy(member_id, deputy)
        self.gremien.save_gremium(gremium)
        return gremium

    def remove_member(self, actor: Actor, gremium_id: str, member_id: str) -> Lenkungsgruppe:
        gremium = gremium_for(actor, self.gremien, gremium_id, Action.MANAGE_GREMIUM)
        gremium.remove_member(member_id)
        self.gremien.save_gremium(gremium)
        return gremium
