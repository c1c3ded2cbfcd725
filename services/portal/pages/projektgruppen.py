"""Projektgruppen and the barrier register (Koordination; members of a Projektgruppe; the
Lenkungsgruppe).

The register counts the Barrieren case managers recorded, anonymised, per pair of Rechtskreise
and kind; counts below five come from the api as "< 5" and are printed so. Coordinators set up
a Projektgruppe under a Lenkungsgruppe mandate and keep its members; the register narrowed to
the group's topic is what it works from.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for

from kim.conference.v1 import conference_pb2 as pb, types_pb2 as ct
from kimnetz.runtime.proto_mapping import to_proto_date
from services.portal.apis import apis, call
from services.portal.auth import current_person, role_required
from services.portal.forms import FormErrors, field_texts, parse_date
from services.portal.kreis_labels import number_of, options
from services.portal.kreis_support import View, install_filters
from services.portal.navigation import NavItem
from services.portal.pages.lenkungsgruppe import all_beschluesse

bp = Blueprint("projektgruppen", __name__, url_prefix="/projektgruppen")
install_filters(bp)

READERS = ("coordinator", "steering_member")
NAV = (NavItem("Projektgruppen", "projektgruppen.index", frozenset(READERS), order=45),)


def _mandates() -> list[tuple[str, str]]:
    """The adopted "Projektgruppe einsetzen" Beschlüsse of the Stelle's Lenkungsgruppen."""
    gremien = call(apis().conference.ListLenkungsgruppen, pb.ListLenkungsgruppenRequest(page_size=200))
    return [
        (b.beschluss_id, f"{b.title} ({g.name})")
        for g in gremien.lenkungsgruppen
        for b in all_beschluesse(g.gremium_id)
        if b.kind == ct.VORLAGE_KIND_PROJEKTGRUPPE_MANDATE
    ]


def _index(errors: FormErrors, values: Any, status: int = 200) -> View:
    groups = call(apis().conference.ListProjektgruppen, pb.ListProjektgruppenRequest(page_size=200))
    coordinator = current_person().has_role("coordinator")
    return render_template(
        "projektgruppen/index.html",
        groups=groups.projektgruppen,
        coordinator=coordinator,
        mandates=_mandates() if coordinator else [],
        topics=options("Topic"),
        errors=errors,
        values=values,
    ), status


@bp.get("/")
@role_required(*READERS)
def index() -> View:
    return _index(FormErrors(), {})


@bp.post("/neu")
@role_required("coordinator")
def establish() -> View:
    form = field_texts(request.form)
    try:
        group = call(
            apis().conference.EstablishProjektgruppe,
            pb.EstablishProjektgruppeRequest(
                name=form.get("name", ""),
                topic=number_of("Topic", form.get("topic")),
                mandate_beschluss_id=form.get("mandate_beschluss_id", ""),
            ),
        )
    except FormErrors as refused:
        return _index(refused, request.form, 400)
    flash("Die Projektgruppe ist eingerichtet.", "success")
    return redirect(url_for(".show", projektgruppe_id=group.projektgruppe_id))


def _show(projektgruppe_id: str, errors: FormErrors, values: Any, status: int = 200) -> View:
    group = call(
        apis().conference.GetProjektgruppe, pb.GetProjektgruppeRequest(projektgruppe_id=projektgruppe_id)
    )
    register = call(
        apis().conference.GetBarrierRegister, pb.GetBarrierRegisterRequest(projektgruppe_id=projektgruppe_id)
    )
    return render_template(
        "projektgruppen/gruppe.html",
        group=group,
        register=register,
        coordinator=current_person().has_role("coordinator"),
        errors=errors,
        values=values,
    ), status


@bp.get("/<projektgruppe_id>")
@role_required(*READERS)
def show(projektgruppe_id: str) -> View:
    return _show(projektgruppe_id, FormErrors(), {})


@bp.post("/<projektgruppe_id>/mitglieder")
@role_required("coordinator")
def add_member(projektgruppe_id: str) -> View:
    form = field_texts(request.form)
    member = pb.ProjektgruppeMember(
        person=form.get("person", ""), name=form.get("name", ""), organisation=form.get("organisation", "")
    )
    try:
        call(
            apis().conference.AddProjektgruppeMember,
            pb.AddProjektgruppeMemberRequest(projektgruppe_id=projektgruppe_id, member=member),
        )
    except FormErrors as refused:
        return _show(projektgruppe_id, refused, request.form, 400)
    flash(f"{member.name} arbeitet jetzt in der Projektgruppe mit.", "success")
    return redirect(url_for(".show", projektgruppe_id=projektgruppe_id) + "#mitglieder")


@bp.get("/barrierenregister")
@role_required(*READERS)
def register() -> View:
    errors = FormErrors()
    since = parse_date(request.args.get("since"), "since", errors, label="Erfasst ab")
    message = pb.GetBarrierRegisterRequest()
    if since is not None:
        message.since.CopyFrom(to_proto_date(since))
    found = call(apis().conference.GetBarrierRegister, message)
    return render_template(
        "projektgruppen/register.html", register=found, errors=errors, since=request.args.get("since", "")
    ), 400 if errors else 200
