"""A revoked consent that named a participant organisation hosted at the Kreis node (the ABH,
whose Integrationslotsin reads the agenda there without a node of its own): the briefs covered
for it are withheld from its participants at once, in open and closed conferences, and the
erasure is confirmed once in its name. `Loeschersuchen` on the in-memory fake
(tests/support/fakes/conference.py); only the case's owning node may ask."""

from __future__ import annotations

import copy

import pytest

from kimnetz.errors import UntrustedEvent
from kimnetz.runtime.event_trust import Sender
from services.conference import contracts
from services.conference.domain import events as ev
from services.conference.domain.briefs import WITHHELD
from services.conference.domain.fallkonferenz import Decision, Fallkonferenz
from services.conference.domain.proposals import Erasure
from services.conference.loeschersuchen import ErasureRequest, Loeschersuchen
from services.conference.messages import conference_message
from tests.support.fakes.conference import InMemoryConferenceRepository
from tests.unit.conference.factories import CONFERENCE_START, KI, NOW, make_brief, make_conference

ABH = "abh-kreis-mettmann"
OWNER = Sender("stadt-hilden", "stadt-hilden", "municipality")
CARITAS = Sender("caritas-node", "caritas-mettmann", "welfare_org")


class MemoryRepository(InMemoryConferenceRepository):
    """The shared fake with the conferences saved, and views of what the tests look at."""

    def __init__(self, *conferences: Fallkonferenz) -> None:
        super().__init__("kreis-node")
        self.ids = [c.conference_id for c in conferences]
        for conference in conferences:
            self.save_conference(copy.deepcopy(conference))

    @property
    def conferences(self) -> dict[str, Fallkonferenz]:
        return {i: self.conference(i) for i in self.ids}

    @property
    def published(self) -> list[ev.Event]:
        return [e.event for e in self.events if e.kind == "erasure"]

    @property
    def erasures(self) -> dict[str, Erasure]:
        erasure = self.erasure(Erasure.id_for(CASE.case_id, "consent-abh"))
        return {erasure.erasure_id: erasure} if erasure else {}


def loeschersuchen(repository: MemoryRepository) -> Loeschersuchen:
    return Loeschersuchen(repository, repository, repository, register_org=KI, node_id=repository.node_id)


def request() -> ErasureRequest:
    return ErasureRequest(case_id=CASE.case_id, consent_id="consent-abh", pseudonym=CASE.pseudonym,
                          owner_org="stadt-hilden", owner_node="stadt-hilden")


CASE = make_brief(covered_orgs=(ABH, KI), owner_node="stadt-hilden", owner_org="stadt-hilden")


def open_and_closed() -> tuple[Fallkonferenz, Fallkonferenz]:
    planned = make_conference()
    planned.build_agenda([CASE], NOW)
    closed = make_conference()
    closed.build_agenda([CASE], NOW)
    closed.start(CONFERENCE_START)
    closed.decide(CASE.case_id, Decision.rejection("kein Bedarf"), decided_by="koord-1",
                  now=CONFERENCE_START)
    closed.close(closed_by="koord-1", now=CONFERENCE_START)
    return planned, closed


def test_the_abh_loses_the_brief_in_open_and_closed_conferences_and_the_kreis_keeps_it() -> None:
    repository = MemoryRepository(*open_and_closed())
    service = loeschersuchen(repository)
    erasure, confirmed = service.withdraw_coverage(request(), ABH, OWNER)
    assert confirmed and erasure is not None and erasure.withheld == 2
    for conference in repository.conferences.values():
        item = conference.item(CASE.case_id)
        assert item.brief.covered_orgs == (KI,)
        assert item.brief.age_band == CASE.age_band, "the record itself stays as it was"
        [abh_item] = conference_message(conference, viewer=ABH).agenda
        assert abh_item.withheld == WITHHELD and not abh_item.HasField("brief")
        assert not abh_item.HasField("decision")
        [kreis_item] = conference_message(conference, viewer=KI).agenda
        assert kreis_item.brief.case_id == CASE.case_id and not kreis_item.withheld
    [event] = repository.published
    assert isinstance(event, ev.CaseDataErased)
    message = contracts.to_message(event)
    assert (message.erased_by_org, message.erased_by_node, message.owner_node,  # type: ignore[attr-defined]
            message.consent_id) == (ABH, "kreis-node", "stadt-hilden", "consent-abh")  # type: ignore[attr-defined]
    assert "2 Kurzinformationen in der Fallkonferenz für abh-kreis-mettmann gesperrt" in erasure.summary


def test_a_redelivered_revocation_confirms_nothing_again() -> None:
    repository = MemoryRepository(*open_and_closed())
    service = loeschersuchen(repository)
    service.withdraw_coverage(request(), ABH, OWNER)
    erasure, confirmed = service.withdraw_coverage(request(), ABH, OWNER)
    assert erasure is not None and not confirmed and len(repository.published) == 1


def test_a_revocation_for_an_organisation_nothing_was_covered_for_changes_and_confirms_nothing() -> None:
    repository = MemoryRepository(*open_and_closed())
    service = loeschersuchen(repository)
    assert service.withdraw_coverage(request(), "jobcenter-mettmann", OWNER) == (None, False)
    assert repository.published == [] and repository.erasures == {}
    assert all(c.item(CASE.case_id).brief.covered_orgs == (ABH, KI) for c in repository.conferences.values())


def test_a_revocation_from_a_node_that_does_not_own_the_case_is_refused_and_changes_nothing() -> None:
    repository = MemoryRepository(*open_and_closed())
    service = loeschersuchen(repository)
    with pytest.raises(UntrustedEvent) as refused:
        service.withdraw_coverage(request(), ABH, CARITAS)
    assert refused.value.reason == "sender-not-allowed"
    assert repository.published == [] and repository.erasures == {}
    assert all(c.item(CASE.case_id).brief.covered_orgs == (ABH, KI) for c in repository.conferences.values())


def test_the_domain_withdraws_only_the_named_organisation() -> None:
    conference, _ = open_and_closed()
    assert conference.covers_for(CASE.case_id, ABH)
    assert conference.withdraw_coverage(CASE.case_id, ABH)
    assert not conference.withdraw_coverage(CASE.case_id, ABH), "a second time finds nothing"
    assert not conference.covers_for(CASE.case_id, ABH) and conference.covers_for(CASE.case_id, KI)
    assert conference.item(CASE.case_id).brief.visible_to("stadt-hilden"), "the owner always sees its own"
