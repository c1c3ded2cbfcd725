"""The consent gate through the real case and conference apis of the Kreis node: a Fallkonferenz
participant of another organisation (the Stadt's Integrationslotsin, named as conference
organisation at SubmitForReview) sees a brief on the agenda only where the person's consent
covers her organisation; for the other items she reads why not, and nothing of the case. Her
direct reads at the case api follow the same gate, and a revocation ends both at once."""

from __future__ import annotations

from datetime import date, timedelta

import grpc

from kim.case.v1 import case_pb2, types_pb2 as C
from kim.conference.v1 import conference_pb2 as pb, types_pb2 as T
from tests.integration.conference.conftest import HILDEN, KREIS, Api, Caller
from tests.integration.conference.requests import conference, day, proposal
from tests.support.grpc_calls import refusal

KOORD = Caller(KREIS, "coordinator")
CM = Caller(KREIS, "case_manager")
LOTSIN = Caller(HILDEN, "immigration_liaison")
WITHHELD = "Die Einwilligung umfasst die Weitergabe an Ihre Organisation nicht."


def submitted_naming_hilden(api: Api, *, hilden_consent: bool) -> tuple[str, str]:
    cid = str(api.case_call("ProposeCase", proposal(), CM).case_id)
    consent_id = ""
    if hilden_consent:
        recorded = api.case_call("RecordConsent", case_pb2.RecordConsentRequest(
            case_id=cid, kind=C.CONSENT_KIND_SCHWEIGEPFLICHTENTBINDUNG, recipient_org=HILDEN,
            purposes=[C.CONSENT_PURPOSE_FALLKONFERENZ], categories=[C.DATA_CATEGORY_FALLDOKUMENTATION],
            signed_on=day(date.today()), expires_on=day(date.today() + timedelta(days=365))), CM)
        consent_id = recorded.consents[0].consent_id
    api.case_call("SubmitForReview",
                  case_pb2.SubmitForReviewRequest(case_id=cid, conference_orgs=[HILDEN]), CM)
    return cid, consent_id


def brief(api: Api, case_id: str) -> case_pb2.CaseBrief:
    return api.case_call("GetCaseBrief", case_pb2.GetCaseBriefRequest(case_id=case_id), LOTSIN)


def listed(api: Api) -> set[str]:
    page = api.case_call("ListCases", case_pb2.ListCasesRequest(page_size=100), LOTSIN)
    return {b.case_id for b in page.cases}


def test_each_participant_sees_only_the_briefs_the_consent_covers_for_their_organisation(api: Api) -> None:
    covered, consent_id = submitted_naming_hilden(api, hilden_consent=True)
    uncovered, _ = submitted_naming_hilden(api, hilden_consent=False)
    scheduled = api.call("ScheduleConference", conference([
        ("koord.kreis", T.PARTICIPANT_ROLE_COORDINATOR, KREIS),
        ("lotse.hilden", T.PARTICIPANT_ROLE_IMMIGRATION_LIAISON, HILDEN),
    ]), KOORD)
    built = api.call("BuildAgenda", pb.BuildAgendaRequest(conference_id=scheduled.conference_id), KOORD)
    kreis_view = {i.brief.case_id: i for i in built.conference.agenda}
    assert {covered, uncovered} <= set(kreis_view), "the Kreis owns both: it sees both"
    assert list(kreis_view[covered].brief.covered_orgs) == [HILDEN]
    assert list(kreis_view[uncovered].brief.covered_orgs) == []
    hidden_pseudonym = kreis_view[uncovered].brief.pseudonym

    hers = api.call("GetConference", pb.GetConferenceRequest(conference_id=scheduled.conference_id), LOTSIN)
    by_position = {i.position: i for i in hers.agenda}
    assert by_position[kreis_view[covered].position].brief.case_id == covered
    withheld = by_position[kreis_view[uncovered].position]
    assert withheld.withheld == WITHHELD
    assert not withheld.HasField("brief") and not withheld.HasField("decision")
    assert hidden_pseudonym not in str(hers) and uncovered not in str(hers)

    # Her direct reads follow the same gate: the covered brief, and nothing of the other case.
    assert brief(api, covered).case_id == covered
    refused = refusal(lambda: brief(api, uncovered), "GetCaseBrief without consent")
    assert (refused.code(), refused.details()) == (grpc.StatusCode.NOT_FOUND, "Fall nicht gefunden.")
    assert covered in listed(api) and uncovered not in listed(api)

    # Revoked: her next read is refused at once, like a missing case, and the list drops it.
    api.case_call("RevokeConsent", case_pb2.RevokeConsentRequest(
        case_id=covered, consent_id=consent_id, revoked_on=day(date.today()), reason="Widerruf"), CM)
    after = refusal(lambda: brief(api, covered), "GetCaseBrief after the revocation")
    assert (after.code(), after.details()) == (grpc.StatusCode.NOT_FOUND, "Fall nicht gefunden.")
    assert covered not in listed(api)
    refreshed = api.call("RefreshBrief", pb.RefreshBriefRequest(
        conference_id=scheduled.conference_id, case_id=covered), KOORD)
    assert not [i for i in refreshed.agenda if i.HasField("brief") and i.brief.case_id == covered
                and HILDEN in i.brief.covered_orgs]
    again = api.call("GetConference", pb.GetConferenceRequest(conference_id=scheduled.conference_id), LOTSIN)
    assert all(i.withheld == WITHHELD for i in again.agenda), "after the refresh nothing covers her"
