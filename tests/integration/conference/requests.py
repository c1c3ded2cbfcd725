"""Request factories for the conference api tests (and the case requests that seed cases)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp

from kim.case.v1 import case_pb2, types_pb2 as C
from kim.conference.v1 import conference_pb2 as pb, types_pb2 as T

KREIS = "kreis-mettmann"


def stamp(value: datetime) -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(value)
    return ts


def in_days(days: int) -> datetime:
    return (datetime.now(UTC) + timedelta(days=days)).replace(microsecond=0)


def day(value: date) -> C.Date:
    return C.Date(year=value.year, month=value.month, day=value.day)


def proposal(**overrides: Any) -> case_pb2.ProposeCaseRequest:
    born = date.today().replace(year=date.today().year - 34) - timedelta(days=10)
    fields: dict[str, Any] = dict(
        coordination_org=KREIS,
        proposer_kind=C.PROPOSER_KIND_CASE_MANAGER,
        proposer_unit="KI",
        reason="Ausbildung scheitert an Duldung; Jobcenter und ABH stimmen sich nicht ab.",
        handlungsfelder=[C.HANDLUNGSFELD_AUFENTHALT_IDENTITAET, C.HANDLUNGSFELD_AUSBILDUNG],
        rechtskreise=[C.RECHTSKREIS_AUFENTHG, C.RECHTSKREIS_SGB_III],
        person=case_pb2.Person(
            given_name="Amina",
            family_name="Haddad",
            birth_date=day(born),
            nationalities=["SY"],
            country_of_origin="SY",
            residence=case_pb2.ResidenceStatus(
                kind=C.RESIDENCE_STATUS_KIND_DULDUNG, legal_basis="§ 60a AufenthG"
            ),
        ),
    )
    fields.update(overrides)
    return case_pb2.ProposeCaseRequest(**fields)


def conference(
    participants: list[tuple[str, int, str]], days: int = 100, **overrides: Any
) -> pb.ScheduleConferenceRequest:
    fields: dict[str, Any] = dict(
        starts_at=stamp(in_days(days)),
        place="Kreishaus Mettmann, Raum 101",
        participants=[pb.Participant(person=p, name=p, role=r, organisation=o) for p, r, o in participants],
    )
    fields.update(overrides)
    return pb.ScheduleConferenceRequest(**fields)


def zielgruppen_vorlage(due_in_days: int = 60, key: str = "frauen_beratung") -> pb.Beschlussvorlage:
    return pb.Beschlussvorlage(
        kind=T.VORLAGE_KIND_ZIELGRUPPEN,
        title="Zielgruppen festlegen",
        proposed_wording="Die Lenkungsgruppe legt die Zielgruppen des KIM wie folgt fest.",
        responsible_org=KREIS,
        responsible_person="koord.kreis",
        due_on=day(date.today() + timedelta(days=due_in_days)),
        zielgruppen=[
            T.ZielgruppeDefinition(
                key="umf", name="Unbegleitete minderjährige Geflüchtete", requires_umf=True
            ),
            T.ZielgruppeDefinition(
                key=key,
                name="Frauen in der Frauenberatungsstelle",
                min_age=18,
                residence_kinds=[T.RESIDENCE_STATUS_KIND_AUFENTHALTSERLAUBNIS],
            ),
        ],
    )


def general_vorlage(responsible_person: str = "lenkung.kreis", due_in_days: int = 30) -> pb.Beschlussvorlage:
    return pb.Beschlussvorlage(
        kind=T.VORLAGE_KIND_GENERAL,
        title="Clearingstelle Ausbildung und Duldung",
        proposed_wording="Jobcenter, Agentur und ABH richten eine gemeinsame Clearingstelle ein.",
        responsible_org=KREIS,
        responsible_person=responsible_person,
        due_on=day(date.today() + timedelta(days=due_in_days)),
    )


def lenkungsgruppe_with_deciding_member(api: Any, caller: Any) -> str:
    """A Lenkungsgruppe of the Kreis with one voting member, lenkung.kreis (its gremium id)."""
    gremium_id: str = api.call(
        "CreateLenkungsgruppe", pb.CreateLenkungsgruppeRequest(name="Lenkungsgruppe KIM"), caller
    ).gremium_id
    member = pb.Member(person="lenkung.kreis", name="Lena Lenkung", organisation=KREIS,
                       function="Dezernentin", voting=True)
    api.call("AddMember", pb.AddMemberRequest(gremium_id=gremium_id, member=member), caller)
    return gremium_id
