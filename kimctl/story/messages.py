"""The scenario's values as the nodes' request messages (and the documents service's input
mappings), for the day the story runs."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from google.protobuf import struct_pb2
from google.protobuf.timestamp_pb2 import Timestamp

from kim.case.v1 import case_pb2, types_pb2 as C
from kim.conference.v1 import conference_pb2 as K, types_pb2 as KT
from kimctl.story.scenario import Actor, Contact, Documents, FictionalPerson, Zielgruppe
from kimnetz.runtime.proto_mapping import to_proto_date, to_proto_timestamp


def person(who: FictionalPerson, contact: Contact) -> case_pb2.Person:
    return case_pb2.Person(
        given_name=who.given_name, family_name=who.family_name, birth_date=day(who.birth_date),
        nationalities=[who.country], country_of_origin=who.country,
        residence=case_pb2.ResidenceStatus(kind=who.residence_kind, legal_basis=who.legal_basis),  # type: ignore[arg-type]
        languages=list(who.languages), household_adults=contact.household_adults,
        household_children=contact.household_children, phone=contact.phone, address=contact.address,
        gender=who.gender,  # type: ignore[arg-type]
        entry_date=day(who.entry_date) if who.entry_date else None,
        home_kommune=C.Kommune(key=contact.home_kommune_key, name=contact.home_kommune_name)
        if contact.home_kommune_key else None,
    )


def participant(actor: Actor, role: int) -> K.Participant:
    return K.Participant(person=actor.username, name=actor.name, role=role, organisation=actor.organization)  # type: ignore[arg-type]


def zielgruppen_catalogue(new: Zielgruppe) -> list[KT.ZielgruppeDefinition]:
    """The complete catalogue the Lenkungsgruppe adopts: Kreis Mettmann's four (version 1, as the
    case service ships them) and the new one."""
    from services.case.domain.zielgruppen import METTMANN_V1

    definitions = [
        KT.ZielgruppeDefinition(
            key=d.key, name=d.name, description=d.description, min_age=d.min_age, max_age=d.max_age,
            residence_kinds=[f"RESIDENCE_STATUS_KIND_{k.name}" for k in d.residence_kinds],
            legal_bases=list(d.legal_bases),
            countries_of_origin=[KT.CountryRule(country=c.country, region=c.region)
                                 for c in d.countries_of_origin],
            requires_umf=d.requires_umf)
        for d in METTMANN_V1.definitions
    ]
    definitions.append(KT.ZielgruppeDefinition(
        key=new.key, name=new.name, description=new.description, legal_bases=list(new.legal_bases)))
    return definitions


def contract_input(documents: Documents, allocation: dict[str, Any]) -> dict[str, Any]:
    year = date.today().year
    return {"kreis": documents.kreis_party, "term": {"from": f"{year}-01-01", "to": f"{year}-12-31"},
            "rates": documents.rates, "allocations": [allocation]}


def drucksache_input(documents: Documents, signer: Actor) -> dict[str, Any]:
    today = date.today()
    given = dict(documents.drucksache)
    consultation = given.pop("consultation")
    signature_function = given.pop("signature_function")
    return {
        "kind": given.pop("kind"),
        "issuer": given.pop("issuer"),
        "number": f"KT {today.year}/{today.strftime('%m%d')}",
        "date": today.isoformat(),
        **given,
        "consultations": [{"body": consultation["body"],
                           "date": (today + timedelta(days=consultation["in_days"])).isoformat(),
                           "role": consultation["role"]}],
        "attachments": [],
        "signature": {"name": signer.name, "function": signature_function},
    }


def day(value: date) -> C.Date:
    return to_proto_date(value)


def stamp(value: datetime) -> Timestamp:
    """Whole seconds, as a person would schedule."""
    return to_proto_timestamp(value.replace(microsecond=0))


def struct(data: dict[str, Any]) -> struct_pb2.Struct:
    message = struct_pb2.Struct()
    message.update(data)
    return message
