"""The portal's core on fakes: security headers, CSRF refusal, login redirects, the mapping
of api errors (field violations -> error summary with links; NOT_FOUND and PERMISSION_DENIED ->
the identical page; UNAUTHENTICATED -> login; UNAVAILABLE -> 503 naming the service)."""

from __future__ import annotations

import re

import pytest
from flask import Blueprint, render_template_string

from kim.case.v1 import case_pb2
from kimnetz.errors import FailedPrecondition, InvalidArgument, NotFound, PermissionDenied, Unauthenticated
from kimnetz.validation import FieldViolation
from services.portal.apis import apis, call
from services.portal.auth import login_required
from services.portal.forms import FormErrors
from tests.support.fakes.portal import (
    NODE_ADMIN_KREIS,
    Portal,
    csrf_token,
    make_portal,
    unavailable,
)

#: A test-only page that calls GetCase and shows a form with the macros: the mapping is the
#: core's; the areas' real pages use the same `call` and macros.
PROBE = """{% extends "base.html" %}{% from "macros/forms.html" import error_summary, field, csrf_field %}
{% block content %}<h1>Probe</h1>{{ error_summary(errors) }}
<form method="post">{{ csrf_field() }}{{ field("person.given_name", "Vorname", errors, required=true) }}
{{ field("person.birth_date", "Geburtsdatum", errors, hint="TT.MM.JJJJ") }}</form>{% endblock %}"""


def without_csrf(page: str) -> str:
    return re.sub(r'name="csrf_token" value="[^"]*"', 'name="csrf_token"', page)


def probe_portal(**kwargs: object) -> Portal:
    portal = make_portal(**kwargs)  # type: ignore[arg-type]
    probe = Blueprint("probe", __name__)

    @probe.route("/probe/<case_id>", methods=["GET", "POST"])
    @login_required
    def page(case_id: str) -> str:
        errors = FormErrors()
        try:
            call(apis().case.GetCase, case_pb2.GetCaseRequest(case_id=case_id))
        except FormErrors as refused:
            errors = refused
        return render_template_string(PROBE, errors=errors)

    portal.app.register_blueprint(probe)
    return portal


def test_every_response_carries_the_security_headers(portal: Portal) -> None:
    for path in ("/", "/gibt-es-nicht", "/anmelden", "/healthz"):
        response = portal.client.get(path)
        csp = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp
        assert "frame-ancestors 'none'" in csp and "style-src 'self'" in csp
        assert "form-action 'self'" in csp
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "same-origin"
    assert portal.client.get("/").headers["Cache-Control"] == "no-store"


def test_pages_have_no_inline_script_or_style(portal: Portal) -> None:
    page = portal.client.get("/").get_data(as_text=True)
    assert 'lang="de"' in page and 'href="#inhalt"' in page and '<main id="inhalt"' in page
    assert re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page) is None
    assert " style=" not in page and "<style" not in page


def test_a_post_without_csrf_token_is_refused_and_with_one_it_passes(portal: Portal) -> None:
    refused = portal.client.post("/abmelden")
    assert refused.status_code == 400
    assert "Das Formular wurde nicht angenommen" in refused.get_data(as_text=True)
    with portal.client.session_transaction() as session:
        assert session.get("person") is not None  # nothing happened
    wrong = portal.client.post("/abmelden", data={"csrf_token": "forged"})
    assert wrong.status_code == 400
    accepted = portal.client.post("/abmelden", data={"csrf_token": csrf_token(portal.client)})
    assert accepted.status_code == 302 and accepted.headers["Location"].endswith("/abgemeldet")
    with portal.client.session_transaction() as session:
        assert session.get("person") is None


def test_the_session_cookie_is_opaque_httponly_and_samesite(portal: Portal) -> None:
    plain = make_portal(person=None)
    cookies = plain.client.get("/anmelden?next=/faelle").headers.getlist("Set-Cookie")
    assert len(cookies) == 1 and "HttpOnly" in cookies[0] and "SameSite=Lax" in cookies[0]
    assert "Secure" not in cookies[0]  # http://127.0.0.1: a browser would drop a Secure cookie
    name, _, value = cookies[0].split(";")[0].partition("=")
    assert name == "kim_portal_stadt_hilden" and len(value) >= 40 and "next" not in value
    secure = make_portal(person=None, portal_public_url="https://portal.hilden.example")
    cookies = secure.client.get("/anmelden", base_url="https://portal.hilden.example").headers.getlist(
        "Set-Cookie")
    assert len(cookies) == 1 and "Secure" in cookies[0]
    assert cookies[0].startswith("__Host-kim_portal_stadt_hilden=")


def test_without_a_session_a_page_leads_to_login_and_back(anonymous_portal: Portal) -> None:
    response = anonymous_portal.client.get("/betrieb/?seite=2")
    assert response.status_code == 302
    assert response.headers["Location"] == "/anmelden?next=/betrieb/?seite%3D2"


def test_field_violations_become_an_error_summary_linking_each_field() -> None:
    portal = probe_portal()
    portal.apis.case.answer("GetCase", InvalidArgument([
        FieldViolation("person.given_name", "Bitte den Vornamen angeben."),
        FieldViolation("person.birth_date", "Das Geburtsdatum liegt in der Zukunft.")]))
    page = portal.client.get("/probe/c-1").get_data(as_text=True)
    assert 'role="alert"' in page
    assert '<a class="kern-link" href="#f-person-given_name">Bitte den Vornamen angeben.</a>' in page
    assert 'href="#f-person-birth_date">Das Geburtsdatum liegt in der Zukunft.</a>' in page
    assert 'id="f-person-given_name"' in page and 'id="f-person-birth_date"' in page
    described = re.search(r'id="f-person-birth_date"[^>]*aria-describedby="([^"]+)"', page)
    assert described is not None
    assert described.group(1).split() == ["f-person-birth_date-hinweis", "f-person-birth_date-fehler"]
    assert 'aria-invalid="true"' in page


def test_a_failed_precondition_shows_the_apis_message_in_the_summary() -> None:
    portal = probe_portal()
    portal.apis.case.answer("GetCase", FailedPrecondition("Der Fall ist bereits abgeschlossen."))
    page = portal.client.get("/probe/c-1").get_data(as_text=True)
    assert "Der Fall ist bereits abgeschlossen." in page and 'role="alert"' in page


def test_not_found_and_permission_denied_give_the_identical_page() -> None:
    missing, foreign = probe_portal(), probe_portal()
    missing.apis.case.answer("GetCase", NotFound("Fall c-9 gibt es nicht."))
    foreign.apis.case.answer("GetCase", PermissionDenied("Der Fall gehört zur Stadt Hilden."))
    first, second = missing.client.get("/probe/c-9"), foreign.client.get("/probe/c-9")
    assert first.status_code == second.status_code == 404
    # Identical but for the session's own CSRF token in the logout form.
    assert without_csrf(first.get_data(as_text=True)) == without_csrf(second.get_data(as_text=True))
    assert "Nicht gefunden" in first.get_data(as_text=True)
    assert "Stadt Hilden" not in second.get_data(as_text=True).split("<main")[1]


def test_unauthenticated_ends_the_session_and_leads_to_login_and_back() -> None:
    portal = probe_portal()
    portal.apis.case.answer("GetCase", Unauthenticated("Das Zugangstoken ist abgelaufen."))
    response = portal.client.get("/probe/c-1")
    assert response.status_code == 302 and response.headers["Location"] == "/anmelden?next=/probe/c-1"
    assert portal.client.get("/").status_code == 302  # the session holds no person any more


def test_an_unreachable_api_gives_a_503_naming_the_service() -> None:
    portal = probe_portal()
    portal.apis.case.answer("GetCase", unavailable())
    response = portal.client.get("/probe/c-1")
    assert response.status_code == 503
    assert "die Fallverwaltung nicht erreichbar" in response.get_data(as_text=True)


def test_every_call_carries_the_sessions_token_as_bearer() -> None:
    portal = probe_portal()
    portal.client.get("/probe/c-1")
    (sent,) = portal.apis.case.calls
    assert ("authorization", "Bearer fake-access-token") in sent.metadata


def test_an_expiring_token_without_refresh_leads_to_login() -> None:
    portal = probe_portal()
    from tests.support.fakes.portal import CASE_MANAGER_STADT, login_as

    login_as(portal.client, CASE_MANAGER_STADT, expires_in=5)  # refresh due, no Keycloak here
    response = portal.client.get("/probe/c-1")
    assert response.status_code == 302 and response.headers["Location"].startswith("/anmelden")
    assert portal.apis.case.calls == []


@pytest.mark.parametrize("path", ["/betrieb/"])
def test_the_it_page_is_only_for_node_admins(portal: Portal, path: str) -> None:
    assert portal.client.get(path).status_code == 404  # a case manager
    portal.login(NODE_ADMIN_KREIS)
    page = portal.client.get(path)
    assert page.status_code == 200
    assert "Betrieb des Knotens stadt-hilden" in page.get_data(as_text=True)


def test_login_redirect_keeps_only_local_paths(anonymous_portal: Portal) -> None:
    from services.portal.auth import safe_next

    assert safe_next("/faelle/c-1?x=1") == "/faelle/c-1?x=1"
    for bad in ("https://evil.example/", "//evil.example", "/\\evil", None, ""):
        assert safe_next(bad) == "/"
