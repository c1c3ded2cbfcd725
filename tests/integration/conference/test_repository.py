"""The conference repository against the real FerretDB: aggregates round-trip, state and events
are one write (the insert of a change document; the aggregate's own document has no outbox),
concurrent edits are refused, queries for overdue Beschlüsse and the barrier register work on
the server."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from kim.conference.v1 import events_pb2
from kimnetz.errors import AlreadyExists, FailedPrecondition, NotFound
from kimnetz.runtime import events
from kimnetz.runtime.changes import ChangeDocument
from kimnetz.runtime.outbox import PendingEvent
from services.conference.domain.beschluss import Beschluss, overdue
from services.conference.domain.fallkonferenz import Decision
from services.conference.domain.lenkungsgruppe import Lenkungsgruppe
from services.conference.domain.projektgruppe import BarrierObservation, BarrierRegister
from services.conference.domain.vocabulary import (
    BarrierCategory,
    BeschlussStatus,
    ConferenceStatus,
    DecisionMode,
    Rechtskreis,
    VorlageKind,
)
from services.conference.repository import (
    BeschlussChange,
    ConferenceChange,
    ConferenceDocument,
    LenkungsgruppeChange,
    MongoConferenceRepository,
)
from tests.unit.conference.factories import (
    CONFERENCE_START,
    NOW,
    make_beschluss,
    make_brief,
    make_conference,
    make_gremium,
    make_identity,
    make_open_session,
    make_review_brief,
    make_vorlage,
    make_zielgruppen,
    next_id,
)


def pending(change_cls: type[ChangeDocument], aggregate_id: str) -> list[PendingEvent]:
    """The unsent events of every stored version of the aggregate, oldest first."""
    return [e for c in change_cls.objects(aggregate_id=aggregate_id).order_by("version") for e in c.outbox]


def outbox_types(change_cls: type[ChangeDocument], aggregate_id: str) -> list[str]:
    return [e.routing_key for e in pending(change_cls, aggregate_id)]


def test_conference_round_trips_with_its_decision_events_in_the_same_document(
    repository: MongoConferenceRepository,
) -> None:
    conference = make_conference(coordination_org=next_id("ki"))
    proposal = make_brief(coordination_org=conference.coordination_org, identity=make_identity())
    conference.build_agenda([proposal, make_review_brief()], NOW)
    conference.start(CONFERENCE_START)
    conference.decide(
        proposal.case_id, Decision.admission("awo", "cm-1"), decided_by="koord-1", now=CONFERENCE_START
    )
    repository.save_conference(conference)
    assert conference.events == []

    loaded = MongoConferenceRepository(repository.node_id).conference(conference.conference_id)
    assert loaded == conference
    assert outbox_types(ConferenceChange, conference.conference_id) == [
        "kim.conference.v1.ConferenceAgendaBuilt",
        "kim.conference.v1.CaseAdmissionDecided",
    ]
    assert "outbox" not in ConferenceDocument._get_collection().find_one(
        {"conference_id": conference.conference_id}
    )
    stored = pending(ConferenceChange, conference.conference_id)[1]
    message = events.unpack(events.decode(stored.body))
    assert isinstance(message, events_pb2.CaseAdmissionDecided)
    assert (message.context.case_id, message.case_manager) == (proposal.case_id, "cm-1")
    assert stored.exchange == "conference.events"


def test_later_saves_append_events_and_keep_unsent_ones(repository: MongoConferenceRepository) -> None:
    brief = make_brief()
    conference = make_conference()
    conference.build_agenda([brief], NOW)
    conference.start(CONFERENCE_START)
    repository.save_conference(conference)
    conference.close(closed_by="koord-1", now=CONFERENCE_START)
    repository.save_conference(conference)
    assert outbox_types(ConferenceChange, conference.conference_id) == [
        "kim.conference.v1.ConferenceAgendaBuilt",
        "kim.conference.v1.ConferenceClosed",
    ]
    assert repository.conference(conference.conference_id).status is ConferenceStatus.CLOSED


def test_concurrent_edit_is_refused_and_changes_nothing(repository: MongoConferenceRepository) -> None:
    brief = make_brief()
    conference = make_conference()
    conference.build_agenda([brief], NOW)
    conference.start(CONFERENCE_START)
    repository.save_conference(conference)

    node = repository.node_id
    mine, theirs = MongoConferenceRepository(node), MongoConferenceRepository(node)
    a, b = mine.conference(conference.conference_id), theirs.conference(conference.conference_id)
    a.decide(brief.case_id, Decision.rejection("nicht komplex"), decided_by="k1", now=CONFERENCE_START)
    mine.save_conference(a)
    b.decide(brief.case_id, Decision.admission("awo", "cm"), decided_by="k2", now=CONFERENCE_START)
    with pytest.raises(FailedPrecondition, match="neu laden"):
        theirs.save_conference(b)
    stored = repository.conference(conference.conference_id)
    assert stored.item(brief.case_id).decision.reason == "nicht komplex"  # type: ignore[union-attr]


def test_unknown_conference_is_not_found(repository: MongoConferenceRepository) -> None:
    with pytest.raises(NotFound, match="gibt es nicht"):
        repository.conference("does-not-exist")


def test_conferences_are_listed_by_koordinierende_stelle_in_pages(
        repository: MongoConferenceRepository) -> None:
    org = next_id("ki")
    for _ in range(3):
        repository.save_conference(make_conference(coordination_org=org))
    first = repository.conferences(org, page_size=2)
    second = repository.conferences(org, page_size=2, page_token=first.next_page_token)
    assert (len(first), len(second), second.next_page_token) == (2, 1, "")
    assert not {c.conference_id for c in first} & {c.conference_id for c in second}
    assert len(repository.conferences(org, status=ConferenceStatus.CLOSED)) == 0


def test_gremium_session_and_zielgruppen_beschluss_round_trip(repository: MongoConferenceRepository) -> None:
    gremium = make_gremium()
    repository.save_gremium(gremium)
    assert repository.gremium(gremium.gremium_id) == gremium

    vorlage = make_vorlage(kind=VorlageKind.ZIELGRUPPEN, zielgruppen=make_zielgruppen())
    session = make_open_session(gremium, vorlagen=[vorlage])
    latest = repository.latest_zielgruppen_version(gremium.coordination_org)
    beschluss = session.conclude(
        vorlage.vorlage_id, mode=DecisionMode.CONSENSUS, now=NOW, latest_zielgruppen_version=latest
    )
    assert beschluss is not None
    repository.save_session(session)
    repository.save_beschluss(beschluss)

    assert repository.session(session.session_id) == session
    assert repository.beschluss(beschluss.beschluss_id) == beschluss
    assert repository.latest_zielgruppen_version(gremium.coordination_org) == 2
    stored = pending(BeschlussChange, beschluss.beschluss_id)
    defined = events.unpack(events.decode(stored[1].body))
    assert isinstance(defined, events_pb2.ZielgruppenDefined)
    assert defined.catalogue.version == 2
    assert [d.key for d in defined.catalogue.definitions][:2] == ["umf", "geduldete_gestattete_ueber_27"]
    assert defined.catalogue.definitions[1].min_age == 28


def _adopt_zielgruppen(
        repository: MongoConferenceRepository, gremium: Lenkungsgruppe, latest: int | None) -> Beschluss:
    vorlage = make_vorlage(kind=VorlageKind.ZIELGRUPPEN, zielgruppen=make_zielgruppen())
    session = make_open_session(gremium, vorlagen=[vorlage])
    beschluss = session.conclude(
        vorlage.vorlage_id, mode=DecisionMode.CONSENSUS, now=NOW, latest_zielgruppen_version=latest
    )
    assert beschluss is not None and beschluss.zielgruppen is not None
    repository.save_session(session)
    repository.save_beschluss(beschluss)
    return beschluss


def test_zielgruppen_versions_continue_across_lenkungsgruppen_of_the_same_stelle(
        repository: MongoConferenceRepository) -> None:
    # The case service keeps one catalogue sequence per node and keeps a version it already
    # has: a Lenkungsgruppe re-constituted after an election must not publish version 2 again.
    stelle, other = next_id("ki"), next_id("ki")
    first = replace(make_gremium(), coordination_org=stelle, gremium_id=next_id("gremium"))
    second = replace(make_gremium(), coordination_org=stelle, gremium_id=next_id("gremium"))
    elsewhere = replace(make_gremium(), coordination_org=other, gremium_id=next_id("gremium"))
    for gremium in (first, second, elsewhere):
        repository.save_gremium(gremium)

    adopted = _adopt_zielgruppen(repository, first, repository.latest_zielgruppen_version(stelle))
    assert adopted.zielgruppen is not None and adopted.zielgruppen.version == 2
    assert repository.latest_zielgruppen_version(stelle) == 2
    successor = _adopt_zielgruppen(repository, second, repository.latest_zielgruppen_version(stelle))
    assert successor.zielgruppen is not None and successor.zielgruppen.version == 3
    assert repository.latest_zielgruppen_version(stelle) == 3
    assert repository.latest_zielgruppen_version(other) is None  # each Stelle has its own sequence

    # Two results racing on the same version: the index keeps one, also across Lenkungsgruppen.
    with pytest.raises(AlreadyExists):
        _adopt_zielgruppen(repository, first, 2)
    own = _adopt_zielgruppen(repository, elsewhere, repository.latest_zielgruppen_version(other))
    assert own.zielgruppen is not None and own.zielgruppen.version == 2


def test_overdue_query_matches_the_domain_rule(repository: MongoConferenceRepository) -> None:
    gremium_id = next_id("gremium")
    made = [
        make_beschluss(gremium_id=gremium_id, due_on=date(2025, 4, 1)),
        make_beschluss(gremium_id=gremium_id, due_on=date(2025, 5, 1), status=BeschlussStatus.IN_PROGRESS),
        make_beschluss(gremium_id=gremium_id, due_on=date(2025, 4, 15), status=BeschlussStatus.IMPLEMENTED),
        make_beschluss(gremium_id=gremium_id, due_on=date(2025, 6, 1)),
    ]
    for b in made:
        repository.save_beschluss(b)
    on = date(2025, 5, 2)
    found = repository.overdue_beschluesse(gremium_id, on)
    assert [b.beschluss_id for b in found] == [b.beschluss_id for b in overdue(made, on)]
    assert len(found) == 2


def test_barrier_register_stores_each_barrier_once_and_suppresses_small_counts(
    repository: MongoConferenceRepository,
) -> None:
    org = next_id("ki")
    observations = [
        BarrierObservation(
            next_id("barrier"),
            (Rechtskreis.AUFENTHG, Rechtskreis.SGB_III),
            BarrierCategory.RECHTLICHE_HUERDE,
            date(2025, 2, 1),
        )
        for _ in range(5)
    ] + [
        BarrierObservation(
            next_id("barrier"), (Rechtskreis.SGB_II,), BarrierCategory.WARTEZEIT, date(2025, 2, 2)
        )
    ]
    assert all(repository.record_barrier(org, o) for o in observations)
    assert repository.record_barrier(org, observations[0]) is False
    view = BarrierRegister(repository.barrier_observations(org)).view()
    assert [c.display for c in view.cells] == ["5", "< 5"]


def test_superseded_changes_leave_by_the_timer_not_by_a_write(repository: MongoConferenceRepository) -> None:
    """A Lenkungsgruppe lives for years: deleting superseded changes on each write filtered the
    whole change collection every time. Writes keep them; `prune_superseded` (the worker's
    timer) deletes those older than a day whose events are sent, keeping the newest."""
    gremium = make_gremium()
    repository.save_gremium(gremium)
    changes = LenkungsgruppeChange._get_collection()  # the relay's and the clock's part, done raw

    def sent_two_days_ago() -> None:
        changes.update_many({"_id": {"$regex": f"^{gremium.gremium_id}:"}},
                            {"$set": {"outbox": [], "written_at": datetime.now(UTC) - timedelta(days=2)}})

    def versions() -> list[int]:
        return sorted(c.version for c in LenkungsgruppeChange.objects(aggregate_id=gremium.gremium_id))

    for number in range(3):
        gremium = repository.gremium(gremium.gremium_id)
        gremium.add_member(person=f"person-{number}", name=f"Mitglied {number}",
                           organisation="kreis-mettmann", function="Fachbereichsleitung", voting=False)
        repository.save_gremium(gremium)
        if number == 1:  # versions 1 to 3 sent and two days old when version 4 is written
            sent_two_days_ago()
    assert versions() == [1, 2, 3, 4]
    sent_two_days_ago()

    assert repository.prune_superseded() >= 3
    assert versions() == [4]
    assert repository.gremium(gremium.gremium_id) == gremium
