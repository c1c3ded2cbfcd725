"""Beschlussverfolgung: what the Lenkungsgruppe adopted is tracked to implementation (status,
due date, history) and reminded of once per due date when overdue.

Coordinators of the koordinierende Stelle and the responsible people track a Beschluss
(domain/policy.py); the worker's timer sends the reminders (`remind_overdue`).
"""

from __future__ import annotations

from datetime import date

from kimnetz.errors import FailedPrecondition, NotFound
from services.conference.application import Clock, gremium_for, utc_now
from services.conference.domain.beschluss import Beschluss
from services.conference.domain.policy import Action, Actor, require
from services.conference.domain.ports import BeschlussRepository, LenkungsgruppeRepository, Page
from services.conference.domain.vocabulary import BeschlussStatus


class Beschlussverfolgung:
    def __init__(
        self, gremien: LenkungsgruppeRepository, beschluesse: BeschlussRepository, *,
        clock: Clock = utc_now,
    ) -> None:
        self.gremien = gremien
        self.beschluesse = beschluesse
        self.clock = clock

    def get_beschluss(self, actor: Actor, beschluss_id: str) -> Beschluss:
        beschluss = self.beschluesse.beschluss(beschluss_id)
        require(actor, Action.READ_BESCHLUESSE, beschluss=beschluss)
        return beschluss

    def list_beschluesse(
        self,
        actor: Actor,
        gremium_id: str,
        *,
        statuses: list[BeschlussStatus],
        responsible_person: str,
        page_size: int,
        page_token: str,
        responsible_org: str = "",
    ) -> Page[Beschluss]:
        gremium_for(actor, self.gremien, gremium_id, Action.READ_BESCHLUESSE)
        return self.beschluesse.beschluesse(
            gremium_id,
            statuses=statuses,
            responsible_person=responsible_person,
            responsible_org=responsible_org,
            page_size=page_size,
            page_token=page_token,
        )

    def list_overdue_beschluesse(
        self, actor: Actor, gremium_id: str, on: date | None, *, page_size: int, page_token: str
    ) -> Page[Beschluss]:
        """Overdue on `on` (None: today)."""
        gremium_for(actor, self.gremien, gremium_id, Action.READ_BESCHLUESSE)
        return self.beschluesse.overdue_beschluesse(
            gremium_id, on or self.clock().date(), page_size=page_size, page_token=page_token
        )

    def update_beschluss_status(
        self, actor: Actor, beschluss_id: str, status: BeschlussStatus, note: str
    ) -> Beschluss:
        beschluss = self.beschluesse.beschluss(beschluss_id)
        require(actor, Action.TRACK_BESCHLUSS, beschluss=beschluss)
        beschluss.change_status(status, by=actor.person, now=self.clock(), note=note)
        self.beschluesse.save_beschluss(beschluss)
        return beschluss

    def reschedule_beschluss(self, actor: Actor, beschluss_id: str, due_on: date, note: str) -> Beschluss:
        beschluss = self.beschluesse.beschluss(beschluss_id)
        require(actor, Action.TRACK_BESCHLUSS, beschluss=beschluss)
        beschluss.reschedule(due_on, by=actor.person, now=self.clock(), note=note)
        self.beschluesse.save_beschluss(beschluss)
        return beschluss

    def remind_overdue(self) -> list[str]:
        """The worker's timer: one BeschlussOverdue per overdue Beschluss and due date. Several
        workers may run this at once; the optimistic lock lets exactly one of them write the
        reminder, the others find it done (FAILED_PRECONDITION) and go on."""
        now = self.clock()
        reminded: list[str] = []
        for beschluss_id in self.beschluesse.overdue_beschluss_ids(now.date()):
            try:
                beschluss = self.beschluesse.beschluss(beschluss_id)
                if beschluss.remind(now.date(), now) is None:
                    continue
                self.beschluesse.save_beschluss(beschluss)
            except (FailedPrecondition, NotFound):
                continue  # another worker reminded (or the Beschluss changed) meanwhile
            reminded.append(beschluss_id)
        return reminded
