"""The case manager's pages (services/portal/pages/faelle.py) on the fake stubs: each form's
request to the api and its redirect with a confirmation, the error summary with the api's German
field violations linking to the fields, CSRF refusal, and a case of another organisation giving
the same page as a missing one."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from kim.case.v1 import case_pb2, types_pb2 as case_types
from kim.common.v1 import types_pb2 as common
from kim.identity.v1 import identity_pb2
from kimnetz.errors import FailedPrecondition, InvalidArgument, NotFound, PermissionDenied
from kimnetz.validation import FieldViolation
from tests.support.fakes.portal import CLERK_KREIS, Portal, make_portal

CASE_ID = "0123456789abcdef0123456789abcdef"


def a_case(status: int = common.CASE_STATUS_PROPOSED, **fields: Any) -> case_pb2.Case:
    case = case_pb2.Case(
        case_id=CASE_ID,
        pseudonym="KIM-2026-7F3K9Q",
        owner_org="stadt-hilden",
        coordination_org="kreis-mettmann",
        status=status,
        status_label="Fallvorschlag",
        **fields,
    )
    case.eligibility.summary = "Zielgruppe: Geduldete und Gestattete älter als 27 Jahre"
    return case


@pytest.fixture
def with_case(portal: Portal) -> Portal:
    portal.apis.case.answer("GetCase", a_case())
    return portal


def text(response: Any) -> str:
    return str(response.get_data(as_text=True))


def summary_links(page: str) -> dict[str, str]:
    """The error summary's links: field id -> message."""
    box = page.split('id="fehler"', 1)[1].split("</div>\n</div>", 1)[0]
    return dict(re.findall(r'href="#([^"]+)">([^<]+)</a>', box))


def without_csrf(page: str) -> str:
    return re.sub(r'name="csrf_token" value="[^"]*"', 'name="csrf_token"', page)


# -- Meine Fälle -------------------------------------------------------------------------------------


def test_my_cases_are_filtered_by_status_zielgruppe_and_responsibility(portal: Portal) -> None:
    brief = case_pb2.CaseBrief(
        case_id=CASE_ID,
        pseudonym="KIM-2026-7F3K9Q",
        status_label="Bedarfsermittlung",
        zielgruppe="umf",
        handlungsfelder=[common.HANDLUNGSFELD_SPRACHE],
    )
    portal.apis.case.answer("ListCases", case_pb2.ListCasesResponse(cases=[brief]))
    page = text(portal.client.get("/faelle/?status=assessment&zielgruppe=umf&meine=1"))
    listing, due = portal.apis.case.requests("ListCases")
    assert list(listing.statuses) == [common.CASE_STATUS_ASSESSMENT]
    assert (listing.zielgruppe, listing.case_manager) == ("umf", "c.manager")
    assert due.HasField("review_due_by") and due.case_manager == "c.manager"
    assert f'href="/faelle/{CASE_ID}">KIM-2026-7F3K9Q</a>' in page
    assert "Unbegleitete minderjährige Geflüchtete" in page and "Sprache" in page
    assert "Fällige Fallbesprechungen" in page and "Filter zurücksetzen" in page


def test_an_empty_list_says_so(portal: Portal) -> None:
    page = text(portal.client.get("/faelle/"))
    assert "Ihre Organisation hat noch keinen Fall." in page and "ist keine Fallbesprechung fällig" in page


def test_case_pages_are_not_offered_to_other_roles() -> None:
    portal = make_portal(CLERK_KREIS)
    assert portal.client.get("/faelle/").status_code == 404
    assert "Meine Fälle" not in text(portal.client.get("/"))


# -- Neuer Fallvorschlag ------------------------------------------------------------------------------

PROPOSAL = {
    "person.given_name": "Amina",
    "person.family_name": "Haddad",
    "person.birth_date": "20.01.1992",
    "person.nationalities": "sy",
    "person.country_of_origin": "SY",
    "person.residence.kind": "duldung",
    "person.residence.legal_basis": "§ 60a AufenthG",
    "person.languages": "ar, de",
    "person.household.adults": "1",
    "person.household.children": "2",
    "coordination_org": "kreis-mettmann",
    "proposer_kind": "counselling",
    "reason": "Ausbildung in Aussicht",
    "handlungsfelder": ["aufenthalt_identitaet", "ausbildung"],
    "rechtskreise": ["aufenthg"],
    "aktion": "vorschlagen",
}


def test_a_proposal_is_sent_with_the_persons_data_and_leads_to_the_consent(portal: Portal) -> None:
    portal.apis.case.answer("ProposeCase", a_case())
    response = portal.post("/faelle/neu", PROPOSAL)
    assert response.status_code == 302 and response.headers["Location"] == f"/faelle/{CASE_ID}/einwilligungen"
    [request] = portal.apis.case.requests("ProposeCase")
    assert request.coordination_org == "kreis-mettmann"
    assert request.proposer_kind == case_types.PROPOSER_KIND_COUNSELLING
    assert list(request.handlungsfelder) == [
        common.HANDLUNGSFELD_AUFENTHALT_IDENTITAET,
        common.HANDLUNGSFELD_AUSBILDUNG,
    ]
    assert list(request.rechtskreise) == [common.RECHTSKREIS_AUFENTHG]
    person = request.person
    assert (person.given_name, person.birth_date.year, person.birth_date.month, person.birth_date.day) == (
        "Amina",
        1992,
        1,
        20,
    )
    assert list(person.nationalities) == ["SY"] and list(person.languages) == ["ar", "de"]
    assert person.residence.kind == common.RESIDENCE_STATUS_KIND_DULDUNG
    assert (person.household_adults, person.household_children) == (1, 2)
    follow = portal.client.get(f"/faelle/{CASE_ID}/einwilligungen")
    assert "Der Fallvorschlag KIM-2026-7F3K9Q ist angelegt." in text(follow)


def test_the_apis_field_violations_link_to_the_proposal_fields(portal: Portal) -> None:
    portal.apis.case.answer(
        "ProposeCase",
        InvalidArgument(
            [
                FieldViolation("person.given_name", "Angabe fehlt."),
                FieldViolation("person.nationalities[0]", "Ländercode nach ISO 3166-1 angeben."),
                FieldViolation("person.email", "Keine gültige E-Mail-Adresse."),
                FieldViolation("handlungsfelder", "Mindestens einen Wert angeben."),
            ]
        ),
    )
    response = portal.post("/faelle/neu", {**PROPOSAL, "person.given_name": ""})
    page = text(response)
    assert response.status_code == 400
    assert summary_links(page) == {
        "f-person-given_name": "Angabe fehlt.",
        "f-person-nationalities": "Ländercode nach ISO 3166-1 angeben.",
        "f-person-contact-email": "Keine gültige E-Mail-Adresse.",
        "f-handlungsfelder": "Mindestens einen Wert angeben.",
    }
    assert 'id="f-person-contact-email"' in page and 'value="Haddad"' in page  # entered data stays


def test_a_wrong_german_date_is_named_before_anything_is_sent(portal: Portal) -> None:
    page = text(portal.post("/faelle/neu", {**PROPOSAL, "person.birth_date": "31.02.1992"}))
    assert summary_links(page) == {"f-person-birth_date": "das Geburtsdatum: diesen Tag gibt es nicht."}
    assert portal.apis.case.requests("ProposeCase") == []


def zielgruppen_result() -> case_pb2.Eligibility:
    result = case_pb2.Eligibility(
        zielgruppen_version=1,
        matched=["geduldete_gestattete_ueber_27"],
        matched_names=["Geduldete und Gestattete älter als 27 Jahre"],
        summary="Zielgruppe: Geduldete und Gestattete älter als 27 Jahre",
    )
    result.mismatches.add(
        zielgruppe="umf",
        name="Unbegleitete minderjährige Geflüchtete",
        reasons=["Nicht als unbegleitete*r minderjährige*r Geflüchtete*r aufgenommen."],
    )
    return result


def test_the_zielgruppen_check_without_javascript_shows_matches_and_german_reasons(portal: Portal) -> None:
    portal.apis.case.answer("CheckEligibility", zielgruppen_result())
    page = text(portal.post("/faelle/neu", {**PROPOSAL, "aktion": "pruefen"}))
    assert (
        "Zielgruppe trifft zu" in page and "Zielgruppe: Geduldete und Gestattete älter als 27 Jahre" in page
    )
    assert "Nicht „Unbegleitete minderjährige Geflüchtete“: Nicht als unbegleitete*r" in page
    [request] = portal.apis.case.requests("CheckEligibility")
    assert request.person.country_of_origin == "SY"
    assert portal.apis.case.requests("ProposeCase") == []


def test_the_live_check_answers_json_for_the_script(portal: Portal) -> None:
    portal.apis.case.answer("CheckEligibility", zielgruppen_result())
    answer = json.loads(text(portal.post("/faelle/zielgruppen-pruefung", PROPOSAL)))
    assert answer["eligible"] is True and answer["matched"] == ["Geduldete und Gestattete älter als 27 Jahre"]
    assert answer["mismatches"][0]["name"] == "Unbegleitete minderjährige Geflüchtete"
    portal.apis.case.answer(
        "CheckEligibility", InvalidArgument([FieldViolation("person.birth_date", "Datum fehlt.")])
    )
    missing = json.loads(text(portal.post("/faelle/zielgruppen-pruefung", {"person.given_name": "A"})))
    assert missing["errors"] == {"person.birth_date": "Datum fehlt."} and "summary" not in missing


def test_the_proposal_page_loads_its_script_and_offers_the_koordinierende_stelle(portal: Portal) -> None:
    nodes = identity_pb2.ListNodesResponse()
    nodes.nodes.add(
        organization="kreis-mettmann",
        organization_name="Kreis Mettmann",
        role=identity_pb2.NODE_ROLE_DISTRICT,
    )
    nodes.nodes.add(organization="caritas-mettmann", role=identity_pb2.NODE_ROLE_WELFARE_ORG)
    portal.apis.identity.answer("ListNodes", nodes)
    page = text(portal.client.get("/faelle/neu"))
    assert '<script src="/static/faelle.js" defer></script>' in page
    assert '<option value="kreis-mettmann" selected>Kreis Mettmann</option>' in page
    assert "caritas-mettmann" not in page
    assert 'id="zielgruppen-ergebnis"' in page and 'aria-live="polite"' in page


# -- the case file ------------------------------------------------------------------------------------


def test_the_case_file_shows_the_person_and_audits_the_read_with_its_purpose(with_case: Portal) -> None:
    with_case.apis.case.answer("GetPerson", case_pb2.Person(given_name="Amina", family_name="Haddad"))
    page = text(with_case.client.get(f"/faelle/{CASE_ID}"))
    assert "Fallakte KIM-2026-7F3K9Q" in page and "Amina Haddad" in page
    assert with_case.apis.case.requests("GetPerson")[0].purpose == "Fallakte"
    assert "Zur Fallkonferenz anmelden" in page


@pytest.mark.parametrize("refusal", [NotFound("Fall nicht gefunden."), PermissionDenied("Kein Zugriff.")])
def test_a_foreign_case_looks_exactly_like_a_missing_one(portal: Portal, refusal: Exception) -> None:
    portal.apis.case.answer("GetCase", NotFound("Fall nicht gefunden."))
    missing = portal.client.get(f"/faelle/{CASE_ID}")
    portal.apis.case.answer("GetCase", refusal)  # type: ignore[arg-type]
    for path in ("", "/plan", "/einwilligungen", "/einsichten"):
        foreign = portal.client.get(f"/faelle/{CASE_ID}{path}")
        assert foreign.status_code == missing.status_code == 404
        assert without_csrf(text(foreign)) == without_csrf(text(missing))
    assert "KIM-2026" not in text(missing)


@pytest.mark.parametrize(
    ("schritt", "rpc"),
    [("bedarfsermittlung", "StartAssessment"), ("planung", "StartPlanning"), ("monitoring", "ActivatePlan")],
)
def test_a_lifecycle_step_is_one_button(with_case: Portal, schritt: str, rpc: str) -> None:
    response = with_case.post(f"/faelle/{CASE_ID}/status/{schritt}")
    assert response.status_code == 302 and response.headers["Location"] == f"/faelle/{CASE_ID}"
    [request] = with_case.apis.case.requests(rpc)
    assert request.case_id == CASE_ID and request.purpose == "Fallbearbeitung"


def test_a_refused_step_shows_the_apis_reason(with_case: Portal) -> None:
    with_case.apis.case.answer(
        "StartPlanning",
        FailedPrecondition(
            "Der Fall ist im Status „Fallvorschlag“ und kann nicht in die Integrationsplanung gehen."
        ),
    )
    response = with_case.post(f"/faelle/{CASE_ID}/status/planung")
    assert response.status_code == 400
    assert "kann nicht in die Integrationsplanung gehen" in text(response)


def test_submitting_to_the_fallkonferenz_names_further_organisations(with_case: Portal) -> None:
    response = with_case.post(
        f"/faelle/{CASE_ID}/fallkonferenz", {"conference_orgs": "kreis-mettmann-abh", "note": "Bitte bald"}
    )
    assert response.headers["Location"] == f"/faelle/{CASE_ID}"
    [request] = with_case.apis.case.requests("SubmitForReview")
    assert list(request.conference_orgs) == ["kreis-mettmann-abh"] and request.note == "Bitte bald"


def test_submitting_without_consent_shows_why(with_case: Portal) -> None:
    with_case.apis.case.answer(
        "SubmitForReview",
        FailedPrecondition("Für die Beratung in der Fallkonferenz fehlt eine gültige Einwilligung."),
    )
    page = text(with_case.post(f"/faelle/{CASE_ID}/fallkonferenz", {}))
    assert "fehlt eine gültige Einwilligung" in page and 'role="alert"' in page


# -- forms of the case file: success and error summary ------------------------------------------------

FORMS: list[tuple[str, dict[str, Any], str, str, dict[str, Any], str]] = [
    (
        "/bedarfe",
        {"handlungsfeld": "sprache", "need": "Deutschkurs B1", "priority": "high"},
        "RecordNeed",
        "/bedarfe",
        {
            "handlungsfeld": common.HANDLUNGSFELD_SPRACHE,
            "need": "Deutschkurs B1",
            "priority": case_types.PRIORITY_HIGH,
        },
        "need",
    ),
    (
        "/plan",
        {"title": "Identität klären", "handlungsfeld": "aufenthalt_identitaet", "due_on": "30.06.2026"},
        "AddGoal",
        "/plan",
        {"title": "Identität klären"},
        "title",
    ),
    (
        "/barrieren",
        {
            "category": "wartezeit",
            "description": "Termin ABH erst in 4 Monaten",
            "rechtskreise": ["aufenthg", "sgb_ii"],
        },
        "RecordBarrier",
        "/barrieren",
        {
            "category": common.BARRIER_CATEGORY_WARTEZEIT,
            "rechtskreise": [common.RECHTSKREIS_AUFENTHG, common.RECHTSKREIS_SGB_II],
        },
        "description",
    ),
    (
        "/journal",
        {"text": "Telefonat mit dem Jobcenter"},
        "AddJournalNote",
        "/journal",
        {"text": "Telefonat mit dem Jobcenter"},
        "text",
    ),
    (
        "/zustaendigkeit/zuweisung",
        {"case_manager": "f.neu", "assign_reason": "Urlaub"},
        "AssignCaseManager",
        "/zustaendigkeit",
        {"case_manager": "f.neu", "reason": "Urlaub"},
        "case_manager",
    ),
    (
        "/abschluss",
        {"reason": "goals_achieved", "note": ""},
        "CloseCase",
        "",
        {"reason": case_types.CLOSURE_REASON_GOALS_ACHIEVED},
        "reason",
    ),
    (
        "/wiederaufnahme",
        {"reopen_reason": "Neue Duldung"},
        "ReopenCase",
        "",
        {"reason": "Neue Duldung"},
        "reason",
    ),
]


@pytest.mark.parametrize(("path", "data", "rpc", "target", "sent", "field"), FORMS, ids=[f[2] for f in FORMS])
def test_each_form_sends_its_request_and_returns_to_its_page(
    with_case: Portal,
    path: str,
    data: dict[str, Any],
    rpc: str,
    target: str,
    sent: dict[str, Any],
    field: str,
) -> None:
    response = with_case.post(f"/faelle/{CASE_ID}{path}", data)
    assert response.status_code == 302 and response.headers["Location"] == f"/faelle/{CASE_ID}{target}"
    [request] = with_case.apis.case.requests(rpc)
    for name, value in sent.items():
        got = getattr(request, name)
        assert (list(got) if not isinstance(got, str | int) else got) == value, name
    assert 'role="status"' in text(with_case.client.get(response.headers["Location"]))


@pytest.mark.parametrize(("path", "data", "rpc", "target", "sent", "field"), FORMS, ids=[f[2] for f in FORMS])
def test_each_form_shows_the_apis_field_violation_at_its_field(
    with_case: Portal,
    path: str,
    data: dict[str, Any],
    rpc: str,
    target: str,
    sent: dict[str, Any],
    field: str,
) -> None:
    with_case.apis.case.answer(rpc, InvalidArgument([FieldViolation(field, "Angabe fehlt.")]))
    response = with_case.post(f"/faelle/{CASE_ID}{path}", data)
    assert response.status_code == 400
    shown = {
        "/zustaendigkeit/zuweisung": {"case_manager": "case_manager"},
        "/wiederaufnahme": {"reason": "reopen_reason"},
    }.get(path, {}).get(field, field)
    assert summary_links(text(response)) == {f"f-{shown}": "Angabe fehlt."}
    assert f'id="f-{shown}"' in text(response)


def test_a_form_without_csrf_token_is_refused_and_nothing_is_sent(with_case: Portal) -> None:
    response = with_case.client.post(f"/faelle/{CASE_ID}/journal", data={"text": "ohne Token"})
    assert response.status_code == 400 and "Das Formular wurde nicht angenommen" in text(response)
    assert with_case.apis.case.requests("AddJournalNote") == []
    assert with_case.client.post("/faelle/neu", data=PROPOSAL).status_code == 400
    assert with_case.client.post("/faelle/zielgruppen-pruefung", data=PROPOSAL).status_code == 400
    assert (
        with_case.apis.case.requests("ProposeCase") == [] == with_case.apis.case.requests("CheckEligibility")
    )


def plan_case() -> case_pb2.Case:
    case = a_case(common.CASE_STATUS_PLANNING)
    goal = case.goals.add(
        goal_id="g1", title="Identität klären", handlungsfeld=common.HANDLUNGSFELD_AUFENTHALT_IDENTITAET
    )
    goal.steps.add(
        step_id="s1",
        description="Pass beantragen",
        responsible="Botschaft",
        status=case_types.STEP_STATUS_OPEN,
    )
    goal.progress.add(note="Termin steht", recorded_by="c.manager")
    case.barriers.add(
        barrier_id="b1",
        description="Wartezeit ABH",
        category=common.BARRIER_CATEGORY_WARTEZEIT,
        status=case_types.BARRIER_STATUS_OPEN,
    )
    return case


def test_the_plan_shows_goals_steps_and_progress_with_their_forms(portal: Portal) -> None:
    portal.apis.case.answer("GetCase", plan_case())
    page = text(portal.client.get(f"/faelle/{CASE_ID}/plan"))
    assert "Ziel: Identität klären" in page and "Pass beantragen" in page and "Termin steht" in page
    assert f'href="/faelle/{CASE_ID}/plan/g1/s1/abschluss"' in page
    assert f'href="/faelle/{CASE_ID}/plan/g1/schritte"' in page
    assert f'href="/faelle/{CASE_ID}/plan/g1/fortschritt"' in page


def test_steps_progress_and_barrier_status_have_pages_of_their_own(portal: Portal) -> None:
    portal.apis.case.answer("GetCase", plan_case())
    base = f"/faelle/{CASE_ID}"
    assert portal.client.get(f"{base}/plan/g1/schritte").status_code == 200
    assert (
        portal.post(
            f"{base}/plan/g1/schritte",
            {
                "description": "Termin Botschaft",
                "responsible": "FM",
                "rechtskreis": "aufenthg",
                "due_on": "01.07.2026",
            },
        ).headers["Location"]
        == f"{base}/plan"
    )
    [step] = portal.apis.case.requests("AddStep")
    assert (step.goal_id, step.rechtskreis, step.due_on.month) == ("g1", common.RECHTSKREIS_AUFENTHG, 7)
    assert portal.post(f"{base}/plan/g1/fortschritt", {"note": "Pass da"}).status_code == 302
    assert portal.apis.case.requests("RecordProgress")[0].note == "Pass da"
    assert portal.post(f"{base}/plan/g1/s1/abschluss", {"status": "done"}).status_code == 302
    assert portal.apis.case.requests("FinishStep")[0].status == case_types.STEP_STATUS_DONE
    assert (
        portal.post(f"{base}/barrieren/b1/status", {"status": "escalated", "note": "an PG"}).status_code
        == 302
    )
    assert portal.apis.case.requests("ChangeBarrierStatus")[0].status == case_types.BARRIER_STATUS_ESCALATED
    assert portal.client.get(f"{base}/plan/unbekannt/schritte").status_code == 404
    assert portal.client.get(f"{base}/barrieren/unbekannt/status").status_code == 404


def test_closing_sends_one_outcome_per_goal(portal: Portal) -> None:
    portal.apis.case.answer("GetCase", plan_case())
    page = text(portal.client.get(f"/faelle/{CASE_ID}/abschluss"))
    assert 'id="f-outcomes-0-outcome"' in page
    portal.post(
        f"/faelle/{CASE_ID}/abschluss",
        {
            "reason": "goals_achieved",
            "goal_id": "g1",
            "outcomes[0].outcome": "achieved",
            "outcomes[0].note": "Pass",
        },
    )
    [request] = portal.apis.case.requests("CloseCase")
    assert [(o.goal_id, o.outcome, o.note) for o in request.outcomes] == [
        ("g1", case_types.GOAL_OUTCOME_ACHIEVED, "Pass")
    ]
    portal.apis.case.answer(
        "CloseCase", InvalidArgument([FieldViolation("outcomes[0].outcome", "Angabe fehlt.")])
    )
    refused = text(portal.post(f"/faelle/{CASE_ID}/abschluss", {"reason": "goals_achieved", "goal_id": "g1"}))
    assert summary_links(refused) == {"f-outcomes-0-outcome": "Angabe fehlt."}


def test_a_transfer_leaves_the_case_and_returns_to_the_list(with_case: Portal) -> None:
    response = with_case.post(
        f"/faelle/{CASE_ID}/zustaendigkeit/uebergabe",
        {"to_org": "caritas-mettmann", "to_case_manager": "m.beratung", "reason": "Umzug"},
    )
    assert response.headers["Location"] == "/faelle/"
    [request] = with_case.apis.case.requests("TransferCase")
    assert (request.to_org, request.to_case_manager, request.reason) == (
        "caritas-mettmann",
        "m.beratung",
        "Umzug",
    )


def test_who_read_the_case_lists_its_own_audit_entries_newest_first(with_case: Portal) -> None:
    entries = case_pb2.ListAuditEntriesResponse()
    entries.entries.add(
        sequence=1,
        call="ProposeCase",
        actor_subject="c.manager",
        actor_org="stadt-hilden",
        purpose="Fallvorschlag",
        allowed=True,
        case_id=CASE_ID,
    )
    entries.entries.add(
        sequence=2,
        call="GetPerson",
        actor_subject="m.beratung",
        actor_org="caritas-mettmann",
        purpose="Neugier",
        allowed=False,
        detail="fremder Fall",
        case_id=CASE_ID,
    )
    with_case.apis.case.answer("ListAuditEntries", entries)
    page = text(with_case.client.get(f"/faelle/{CASE_ID}/einsichten"))
    [request] = with_case.apis.case.requests("ListAuditEntries")
    assert request.case_id == CASE_ID
    assert page.index("m.beratung") < page.index("ProposeCase")
    assert "abgewiesen: fremder Fall" in page and "Zugriffe auf den Fall KIM-2026-7F3K9Q (2)" in page
