"""What reaches the koordinierende Stelle from other nodes and from its own Projektgruppen, on
the in-memory fake: `Fallvorschlaege` (registered once, only from the owning node, not after its
consent was revoked), `Loeschersuchen` (an erase request counted and confirmed once however often
it is delivered, by however many workers), `Barrierenregister` and `Projektgruppen` (who may
read the register, who prepares a Vorlage)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from kimnetz.errors import PermissionDenied, UntrustedEvent
from kimnetz.runtime.event_trust import Sender
from services.conference.application import VorlageDraft
from services.conference.composition import conference_services
from services.conference.domain.fallkonferenz import Decision, Fallkonferenz
from services.conference.domain.projektgruppe import BarrierObservation, ProjektgruppenMember
from services.conference.domain.proposals import Proposal
from services.conference.domain.vocabulary import BarrierCategory, Handlungsfeld, Rechtskreis, Topic
from services.conference.loeschersuchen import ErasureRequest
from tests.unit.conference.factories import CONFERENCE_START, KI, NOW, make_brief, make_conference
from tests.unit.conference.service_fixtures import (
    CASE_MANAGER,
    KOORD,
    NODE,
    OTHER_KOORD,
    OnFake,
    actor,
    adopt,
    member,
    on_fake,
)

STADT = Sender("stadt-hilden", "stadt-hilden", "municipality")
CARITAS = Sender("caritas-node", "caritas-mettmann", "welfare_org")


def proposal(case_id: str = "case-1", owner: Sender = STADT, minutes: int = 0) -> Proposal:
    return Proposal(case_id=case_id, owner_node=owner.node_id, owner_org=owner.organization,
                    coordination_org=KI, pseudonym="KIM-1", consent_id="consent-1",
                    submitted_at=NOW + timedelta(minutes=minutes), received_at=NOW)


def request(case_id: str = "case-1") -> ErasureRequest:
    return ErasureRequest(case_id=case_id, consent_id="consent-1", pseudonym="KIM-1",
                          owner_org="stadt-hilden", owner_node="stadt-hilden")


# ---------------------------------------------------------------- Fallvorschläge

def test_a_proposal_is_registered_once_and_only_from_its_owning_node() -> None:
    fake = on_fake()
    registry = fake.services.fallvorschlaege
    with pytest.raises(UntrustedEvent):
        registry.register_proposal(proposal(), CARITAS)  # Caritas in the Stadt's name
    assert fake.repository.proposals_of_case("case-1") == []
    assert registry.register_proposal(proposal(), STADT) == "registered"
    assert registry.register_proposal(proposal(), STADT) == "already registered"
    assert len(fake.repository.proposals_of_case("case-1")) == 1


def test_a_proposal_that_its_erase_request_overtook_is_not_kept() -> None:
    fake = on_fake()
    fake.services.loeschersuchen.erase_case(request(), STADT)
    assert fake.services.fallvorschlaege.register_proposal(proposal(), STADT) == "consent revoked"
    assert fake.repository.proposals_of_case("case-1") == []


def test_open_proposals_are_other_nodes_ones_not_decided_since() -> None:
    fake = on_fake()
    registry = fake.services.fallvorschlaege
    own = Sender(NODE, KI, "coordination")
    registry.register_proposal(proposal("case-own", own), own)
    registry.register_proposal(proposal("case-decided"), STADT)
    registry.register_proposal(proposal("case-open"), STADT)
    conference = make_conference()
    conference.build_agenda([make_brief(case_id="case-decided")], NOW)
    conference.start(CONFERENCE_START)
    conference.decide("case-decided", Decision.rejection("kein Bedarf"), decided_by="koord-1",
                      now=CONFERENCE_START)
    fake.repository.save_conference(conference)
    assert [p.case_id for p in registry.remote_open_proposals(KI)] == ["case-open"]


# ---------------------------------------------------------------- erase requests

def conferences_with(fake: OnFake, case_id: str) -> tuple[Fallkonferenz, Fallkonferenz, Fallkonferenz]:
    """The case undecided on a planned agenda, decided in a running and in a closed conference."""
    planned, running, closed = make_conference(), make_conference(), make_conference()
    for conference in (planned, running, closed):
        conference.build_agenda([make_brief(case_id=case_id)], NOW)
    for conference in (running, closed):
        conference.start(CONFERENCE_START)
        conference.decide(case_id, Decision.rejection("kein Bedarf"), decided_by="koord-1",
                          now=CONFERENCE_START)
    closed.close(closed_by="koord-1", now=CONFERENCE_START)
    for conference in (planned, running, closed):
        fake.repository.save_conference(conference)
    return planned, running, closed


def test_an_erase_request_is_carried_out_counted_and_confirmed_once() -> None:
    fake = on_fake()
    fake.services.fallvorschlaege.register_proposal(proposal(), STADT)
    planned, running, closed = conferences_with(fake, "case-1")

    erasure, confirmed = fake.services.loeschersuchen.erase_case(request(), STADT)
    assert confirmed and erasure.confirmed
    counts = (erasure.proposals, erasure.withdrawn, erasure.details_erased, erasure.kept_in_records)
    assert counts == (1, 1, 1, 1)
    assert fake.repository.proposals_of_case("case-1") == []
    assert all(i.case_id != "case-1" for i in fake.repository.conference(planned.conference_id).agenda)
    assert fake.repository.conference(running.conference_id).item("case-1").brief.erased_at is not None
    assert fake.repository.conference(closed.conference_id).item("case-1").brief.erased_at is None

    # Delivered again, and to a second worker: nothing more is done or confirmed.
    again, confirmed_again = fake.services.loeschersuchen.erase_case(request(), STADT)
    second_worker = conference_services(fake.repository.another_writer(), node_id=NODE, register_org=KI,
                                        clock=fake.clock)
    third, confirmed_third = second_worker.loeschersuchen.erase_case(request(), STADT)
    assert not confirmed_again and not confirmed_third
    assert again.summary == third.summary == erasure.summary, "the counts stay the first ones"
    assert fake.repository.event_types().count("kim.conference.v1.CaseDataErased") == 1


def test_an_erase_request_from_a_node_that_does_not_own_the_case_changes_nothing() -> None:
    fake = on_fake()
    fake.services.fallvorschlaege.register_proposal(proposal(), STADT)
    planned, _, _ = conferences_with(fake, "case-1")
    with pytest.raises(UntrustedEvent) as refused:
        fake.services.loeschersuchen.erase_case(request(), CARITAS)
    assert refused.value.reason == "sender-not-allowed"
    assert len(fake.repository.proposals_of_case("case-1")) == 1
    assert fake.repository.conference(planned.conference_id).item("case-1")
    assert "kim.conference.v1.CaseDataErased" not in fake.repository.event_types()


def test_a_node_holds_a_case_while_an_agenda_has_it_or_its_erasure_was_begun() -> None:
    fake = on_fake()
    assert not fake.services.loeschersuchen.holds_case("case-1", "consent-1")
    conferences_with(fake, "case-1")
    assert fake.services.loeschersuchen.holds_case("case-1", "consent-1")
    assert not fake.services.loeschersuchen.holds_case("case-2", "consent-1")
    fake.services.loeschersuchen.erase_case(request("case-2"), STADT)
    assert fake.services.loeschersuchen.holds_case("case-2", "consent-1")


# ---------------------------------------------------------------- barrier register, Projektgruppen

def barrier(i: int) -> BarrierObservation:
    return BarrierObservation(
        barrier_id=f"barrier-{i}", rechtskreise=(Rechtskreis.AUFENTHG, Rechtskreis.SGB_II),
        category=BarrierCategory.WARTEZEIT, recorded_on=date(2025, 3, 1), handlungsfeld=Handlungsfeld.ARBEIT)


def test_a_barrier_counts_once_and_the_register_is_read_only_by_who_may() -> None:
    fake = on_fake()
    register = fake.services.barrierenregister
    recorded = [register.record_barrier(barrier(i)) for i in (1, 1, 2, 3, 4, 5, 6)]
    assert recorded == [True, False, True, True, True, True, True]
    view = register.get_barrier_register(KOORD)
    assert view.total == 6 and [c.count for c in view.cells] == [6]
    for who in (CASE_MANAGER, OTHER_KOORD):
        with pytest.raises(PermissionDenied):
            register.get_barrier_register(who)


def test_projektgruppe_members_prepare_vorlagen_and_read_their_register() -> None:
    fake = on_fake()
    mandate = adopt(fake)
    groups = fake.services.projektgruppen
    with pytest.raises(PermissionDenied):
        groups.establish_projektgruppe(member(1), name="PG Arbeit", topic=Topic.ARBEIT,
                                       mandate_beschluss_id=mandate.beschluss_id, members=[])
    group = groups.establish_projektgruppe(
        KOORD, name="PG Arbeit", topic=Topic.ARBEIT, mandate_beschluss_id=mandate.beschluss_id,
        members=[ProjektgruppenMember("jc-1", "Jobcenter 1", "jobcenter-mettmann")])
    in_group = actor("jc-1", "jobcenter-mettmann")
    elsewhere = actor("jc-1", "jobcenter-anderswo")  # the same username, not a member
    draft = VorlageDraft(title="Clearingstelle", proposed_wording="Eine Clearingstelle einrichten.",
                         responsible_org=KI, due_on=date(2025, 6, 30))
    with pytest.raises(PermissionDenied):
        groups.prepare_vorlage(elsewhere, group.projektgruppe_id, draft)
    vorlage = groups.prepare_vorlage(in_group, group.projektgruppe_id, draft)
    assert vorlage.submitted_by == "jc-1" and vorlage.projektgruppe_id == group.projektgruppe_id
    last = fake.repository.event_types(group.projektgruppe_id)[-1]
    assert last == "kim.conference.v1.BeschlussvorlageSubmitted"

    register = fake.services.barrierenregister
    for i in range(1, 7):
        register.record_barrier(barrier(i))
    assert register.get_barrier_register(in_group, projektgruppe_id=group.projektgruppe_id).total == 6
    with pytest.raises(PermissionDenied):
        register.get_barrier_register(elsewhere, projektgruppe_id=group.projektgruppe_id)
    assert [g.projektgruppe_id for g in groups.list_projektgruppen(KOORD, page_size=0, page_token="")] == [
        group.projektgruppe_id]
