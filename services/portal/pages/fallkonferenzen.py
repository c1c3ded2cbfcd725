"""Fallkonferenzen (Koordination of the Kreis; the invited Integrationslotsin and case managers).

Coordinators plan a Fallkonferenz (day, place, participants), build its agenda from the briefs
the owning nodes give (nodes not reached and cases left out are shown with their reasons, never
hidden), start it, decide each item (Aufnahme, Verweisberatung, Zurückstellung, Ablehnung, or the
result of a Fallbesprechung), close it and download the Protokoll as DOCX or PDF. The invited
Integrationslotsin and case managers see the conferences that invite them; an item whose
person's consent does not cover their organisation comes from the api withheld, with the reason,
and is shown so. The api decides every call; the pages only offer what the roles suggest.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, session, url_for

from kim.common.v1 import types_pb2 as common
from kim.conference.v1 import conference_pb2 as pb
from kim.documents.v1 import documents_pb2 as dpb
from kimnetz import vocabulary
from kimnetz.runtime.proto_mapping import to_proto_date, to_proto_timestamp
from services.portal.apis import apis, call
from services.portal.auth import current_person, role_required
from services.portal.forms import FormErrors, field_texts, parse_date
from services.portal.kreis_labels import number_of, options
from services.portal.kreis_support import (
    View,
    install_filters,
    is_fetch,
    lines,
    parse_moment,
    renumbered,
    rows,
)
from services.portal.navigation import NavItem

bp = Blueprint("fallkonferenzen", __name__, url_prefix="/fallkonferenzen")
install_filters(bp)

READERS = ("coordinator", "immigration_liaison", "case_manager")
NAV = (NavItem("Fallkonferenzen", "fallkonferenzen.index", frozenset(READERS), order=30),)

#: Rows of the participants' form; more people are invited by organisation.
PARTICIPANT_ROWS = 6
PARTICIPANT_FIELDS = ("person", "name", "role", "organisation")
DECISION_KINDS = [
    ("admission", "Aufnahme ins Case Management"),
    ("referral", "Verweisberatung"),
    ("deferral", "Zurückstellen"),
    ("rejection", "Ablehnen"),
    ("review", "Ergebnis der Fallbesprechung"),
]


def referral_targets() -> list[tuple[Any, str]]:
    """The shared Verweisberatung targets (kim.common.v1) with their German labels."""
    return [
        (common.ReferralTarget.Value(f"REFERRAL_TARGET_{member.name}"), member.label)
        for member in vocabulary.ReferralTarget
    ]


def _is_coordinator() -> bool:
    return current_person().has_role("coordinator")


@bp.get("/")
@role_required(*READERS)
def index() -> str:
    if _is_coordinator():
        listed = call(apis().conference.ListConferences, pb.ListConferencesRequest(page_size=100))
    else:
        listed = call(
            apis().conference.ListInvitedConferences, pb.ListInvitedConferencesRequest(page_size=100)
        )
    return render_template(
        "fallkonferenzen/index.html", conferences=listed.conferences, coordinator=_is_coordinator()
    )


# --- planning -------------------------------------------------------------------------------------


def _participant_form() -> dict[str, str]:
    person = current_person()
    return {
        "participants[0].person": person.username,
        "participants[0].name": person.name,
        "participants[0].role": str(number_of("ParticipantRole", "1")),
        "participants[0].organisation": person.organization,
    }


@bp.route("/neu", methods=["GET", "POST"])
@role_required("coordinator")
def plan() -> View:
    values: dict[str, str] = dict(request.form) if request.method == "POST" else _participant_form()
    errors = FormErrors()
    if request.method == "POST":
        starts_at = parse_moment(request.form, "starts_at", errors, what="der Fallkonferenz")
        filled = rows(request.form, "participants", PARTICIPANT_FIELDS, PARTICIPANT_ROWS)
        participants = [
            pb.Participant(
                person=v["person"],
                name=v["name"],
                role=number_of("ParticipantRole", v["role"]),
                organisation=v["organisation"],
            )
            for _, v in filled
        ]
        if not errors:
            scheduled_request = pb.ScheduleConferenceRequest(
                place=request.form.get("place", "").strip(),
                video_link=request.form.get("video_link", "").strip(),
                participants=participants,
            )
            if starts_at is not None:
                scheduled_request.starts_at.CopyFrom(to_proto_timestamp(starts_at))
            try:
                conference = call(apis().conference.ScheduleConference, scheduled_request)
            except FormErrors as refused:
                errors = renumbered(refused, "participants", [i for i, _ in filled])
            else:
                flash(
                    "Die Fallkonferenz ist angesetzt. Als Nächstes erstellen Sie die Tagesordnung.", "success"
                )
                return redirect(url_for(".show", conference_id=conference.conference_id))
    return render_template(
        "fallkonferenzen/neu.html",
        values=values,
        errors=errors,
        rows=range(PARTICIPANT_ROWS),
        roles=options("ParticipantRole"),
    ), 400 if errors else 200


# --- one conference -------------------------------------------------------------------------------


def _build_result(conference_id: str) -> dict[str, Any] | None:
    return dict(session.get("agenda_builds", {})).get(conference_id)


def _remember_build(conference_id: str, built: Any) -> None:
    """What the last agenda build reported (nodes not reached, cases left out), kept in the
    server-side session so the page shows it after the redirect."""
    builds = dict(session.get("agenda_builds", {}))
    builds[conference_id] = {
        "added": len(built.added_case_ids),
        "skipped": [{"case_id": s.case_id, "reason": s.reason} for s in built.skipped],
        "unreachable": [
            {
                "node_id": u.node_id,
                "organisation": u.organisation,
                "reason": u.reason,
                "pseudonyms": list(u.pseudonyms) or list(u.case_ids),
            }
            for u in built.unreachable_nodes
        ],
    }
    session["agenda_builds"] = builds


def _conference(conference_id: str) -> Any:
    return call(apis().conference.GetConference, pb.GetConferenceRequest(conference_id=conference_id))


@bp.get("/<conference_id>")
@role_required(*READERS)
def show(conference_id: str) -> str:
    conference = _conference(conference_id)
    return render_template(
        "fallkonferenzen/konferenz.html",
        conference=conference,
        build=_build_result(conference_id),
        coordinator=_is_coordinator(),
        errors=FormErrors(),
    )


@bp.post("/<conference_id>/tagesordnung")
@role_required("coordinator")
def build_agenda(conference_id: str) -> View:
    """Fetches the briefs from the owning nodes. With the pages' script, only the agenda part
    of the page comes back (progressive enhancement); without, the page again."""
    try:
        built = call(
            apis().conference.BuildAgenda, pb.BuildAgendaRequest(conference_id=conference_id), timeout=60
        )
    except FormErrors as refused:
        conference = _conference(conference_id)
        template = "fallkonferenzen/_tagesordnung.html" if is_fetch() else "fallkonferenzen/konferenz.html"
        return render_template(
            template,
            conference=conference,
            build=_build_result(conference_id),
            coordinator=True,
            errors=refused,
        ), 409
    _remember_build(conference_id, built)
    if is_fetch():
        return render_template(
            "fallkonferenzen/_tagesordnung.html",
            conference=built.conference,
            build=_build_result(conference_id),
            coordinator=True,
            errors=FormErrors(),
        )
    flash(f"Die Tagesordnung ist erstellt: {len(built.added_case_ids)} Fälle neu aufgenommen.", "success")
    return redirect(url_for(".show", conference_id=conference_id) + "#tagesordnung")


def _step(conference_id: str, rpc: str, request_message: Any, done: str) -> View:
    try:
        call(getattr(apis().conference, rpc), request_message)
    except FormErrors as refused:
        return render_template(
            "fallkonferenzen/konferenz.html",
            conference=_conference(conference_id),
            build=_build_result(conference_id),
            coordinator=True,
            errors=refused,
        ), 409
    flash(done, "success")
    return redirect(url_for(".show", conference_id=conference_id))


@bp.post("/<conference_id>/beginnen")
@role_required("coordinator")
def start(conference_id: str) -> View:
    return _step(
        conference_id,
        "StartConference",
        pb.StartConferenceRequest(conference_id=conference_id),
        "Die Fallkonferenz hat begonnen.",
    )


@bp.post("/<conference_id>/abschliessen")
@role_required("coordinator")
def close(conference_id: str) -> View:
    return _step(
        conference_id,
        "CloseConference",
        pb.CloseConferenceRequest(conference_id=conference_id),
        "Die Fallkonferenz ist abgeschlossen. Das Protokoll können Sie jetzt erzeugen.",
    )


@bp.post("/<conference_id>/protokoll")
@role_required("coordinator")
def protocol(conference_id: str) -> View:
    errors = FormErrors()
    next_date = parse_date(
        request.form.get("next_date"), "next_date", errors, label="Tag der nächsten Fallkonferenz"
    )
    protocol_request = dpb.RenderConferenceProtocolRequest(
        conference_id=conference_id,
        coordination_office=request.form.get("coordination_office", "").strip(),
        signature_function=request.form.get("signature_function", "").strip(),
    )
    if next_date is not None:
        protocol_request.next_date.CopyFrom(to_proto_date(next_date))
    try:
        errors.raise_if_any()
        rendered = call(apis().documents.RenderConferenceProtocol, protocol_request, timeout=60)
    except FormErrors as refused:
        return render_template(
            "fallkonferenzen/konferenz.html",
            conference=_conference(conference_id),
            build=_build_result(conference_id),
            coordinator=True,
            errors=refused,
        ), 400
    flash("Das Protokoll ist erzeugt.", "success")
    return redirect(url_for("dokumente.show", document_id=rendered.document.document_id))


# --- deciding one item ----------------------------------------------------------------------------


def _item(conference: Any, case_id: str) -> Any:
    for item in conference.agenda:
        if item.brief.case_id == case_id:
            return item
    from werkzeug.exceptions import NotFound

    raise NotFound()


def _decision(form: Any, errors: FormErrors) -> pb.Decision:
    kind = form.get("art", "")
    text = field_texts(form)
    if kind == "admission":
        return pb.Decision(
            admission=pb.Admission(
                assigned_org=text.get("decision.admission.assigned_org", ""),
                case_manager=text.get("decision.admission.case_manager", ""),
            )
        )
    if kind == "referral":
        target = text.get("decision.referral.target", "")
        known = {str(n): n for n, _ in referral_targets()}
        return pb.Decision(
            referral=pb.Referral(
                target=known.get(target, common.REFERRAL_TARGET_UNSPECIFIED),
                service=text.get("decision.referral.service", ""),
                reason=text.get("decision.referral.reason", ""),
            )
        )
    if kind == "deferral":
        deferral = pb.Deferral(
            reason=text.get("decision.deferral.reason", ""),
            reason_code=number_of("DecisionReason", text.get("decision.deferral.reason_code")),
        )
        until = parse_date(
            text.get("decision.deferral.until"),
            "decision.deferral.until",
            errors,
            label="Zurückgestellt bis",
        )
        if until is not None:
            deferral.until.CopyFrom(to_proto_date(until))
        return pb.Decision(deferral=deferral)
    if kind == "rejection":
        return pb.Decision(
            rejection=pb.Rejection(
                reason=text.get("decision.rejection.reason", ""),
                reason_code=number_of("DecisionReason", text.get("decision.rejection.reason_code")),
            )
        )
    if kind == "review":
        return pb.Decision(
            review=pb.Review(
                outcome=number_of("ReviewOutcome", text.get("decision.review.outcome")),
                offices_to_invite=lines(text.get("decision.review.offices_to_invite")),
                note=text.get("decision.review.note", ""),
            )
        )
    errors.add("art", "Bitte wählen Sie, was die Fallkonferenz entscheidet.")
    return pb.Decision()


@bp.route("/<conference_id>/entscheidung/<case_id>", methods=["GET", "POST"])
@role_required("coordinator")
def decide(conference_id: str, case_id: str) -> View:
    conference = _conference(conference_id)
    item = _item(conference, case_id)
    errors = FormErrors()
    values: dict[str, str] = (
        dict(request.form) if request.method == "POST" else {"art": "review" if item.kind == 2 else ""}
    )
    if request.method == "POST":
        decision = _decision(request.form, errors)
        if not errors:
            try:
                call(
                    apis().conference.DecideItem,
                    pb.DecideItemRequest(conference_id=conference_id, case_id=case_id, decision=decision),
                )
            except FormErrors as refused:
                errors = refused
            else:
                flash(f"Die Entscheidung zu {item.brief.pseudonym or case_id} ist festgehalten.", "success")
                return redirect(url_for(".show", conference_id=conference_id) + "#tagesordnung")
    targets = referral_targets()
    return render_template(
        "fallkonferenzen/entscheidung.html",
        conference=conference,
        item=item,
        values=values,
        errors=errors,
        kinds=DECISION_KINDS,
        targets=targets,
        reasons=options("DecisionReason"),
        outcomes=options("ReviewOutcome"),
    ), 400 if errors else 200
