"""A revocation ends a hosted participant organisation's view of the agenda at once (issue 12,
item 1): the Kreis node hosts Fallkonferenz participants of organisations without a node of
their own (the ABH's Integrationslotsin; in this test federation Stadt Hilden has no node either,
so its Integrationslotsin stands for her). When the owning node records the revocation of the
consent that named her organisation, the Kreis's real worker withholds the stored agenda brief
from her without any rebuild or refresh, confirms once with `CaseDataErased` naming her
organisation and this node, and the owning case service records that confirmation. A
`ConsentRevoked` signed by a node that does not own the case changes nothing and is kept in the
dead letters.

Everything real: api process (case and conference of the Kreis node), tokens of the test
federation, FerretDB, the broker, and `kim node worker` running case and conference workers."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from kim.case.v1 import case_pb2, events_pb2 as case_ev, types_pb2 as C
from kim.common.v1.event_pb2 import EventEnvelope
from kim.conference.v1 import conference_pb2 as pb, events_pb2 as ev, types_pb2 as T
from kimnetz.runtime import events
from kimnetz.runtime.amqp import Publisher
from kimnetz.runtime.settings import Settings
from tests.integration.conference.conftest import (
    HILDEN,
    KREIS,
    Api,
    Caller,
    EventTap,
    _purge_left_over_events,
)
from tests.integration.conference.requests import conference, day, proposal
from tests.support import servers, signing
from tests.support.dead_letter_store import dead_letter_of
from tests.support.waiting import wait_until

KOORD = Caller(KREIS, "coordinator")
CM = Caller(KREIS, "case_manager")
LOTSIN = Caller(HILDEN, "immigration_liaison")
WITHHELD = "Die Einwilligung umfasst die Weitergabe an Ihre Organisation nicht."
#: A node of the federation that does not own the case (directory-verified, but not the owner).
FORGER = "caritas-forger-node"


@pytest.fixture(scope="module")
def worker(kreis_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The Kreis node's case and conference workers; the forging node is in its directory (a
    real member of the federation), so its signature verifies and only the sender rule refuses."""
    log = tmp_path_factory.mktemp("participant-revocation") / "worker.log"
    _purge_left_over_events(kreis_settings)
    signing.trust(kreis_settings, {FORGER: ("caritas-mettmann", "welfare_org")})
    extra = {"KIM_GRPC_SERVICES": "case,conference", "KIM_ORGANIZATION_ID": KREIS}
    with servers.running_worker(kreis_settings, log, {"ConsentRevoked": 1, "CaseDataErased": 1}, extra):
        yield log


def shared_with_hilden(api: Api) -> tuple[str, str]:
    """A Kreis case submitted to its Fallkonferenz with a consent for Stadt Hilden."""
    cid = str(api.case_call("ProposeCase", proposal(), CM).case_id)
    recorded = api.case_call("RecordConsent", case_pb2.RecordConsentRequest(
        case_id=cid, kind=C.CONSENT_KIND_SCHWEIGEPFLICHTENTBINDUNG, recipient_org=HILDEN,
        purposes=[C.CONSENT_PURPOSE_FALLKONFERENZ], categories=[C.DATA_CATEGORY_FALLDOKUMENTATION],
        signed_on=day(date.today()), expires_on=day(date.today() + timedelta(days=365))), CM)
    api.case_call("SubmitForReview",
                  case_pb2.SubmitForReviewRequest(case_id=cid, conference_orgs=[HILDEN]), CM)
    return cid, str(recorded.consents[0].consent_id)


def item_of(api: Api, conference_id: str, caller: Caller, position: int) -> pb.AgendaItem:
    seen = api.call("GetConference", pb.GetConferenceRequest(conference_id=conference_id), caller)
    return next(i for i in seen.agenda if i.position == position)


def test_a_revocation_withholds_the_brief_from_the_hosted_organisation_at_once_and_confirms_once(
    api: Api, worker: Path, kreis_settings: Settings, conference_events: EventTap, case_events: EventTap,
) -> None:
    case_id, consent_id = shared_with_hilden(api)
    scheduled = api.call("ScheduleConference", conference([
        ("koord.kreis", T.PARTICIPANT_ROLE_COORDINATOR, KREIS),
        ("lotse.hilden", T.PARTICIPANT_ROLE_IMMIGRATION_LIAISON, HILDEN),
    ]), KOORD)
    conference_id = scheduled.conference_id
    built = api.call("BuildAgenda", pb.BuildAgendaRequest(conference_id=conference_id), KOORD)
    [item] = [i for i in built.conference.agenda if i.brief.case_id == case_id]
    assert list(item.brief.covered_orgs) == [HILDEN]
    assert item_of(api, conference_id, LOTSIN, item.position).brief.case_id == case_id

    # A node of the federation that does not own the case asks: refused, kept, nothing changes.
    forged = events.pack(case_ev.ConsentRevoked(
        case_id=case_id, pseudonym=item.brief.pseudonym, owner_org=KREIS, consent_id=consent_id,
        recipient_org=HILDEN, owner_node=kreis_settings.node_id), source_service="case", source_node=FORGER)
    with Publisher(kreis_settings.amqp_uri) as publisher:
        publisher.publish(events.exchange_name("case"), forged.type, signing.signed_body(forged), forged.id)
    kept = wait_until(lambda: dead_letter_of(kreis_settings, forged.id),
                      what=f"the forged request dead-lettered\n{worker.read_text()[-3000:]}")
    assert (kept.error, kept.source_node) == ("UntrustedEvent", FORGER), kept
    assert "Löschersuchen" in kept.reason, kept.reason
    still = item_of(api, conference_id, LOTSIN, item.position)
    assert still.brief.case_id == case_id and not still.withheld

    # The owner (here the Kreis's own case service) records the revocation: her view of the
    # stored agenda withholds the brief at once, without a rebuild or refresh.
    api.case_call("RevokeConsent", case_pb2.RevokeConsentRequest(
        case_id=case_id, consent_id=consent_id, revoked_on=day(date.today()), reason="Widerruf"), CM)
    hers = wait_until(lambda: (i := item_of(api, conference_id, LOTSIN, item.position)).withheld and i,
                      what=f"the brief withheld from Stadt Hilden\n{worker.read_text()[-3000:]}")
    assert hers.withheld == WITHHELD and not hers.HasField("brief") and not hers.HasField("decision")
    coordinator = item_of(api, conference_id, KOORD, item.position)
    assert coordinator.brief.case_id == case_id and not coordinator.withheld
    assert list(coordinator.brief.covered_orgs) == []

    erased = events.event_type(ev.CaseDataErased)

    def confirmations(got: list[Any]) -> list[Any]:
        return [m for e in got if e.type == erased and (m := events.unpack(e)).case_id == case_id]  # type: ignore[attr-defined]

    # The broker delivers the revocation once more: nothing is confirmed twice.
    revoked = events.event_type(case_ev.ConsentRevoked)
    def revocations(got: list[Any]) -> list[EventEnvelope]:  # the owner's, not the forged one
        return [e for e in got if e.type == revoked and e.id != forged.id
                and events.unpack(e).case_id == case_id]  # type: ignore[attr-defined]

    [revocation] = revocations(case_events.drain(settle_seconds=0.5,
                                                 until=lambda got: bool(revocations(got))))
    again = EventEnvelope()
    again.CopyFrom(revocation)
    with Publisher(kreis_settings.amqp_uri) as publisher:
        publisher.publish(events.exchange_name("case"), again.type, again.SerializeToString(), again.id)
    wait_until(lambda: f"revocation {again.id} for {HILDEN}, case {case_id}: already withheld"
               in worker.read_text(), what=f"the redelivery handled\n{worker.read_text()[-3000:]}")

    [confirmation] = confirmations(conference_events.drain(
        settle_seconds=3, until=lambda got: bool(confirmations(got))))
    assert (confirmation.owner_node, confirmation.owner_org, confirmation.consent_id,
            confirmation.erased_by_node, confirmation.erased_by_org) == (
        kreis_settings.node_id, KREIS, consent_id, kreis_settings.node_id, HILDEN)
    assert "für stadt-hilden gesperrt" in confirmation.summary

    # The owning case service accepts the Kreis node's confirmation for the organisation it hosts.
    def recorded() -> Any:
        case = api.case_call("GetCase", case_pb2.GetCaseRequest(case_id=case_id), CM)
        consent = next(k for k in case.consents if k.consent_id == consent_id)
        return list(consent.erasure_confirmations)

    [on_case] = wait_until(recorded, what=f"the confirmation on the case\n{worker.read_text()[-3000:]}")
    assert (on_case.node, on_case.organization) == (kreis_settings.node_id, HILDEN)
