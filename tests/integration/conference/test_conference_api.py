"""The conference service over real gRPC with real tokens: a Fallkonferenz built from the case
service's proposals and due reviews of several case managers, its decisions published once
each; a Lenkungsgruppe adopting new Zielgruppen versions; bad input that changes nothing."""

from __future__ import annotations

from datetime import date, timedelta

import grpc

from kim.case.v1 import case_pb2, types_pb2 as C
from kim.conference.v1 import conference_pb2 as pb, events_pb2 as ev, types_pb2 as T
from kimnetz.runtime import events
from tests.integration.conference.conftest import HILDEN, KREIS, Api, Caller, EventTap
from tests.integration.conference.requests import (
    conference,
    day,
    general_vorlage,
    in_days,
    proposal,
    stamp,
    zielgruppen_vorlage,
)
from tests.support.grpc_calls import violations

KOORD = Caller(KREIS, "coordinator")
CM = Caller(KREIS, "case_manager")
CM2 = Caller(KREIS, "case_manager", prefix="cm2")
LENKUNG = Caller(KREIS, "steering_member")
LENKUNG_HILDEN = Caller(HILDEN, "steering_member")
CM_HILDEN = Caller(HILDEN, "case_manager")
DECISIONS = {
    "kim.conference.v1.CaseAdmissionDecided",
    "kim.conference.v1.CaseReferralDecided",
    "kim.conference.v1.CaseReviewDecided",
    "kim.conference.v1.CaseDeferralDecided",
    "kim.conference.v1.CaseRejectionDecided",
}


def propose(api: Api, caller: Caller) -> str:
    return str(api.case_call("ProposeCase", proposal(), caller).case_id)


def submitted(api: Api, caller: Caller) -> str:
    """A Fallvorschlag its case manager has handed to the koordinierende Stelle (in review):
    the only kind of proposal the case service applies a decision to."""
    cid = propose(api, caller)
    api.case_call("SubmitForReview", case_pb2.SubmitForReviewRequest(case_id=cid), caller)
    return cid


def active_case(api: Api, caller: Caller) -> str:
    """A case of `caller` taken through admission to an active Integrationsplan (first
    quarterly review three months ahead)."""
    cid = submitted(api, caller)
    api.case_call(
        "AdmitCase",
        case_pb2.AdmitCaseRequest(
            case_id=cid, case_manager=caller.username, case_manager_org=KREIS, decision_reference="FK"
        ),
        KOORD,
    )
    api.case_call("StartAssessment", case_pb2.CaseRef(case_id=cid), caller)
    api.case_call(
        "RecordNeed",
        case_pb2.RecordNeedRequest(
            case_id=cid,
            handlungsfeld=C.HANDLUNGSFELD_AUFENTHALT_IDENTITAET,
            need="Identität ungeklärt",
            priority=C.PRIORITY_HIGH,
        ),
        caller,
    )
    api.case_call("StartPlanning", case_pb2.CaseRef(case_id=cid), caller)
    goal = (
        api.case_call(
            "AddGoal",
            case_pb2.AddGoalRequest(
                case_id=cid,
                title="Identität klären",
                handlungsfeld=C.HANDLUNGSFELD_AUFENTHALT_IDENTITAET,
                due_on=day(date.today() + timedelta(days=90)),
            ),
            caller,
        )
        .goals[0]
        .goal_id
    )
    api.case_call(
        "AddStep",
        case_pb2.AddStepRequest(
            case_id=cid,
            goal_id=goal,
            description="Passbeschaffung",
            responsible="Case Management",
            rechtskreis=C.RECHTSKREIS_AUFENTHG,
        ),
        caller,
    )
    api.case_call("ActivatePlan", case_pb2.CaseRef(case_id=cid), caller)
    return cid


def test_fallkonferenz_from_proposals_and_due_reviews_publishes_each_decision_once(
    api: Api,
    conference_events: EventTap,
) -> None:
    proposals = [submitted(api, CM), submitted(api, CM2)]
    drafted = propose(api, CM)  # not submitted: a decision on it would be refused by its node
    reviews = [active_case(api, CM), active_case(api, CM2)]
    scheduled = api.call(
        "ScheduleConference",
        conference(
            [
                ("koord.kreis", T.PARTICIPANT_ROLE_COORDINATOR, KREIS),
                ("cm.kreis", T.PARTICIPANT_ROLE_CASE_MANAGER, KREIS),
                ("cm2.kreis", T.PARTICIPANT_ROLE_CASE_MANAGER, KREIS),
            ]
        ),
        KOORD,
    )
    cid = scheduled.conference_id

    built = api.call("BuildAgenda", pb.BuildAgendaRequest(conference_id=cid), KOORD)
    kinds = {i.brief.case_id: i.kind for i in built.conference.agenda}
    assert {c: kinds.get(c) for c in proposals} == dict.fromkeys(proposals, T.AGENDA_ITEM_KIND_PROPOSAL)
    assert {c: kinds.get(c) for c in reviews} == dict.fromkeys(reviews, T.AGENDA_ITEM_KIND_REVIEW)
    assert drafted not in kinds
    first = next(i.brief for i in built.conference.agenda if i.brief.case_id == proposals[0])
    assert first.pseudonym.startswith("KIM-") and first.age_band == T.AGE_BAND_FROM_28_TO_39
    assert not first.HasField("identity")  # pseudonymised: no consent covers the conference
    assert api.call("GetConference", pb.GetConferenceRequest(conference_id=cid), CM2).conference_id == cid
    denied = api.fails("GetConference", pb.GetConferenceRequest(conference_id=cid), CM_HILDEN)
    assert denied.code() is grpc.StatusCode.PERMISSION_DENIED

    api.call("StartConference", pb.StartConferenceRequest(conference_id=cid), KOORD)
    decisions = {
        proposals[0]: pb.Decision(admission=pb.Admission(assigned_org=KREIS, case_manager="cm.kreis")),
        proposals[1]: pb.Decision(referral=pb.Referral(target=T.REFERRAL_TARGET_MBE)),
        reviews[0]: pb.Decision(review=pb.Review(outcome=T.REVIEW_OUTCOME_CONTINUE)),
        reviews[1]: pb.Decision(
            review=pb.Review(outcome=T.REVIEW_OUTCOME_ROUND_TABLE, offices_to_invite=["Jobcenter", "ABH"])
        ),
    }
    for case_id, decision in decisions.items():
        api.call(
            "DecideItem", pb.DecideItemRequest(conference_id=cid, case_id=case_id, decision=decision), KOORD
        )
    again = api.fails(
        "DecideItem",
        pb.DecideItemRequest(conference_id=cid, case_id=proposals[0], decision=decisions[proposals[1]]),
        KOORD,
    )
    assert again.code() is grpc.StatusCode.FAILED_PRECONDITION and "bereits entschieden" in again.details()
    closed = api.call("CloseConference", pb.CloseConferenceRequest(conference_id=cid), KOORD)
    assert closed.status == T.CONFERENCE_STATUS_CLOSED

    def mine(envelope: object) -> bool:
        message = events.unpack(envelope)  # type: ignore[arg-type]
        context = getattr(message, "context", None)
        return (
            context.conference_id if context is not None else getattr(message, "conference_id", "")
        ) == cid

    received = [
        e
        for e in conference_events.drain(
            until=lambda got: (
                sum(e.type == "kim.conference.v1.ConferenceClosed" and mine(e) for e in got) == 1
            )
        )
        if mine(e)
    ]
    decided = [events.unpack(e) for e in received if e.type in DECISIONS]
    assert sorted(d.context.case_id for d in decided) == sorted(decisions)  # one message per decision
    assert len({e.id for e in received}) == len(received)
    admission = next(d for d in decided if d.context.case_id == proposals[0])
    assert isinstance(admission, ev.CaseAdmissionDecided) and admission.case_manager == "cm.kreis"
    assert (
        admission.context.owner_org == KREIS
        and "Fallkonferenz kreis-mettmann" in admission.context.decision_reference
    )
    assert [e.type for e in received].count("kim.conference.v1.ConferenceAgendaBuilt") == 1


def test_lenkungsgruppe_adopts_new_zielgruppen_versions_and_publishes_them(
    api: Api,
    conference_events: EventTap,
) -> None:
    gremium = api.call(
        "CreateLenkungsgruppe", pb.CreateLenkungsgruppeRequest(name="Lenkungsgruppe KIM"), KOORD
    )
    gid = gremium.gremium_id
    for person, name in (("lenkung.kreis", "Lena Lenkung"), ("jc.leitung", "Leitung Jobcenter")):
        api.call(
            "AddMember",
            pb.AddMemberRequest(
                gremium_id=gid,
                member=pb.Member(
                    person=person, name=name, organisation=KREIS, function="Amtsleitung", voting=True
                ),
            ),
            KOORD,
        )

    versions = []
    for key in ("frauen_beratung", "frauen_beratung_hsk"):
        session = api.call(
            "ScheduleSession",
            pb.ScheduleSessionRequest(gremium_id=gid, starts_at=stamp(in_days(1)), place="Kreishaus"),
            KOORD,
        )
        sid = session.session_id
        vorlage_id = (
            api.call(
                "SubmitVorlage",
                pb.SubmitVorlageRequest(session_id=sid, vorlage=zielgruppen_vorlage(key=key)),
                KOORD,
            )
            .items[0]
            .vorlage.vorlage_id
        )
        api.call("OpenSession", pb.OpenSessionRequest(session_id=sid, present=["lenkung.kreis"]), KOORD)
        api.call(
            "CastVote",
            pb.CastVoteRequest(session_id=sid, vorlage_id=vorlage_id, choice=T.VOTE_CHOICE_YES),
            LENKUNG,
        )
        # Bad input: not quorate (1 of 2 seats), a vote by a non-member: nothing changes.
        before = api.call("GetSession", pb.GetSessionRequest(session_id=sid), KOORD)
        no_quorum = api.fails(
            "DeclareResult",
            pb.DeclareResultRequest(session_id=sid, vorlage_id=vorlage_id, mode=T.DECISION_MODE_CONSENSUS),
            KOORD,
        )
        assert (
            no_quorum.code() is grpc.StatusCode.FAILED_PRECONDITION
            and "beschlussfähig" in no_quorum.details()
        )
        stranger = api.fails(
            "CastVote",
            pb.CastVoteRequest(session_id=sid, vorlage_id=vorlage_id, choice=T.VOTE_CHOICE_NO),
            LENKUNG_HILDEN,
        )
        assert stranger.code() is grpc.StatusCode.PERMISSION_DENIED
        assert api.call("GetSession", pb.GetSessionRequest(session_id=sid), KOORD) == before

        api.call(
            "RecordAttendance",
            pb.RecordAttendanceRequest(session_id=sid, present=["lenkung.kreis", "jc.leitung"]),
            KOORD,
        )
        # The Lenkungsgruppe decides by Einvernehmen: no majority vote without a Geschäftsordnung.
        outvoting = api.fails(
            "DeclareResult",
            pb.DeclareResultRequest(session_id=sid, vorlage_id=vorlage_id, mode=T.DECISION_MODE_VOTE),
            KOORD,
        )
        assert outvoting.code() is grpc.StatusCode.FAILED_PRECONDITION
        assert "Einvernehmen" in outvoting.details()
        result = api.call(
            "DeclareResult",
            pb.DeclareResultRequest(session_id=sid, vorlage_id=vorlage_id, mode=T.DECISION_MODE_CONSENSUS),
            KOORD,
        )
        # Both members present take part, not only the one who said "ja".
        assert result.beschluss.votes_yes == 2 and result.beschluss.zielgruppen.definitions[1].key == key
        versions.append((result.beschluss.beschluss_id, result.beschluss.zielgruppen.version))
        api.call("CloseSession", pb.CloseSessionRequest(session_id=sid), KOORD)
        late = api.fails(
            "CastVote",
            pb.CastVoteRequest(session_id=sid, vorlage_id=vorlage_id, choice=T.VOTE_CHOICE_NO),
            LENKUNG,
        )
        assert late.code() is grpc.StatusCode.FAILED_PRECONDITION
    assert [v for _, v in versions] == [2, 3]  # version 1 is the catalogue the case service ships

    ids = {b for b, _ in versions}
    defined = [
        events.unpack(e)
        for e in conference_events.drain(
            until=lambda got: sum(e.type == "kim.conference.v1.ZielgruppenDefined" for e in got) >= 2
        )
        if e.type == "kim.conference.v1.ZielgruppenDefined"
    ]
    mine = [d for d in defined if d.beschluss_id in ids]
    assert sorted((d.beschluss_id, d.catalogue.version) for d in mine) == sorted(versions)
    assert all(d.coordination_org == KREIS for d in mine)


def test_bad_input_is_refused_with_field_violations_and_changes_nothing(
    api: Api,
    conference_events: EventTap,
) -> None:
    past = api.fails(
        "ScheduleConference",
        conference([("koord.kreis", T.PARTICIPANT_ROLE_COORDINATOR, KREIS)], days=-2, place=""),
        KOORD,
    )
    assert past.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert "Vergangenheit" in violations(past)["starts_at"] and "place" in violations(past)

    cid = api.call(
        "ScheduleConference", conference([("koord.kreis", T.PARTICIPANT_ROLE_COORDINATOR, KREIS)]), KOORD
    ).conference_id
    before = api.call("GetConference", pb.GetConferenceRequest(conference_id=cid), KOORD)
    stranger = api.fails(
        "DecideItem",
        pb.DecideItemRequest(
            conference_id=cid,
            case_id="not-on-the-agenda",
            decision=pb.Decision(rejection=pb.Rejection(reason="x")),
        ),
        KOORD,
    )
    assert stranger.code() is grpc.StatusCode.NOT_FOUND and "Tagesordnung" in stranger.details()
    empty = api.fails("DecideItem", pb.DecideItemRequest(conference_id=cid, case_id="x"), KOORD)
    assert empty.code() is grpc.StatusCode.INVALID_ARGUMENT and "decision" in violations(empty)
    assert api.call("GetConference", pb.GetConferenceRequest(conference_id=cid), KOORD) == before

    gid = api.call("CreateLenkungsgruppe", pb.CreateLenkungsgruppeRequest(name="LG"), KOORD).gremium_id
    sid = api.call(
        "ScheduleSession",
        pb.ScheduleSessionRequest(gremium_id=gid, starts_at=stamp(in_days(1)), place="Kreishaus"),
        KOORD,
    ).session_id
    overdue_vorlage = general_vorlage()
    overdue_vorlage.due_on.CopyFrom(day(date.today() - timedelta(days=1)))
    bad = api.fails("SubmitVorlage", pb.SubmitVorlageRequest(session_id=sid, vorlage=overdue_vorlage), KOORD)
    assert bad.code() is grpc.StatusCode.INVALID_ARGUMENT and "Vergangenheit" in violations(bad)["due_on"]
    assert not api.call("GetSession", pb.GetSessionRequest(session_id=sid), KOORD).items

    published = conference_events.drain(settle_seconds=1.5, timeout=5)
    assert [e.type for e in published if events.unpack(e).conference_id == cid] == [
        "kim.conference.v1.ConferenceScheduled"
    ]
