"""Mappers between the domain and the API messages of `kim.conference.v1.ConferenceService`.

Requests become domain values with every field problem collected (German, field paths as in
the request, so `google.rpc.BadRequest` points at them); domain aggregates become responses.
Enums, days (kim.common.v1.Date) and timestamps map the one way every service maps them
(kimnetz.runtime.proto_mapping): domain member NAME <-> <PREFIX>_<NAME>.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from enum import Enum
from typing import TypeVar

from google.protobuf.message import Message

from kim.common.v1 import types_pb2 as common
from kim.common.v1.types_pb2 import Date
from kim.conference.v1 import conference_pb2 as pb, types_pb2 as types
from kimnetz.runtime.proto_mapping import (
    ProtoEnum,
    date_field,
    enum_field,
    from_proto_timestamp,
    to_proto_date,
    to_proto_enum,
    to_proto_timestamp,
)
from kimnetz.validation import Violations
from kimnetz.vocabulary import (
    AccessRoute,
    AgeReading,
    Gender,
    LegalBasis,
    LegalBasisReading,
    OriginRegion,
)
from services.conference.application import ResultDeclaration, VorlageDraft
from services.conference.contracts import catalogue, definition_message
from services.conference.domain.beschluss import Beschluss
from services.conference.domain.briefs import WITHHELD, CaseBrief
from services.conference.domain.fallkonferenz import AgendaItem, Decision, Fallkonferenz, Participant
from services.conference.domain.lenkungsgruppe import Deputy, Lenkungsgruppe, Member
from services.conference.domain.projektgruppe import Projektgruppe, ProjektgruppenMember, RegisterView
from services.conference.domain.sitzung import Sitzung
from services.conference.domain.vocabulary import (
    BarrierCategory,
    DecisionMode,
    DecisionReason,
    DecisionRule,
    ParticipantRole,
    Rechtskreis,
    ReferralTarget,
    ResidenceStatusKind,
    ReviewOutcome,
    VorlageKind,
)
from services.conference.domain.vorlage import Beschlussvorlage, EvidenceCount
from services.conference.domain.zielgruppen import CountryRule, ZielgruppeDefinition

E = TypeVar("E", bound=Enum)


# ---------------------------------------------------------------- request -> domain


def enum_from(
    proto_enum: ProtoEnum, domain: type[E], number: int, field: str, v: Violations, *, required: bool = True
) -> E | None:
    """The domain member for a proto enum number; UNSPECIFIED is None (a violation if required)."""
    return enum_field(proto_enum, domain, number, field, v, required=required)


def date_from(value: Date, field: str, v: Violations, *, required: bool = False) -> date | None:
    """The day of a request's Date field; unset is None (a violation if required)."""
    return date_field(value, field, v, required=required)


def datetime_from(message: Message, name: str, field: str, v: Violations) -> datetime | None:
    if not message.HasField(name):
        v.add(field, "Zeitpunkt angeben.")
        return None
    try:
        value = from_proto_timestamp(getattr(message, name))
    except (ValueError, OverflowError):  # seconds or nanos outside what a Timestamp may hold
        v.add(field, "Ungültiger Zeitpunkt (erlaubt: Jahr 1 bis 9999).")
        return None
    return value


def participants_from(items: Iterable[pb.Participant], v: Violations) -> list[Participant]:
    result = []
    for i, p in enumerate(items):
        role = enum_from(types.ParticipantRole, ParticipantRole, p.role, f"participants[{i}].role", v)
        if role is not None:
            result.append(Participant(p.person.strip(), p.name.strip(), role, p.organisation.strip()))
    return result


def _reason_code(value: int, field: str, v: Violations) -> DecisionReason | None:
    """The enumerated reason the owning node is told; unset (0) is allowed (the owning node
    then reads "Begründung im Protokoll der Fallkonferenz")."""
    if not value:
        return None
    return enum_from(types.DecisionReason, DecisionReason, value, field, v)


def decision_from(message: pb.Decision, v: Violations) -> Decision | None:
    kind = message.WhichOneof("kind")
    if kind == "admission":
        return Decision.admission(
            message.admission.assigned_org.strip(), message.admission.case_manager.strip()
        )
    if kind == "referral":
        target = enum_from(
            types.ReferralTarget, ReferralTarget, message.referral.target, "decision.referral.target", v
        )
        if target is None:
            return None
        return Decision.referral(target, message.referral.service.strip(), message.referral.reason.strip())
    if kind == "deferral":
        until = date_from(message.deferral.until, "decision.deferral.until", v)
        code = _reason_code(message.deferral.reason_code, "decision.deferral.reason_code", v)
        return Decision.deferral(message.deferral.reason.strip(), until, code)
    if kind == "rejection":
        code = _reason_code(message.rejection.reason_code, "decision.rejection.reason_code", v)
        return Decision.rejection(message.rejection.reason.strip(), code)
    if kind == "review":
        outcome = enum_from(
            types.ReviewOutcome, ReviewOutcome, message.review.outcome, "decision.review.outcome", v
        )
        if outcome is None:
            return None
        return Decision.review(outcome, tuple(message.review.offices_to_invite), message.review.note.strip())
    v.add("decision", "Aufnahme, Verweisberatung, Zurückstellung, Ablehnung oder Ergebnis angeben.")
    return None


def member_from(message: pb.Member) -> Member:
    deputy = (
        Deputy(message.deputy.person.strip(), message.deputy.name.strip(),
               message.deputy.organisation.strip())
        if message.HasField("deputy")
        else None
    )
    return Member(
        "",
        message.person.strip(),
        message.name,
        message.organisation.strip(),
        message.function,
        message.voting,
        deputy,
    )


def deputy_from(request: pb.AppointDeputyRequest) -> Deputy | None:
    if not request.HasField("deputy"):
        return None
    return Deputy(request.deputy.person.strip(), request.deputy.name.strip(),
                  request.deputy.organisation.strip())


def definitions_from(
    items: Iterable[types.ZielgruppeDefinition], v: Violations, prefix: str
) -> tuple[ZielgruppeDefinition, ...]:
    result = []
    for i, d in enumerate(items):
        kinds = []
        for j, number in enumerate(d.residence_kinds):
            kind = enum_from(
                types.ResidenceStatusKind,
                ResidenceStatusKind,
                number,
                f"{prefix}[{i}].residence_kinds[{j}]",
                v,
            )
            if kind is not None:
                kinds.append(kind)
        result.append(
            ZielgruppeDefinition(
                key=d.key,
                name=d.name,
                description=d.description,
                min_age=d.min_age if d.HasField("min_age") else None,
                max_age=d.max_age if d.HasField("max_age") else None,
                residence_kinds=tuple(kinds),
                legal_bases=tuple(d.legal_bases),
                countries_of_origin=tuple(
                    CountryRule(r.country, r.region, _members(
                        common.OriginRegion, OriginRegion, r.regions,
                        f"{prefix}[{i}].countries_of_origin[{j}].regions", v))
                    for j, r in enumerate(d.countries_of_origin)),
                requires_umf=d.requires_umf,
                bases=_members(common.LegalBasis, LegalBasis, d.bases, f"{prefix}[{i}].bases", v),
                # Unset: the Hilden reading, "berechtigt, ihren Aufenthaltsstatus zu verbessern".
                legal_basis_reading=enum_from(common.LegalBasisReading, LegalBasisReading,
                                              d.legal_basis_reading, f"{prefix}[{i}].legal_basis_reading",
                                              v, required=False) or LegalBasisReading.INTENDED,
                older_than=d.older_than if d.HasField("older_than") else None,
                up_to=d.up_to if d.HasField("up_to") else None,
                age_reading=enum_from(common.AgeReading, AgeReading, d.age_reading,
                                      f"{prefix}[{i}].age_reading", v, required=False),
                genders=_members(common.Gender, Gender, d.genders, f"{prefix}[{i}].genders", v),
                access_routes=_members(common.AccessRoute, AccessRoute, d.access_routes,
                                       f"{prefix}[{i}].access_routes", v),
            )
        )
    return tuple(result)


def _members(proto_enum: ProtoEnum, domain: type[E], numbers: Iterable[int], at: str,
             v: Violations) -> tuple[E, ...]:
    found = [enum_from(proto_enum, domain, n, f"{at}[{j}]", v) for j, n in enumerate(numbers)]
    return tuple(m for m in found if m is not None)


def evidence_from(items: Iterable[types.EvidenceCount], v: Violations) -> tuple[EvidenceCount, ...]:
    result = []
    for i, e in enumerate(items):
        a = enum_from(types.Rechtskreis, Rechtskreis, e.rechtskreis_a, f"evidence[{i}].rechtskreis_a", v)
        b = enum_from(
            types.Rechtskreis, Rechtskreis, e.rechtskreis_b, f"evidence[{i}].rechtskreis_b", v, required=False
        )
        category = enum_from(types.BarrierCategory, BarrierCategory, e.category, f"evidence[{i}].category", v)
        if a is not None and category is not None:
            result.append(EvidenceCount(a, b, category, e.display))
    return tuple(result)


def vorlage_draft_from(m: pb.Beschlussvorlage, v: Violations) -> VorlageDraft:
    kind = enum_from(types.VorlageKind, VorlageKind, m.kind, "vorlage.kind", v, required=False)
    return VorlageDraft(
        title=m.title,
        proposed_wording=m.proposed_wording,
        kind=kind or VorlageKind.GENERAL,
        rationale=m.rationale,
        responsible_org=m.responsible_org.strip(),
        responsible_person=m.responsible_person.strip(),
        due_on=date_from(m.due_on, "vorlage.due_on", v),
        zielgruppen=definitions_from(m.zielgruppen, v, "vorlage.zielgruppen"),
        evidence=evidence_from(m.evidence, v),
    )


def prepared_draft_from(r: pb.PrepareVorlageRequest, v: Violations) -> VorlageDraft:
    return VorlageDraft(
        title=r.title,
        proposed_wording=r.proposed_wording,
        rationale=r.rationale,
        responsible_org=r.responsible_org.strip(),
        responsible_person=r.responsible_person.strip(),
        due_on=date_from(r.due_on, "due_on", v),
        evidence=evidence_from(r.evidence, v),
    )


def result_from(r: pb.DeclareResultRequest, v: Violations) -> ResultDeclaration | None:
    """The declared result; None (with the violation) without a decision mode."""
    mode = enum_from(types.DecisionMode, DecisionMode, r.mode, "mode", v)
    due_on = date_from(r.due_on, "due_on", v)
    if mode is None:
        return None
    return ResultDeclaration(
        vorlage_id=r.vorlage_id,
        mode=mode,
        wording=r.wording,
        responsible_org=r.responsible_org.strip(),
        responsible_person=r.responsible_person.strip(),
        due_on=due_on,
    )


def projektgruppe_member_from(m: pb.ProjektgruppeMember) -> ProjektgruppenMember:
    return ProjektgruppenMember(m.person.strip(), m.name.strip(), m.organisation.strip())


# ---------------------------------------------------------------- domain -> response


def brief_message(b: CaseBrief) -> pb.CaseBrief:
    message = pb.CaseBrief(
        case_id=b.case_id,
        pseudonym=b.pseudonym,
        owner_node=b.owner_node,
        owner_org=b.owner_org,
        coordination_org=b.coordination_org,
        status=to_proto_enum(types.CaseStatus, b.status),
        age_band=to_proto_enum(types.AgeBand, b.age_band),
        zielgruppe=b.zielgruppe,
        handlungsfelder=[to_proto_enum(types.Handlungsfeld, h) for h in b.handlungsfelder],
        rechtskreise=[to_proto_enum(types.Rechtskreis, r) for r in b.rechtskreise],
        case_manager=b.case_manager,
        case_manager_org=b.case_manager_org,
        proposed_on=to_proto_date(b.proposed_on),
        review_due_on=to_proto_date(b.review_due_on),
        fetched_at=to_proto_timestamp(b.fetched_at),
        covered_orgs=list(b.covered_for),
    )
    if b.erased_at is not None:
        message.erased_at.CopyFrom(to_proto_timestamp(b.erased_at))
    if b.identity is not None:
        i = b.identity
        message.identity.CopyFrom(
            pb.DisclosedIdentity(
                given_name=i.given_name,
                family_name=i.family_name,
                birth_date=to_proto_date(i.birth_date),
                consent=pb.ConsentCoverage(
                    consent_id=i.consent.consent_id,
                    recipient_org=i.consent.recipient_org,
                    purposes=sorted(i.consent.purposes),
                    expires_on=to_proto_date(i.consent.expires_on),
                ),
            )
        )
    return message


def decision_message(d: Decision) -> pb.Decision:
    message = pb.Decision(decided_at=to_proto_timestamp(d.decided_at), decided_by=d.decided_by)
    kind = d.kind.name
    if kind == "ADMISSION":
        message.admission.CopyFrom(pb.Admission(assigned_org=d.assigned_org, case_manager=d.case_manager))
    elif kind == "REFERRAL":
        message.referral.CopyFrom(
            pb.Referral(
                target=to_proto_enum(types.ReferralTarget, d.referral_target),
                service=d.referral_service,
                reason=d.reason,
            )
        )
    elif kind == "DEFERRAL":
        message.deferral.CopyFrom(pb.Deferral(
            reason=d.reason, until=to_proto_date(d.deferred_until),
            reason_code=to_proto_enum(types.DecisionReason, d.reason_code)))
    elif kind == "REJECTION":
        message.rejection.CopyFrom(pb.Rejection(
            reason=d.reason, reason_code=to_proto_enum(types.DecisionReason, d.reason_code)))
    else:
        message.review.CopyFrom(
            pb.Review(
                outcome=to_proto_enum(types.ReviewOutcome, d.review_outcome),
                offices_to_invite=list(d.offices_to_invite),
                note=d.reason,
            )
        )
    return message


def _agenda_item(item: AgendaItem, viewer: str | None) -> pb.AgendaItem:
    """The item as a participant of organisation `viewer` may read it: the brief and the decision
    only where the person's consent covers that organisation; otherwise the position, the kind
    and `withheld`, the German note why (the pseudonym stays home as well)."""
    if not item.brief.visible_to(viewer):
        return pb.AgendaItem(position=item.position, kind=to_proto_enum(types.AgendaItemKind, item.kind),
                             withheld=WITHHELD)
    message = pb.AgendaItem(
        position=item.position,
        kind=to_proto_enum(types.AgendaItemKind, item.kind),
        brief=brief_message(item.brief),
    )
    if item.decision is not None:
        message.decision.CopyFrom(decision_message(item.decision))
    return message


def conference_message(c: Fallkonferenz, *, viewer: str | None) -> pb.Conference:
    """The conference as a person of organisation `viewer` reads it (`_agenda_item`)."""
    return pb.Conference(
        conference_id=c.conference_id,
        coordination_org=c.coordination_org,
        starts_at=to_proto_timestamp(c.starts_at),
        place=c.place,
        video_link=c.video_link,
        participants=[
            pb.Participant(
                person=p.person,
                name=p.name,
                role=to_proto_enum(types.ParticipantRole, p.role),
                organisation=p.organisation,
            )
            for p in c.participants
        ],
        status=to_proto_enum(types.ConferenceStatus, c.status),
        agenda=[_agenda_item(i, viewer) for i in c.agenda],
        scheduled_by=c.scheduled_by,
        started_at=to_proto_timestamp(c.started_at),
        closed_at=to_proto_timestamp(c.closed_at),
        closed_by=c.closed_by,
    )


def _member(m: Member) -> pb.Member:
    message = pb.Member(
        member_id=m.member_id,
        person=m.person,
        name=m.name,
        organisation=m.organisation,
        function=m.function,
        voting=m.voting,
    )
    if m.deputy is not None:
        message.deputy.CopyFrom(pb.Deputy(person=m.deputy.person, name=m.deputy.name,
                                          organisation=m.deputy.organisation or m.organisation))
    return message


def decision_rule_from(number: int, v: Violations) -> DecisionRule:
    """The Lenkungsgruppe's decision rule; unset: Einvernehmen."""
    return enum_from(types.DecisionRule, DecisionRule, number, "decision_rule", v,
                     required=False) or DecisionRule.CONSENSUS


def lenkungsgruppe_message(g: Lenkungsgruppe) -> pb.Lenkungsgruppe:
    return pb.Lenkungsgruppe(
        gremium_id=g.gremium_id,
        coordination_org=g.coordination_org,
        name=g.name,
        members=[_member(m) for m in g.members],
        decision_rule=to_proto_enum(types.DecisionRule, g.decision_rule),
        rules_reference=g.rules_reference,
    )


def _evidence(items: tuple[EvidenceCount, ...]) -> list[types.EvidenceCount]:
    return [
        types.EvidenceCount(
            rechtskreis_a=to_proto_enum(types.Rechtskreis, e.rechtskreis_a),
            rechtskreis_b=to_proto_enum(types.Rechtskreis, e.rechtskreis_b),
            category=to_proto_enum(types.BarrierCategory, e.category),
            display=e.display,
        )
        for e in items
    ]


def vorlage_message(v: Beschlussvorlage) -> pb.Beschlussvorlage:
    return pb.Beschlussvorlage(
        vorlage_id=v.vorlage_id,
        kind=to_proto_enum(types.VorlageKind, v.kind),
        title=v.title,
        proposed_wording=v.proposed_wording,
        rationale=v.rationale,
        responsible_org=v.responsible_org,
        responsible_person=v.responsible_person,
        due_on=to_proto_date(v.due_on),
        zielgruppen=[definition_message(d) for d in v.zielgruppen],
        projektgruppe_id=v.projektgruppe_id,
        evidence=_evidence(v.evidence),
        submitted_by=v.submitted_by,
        submitted_at=to_proto_timestamp(v.submitted_at),
    )


def session_message(s: Sitzung) -> pb.Session:
    quorum = s.quorum()
    return pb.Session(
        session_id=s.session_id,
        gremium_id=s.gremium_id,
        coordination_org=s.coordination_org,
        starts_at=to_proto_timestamp(s.starts_at),
        place=s.place,
        status=to_proto_enum(types.SessionStatus, s.status),
        items=[
            pb.SessionItem(
                vorlage=vorlage_message(i.vorlage),
                status=to_proto_enum(types.VorlageStatus, i.status),
                votes=[
                    pb.Vote(
                        member_id=vote.member_id,
                        choice=to_proto_enum(types.VoteChoice, vote.choice),
                        cast_by=vote.cast_by,
                        cast_at=to_proto_timestamp(vote.cast_at),
                    )
                    for vote in i.votes
                ],
                beschluss_id=i.beschluss_id,
            )
            for i in s.items
        ],
        present=sorted(s.present),
        attendees=[pb.PersonRef(organisation=a.organisation, person=a.person) for a in s.attendees],
        decision_rule=to_proto_enum(types.DecisionRule, s.decision_rule),
        quorum=pb.Quorum(
            voting_seats=quorum.voting_seats,
            represented=quorum.represented,
            required=quorum.required,
            reached=quorum.reached,
        ),
        opened_at=to_proto_timestamp(s.opened_at),
        closed_at=to_proto_timestamp(s.closed_at),
    )


def beschluss_message(b: Beschluss) -> pb.Beschluss:
    message = pb.Beschluss(
        beschluss_id=b.beschluss_id,
        gremium_id=b.gremium_id,
        session_id=b.session_id,
        coordination_org=b.coordination_org,
        vorlage_id=b.vorlage_id,
        kind=to_proto_enum(types.VorlageKind, b.kind),
        title=b.title,
        wording=b.wording,
        responsible_org=b.responsible_org,
        responsible_person=b.responsible_person,
        due_on=to_proto_date(b.due_on),
        adopted_on=to_proto_date(b.adopted_on),
        mode=to_proto_enum(types.DecisionMode, b.mode),
        votes_yes=b.tally.yes,
        votes_no=b.tally.no,
        votes_abstain=b.tally.abstain,
        status=to_proto_enum(types.BeschlussStatus, b.status),
        history=[
            pb.HistoryEntry(
                at=to_proto_timestamp(h.at),
                by=h.by,
                from_status=to_proto_enum(types.BeschlussStatus, h.from_status),
                status=to_proto_enum(types.BeschlussStatus, h.status),
                due_on=to_proto_date(h.due_on),
                note=h.note,
            )
            for h in b.history
        ],
        projektgruppe_id=b.projektgruppe_id,
        evidence=_evidence(b.evidence),
    )
    if b.zielgruppen is not None:
        message.zielgruppen.CopyFrom(catalogue(b.zielgruppen))
    return message


def projektgruppe_message(g: Projektgruppe) -> pb.Projektgruppe:
    return pb.Projektgruppe(
        projektgruppe_id=g.projektgruppe_id,
        coordination_org=g.coordination_org,
        name=g.name,
        topic=to_proto_enum(types.Topic, g.topic),
        mandate_beschluss_id=g.mandate_beschluss_id,
        established_on=to_proto_date(g.established_on),
        members=[
            pb.ProjektgruppeMember(person=m.person, name=m.name, organisation=m.organisation)
            for m in g.members
        ],
        vorlagen=[vorlage_message(v) for v in g.vorlagen],
        municipality=g.municipality,
    )


def register_message(view: RegisterView) -> pb.BarrierRegister:
    message = pb.BarrierRegister(
        cells=[
            pb.RegisterCell(
                rechtskreis_a=to_proto_enum(types.Rechtskreis, c.rechtskreis_a),
                rechtskreis_b=to_proto_enum(types.Rechtskreis, c.rechtskreis_b),
                category=to_proto_enum(types.BarrierCategory, c.category),
                count=c.count,
                display=c.display,
            )
            for c in view.cells
        ],
        total_display=view.total_display,
    )
    if view.total is not None:
        message.total = view.total
    return message
