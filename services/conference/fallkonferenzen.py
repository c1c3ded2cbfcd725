"""Fallkonferenzen: the koordinierende Stelle schedules a conference, builds its agenda from the
case service's briefs (`CaseBriefs` port), starts it, decides each case and closes it.

Only coordinators of the koordinierende Stelle prepare and run a conference; invited
participants read it (domain/policy.py). The repository writes the conference with its events
in one write, so a refused or failed command changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from services.conference.application import Clock, utc_now
from services.conference.cases import CaseBriefs, UnreachableNode
from services.conference.domain.fallkonferenz import (
    REVIEW_INTERVAL_MONTHS,
    Decision,
    Fallkonferenz,
    Participant,
    Skipped,
    review_horizon,
)
from services.conference.domain.policy import Action, Actor, require
from services.conference.domain.ports import MAX_PAGE_SIZE, FallkonferenzRepository, Page
from services.conference.domain.vocabulary import ConferenceStatus


@dataclass(frozen=True)
class AgendaBuild:
    added: tuple[str, ...]
    skipped: tuple[Skipped, ...]
    unreachable: tuple[UnreachableNode, ...] = ()


class Fallkonferenzen:
    def __init__(self, conferences: FallkonferenzRepository, *, clock: Clock = utc_now,
                 review_interval_months: int = REVIEW_INTERVAL_MONTHS) -> None:
        self.conferences = conferences
        self.clock = clock
        #: The assumed distance to the next Fallkonferenz when none is planned yet.
        self.review_interval_months = review_interval_months

    def schedule_conference(
        self,
        actor: Actor,
        *,
        starts_at: datetime,
        place: str,
        video_link: str,
        participants: list[Participant],
    ) -> Fallkonferenz:
        coordination_org = actor.organisation or ""
        require(actor, Action.SCHEDULE_CONFERENCE, coordination_org=coordination_org)
        conference = Fallkonferenz.schedule(
            coordination_org=coordination_org,
            starts_at=starts_at,
            participants=participants,
            scheduled_by=actor.person,
            now=self.clock(),
            place=place,
            video_link=video_link,
        )
        self.conferences.save_conference(conference)
        return conference

    def get_conference(self, actor: Actor, conference_id: str) -> Fallkonferenz:
        conference = self.conferences.conference(conference_id)
        require(actor, Action.READ_CONFERENCE, conference=conference)
        return conference

    def list_conferences(
        self,
        actor: Actor,
        *,
        status: ConferenceStatus | None,
        page_size: int,
        page_token: str,
    ) -> Page[Fallkonferenz]:
        # The list of a koordinierende Stelle is its coordinators' planning view; invited
        # participants open their conference by id.
        require(actor, Action.PREPARE_CONFERENCE, coordination_org=actor.organisation or "")
        return self.conferences.conferences(
            actor.organisation or "", status=status, page_size=page_size, page_token=page_token
        )

    def list_invited_conferences(
        self,
        actor: Actor,
        *,
        status: ConferenceStatus | None,
        page_size: int,
        page_token: str,
    ) -> Page[Fallkonferenz]:
        """The conferences that invite the caller; READ_CONFERENCE holds for each of them, so the
        list shows nothing its reader could not open by id."""
        require(actor, Action.READ_CONFERENCE)
        return self.conferences.conferences_with_participant(
            actor.person, actor.organisation or "", status=status, page_size=page_size,
            page_token=page_token,
        )

    def build_agenda(
        self,
        actor: Actor,
        conference_id: str,
        cases: CaseBriefs,
    ) -> tuple[Fallkonferenz, AgendaBuild]:
        conference = self.conferences.conference(conference_id)
        require(actor, Action.PREPARE_CONFERENCE, conference=conference)
        # Authorised before any brief is fetched: a denied caller makes the case service read nothing.
        horizon = review_horizon(conference.day, self._next_conference_day(conference),
                                 self.review_interval_months)
        candidates = cases.agenda_candidates(conference.coordination_org, horizon - timedelta(days=1))
        result = conference.build_agenda(candidates.briefs, self.clock(), candidates.withdrawn, horizon)
        self.conferences.save_conference(conference)
        return conference, AgendaBuild(result.added, result.skipped, candidates.unreachable)

    def _next_conference_day(self, conference: Fallkonferenz) -> date | None:
        """The day of the Stelle's next Fallkonferenz after `conference` that is still to be
        held (planned or prepared), if one is scheduled."""
        days: list[date] = []
        for status in (ConferenceStatus.PLANNED, ConferenceStatus.PREPARED):
            token = ""
            while True:
                page = self.conferences.conferences(conference.coordination_org, status=status,
                                                    page_size=MAX_PAGE_SIZE, page_token=token)
                days.extend(c.day for c in page if c.day > conference.day)
                token = page.next_page_token
                if not token:
                    break
        return min(days, default=None)

    def refresh_brief(
        self, actor: Actor, conference_id: str, case_id: str, cases: CaseBriefs
    ) -> Fallkonferenz:
        conference = self.conferences.conference(conference_id)
        require(actor, Action.PREPARE_CONFERENCE, conference=conference)
        item = conference.item(case_id)  # NOT_FOUND before asking the case service about a stranger
        # From the node that owns the case (the brief names it; a remote one over the federation).
        conference.refresh_brief(cases.brief(case_id, conference.coordination_org, item.brief.owner_node))
        self.conferences.save_conference(conference)
        return conference

    def start_conference(self, actor: Actor, conference_id: str) -> Fallkonferenz:
        conference = self.conferences.conference(conference_id)
        require(actor, Action.RUN_CONFERENCE, conference=conference)
        conference.start(self.clock())
        self.conferences.save_conference(conference)
        return conference

    def decide_item(
        self, actor: Actor, conference_id: str, case_id: str, decision: Decision
    ) -> Fallkonferenz:
        conference = self.conferences.conference(conference_id)
        require(actor, Action.RUN_CONFERENCE, conference=conference)
        conference.decide(case_id, decision, decided_by=actor.person, now=self.clock())
        self.conferences.save_conference(conference)
        return conference

    def close_conference(self, actor: Actor, conference_id: str) -> Fallkonferenz:
        conference = self.conferences.conference(conference_id)
        require(actor, Action.RUN_CONFERENCE, conference=conference)
        conference.close(closed_by=actor.person, now=self.clock())
        self.conferences.save_conference(conference)
        return conference
