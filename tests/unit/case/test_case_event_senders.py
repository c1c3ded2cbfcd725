"""Who may assert which event about a case of this node (CaseServices with a hand-written fake
repository): decisions only from the case's coordination organisation, Zielgruppen only from a
Kreis node, erase confirmations only from the confirming holder the consent named. The sender
is the verified node (kimnetz/runtime/event_trust.py), never what the payload claims."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from kimnetz.errors import UntrustedEvent
from kimnetz.runtime.event_trust import Sender
from services.case.composition import CaseServices, case_services
from services.case.domain import commands as c
from services.case.domain.case import Case
from services.case.domain.zielgruppen import METTMANN_V1, ZielgruppenCatalogue

sys.path.insert(0, str(Path(__file__).resolve().parent))
from case_factories import CM, COORDINATION, OWNER, make_case, record_consent

KREIS = Sender("kreis-node", COORDINATION, "district")
CARITAS = Sender("caritas-node", "caritas-mettmann", "welfare_org")
STADT = Sender("stadt-node", "stadt-hilden", "municipality")
KREIS_OTHER_ORG = Sender("kreis-abh-node", "kreis-mettmann-abh", "immigration_office")


class Reached(Exception):
    """The rule let the event through: the fake stops the service at the next step."""


class FakeCases:
    """Just enough of CaseRepository for the sender rules: cases by id; anything after the
    rule ("already applied?", storing a catalogue) raises Reached."""

    def __init__(self, *cases: Case) -> None:
        self.cases = {case.case_id: case for case in cases}
        self.catalogues: list[ZielgruppenCatalogue] = []

    def get(self, case_id: str) -> Case:
        return self.cases[case_id]

    def applied(self, cause: str) -> bool:
        raise Reached(cause)

    def store_catalogue(self, catalogue: ZielgruppenCatalogue) -> bool:
        self.catalogues.append(catalogue)
        raise Reached("store")


def service(*cases: Case) -> CaseServices:
    return case_services(FakeCases(*cases), node_org=OWNER,
                         clock=lambda: datetime.now(UTC))  # type: ignore[arg-type]


def rejection(case: Case) -> c.Decision:
    return c.Decision(owner_node="here", decided_by="koord", command=c.RejectCase(case.case_id, "", ""))


def test_a_decision_from_the_case_s_coordination_organisation_is_applied() -> None:
    case = make_case("in_review")
    with pytest.raises(Reached):
        service(case).fallvorschlaege.apply_decision(rejection(case), "e-1", KREIS)


@pytest.mark.parametrize("sender", [CARITAS, STADT, KREIS_OTHER_ORG])
def test_a_decision_from_any_other_organisation_is_refused(sender: Sender) -> None:
    case = make_case("in_review")
    with pytest.raises(UntrustedEvent) as refused:
        service(case).fallvorschlaege.apply_decision(rejection(case), "e-1", sender)
    assert refused.value.reason == "sender-not-allowed"


def test_zielgruppen_from_a_kreis_node_of_the_named_organisation_are_stored() -> None:
    with pytest.raises(Reached):
        service().zielgruppen.store_catalogue(METTMANN_V1, KREIS, COORDINATION)


@pytest.mark.parametrize(("sender", "named"), [
    (STADT, "stadt-hilden"), (CARITAS, ""), (KREIS, "stadt-hilden"),
    (Sender("stadt-node", "stadt-hilden", "municipality", local=True), "stadt-hilden"),
])
def test_zielgruppen_from_anyone_but_the_koordinierende_stelle_are_refused(
        sender: Sender, named: str) -> None:
    fake = FakeCases()
    with pytest.raises(UntrustedEvent):
        case_services(fake, node_org=OWNER).zielgruppen.store_catalogue(METTMANN_V1, sender,
                                                                        named)  # type: ignore[arg-type]
    assert fake.catalogues == []


def revoked_case() -> tuple[Case, str]:
    case = make_case("in_review")
    record_consent(case)
    consent_id = case.consents[-1].consent_id
    case.revoke_consent(c.RevokeConsent(case.case_id, consent_id, datetime.now(UTC).date()),
                        CM, datetime.now(UTC))
    return case, consent_id


def report(case: Case, consent_id: str, node: str, org: str) -> c.ErasureReport:
    return c.ErasureReport("here", c.ConfirmErasure(case.case_id, consent_id, node, org,
                                                  datetime.now(UTC), "gelöscht"))


def test_an_erase_confirmation_of_the_consent_s_recipient_for_itself_is_recorded() -> None:
    case, consent_id = revoked_case()
    with pytest.raises(Reached):
        service(case).einwilligungen.confirm_erasure(report(case, consent_id, KREIS.node_id, COORDINATION),
                                                     "e-2", KREIS)


def test_an_erase_confirmation_in_another_node_s_name_is_refused() -> None:
    case, consent_id = revoked_case()
    with pytest.raises(UntrustedEvent):
        service(case).einwilligungen.confirm_erasure(report(case, consent_id, KREIS.node_id, COORDINATION),
                                                     "e-2", CARITAS)


def test_an_erase_confirmation_of_a_node_the_consent_did_not_name_is_refused() -> None:
    case, consent_id = revoked_case()
    with pytest.raises(UntrustedEvent):
        service(case).einwilligungen.confirm_erasure(report(case, consent_id, CARITAS.node_id,
                                                            CARITAS.organization),
                                                     "e-2", CARITAS)


# A participant organisation without a node of its own (the ABH): the node of the case's
# koordinierende Stelle hosts its people and confirms the erasure in its name.
ABH = "abh-kreis-mettmann"


def revoked_abh_case() -> tuple[Case, str]:
    case = make_case("in_review")
    record_consent(case, recipient_org=ABH)
    consent_id = case.consents[-1].consent_id
    case.revoke_consent(c.RevokeConsent(case.case_id, consent_id, datetime.now(UTC).date()),
                        CM, datetime.now(UTC))
    return case, consent_id


def test_the_koordinierende_stelle_s_node_confirms_for_the_participant_organisation_it_hosts() -> None:
    case, consent_id = revoked_abh_case()
    assert case.coordination_org == KREIS.organization
    with pytest.raises(Reached):  # through the rule, on to "already applied?"
        service(case).einwilligungen.confirm_erasure(report(case, consent_id, KREIS.node_id, ABH), "e-3",
                                                     KREIS)


@pytest.mark.parametrize("sender", [CARITAS, STADT, KREIS_OTHER_ORG], ids=lambda s: s.node_id)
def test_another_node_confirming_for_the_participant_organisation_is_refused(sender: Sender) -> None:
    case, consent_id = revoked_abh_case()
    with pytest.raises(UntrustedEvent, match="koordinierenden Stelle"):
        service(case).einwilligungen.confirm_erasure(report(case, consent_id, sender.node_id, ABH), "e-3",
                                                     sender)


def test_the_kreis_confirming_for_an_organisation_the_consent_did_not_name_is_refused() -> None:
    case, consent_id = revoked_abh_case()
    with pytest.raises(UntrustedEvent, match="galt abh-kreis-mettmann"):
        service(case).einwilligungen.confirm_erasure(report(case, consent_id, KREIS.node_id,
                                                            "jobcenter-mettmann"),
                                                     "e-3", KREIS)


def test_the_kreis_confirming_for_a_participant_of_an_unknown_consent_is_refused() -> None:
    case, _ = revoked_abh_case()
    with pytest.raises(UntrustedEvent):
        service(case).einwilligungen.confirm_erasure(report(case, "no-such-consent", KREIS.node_id, ABH),
                                                     "e-3", KREIS)


def test_the_kreis_confirming_in_a_participant_s_name_under_another_node_id_is_refused() -> None:
    case, consent_id = revoked_abh_case()
    with pytest.raises(UntrustedEvent):
        service(case).einwilligungen.confirm_erasure(report(case, consent_id, "abh-node", ABH), "e-3", KREIS)


def test_a_retention_confirmation_is_never_given_in_a_participant_s_name() -> None:
    case, _ = revoked_abh_case()
    with pytest.raises(UntrustedEvent):
        service(case).einwilligungen.confirm_erasure(report(case, "", KREIS.node_id, ABH), "e-3", KREIS)
