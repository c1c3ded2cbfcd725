"""The start page: what is due today for the logged-in person, and who they are (name,
organisation, roles). Each list is asked of the api only where the person's roles may see it;
a list the api refuses or cannot answer is shown as such, the page itself still opens."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from flask import Blueprint, render_template
from werkzeug.exceptions import NotFound

from kim.case.v1 import case_pb2
from kim.conference.v1 import conference_pb2
from kimnetz.runtime.proto_mapping import to_proto_date
from services.portal.apis import ApiUnavailable, apis, call
from services.portal.auth import current_person, login_required
from services.portal.forms import FormErrors
from services.portal.navigation import NavItem

bp = Blueprint("start", __name__)

NAV = (NavItem("Start", "start.index", order=0),)

#: Roles that review cases of their own and those who follow up Beschlüsse.
REVIEWERS = frozenset({"case_manager"})
BESCHLUSS_READERS = frozenset({"coordinator", "steering_member", "clerk"})


@dataclass
class Due:
    """One list of the start page: its items, or why it could not be shown."""

    items: list[Any] = field(default_factory=list)
    problem: str = ""


def _ask(run: Any) -> Due:
    try:
        return Due(items=run())
    except ApiUnavailable as error:
        return Due(problem=f"Im Moment ist {error.what} nicht erreichbar.")
    except (NotFound, FormErrors):
        return Due(problem="Diese Liste steht Ihnen nicht zur Verfügung.")


@bp.get("/")
@login_required
def index() -> str:
    person = current_person()
    today = date.today()
    reviews: Due | None = None
    overdue: Due | None = None
    if person.has_role(*REVIEWERS):
        reviews = _ask(lambda: list(call(apis().case.ListCases, case_pb2.ListCasesRequest(
            review_due_by=to_proto_date(today), case_manager=person.username, page_size=50,
            purpose="Startseite: fällige Überprüfungen")).cases))
    if person.has_role(*BESCHLUSS_READERS):
        overdue = _ask(_overdue_beschluesse)
    return render_template("start/index.html", today=today, reviews=reviews, overdue=overdue)


#: Beyond this many Lenkungsgruppen the start page stops asking (a Kreis has one or two).
MAX_GREMIEN = 20


def _overdue_beschluesse() -> list[tuple[str, Any]]:
    """(name of the Lenkungsgruppe, Beschluss) for every overdue Beschluss of the node's
    Lenkungsgruppen, as the conference api lists them for this person."""
    found: list[tuple[str, Any]] = []
    gremien: list[Any] = []
    token = ""
    while len(gremien) < MAX_GREMIEN:
        listed = call(apis().conference.ListLenkungsgruppen, conference_pb2.ListLenkungsgruppenRequest(
            page_size=MAX_GREMIEN, page_token=token))
        gremien += listed.lenkungsgruppen
        token = listed.next_page_token
        if not token:
            break
    for gremium in gremien[:MAX_GREMIEN]:
        found += [(gremium.name, b) for b in call(
            apis().conference.ListOverdueBeschluesse, conference_pb2.ListOverdueBeschluesseRequest(
                gremium_id=gremium.gremium_id, page_size=50)).beschluesse]
    return found
