"""Lenkungsgruppe (Geschäftsführung by the koordinierende Stelle; its members; the Verwaltung).

Coordinators keep the roster (members with or without a vote, their deputies), schedule
sessions, put Beschlussvorlagen on the agenda, record who is present, declare each result and
close the session; members vote on their own seat. The Beschlussverfolgung lists every
Beschluss with its owner and due date; an overdue one says so in words ("überfällig seit …"),
not by colour alone. A closed session's Beschlussprotokoll comes from the documents service.
The Zielgruppen catalogue's versions are the adopted "Zielgruppen festlegen" Beschlüsse.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for

from kim.conference.v1 import conference_pb2 as pb, types_pb2 as ct
from kim.documents.v1 import documents_pb2 as dpb
from kimnetz.runtime.proto_mapping import to_proto_date, to_proto_timestamp
from services.portal.apis import apis, call
from services.portal.auth import current_person, role_required
from services.portal.forms import FormErrors, field_texts, parse_date
from services.portal.kreis_labels import number_of, options
from services.portal.kreis_support import View, install_filters, parse_moment
from services.portal.navigation import NavItem

bp = Blueprint("lenkungsgruppe", __name__, url_prefix="/lenkungsgruppe")
install_filters(bp)

READERS = ("coordinator", "steering_member", "clerk")
NAV = (NavItem("Lenkungsgruppe", "lenkungsgruppe.index", frozenset(READERS), order=40),)
#: The most Beschlüsse one list page asks for (the api's page limit).
PAGE = 200


def _coordinator() -> bool:
    return current_person().has_role("coordinator")


def _gremium(gremium_id: str) -> Any:
    return call(apis().conference.GetLenkungsgruppe, pb.GetLenkungsgruppeRequest(gremium_id=gremium_id))


def _session(session_id: str) -> Any:
    return call(apis().conference.GetSession, pb.GetSessionRequest(session_id=session_id))


def all_beschluesse(gremium_id: str) -> list[Any]:
    found: list[Any] = []
    token = ""
    while True:
        page = call(
            apis().conference.ListBeschluesse,
            pb.ListBeschluesseRequest(gremium_id=gremium_id, page_size=PAGE, page_token=token),
        )
        found += page.beschluesse
        token = page.next_page_token
        if not token:
            return found


# --- the gremium ------------------------------------------------------------------------------------


@bp.get("/")
@role_required(*READERS)
def index() -> str:
    listed = call(apis().conference.ListLenkungsgruppen, pb.ListLenkungsgruppenRequest(page_size=PAGE))
    return render_template(
        "lenkungsgruppe/index.html",
        gremien=listed.lenkungsgruppen,
        coordinator=_coordinator(),
        errors=FormErrors(),
        values={},
    )


@bp.post("/neu")
@role_required("coordinator")
def create() -> View:
    try:
        gremium = call(
            apis().conference.CreateLenkungsgruppe,
            pb.CreateLenkungsgruppeRequest(name=request.form.get("name", "").strip()),
        )
    except FormErrors as refused:
        listed = call(apis().conference.ListLenkungsgruppen, pb.ListLenkungsgruppenRequest(page_size=PAGE))
        return render_template(
            "lenkungsgruppe/index.html",
            gremien=listed.lenkungsgruppen,
            coordinator=True,
            errors=refused,
            values=request.form,
        ), 400
    flash("Die Lenkungsgruppe ist eingerichtet.", "success")
    return redirect(url_for(".show", gremium_id=gremium.gremium_id))


def _show(gremium_id: str, errors: FormErrors, values: Any, status: int = 200) -> View:
    gremium = _gremium(gremium_id)
    sessions = call(
        apis().conference.ListSessions, pb.ListSessionsRequest(gremium_id=gremium_id, page_size=50)
    )
    return render_template(
        "lenkungsgruppe/gremium.html",
        gremium=gremium,
        sessions=sessions.sessions,
        coordinator=_coordinator(),
        errors=errors,
        values=values,
    ), status


@bp.get("/<gremium_id>")
@role_required(*READERS)
def show(gremium_id: str) -> View:
    return _show(gremium_id, FormErrors(), {})


@bp.post("/<gremium_id>/mitglieder")
@role_required("coordinator")
def add_member(gremium_id: str) -> View:
    form = field_texts(request.form)
    member = pb.Member(
        person=form.get("person", ""),
        name=form.get("name", ""),
        organisation=form.get("organisation", ""),
        function=form.get("function", ""),
        voting=form.get("voting") == "ja",
    )
    if form.get("deputy.person"):
        member.deputy.CopyFrom(
            pb.Deputy(
                person=form["deputy.person"],
                name=form.get("deputy.name", ""),
                organisation=form.get("deputy.organisation", ""),
            )
        )
    try:
        call(apis().conference.AddMember, pb.AddMemberRequest(gremium_id=gremium_id, member=member))
    except FormErrors as refused:
        return _show(gremium_id, refused, request.form, 400)
    flash(f"{member.name} gehört jetzt der Lenkungsgruppe an.", "success")
    return redirect(url_for(".show", gremium_id=gremium_id) + "#mitglieder")


@bp.post("/<gremium_id>/mitglieder/<member_id>/entfernen")
@role_required("coordinator")
def remove_member(gremium_id: str, member_id: str) -> View:
    try:
        call(
            apis().conference.RemoveMember, pb.RemoveMemberRequest(gremium_id=gremium_id, member_id=member_id)
        )
    except FormErrors as refused:
        return _show(gremium_id, refused, {}, 409)
    flash("Das Mitglied ist ausgeschieden.", "success")
    return redirect(url_for(".show", gremium_id=gremium_id) + "#mitglieder")


@bp.route("/<gremium_id>/sitzung-ansetzen", methods=["GET", "POST"])
@role_required("coordinator")
def schedule(gremium_id: str) -> View:
    gremium = _gremium(gremium_id)
    errors = FormErrors()
    if request.method == "POST":
        starts_at = parse_moment(request.form, "starts_at", errors, what="der Sitzung")
        if not errors and starts_at is not None:
            try:
                session = call(
                    apis().conference.ScheduleSession,
                    pb.ScheduleSessionRequest(
                        gremium_id=gremium_id,
                        starts_at=to_proto_timestamp(starts_at),
                        place=request.form.get("place", "").strip(),
                    ),
                )
            except FormErrors as refused:
                errors = refused
            else:
                flash("Die Sitzung ist angesetzt.", "success")
                return redirect(url_for(".session_page", session_id=session.session_id))
    return render_template(
        "lenkungsgruppe/sitzung_ansetzen.html", gremium=gremium, errors=errors, values=request.form
    ), 400 if errors else 200


# --- a session --------------------------------------------------------------------------------------


def _people(gremium: Any) -> list[tuple[str, str]]:
    """Members and deputies as attendance options: ("<organisation>/<person>", label)."""
    people = []
    for m in gremium.members:
        people.append((f"{m.organisation}/{m.person}", f"{m.name} ({m.function}, {m.organisation})"))
        if m.deputy.person:
            organisation = m.deputy.organisation or m.organisation
            people.append((f"{organisation}/{m.deputy.person}", f"{m.deputy.name} (Vertretung für {m.name})"))
    return people


def _session_page(session_id: str, errors: FormErrors, values: Any, status: int = 200) -> View:
    session = _session(session_id)
    gremium = _gremium(session.gremium_id)
    present = {f"{a.organisation}/{a.person}" for a in session.attendees}
    person = current_person()
    return render_template(
        "lenkungsgruppe/sitzung.html",
        session=session,
        gremium=gremium,
        people=_people(gremium),
        present=present,
        coordinator=person.has_role("coordinator"),
        member=person.has_role("steering_member"),
        errors=errors,
        values=values,
        choices=options("VoteChoice"),
        modes=options("DecisionMode"),
    ), status


@bp.get("/sitzung/<session_id>")
@role_required(*READERS)
def session_page(session_id: str) -> View:
    return _session_page(session_id, FormErrors(), {})


def _attendees() -> list[pb.PersonRef]:
    refs = []
    for value in request.form.getlist("attendees"):
        organisation, _, person = value.partition("/")
        if organisation and person:
            refs.append(pb.PersonRef(organisation=organisation, person=person))
    return refs


def _session_step(session_id: str, rpc: str, message: Any, done: str, anchor: str = "") -> View:
    try:
        call(getattr(apis().conference, rpc), message)
    except FormErrors as refused:
        return _session_page(session_id, refused, request.form, 409)
    flash(done, "success")
    return redirect(url_for(".session_page", session_id=session_id) + anchor)


@bp.post("/sitzung/<session_id>/eroeffnen")
@role_required("coordinator")
def open_session(session_id: str) -> View:
    return _session_step(
        session_id,
        "OpenSession",
        pb.OpenSessionRequest(session_id=session_id, attendees=_attendees()),
        "Die Sitzung ist eröffnet.",
    )


@bp.post("/sitzung/<session_id>/anwesenheit")
@role_required("coordinator")
def attendance(session_id: str) -> View:
    return _session_step(
        session_id,
        "RecordAttendance",
        pb.RecordAttendanceRequest(session_id=session_id, attendees=_attendees()),
        "Die Anwesenheit ist festgehalten.",
        "#anwesenheit",
    )


@bp.post("/sitzung/<session_id>/stimme/<vorlage_id>")
@role_required("steering_member")
def vote(session_id: str, vorlage_id: str) -> View:
    choice = number_of("VoteChoice", request.form.get(f"choice-{vorlage_id}"))
    if not choice:
        errors = FormErrors({f"choice-{vorlage_id}": "Bitte wählen Sie ja, nein oder Enthaltung."})
        return _session_page(session_id, errors, request.form, 400)
    return _session_step(
        session_id,
        "CastVote",
        pb.CastVoteRequest(session_id=session_id, vorlage_id=vorlage_id, choice=choice),
        "Ihre Stimme ist gezählt.",
        "#tagesordnung",
    )


@bp.post("/sitzung/<session_id>/ergebnis/<vorlage_id>")
@role_required("coordinator")
def declare(session_id: str, vorlage_id: str) -> View:
    errors = FormErrors()
    form = field_texts(request.form)
    due_on = parse_date(form.get("due_on"), "due_on", errors, label="Frist")
    message = pb.DeclareResultRequest(
        session_id=session_id,
        vorlage_id=vorlage_id,
        mode=number_of("DecisionMode", form.get("mode")),
        wording=form.get("wording", ""),
        responsible_org=form.get("responsible_org", ""),
        responsible_person=form.get("responsible_person", ""),
    )
    if due_on is not None:
        message.due_on.CopyFrom(to_proto_date(due_on))
    if errors:
        return _session_page(session_id, errors, request.form, 400)
    try:
        result = call(apis().conference.DeclareResult, message)
    except FormErrors as refused:
        return _session_page(session_id, refused, request.form, 400)
    flash(
        "Die Lenkungsgruppe hat beschlossen."
        if result.HasField("beschluss")
        else "Das Ergebnis ist festgehalten: abgelehnt.",
        "success",
    )
    return redirect(url_for(".session_page", session_id=session_id) + "#tagesordnung")


@bp.post("/sitzung/<session_id>/schliessen")
@role_required("coordinator")
def close_session(session_id: str) -> View:
    return _session_step(
        session_id,
        "CloseSession",
        pb.CloseSessionRequest(session_id=session_id),
        "Die Sitzung ist geschlossen. Das Beschlussprotokoll können Sie jetzt erzeugen.",
    )


@bp.post("/sitzung/<session_id>/protokoll")
@role_required("coordinator")
def session_protocol(session_id: str) -> View:
    try:
        rendered = call(
            apis().documents.RenderSessionProtocol,
            dpb.RenderSessionProtocolRequest(
                session_id=session_id,
                issuer=request.form.get("issuer", "").strip(),
                chair=request.form.get("chair", "").strip(),
            ),
            timeout=60,
        )
    except FormErrors as refused:
        return _session_page(session_id, refused, request.form, 400)
    flash("Das Beschlussprotokoll ist erzeugt.", "success")
    return redirect(url_for("dokumente.show", document_id=rendered.document.document_id))


VORLAGE_KINDS = [(n, label) for n, label in options("VorlageKind") if n != ct.VORLAGE_KIND_ZIELGRUPPEN]


@bp.route("/sitzung/<session_id>/vorlage", methods=["GET", "POST"])
@role_required("coordinator")
def submit_vorlage(session_id: str) -> View:
    session = _session(session_id)
    errors = FormErrors()
    if request.method == "POST":
        form = field_texts(request.form)
        due_on = parse_date(form.get("due_on"), "due_on", errors, label="Frist")
        vorlage = pb.Beschlussvorlage(
            kind=number_of("VorlageKind", form.get("kind")) or ct.VORLAGE_KIND_GENERAL,
            title=form.get("title", ""),
            proposed_wording=form.get("proposed_wording", ""),
            rationale=form.get("rationale", ""),
            responsible_org=form.get("responsible_org", ""),
            responsible_person=form.get("responsible_person", ""),
        )
        if due_on is not None:
            vorlage.due_on.CopyFrom(to_proto_date(due_on))
        if not errors:
            try:
                call(
                    apis().conference.SubmitVorlage,
                    pb.SubmitVorlageRequest(session_id=session_id, vorlage=vorlage),
                )
            except FormErrors as refused:
                errors = refused
            else:
                flash("Die Beschlussvorlage steht auf der Tagesordnung.", "success")
                return redirect(url_for(".session_page", session_id=session_id) + "#tagesordnung")
    return render_template(
        "lenkungsgruppe/vorlage.html",
        session=session,
        errors=errors,
        values=request.form,
        kinds=VORLAGE_KINDS,
    ), 400 if errors else 200


# --- Beschlussverfolgung ------------------------------------------------------------------------------


@bp.get("/<gremium_id>/beschluesse")
@role_required(*READERS)
def beschluesse(gremium_id: str) -> str:
    gremium = _gremium(gremium_id)
    found = all_beschluesse(gremium_id)
    overdue = call(
        apis().conference.ListOverdueBeschluesse,
        pb.ListOverdueBeschluesseRequest(gremium_id=gremium_id, page_size=PAGE),
    )
    return render_template(
        "lenkungsgruppe/beschluesse.html",
        gremium=gremium,
        beschluesse=found,
        overdue={b.beschluss_id for b in overdue.beschluesse},
        today=date.today(),
    )


def _beschluss_page(beschluss_id: str, errors: FormErrors, values: Any, status: int = 200) -> View:
    beschluss = call(apis().conference.GetBeschluss, pb.GetBeschlussRequest(beschluss_id=beschluss_id))
    person = current_person()
    may_track = person.has_role("coordinator") or (
        person.has_role("steering_member") and beschluss.responsible_person == person.username
    )
    return render_template(
        "lenkungsgruppe/beschluss.html",
        beschluss=beschluss,
        errors=errors,
        values=values,
        may_track=may_track,
        statuses=options("BeschlussStatus"),
        overdue=_is_overdue(beschluss),
    ), status


def _is_overdue(beschluss: Any) -> bool:
    pending = beschluss.status in (ct.BESCHLUSS_STATUS_OPEN, ct.BESCHLUSS_STATUS_IN_PROGRESS)
    due = beschluss.due_on
    return pending and bool(due.year) and date(due.year, due.month, due.day) < date.today()


@bp.get("/beschluss/<beschluss_id>")
@role_required(*READERS)
def beschluss(beschluss_id: str) -> View:
    return _beschluss_page(beschluss_id, FormErrors(), {})


@bp.post("/beschluss/<beschluss_id>/stand")
@role_required("coordinator", "steering_member")
def update_status(beschluss_id: str) -> View:
    status = number_of("BeschlussStatus", request.form.get("status"))
    try:
        call(
            apis().conference.UpdateBeschlussStatus,
            pb.UpdateBeschlussStatusRequest(
                beschluss_id=beschluss_id, status=status, note=request.form.get("note", "").strip()
            ),
        )
    except FormErrors as refused:
        return _beschluss_page(beschluss_id, refused, request.form, 400)
    flash("Der Stand des Beschlusses ist festgehalten.", "success")
    return redirect(url_for(".beschluss", beschluss_id=beschluss_id))


@bp.post("/beschluss/<beschluss_id>/frist")
@role_required("coordinator", "steering_member")
def reschedule(beschluss_id: str) -> View:
    errors = FormErrors()
    due_on = parse_date(request.form.get("due_on"), "due_on", errors, label="Neue Frist", required=True)
    if errors or due_on is None:
        return _beschluss_page(beschluss_id, errors, request.form, 400)
    try:
        call(
            apis().conference.RescheduleBeschluss,
            pb.RescheduleBeschlussRequest(
                beschluss_id=beschluss_id,
                due_on=to_proto_date(due_on),
                note=request.form.get("note", "").strip(),
            ),
        )
    except FormErrors as refused:
        return _beschluss_page(beschluss_id, refused, request.form, 400)
    flash("Die Frist ist geändert.", "success")
    return redirect(url_for(".beschluss", beschluss_id=beschluss_id))


# --- the Zielgruppen catalogue ----------------------------------------------------------------------


@bp.get("/<gremium_id>/zielgruppen")
@role_required(*READERS)
def zielgruppen(gremium_id: str) -> str:
    """Every version the Lenkungsgruppe adopted, newest first (version 1 ships with the case service)."""
    gremium = _gremium(gremium_id)
    catalogues = sorted(
        (
            b
            for b in all_beschluesse(gremium_id)
            if b.kind == ct.VORLAGE_KIND_ZIELGRUPPEN and b.HasField("zielgruppen")
        ),
        key=lambda b: b.zielgruppen.version,
        reverse=True,
    )
    return render_template("lenkungsgruppe/zielgruppen.html", gremium=gremium, catalogues=catalogues)
