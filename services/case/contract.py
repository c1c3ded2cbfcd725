"""Translation between the domain core and the contract in protos/kim/case/v1.

Domain values map onto messages field by field, by name; enums, days and timestamps the one way
every service maps them (kimnetz.runtime.proto_mapping): an enum member becomes the proto enum
value `<ENUM_NAME>_<MEMBER>` (Handlungsfeld.SPRACHE -> HANDLUNGSFELD_SPRACHE), a `date`
`kim.common.v1.Date`, a `datetime` a Timestamp, None leaves the field unset, nested
dataclasses become nested messages. So adding a field to an event means adding it in both
places with the same name; `tests/unit/case/test_case_contract.py` proves they agree.
"""

from __future__ import annotations

import dataclasses
import typing
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from kim.case.v1 import case_pb2, events_pb2
from kim.common.v1 import types_pb2 as common
from kim.common.v1.types_pb2 import Date
from kimnetz.errors import FieldViolation, InvalidArgument
from kimnetz.runtime.proto_mapping import (
    UnknownEnumValue,
    date_field,
    descriptor as enum_descriptor,
    member_name,
    to_proto_date,
    to_proto_enum,
    to_proto_timestamp,
)
from kimnetz.validation import Violations
from services.case.domain import events as domain_events
from services.case.domain.audit import AuditEntry
from services.case.domain.brief import CaseBrief
from services.case.domain.case import Case
from services.case.domain.commands import ProposeCase, UpdatePerson
from services.case.domain.monitoring import Cell, Figures, MeanDuration, Table
from services.case.domain.person import Person, PersonData
from services.case.domain.vocabulary import CaseStatus
from services.case.domain.zielgruppen import EligibilityResult

if TYPE_CHECKING:
    from google._upb._message import FieldDescriptor as UpbFieldDescriptor

M = TypeVar("M", bound=Message)
C = TypeVar("C")
#: A message's field as its descriptor lists it: the pure-Python class or, under the upb
#: runtime protobuf uses by default, the C one (the stubs type `Message.DESCRIPTOR` as both).
Field: TypeAlias = "FieldDescriptor | UpbFieldDescriptor"


def domain_value(proto_enum: Any, number: int) -> str:
    """The domain value a command carries for a proto enum number (the member name in lower
    case, the vocabulary's rule): "" for UNSPECIFIED, "#<number>" for a number the contract does
    not know (the domain's validation then reports the field)."""
    try:
        name = member_name(proto_enum, number)
    except UnknownEnumValue:
        return f"#{number}"
    return "" if name is None else name.lower()


def fill(message: M, source: Any, *, skip: frozenset[str] = frozenset()) -> M:
    """Copies every field of `source` (a dataclass or a mapping) that `message` has."""
    values = source if isinstance(source, dict) else {
        f.name: getattr(source, f.name) for f in dataclasses.fields(source)}
    for field in message.DESCRIPTOR.fields:
        if field.name in skip or field.name not in values:
            continue
        _set(message, field, values[field.name])
    return message


def _convert(field: Field, value: Any, message: Message) -> Any:
    if field.enum_type is not None:
        return to_proto_enum(enum_descriptor(field.enum_type), value)
    return value


def _set(message: Message, field: Field, value: Any) -> None:
    if value is None:
        return
    if field.is_repeated:
        target = getattr(message, field.name)
        for item in value:
            if field.message_type is not None:
                _fill_single(target.add(), item)
            else:
                target.append(_convert(field, item, message))
        return
    if field.message_type is not None:
        _fill_single(getattr(message, field.name), value)
        return
    setattr(message, field.name, _convert(field, value, message))


def _fill_single(target: Message, value: Any) -> None:
    if isinstance(value, datetime):
        target.CopyFrom(to_proto_timestamp(value))
    elif isinstance(value, date):
        target.CopyFrom(to_proto_date(value))
    else:
        fill(target, value)


def event_message(event: domain_events.Event, owner_node: str = "") -> Message:
    """The contract message of a domain event (same class name in events.proto). An event that
    names the case's node (`owner_node`: the proposal, the erase request) gets `owner_node`,
    the node writing it, unless the event names one itself; a brief is the same message
    `GetCaseBrief` answers with."""
    if owner_node and getattr(event, "owner_node", None) == "":
        event = dataclasses.replace(event, owner_node=owner_node)  # type: ignore[call-arg]
    cls: type[Message] = getattr(events_pb2, type(event).__name__)
    message = fill(cls(), event, skip=frozenset({"brief"}))
    brief = getattr(event, "brief", None)
    if brief is not None:
        message.brief.CopyFrom(brief_message(event.case_id, brief))  # type: ignore[attr-defined]
    return message


# -- requests -> commands ---------------------------------------------------------------------------

def command(request: Message, command_type: type[C], **given: Any) -> C:
    """The command `command_type` from the request fields of the same names (plus `given`,
    e.g. the acting organisation). Enums become their domain values ("" for UNSPECIFIED, so
    the domain reports a missing value; a command default applies instead where there is
    one), Dates become `date`, repeated values tuples. Impossible dates (31.02.) are reported
    together as field violations before any command exists."""
    violations: list[FieldViolation] = []
    result = _command(request, command_type, given, "", violations)
    if violations:
        raise InvalidArgument(violations)
    return result


def _command(request: Message, command_type: type[C], given: dict[str, Any], prefix: str,
             violations: list[FieldViolation]) -> C:
    hints = typing.get_type_hints(command_type)
    fields = request.DESCRIPTOR.fields_by_name
    values: dict[str, Any] = dict(given)
    for f in dataclasses.fields(command_type):  # type: ignore[arg-type]
        if f.name in values or f.name not in fields:
            continue
        descriptor = fields[f.name]
        raw = getattr(request, f.name)
        path = f"{prefix}{f.name}"
        if descriptor.enum_type is not None:
            if descriptor.is_repeated:
                values[f.name] = tuple(domain_value(descriptor.enum_type, n) for n in raw)
            elif raw != 0 or f.default is dataclasses.MISSING:
                values[f.name] = domain_value(descriptor.enum_type, raw)
        elif descriptor.message_type is Date.DESCRIPTOR:
            values[f.name] = _date(raw, request.HasField(f.name), path, violations)
        elif descriptor.is_repeated and descriptor.message_type is not None:
            item_type = typing.get_args(hints[f.name])[0]
            values[f.name] = tuple(_command(item, item_type, {}, f"{path}[{i}].", violations)
                                   for i, item in enumerate(raw))
        elif descriptor.is_repeated:
            values[f.name] = tuple(raw)
        else:
            values[f.name] = raw
    return command_type(**values)


def _date(message: Date, has: bool, path: str, violations: list[FieldViolation]) -> date | None:
    found = Violations()
    value = date_field(message, path, found, present=has)
    violations.extend(found.items)
    return value


def person_data(person: case_pb2.Person, prefix: str, violations: list[FieldViolation]) -> PersonData:
    """The person message (nested) as the flat `PersonData` the domain validates; impossible
    dates are reported into `violations` under `prefix`."""
    p, residence = person, person.residence
    kind = domain_value(common.ResidenceStatusKind, residence.kind)
    return PersonData(
        given_name=p.given_name, family_name=p.family_name,
        birth_date=_date(p.birth_date, p.HasField("birth_date"), f"{prefix}.birth_date", violations),
        nationalities=tuple(p.nationalities), country_of_origin=p.country_of_origin,
        residence_kind=kind, legal_basis=residence.legal_basis,
        residence_valid_from=_date(residence.valid_from, residence.HasField("valid_from"),
                                   f"{prefix}.residence.valid_from", violations),
        residence_valid_until=_date(residence.valid_until, residence.HasField("valid_until"),
                                    f"{prefix}.residence.valid_until", violations),
        prospective_legal_basis=residence.prospective_legal_basis,
        region_of_origin=p.region_of_origin, languages=tuple(p.languages),
        household_adults=p.household_adults, household_children=p.household_children,
        household_note=p.household_note, phone=p.phone, email=p.email, address=p.address,
        received_as_umf=p.received_as_umf,
        umf_received_on=_date(p.umf_received_on, p.HasField("umf_received_on"),
                              f"{prefix}.umf_received_on", violations),
    )


def proposal_command(request: case_pb2.ProposeCaseRequest, owner_org: str) -> ProposeCase:
    """The Fallvorschlag; the person message is nested where `PersonData` is flat."""
    violations: list[FieldViolation] = []
    person = person_data(request.person, "person", violations)
    if not request.HasField("person"):
        violations.append(FieldViolation("person", "Angaben zur Person fehlen."))
    if violations:
        raise InvalidArgument(violations, "Der Fallvorschlag ist unvollständig oder fehlerhaft.")
    return _command(request, ProposeCase, {"owner_org": owner_org, "person": person}, "", violations)


def update_person_command(request: case_pb2.UpdatePersonRequest) -> UpdatePerson:
    violations: list[FieldViolation] = []
    person = person_data(request.person, "person", violations)
    if not request.HasField("person"):
        violations.append(FieldViolation("person", "Angaben zur Person fehlen."))
    if violations:
        raise InvalidArgument(violations, "Die Personendaten sind unvollständig oder fehlerhaft.")
    return UpdatePerson(request.case_id, person)


# -- domain -> responses ----------------------------------------------------------------------------

def case_message(case: Case) -> case_pb2.Case:
    message = fill(case_pb2.Case(), case, skip=frozenset({"eligibility"}))
    message.status_label = case.status.label
    for consent, consent_message in zip(case.consents, message.consents, strict=True):
        consent_message.erasure_outstanding = consent.erasure_outstanding
    message.eligibility.CopyFrom(eligibility_message(case.eligibility))
    return message


def case_receipt(case: Case) -> case_pb2.Case:
    """What a command's caller learns when it may not read the case (a koordinierende Stelle of
    another organisation recording a decision, the former owner after a Fallübergabe): which
    case, who owns it and its new status; nothing else."""
    return fill(case_pb2.Case(), {"case_id": case.case_id, "pseudonym": case.pseudonym,
                                  "owner_org": case.owner_org,
                                  "status": case.status, "status_label": case.status.label,
                                  "version": case.version})


def eligibility_message(result: EligibilityResult) -> case_pb2.Eligibility:
    names = list(result.matched_names) + [""] * (len(result.matched) - len(result.matched_names))
    message = case_pb2.Eligibility(zielgruppen_version=result.catalogue_version,
                                   matched=list(result.matched), summary=result.summary(),
                                   checked_on=to_proto_date(result.checked_on),
                                   matched_names=names[:len(result.matched)])
    for mismatch in result.mismatches:
        message.mismatches.add(zielgruppe=mismatch.key, reasons=list(mismatch.reasons), name=mismatch.name)
    return message


def eligibility_check_person(request: case_pb2.CheckEligibilityRequest) -> PersonData:
    """The person of a live Zielgruppen check (the domain validates what the check reads)."""
    violations: list[FieldViolation] = []
    person = person_data(request.person, "person", violations)
    if violations:
        raise InvalidArgument(violations, "Für die Zielgruppenprüfung fehlen Angaben.")
    return person


def person_message(person: Person) -> case_pb2.Person:
    message = fill(case_pb2.Person(), person, skip=frozenset({"household", "contact"}))
    message.household_adults = person.household.adults
    message.household_children = person.household.children
    message.household_note = person.household.note
    fill(message, person.contact)
    return message


def brief_message(case_id: str, brief: CaseBrief) -> case_pb2.CaseBrief:
    message = fill(case_pb2.CaseBrief(), brief)
    message.status_label = brief.status_label
    message.case_id = case_id
    return message


def audit_message(entry: AuditEntry) -> case_pb2.AuditEntry:
    return fill(case_pb2.AuditEntry(), entry)


def list_filter(request: case_pb2.ListCasesRequest) -> dict[str, Any]:
    """The keyword filters of `Falldaten.list_cases` from a ListCases request."""
    violations: list[FieldViolation] = []
    statuses: list[CaseStatus] = []
    for i, number in enumerate(request.statuses):
        value = domain_value(common.CaseStatus, number)
        try:
            statuses.append(CaseStatus(value))
        except ValueError:
            violations.append(FieldViolation(f"statuses[{i}]", f"Unbekannter Status „{value}“."))
    review_due_by = _date(request.review_due_by, request.HasField("review_due_by"), "review_due_by",
                          violations)
    if violations:
        raise InvalidArgument(violations)
    return {"statuses": tuple(statuses), "zielgruppe": request.zielgruppe,
            "case_manager": request.case_manager, "review_due_by": review_due_by,
            "page_size": request.page_size, "page_token": request.page_token}


def _cell(cell: Cell) -> case_pb2.FigureCell:
    # `count` stays 0 (unset) unless shown: the suppressed figure must not travel at all.
    return case_pb2.FigureCell(key=cell.key, label=cell.label,
                               visibility=to_proto_enum(case_pb2.FigureVisibility, cell.visibility),
                               count=cell.count or 0, shown=cell.shown)


def _table(table: Table) -> case_pb2.FigureTable:
    return case_pb2.FigureTable(cells=[_cell(c) for c in table.cells], total=_cell(table.total))


def _duration(duration: MeanDuration) -> case_pb2.MeanDuration:
    return case_pb2.MeanDuration(visibility=to_proto_enum(case_pb2.FigureVisibility, duration.visibility),
                                 mean_days=duration.mean_days or 0.0)


def figures_message(figures: Figures, zielgruppen_version: int) -> case_pb2.Figures:
    return case_pb2.Figures(
        by_status=_table(figures.by_status), by_zielgruppe=_table(figures.by_zielgruppe),
        by_handlungsfeld=_table(figures.by_handlungsfeld),
        by_goal_outcome=_table(figures.by_goal_outcome),
        by_barrier_category=_table(figures.by_barrier_category),
        days_to_decision=_duration(figures.days_to_decision), days_open=_duration(figures.days_open),
        zielgruppen_version=zielgruppen_version, suppression_note=figures.note)
