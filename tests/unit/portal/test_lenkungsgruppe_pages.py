"""The Lenkungsgruppe and Projektgruppen pages on the fake apis: the Stelle's Lenkungsgruppen,
members, a session's attendance, votes and results, the Beschlussverfolgung with overdue
Beschlüsse said in words, a Beschluss's tracking form, the Zielgruppen versions, the barrier
register with its suppressed counts, German error summaries and CSRF refusal."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from kim.common.v1 import types_pb2 as common
from kim.conference.v1 import conference_pb2 as pb, types_pb2 as ct
from kimnetz.errors import InvalidArgument
from kimnetz.runtime.proto_mapping import to_proto_date, to_proto_timestamp
from kimnetz.validation import FieldViolation
from services.portal.auth import Person
from tests.support.fakes.portal import CLERK_KREIS, COORDINATOR_KREIS, Portal, make_portal

MEMBER = Person("Jens Center", "j.center", "jobcenter-me", frozenset({"steering_member"}))


def kreis(person: Person = COORDINATOR_KREIS) -> Portal:
    return make_portal(person, node_id="kreis-mettmann", organization_id="kreis-mettmann")


def gremium() -> pb.Lenkungsgruppe:
    return pb.Lenkungsgruppe(
        gremium_id="lg-1",
        coordination_org="kreis-mettmann",
        name="Lenkungsgruppe KIM",
        members=[
            pb.Member(
                member_id="m1",
                person="j.center",
                name="Jens Center",
                organisation="jobcenter-me",
                function="Geschäftsführung Jobcenter",
                voting=True,
                deputy=pb.Deputy(person="j.vertreter", name="Jana Vertreter"),
            ),
            pb.Member(
                member_id="m2",
                person="a.recht",
                name="Anna Recht",
                organisation="abh-kreis-mettmann",
                function="Leitung Ausländerbehörde",
                voting=True,
            ),
        ],
    )


def session(status: int = ct.SESSION_STATUS_OPEN) -> pb.Session:
    vorlage = pb.Beschlussvorlage(
        vorlage_id="v1",
        kind=ct.VORLAGE_KIND_GENERAL,
        title="Clearingstelle einrichten",
        proposed_wording="Jobcenter, Agentur und ABH richten eine Clearingstelle ein.",
    )
    return pb.Session(
        session_id="s1",
        gremium_id="lg-1",
        status=status,
        place="Kreishaus",
        starts_at=to_proto_timestamp(datetime(2026, 3, 12, 13, 0, tzinfo=UTC)),
        items=[pb.SessionItem(vorlage=vorlage, status=ct.VORLAGE_STATUS_PENDING)],
        quorum=pb.Quorum(voting_seats=2, represented=2, required=2, reached=True),
    )


def test_the_stelle_s_lenkungsgruppen_are_listed_and_a_nameless_one_is_refused_in_german() -> None:
    portal = kreis()
    portal.apis.conference.answer(
        "ListLenkungsgruppen", pb.ListLenkungsgruppenResponse(lenkungsgruppen=[gremium()])
    )
    page = portal.client.get("/lenkungsgruppe/").get_data(as_text=True)
    assert "Lenkungsgruppe KIM" in page and "Lenkungsgruppe einrichten" in page
    portal.apis.conference.answer(
        "CreateLenkungsgruppe", InvalidArgument([FieldViolation("name", "Bitte einen Namen angeben.")])
    )
    refused = portal.post("/lenkungsgruppe/neu", {"name": ""})
    assert refused.status_code == 400
    assert '<a class="kern-link" href="#f-name">Bitte einen Namen angeben.</a>' in refused.get_data(
        as_text=True
    )
    clerk = kreis(CLERK_KREIS)
    clerk.apis.conference.answer(
        "ListLenkungsgruppen", pb.ListLenkungsgruppenResponse(lenkungsgruppen=[gremium()])
    )
    assert "Lenkungsgruppe einrichten" not in clerk.client.get("/lenkungsgruppe/").get_data(as_text=True)


def test_a_member_is_added_with_deputy_and_a_form_without_token_is_refused() -> None:
    portal = kreis()
    portal.apis.conference.answer("AddMember", gremium())
    refused = portal.client.post("/lenkungsgruppe/lg-1/mitglieder", data={"person": "x"})
    assert refused.status_code == 400 and portal.apis.conference.requests("AddMember") == []
    added = portal.post(
        "/lenkungsgruppe/lg-1/mitglieder",
        {
            "person": "s.hilden",
            "name": "Sabine Hilden",
            "organisation": "stadt-hilden",
            "function": "Amtsleitung Soziales",
            "voting": "ja",
            "deputy.person": "t.hilden",
            "deputy.name": "Tom Hilden",
        },
    )
    assert added.status_code == 302
    (sent,) = portal.apis.conference.requests("AddMember")
    assert (sent.member.person, sent.member.voting, sent.member.deputy.person) == (
        "s.hilden",
        True,
        "t.hilden",
    )

    portal.apis.conference.answer(
        "AddMember",
        InvalidArgument(
            [
                FieldViolation("function", "Bitte die Funktion angeben."),
                FieldViolation("deputy.person", "Ein Mitglied kann sich nicht selbst vertreten."),
            ]
        ),
    )
    portal.apis.conference.answer("GetLenkungsgruppe", gremium())
    page = portal.post("/lenkungsgruppe/lg-1/mitglieder", {"person": "s.hilden"}).get_data(as_text=True)
    assert 'href="#f-function">Bitte die Funktion angeben.</a>' in page
    assert 'href="#f-deputy-person">Ein Mitglied kann sich nicht selbst vertreten.</a>' in page


def test_a_session_is_opened_with_members_and_deputies_by_organisation() -> None:
    portal = kreis()
    portal.apis.conference.answer("GetSession", session(ct.SESSION_STATUS_PLANNED))
    portal.apis.conference.answer("GetLenkungsgruppe", gremium())
    page = portal.client.get("/lenkungsgruppe/sitzung/s1").get_data(as_text=True)
    assert "Jana Vertreter (Vertretung für Jens Center)" in page and "Sitzung eröffnen" in page
    opened = portal.post(
        "/lenkungsgruppe/sitzung/s1/eroeffnen",
        {"attendees": ["jobcenter-me/j.vertreter", "abh-kreis-mettmann/a.recht"]},
    )
    assert opened.status_code == 302
    (sent,) = portal.apis.conference.requests("OpenSession")
    assert [(a.organisation, a.person) for a in sent.attendees] == [
        ("jobcenter-me", "j.vertreter"),
        ("abh-kreis-mettmann", "a.recht"),
    ]


def test_a_member_votes_on_her_seat_and_a_missing_choice_is_explained() -> None:
    portal = kreis(MEMBER)
    portal.apis.conference.answer("GetSession", session())
    portal.apis.conference.answer("GetLenkungsgruppe", gremium())
    page = portal.client.get("/lenkungsgruppe/sitzung/s1").get_data(as_text=True)
    assert "Ihre Stimme zu „Clearingstelle einrichten“" in page and "Ergebnis feststellen" not in page
    missing = portal.post("/lenkungsgruppe/sitzung/s1/stimme/v1", {})
    assert missing.status_code == 400
    assert 'href="#f-choice-v1">Bitte wählen Sie ja, nein oder Enthaltung.</a>' in missing.get_data(
        as_text=True
    )
    voted = portal.post("/lenkungsgruppe/sitzung/s1/stimme/v1", {"choice-v1": str(ct.VOTE_CHOICE_YES)})
    assert voted.status_code == 302
    (sent,) = portal.apis.conference.requests("CastVote")
    assert (sent.vorlage_id, sent.choice) == ("v1", ct.VOTE_CHOICE_YES)


def test_the_coordinator_declares_a_result_and_sees_the_api_s_field_messages() -> None:
    portal = kreis()
    portal.apis.conference.answer("GetSession", session())
    portal.apis.conference.answer("GetLenkungsgruppe", gremium())
    portal.apis.conference.answer(
        "DeclareResult",
        pb.DeclareResultResponse(session=session(), beschluss=pb.Beschluss(beschluss_id="b1")),
    )
    done = portal.post(
        "/lenkungsgruppe/sitzung/s1/ergebnis/v1",
        {
            "mode": str(ct.DECISION_MODE_CONSENSUS),
            "responsible_org": "kreis-mettmann",
            "due_on": "30.06.2026",
        },
    )
    assert done.status_code == 302
    (sent,) = portal.apis.conference.requests("DeclareResult")
    assert (sent.mode, sent.due_on.year, sent.due_on.month, sent.due_on.day) == (
        ct.DECISION_MODE_CONSENSUS,
        2026,
        6,
        30,
    )
    portal.apis.conference.answer(
        "DeclareResult", InvalidArgument([FieldViolation("due_on", "Frist für die Umsetzung angeben.")])
    )
    page = portal.post("/lenkungsgruppe/sitzung/s1/ergebnis/v1", {"mode": "2"}).get_data(as_text=True)
    assert 'href="#f-due_on">Frist für die Umsetzung angeben.</a>' in page


def test_overdue_beschluesse_say_so_in_words_not_by_colour_alone() -> None:
    portal = kreis(CLERK_KREIS)
    late = pb.Beschluss(
        beschluss_id="b-late",
        gremium_id="lg-1",
        title="Clearingstelle einrichten",
        due_on=to_proto_date(date(2026, 2, 1)),
        status=ct.BESCHLUSS_STATUS_OPEN,
        responsible_org="jobcenter-me",
        responsible_person="j.center",
    )
    ahead = pb.Beschluss(
        beschluss_id="b-ahead",
        gremium_id="lg-1",
        title="Lotsenprogramm",
        due_on=to_proto_date(date.today() + timedelta(days=30)),
        status=ct.BESCHLUSS_STATUS_IN_PROGRESS,
    )
    portal.apis.conference.answer("GetLenkungsgruppe", gremium())
    portal.apis.conference.answer("ListBeschluesse", pb.ListBeschluesseResponse(beschluesse=[late, ahead]))
    portal.apis.conference.answer("ListOverdueBeschluesse", pb.ListBeschluesseResponse(beschluesse=[late]))
    page = portal.client.get("/lenkungsgruppe/lg-1/beschluesse").get_data(as_text=True)
    assert page.count("überfällig seit") == 1 and "überfällig seit 01.02.2026" in page
    assert "1 Beschluss ist überfällig." in page and "in Umsetzung" in page


def test_a_beschluss_is_tracked_and_its_refusal_named_at_the_field() -> None:
    portal = kreis()
    portal.apis.conference.answer(
        "GetBeschluss",
        pb.Beschluss(
            beschluss_id="b1",
            gremium_id="lg-1",
            title="Clearingstelle",
            status=ct.BESCHLUSS_STATUS_OPEN,
            due_on=to_proto_date(date(2026, 2, 1)),
        ),
    )
    page = portal.client.get("/lenkungsgruppe/beschluss/b1").get_data(as_text=True)
    assert "Überfällig seit 01.02.2026" in page and "Stand festhalten" in page
    portal.apis.conference.answer(
        "UpdateBeschlussStatus",
        InvalidArgument([FieldViolation("note", "Beim Verwerfen bitte den Grund angeben.")]),
    )
    refused = portal.post(
        "/lenkungsgruppe/beschluss/b1/stand", {"status": str(ct.BESCHLUSS_STATUS_DISCARDED)}
    )
    assert refused.status_code == 400
    assert 'href="#f-note">Beim Verwerfen bitte den Grund angeben.</a>' in refused.get_data(as_text=True)
    wrong_day = portal.post("/lenkungsgruppe/beschluss/b1/frist", {"due_on": "1.13.2026", "note": "x"})
    assert wrong_day.status_code == 400 and "diesen Tag gibt es nicht" in wrong_day.get_data(as_text=True)
    assert portal.apis.conference.requests("RescheduleBeschluss") == []


def test_the_zielgruppen_versions_are_listed_newest_first() -> None:
    portal = kreis()

    def catalogue_beschluss(version: int) -> pb.Beschluss:
        return pb.Beschluss(
            beschluss_id=f"z{version}",
            kind=ct.VORLAGE_KIND_ZIELGRUPPEN,
            title="Zielgruppen festlegen",
            zielgruppen=ct.ZielgruppenCatalogue(
                version=version,
                decided_on=to_proto_date(date(2026, 1, version)),
                definitions=[
                    ct.ZielgruppeDefinition(
                        key="geduldete",
                        name="Geduldete älter als 27",
                        min_age=28,
                        residence_kinds=[common.RESIDENCE_STATUS_KIND_DULDUNG],
                    )
                ],
            ),
        )

    portal.apis.conference.answer("GetLenkungsgruppe", gremium())
    portal.apis.conference.answer(
        "ListBeschluesse",
        pb.ListBeschluesseResponse(
            beschluesse=[
                catalogue_beschluss(2),
                pb.Beschluss(beschluss_id="b1", kind=ct.VORLAGE_KIND_GENERAL),
                catalogue_beschluss(3),
            ]
        ),
    )
    page = portal.client.get("/lenkungsgruppe/lg-1/zielgruppen").get_data(as_text=True)
    assert page.index("Version 3 (gültig)") < page.index("Version 2")
    assert "ab dem 28. Geburtstag" in page and "Geduldete älter als 27" in page


def test_the_barrier_register_prints_suppressed_counts_as_they_come() -> None:
    portal = kreis()
    portal.apis.conference.answer(
        "GetBarrierRegister",
        pb.BarrierRegister(
            cells=[
                pb.RegisterCell(
                    rechtskreis_a=common.RECHTSKREIS_AUFENTHG,
                    rechtskreis_b=common.RECHTSKREIS_SGB_III,
                    category=common.BARRIER_CATEGORY_ZUSTAENDIGKEIT_UNKLAR,
                    display="< 5",
                )
            ],
            total_display="< 5",
        ),
    )
    page = portal.client.get("/projektgruppen/barrierenregister").get_data(as_text=True)
    assert "&lt; 5" in page and "Barrieren nach Rechtskreisen und Art" in page
    wrong = portal.client.get("/projektgruppen/barrierenregister?since=32.01.2026")
    assert wrong.status_code == 400 and "diesen Tag gibt es nicht" in wrong.get_data(as_text=True)
