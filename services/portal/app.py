"""`create_app(settings)`: the portal's Flask application.

Flask 3 + Jinja2, served by waitress (`serve`); every module in `pages/` with a Blueprint `bp`
is registered (and its `NAV` entries join the header), so an area adds pages without touching
this file. Security on every response: CSP without inline script or style, frame-ancestors
'none', nosniff, Referrer-Policy same-origin; CSRF on every POST (Flask-WTF); server-side
sessions (auth.py). KERN UX is served from its npm package under /static/kern/.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Response, render_template, request, send_from_directory
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.wrappers import Response as WerkzeugResponse

from services.portal import formatting, pages
from services.portal.apis import Apis, ApiUnavailable
from services.portal.auth import (
    KeycloakOidc,
    LoginRequired,
    MongoSessionStore,
    Oidc,
    ServerSideSessions,
    SessionStore,
    bp as auth_bp,
    cookie_name,
    person_or_none,
    to_login,
)
from services.portal.forms import FormErrors, field_id
from services.portal.navigation import NavItem
from services.portal.settings import PortalSettings

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent


def content_security_policy(keycloak_url: str) -> str:
    """No inline script or style anywhere; forms post only here (and the logout form's redirect
    goes on to Keycloak, which browsers check against form-action too)."""
    parts = urlsplit(keycloak_url)
    keycloak = f"{parts.scheme}://{parts.netloc}" if parts.netloc else ""
    return ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
            f"frame-ancestors 'none'; form-action 'self' {keycloak}".rstrip())


SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


def create_app(settings: PortalSettings, *, apis: Apis | None = None,
               session_store: SessionStore | None = None, oidc: Oidc | bool | None = True) -> Flask:
    """The portal of one node. Unit tests pass fake `apis`, a memory `session_store` and
    `oidc=None` (no Keycloak); a node passes only its settings."""
    app = Flask(__name__, static_folder=str(HERE / "static"), static_url_path="/static",
                template_folder=str(HERE / "templates"))
    secure = settings.secure_cookies
    app.config.update(
        SECRET_KEY=settings.portal_session_secret or secrets.token_urlsafe(32),
        SESSION_COOKIE_SECURE=secure,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PREFERRED_URL_SCHEME="https" if secure else "http",
        WTF_CSRF_TIME_LIMIT=None,  # as long as the session: a form may stay open all morning
        WTF_CSRF_SSL_STRICT=secure,
        MAX_CONTENT_LENGTH=20 * 1024 * 1024,
        KIM_SETTINGS=settings,
        KIM_IDP_HINT=settings.portal_idp_hint,
        KIM_HOSTED_LOGINS=settings.hosted_logins,
        KIM_ORGANIZATION_NAME=settings.portal_organization_name,
        KIM_API_TIMEOUT=settings.portal_api_timeout_seconds,
        KIM_PUBLIC_URL=settings.public_url,
    )
    lifetime = timedelta(hours=settings.portal_session_hours)
    store = session_store or MongoSessionStore(settings.mongodb_uri, settings.database_name("portal"))
    app.session_interface = ServerSideSessions(store, cookie_name(settings.node_id, secure), lifetime)
    app.extensions["kim_session_store"] = store
    services = ("case", "conference", "documents", "identity")
    app.extensions["kim_apis"] = apis or Apis.connect(
        settings.api_target, {s: settings.target_of(s) for s in services})
    if oidc is True and not settings.portal_client_id:
        # A node outside any federation (development realm) has no portal client: the portal
        # serves, and its login page says that the login is not available.
        log.warning("node %s: no KIM_PORTAL_CLIENT_ID, the portal cannot log anybody in", settings.node_id)
        app.extensions["kim_oidc"] = None
    elif oidc is True:
        app.extensions["kim_oidc"] = KeycloakOidc(
            app, settings.issuer, settings.portal_client_id, settings.portal_client_secret)
    elif oidc:
        app.extensions["kim_oidc"] = oidc
    else:
        app.extensions["kim_oidc"] = None
    CSRFProtect(app)
    formatting.register(app)
    app.jinja_env.globals["field_id"] = field_id  # a global: imported macros see no context

    app.register_blueprint(auth_bp)
    navigation: list[NavItem] = []
    for module_info in sorted(pkgutil.iter_modules(pages.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{pages.__name__}.{module_info.name}")
        blueprint = getattr(module, "bp", None)
        if blueprint is not None:
            app.register_blueprint(blueprint)
            navigation.extend(getattr(module, "NAV", ()))
    navigation.sort(key=lambda item: (item.order, item.label))
    app.extensions["kim_navigation"] = navigation

    kern = Path(settings.portal_static_dir or HERE) / "node_modules" / "@kern-ux" / "native" / "dist"

    @app.get("/static/kern/<path:filename>")
    def kern_asset(filename: str) -> WerkzeugResponse:
        return send_from_directory(kern, filename, max_age=3600)

    @app.get("/healthz")
    def healthz() -> Response:
        """For probes (compose, Kubernetes): the process serves. The node's api is checked on
        /betrieb, by persons with the right to see it."""
        return Response("ok\n", mimetype="text/plain")

    @app.context_processor
    def layout() -> dict[str, Any]:
        person = person_or_none()
        roles = person.roles if person else frozenset()
        return {
            "person": person,
            "navigation": [i for i in navigation if person and i.visible_to(roles)],
            "organization_name": settings.organization_name,
            "node_id": settings.node_id,
        }

    csp = content_security_policy(settings.keycloak_url)
    trace_requests(app)

    @app.after_request
    def security_headers(response: Response) -> Response:
        response.headers["Content-Security-Policy"] = csp
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if secure:
            response.headers["Strict-Transport-Security"] = "max-age=31536000"
        if request.endpoint != "kern_asset" and request.endpoint != "static":
            response.headers["Cache-Control"] = "no-store"  # pages hold personal data
        return response

    @app.errorhandler(LoginRequired)
    def login_required(_: LoginRequired) -> WerkzeugResponse:
        return to_login()

    @app.errorhandler(NotFound)
    def not_found(_: NotFound) -> tuple[str, int]:
        return render_template("errors/404.html"), 404

    @app.errorhandler(ApiUnavailable)
    def unavailable(error: ApiUnavailable) -> tuple[str, int]:
        return render_template("errors/503.html", what=error.what), 503

    @app.errorhandler(CSRFError)
    def csrf_refused(_: CSRFError) -> tuple[str, int]:
        return render_template("errors/csrf.html"), 400

    @app.errorhandler(FormErrors)
    def form_errors(error: FormErrors) -> tuple[str, int]:
        # A view that does not catch FormErrors still shows the errors, on a page of their own.
        return render_template("errors/form.html", errors=error), 400

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> tuple[str, int]:
        return render_template("errors/http.html", error=error), error.code or 500

    @app.errorhandler(Exception)
    def internal(error: Exception) -> tuple[str, int]:
        log.exception("portal error: %s", error)
        return render_template("errors/500.html"), 500

    return app


def trace_requests(app: Flask) -> None:
    """A SERVER span per page request (named by its route, never by the ids in its path): the
    api calls it makes, the events they record and the peer's worker join its trace."""
    from opentelemetry import context as otel_context, trace
    from opentelemetry.trace import SpanKind

    from kimnetz.runtime import tracing

    @app.before_request
    def open_span() -> None:
        rule = request.url_rule.rule if request.url_rule is not None else "unbekannt"
        span = tracing.tracer().start_span(f"{request.method} {rule}", kind=SpanKind.SERVER,
                                           attributes={"http.request.method": request.method,
                                                       "http.route": rule})
        request.environ["kim.span"] = (span, otel_context.attach(trace.set_span_in_context(span)))

    @app.teardown_request
    def close_span(_error: BaseException | None) -> None:
        opened = request.environ.pop("kim.span", None)
        if opened is not None:
            span, token = opened
            otel_context.detach(token)
            span.end()


def serve(settings: PortalSettings | None = None) -> None:
    """Serve the node's portal with waitress (`kim node portal`)."""
    from waitress import serve as waitress_serve

    from kimnetz.runtime import tracing

    settings = settings or PortalSettings()
    tracing.configure(settings.node_id, "portal", settings.otlp_endpoint)
    app = create_app(settings)
    log.info("portal of node %s on %s:%s (%s)", settings.node_id, settings.portal_host,
             settings.portal_port, settings.public_url)
    waitress_serve(app, host=settings.portal_host, port=settings.portal_port,
                   threads=settings.portal_threads, ident="KIM-Netz",
                   url_scheme="https" if settings.secure_cookies else "http")
