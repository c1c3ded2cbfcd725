"""The Fallkonferenz pages (services/portal/pages/fallkonferenzen.py) on the fake apis: planning
with its participants' rows, the agenda with nodes not reached and withheld briefs shown, the
agenda as a fragment for the script, deciding an item, the Protokoll, CSRF refusal, and the
invited Integrationslotsin's own list."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from kim.common.v1 import types_pb2 as common
from kim.conference.v1 import conference_pb2 as pb, types_pb2 as ct
from kim.documents.v1 import documents_pb2 as dpb
from kimnetz.errors import FailedPrecondition, InvalidArgument
from kimnetz.runtime.proto_mapping import to_proto_timestamp
from kimnetz.validation import FieldViolation
from tests.support.fakes.portal import COORDINATOR_KREIS, LIAISON_ABH, Portal, make_portal

STARTS = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)  # 10:00 in Mettmann


def conference(**overrides: object) -> pb.Conference:
    brief = pb.CaseBrief(
        case_id="case-1",
        pseudonym="KIM-7Q2X",
        owner_org="caritas-mettmann",
        status=common.CASE_STATUS_IN_REVIEW,
        zielgruppe="Geduldete über 27",
        handlungsfelder=[common.HANDLUNGSFELD_AUSBILDUNG],
    )
    values: dict[str, object] = {
        "conference_id": "konf-1",
        "coordination_org": "kreis-mettmann",
        "starts_at": to_proto_timestamp(STARTS),
        "place": "Kreishaus, Raum 2.14",
        "status": ct.CONFERENCE_STATUS_PREPARED,
        "participants": [
            pb.Participant(
                person="k.koordination",
                name="Katrin Koordination",
                role=ct.PARTICIPANT_ROLE_COORDINATOR,
                organisation="kreis-mettmann",
            )
        ],
        "agenda": [
            pb.AgendaItem(position=1, kind=ct.AGENDA_ITEM_KIND_PROPOSAL, brief=brief),
            pb.AgendaItem(
                position=2,
                kind=ct.AGENDA_ITEM_KIND_PROPOSAL,
                withheld="Die Einwilligung umfasst die Weitergabe an Ihre Organisation nicht.",
            ),
        ],
        **overrides,
    }
    return pb.Conference(**values)  # type: ignore[arg-type]


def coordinator() -> Portal:
    return make_portal(COORDINATOR_KREIS, node_id="kreis-mettmann", organization_id="kreis-mettmann")


def test_the_coordinator_lists_the_stelle_s_conferences_and_the_lotsin_those_that_invite_her() -> None:
    portal = coordinator()
    portal.apis.conference.answer("ListConferences", pb.ListConferencesResponse(conferences=[conference()]))
    page = portal.client.get("/fallkonferenzen/").get_data(as_text=True)
    assert "Fallkonferenz planen" in page and "10.03.2026, 10:00 Uhr" in page and "vorbereitet" in page

    lotsin = make_portal(LIAISON_ABH, node_id="kreis-mettmann", organization_id="kreis-mettmann")
    lotsin.apis.conference.answer(
        "ListInvitedConferences", pb.ListConferencesResponse(conferences=[conference()])
    )
    page = lotsin.client.get("/fallkonferenzen/").get_data(as_text=True)
    assert "Meine Fallkonferenzen" in page and "Fallkonferenz planen" not in page
    assert lotsin.apis.conference.requests("ListConferences") == []
    assert len(lotsin.apis.conference.requests("ListInvitedConferences")) == 1
    assert lotsin.client.get("/fallkonferenzen/neu").status_code == 404  # planning is not hers


def test_planning_sends_the_filled_rows_and_the_time_in_mettmann_then_redirects() -> None:
    portal = coordinator()
    portal.apis.conference.answer("ScheduleConference", conference(status=ct.CONFERENCE_STATUS_PLANNED))
    response = portal.post(
        "/fallkonferenzen/neu",
        {
            "starts_at": "10.03.2026",
            "starts_at.uhrzeit": "10:00",
            "place": "Kreishaus",
            "participants[0].person": "k.koordination",
            "participants[0].name": "Katrin Koordination",
            "participants[0].role": str(ct.PARTICIPANT_ROLE_COORDINATOR),
            "participants[0].organisation": "kreis-mettmann",
            "participants[3].person": "l.lotsin",
            "participants[3].name": "Leyla Lotsin",
            "participants[3].role": str(ct.PARTICIPANT_ROLE_IMMIGRATION_LIAISON),
            "participants[3].organisation": "abh-kreis-mettmann",
        },
    )
    assert response.status_code == 302 and response.headers["Location"].endswith("/fallkonferenzen/konf-1")
    (sent,) = portal.apis.conference.requests("ScheduleConference")
    assert sent.starts_at.ToDatetime(tzinfo=UTC) == STARTS
    assert [(p.person, p.role) for p in sent.participants] == [
        ("k.koordination", ct.PARTICIPANT_ROLE_COORDINATOR),
        ("l.lotsin", ct.PARTICIPANT_ROLE_IMMIGRATION_LIAISON),
    ]


def test_planning_errors_are_summarised_in_german_and_the_api_s_land_on_the_form_row() -> None:
    portal = coordinator()
    missing = portal.post("/fallkonferenzen/neu", {"starts_at": "31.02.2026", "starts_at.uhrzeit": "25:00"})
    page = missing.get_data(as_text=True)
    assert missing.status_code == 400 and 'role="alert"' in page
    assert (
        '<a class="kern-link" href="#f-starts_at">Tag der Fallkonferenz: diesen Tag gibt es nicht.</a>'
        in page
    )
    assert 'href="#f-starts_at-uhrzeit"' in page and "zum Beispiel 14:30" in page
    assert portal.apis.conference.requests("ScheduleConference") == []

    portal.apis.conference.answer(
        "ScheduleConference",
        InvalidArgument([FieldViolation("participants[0].person", "Diese Person ist bereits eingeladen.")]),
    )
    refused = portal.post(
        "/fallkonferenzen/neu",
        {
            "starts_at": "10.03.2026",
            "starts_at.uhrzeit": "10:00",
            "place": "Kreishaus",
            "participants[2].person": "k.koordination",
            "participants[2].role": "1",
            "participants[2].organisation": "kreis-mettmann",
        },
    )
    page = refused.get_data(as_text=True)
    assert refused.status_code == 400
    # The api's first participant is the form's third row.
    assert (
        '<a class="kern-link" href="#f-participants-2-person">Diese Person ist bereits eingeladen.</a>'
        in page
    )


def test_a_form_without_csrf_token_is_refused_and_nothing_is_scheduled() -> None:
    portal = coordinator()
    response = portal.client.post("/fallkonferenzen/neu", data={"starts_at": "10.03.2026", "place": "x"})
    assert response.status_code == 400
    assert portal.apis.conference.requests("ScheduleConference") == []
    decided = portal.client.post("/fallkonferenzen/konf-1/entscheidung/case-1", data={"art": "admission"})
    assert decided.status_code == 400 and portal.apis.conference.requests("DecideItem") == []


def test_the_agenda_shows_nodes_not_reached_and_withheld_briefs() -> None:
    portal = coordinator()
    portal.apis.conference.answer(
        "BuildAgenda",
        pb.BuildAgendaResponse(
            conference=conference(),
            added_case_ids=["case-1"],
            skipped=[pb.SkippedCase(case_id="case-9", reason="Die Einwilligung ist widerrufen.")],
            unreachable_nodes=[
                pb.UnreachableNode(
                    node_id="stadt-hilden",
                    organisation="stadt-hilden",
                    reason="Knoten nicht erreichbar",
                    pseudonyms=["KIM-AB12"],
                )
            ],
        ),
    )
    portal.apis.conference.answer("GetConference", conference())
    built = portal.post("/fallkonferenzen/konf-1/tagesordnung")
    assert built.status_code == 302 and built.headers["Location"].endswith(
        "/fallkonferenzen/konf-1#tagesordnung"
    )
    page = portal.client.get("/fallkonferenzen/konf-1").get_data(as_text=True)
    assert "Nicht alle Knoten waren erreichbar" in page
    assert "Knoten nicht erreichbar" in page and "KIM-AB12" in page
    assert "Fall case-9: Die Einwilligung ist widerrufen." in page
    assert "Kurzbericht zurückgehalten" in page
    assert "Die Einwilligung umfasst die Weitergabe an Ihre Organisation nicht." in page
    assert "KIM-7Q2X" in page and "Ausbildung" in page

    # With the pages' script: only the agenda comes back.
    fragment = portal.post("/fallkonferenzen/konf-1/tagesordnung", headers={"X-Requested-With": "fetch"})
    text = fragment.get_data(as_text=True)
    assert fragment.status_code == 200 and text.lstrip().startswith("<section") and "<html" not in text
    assert "Nicht alle Knoten waren erreichbar" in text


def test_a_refused_agenda_build_says_why() -> None:
    portal = coordinator()
    portal.apis.conference.answer("GetConference", conference(status=ct.CONFERENCE_STATUS_CLOSED))
    portal.apis.conference.answer(
        "BuildAgenda",
        FailedPrecondition(
            "Die Tagesordnung kann nur vor Beginn der Fallkonferenz erstellt werden (Status: abgeschlossen)."
        ),
    )
    response = portal.post("/fallkonferenzen/konf-1/tagesordnung")
    assert response.status_code == 409
    assert "Die Tagesordnung kann nur vor Beginn" in response.get_data(as_text=True)


def test_deciding_an_item_sends_the_chosen_decision_and_explains_a_missing_choice() -> None:
    portal = coordinator()
    portal.apis.conference.answer("GetConference", conference(status=ct.CONFERENCE_STATUS_RUNNING))
    form = portal.client.get("/fallkonferenzen/konf-1/entscheidung/case-1").get_data(as_text=True)
    assert "Entscheidung zu KIM-7Q2X" in form and "Migrationsberatung für Erwachsene (MBE)" in form

    nothing = portal.post("/fallkonferenzen/konf-1/entscheidung/case-1", {})
    assert nothing.status_code == 400
    assert 'href="#f-art">Bitte wählen Sie, was die Fallkonferenz entscheidet.' in nothing.get_data(
        as_text=True
    )

    decided = portal.post(
        "/fallkonferenzen/konf-1/entscheidung/case-1",
        {
            "art": "referral",
            "decision.referral.target": str(common.REFERRAL_TARGET_MBE),
            "decision.referral.service": "MBE Hilden",
            "decision.referral.reason": "Ein Rechtskreis.",
        },
    )
    assert decided.status_code == 302
    (sent,) = portal.apis.conference.requests("DecideItem")
    assert (sent.case_id, sent.decision.referral.target, sent.decision.referral.service) == (
        "case-1",
        common.REFERRAL_TARGET_MBE,
        "MBE Hilden",
    )

    portal.apis.conference.answer(
        "DecideItem",
        InvalidArgument([FieldViolation("decision.admission.assigned_org", "Organisation angeben.")]),
    )
    refused = portal.post("/fallkonferenzen/konf-1/entscheidung/case-1", {"art": "admission"})
    assert refused.status_code == 400
    assert 'href="#f-decision-admission-assigned_org">Organisation angeben.</a>' in refused.get_data(
        as_text=True
    )


def test_the_protocol_is_rendered_and_leads_to_its_downloads() -> None:
    portal = coordinator()
    portal.apis.documents.answer(
        "RenderConferenceProtocol", dpb.RenderDocumentResponse(document=dpb.DocumentInfo(document_id="doc-1"))
    )
    response = portal.post(
        "/fallkonferenzen/konf-1/protokoll",
        {"next_date": "07.04.2026", "signature_function": "Koordinatorin KIM"},
    )
    assert response.status_code == 302 and response.headers["Location"].endswith("/dokumente/doc-1")
    (sent,) = portal.apis.documents.requests("RenderConferenceProtocol")
    assert (sent.conference_id, sent.next_date.day, sent.signature_function) == (
        "konf-1",
        7,
        "Koordinatorin KIM",
    )


def test_the_conference_page_has_no_inline_script() -> None:
    portal = coordinator()
    portal.apis.conference.answer("GetConference", conference())
    page = portal.client.get("/fallkonferenzen/konf-1").get_data(as_text=True)
    assert re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page) is None and " style=" not in page
    assert 'data-enhance="agenda"' in page and "kreis.js" in page
