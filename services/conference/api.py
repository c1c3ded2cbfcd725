"""Entry of the conference service into an api process: the `ConferenceService` gRPC servicer.

Who enters: every caller whose bearer token the auth interceptor accepted (`current_principal`).
Each method translates: request -> domain values (messages.py, every field problem at once) ->
one method of the application services (composition.py: they authorise, call the domain,
save with events) -> response. Errors are
`kimnetz.errors`; the error interceptor maps them to status codes with German field violations.

The agenda's briefs come from the case service through the `CaseBriefs` port; this module builds
the gRPC adapter for each call with the caller's own token (case_client.py says why), on a node
of the federation wrapped in the adapter that also asks the owning nodes of proposals sent here
(federated_cases.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import grpc
from google.protobuf.message import Message

from kim.conference.v1 import conference_pb2 as pb, conference_pb2_grpc, types_pb2 as types
from kimnetz.errors import Unauthenticated
from kimnetz.runtime.auth import current_principal
from kimnetz.runtime.grpc_server import Registration
from kimnetz.runtime.outbox import OutboxDocument
from kimnetz.runtime.settings import Settings
from kimnetz.validation import Violations
from services.conference import SERVICE, messages as m
from services.conference.case_client import GrpcCaseBriefs
from services.conference.cases import CaseBriefs, CaseBriefsFor
from services.conference.composition import ConferenceServices, conference_services
from services.conference.domain.fallkonferenz import Fallkonferenz
from services.conference.domain.lenkungsgruppe import PersonKey
from services.conference.domain.policy import Actor
from services.conference.domain.vocabulary import (
    BeschlussStatus,
    ConferenceStatus,
    Topic,
    VoteChoice,
)
from services.conference.federated_cases import FederatedCaseBriefs, PeerCaller
from services.conference.repository import OUTBOX_DOCUMENTS as _AGGREGATES, MongoConferenceRepository

OUTBOX_DOCUMENTS: list[type[OutboxDocument]] = list(_AGGREGATES)

M = TypeVar("M", bound=Message)


def acting() -> Actor:
    """The caller as the domain knows it: people are named by their username (the name the
    Lenkungsgruppe roster and conference invitations use, stable across logins)."""
    principal = current_principal.get()
    if principal is None:  # mounted without authentication: never answer
        raise Unauthenticated("Anmeldung erforderlich.")
    return Actor(principal.username, principal.organization, principal.roles)


def bearer(context: grpc.ServicerContext) -> str:
    metadata = dict(context.invocation_metadata() or ())
    return str(metadata.get("authorization", "")).partition(" ")[2].strip()


def _view(conference: Fallkonferenz) -> pb.Conference:
    """The conference as the caller may read it: briefs only where the person's consent covers
    the caller's organisation (issue 12; docs/conference.md, "Who sees which brief")."""
    return m.conference_message(conference, viewer=acting().organisation)


def _attendees(request: pb.OpenSessionRequest | pb.RecordAttendanceRequest) -> set[PersonKey]:
    """The people present by organisation and username; both must be given."""
    v = Violations()
    for i, ref in enumerate(request.attendees):
        v.text(f"attendees[{i}].organisation", ref.organisation, max_len=100)
        v.text(f"attendees[{i}].person", ref.person, max_len=200)
    v.raise_if_any("Die Anwesenheit ist unvollständig.")
    return {PersonKey(ref.organisation.strip(), ref.person.strip()) for ref in request.attendees}


def ids(v: Violations, request: Any, *fields: str) -> None:
    for field in fields:
        v.text(field, getattr(request, field), max_len=100)


class ConferenceServicer(conference_pb2_grpc.ConferenceServiceServicer):
    """Each rpc method maps the request to domain values, calls the one method of the
    application service of its area that has the rpc's name in snake_case, and maps the result."""

    def __init__(self, services: ConferenceServices, cases_for: CaseBriefsFor) -> None:
        self.fallkonferenzen = services.fallkonferenzen
        self.lenkungsgruppen = services.lenkungsgruppen
        self.sitzungen = services.sitzungen
        self.beschlussverfolgung = services.beschlussverfolgung
        self.projektgruppen = services.projektgruppen
        self.barrierenregister = services.barrierenregister
        self.cases_for = cases_for
        self.notify_outbox: Callable[[], None] = lambda: None

    def _cases(self, context: grpc.ServicerContext) -> CaseBriefs:
        return self.cases_for(bearer(context), acting().person)

    def _saved(self, message: M) -> M:
        self.notify_outbox()  # the events of the save leave now, not at the next sweep
        return message

    # ---------------------------------------------------------------- Fallkonferenzen

    def ScheduleConference(
        self, request: pb.ScheduleConferenceRequest, context: grpc.ServicerContext
    ) -> pb.Conference:
        v = Violations()
        starts_at = m.datetime_from(request, "starts_at", "starts_at", v)
        participants = m.participants_from(request.participants, v)
        v.raise_if_any("Die Fallkonferenz kann so nicht angesetzt werden.")
        assert starts_at is not None
        conference = self.fallkonferenzen.schedule_conference(
            acting(),
            starts_at=starts_at,
            place=request.place,
            video_link=request.video_link,
            participants=participants,
        )
        return self._saved(_view(conference))

    def GetConference(self, request: pb.GetConferenceRequest, context: grpc.ServicerContext) -> pb.Conference:
        _require_ids(request, "conference_id")
        return _view(self.fallkonferenzen.get_conference(acting(), request.conference_id))

    def ListConferences(
        self, request: pb.ListConferencesRequest, context: grpc.ServicerContext
    ) -> pb.ListConferencesResponse:
        v = Violations()
        status = m.enum_from(
            types.ConferenceStatus, ConferenceStatus, request.status, "status", v, required=False
        )
        v.raise_if_any()
        page = self.fallkonferenzen.list_conferences(
            acting(), status=status, page_size=request.page_size, page_token=request.page_token
        )
        return pb.ListConferencesResponse(
            conferences=[_view(c) for c in page], next_page_token=page.next_page_token
        )

    def ListInvitedConferences(
        self, request: pb.ListInvitedConferencesRequest, context: grpc.ServicerContext
    ) -> pb.ListConferencesResponse:
        v = Violations()
        status = m.enum_from(
            types.ConferenceStatus, ConferenceStatus, request.status, "status", v, required=False
        )
        v.raise_if_any()
        page = self.fallkonferenzen.list_invited_conferences(
            acting(), status=status, page_size=request.page_size, page_token=request.page_token
        )
        return pb.ListConferencesResponse(
            conferences=[_view(c) for c in page], next_page_token=page.next_page_token
        )

    def BuildAgenda(
        self, request: pb.BuildAgendaRequest, context: grpc.ServicerContext
    ) -> pb.BuildAgendaResponse:
        _require_ids(request, "conference_id")
        conference, result = self.fallkonferenzen.build_agenda(
            acting(), request.conference_id, self._cases(context)
        )
        return self._saved(
            pb.BuildAgendaResponse(
                conference=_view(conference),
                added_case_ids=list(result.added),
                skipped=[pb.SkippedCase(case_id=s.case_id, reason=s.reason) for s in result.skipped],
                unreachable_nodes=[
                    pb.UnreachableNode(
                        node_id=u.node_id, organisation=u.organisation, reason=u.reason,
                        case_ids=list(u.case_ids), pseudonyms=list(u.pseudonyms),
                    )
                    for u in result.unreachable
                ],
            )
        )

    def RefreshBrief(self, request: pb.RefreshBriefRequest, context: grpc.ServicerContext) -> pb.Conference:
        _require_ids(request, "conference_id", "case_id")
        conference = self.fallkonferenzen.refresh_brief(
            acting(), request.conference_id, request.case_id, self._cases(context)
        )
        return self._saved(_view(conference))

    def StartConference(
        self, request: pb.StartConferenceRequest, context: grpc.ServicerContext
    ) -> pb.Conference:
        _require_ids(request, "conference_id")
        return self._saved(
            _view(self.fallkonferenzen.start_conference(acting(), request.conference_id))
        )

    def DecideItem(self, request: pb.DecideItemRequest, context: grpc.ServicerContext) -> pb.Conference:
        v = Violations()
        ids(v, request, "conference_id", "case_id")
        decision = m.decision_from(request.decision, v)
        v.raise_if_any("Die Entscheidung ist unvollständig.")
        assert decision is not None
        conference = self.fallkonferenzen.decide_item(
            acting(), request.conference_id, request.case_id, decision
        )
        return self._saved(_view(conference))

    def CloseConference(
        self, request: pb.CloseConferenceRequest, context: grpc.ServicerContext
    ) -> pb.Conference:
        _require_ids(request, "conference_id")
        return self._saved(
            _view(self.fallkonferenzen.close_conference(acting(), request.conference_id))
        )

    # ---------------------------------------------------------------- Lenkungsgruppe

    def CreateLenkungsgruppe(
        self, request: pb.CreateLenkungsgruppeRequest, context: grpc.ServicerContext
    ) -> pb.Lenkungsgruppe:
        v = Violations()
        rule = m.decision_rule_from(request.decision_rule, v)
        v.raise_if_any("Die Lenkungsgruppe kann so nicht eingerichtet werden.")
        return self._saved(m.lenkungsgruppe_message(self.lenkungsgruppen.create_lenkungsgruppe(
            acting(), request.name, decision_rule=rule, rules_reference=request.rules_reference)))

    def GetLenkungsgruppe(
        self, request: pb.GetLenkungsgruppeRequest, context: grpc.ServicerContext
    ) -> pb.Lenkungsgruppe:
        _require_ids(request, "gremium_id")
        return m.lenkungsgruppe_message(self.lenkungsgruppen.get_lenkungsgruppe(acting(), request.gremium_id))

    def ListLenkungsgruppen(
        self, request: pb.ListLenkungsgruppenRequest, context: grpc.ServicerContext
    ) -> pb.ListLenkungsgruppenResponse:
        page = self.lenkungsgruppen.list_lenkungsgruppen(
            acting(), page_size=request.page_size, page_token=request.page_token
        )
        return pb.ListLenkungsgruppenResponse(
            lenkungsgruppen=[m.lenkungsgruppe_message(g) for g in page], next_page_token=page.next_page_token
        )

    def AddMember(self, request: pb.AddMemberRequest, context: grpc.ServicerContext) -> pb.Lenkungsgruppe:
        _require_ids(request, "gremium_id")
        gremium = self.lenkungsgruppen.add_member(acting(), request.gremium_id, m.member_from(request.member))
        return self._saved(m.lenkungsgruppe_message(gremium))

    def AppointDeputy(
        self, request: pb.AppointDeputyRequest, context: grpc.ServicerContext
    ) -> pb.Lenkungsgruppe:
        _require_ids(request, "gremium_id", "member_id")
        gremium = self.lenkungsgruppen.appoint_deputy(
            acting(), request.gremium_id, request.member_id, m.deputy_from(request)
        )
        return self._saved(m.lenkungsgruppe_message(gremium))

    def RemoveMember(
        self, request: pb.RemoveMemberRequest, context: grpc.ServicerContext
    ) -> pb.Lenkungsgruppe:
        _require_ids(request, "gremium_id", "member_id")
        gremium = self.lenkungsgruppen.remove_member(acting(), request.gremium_id, request.member_id)
        return self._saved(m.lenkungsgruppe_message(gremium))

    def ScheduleSession(
        self, request: pb.ScheduleSessionRequest, context: grpc.ServicerContext
    ) -> pb.Session:
        v = Violations()
        ids(v, request, "gremium_id")
        starts_at = m.datetime_from(request, "starts_at", "starts_at", v)
        v.raise_if_any("Die Sitzung kann so nicht angesetzt werden.")
        assert starts_at is not None
        session = self.sitzungen.schedule_session(
            acting(), request.gremium_id, starts_at=starts_at, place=request.place
        )
        return self._saved(m.session_message(session))

    def GetSession(self, request: pb.GetSessionRequest, context: grpc.ServicerContext) -> pb.Session:
        _require_ids(request, "session_id")
        return m.session_message(self.sitzungen.get_session(acting(), request.session_id))

    def ListSessions(
        self, request: pb.ListSessionsRequest, context: grpc.ServicerContext
    ) -> pb.ListSessionsResponse:
        _require_ids(request, "gremium_id")
        page = self.sitzungen.list_sessions(
            acting(), request.gremium_id, page_size=request.page_size, page_token=request.page_token
        )
        return pb.ListSessionsResponse(
            sessions=[m.session_message(s) for s in page], next_page_token=page.next_page_token
        )

    def SubmitVorlage(self, request: pb.SubmitVorlageRequest, context: grpc.ServicerContext) -> pb.Session:
        v = Violations()
        ids(v, request, "session_id")
        draft = m.vorlage_draft_from(request.vorlage, v)
        v.raise_if_any("Die Beschlussvorlage ist unvollständig.")
        return self._saved(
            m.session_message(self.sitzungen.submit_vorlage(acting(), request.session_id, draft))
        )

    def AddVorlageToAgenda(
        self, request: pb.AddVorlageToAgendaRequest, context: grpc.ServicerContext
    ) -> pb.Session:
        _require_ids(request, "session_id", "projektgruppe_id", "vorlage_id")
        session = self.sitzungen.add_vorlage_to_agenda(
            acting(), request.session_id, request.projektgruppe_id, request.vorlage_id
        )
        return self._saved(m.session_message(session))

    def OpenSession(self, request: pb.OpenSessionRequest, context: grpc.ServicerContext) -> pb.Session:
        _require_ids(request, "session_id")
        session = self.sitzungen.open_session(
            acting(), request.session_id, {p.strip() for p in request.present}, _attendees(request)
        )
        return self._saved(m.session_message(session))

    def RecordAttendance(
        self, request: pb.RecordAttendanceRequest, context: grpc.ServicerContext
    ) -> pb.Session:
        _require_ids(request, "session_id")
        session = self.sitzungen.record_attendance(
            acting(), request.session_id, {p.strip() for p in request.present}, _attendees(request)
        )
        return self._saved(m.session_message(session))

    def CastVote(self, request: pb.CastVoteRequest, context: grpc.ServicerContext) -> pb.Session:
        v = Violations()
        ids(v, request, "session_id", "vorlage_id")
        choice = m.enum_from(types.VoteChoice, VoteChoice, request.choice, "choice", v)
        v.raise_if_any("Die Stimme ist ungültig.")
        assert choice is not None
        session = self.sitzungen.cast_vote(acting(), request.session_id, request.vorlage_id, choice)
        return self._saved(m.session_message(session))

    def DeclareResult(
        self, request: pb.DeclareResultRequest, context: grpc.ServicerContext
    ) -> pb.DeclareResultResponse:
        v = Violations()
        ids(v, request, "session_id", "vorlage_id")
        result = m.result_from(request, v)
        v.raise_if_any("Das Ergebnis kann so nicht festgestellt werden.")
        assert result is not None
        session, beschluss = self.sitzungen.declare_result(acting(), request.session_id, result)
        response = pb.DeclareResultResponse(session=m.session_message(session))
        if beschluss is not None:
            response.beschluss.CopyFrom(m.beschluss_message(beschluss))
        return self._saved(response)

    def CloseSession(self, request: pb.CloseSessionRequest, context: grpc.ServicerContext) -> pb.Session:
        _require_ids(request, "session_id")
        return self._saved(m.session_message(self.sitzungen.close_session(acting(), request.session_id)))

    # ---------------------------------------------------------------- Beschlussverfolgung

    def GetBeschluss(self, request: pb.GetBeschlussRequest, context: grpc.ServicerContext) -> pb.Beschluss:
        _require_ids(request, "beschluss_id")
        return m.beschluss_message(self.beschlussverfolgung.get_beschluss(acting(), request.beschluss_id))

    def ListBeschluesse(
        self, request: pb.ListBeschluesseRequest, context: grpc.ServicerContext
    ) -> pb.ListBeschluesseResponse:
        v = Violations()
        ids(v, request, "gremium_id")
        statuses = [
            m.enum_from(types.BeschlussStatus, BeschlussStatus, s, f"statuses[{i}]", v)
            for i, s in enumerate(request.statuses)
        ]
        v.raise_if_any()
        page = self.beschlussverfolgung.list_beschluesse(
            acting(),
            request.gremium_id,
            statuses=[s for s in statuses if s is not None],
            responsible_person=request.responsible_person.strip(),
            responsible_org=request.responsible_org.strip(),
            page_size=request.page_size,
            page_token=request.page_token,
        )
        return pb.ListBeschluesseResponse(
            beschluesse=[m.beschluss_message(b) for b in page], next_page_token=page.next_page_token
        )

    def UpdateBeschlussStatus(
        self, request: pb.UpdateBeschlussStatusRequest, context: grpc.ServicerContext
    ) -> pb.Beschluss:
        v = Violations()
        ids(v, request, "beschluss_id")
        status = m.enum_from(types.BeschlussStatus, BeschlussStatus, request.status, "status", v)
        v.raise_if_any()
        assert status is not None
        beschluss = self.beschlussverfolgung.update_beschluss_status(
            acting(), request.beschluss_id, status, request.note
        )
        return self._saved(m.beschluss_message(beschluss))

    def RescheduleBeschluss(
        self, request: pb.RescheduleBeschlussRequest, context: grpc.ServicerContext
    ) -> pb.Beschluss:
        v = Violations()
        ids(v, request, "beschluss_id")
        due_on = m.date_from(request.due_on, "due_on", v, required=True)
        v.raise_if_any("Die Frist kann so nicht geändert werden.")
        assert due_on is not None
        beschluss = self.beschlussverfolgung.reschedule_beschluss(
            acting(), request.beschluss_id, due_on, request.note
        )
        return self._saved(m.beschluss_message(beschluss))

    def ListOverdueBeschluesse(
        self, request: pb.ListOverdueBeschluesseRequest, context: grpc.ServicerContext
    ) -> pb.ListBeschluesseResponse:
        v = Violations()
        ids(v, request, "gremium_id")
        on = m.date_from(request.on, "on", v)
        v.raise_if_any()
        page = self.beschlussverfolgung.list_overdue_beschluesse(
            acting(), request.gremium_id, on, page_size=request.page_size, page_token=request.page_token
        )
        return pb.ListBeschluesseResponse(
            beschluesse=[m.beschluss_message(b) for b in page], next_page_token=page.next_page_token
        )

    # ---------------------------------------------------------------- Projektgruppen

    def EstablishProjektgruppe(
        self, request: pb.EstablishProjektgruppeRequest, context: grpc.ServicerContext
    ) -> pb.Projektgruppe:
        v = Violations()
        ids(v, request, "mandate_beschluss_id")
        topic = m.enum_from(types.Topic, Topic, request.topic, "topic", v)
        v.raise_if_any("Die Projektgruppe kann so nicht eingerichtet werden.")
        assert topic is not None
        group = self.projektgruppen.establish_projektgruppe(
            acting(),
            name=request.name,
            topic=topic,
            mandate_beschluss_id=request.mandate_beschluss_id,
            members=[m.projektgruppe_member_from(x) for x in request.members],
            municipality=request.municipality,
        )
        return self._saved(m.projektgruppe_message(group))

    def GetProjektgruppe(
        self, request: pb.GetProjektgruppeRequest, context: grpc.ServicerContext
    ) -> pb.Projektgruppe:
        _require_ids(request, "projektgruppe_id")
        group = self.projektgruppen.get_projektgruppe(acting(), request.projektgruppe_id)
        return m.projektgruppe_message(group)

    def ListProjektgruppen(
        self, request: pb.ListProjektgruppenRequest, context: grpc.ServicerContext
    ) -> pb.ListProjektgruppenResponse:
        page = self.projektgruppen.list_projektgruppen(
            acting(), page_size=request.page_size, page_token=request.page_token
        )
        return pb.ListProjektgruppenResponse(
            projektgruppen=[m.projektgruppe_message(g) for g in page], next_page_token=page.next_page_token
        )

    def AddProjektgruppeMember(
        self, request: pb.AddProjektgruppeMemberRequest, context: grpc.ServicerContext
    ) -> pb.Projektgruppe:
        _require_ids(request, "projektgruppe_id")
        group = self.projektgruppen.add_projektgruppe_member(
            acting(), request.projektgruppe_id, m.projektgruppe_member_from(request.member)
        )
        return self._saved(m.projektgruppe_message(group))

    def RemoveProjektgruppeMember(
        self, request: pb.RemoveProjektgruppeMemberRequest, context: grpc.ServicerContext
    ) -> pb.Projektgruppe:
        _require_ids(request, "projektgruppe_id", "person")
        group = self.projektgruppen.remove_projektgruppe_member(
            acting(), request.projektgruppe_id, request.person.strip(), request.organisation.strip()
        )
        return self._saved(m.projektgruppe_message(group))

    def PrepareVorlage(
        self, request: pb.PrepareVorlageRequest, context: grpc.ServicerContext
    ) -> pb.Beschlussvorlage:
        v = Violations()
        ids(v, request, "projektgruppe_id")
        draft = m.prepared_draft_from(request, v)
        v.raise_if_any("Die Beschlussvorlage ist unvollständig.")
        return self._saved(
            m.vorlage_message(self.projektgruppen.prepare_vorlage(acting(), request.projektgruppe_id, draft))
        )

    def GetBarrierRegister(
        self, request: pb.GetBarrierRegisterRequest, context: grpc.ServicerContext
    ) -> pb.BarrierRegister:
        v = Violations()
        since = m.date_from(request.since, "since", v)
        v.raise_if_any()
        view = self.barrierenregister.get_barrier_register(
            acting(), projektgruppe_id=request.projektgruppe_id.strip(), since=since
        )
        return m.register_message(view)


def _require_ids(request: Any, *fields: str) -> None:
    v = Violations()
    ids(v, request, *fields)
    v.raise_if_any()


def case_api_target(settings: Settings) -> str:
    """The case api this node's conference calls: configured, or this api process itself."""
    return settings.case_api_target or f"{settings.grpc_host}:{settings.grpc_port}"


#: This service asks other nodes (briefs of their proposals): the composition root hands
#: `registration` the api process's FederationClient.
CALLS_PEERS = True


def registration(settings: Settings, *, federation: PeerCaller | None = None) -> Registration:
    """The api process connects the "conference" database before it adds servicers. The channel
    to the case api connects lazily, at the first agenda built.

    On a node of the federation, `federation` (the api process's one FederationClient, from the
    composition root) fetches the briefs of other nodes' proposals (services/conference/
    federated_cases.py); without, the agenda takes this node's cases only."""
    channel = grpc.insecure_channel(case_api_target(settings))
    services = conference_services(MongoConferenceRepository(settings.node_id), node_id=settings.node_id,
                                   register_org=settings.organization_id,
                                   review_interval_months=settings.review_interval_months)
    peers = federation

    def cases_for(token: str, username: str) -> CaseBriefs:
        local = GrpcCaseBriefs(channel, token, settings.node_id)
        if peers is None:
            return local
        return FederatedCaseBriefs(local, peers, services.fallvorschlaege.remote_agenda_cases,
                                   acting_user=username)

    servicer = ConferenceServicer(services, cases_for)

    def add_to_server(server: grpc.Server) -> None:
        conference_pb2_grpc.add_ConferenceServiceServicer_to_server(servicer, server)  # type: ignore[no-untyped-call]

    def bind_outbox(notify: Callable[[], None]) -> None:
        servicer.notify_outbox = notify

    return Registration(SERVICE, add_to_server, bind_outbox=bind_outbox)
