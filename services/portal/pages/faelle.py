"""Fallmanagement: the case manager's pages at the Stadt and at the Caritas (issue 16).

Every page is one topic with at most one form that has fields; each form posts to its own URL,
and after success the browser is redirected (POST-redirect-GET) to the page with a confirmation.
Inputs are named after the api's field paths (`person.birth_date`, `purposes`), so the api's
German field violations land at their fields (services/portal/forms.py). The api decides every
permission: a case of another organisation gives the same "Nicht gefunden" page as a missing
one (`apis.call`), and so does a case page opened by someone without a case role.

URLs (stable: the cross-node story test drives them):

    /faelle/                                    Meine Fälle, filters and due reviews
    /faelle/neu                                 Neuer Fallvorschlag (+ "Zielgruppen prüfen")
    /faelle/zielgruppen-pruefung                JSON of the live Zielgruppen check (POST)
    /faelle/<id>                                the case file: overview and next step
    /faelle/<id>/status/<schritt>               bedarfsermittlung | planung | monitoring (POST)
    /faelle/<id>/fallkonferenz                  submit to the Fallkonferenz
    /faelle/<id>/bedarfe                        Bedarfsermittlung by Handlungsfeld
    /faelle/<id>/plan                           Integrationsplan, add a goal
    /faelle/<id>/plan/<goal>/schritte           add a step to a goal
    /faelle/<id>/plan/<goal>/fortschritt        record progress on a goal
    /faelle/<id>/plan/<goal>/<step>/abschluss   finish a step
    /faelle/<id>/barrieren                      barriers, record one
    /faelle/<id>/barrieren/<barrier>/status     change a barrier's status
    /faelle/<id>/journal                        journal, add a note
    /faelle/<id>/zustaendigkeit                 assign the case manager, transfer the case
    /faelle/<id>/abschluss                      close (with reason and goal outcomes), reopen
    /faelle/<id>/einsichten                     Wer hat diesen Fall eingesehen
Consents are in einwilligungen.py (/faelle/<id>/einwilligungen...).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from kim.case.v1 import case_pb2
from kim.identity.v1 import identity_pb2
from kimnetz.runtime.proto_mapping import to_proto_date
from services.portal.apis import apis, call
from services.portal.auth import current_person, role_required
from services.portal.forms import FormErrors, field_text, parse_date, parse_int
from services.portal.navigation import NavItem
from services.portal.pages import fallvokabular as vocab

bp = Blueprint("faelle", __name__, url_prefix="/faelle")

#: Who works cases in the portal; the api decides each call, this only keeps the pages from
#: those whose navigation does not offer them.
CASE_ROLES = ("case_manager", "coordinator", "immigration_liaison")
NAV = (NavItem("Meine Fälle", "faelle.liste", frozenset(CASE_ROLES), order=10),
       NavItem("Neuer Fallvorschlag", "faelle.neu", frozenset(CASE_ROLES), order=11))
#: "Fällige Fallbesprechungen": quarterly reviews due within this many days.
REVIEW_WINDOW_DAYS = 14
PAGE_SIZE = 50
#: Purposes written to the case's audit trail (the data protection officer reads them).
PURPOSE_FILE = "Fallakte"
PURPOSE_WORK = "Fallbearbeitung"

Render = Callable[..., str]


def case_page(view: Callable[..., Any]) -> Callable[..., Any]:
    return role_required(*CASE_ROLES)(view)


# -- helpers the case pages share ------------------------------------------------------------------

def load_case(case_id: str, purpose: str = PURPOSE_FILE) -> case_pb2.Case:
    """The case as the person may read it (NOT_FOUND and PERMISSION_DENIED: the 404 page)."""
    found: case_pb2.Case = call(apis().case.GetCase,
                                case_pb2.GetCaseRequest(case_id=case_id, purpose=purpose))
    return found


def render_case(template: str, case_id: str, *, errors: FormErrors | None = None,
                form: MultiDict[str, str] | None = None, status: int = 200,
                **context: Any) -> tuple[str, int]:
    """A case page: the case, the form as entered (on errors) and the errors for the summary."""
    case = context.pop("case", None) or load_case(case_id)
    return render_template(template, case=case, errors=errors or FormErrors(), form=form or MultiDict(),
                           vocab=vocab, **context), status


def fold_indexed(errors: FormErrors, keep: tuple[str, ...] = ()) -> FormErrors:
    """Violations of list items ("person.nationalities[1]") shown at the list's one input,
    except for fields the form has per item (`keep`: prefixes such as "outcomes[")."""
    folded = FormErrors(general=list(errors.general))
    for field, message in errors.items():
        if "[" in field and not field.startswith(keep):
            field = field.split("[", 1)[0]
        folded.add(field, message)
    return folded


def act(case_id: str, template: str, send: Callable[[], object], done: str, target: str, *,
        keep: tuple[str, ...] = (), rename: dict[str, str] | None = None,
        **context: Any) -> Response | tuple[str, int]:
    """One command on the case from the posted form: `send` builds and sends the request; on
    success a confirmation and the redirect to `target` (an endpoint taking case_id), on errors
    the page `template` again with the summary (status 400). `rename`: api field -> input name,
    where two forms of one page share an api field name ("reason")."""
    try:
        send()
    except FormErrors as errors:
        folded = fold_indexed(errors, keep)
        shown = FormErrors(general=folded.general)
        for field, message in folded.items():
            shown.add((rename or {}).get(field, field), message)
        return render_case(template, case_id, errors=shown, form=request.form, status=400, **context)
    flash(done, "success")
    return redirect(url_for(target, case_id=case_id))


def local_date(field: str, errors: FormErrors, label: str, *, required: bool = False) -> Any:
    """A posted German date as kim.common.v1.Date (None when empty or wrong: `errors` says why)."""
    day = parse_date(request.form.get(field), field, errors, label=label, required=required)
    return to_proto_date(day) if day else None


def split_codes(text: str) -> list[str]:
    """"SY, af" -> ["SY", "af"]: codes typed into one field, separated by commas or spaces."""
    return [part for part in text.replace(",", " ").split() if part]


def organisations() -> list[tuple[str, str]]:
    """(organisation id, name) of the federation's nodes for choices; empty if the directory is
    not reachable (the field then takes any organisation id)."""
    try:
        listed = call(apis().identity.ListNodes, identity_pb2.ListNodesRequest())
    except Exception:
        return []
    seen: dict[str, str] = {}
    for node in listed.nodes:
        seen.setdefault(node.organization, node.organization_name or node.organization)
    return sorted(seen.items(), key=lambda item: item[1])


def coordination_offices() -> list[tuple[str, str]]:
    """The koordinierende Stellen (organisations of the Kreis' nodes, role "district")."""
    try:
        listed = call(apis().identity.ListNodes, identity_pb2.ListNodesRequest())
    except Exception:
        return []
    seen: dict[str, str] = {}
    for node in listed.nodes:
        if node.role == identity_pb2.NODE_ROLE_DISTRICT:
            seen.setdefault(node.organization, node.organization_name or node.organization)
    return sorted(seen.items(), key=lambda item: item[1])


# -- Meine Fälle -------------------------------------------------------------------------------------

@bp.get("/")
@case_page
def liste() -> str:
    """The organisation's cases (briefs only, no personal data), filtered by status, Zielgruppe
    and "nur meine"; above them the cases whose quarterly review is due soon."""
    person = current_person()
    status = request.args.get("status", "")
    zielgruppe = request.args.get("zielgruppe", "").strip()
    mine = request.args.get("meine") == "1"
    page_token = request.args.get("seite", "")
    listing = call(apis().case.ListCases, case_pb2.ListCasesRequest(
        statuses=[vocab.number("CaseStatus", status)] if status else [],
        zielgruppe=zielgruppe, case_manager=person.username if mine else "",
        page_size=PAGE_SIZE, page_token=page_token, purpose="Meine Fälle"))
    due_by = date.today() + timedelta(days=REVIEW_WINDOW_DAYS)
    due = call(apis().case.ListCases, case_pb2.ListCasesRequest(
        review_due_by=to_proto_date(due_by), case_manager=person.username if mine else "",
        page_size=PAGE_SIZE, purpose="Fällige Fallbesprechungen"))
    zielgruppen = dict(vocab.ZIELGRUPPEN_V1)
    for brief in [*listing.cases, *due.cases]:
        if brief.zielgruppe:
            zielgruppen.setdefault(brief.zielgruppe, vocab.zielgruppe_label(brief.zielgruppe))
    return render_template("faelle/liste.html", cases=listing.cases, next_page=listing.next_page_token,
                           due=due.cases, due_by=due_by, status=status, zielgruppe=zielgruppe, mine=mine,
                           zielgruppen=sorted(zielgruppen.items(), key=lambda item: item[1]), vocab=vocab,
                           filtered=bool(status or zielgruppe or mine))


# -- Neuer Fallvorschlag -----------------------------------------------------------------------------

#: The person's inputs of the Fallvorschlag, by the api's field path.
PERSON_TEXT = ("given_name", "family_name", "country_of_origin", "region_of_origin")


def person_from_form(form: MultiDict[str, str], errors: FormErrors) -> case_pb2.Person:
    """The person message from the posted form (German dates and counts parsed here)."""
    def text(name: str) -> str:
        return field_text(form, f"person.{name}")

    def day(name: str, label: str, required: bool = False) -> Any:
        parsed = parse_date(form.get(f"person.{name}"), f"person.{name}", errors, label=label,
                            required=required)
        return to_proto_date(parsed) if parsed else None

    umf = form.get("person.received_as_umf") == "1"
    residence = case_pb2.ResidenceStatus(
        kind=vocab.number("ResidenceStatusKind", text("residence.kind")),
        legal_basis=text("residence.legal_basis"),
        prospective_legal_basis=text("residence.prospective_legal_basis"),
        valid_from=day("residence.valid_from", "den Beginn der Gültigkeit"),
        valid_until=day("residence.valid_until", "das Ende der Gültigkeit"))
    adults = parse_int(form.get("person.household.adults"), "person.household.adults", errors,
                       label="die Zahl der Erwachsenen")
    children = parse_int(form.get("person.household.children"), "person.household.children", errors,
                         label="die Zahl der Kinder")
    return case_pb2.Person(
        given_name=text("given_name"), family_name=text("family_name"),
        birth_date=day("birth_date", "das Geburtsdatum"),
        nationalities=[c.upper() for c in split_codes(text("nationalities"))],
        country_of_origin=text("country_of_origin").upper(), region_of_origin=text("region_of_origin"),
        residence=residence, languages=[c.lower() for c in split_codes(text("languages"))],
        household_adults=1 if adults is None else adults, household_children=children or 0,
        household_note=text("household.note"), phone=text("contact.phone"), email=text("contact.email"),
        address=text("contact.address"), received_as_umf=umf,
        umf_received_on=day("umf_received_on", "das Datum der Aufnahme"))


#: Where the api names a person field differently from the form's input.
API_TO_FORM = {"person.phone": "person.contact.phone", "person.email": "person.contact.email",
               "person.address": "person.contact.address"}


#: The proposal's fields by their German label: the api's short messages ("Angabe fehlt.") are
#: shown with it, so each line of the error summary says which field it is about.
PROPOSAL_LABELS = {
    "person.given_name": "Vorname", "person.family_name": "Familienname",
    "person.birth_date": "Geburtsdatum", "person.nationalities": "Staatsangehörigkeiten",
    "person.languages": "Sprachen", "person.country_of_origin": "Herkunftsland",
    "person.region_of_origin": "Herkunftsregion", "person.residence.kind": "Aufenthaltsstatus",
    "person.residence.legal_basis": "Rechtsgrundlage", "person.residence.valid_from": "Gültig ab",
    "person.residence.valid_until": "Gültig bis",
    "person.residence.prospective_legal_basis": "Angestrebte Rechtsgrundlage",
    "person.umf_received_on": "Datum der Aufnahme", "person.household.adults": "Erwachsene im Haushalt",
    "person.household.children": "Kinder im Haushalt", "person.household.note": "Hinweise zum Haushalt",
    "person.contact.phone": "Telefon", "person.contact.email": "E-Mail",
    "person.contact.address": "Anschrift",
    "coordination_org": "Koordinierende Stelle", "proposer_kind": "Vorschlagende Stelle",
    "proposer_unit": "Dienststelle", "reason": "Anlass des Vorschlags", "handlungsfelder": "Handlungsfelder",
    "rechtskreise": "Rechtskreise",
}


def labelled(errors: FormErrors, labels: dict[str, str]) -> FormErrors:
    """Each field's message led by the field's label ("Vorname: Angabe fehlt.") unless the
    message names it already (the portal's own parsers do: "das Geburtsdatum: ...")."""
    shown = FormErrors(general=errors.general)
    for field, message in errors.items():
        label = labels.get(field)
        shown.add(field, f"{label}: {message}" if label and not message.lower().startswith(
            ("das ", "die ", "den ", label.lower())) else message)
    return shown


def form_errors(errors: FormErrors) -> FormErrors:
    folded = fold_indexed(errors)
    mapped = FormErrors(general=folded.general)
    for field, message in folded.items():
        mapped.add(API_TO_FORM.get(field, field), message)
    return labelled(mapped, PROPOSAL_LABELS)


def check(form: MultiDict[str, str]) -> tuple[case_pb2.Eligibility | None, FormErrors]:
    """The live Zielgruppen check of what was entered so far (nothing is stored)."""
    errors = FormErrors()
    person = person_from_form(form, errors)
    if errors:
        return None, errors
    try:
        result: case_pb2.Eligibility = call(apis().case.CheckEligibility,
                                            case_pb2.CheckEligibilityRequest(person=person))
    except FormErrors as refused:
        return None, form_errors(refused)
    return result, errors


def eligibility_view(result: case_pb2.Eligibility) -> dict[str, Any]:
    """The check as the page and the script show it: matched names, the others with reasons."""
    names = list(result.matched_names) + [""] * len(result.matched)
    return {
        "eligible": bool(result.matched),
        "summary": result.summary,
        "version": result.zielgruppen_version,
        "matched": [names[i] or vocab.zielgruppe_label(key) for i, key in enumerate(result.matched)],
        "mismatches": [{"name": m.name or vocab.zielgruppe_label(m.zielgruppe), "reasons": list(m.reasons)}
                       for m in result.mismatches],
    }


def render_proposal(errors: FormErrors | None = None, eligibility: dict[str, Any] | None = None,
                    status: int = 200) -> tuple[str, int]:
    return render_template(
        "faelle/neu.html", form=request.form if request.method == "POST" else MultiDict(),
        errors=errors or FormErrors(), eligibility=eligibility, vocab=vocab,
        offices=coordination_offices()), status


@bp.get("/neu")
@case_page
def neu() -> tuple[str, int]:
    return render_proposal()


@bp.post("/neu")
@case_page
def vorschlagen() -> Response | tuple[str, int]:
    """"Zielgruppen prüfen" (aktion=pruefen) shows the check without JavaScript; "Fall
    vorschlagen" proposes and goes on to the consent, which the Fallkonferenz needs."""
    form = request.form
    if form.get("aktion") == "pruefen":
        result, errors = check(form)
        return render_proposal(errors if errors else None, eligibility_view(result) if result else None,
                               status=400 if errors else 200)
    errors = FormErrors()
    person = person_from_form(form, errors)
    if errors:
        return render_proposal(errors, status=400)
    try:
        case = call(apis().case.ProposeCase, case_pb2.ProposeCaseRequest(
            coordination_org=field_text(form, "coordination_org"),
            proposer_kind=vocab.number("ProposerKind", form.get("proposer_kind", "")),
            proposer_unit=field_text(form, "proposer_unit"),
            reason=field_text(form, "reason"),
            handlungsfelder=vocab.numbers("Handlungsfeld", form.getlist("handlungsfelder")),
            rechtskreise=vocab.numbers("Rechtskreis", form.getlist("rechtskreise")),
            person=person))
    except FormErrors as refused:
        return render_proposal(form_errors(refused), status=400)
    flash(f"Der Fallvorschlag {case.pseudonym} ist angelegt. {case.eligibility.summary} "
          "Erfassen Sie jetzt die Einwilligung der Person.", "success")
    return redirect(url_for("einwilligungen.liste", case_id=case.case_id))


@bp.post("/zielgruppen-pruefung")
@case_page
def zielgruppen_pruefung() -> tuple[Response, int]:
    """JSON for static/faelle.js: the check of the form as entered so far (field errors keyed by
    the inputs' ids, which the script ignores while the person is still typing)."""
    result, errors = check(request.form)
    if result is None:
        return jsonify({"errors": dict(errors.items()), "general": errors.general}), 200
    return jsonify({"errors": {}, "general": [], **eligibility_view(result)}), 200


# -- the case file -----------------------------------------------------------------------------------

@bp.get("/<case_id>")
@case_page
def akte(case_id: str) -> tuple[str, int]:
    """Overview: status, Zielgruppe, the person (read and audited for this page only), the
    decisions, what is due, and the next step of the case's lifecycle."""
    case = load_case(case_id)
    person = call(apis().case.GetPerson, case_pb2.GetPersonRequest(case_id=case_id, purpose=PURPOSE_FILE))
    return render_case("faelle/akte.html", case_id, case=case, person=person)


#: The lifecycle steps a button on the overview takes, by URL part.
STEPS: dict[str, tuple[str, str]] = {
    "bedarfsermittlung": ("StartAssessment", "Die Bedarfsermittlung hat begonnen."),
    "planung": ("StartPlanning", "Die Integrationsplanung hat begonnen."),
    "monitoring": ("ActivatePlan", "Der Integrationsplan ist aktiv; der Fall ist im Monitoring."),
}


@bp.post("/<case_id>/status/<schritt>")
@case_page
def status_schritt(case_id: str, schritt: str) -> Response | tuple[str, int]:
    if schritt not in STEPS:
        from werkzeug.exceptions import NotFound
        raise NotFound()
    rpc, done = STEPS[schritt]
    return act(case_id, "faelle/akte.html",
               lambda: call(getattr(apis().case, rpc),
                            case_pb2.CaseRef(case_id=case_id, purpose=PURPOSE_WORK)),
               done, "faelle.akte", person=None)


# -- Fallkonferenz -----------------------------------------------------------------------------------

@bp.get("/<case_id>/fallkonferenz")
@case_page
def fallkonferenz(case_id: str) -> tuple[str, int]:
    return render_case("faelle/fallkonferenz.html", case_id, organisations=organisations())


@bp.post("/<case_id>/fallkonferenz")
@case_page
def anmelden(case_id: str) -> Response | tuple[str, int]:
    form = request.form
    return act(case_id, "faelle/fallkonferenz.html", lambda: call(
        apis().case.SubmitForReview, case_pb2.SubmitForReviewRequest(
            case_id=case_id, conference_orgs=[o for o in form.getlist("conference_orgs") if o],
            note=field_text(form, "note"))),
        "Der Fall ist zur Fallkonferenz angemeldet.", "faelle.akte", organisations=organisations())


# -- Bedarfsermittlung -------------------------------------------------------------------------------

@bp.get("/<case_id>/bedarfe")
@case_page
def bedarfe(case_id: str) -> tuple[str, int]:
    return render_case("faelle/bedarfe.html", case_id)


@bp.post("/<case_id>/bedarfe")
@case_page
def bedarf_erfassen(case_id: str) -> Response | tuple[str, int]:
    form = request.form
    return act(case_id, "faelle/bedarfe.html", lambda: call(
        apis().case.RecordNeed, case_pb2.RecordNeedRequest(
        case_id=case_id, handlungsfeld=vocab.number("Handlungsfeld", form.get("handlungsfeld", "")),
        need=field_text(form, "need"), resources=field_text(form, "resources"),
        priority=vocab.number("Priority", form.get("priority", "")))),
        "Der Bedarf ist erfasst.", "faelle.bedarfe")


# -- Integrationsplan --------------------------------------------------------------------------------

def find_goal(case: case_pb2.Case, goal_id: str) -> Any:
    goal = next((g for g in case.goals if g.goal_id == goal_id), None)
    if goal is None:
        from werkzeug.exceptions import NotFound
        raise NotFound()
    return goal


@bp.get("/<case_id>/plan")
@case_page
def plan(case_id: str) -> tuple[str, int]:
    return render_case("faelle/plan.html", case_id)


def with_date(field: str, label: str, send: Callable[[Any], object], *, required: bool = False
              ) -> Callable[[], object]:
    """`send(day)` with the posted German date `field`; a wrong date is the field's error
    before anything is sent."""
    def run() -> object:
        errors = FormErrors()
        day = local_date(field, errors, label, required=required)
        if errors:
            raise errors
        return send(day)
    return run


@bp.post("/<case_id>/plan")
@case_page
def ziel_hinzufuegen(case_id: str) -> Response | tuple[str, int]:
    form = request.form
    return act(case_id, "faelle/plan.html", with_date("due_on", "das Zieldatum", lambda due: call(
        apis().case.AddGoal, case_pb2.AddGoalRequest(
            case_id=case_id, title=field_text(form, "title"),
            handlungsfeld=vocab.number("Handlungsfeld", form.get("handlungsfeld", "")), due_on=due))),
        "Das Ziel steht im Integrationsplan.", "faelle.plan")


@bp.route("/<case_id>/plan/<goal_id>/schritte", methods=["GET", "POST"])
@case_page
def schritt_hinzufuegen(case_id: str, goal_id: str) -> Response | tuple[str, int]:
    case = load_case(case_id)
    goal = find_goal(case, goal_id)
    if request.method == "GET":
        return render_case("faelle/schritt_neu.html", case_id, case=case, goal=goal)
    form = request.form
    due_label = "das Fälligkeitsdatum"
    result = act(case_id, "faelle/schritt_neu.html", with_date("due_on", due_label, lambda due: call(
        apis().case.AddStep, case_pb2.AddStepRequest(
            case_id=case_id, goal_id=goal_id, description=field_text(form, "description"),
            responsible=field_text(form, "responsible"),
            rechtskreis=vocab.number("Rechtskreis", form.get("rechtskreis", "")), due_on=due))),
        "Der Schritt ist angelegt.", "faelle.plan", goal=goal)
    return result


@bp.route("/<case_id>/plan/<goal_id>/fortschritt", methods=["GET", "POST"])
@case_page
def fortschritt(case_id: str, goal_id: str) -> Response | tuple[str, int]:
    case = load_case(case_id)
    goal = find_goal(case, goal_id)
    if request.method == "GET":
        return render_case("faelle/fortschritt.html", case_id, case=case, goal=goal)
    return act(case_id, "faelle/fortschritt.html", lambda: call(
        apis().case.RecordProgress, case_pb2.RecordProgressRequest(
            case_id=case_id, goal_id=goal_id, note=field_text(request.form, "note"))),
        "Der Fortschritt ist vermerkt.", "faelle.plan", goal=goal)


@bp.route("/<case_id>/plan/<goal_id>/<step_id>/abschluss", methods=["GET", "POST"])
@case_page
def schritt_abschliessen(case_id: str, goal_id: str, step_id: str) -> Response | tuple[str, int]:
    case = load_case(case_id)
    goal = find_goal(case, goal_id)
    step = next((s for s in goal.steps if s.step_id == step_id), None)
    if step is None:
        from werkzeug.exceptions import NotFound
        raise NotFound()
    if request.method == "GET":
        return render_case("faelle/schritt_abschluss.html", case_id, case=case, goal=goal, step=step)
    form = request.form
    return act(case_id, "faelle/schritt_abschluss.html", lambda: call(
        apis().case.FinishStep, case_pb2.FinishStepRequest(
            case_id=case_id, goal_id=goal_id, step_id=step_id,
            status=vocab.number("StepStatus", form.get("status", "")),
            note=field_text(form, "note"))),
        "Der Schritt ist abgeschlossen.", "faelle.plan", goal=goal, step=step)


# -- Barrieren ---------------------------------------------------------------------------------------

@bp.get("/<case_id>/barrieren")
@case_page
def barrieren(case_id: str) -> tuple[str, int]:
    return render_case("faelle/barrieren.html", case_id)


@bp.post("/<case_id>/barrieren")
@case_page
def barriere_erfassen(case_id: str) -> Response | tuple[str, int]:
    form = request.form
    return act(case_id, "faelle/barrieren.html", lambda: call(
        apis().case.RecordBarrier, case_pb2.RecordBarrierRequest(
            case_id=case_id, rechtskreise=vocab.numbers("Rechtskreis", form.getlist("rechtskreise")),
            category=vocab.number("BarrierCategory", form.get("category", "")),
            description=field_text(form, "description"),
            handlungsfeld=vocab.number("Handlungsfeld", form.get("handlungsfeld", "")))),
        "Die Barriere ist erfasst.", "faelle.barrieren")


@bp.route("/<case_id>/barrieren/<barrier_id>/status", methods=["GET", "POST"])
@case_page
def barriere_status(case_id: str, barrier_id: str) -> Response | tuple[str, int]:
    case = load_case(case_id)
    barrier = next((b for b in case.barriers if b.barrier_id == barrier_id), None)
    if barrier is None:
        from werkzeug.exceptions import NotFound
        raise NotFound()
    if request.method == "GET":
        return render_case("faelle/barriere_status.html", case_id, case=case, barrier=barrier)
    form = request.form
    return act(case_id, "faelle/barriere_status.html", lambda: call(
        apis().case.ChangeBarrierStatus, case_pb2.ChangeBarrierStatusRequest(
            case_id=case_id, barrier_id=barrier_id,
            status=vocab.number("BarrierStatus", form.get("status", "")),
            note=field_text(form, "note"))),
        "Der Status der Barriere ist geändert.", "faelle.barrieren", barrier=barrier)


# -- Journal -----------------------------------------------------------------------------------------

@bp.get("/<case_id>/journal")
@case_page
def journal(case_id: str) -> tuple[str, int]:
    return render_case("faelle/journal.html", case_id)


@bp.post("/<case_id>/journal")
@case_page
def notiz(case_id: str) -> Response | tuple[str, int]:
    return act(case_id, "faelle/journal.html", lambda: call(
        apis().case.AddJournalNote, case_pb2.AddJournalNoteRequest(
            case_id=case_id, text=field_text(request.form, "text"))),
        "Der Eintrag steht im Journal.", "faelle.journal")


# -- Zuständigkeit -----------------------------------------------------------------------------------

@bp.get("/<case_id>/zustaendigkeit")
@case_page
def zustaendigkeit(case_id: str) -> tuple[str, int]:
    return render_case("faelle/zustaendigkeit.html", case_id, organisations=organisations())


@bp.post("/<case_id>/zustaendigkeit/zuweisung")
@case_page
def zuweisen(case_id: str) -> Response | tuple[str, int]:
    form = request.form
    return act(case_id, "faelle/zustaendigkeit.html", lambda: call(
        apis().case.AssignCaseManager, case_pb2.AssignCaseManagerRequest(
            case_id=case_id, case_manager=field_text(form, "case_manager"),
            reason=field_text(form, "assign_reason"))),
        "Die Fallverantwortung ist neu zugewiesen.", "faelle.zustaendigkeit",
        rename={"reason": "assign_reason"}, organisations=organisations())


@bp.post("/<case_id>/zustaendigkeit/uebergabe")
@case_page
def uebergeben(case_id: str) -> Response | tuple[str, int]:
    form = request.form
    try:
        call(apis().case.TransferCase, case_pb2.TransferCaseRequest(
            case_id=case_id, to_org=field_text(form, "to_org"),
            to_case_manager=field_text(form, "to_case_manager"),
            reason=field_text(form, "reason")))
    except FormErrors as errors:
        return render_case("faelle/zustaendigkeit.html", case_id, errors=errors, form=form, status=400,
                           organisations=organisations())
    flash("Der Fall ist übergeben. Er gehört jetzt der aufnehmenden Organisation.", "success")
    # After a transfer to another organisation this organisation no longer reads the case.
    return redirect(url_for("faelle.liste"))


# -- Abschluss und Wiederaufnahme --------------------------------------------------------------------

@bp.get("/<case_id>/abschluss")
@case_page
def abschluss(case_id: str) -> tuple[str, int]:
    return render_case("faelle/abschluss.html", case_id)


@bp.post("/<case_id>/abschluss")
@case_page
def abschliessen(case_id: str) -> Response | tuple[str, int]:
    form = request.form
    goal_ids = form.getlist("goal_id")
    outcomes = [case_pb2.GoalOutcomeInput(
        goal_id=goal_id, outcome=vocab.number("GoalOutcome", form.get(f"outcomes[{i}].outcome", "")),
        note=field_text(form, f"outcomes[{i}].note")) for i, goal_id in enumerate(goal_ids)]
    return act(case_id, "faelle/abschluss.html", lambda: call(
        apis().case.CloseCase, case_pb2.CloseCaseRequest(
            case_id=case_id, reason=vocab.number("ClosureReason", form.get("reason", "")),
            note=field_text(form, "note"), outcomes=outcomes)),
        "Der Fall ist abgeschlossen.", "faelle.akte", keep=("outcomes[",))


@bp.post("/<case_id>/wiederaufnahme")
@case_page
def wiederaufnehmen(case_id: str) -> Response | tuple[str, int]:
    return act(case_id, "faelle/abschluss.html", lambda: call(
        apis().case.ReopenCase, case_pb2.ReopenCaseRequest(
            case_id=case_id, reason=field_text(request.form, "reopen_reason"))),
        "Der Fall ist wieder aufgenommen.", "faelle.akte", rename={"reason": "reopen_reason"})


# -- Wer hat diesen Fall eingesehen ------------------------------------------------------------------

@bp.get("/<case_id>/einsichten")
@case_page
def einsichten(case_id: str) -> tuple[str, int]:
    """The case's own audit entries, newest first (every read and write, allowed or refused,
    with who, organisation, purpose). The reading itself is in the trail too."""
    case = load_case(case_id, purpose="Wer hat diesen Fall eingesehen")
    entries: list[Any] = []
    after = 0
    for _ in range(20):  # at most 10,000 entries of one case
        page = call(apis().case.ListAuditEntries, case_pb2.ListAuditEntriesRequest(
            case_id=case_id, after_sequence=after, page_size=500))
        entries.extend(page.entries)
        after = page.next_after_sequence
        if not after:
            break
    entries.reverse()
    return render_case("faelle/einsichten.html", case_id, case=case, entries=entries)
