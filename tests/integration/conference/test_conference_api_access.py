"""Who may call what on the ConferenceService, over real gRPC with real tokens: every role of the
koordinierende Stelle (Kreis Mettmann, whose node this is) and of a foreign organisation (Stadt
Hilden) against every call, checked against a table written from docs/conference.md
("Authorisation"), not from the code.

The resources are built once; each request is one the allowed callers cannot use to change
anything that matters (a closed conference or session, a value the domain refuses, an unknown
member), so a call answers PERMISSION_DENIED exactly when the caller is not allowed. An allowed
call must then succeed, or answer exactly the refusal its request was built for
(`REFUSED_BY_DESIGN`): an allowed call that crashes, or is refused for another reason, fails."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date, timedelta

import grpc
import pytest
from google.protobuf.message import Message

from kim.case.v1 import case_pb2
from kim.conference.v1 import conference_pb2 as pb, types_pb2 as T
from tests.integration.conference.conftest import HILDEN, KREIS, ROLE_SHORT, Api, Caller
from tests.integration.conference.requests import (
    conference,
    day,
    general_vorlage,
    in_days,
    lenkungsgruppe_with_deciding_member,
    proposal,
    stamp,
)
from tests.support.grpc_calls import violations

KOORD = Caller(KREIS, "coordinator")
CM = Caller(KREIS, "case_manager")
LENKUNG = Caller(KREIS, "steering_member")

METHODS = sorted(pb.DESCRIPTOR.services_by_name["ConferenceService"].methods_by_name)
READ_GREMIUM = {
    "GetLenkungsgruppe",
    "ListLenkungsgruppen",
    "GetSession",
    "ListSessions",
    "GetBeschluss",
    "ListBeschluesse",
    "ListOverdueBeschluesse",
    "ListProjektgruppen",
    "GetProjektgruppe",
}
OWN_STELLE = {"ScheduleConference", "ListConferences", "CreateLenkungsgruppe"}

#: docs/conference.md, "Authorisation": the koordinierende Stelle's coordinators do everything but vote;
#: a coordinator elsewhere runs only their own Stelle's conferences and Lenkungsgruppe; invited
#: case managers and Integrationslots*innen read the Fallkonferenz; steering members of any
#: organisation read the Lenkungsgruppe's work and the barrier register, vote on their own seat
#: and track the Beschlüsse assigned to them; clerks read; data protection and node admins nothing.
ALLOWED: dict[tuple[str, str], set[str]] = {
    (KREIS, "coordinator"): set(METHODS) - {"CastVote"},  # votes belong to the members
    # Every coordinator, case manager and Integrationslots*in lists what invites them.
    (HILDEN, "coordinator"): OWN_STELLE | {"ListInvitedConferences"},
    (KREIS, "case_manager"): {"GetConference", "ListInvitedConferences"},
    (KREIS, "immigration_liaison"): {"GetConference", "ListInvitedConferences"},
    (HILDEN, "case_manager"): {"ListInvitedConferences"},
    (HILDEN, "immigration_liaison"): {"ListInvitedConferences"},
    (KREIS, "steering_member"): READ_GREMIUM
    | {"GetBarrierRegister", "CastVote", "UpdateBeschlussStatus", "RescheduleBeschluss"},
    (HILDEN, "steering_member"): READ_GREMIUM | {"GetBarrierRegister"},
    (KREIS, "clerk"): READ_GREMIUM,
    (HILDEN, "clerk"): READ_GREMIUM,
}


@dataclass(frozen=True)
class Resources:
    conference_id: str  # closed
    case_id: str  # on its agenda
    gremium_id: str
    closed_session_id: str
    closed_vorlage_id: str
    open_session_id: str  # lenkung.kreis holds a seat but is not marked present
    open_vorlage_id: str
    beschluss_id: str  # lenkung.kreis is responsible
    projektgruppe_id: str


@pytest.fixture(scope="module")
def resources(api: Api) -> Resources:
    case_id = api.case_call("ProposeCase", proposal(), CM).case_id
    api.case_call("SubmitForReview", case_pb2.SubmitForReviewRequest(case_id=case_id), CM)
    cid = api.call(
        "ScheduleConference",
        conference(
            [
                ("koord.kreis", T.PARTICIPANT_ROLE_COORDINATOR, KREIS),
                ("cm.kreis", T.PARTICIPANT_ROLE_CASE_MANAGER, KREIS),
            ]
        ),
        KOORD,
    ).conference_id
    api.call("BuildAgenda", pb.BuildAgendaRequest(conference_id=cid), KOORD)
    api.call("StartConference", pb.StartConferenceRequest(conference_id=cid), KOORD)
    api.call("CloseConference", pb.CloseConferenceRequest(conference_id=cid), KOORD)

    gid = lenkungsgruppe_with_deciding_member(api, KOORD)

    def session_with_vorlage() -> tuple[str, str]:
        sid = api.call(
            "ScheduleSession",
            pb.ScheduleSessionRequest(gremium_id=gid, starts_at=stamp(in_days(1)), place="Kreishaus"),
            KOORD,
        ).session_id
        items = api.call(
            "SubmitVorlage", pb.SubmitVorlageRequest(session_id=sid, vorlage=general_vorlage()), KOORD
        ).items
        return sid, items[0].vorlage.vorlage_id

    closed_sid, closed_vid = session_with_vorlage()
    api.call("OpenSession", pb.OpenSessionRequest(session_id=closed_sid, present=["lenkung.kreis"]), KOORD)
    api.call(
        "CastVote",
        pb.CastVoteRequest(session_id=closed_sid, vorlage_id=closed_vid, choice=T.VOTE_CHOICE_YES),
        LENKUNG,
    )
    beschluss = api.call(
        "DeclareResult",
        pb.DeclareResultRequest(session_id=closed_sid, vorlage_id=closed_vid, mode=T.DECISION_MODE_CONSENSUS),
        KOORD,
    ).beschluss
    api.call("CloseSession", pb.CloseSessionRequest(session_id=closed_sid), KOORD)
    open_sid, open_vid = session_with_vorlage()
    api.call("OpenSession", pb.OpenSessionRequest(session_id=open_sid, present=[]), KOORD)

    pgid = api.call(
        "EstablishProjektgruppe",
        pb.EstablishProjektgruppeRequest(
            name="PG Ausbildung",
            topic=T.TOPIC_ARBEIT,
            mandate_beschluss_id=beschluss.beschluss_id,
            members=[
                pb.ProjektgruppeMember(person="jc.leitung", name="Leitung Jobcenter", organisation=KREIS)
            ],
        ),
        KOORD,
    ).projektgruppe_id
    return Resources(
        cid, case_id, gid, closed_sid, closed_vid, open_sid, open_vid, beschluss.beschluss_id, pgid
    )


def requests(r: Resources) -> dict[str, Message]:
    past = day(date.today() - timedelta(days=1))
    return {
        # Creations an allowed coordinator makes for their own Stelle (harmless) or that the
        # domain refuses after the policy let them through.
        "ScheduleConference": conference([("koord.kreis", T.PARTICIPANT_ROLE_COORDINATOR, KREIS)]),
        "ListConferences": pb.ListConferencesRequest(),
        "ListInvitedConferences": pb.ListInvitedConferencesRequest(),
        "GetConference": pb.GetConferenceRequest(conference_id=r.conference_id),
        "BuildAgenda": pb.BuildAgendaRequest(conference_id=r.conference_id),
        "RefreshBrief": pb.RefreshBriefRequest(conference_id=r.conference_id, case_id=r.case_id),
        "StartConference": pb.StartConferenceRequest(conference_id=r.conference_id),
        "DecideItem": pb.DecideItemRequest(
            conference_id=r.conference_id,
            case_id=r.case_id,
            decision=pb.Decision(rejection=pb.Rejection(reason="x")),
        ),
        "CloseConference": pb.CloseConferenceRequest(conference_id=r.conference_id),
        "CreateLenkungsgruppe": pb.CreateLenkungsgruppeRequest(name=""),
        "GetLenkungsgruppe": pb.GetLenkungsgruppeRequest(gremium_id=r.gremium_id),
        "ListLenkungsgruppen": pb.ListLenkungsgruppenRequest(),
        "AddMember": pb.AddMemberRequest(gremium_id=r.gremium_id, member=pb.Member()),
        "AppointDeputy": pb.AppointDeputyRequest(gremium_id=r.gremium_id, member_id="unbekannt"),
        "RemoveMember": pb.RemoveMemberRequest(gremium_id=r.gremium_id, member_id="unbekannt"),
        "ScheduleSession": pb.ScheduleSessionRequest(gremium_id=r.gremium_id, starts_at=stamp(in_days(-1))),
        "GetSession": pb.GetSessionRequest(session_id=r.closed_session_id),
        "ListSessions": pb.ListSessionsRequest(gremium_id=r.gremium_id),
        "SubmitVorlage": pb.SubmitVorlageRequest(session_id=r.closed_session_id, vorlage=general_vorlage()),
        "AddVorlageToAgenda": pb.AddVorlageToAgendaRequest(
            session_id=r.closed_session_id, projektgruppe_id=r.projektgruppe_id, vorlage_id="unbekannt"
        ),
        "OpenSession": pb.OpenSessionRequest(session_id=r.closed_session_id),
        "RecordAttendance": pb.RecordAttendanceRequest(session_id=r.closed_session_id),
        "CastVote": pb.CastVoteRequest(
            session_id=r.open_session_id, vorlage_id=r.open_vorlage_id, choice=T.VOTE_CHOICE_NO
        ),
        "DeclareResult": pb.DeclareResultRequest(
            session_id=r.closed_session_id, vorlage_id=r.closed_vorlage_id, mode=T.DECISION_MODE_CONSENSUS
        ),
        "CloseSession": pb.CloseSessionRequest(session_id=r.closed_session_id),
        "GetBeschluss": pb.GetBeschlussRequest(beschluss_id=r.beschluss_id),
        "ListBeschluesse": pb.ListBeschluesseRequest(gremium_id=r.gremium_id),
        "UpdateBeschlussStatus": pb.UpdateBeschlussStatusRequest(
            beschluss_id=r.beschluss_id, status=T.BESCHLUSS_STATUS_DISCARDED
        ),  # needs a reason
        "RescheduleBeschluss": pb.RescheduleBeschlussRequest(beschluss_id=r.beschluss_id, due_on=past),
        "ListOverdueBeschluesse": pb.ListOverdueBeschluesseRequest(gremium_id=r.gremium_id),
        "EstablishProjektgruppe": pb.EstablishProjektgruppeRequest(
            name="", topic=T.TOPIC_BILDUNG, mandate_beschluss_id=r.beschluss_id
        ),
        "GetProjektgruppe": pb.GetProjektgruppeRequest(projektgruppe_id=r.projektgruppe_id),
        "ListProjektgruppen": pb.ListProjektgruppenRequest(),
        "AddProjektgruppeMember": pb.AddProjektgruppeMemberRequest(
            projektgruppe_id=r.projektgruppe_id, member=pb.ProjektgruppeMember()
        ),
        "RemoveProjektgruppeMember": pb.RemoveProjektgruppeMemberRequest(
            projektgruppe_id=r.projektgruppe_id, person="niemand"
        ),
        "PrepareVorlage": pb.PrepareVorlageRequest(
            projektgruppe_id=r.projektgruppe_id,
            title="Clearingstelle",
            proposed_wording="Die Lenkungsgruppe richtet eine Clearingstelle ein.",
        ),
        "GetBarrierRegister": pb.GetBarrierRegisterRequest(),
    }


FAILED_PRECONDITION, INVALID_ARGUMENT, NOT_FOUND = (
    grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND)
CLOSED_CONFERENCE = (FAILED_PRECONDITION,
                     "Die Fallkonferenz ist abgeschlossen; ihr Protokoll ist unveränderlich.", ())
CLOSED_SESSION = (FAILED_PRECONDITION, "Die Sitzung ist geschlossen.", ())

#: What an allowed caller gets from a request of `requests` that is built to change nothing: the
#: code, the message and the fields of a violation (sorted). Every call not named here must succeed.
REFUSED_BY_DESIGN: dict[str, tuple[grpc.StatusCode, str, tuple[str, ...]]] = {
    # The matrix conference is closed: its protocol cannot change any more.
    "BuildAgenda": (FAILED_PRECONDITION, "Die Tagesordnung kann nur vor Beginn der Fallkonferenz erstellt "
                    "werden (Status: abgeschlossen).", ()),
    "RefreshBrief": CLOSED_CONFERENCE,
    "StartConference": CLOSED_CONFERENCE,
    "DecideItem": CLOSED_CONFERENCE,
    "CloseConference": CLOSED_CONFERENCE,
    # An empty name: no Lenkungsgruppe or Projektgruppe is created.
    "CreateLenkungsgruppe": (INVALID_ARGUMENT, "Die Lenkungsgruppe kann so nicht eingerichtet werden.",
                             ("name",)),
    "EstablishProjektgruppe": (INVALID_ARGUMENT, "Die Projektgruppe kann so nicht eingerichtet werden.",
                               ("name",)),
    # An empty member: nobody joins.
    "AddMember": (INVALID_ARGUMENT, "Das Mitglied kann so nicht aufgenommen werden.",
                  ("function", "name", "organisation", "person")),
    "AddProjektgruppeMember": (INVALID_ARGUMENT, "Das Mitglied kann so nicht aufgenommen werden.",
                               ("name", "organisation", "person")),
    # An unknown member or Vorlage: nobody leaves, nothing is put on the agenda.
    "AppointDeputy": (NOT_FOUND, "Das Mitglied unbekannt gehört nicht zur Lenkungsgruppe.", ()),
    "RemoveMember": (NOT_FOUND, "Das Mitglied unbekannt gehört nicht zur Lenkungsgruppe.", ()),
    "RemoveProjektgruppeMember": (NOT_FOUND, "Diese Person ist nicht Mitglied der Projektgruppe.", ()),
    "AddVorlageToAgenda": (NOT_FOUND, "Die Projektgruppe hat keine Beschlussvorlage unbekannt.", ()),
    # A session in the past without a place: none is scheduled.
    "ScheduleSession": (INVALID_ARGUMENT, "Die Sitzung kann so nicht angesetzt werden.",
                        ("place", "starts_at")),
    # The closed session's agenda, attendance and results are final.
    "SubmitVorlage": CLOSED_SESSION,
    "OpenSession": CLOSED_SESSION,
    "RecordAttendance": CLOSED_SESSION,
    "DeclareResult": CLOSED_SESSION,
    "CloseSession": CLOSED_SESSION,
    # The voter holds a seat in the open session but is not marked present.
    "CastVote": (FAILED_PRECONDITION, "Lena Lenkung ist nicht als anwesend erfasst.", ()),
    # Discarding a Beschluss needs a reason; a new due date must lie ahead and carry a note.
    "UpdateBeschlussStatus": (INVALID_ARGUMENT, "Ungültige Eingabe.", ("note",)),
    "RescheduleBeschluss": (INVALID_ARGUMENT, "Die Frist kann so nicht geändert werden.", ("due_on", "note")),
}

CALLERS = [Caller(org, role) for org, role in itertools.product((KREIS, HILDEN), ROLE_SHORT)]


def test_the_matrix_covers_every_call_of_the_service() -> None:
    placeholder = Resources(*("x" for _ in range(9)))
    assert sorted(requests(placeholder)) == METHODS
    assert set(REFUSED_BY_DESIGN) < set(METHODS)
    # Every call is allowed to somebody, so every expected outcome is checked somewhere.
    assert set().union(*ALLOWED.values()) == set(METHODS)


@pytest.mark.parametrize("caller", CALLERS, ids=str)
@pytest.mark.parametrize("method", METHODS)
def test_every_role_of_both_organisations_gets_exactly_its_calls(
    api: Api, resources: Resources, method: str, caller: Caller
) -> None:
    granted = ALLOWED.get((caller.organization, caller.role), set())
    allowed = method in granted
    try:
        api.call(method, requests(resources)[method], caller)
    except grpc.RpcError as error:
        answered = (error.code(), error.details(), tuple(sorted(violations(error))))
        if not allowed:
            assert error.code() is grpc.StatusCode.PERMISSION_DENIED, f"{method} as {caller}: {answered}"
            assert error.details(), f"{method} as {caller}: a refusal says why"
            return
        assert answered == REFUSED_BY_DESIGN.get(method), f"{method} as {caller} (allowed): {answered}"
        return
    assert allowed, f"{method} answered {caller} although it must be refused"
    assert method not in REFUSED_BY_DESIGN, f"{method} as {caller} succeeded although built to be refused"
