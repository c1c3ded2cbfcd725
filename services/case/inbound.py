"""The events the case service consumes, translated into its own commands.

Contract: `kim.conference.v1` (protos/kim/conference/v1/events.proto), published by the
conference service on `conference.events`: the Fallkonferenz decisions about a case
(admit with assignee, refer with target, defer, reject, and the quarterly review's outcome),
new Zielgruppen versions of the Lenkungsgruppe, and the confirmations of erase requests
(`CaseDataErased`, the answer of a receiving node to `kim.case.v1.ConsentRevoked`). Only the
generated contract is imported, never the conference service. What it builds are domain
values (`commands.Decision`, `commands.ErasureReport`, `ZielgruppenCatalogue`), so the service
layer never sees protobuf.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date
from enum import Enum
from typing import Any, TypeVar

from google.protobuf.message import Message

from kim.common.v1 import types_pb2 as common
from kim.conference.v1 import events_pb2 as conference, types_pb2 as conference_types
from kimnetz.errors import FieldViolation, InvalidArgument
from kimnetz.runtime.proto_mapping import from_proto_date, from_proto_enum
from kimnetz.vocabulary import (
    AccessRoute,
    AgeReading,
    Gender,
    LegalBasis,
    LegalBasisReading,
    OriginRegion,
)
from services.case.contract import domain_value
from services.case.domain import commands as c
from services.case.domain.vocabulary import ResidenceStatusKind
from services.case.domain.zielgruppen import CountryRule, ZielgruppeDefinition, ZielgruppenCatalogue

E = TypeVar("E", bound=Enum)

DECISION_EVENTS: tuple[type[Message], ...] = (
    conference.CaseAdmissionDecided, conference.CaseReferralDecided,
    conference.CaseDeferralDecided, conference.CaseRejectionDecided, conference.CaseReviewDecided,
)


#: The German label the owning node's case shows for each enumerated reason of a deferral or
#: rejection (kim.conference.v1.DecisionReason): events between nodes carry no free text about
#: the person, so the wording of the Fallkonferenz stays in its Protokoll.
DECISION_REASONS: dict[int, str] = {
    conference_types.DECISION_REASON_DOCUMENTS_MISSING: "Unterlagen fehlen noch",
    conference_types.DECISION_REASON_CLARIFICATION_NEEDED: "Klärung durch eine beteiligte Stelle nötig",
    conference_types.DECISION_REASON_NOT_IN_ZIELGRUPPE: "gehört nicht zur Zielgruppe",
    conference_types.DECISION_REASON_OTHER_SERVICE_RESPONSIBLE: "ein anderer Dienst ist zuständig",
    conference_types.DECISION_REASON_NO_CAPACITY: "derzeit keine Kapazität im Case Management",
    conference_types.DECISION_REASON_PERSON_DECLINED: "die Person wünscht kein Case Management",
    conference_types.DECISION_REASON_OTHER: "sonstiger Grund (siehe Protokoll der Fallkonferenz)",
}
UNSTATED = "Begründung im Protokoll der Fallkonferenz"


def decision(message: Message) -> c.Decision:
    context: conference.CaseDecisionContext = message.context  # type: ignore[attr-defined]
    cid, ref = context.case_id, context.decision_reference
    command: c.DecisionCommand
    if isinstance(message, conference.CaseAdmissionDecided):
        command = c.AdmitCase(cid, message.case_manager, message.case_manager_org, ref)
    elif isinstance(message, conference.CaseReferralDecided):
        target = domain_value(common.ReferralTarget, message.target)
        command = c.ReferCase(cid, target, message.target_name, ref)
    elif isinstance(message, conference.CaseDeferralDecided):
        command = c.DeferCase(cid, DECISION_REASONS.get(message.reason, UNSTATED),
                              _day("until", message.until), ref)
    elif isinstance(message, conference.CaseRejectionDecided):
        command = c.RejectCase(cid, DECISION_REASONS.get(message.reason, UNSTATED), ref)
    elif isinstance(message, conference.CaseReviewDecided):
        # An older sender names no day: the review was held when the event was written.
        command = c.ApplyReview(cid, _day("held_on", message.held_on),
                                domain_value(conference_types.ReviewOutcome, message.outcome),
                                tuple(message.offices_to_invite), ref)
    else:
        raise TypeError(f"not a decision: {type(message).__name__}")
    return c.Decision(context.owner_node, context.decided_by, command)


def erasure(message: conference.CaseDataErased) -> c.ErasureReport:
    erased_at = message.erased_at.ToDatetime(tzinfo=UTC) if message.HasField("erased_at") else None
    return c.ErasureReport(message.owner_node, c.ConfirmErasure(
        message.case_id, message.consent_id, message.erased_by_node, message.erased_by_org,
        erased_at, message.summary))


def catalogue(message: conference.ZielgruppenDefined) -> ZielgruppenCatalogue:
    source = message.catalogue
    return ZielgruppenCatalogue(
        version=source.version,
        decided_on=_day("catalogue.decided_on", source.decided_on),
        decision_reference=source.decision_reference,
        definitions=tuple(
            ZielgruppeDefinition(
                key=d.key, name=d.name, description=d.description,
                min_age=d.min_age if d.HasField("min_age") else None,
                max_age=d.max_age if d.HasField("max_age") else None,
                residence_kinds=tuple(_residence_kind(k) for k in d.residence_kinds),
                legal_bases=tuple(d.legal_bases),
                countries_of_origin=tuple(
                    CountryRule(r.country, r.region,
                                tuple(_members(common.OriginRegion, OriginRegion, r.regions)))
                    for r in d.countries_of_origin),
                requires_umf=d.requires_umf,
                bases=tuple(_members(common.LegalBasis, LegalBasis, d.bases)),
                # Unset: the Hilden reading ("berechtigt, ihren Aufenthaltsstatus zu verbessern").
                legal_basis_reading=from_proto_enum(common.LegalBasisReading, LegalBasisReading,
                                                    d.legal_basis_reading) or LegalBasisReading.INTENDED,
                older_than=d.older_than if d.HasField("older_than") else None,
                up_to=d.up_to if d.HasField("up_to") else None,
                age_reading=from_proto_enum(common.AgeReading, AgeReading, d.age_reading),
                genders=tuple(_members(common.Gender, Gender, d.genders)),
                access_routes=tuple(_members(common.AccessRoute, AccessRoute, d.access_routes)),
            )
            for d in source.definitions
        ),
    )


def _members(proto_enum: Any, domain: type[E], numbers: Iterable[int]) -> list[E]:
    """Every member a repeated enum field names; unknown or unspecified: ValueError (the
    catalogue is refused as a whole rather than checked with a criterion missing)."""
    found = []
    for number in numbers:
        member = from_proto_enum(proto_enum, domain, number)
        if member is None:
            raise ValueError(f"a Zielgruppe names an unspecified {domain.__name__}")
        found.append(member)
    return found


def _residence_kind(number: int) -> ResidenceStatusKind:
    kind = from_proto_enum(common.ResidenceStatusKind, ResidenceStatusKind, number)  # unknown: ValueError
    if kind is None:
        raise ValueError("a Zielgruppe names an unspecified Aufenthaltsstatus")
    return kind


def _day(field: str, message: common.Date) -> date | None:
    try:
        return from_proto_date(message)
    except ValueError as error:
        raise InvalidArgument([FieldViolation(
            field, f"Kein gültiges Kalenderdatum ({message.day:02d}.{message.month:02d}.{message.year})."
        )]) from error
