"""Who may assert which event at the koordinierende Stelle (`Fallvorschlaege`, `Loeschersuchen` with a
hand-written fake repository): a Fallvorschlag only from the node that owns the case, an erase
request (ConsentRevoked) only from the node the registry and agendas name as the case's owner.
The sender is the verified node (kimnetz/runtime/event_trust.py); what the payload claims is never
trusted."""

from __future__ import annotations

from datetime import timedelta

import pytest

from kimnetz.errors import UntrustedEvent
from kimnetz.runtime.event_trust import Sender
from services.conference.domain.proposals import Proposal
from services.conference.fallvorschlaege import Fallvorschlaege
from services.conference.loeschersuchen import ErasureRequest, Loeschersuchen
from tests.unit.conference.factories import KI, NOW

STADT = Sender("stadt-hilden", "stadt-hilden", "municipality")
CARITAS = Sender("caritas-node", "caritas-mettmann", "welfare_org")


class Reached(Exception):
    """The rule let the event through: the fake stops the service at the next step."""


class FakeRegistry:
    """Just enough of the repository ports: the registry's proposals of a case, no agendas;
    anything after the sender rule raises Reached."""

    node_id = "kreis-node"

    def __init__(self, *proposals: Proposal) -> None:
        self.proposals = list(proposals)

    def proposals_of_case(self, case_id: str) -> list[Proposal]:
        return [p for p in self.proposals if p.case_id == case_id]

    def conference_ids_with_case(self, case_id: str) -> list[str]:
        return []

    def erased(self, case_id: str, consent_id: str) -> bool:
        raise Reached("erased?")

    def erasure(self, erasure_id: str) -> None:
        raise Reached("erasure")


def proposal(owner_node: str = "stadt-hilden", owner_org: str = "stadt-hilden") -> Proposal:
    return Proposal(case_id="case-1", owner_node=owner_node, owner_org=owner_org,
                    coordination_org=KI, pseudonym="KIM-1", consent_id="consent-1",
                    submitted_at=NOW, received_at=NOW + timedelta(seconds=1))


def registry(*proposals: Proposal) -> Fallvorschlaege:
    fake = FakeRegistry(*proposals)
    return Fallvorschlaege(fake, fake, fake, node_id=fake.node_id)  # type: ignore[arg-type]


def erasures(*proposals: Proposal) -> Loeschersuchen:
    fake = FakeRegistry(*proposals)
    return Loeschersuchen(fake, fake, fake, register_org=KI, node_id=fake.node_id)  # type: ignore[arg-type]


def test_a_proposal_of_the_owning_node_is_registered() -> None:
    with pytest.raises(Reached):
        registry().register_proposal(proposal(), STADT)


@pytest.mark.parametrize(("owner_node", "owner_org"), [
    ("stadt-hilden", "stadt-hilden"),  # Caritas proposing in the Stadt's name
    ("caritas-node", "stadt-hilden"),  # its own node, another organisation
])
def test_a_proposal_in_another_node_s_or_organisation_s_name_is_refused(
        owner_node: str, owner_org: str) -> None:
    with pytest.raises(UntrustedEvent) as refused:
        registry().register_proposal(proposal(owner_node, owner_org), CARITAS)
    assert refused.value.reason == "sender-not-allowed"


def request(owner_org: str = "stadt-hilden") -> ErasureRequest:
    return ErasureRequest(case_id="case-1", consent_id="consent-1", pseudonym="KIM-1",
                          owner_org=owner_org, owner_node="stadt-hilden")


def test_an_erase_request_of_the_case_s_owner_is_carried_out() -> None:
    with pytest.raises(Reached):
        erasures(proposal()).erase_case(request(), STADT)


def test_an_erase_request_of_another_node_for_a_case_it_does_not_own_is_refused() -> None:
    with pytest.raises(UntrustedEvent):
        erasures(proposal()).erase_case(request(), CARITAS)
    with pytest.raises(UntrustedEvent):
        erasures(proposal()).erase_case(request(owner_org="caritas-mettmann"), CARITAS)


def test_an_erase_request_in_another_organisation_s_name_is_refused_even_with_nothing_held() -> None:
    with pytest.raises(UntrustedEvent):
        erasures().erase_case(request(owner_org="stadt-hilden"), CARITAS)
