"""The barrier register of the koordinierende Stelle: anonymised observations of barriers the
case service recorded (the worker records each once), read as counts per Rechtskreis pair and
category with small numbers suppressed (domain/projektgruppe.py `BarrierRegister`).

`register_org` is the koordinierende Stelle this node's register belongs to (the node's
operating organisation): barrier events from cases carry no coordination org.
"""

from __future__ import annotations

from datetime import date

from services.conference.domain.policy import Action, Actor, require
from services.conference.domain.ports import BarrierRepository, ProjektgruppeRepository
from services.conference.domain.projektgruppe import BarrierObservation, BarrierRegister, RegisterView


class Barrierenregister:
    def __init__(
        self, barriers: BarrierRepository, projektgruppen: ProjektgruppeRepository, *, register_org: str,
    ) -> None:
        self.barriers = barriers
        self.projektgruppen = projektgruppen
        self.register_org = register_org

    def get_barrier_register(
        self, actor: Actor, *, projektgruppe_id: str = "", since: date | None = None
    ) -> RegisterView:
        """The whole register, or a Projektgruppe's view of it (its topic's Handlungsfelder)."""
        group = self.projektgruppen.projektgruppe(projektgruppe_id) if projektgruppe_id else None
        org = group.coordination_org if group else self.register_org
        require(actor, Action.READ_BARRIER_REGISTER, coordination_org=org, projektgruppe=group)
        register = BarrierRegister(self.barriers.barrier_observations(org))
        return register.view(handlungsfelder=group.handlungsfelder if group else None, since=since)

    def record_barrier(self, observation: BarrierObservation) -> bool:
        """From the worker: an anonymised barrier event; False when it was already counted."""
        return self.barriers.record_barrier(self.register_org, observation)
