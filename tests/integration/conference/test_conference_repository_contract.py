"""One contract for the conference service's repository ports (services/conference/domain/
ports.py), run against the in-memory fake the unit tests use (tests/support/fakes/conference.py)
and against the mongoengine adapter on the real MongoDB-wire server (FerretDB locally): what the
service layer relies on — copies, not-found, uniqueness, version conflicts, events recorded with
the save, filters, order and pages — holds for both, so the fast unit tests of the service layer
say something about production."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import date, timedelta

import pytest

from kimnetz.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound
from kimnetz.runtime.changes import ChangeDocument
from kimnetz.runtime.settings import Settings
from services.conference.domain.beschluss import Beschluss
from services.conference.domain.fallkonferenz import Decision, Fallkonferenz, Participant
from services.conference.domain.lenkungsgruppe import Lenkungsgruppe
from services.conference.domain.ports import ConferenceRepository
from services.conference.domain.projektgruppe import BarrierObservation, Projektgruppe
from services.conference.domain.proposals import Erasure, Proposal
from services.conference.domain.sitzung import Sitzung
from services.conference.domain.vocabulary import (
    BarrierCategory,
    BeschlussStatus,
    ConferenceStatus,
    DecisionMode,
    ParticipantRole,
    Rechtskreis,
    ReferralTarget,
    Topic,
    VorlageKind,
)
from services.conference.repository import (
    BeschlussChange,
    ConferenceChange,
    ErasureChange,
    LenkungsgruppeChange,
    MongoConferenceRepository,
    ProjektgruppeChange,
    SessionChange,
)
from tests.support.fakes.conference import InMemoryConferenceRepository
from tests.unit.conference.factories import (
    CONFERENCE_START,
    NOW,
    make_brief,
    make_conference,
    make_gremium,
    make_open_session,
    make_participants,
    make_vorlage,
    make_zielgruppen,
    next_id,
)

CHANGES: list[type[ChangeDocument]] = [
    ConferenceChange, LenkungsgruppeChange, SessionChange, BeschlussChange, ProjektgruppeChange,
    ErasureChange,
]


@dataclass
class Subject:
    repository: ConferenceRepository
    #: A second writer over the same storage (another api process or worker).
    another_writer: Callable[[], ConferenceRepository]
    #: The contract message names of the events saved with an aggregate, oldest first.
    event_types: Callable[[str], list[str]]


def _mongo_event_types(aggregate_id: str) -> list[str]:
    return [e.routing_key for change_cls in CHANGES
            for c in change_cls.objects(aggregate_id=aggregate_id).order_by("version") for e in c.outbox]


@pytest.fixture(params=["in-memory fake", "mongoengine on FerretDB"])
def subject(request: pytest.FixtureRequest) -> Iterator[Subject]:
    if request.param == "in-memory fake":
        fake = InMemoryConferenceRepository("kreis-node")
        yield Subject(fake, fake.another_writer, fake.event_types)
        return
    settings: Settings = request.getfixturevalue("conference_db")
    yield Subject(MongoConferenceRepository(settings.node_id),
                  lambda: MongoConferenceRepository(settings.node_id), _mongo_event_types)


def stelle() -> str:
    return next_id("ki-contract")


def gremium_of(org: str) -> Lenkungsgruppe:
    return replace(make_gremium(), coordination_org=org, gremium_id=next_id("gremium"))


def adopted(session: Sitzung, **vorlage: object) -> Beschluss:
    """A Beschluss of a new Vorlage on the open `session` (concluded by consensus)."""
    draft = make_vorlage(**vorlage)
    session.add_to_agenda(draft)
    beschluss = session.conclude(draft.vorlage_id, mode=DecisionMode.CONSENSUS, now=NOW,
                                 latest_zielgruppen_version=None)
    assert beschluss is not None
    return beschluss


# ---------------------------------------------------------------- loads, saves, versions

def test_a_saved_aggregate_loads_equal_and_as_an_independent_copy(subject: Subject) -> None:
    repository = subject.repository
    conference = make_conference(coordination_org=stelle())
    conference.build_agenda([make_brief(coordination_org=conference.coordination_org)], NOW)
    repository.save_conference(conference)
    assert conference.events == [], "the save takes the pending events"

    loaded = subject.another_writer().conference(conference.conference_id)
    assert loaded == conference
    loaded.start(CONFERENCE_START)
    assert repository.conference(conference.conference_id).status is ConferenceStatus.PREPARED


def test_every_save_records_its_events_with_it_in_order(subject: Subject) -> None:
    repository = subject.repository
    conference = make_conference(coordination_org=stelle())
    brief = make_brief(coordination_org=conference.coordination_org)
    conference.build_agenda([brief], NOW)
    repository.save_conference(conference)
    conference.start(CONFERENCE_START)
    conference.decide(brief.case_id, Decision.rejection("kein Bedarf"), decided_by="koord-1",
                      now=CONFERENCE_START)
    repository.save_conference(conference)
    assert subject.event_types(conference.conference_id) == [
        "kim.conference.v1.ConferenceAgendaBuilt",
        "kim.conference.v1.CaseRejectionDecided",
    ]


@pytest.mark.parametrize("load", [
    lambda r: r.conference("nope"), lambda r: r.gremium("nope"), lambda r: r.session("nope"),
    lambda r: r.beschluss("nope"), lambda r: r.projektgruppe("nope"),
])
def test_an_unknown_id_is_not_found_in_german(
        subject: Subject, load: Callable[[ConferenceRepository], object]) -> None:
    with pytest.raises(NotFound, match="gibt es nicht"):
        load(subject.repository)
    assert subject.repository.erasure("nope") is None


def test_a_new_aggregate_with_a_taken_id_is_refused_and_changes_nothing(subject: Subject) -> None:
    org = stelle()
    gremium = gremium_of(org)
    subject.repository.save_gremium(gremium)
    impostor = replace(gremium, name="Andere Lenkungsgruppe")
    with pytest.raises(AlreadyExists):
        subject.another_writer().save_gremium(impostor)
    assert subject.repository.gremium(gremium.gremium_id).name == gremium.name


def test_of_two_writers_of_one_version_the_second_is_refused_and_keeps_its_events(subject: Subject) -> None:
    conference = make_conference(coordination_org=stelle())
    brief = make_brief(coordination_org=conference.coordination_org)
    conference.build_agenda([brief], NOW)
    conference.start(CONFERENCE_START)
    subject.repository.save_conference(conference)

    mine, theirs = subject.another_writer(), subject.another_writer()
    a, b = mine.conference(conference.conference_id), theirs.conference(conference.conference_id)
    a.decide(brief.case_id, Decision.rejection("nicht komplex"), decided_by="k1", now=CONFERENCE_START)
    mine.save_conference(a)
    b.decide(brief.case_id, Decision.admission("awo", "cm"), decided_by="k2", now=CONFERENCE_START)
    with pytest.raises(FailedPrecondition, match="neu laden"):
        theirs.save_conference(b)
    assert len(b.events) == 1, "the refused save's events stay with its aggregate"
    stored = subject.repository.conference(conference.conference_id)
    assert stored.item(brief.case_id).decision.reason == "nicht komplex"  # type: ignore[union-attr]
    assert subject.event_types(conference.conference_id)[-1] == "kim.conference.v1.CaseRejectionDecided"

    reloaded = theirs.conference(conference.conference_id)  # after a reload the writer may save
    reloaded.close(closed_by="k2", now=CONFERENCE_START)
    theirs.save_conference(reloaded)
    assert subject.repository.conference(conference.conference_id).status is ConferenceStatus.CLOSED


def test_an_erasure_is_counted_once_and_confirmed_once(subject: Subject) -> None:
    case_id = next_id("case")
    erasure = Erasure(erasure_id=Erasure.id_for(case_id, "consent-1"), case_id=case_id, pseudonym="KIM-1",
                      owner_node="stadt-hilden", owner_org="stadt-hilden", consent_id="consent-1",
                      coordination_org=stelle(), erased_by_node="kreis-node", requested_at=NOW)
    assert not subject.repository.erased(case_id, "consent-1")
    subject.repository.save_erasure(erasure)
    assert subject.repository.erased(case_id, "consent-1")
    with pytest.raises(AlreadyExists):
        subject.another_writer().save_erasure(replace(erasure, proposals=3))

    first, second = subject.another_writer(), subject.another_writer()
    a, b = first.erasure(erasure.erasure_id), second.erasure(erasure.erasure_id)
    assert a is not None and b is not None and not a.confirmed
    a.confirm(NOW)
    first.save_erasure(a)
    b.confirm(NOW)
    with pytest.raises(FailedPrecondition):
        second.save_erasure(b)
    confirmed = subject.repository.erasure(erasure.erasure_id)
    assert confirmed is not None and confirmed.confirmed
    assert subject.event_types(erasure.erasure_id) == ["kim.conference.v1.CaseDataErased"]


# ---------------------------------------------------------------- lists: filters, order, pages

def test_conferences_are_listed_per_stelle_latest_first_in_pages(subject: Subject) -> None:
    repository, org = subject.repository, stelle()
    starts = [CONFERENCE_START + timedelta(days=d) for d in (0, 2, 1)]
    saved = [make_conference(coordination_org=org, starts_at=s) for s in starts]
    for conference in [*saved, make_conference(coordination_org=stelle())]:
        repository.save_conference(conference)
    prepared = repository.conference(saved[0].conference_id)
    prepared.build_agenda([make_brief(coordination_org=org)], NOW)
    repository.save_conference(prepared)

    first = repository.conferences(org, page_size=2)
    assert [c.starts_at for c in first] == [starts[1], starts[2]] and first.next_page_token
    second = repository.conferences(org, page_size=2, page_token=first.next_page_token)
    assert [c.conference_id for c in second] == [saved[0].conference_id] and second.next_page_token == ""
    with_agenda = repository.conferences(org, status=ConferenceStatus.PREPARED)
    assert [c.conference_id for c in with_agenda] == [saved[0].conference_id]
    with pytest.raises(InvalidArgument):
        repository.conferences(org, page_token="kein-token!")


def test_conferences_are_listed_for_whom_they_invite(subject: Subject) -> None:
    """By person (organisation AND username) or by organisation as a non-guest participant,
    across koordinierende Stellen, latest first; as `Fallkonferenz.is_participant` decides."""
    repository, abh, jobcenter = subject.repository, next_id("abh"), next_id("jobcenter")
    lotsin = Participant("lotsin", "Lotsin", ParticipantRole.IMMIGRATION_LIAISON, abh)
    guest = Participant("gast", "Gast", ParticipantRole.GUEST, jobcenter)
    both = make_conference(coordination_org=stelle(), starts_at=CONFERENCE_START,
                           participants=[*make_participants(), lotsin, guest])
    later = make_conference(coordination_org=stelle(), starts_at=CONFERENCE_START + timedelta(days=7),
                            participants=[*make_participants(), lotsin])
    repository.save_conference(both)
    repository.save_conference(later)
    repository.save_conference(make_conference(coordination_org=stelle()))

    assert [c.conference_id for c in repository.conferences_with_participant("lotsin", abh)] == [
        later.conference_id, both.conference_id]
    assert [c.conference_id for c in repository.conferences_with_participant("kollegin", abh)] == [
        later.conference_id, both.conference_id]  # her organisation is invited
    first = repository.conferences_with_participant("lotsin", abh, page_size=1)
    rest = repository.conferences_with_participant("lotsin", abh, page_size=1,
                                                   page_token=first.next_page_token)
    assert [c.conference_id for c in [*first, *rest]] == [later.conference_id, both.conference_id]
    assert [c.conference_id for c in repository.conferences_with_participant("gast", jobcenter)] == [
        both.conference_id]
    assert list(repository.conferences_with_participant("kollege", jobcenter)) == []  # a guest alone
    assert list(repository.conferences_with_participant("lotsin", next_id("abh"))) == []
    assert list(repository.conferences_with_participant(
        "lotsin", abh, status=ConferenceStatus.CLOSED)) == []


def test_lenkungsgruppen_are_listed_per_stelle_by_id(subject: Subject) -> None:
    repository, org = subject.repository, stelle()
    gremien = [gremium_of(org) for _ in range(3)]
    for gremium in [*gremien, gremium_of(stelle())]:
        repository.save_gremium(gremium)
    first = repository.gremien(org, page_size=2)
    rest = repository.gremien(org, page_size=2, page_token=first.next_page_token)
    assert [g.gremium_id for g in [*first, *rest]] == sorted(g.gremium_id for g in gremien)
    assert rest.next_page_token == ""
    assert [g.name for g in first] == [gremien[0].name] * 2
    assert list(repository.gremien(stelle())) == []


def test_sessions_are_listed_per_lenkungsgruppe_latest_first(subject: Subject) -> None:
    repository = subject.repository
    gremium = gremium_of(stelle())
    repository.save_gremium(gremium)
    sessions = [Sitzung.schedule(gremium, starts_at=NOW + timedelta(days=d), place="Kreishaus", now=NOW)
                for d in (1, 3, 2)]
    for session in sessions:
        repository.save_session(session)
    listed = repository.sessions(gremium.gremium_id)
    assert [s.session_id for s in listed] == [sessions[i].session_id for i in (1, 2, 0)]
    assert listed.next_page_token == ""
    first = repository.sessions(gremium.gremium_id, page_size=1)
    assert [s.session_id for s in first] == [sessions[1].session_id] and first.next_page_token


def test_beschluesse_are_filtered_and_listed_by_due_date(subject: Subject) -> None:
    repository, org = subject.repository, stelle()
    gremium = gremium_of(org)
    session = replace(make_open_session(gremium), coordination_org=org)
    late = adopted(session, due_on=date(2025, 9, 30), responsible_person="member-1")
    soon = adopted(session, due_on=date(2025, 4, 30), responsible_person="member-2",
                   responsible_org="abh-mettmann")
    own = adopted(session, due_on=date(2025, 5, 31), responsible_org=org)
    for beschluss in (late, soon, own):
        repository.save_beschluss(beschluss)
    done = repository.beschluss(soon.beschluss_id)
    done.change_status(BeschlussStatus.IMPLEMENTED, by="koord-1", now=NOW)
    repository.save_beschluss(done)

    ids = [b.beschluss_id for b in repository.beschluesse(gremium.gremium_id)]
    assert ids == [soon.beschluss_id, own.beschluss_id, late.beschluss_id]
    open_ = repository.beschluesse(gremium.gremium_id, statuses=[BeschlussStatus.OPEN])
    assert [b.beschluss_id for b in open_] == [own.beschluss_id, late.beschluss_id]
    mine = repository.beschluesse(gremium.gremium_id, responsible_person="member-1")
    assert [b.beschluss_id for b in mine] == [late.beschluss_id]
    stelle_s = repository.beschluesse(gremium.gremium_id, responsible_org=org)
    assert [b.beschluss_id for b in stelle_s] == [own.beschluss_id]
    paged = repository.beschluesse(gremium.gremium_id, page_size=2)
    rest = repository.beschluesse(gremium.gremium_id, page_size=2, page_token=paged.next_page_token)
    assert [b.beschluss_id for b in [*paged, *rest]] == ids


def test_overdue_beschluesse_are_the_pending_ones_due_before_the_day_reminded_once(subject: Subject) -> None:
    repository, org = subject.repository, stelle()
    gremium = gremium_of(org)
    session = replace(make_open_session(gremium), coordination_org=org)
    overdue = adopted(session, due_on=date(2025, 4, 30))
    due_today = adopted(session, due_on=date(2025, 5, 31))
    done = adopted(session, due_on=date(2025, 4, 1))
    done.change_status(BeschlussStatus.DISCARDED, by="koord-1", now=NOW, note="überholt")
    for beschluss in (overdue, due_today, done):
        repository.save_beschluss(beschluss)
    day = date(2025, 5, 31)

    assert [b.beschluss_id for b in repository.overdue_beschluesse(gremium.gremium_id, day)] == [
        overdue.beschluss_id]
    assert overdue.beschluss_id in repository.overdue_beschluss_ids(day, limit=100_000)
    assert due_today.beschluss_id not in repository.overdue_beschluss_ids(day, limit=100_000)
    reminded = repository.beschluss(overdue.beschluss_id)
    assert reminded.remind(day, NOW) is not None
    repository.save_beschluss(reminded)
    assert overdue.beschluss_id not in repository.overdue_beschluss_ids(day, limit=100_000)
    assert subject.event_types(overdue.beschluss_id)[-1] == "kim.conference.v1.BeschlussOverdue"


def test_zielgruppen_versions_are_unique_per_stelle(subject: Subject) -> None:
    repository, org, other = subject.repository, stelle(), stelle()
    assert repository.latest_zielgruppen_version(org) is None

    def catalogue(of: str, latest: int | None) -> Beschluss:
        session = replace(make_open_session(gremium_of(of)), coordination_org=of)
        vorlage = make_vorlage(kind=VorlageKind.ZIELGRUPPEN, zielgruppen=make_zielgruppen())
        session.add_to_agenda(vorlage)
        beschluss = session.conclude(vorlage.vorlage_id, mode=DecisionMode.CONSENSUS, now=NOW,
                                     latest_zielgruppen_version=latest)
        assert beschluss is not None
        return beschluss

    repository.save_beschluss(catalogue(org, None))
    assert repository.latest_zielgruppen_version(org) == 2
    repository.save_beschluss(catalogue(org, 2))
    assert repository.latest_zielgruppen_version(org) == 3
    with pytest.raises(AlreadyExists):
        repository.save_beschluss(catalogue(org, 2))  # a race on version 3: one wins
    repository.save_beschluss(catalogue(other, None))  # another Stelle has its own sequence
    assert repository.latest_zielgruppen_version(org) == 3
    assert repository.latest_zielgruppen_version(other) == 2


def test_projektgruppen_are_listed_per_stelle_by_id(subject: Subject) -> None:
    repository, org = subject.repository, stelle()
    session = replace(make_open_session(gremium_of(org)), coordination_org=org)
    mandate = adopted(session)
    groups = [Projektgruppe.establish(name=f"Projektgruppe {i}", topic=Topic.ARBEIT, mandate=mandate,
                                      now=NOW, projektgruppe_id=next_id("pg")) for i in range(3)]
    for group in groups:
        repository.save_projektgruppe(group)
    group = repository.projektgruppe(groups[0].projektgruppe_id)
    group.prepare_vorlage(title="Clearingstelle", proposed_wording="Eine Clearingstelle einrichten.",
                          submitted_by="pg-1", now=NOW, responsible_org=org, due_on=date(2025, 6, 30))
    repository.save_projektgruppe(group)
    assert subject.event_types(group.projektgruppe_id) == ["kim.conference.v1.BeschlussvorlageSubmitted"]
    assert len(repository.projektgruppe(group.projektgruppe_id).vorlagen) == 1
    listed = repository.projektgruppen(org, page_size=2)
    rest = repository.projektgruppen(org, page_size=2, page_token=listed.next_page_token)
    assert [g.projektgruppe_id for g in [*listed, *rest]] == sorted(g.projektgruppe_id for g in groups)
    assert repository.projektgruppen(stelle()) == []


# ---------------------------------------------------------------- registries

def test_a_barrier_is_recorded_once_per_stelle_register(subject: Subject) -> None:
    repository, org = subject.repository, stelle()
    barrier = BarrierObservation(barrier_id=next_id("barrier"), rechtskreise=(Rechtskreis.AUFENTHG,),
                                 category=BarrierCategory.INFORMATIONSFLUSS, recorded_on=date(2025, 3, 3))
    assert repository.record_barrier(org, barrier)
    assert not repository.record_barrier(org, barrier), "a redelivered event counts once"
    assert repository.barrier_observations(org) == [barrier]
    assert repository.barrier_observations(stelle()) == []


def test_proposals_are_registered_once_listed_and_erased(subject: Subject) -> None:
    repository, org, case_id = subject.repository, stelle(), next_id("case")

    def proposal(owner_node: str, case: str, minutes: int) -> Proposal:
        return Proposal(case_id=case, owner_node=owner_node, owner_org=owner_node, coordination_org=org,
                        pseudonym="KIM-1", consent_id="consent-1",
                        submitted_at=NOW + timedelta(minutes=minutes), received_at=NOW)

    own, remote, again = proposal("kreis-node", next_id("case"), 0), proposal("stadt-hilden", case_id, 1), \
        proposal("stadt-hilden", case_id, 2)
    for p in (own, remote, again):
        assert repository.record_proposal(p)
    assert not repository.record_proposal(remote), "the same submission is registered once"
    assert sorted(p.proposal_id for p in repository.proposals(org)) == sorted(
        p.proposal_id for p in (own, remote, again))
    assert {p.proposal_id for p in repository.proposals(org, other_than_node="kreis-node")} == {
        remote.proposal_id, again.proposal_id}
    assert len(repository.proposals_of_case(case_id)) == 2
    assert repository.delete_proposals(case_id) == 2
    assert repository.proposals_of_case(case_id) == [] and repository.delete_proposals(case_id) == 0


def test_conferences_with_a_case_and_its_latest_decision(subject: Subject) -> None:
    repository, org = subject.repository, stelle()
    brief = make_brief(coordination_org=org)
    earlier, later, elsewhere = (make_conference(coordination_org=o) for o in (org, org, stelle()))
    for conference, minutes in ((earlier, 0), (later, 60), (elsewhere, 120)):
        conference.build_agenda([replace(brief, coordination_org=conference.coordination_org)], NOW)
        conference.start(CONFERENCE_START)
        conference.decide(brief.case_id, Decision.rejection("kein Bedarf"), decided_by="koord-1",
                          now=CONFERENCE_START + timedelta(minutes=minutes))
        repository.save_conference(conference)
    untouched: Fallkonferenz = make_conference(coordination_org=org)
    repository.save_conference(untouched)

    assert sorted(repository.conference_ids_with_case(brief.case_id)) == sorted(
        c.conference_id for c in (earlier, later, elsewhere))
    assert repository.decided_at(org, [brief.case_id, "unknown"]) == {
        brief.case_id: CONFERENCE_START + timedelta(minutes=60)}
    assert repository.decided_at(org, []) == {}
    assert repository.admitted(org, [brief.case_id]) == set()  # rejections only


def test_the_cases_a_stelle_admitted_come_back_for_their_reviews(subject: Subject) -> None:
    repository, org = subject.repository, stelle()
    admitted, referred = make_brief(coordination_org=org), make_brief(coordination_org=org)
    conference = make_conference(coordination_org=org)
    conference.build_agenda([admitted, referred], NOW)
    conference.start(CONFERENCE_START)
    conference.decide(admitted.case_id, Decision.admission("stadt-hilden", "cm-1"), decided_by="koord-1",
                      now=CONFERENCE_START)
    conference.decide(referred.case_id, Decision.referral(ReferralTarget.MBE), decided_by="koord-1",
                      now=CONFERENCE_START)
    repository.save_conference(conference)
    assert repository.admitted(org, [admitted.case_id, referred.case_id, "unknown"]) == {admitted.case_id}
    assert repository.admitted(stelle(), [admitted.case_id]) == set()
    assert repository.admitted(org, []) == set()
