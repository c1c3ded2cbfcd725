"""The conference service with the node's real worker (`kim node worker` running the case AND the
conference worker on the session's vhost): Fallkonferenz decisions change the cases once, also
when an event is delivered twice; a Zielgruppen Beschluss of the Lenkungsgruppe becomes the
case service's next eligibility check; barriers recorded on cases are counted in the register
(small counts suppressed, a redelivery counted once); an overdue Beschluss is reminded once.

Everything goes through the real gRPC api with real tokens, except where the test needs a past
it cannot wait for (the overdue Beschluss is decided through the service layer with a clock ten
days back, on the same database the api and the worker use)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from kim.case.v1 import case_pb2, types_pb2 as C
from kim.common.v1.event_pb2 import EventEnvelope
from kim.conference.v1 import conference_pb2 as pb, events_pb2 as ev, types_pb2 as T
from kimnetz.runtime import events
from kimnetz.runtime.amqp import Publisher
from kimnetz.runtime.settings import Settings
from services.conference.application import ResultDeclaration, VorlageDraft
from services.conference.composition import conference_services
from services.conference.domain.lenkungsgruppe import Member
from services.conference.domain.policy import Actor
from services.conference.domain.vocabulary import DecisionMode, VoteChoice
from services.conference.repository import MongoConferenceRepository
from tests.integration.conference.conftest import KREIS, Api, Caller, EventTap
from tests.integration.conference.requests import (
    conference,
    day,
    in_days,
    lenkungsgruppe_with_deciding_member,
    proposal,
    stamp,
    zielgruppen_vorlage,
)
from tests.support.waiting import wait_until

KOORD = Caller(KREIS, "coordinator")
CM = Caller(KREIS, "case_manager")
CM2 = Caller(KREIS, "case_manager", prefix="cm2")
LENKUNG = Caller(KREIS, "steering_member")


def get_case(api: Api, case_id: str) -> case_pb2.Case:
    return api.case_call("GetCase", case_pb2.GetCaseRequest(case_id=case_id), CM)


def submitted(api: Api, caller: Caller, **person: Any) -> str:
    """A Fallvorschlag of `caller` submitted to the Kreis' Fallkonferenz (in review)."""
    overrides: dict[str, Any] = {}
    if person:
        overrides["person"] = case_pb2.Person(**{**_default_person(), **person})
    cid = str(api.case_call("ProposeCase", proposal(**overrides), caller).case_id)
    api.case_call("SubmitForReview", case_pb2.SubmitForReviewRequest(case_id=cid), caller)
    return cid


def _default_person() -> dict[str, Any]:
    base = proposal().person
    return {
        "given_name": base.given_name,
        "family_name": base.family_name,
        "birth_date": base.birth_date,
        "nationalities": list(base.nationalities),
        "country_of_origin": base.country_of_origin,
        "residence": base.residence,
    }


def republish(settings: Settings, exchange: str, envelope: EventEnvelope) -> None:
    """The same envelope once more, as the broker redelivers it after a lost acknowledgement."""
    with Publisher(settings.amqp_uri) as publisher:
        publisher.publish(exchange, envelope.type, envelope.SerializeToString(), envelope.id)


def test_decisions_change_each_case_once_also_when_delivered_twice(
    api: Api, worker: Path, conference_events: EventTap, kreis_settings: Settings
) -> None:
    admitted, referred, deferred, rejected = (
        submitted(api, CM),
        submitted(api, CM2),
        submitted(api, CM),
        submitted(api, CM2),
    )
    before = {cid: get_case(api, cid).version for cid in (admitted, referred, deferred, rejected)}
    cid = api.call(
        "ScheduleConference",
        conference(
            [
                ("koord.kreis", T.PARTICIPANT_ROLE_COORDINATOR, KREIS),
                ("cm.kreis", T.PARTICIPANT_ROLE_CASE_MANAGER, KREIS),
                ("cm2.kreis", T.PARTICIPANT_ROLE_CASE_MANAGER, KREIS),
            ]
        ),
        KOORD,
    ).conference_id
    built = api.call("BuildAgenda", pb.BuildAgendaRequest(conference_id=cid), KOORD)
    assert set(before) <= set(built.added_case_ids)
    api.call("StartConference", pb.StartConferenceRequest(conference_id=cid), KOORD)
    decisions = {
        admitted: pb.Decision(admission=pb.Admission(assigned_org=KREIS, case_manager="cm2.kreis")),
        referred: pb.Decision(referral=pb.Referral(target=T.REFERRAL_TARGET_JMD, reason="unter 27")),
        deferred: pb.Decision(deferral=pb.Deferral(reason="Unterlagen der ABH fehlen",
                                                   reason_code=T.DECISION_REASON_DOCUMENTS_MISSING)),
        rejected: pb.Decision(rejection=pb.Rejection(reason="Kein Bedarf an Rechtskreisabstimmung")),
    }
    for case_id, decision in decisions.items():
        api.call(
            "DecideItem", pb.DecideItemRequest(conference_id=cid, case_id=case_id, decision=decision), KOORD
        )

    expected = {
        admitted: C.CASE_STATUS_ADMITTED,
        referred: C.CASE_STATUS_REFERRED,
        deferred: C.CASE_STATUS_DEFERRED,
        rejected: C.CASE_STATUS_REJECTED,
    }
    wait_until(
        lambda: all(get_case(api, c).status == s for c, s in expected.items()),
        what=f"the cases decided by the worker\n{worker.read_text()[-3000:]}",
    )
    after = {c: get_case(api, c) for c in expected}
    assert {c: (a.version, len(a.decisions)) for c, a in after.items()} == {
        c: (before[c] + 1, 1) for c in expected
    }
    assert after[admitted].case_manager == "cm2.kreis"
    # The event carried the enumerated reason only; the coordinators' wording stays here.
    assert after[deferred].decisions[0].note == "Unterlagen fehlen noch"
    assert after[rejected].decisions[0].note == "Begründung im Protokoll der Fallkonferenz"

    # The broker delivers the admission once more (a lost acknowledgement): nothing changes.
    envelope = next(
        e
        for e in conference_events.drain(
            settle_seconds=0.5,
            until=lambda got: any(e.type == events.event_type(ev.CaseAdmissionDecided) for e in got),
        )
        if e.type == events.event_type(ev.CaseAdmissionDecided)
        and events.unpack(e).context.case_id == admitted  # type: ignore[attr-defined]
    )
    republish(kreis_settings, events.exchange_name("conference"), envelope)
    wait_until(
        lambda: f"decision {envelope.id} already applied" in worker.read_text(),
        what=f"the redelivery handled\n{worker.read_text()[-3000:]}",
    )
    again = get_case(api, admitted)
    assert (again.version, len(again.decisions), again.status) == (
        after[admitted].version,
        1,
        C.CASE_STATUS_ADMITTED,
    )


def adopt_zielgruppen(api: Api, key: str) -> pb.Beschluss:
    """A Lenkungsgruppe session of the Kreis adopting a "Zielgruppen festlegen" Vorlage."""
    gid = lenkungsgruppe_with_deciding_member(api, KOORD)
    sid = api.call(
        "ScheduleSession",
        pb.ScheduleSessionRequest(gremium_id=gid, starts_at=stamp(in_days(1)), place="Kreishaus"),
        KOORD,
    ).session_id
    session = api.call(
        "SubmitVorlage", pb.SubmitVorlageRequest(session_id=sid, vorlage=zielgruppen_vorlage(key=key)), KOORD
    )
    vorlage_id = session.items[0].vorlage.vorlage_id
    api.call("OpenSession", pb.OpenSessionRequest(session_id=sid, present=["lenkung.kreis"]), KOORD)
    api.call(
        "CastVote",
        pb.CastVoteRequest(session_id=sid, vorlage_id=vorlage_id, choice=T.VOTE_CHOICE_YES),
        LENKUNG,
    )
    result = api.call(
        "DeclareResult",
        pb.DeclareResultRequest(session_id=sid, vorlage_id=vorlage_id, mode=T.DECISION_MODE_CONSENSUS),
        KOORD,
    )
    api.call("CloseSession", pb.CloseSessionRequest(session_id=sid), KOORD)
    return result.beschluss


def test_an_adopted_zielgruppe_is_the_case_services_next_eligibility_check(api: Api, worker: Path) -> None:
    # 34 years old with an Aufenthaltserlaubnis under § 25 Abs. 2 AufenthG from Syria: none of
    # the shipped version 1 (UMF, §§ 25a/25b, Geduldete/Gestattete über 27, Süd-Ost-Europa).
    settled = {
        "residence": case_pb2.ResidenceStatus(
            kind=C.RESIDENCE_STATUS_KIND_AUFENTHALTSERLAUBNIS, legal_basis="§ 25 Abs. 2 AufenthG"
        )
    }
    earlier = submitted(api, CM, **settled)
    first = get_case(api, earlier).eligibility
    assert (list(first.matched), first.zielgruppen_version) == ([], 1)

    beschluss = adopt_zielgruppen(api, "frauen_beratung")
    version = beschluss.zielgruppen.version
    assert version >= 2 and beschluss.status == T.BESCHLUSS_STATUS_OPEN

    # The undecided proposal is re-checked once the case service stored the new version ...
    rechecked = wait_until(
        lambda: (e := get_case(api, earlier).eligibility).zielgruppen_version == version and e,
        what=f"the re-check against version {version}\n{worker.read_text()[-3000:]}",
    )
    assert list(rechecked.matched) == ["frauen_beratung"]
    # ... and the next proposal is checked against it from the start.
    later = api.case_call(
        "ProposeCase", proposal(person=case_pb2.Person(**{**_default_person(), **settled})), CM
    )
    assert (later.eligibility.zielgruppen_version, list(later.eligibility.matched)) == (
        version,
        ["frauen_beratung"],
    )


def in_assessment(api: Api) -> str:
    cid = submitted(api, CM)
    api.case_call(
        "AdmitCase",
        case_pb2.AdmitCaseRequest(
            case_id=cid, case_manager="cm.kreis", case_manager_org=KREIS, decision_reference="FK 1/2026"
        ),
        KOORD,
    )
    api.case_call("StartAssessment", case_pb2.CaseRef(case_id=cid), CM)
    return cid


def record_barrier(api: Api, case_id: str, rechtskreise: list[int], category: int) -> None:
    api.case_call(
        "RecordBarrier",
        case_pb2.RecordBarrierRequest(
            case_id=case_id,
            rechtskreise=rechtskreise,
            category=category,
            description="Zuständigkeit zwischen Jugendamt und Sozialamt ungeklärt, Antrag liegt seit Wochen.",
            handlungsfeld=C.HANDLUNGSFELD_AUSBILDUNG,
        ),
        CM,
    )


def cell(register: pb.BarrierRegister, a: int, b: int, category: int) -> pb.RegisterCell | None:
    return next(
        (
            c
            for c in register.cells
            if {c.rechtskreis_a, c.rechtskreis_b} == {a, b} and c.category == category
        ),
        None,
    )


def test_barriers_of_cases_are_counted_by_pair_and_category_and_small_counts_suppressed(
    api: Api, worker: Path, case_events: EventTap, kreis_settings: Settings
) -> None:
    # Pairs and categories no other test of this session records.
    youth_welfare = (C.RECHTSKREIS_SGB_VIII, C.RECHTSKREIS_SGB_XII, C.BARRIER_CATEGORY_INFORMATIONSFLUSS)
    asylum_youth = (C.RECHTSKREIS_ASYLBLG, C.RECHTSKREIS_JMD, C.BARRIER_CATEGORY_SPRACHE)
    cases = [in_assessment(api), in_assessment(api)]
    for i in range(5):
        record_barrier(api, cases[i % 2], list(youth_welfare[:2]), youth_welfare[2])
    for case_id in cases:
        record_barrier(api, case_id, list(asylum_youth[:2]), asylum_youth[2])

    def register() -> pb.BarrierRegister:
        return api.call("GetBarrierRegister", pb.GetBarrierRegisterRequest(), KOORD)

    def counted() -> pb.BarrierRegister | None:
        current = register()
        big = cell(
            current, T.RECHTSKREIS_SGB_VIII, T.RECHTSKREIS_SGB_XII, T.BARRIER_CATEGORY_INFORMATIONSFLUSS
        )
        small = cell(current, T.RECHTSKREIS_ASYLBLG, T.RECHTSKREIS_JMD, T.BARRIER_CATEGORY_SPRACHE)
        return current if big is not None and big.count == 5 and small is not None else None

    current = wait_until(counted, what=f"seven barriers in the register\n{worker.read_text()[-3000:]}")
    small = cell(current, T.RECHTSKREIS_ASYLBLG, T.RECHTSKREIS_JMD, T.BARRIER_CATEGORY_SPRACHE)
    assert small is not None and small.display == "< 5" and not small.HasField("count")
    big = cell(current, T.RECHTSKREIS_SGB_VIII, T.RECHTSKREIS_SGB_XII, T.BARRIER_CATEGORY_INFORMATIONSFLUSS)
    assert big is not None and big.display == "5"
    # The steering group reads the same register; a case manager does not.
    assert api.call("GetBarrierRegister", pb.GetBarrierRegisterRequest(), LENKUNG) == current

    # One of the five barrier events delivered again: still five.
    recorded = [
        e
        for e in case_events.drain(
            settle_seconds=0.5,
            until=lambda got: sum(e.type == "kim.case.v1.BarrierRecorded" for e in got) >= 7,
        )
        if e.type == "kim.case.v1.BarrierRecorded"
    ]
    envelope = next(
        e
        for e in recorded
        if events.unpack(e).case_id in cases  # type: ignore[attr-defined]
        and events.unpack(e).category == C.BARRIER_CATEGORY_INFORMATIONSFLUSS  # type: ignore[attr-defined]
    )
    republish(kreis_settings, events.exchange_name("case"), envelope)
    wait_until(
        lambda: f"barrier event {envelope.id} already counted" in worker.read_text(),
        what=f"the redelivered barrier handled\n{worker.read_text()[-3000:]}",
    )
    again = cell(
        register(), T.RECHTSKREIS_SGB_VIII, T.RECHTSKREIS_SGB_XII, T.BARRIER_CATEGORY_INFORMATIONSFLUSS
    )
    assert again is not None and again.count == 5


def test_an_overdue_beschluss_is_reminded_once_by_the_worker(
    api: Api, worker: Path, conference_events: EventTap, kreis_settings: Settings
) -> None:
    # Ten days ago the Lenkungsgruppe decided something due three days ago.
    then = datetime.now(UTC) - timedelta(days=10)
    past = conference_services(
        MongoConferenceRepository(kreis_settings.node_id), node_id=kreis_settings.node_id,
        register_org=KREIS, clock=lambda: then,
    )
    koord = Actor("koord.kreis", KREIS, frozenset({"coordinator"}))
    gremium = past.lenkungsgruppen.create_lenkungsgruppe(koord, "Lenkungsgruppe KIM")
    past.lenkungsgruppen.add_member(
        koord, gremium.gremium_id, Member("", "lenkung.kreis", "Lena Lenkung", KREIS, "Dezernentin")
    )
    session = past.sitzungen.schedule_session(
        koord, gremium.gremium_id, starts_at=then + timedelta(hours=2), place="Kreishaus"
    )
    due = date.today() - timedelta(days=3)
    session = past.sitzungen.submit_vorlage(
        koord,
        session.session_id,
        VorlageDraft(
            title="Clearingstelle Ausbildung und Duldung",
            proposed_wording="Jobcenter, Agentur und ABH richten eine gemeinsame Clearingstelle ein.",
            responsible_org=KREIS,
            responsible_person="lenkung.kreis",
            due_on=due,
        ),
    )
    vorlage_id = session.items[0].vorlage.vorlage_id
    past.sitzungen.open_session(koord, session.session_id, {"lenkung.kreis"})
    past.sitzungen.cast_vote(
        Actor("lenkung.kreis", KREIS, frozenset({"steering_member"})),
        session.session_id,
        vorlage_id,
        VoteChoice.YES,
    )
    _, beschluss = past.sitzungen.declare_result(
        koord, session.session_id, ResultDeclaration(vorlage_id, DecisionMode.CONSENSUS)
    )
    assert beschluss is not None

    overdue = events.event_type(ev.BeschlussOverdue)

    def reminders(got: list[Any]) -> list[ev.BeschlussOverdue]:
        return [
            m
            for e in got
            if e.type == overdue and (m := events.unpack(e)).beschluss_id == beschluss.beschluss_id  # type: ignore[attr-defined]
        ]

    # The timer runs every second: several more runs within the settle time would each have
    # sent a duplicate.
    received = conference_events.drain(settle_seconds=5, timeout=60, until=lambda got: bool(reminders(got)))
    [reminder] = reminders(received)
    assert (reminder.due_on, reminder.days_overdue, reminder.responsible_person) == (
        day(due),
        3,
        "lenkung.kreis",
    )
    listed = api.call(
        "ListOverdueBeschluesse", pb.ListOverdueBeschluesseRequest(gremium_id=gremium.gremium_id), LENKUNG
    )
    assert [b.beschluss_id for b in listed.beschluesse] == [beschluss.beschluss_id]
