"""gRPC adapter of the `ConferenceRecords` port: kim.conference.v1.ConferenceService.

Whose token: the CALLER's. The coordinator who renders a Protokoll is the person who reads the
conference, so the conference service decides by that person's organisation and roles (a
coordinator of another organisation is refused there) and its audit names that person. Only the
generated contract is imported, never the conference service's code.

Runs in the api process (plain threads), never in the nameko worker: a grpcio client there
would freeze every green thread for the call (ARCHITECTURE, "Process model").
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from kim.common.v1 import types_pb2 as common
from kim.conference.v1 import conference_pb2 as pb, conference_pb2_grpc, types_pb2 as types
from kimnetz import errors
from kimnetz.runtime.proto_mapping import UnknownEnumValue, from_proto_date, from_proto_timestamp, member_name
from services.documents.conference import (
    BeschlussRecord,
    CaseDecision,
    ConferenceItem,
    ConferenceParticipant,
    ConferenceRecord,
    Gremium,
    GremiumMember,
    SessionItem,
    SessionRecord,
)

PAGE_SIZE = 200
TIMEOUT_SECONDS = 15.0

_ERRORS: dict[grpc.StatusCode, type[errors.KimError]] = {
    grpc.StatusCode.NOT_FOUND: errors.NotFound,
    grpc.StatusCode.PERMISSION_DENIED: errors.PermissionDenied,
    grpc.StatusCode.UNAUTHENTICATED: errors.Unauthenticated,
    grpc.StatusCode.FAILED_PRECONDITION: errors.FailedPrecondition,
}


class GrpcConferenceRecords:
    """One call's view of the conference service, as the holder of `bearer_token`."""

    def __init__(self, channel: grpc.Channel, bearer_token: str) -> None:
        self._stub = conference_pb2_grpc.ConferenceServiceStub(channel)  # type: ignore[no-untyped-call]
        self._metadata = (("authorization", f"Bearer {bearer_token}"),)

    def conference(self, conference_id: str) -> ConferenceRecord:
        m = self._call("GetConference", pb.GetConferenceRequest(conference_id=conference_id))
        return ConferenceRecord(
            conference_id=m.conference_id, coordination_org=m.coordination_org,
            status=_name(types.ConferenceStatus, m.status),
            starts_at=_time(m.starts_at) or datetime.min.replace(tzinfo=UTC), place=m.place,
            video_link=m.video_link,
            participants=tuple(
                ConferenceParticipant(person=p.person, name=p.name,
                                      role=_name(types.ParticipantRole, p.role),
                                      organization=p.organisation)
                for p in m.participants),
            items=tuple(_item(i) for i in m.agenda),
            started_at=_time(m.started_at) if m.HasField("started_at") else None,
            closed_at=_time(m.closed_at) if m.HasField("closed_at") else None,
            closed_by=m.closed_by,
        )

    def session(self, session_id: str) -> SessionRecord:
        return _session(self._call("GetSession", pb.GetSessionRequest(session_id=session_id)))

    def sessions(self, gremium_id: str) -> list[SessionRecord]:
        return [_session(s) for s in self._pages(
            "ListSessions", lambda token: pb.ListSessionsRequest(
                gremium_id=gremium_id, page_size=PAGE_SIZE, page_token=token), "sessions")]

    def gremium(self, gremium_id: str) -> Gremium:
        m = self._call("GetLenkungsgruppe", pb.GetLenkungsgruppeRequest(gremium_id=gremium_id))
        return Gremium(
            gremium_id=m.gremium_id, coordination_org=m.coordination_org, name=m.name,
            members=tuple(
                GremiumMember(member_id=x.member_id, person=x.person, name=x.name,
                              organization=x.organisation, function=x.function, voting=x.voting,
                              deputy_person=x.deputy.person, deputy_name=x.deputy.name)
                for x in m.members),
        )

    def beschluesse(self, gremium_id: str) -> list[BeschlussRecord]:
        return [_beschluss(b) for b in self._pages(
            "ListBeschluesse", lambda token: pb.ListBeschluesseRequest(
                gremium_id=gremium_id, page_size=PAGE_SIZE, page_token=token), "beschluesse")]

    def _pages(self, method: str, request: Any, field: str) -> Iterator[Any]:
        token = ""
        while True:
            response = self._call(method, request(token))
            yield from getattr(response, field)
            token = response.next_page_token
            if not token:
                return

    def _call(self, method: str, request: object) -> Any:
        try:
            return getattr(self._stub, method)(request, metadata=self._metadata, timeout=TIMEOUT_SECONDS)
        except grpc.RpcError as error:
            code = error.code()
            details = error.details() or ""
            kind = _ERRORS.get(code)
            if kind is not None:
                raise kind(details or "Der Konferenzdienst hat die Anfrage abgelehnt.") from error
            raise errors.Unavailable(
                f"Der Konferenzdienst ist nicht erreichbar ({code.name}); bitte später erneut versuchen."
            ) from error


def _item(m: pb.AgendaItem) -> ConferenceItem:
    brief = m.brief  # pseudonymised fields only; `brief.identity` is deliberately never read
    return ConferenceItem(
        position=m.position, kind=_name(types.AgendaItemKind, m.kind),
        pseudonym=brief.pseudonym, owner_org=brief.owner_org,
        age_band=_name(types.AgeBand, brief.age_band), zielgruppe=brief.zielgruppe,
        handlungsfelder=tuple(_name(common.Handlungsfeld, h) for h in brief.handlungsfelder),
        rechtskreise=tuple(_name(common.Rechtskreis, r) for r in brief.rechtskreise),
        decision=_decision(m.decision) if m.HasField("decision") else None,
        covered_orgs=tuple(brief.covered_orgs), withheld=m.withheld,
    )


def _decision(m: pb.Decision) -> CaseDecision:
    kind = m.WhichOneof("kind") or ""
    by = m.decided_by
    if kind == "admission":
        return CaseDecision(kind, by, assigned_org=m.admission.assigned_org,
                            case_manager=m.admission.case_manager)
    if kind == "referral":
        return CaseDecision(kind, by, referral_target=_name(common.ReferralTarget, m.referral.target),
                            service=m.referral.service, reason=m.referral.reason)
    if kind == "deferral":
        return CaseDecision(kind, by, reason=m.deferral.reason, until=_date(m.deferral.until))
    if kind == "rejection":
        return CaseDecision(kind, by, reason=m.rejection.reason)
    if kind == "review":
        return CaseDecision(kind, by, review_outcome=_name(types.ReviewOutcome, m.review.outcome),
                            offices_to_invite=tuple(m.review.offices_to_invite), note=m.review.note)
    raise errors.Unavailable("Der Konferenzdienst meldet eine Entscheidung unbekannter Art.")


def _session(m: pb.Session) -> SessionRecord:
    def counted(item: pb.SessionItem, choice: int) -> int:
        return sum(v.choice == choice for v in item.votes)

    return SessionRecord(
        session_id=m.session_id, gremium_id=m.gremium_id, coordination_org=m.coordination_org,
        status=_name(types.SessionStatus, m.status),
        starts_at=_time(m.starts_at) or datetime.min.replace(tzinfo=UTC), place=m.place,
        items=tuple(
            SessionItem(vorlage_id=i.vorlage.vorlage_id, title=i.vorlage.title,
                        proposed_wording=i.vorlage.proposed_wording,
                        status=_name(types.VorlageStatus, i.status),
                        yes=counted(i, types.VOTE_CHOICE_YES), no=counted(i, types.VOTE_CHOICE_NO),
                        abstain=counted(i, types.VOTE_CHOICE_ABSTAIN), beschluss_id=i.beschluss_id)
            for i in m.items),
        present=tuple(m.present), quorum_required=m.quorum.required,
        opened_at=_time(m.opened_at) if m.HasField("opened_at") else None,
        closed_at=_time(m.closed_at) if m.HasField("closed_at") else None,
    )


def _beschluss(m: pb.Beschluss) -> BeschlussRecord:
    notes = [h.note for h in m.history if h.note]
    return BeschlussRecord(
        beschluss_id=m.beschluss_id, session_id=m.session_id, vorlage_id=m.vorlage_id, title=m.title,
        wording=m.wording, responsible_org=m.responsible_org, responsible_person=m.responsible_person,
        due_on=_date(m.due_on), adopted_on=_date(m.adopted_on),
        mode=_name(types.DecisionMode, m.mode),
        yes=m.votes_yes, no=m.votes_no, abstain=m.votes_abstain,
        status=_name(types.BeschlussStatus, m.status),
        last_note=notes[-1] if notes else "",
    )


def _name(enum: Any, value: int) -> str:
    """The member name in lower case, as the documents' records carry it."""
    try:
        name = member_name(enum, value)
    except UnknownEnumValue:
        # A member this node's contract does not know yet: printed as unknown, never guessed.
        return "unspecified"
    return (name or "unspecified").lower()


def _time(value: Timestamp) -> datetime | None:
    return from_proto_timestamp(value) if value.seconds or value.nanos else None


def _date(value: common.Date) -> date | None:
    try:
        return from_proto_date(value)
    except ValueError:
        return None
