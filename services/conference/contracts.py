"""Domain events -> their protobuf messages in `kim.conference.v1` (protos/kim/conference/v1).

Enums, dates and timestamps map the one way every service maps them
(kimnetz.runtime.proto_mapping: a domain member NAME becomes <PROTO_ENUM_PREFIX>_<NAME>, a day
a kim.common.v1.Date). A domain event with no mapping here is a programming error and fails
loudly, never silently dropped.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from google.protobuf.message import Message

from kim.common.v1 import types_pb2 as common
from kim.conference.v1 import events_pb2 as pb, types_pb2 as types
from kimnetz.runtime.proto_mapping import to_proto_date, to_proto_enum, to_proto_timestamp
from services.conference.domain import events as ev
from services.conference.domain.zielgruppen import ZielgruppeDefinition, ZielgruppenCatalogue


def catalogue(c: ZielgruppenCatalogue) -> types.ZielgruppenCatalogue:
    return types.ZielgruppenCatalogue(
        version=c.version, decided_on=to_proto_date(c.decided_on), decision_reference=c.decision_reference,
        definitions=[definition_message(d) for d in c.definitions],
    )


def definition_message(d: ZielgruppeDefinition) -> types.ZielgruppeDefinition:
    """One Zielgruppe as the Lenkungsgruppe decided it, with its age boundary in words."""
    return types.ZielgruppeDefinition(
        key=d.key, name=d.name, description=d.description, min_age=d.min_age, max_age=d.max_age,
        residence_kinds=[to_proto_enum(types.ResidenceStatusKind, k) for k in d.residence_kinds],
        legal_bases=list(d.legal_bases),
        countries_of_origin=[
            types.CountryRule(country=r.country, region=r.region,
                              regions=[to_proto_enum(common.OriginRegion, g) for g in r.regions])
            for r in d.countries_of_origin],
        requires_umf=d.requires_umf,
        bases=[to_proto_enum(common.LegalBasis, b) for b in d.bases],
        legal_basis_reading=to_proto_enum(common.LegalBasisReading, d.legal_basis_reading),
        older_than=d.older_than, up_to=d.up_to,
        age_reading=to_proto_enum(common.AgeReading, d.age_reading),
        age_words=d.age_words,
        genders=[to_proto_enum(common.Gender, g) for g in d.genders],
        access_routes=[to_proto_enum(common.AccessRoute, r) for r in d.access_routes],
    )


def _context(e: ev.CaseDecisionEvent) -> pb.CaseDecisionContext:
    return pb.CaseDecisionContext(
        conference_id=e.conference_id, case_id=e.case_id, pseudonym=e.pseudonym, owner_node=e.owner_node,
        owner_org=e.owner_org, decision_reference=e.decision_reference, decided_by=e.decided_by,
    )


_MAPPERS: dict[type[ev.Event], Callable[[Any], Message]] = {
    ev.ConferenceScheduled: lambda e: pb.ConferenceScheduled(
        conference_id=e.conference_id, coordination_org=e.coordination_org,
        starts_at=to_proto_timestamp(e.starts_at), participant_orgs=list(e.participant_orgs)),
    ev.ConferenceAgendaBuilt: lambda e: pb.ConferenceAgendaBuilt(
        conference_id=e.conference_id, coordination_org=e.coordination_org,
        starts_at=to_proto_timestamp(e.starts_at),
        entries=[pb.AgendaEntry(case_id=x.case_id, owner_node=x.owner_node,
                                kind=to_proto_enum(types.AgendaItemKind, x.kind)) for x in e.entries]),
    ev.CaseAdmissionDecided: lambda e: pb.CaseAdmissionDecided(
        context=_context(e), case_manager_org=e.case_manager_org, case_manager=e.case_manager),
    ev.CaseReferralDecided: lambda e: pb.CaseReferralDecided(
        context=_context(e), target=to_proto_enum(types.ReferralTarget, e.target), target_name=e.target_name),
    ev.CaseDeferralDecided: lambda e: pb.CaseDeferralDecided(
        context=_context(e), until=to_proto_date(e.until),
        reason=to_proto_enum(types.DecisionReason, e.reason)),
    ev.CaseRejectionDecided: lambda e: pb.CaseRejectionDecided(
        context=_context(e), reason=to_proto_enum(types.DecisionReason, e.reason)),
    ev.CaseReviewDecided: lambda e: pb.CaseReviewDecided(
        context=_context(e), outcome=to_proto_enum(types.ReviewOutcome, e.outcome),
        offices_to_invite=list(e.offices_to_invite), held_on=to_proto_date(e.held_on)),
    ev.ConferenceClosed: lambda e: pb.ConferenceClosed(
        conference_id=e.conference_id, coordination_org=e.coordination_org,
        starts_at=to_proto_timestamp(e.starts_at),
        decided_case_ids=list(e.decided_case_ids), undecided_case_ids=list(e.undecided_case_ids),
        closed_by=e.closed_by),
    ev.SessionClosed: lambda e: pb.SessionClosed(
        session_id=e.session_id, gremium_id=e.gremium_id, adopted_vorlage_ids=list(e.adopted_vorlage_ids),
        rejected_vorlage_ids=list(e.rejected_vorlage_ids),
        postponed_vorlage_ids=list(e.postponed_vorlage_ids)),
    ev.BeschlussAdopted: lambda e: pb.BeschlussAdopted(
        beschluss_id=e.beschluss_id, gremium_id=e.gremium_id, session_id=e.session_id,
        vorlage_id=e.vorlage_id, kind=to_proto_enum(types.VorlageKind, e.kind), title=e.title,
        wording=e.wording, responsible_org=e.responsible_org, responsible_person=e.responsible_person,
        due_on=to_proto_date(e.due_on), mode=to_proto_enum(types.DecisionMode, e.mode), votes_yes=e.votes_yes,
        votes_no=e.votes_no, votes_abstain=e.votes_abstain),
    ev.VorlageRejected: lambda e: pb.VorlageRejected(
        session_id=e.session_id, vorlage_id=e.vorlage_id, votes_yes=e.votes_yes, votes_no=e.votes_no,
        votes_abstain=e.votes_abstain),
    ev.ZielgruppenDefined: lambda e: pb.ZielgruppenDefined(
        beschluss_id=e.beschluss_id, gremium_id=e.gremium_id, coordination_org=e.coordination_org,
        catalogue=catalogue(e.catalogue)),
    ev.BeschlussStatusChanged: lambda e: pb.BeschlussStatusChanged(
        beschluss_id=e.beschluss_id, from_status=to_proto_enum(types.BeschlussStatus, e.from_status),
        to_status=to_proto_enum(types.BeschlussStatus, e.to_status), due_on=to_proto_date(e.due_on),
        changed_by=e.changed_by, note=e.note),
    ev.BeschlussOverdue: lambda e: pb.BeschlussOverdue(
        beschluss_id=e.beschluss_id, title=e.title, responsible_org=e.responsible_org,
        responsible_person=e.responsible_person, due_on=to_proto_date(e.due_on),
        status=to_proto_enum(types.BeschlussStatus, e.status), days_overdue=e.days_overdue),
    ev.CaseDataErased: lambda e: pb.CaseDataErased(
        case_id=e.case_id, pseudonym=e.pseudonym, owner_node=e.owner_node, owner_org=e.owner_org,
        consent_id=e.consent_id, erased_by_node=e.erased_by_node, erased_by_org=e.erased_by_org,
        erased_at=to_proto_timestamp(e.occurred_at), summary=e.summary),
    ev.BeschlussvorlageSubmitted: lambda e: pb.BeschlussvorlageSubmitted(
        projektgruppe_id=e.projektgruppe_id, vorlage_id=e.vorlage_id, title=e.title),
}


def to_message(event: ev.Event) -> Message:
    try:
        mapper = _MAPPERS[type(event)]
    except KeyError:
        raise TypeError(f"no protobuf mapping for domain event {type(event).__name__}") from None
    return mapper(event)
