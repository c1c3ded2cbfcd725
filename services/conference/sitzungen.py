"""Sitzungen of the Lenkungsgruppe: the Geschäftsführung (coordinators of the koordinierende
Stelle) schedules a session, puts Beschlussvorlagen on its agenda (its own, or one a
Projektgruppe prepared), opens it with the attendance, declares each result and closes it;
members with voting right or their deputies vote (domain/sitzung.py has the quorum and majority
rules). People are identified by organisation and username.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from kimnetz.errors import FieldViolation, InvalidArgument, NotFound
from services.conference.application import Clock, ResultDeclaration, VorlageDraft, gremium_for, utc_now
from services.conference.domain.beschluss import Beschluss
from services.conference.domain.lenkungsgruppe import PersonKey
from services.conference.domain.policy import Action, Actor, require
from services.conference.domain.ports import (
    BeschlussRepository,
    LenkungsgruppeRepository,
    Page,
    ProjektgruppeRepository,
    SitzungRepository,
)
from services.conference.domain.sitzung import Sitzung
from services.conference.domain.vocabulary import VoteChoice
from services.conference.domain.vorlage import Beschlussvorlage


class Sitzungen:
    def __init__(
        self,
        gremien: LenkungsgruppeRepository,
        sessions: SitzungRepository,
        beschluesse: BeschlussRepository,
        projektgruppen: ProjektgruppeRepository,
        *,
        clock: Clock = utc_now,
    ) -> None:
        self.gremien = gremien
        self.sessions = sessions
        self.beschluesse = beschluesse
        self.projektgruppen = projektgruppen
        self.clock = clock

    def _managed_session(self, actor: Actor, session_id: str) -> Sitzung:
        session = self.sessions.session(session_id)
        require(actor, Action.MANAGE_GREMIUM, coordination_org=session.coordination_org)
        return session

    def schedule_session(self, actor: Actor, gremium_id: str, *, starts_at: datetime, place: str) -> Sitzung:
        gremium = gremium_for(actor, self.gremien, gremium_id, Action.MANAGE_GREMIUM)
        session = Sitzung.schedule(gremium, starts_at=starts_at, place=place, now=self.clock())
        self.sessions.save_session(session)
        return session

    def get_session(self, actor: Actor, session_id: str) -> Sitzung:
        session = self.sessions.session(session_id)
        require(actor, Action.READ_GREMIUM, coordination_org=session.coordination_org)
        return session

    def list_sessions(
        self, actor: Actor, gremium_id: str, *, page_size: int, page_token: str
    ) -> Page[Sitzung]:
        gremium_for(actor, self.gremien, gremium_id, Action.READ_GREMIUM)
        return self.sessions.sessions(gremium_id, page_size=page_size, page_token=page_token)

    def submit_vorlage(self, actor: Actor, session_id: str, draft: VorlageDraft) -> Sitzung:
        session = self._managed_session(actor, session_id)
        if draft.evidence:
            raise InvalidArgument(
                [
                    FieldViolation(
                        "vorlage.evidence",
                        "Belege aus dem Barrierenregister bringt die Vorlage einer Projektgruppe mit.",
                    )
                ]
            )
        vorlage = Beschlussvorlage.draft(
            kind=draft.kind,
            title=draft.title,
            proposed_wording=draft.proposed_wording,
            submitted_by=actor.person,
            now=self.clock(),
            rationale=draft.rationale,
            responsible_org=draft.responsible_org,
            responsible_person=draft.responsible_person,
            due_on=draft.due_on,
            zielgruppen=draft.zielgruppen,
        )
        session.add_to_agenda(vorlage)
        self.sessions.save_session(session)
        return session

    def add_vorlage_to_agenda(
        self, actor: Actor, session_id: str, projektgruppe_id: str, vorlage_id: str
    ) -> Sitzung:
        session = self._managed_session(actor, session_id)
        group = self.projektgruppen.projektgruppe(projektgruppe_id)
        if group.coordination_org != session.coordination_org:
            raise NotFound(f"Die Projektgruppe {projektgruppe_id} gibt es nicht.")
        session.add_to_agenda(group.vorlage(vorlage_id))
        self.sessions.save_session(session)
        return session

    def open_session(self, actor: Actor, session_id: str, present: set[str],
                     attendees: set[PersonKey] | None = None) -> Sitzung:
        session = self._managed_session(actor, session_id)
        session.open(self.gremien.gremium(session.gremium_id), present=present,
                     attendees=attendees or set(), now=self.clock())
        self.sessions.save_session(session)
        return session

    def record_attendance(self, actor: Actor, session_id: str, present: set[str],
                          attendees: set[PersonKey] | None = None) -> Sitzung:
        session = self._managed_session(actor, session_id)
        session.record_attendance(present, attendees or set())
        self.sessions.save_session(session)
        return session

    def cast_vote(self, actor: Actor, session_id: str, vorlage_id: str, choice: VoteChoice) -> Sitzung:
        require(actor, Action.CAST_VOTE)
        session = self.sessions.session(session_id)
        session.cast_vote(vorlage_id, person=actor.person, organisation=actor.organisation or "",
                          choice=choice, now=self.clock())
        self.sessions.save_session(session)
        return session

    def declare_result(
        self, actor: Actor, session_id: str, result: ResultDeclaration
    ) -> tuple[Sitzung, Beschluss | None]:
        """The session is written first: its optimistic lock makes sure one result is declared
        per Vorlage (a vote arriving meanwhile makes this call fail and change nothing). Then
        the Beschluss with its events; for "Zielgruppen festlegen" it gets the version after
        the latest any Lenkungsgruppe of this koordinierende Stelle adopted (the case service
        keeps one sequence per node), kept unique by the repository."""
        session = self._managed_session(actor, session_id)
        latest = self.beschluesse.latest_zielgruppen_version(session.coordination_org)
        beschluss = session.conclude(
            result.vorlage_id,
            mode=result.mode,
            now=self.clock(),
            wording=result.wording,
            responsible_org=result.responsible_org,
            responsible_person=result.responsible_person,
            due_on=result.due_on,
            latest_zielgruppen_version=latest,
            beschluss_id=str(uuid.uuid4()),
        )
        self.sessions.save_session(session)
        if beschluss is not None:
            self.beschluesse.save_beschluss(beschluss)
        return session, beschluss

    def close_session(self, actor: Actor, session_id: str) -> Sitzung:
        session = self._managed_session(actor, session_id)
        session.close(self.clock())
        self.sessions.save_session(session)
        return session
