"""Login, session and the person who is logged in.

- **Login** is OIDC authorization code with PKCE (S256) against the federation's Keycloak
  (authlib's Flask client), with `kc_idp_hint` = the node organisation's home identity provider,
  so a Caritas case manager lands at the Caritas login. The portal's client is confidential
  (`kim-portal-<node>`, created by `kim identity apply`); its access tokens carry the audience of
  the node's api (`kim-api`), so the api accepts them as from any other client.
- **Sessions are server-side** (`SessionStore`: the node's MongoDB, database `<prefix>_<node>_portal`):
  the browser holds only an opaque random id in an HttpOnly, SameSite=Lax cookie (Secure under
  https); tokens never leave the server. The id is replaced at login (no fixation).
- **Refresh** happens before the access token expires (`REFRESH_BEFORE_SECONDS`); when Keycloak
  refuses it (its session ended), the portal session ends too and the person goes to login and
  afterwards back to the page they were on (`next`).
- **Logout** ends the local session and Keycloak's (end_session_endpoint with id_token_hint).
"""

from __future__ import annotations

import base64
import json
import logging
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import wraps
from typing import Any, ParamSpec, Protocol, TypeVar, cast
from urllib.parse import urlencode, urlsplit

from flask import (
    Blueprint,
    Flask,
    current_app,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.sessions import SessionInterface, SessionMixin
from werkzeug.datastructures import CallbackDict
from werkzeug.wrappers import Response

from kimnetz.runtime.auth import ROLE_LABELS, principal_from_claims

log = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")

#: Refresh the access token when it has less than this left (Keycloak's default life is 300 s).
REFRESH_BEFORE_SECONDS = 60

#: Realm roles a person can hold in KIM-Netz; Keycloak's own (offline_access, default-roles-*) are left out.
KIM_ROLES = frozenset(ROLE_LABELS)


# --- the person ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Person:
    """Who is logged in, as the portal shows it. Decides nothing: the api decides from the token."""

    name: str
    username: str
    organization: str
    roles: frozenset[str] = field(default_factory=frozenset)

    def has_role(self, *roles: str) -> bool:
        return any(role in self.roles for role in roles)

    @property
    def role_labels(self) -> list[str]:
        return [ROLE_LABELS[r] for r in sorted(self.roles) if r in ROLE_LABELS]

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "username": self.username, "organization": self.organization,
                "roles": sorted(self.roles)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Person:
        return cls(str(data["name"]), str(data["username"]), str(data["organization"]),
                   frozenset(str(r) for r in data.get("roles", ())))

    @classmethod
    def from_tokens(cls, access_claims: Mapping[str, Any], userinfo: Mapping[str, Any]) -> Person:
        principal = principal_from_claims(dict(access_claims))
        name = str(userinfo.get("name") or " ".join(
            p for p in (userinfo.get("given_name"), userinfo.get("family_name")) if p)
            or principal.username)
        return cls(name, principal.username, principal.organization or "",
                   frozenset(principal.roles & KIM_ROLES))


class LoginRequired(Exception):
    """No usable session (none, expired, refused by the api): to login, and back afterwards."""


def current_person() -> Person:
    """The logged-in person (views under `login_required` only)."""
    data = session.get("person")
    if not data:
        raise LoginRequired()
    return Person.from_dict(data)


def person_or_none() -> Person | None:
    data = session.get("person")
    return Person.from_dict(data) if data else None


def access_token() -> str:
    """The session's access token, refreshed first where it is about to expire."""
    tokens = session.get("tokens")
    if not tokens or not session.get("person"):
        raise LoginRequired()
    if float(tokens.get("expires_at", 0)) - time.time() < REFRESH_BEFORE_SECONDS:
        tokens = _refresh(tokens)
    return str(tokens["access_token"])


def login_required(view: Callable[P, R]) -> Callable[P, R | Response]:
    @wraps(view)
    def wrapped(*args: P.args, **kwargs: P.kwargs) -> R | Response:
        if not session.get("person"):
            return to_login()
        return view(*args, **kwargs)
    return wrapped


def role_required(*roles: str) -> Callable[[Callable[P, R]], Callable[P, R | Response]]:
    """Hides a page from persons without any of `roles` (the same 404 as a missing page: the
    navigation does not offer it; the api still decides every call)."""
    def decorate(view: Callable[P, R]) -> Callable[P, R | Response]:
        @wraps(view)
        def wrapped(*args: P.args, **kwargs: P.kwargs) -> R | Response:
            if not session.get("person"):
                return to_login()
            if not current_person().has_role(*roles):
                from werkzeug.exceptions import NotFound
                raise NotFound()
            return view(*args, **kwargs)
        return wrapped
    return decorate


def to_login() -> Response:
    """Redirect to login; afterwards back to this page (for a POST: the page the form was on)."""
    return redirect(url_for("auth.login", next=_return_path()))


def _return_path() -> str:
    if request.method == "GET":
        return request.full_path.rstrip("?")
    referrer = urlsplit(request.referrer or "")
    if referrer.netloc == request.host and referrer.path:
        return referrer.path + (f"?{referrer.query}" if referrer.query else "")
    return "/"


def external_url(endpoint: str) -> str:
    """The address of a page as the browser reaches it (the portal's public URL), for the
    redirect URIs Keycloak checks against the client's registration."""
    return str(current_app.config["KIM_PUBLIC_URL"]) + url_for(endpoint)


def safe_next(value: str | None) -> str:
    """Only a path on this portal: never another site (open redirect)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


# --- the server-side session --------------------------------------------------------------------

class SessionStore(Protocol):
    def load(self, sid: str) -> dict[str, Any] | None: ...
    def save(self, sid: str, data: dict[str, Any], expires_at: datetime) -> None: ...
    def delete(self, sid: str) -> None: ...


class MemorySessionStore:
    """For unit tests and a single process without database (never in a node)."""

    def __init__(self) -> None:
        self.sessions: dict[str, tuple[dict[str, Any], datetime]] = {}
        self._lock = threading.Lock()

    def load(self, sid: str) -> dict[str, Any] | None:
        with self._lock:
            found = self.sessions.get(sid)
        if found is None or found[1] <= datetime.now(UTC):
            return None
        return json.loads(json.dumps(found[0]))  # type: ignore[no-any-return]

    def save(self, sid: str, data: dict[str, Any], expires_at: datetime) -> None:
        with self._lock:
            self.sessions[sid] = (json.loads(json.dumps(data)), expires_at)

    def delete(self, sid: str) -> None:
        with self._lock:
            self.sessions.pop(sid, None)


class MongoSessionStore:
    """Sessions in the node's MongoDB (FerretDB): one document per session, its data as JSON
    text (keys of any shape), expired ones ignored on read and removed at each login."""

    def __init__(self, uri: str, database: str) -> None:
        import pymongo

        self._client: Any = pymongo.MongoClient(uri, tz_aware=True, serverSelectionTimeoutMS=5000)
        self._sessions: Any = self._client[database]["sessions"]

    def load(self, sid: str) -> dict[str, Any] | None:
        found = self._sessions.find_one({"_id": sid})
        if found is None or found["expires_at"] <= datetime.now(UTC):
            return None
        return json.loads(found["data"])  # type: ignore[no-any-return]

    def save(self, sid: str, data: dict[str, Any], expires_at: datetime) -> None:
        self._sessions.replace_one({"_id": sid}, {"_id": sid, "data": json.dumps(data),
                                                  "expires_at": expires_at}, upsert=True)

    def delete(self, sid: str) -> None:
        self._sessions.delete_one({"_id": sid})

    def purge_expired(self) -> None:
        self._sessions.delete_many({"expires_at": {"$lte": datetime.now(UTC)}})


class ServerSession(CallbackDict[str, Any], SessionMixin):
    def __init__(self, initial: Mapping[str, Any] | None, sid: str, new: bool) -> None:
        def changed(_: CallbackDict[str, Any]) -> None:
            self.modified = True
        super().__init__(initial, changed)
        self.sid = sid
        self.new = new
        self.modified = False
        self.previous_sid: str | None = None

    def rotate(self) -> None:
        """A new id for the same data (at login: an id known before login is worthless)."""
        if not self.new:
            self.previous_sid = self.sid
        self.sid = secrets.token_urlsafe(32)
        self.modified = True


class ServerSideSessions(SessionInterface):
    """Flask's session, kept in a `SessionStore`; the cookie holds only the random id."""

    def __init__(self, store: SessionStore, cookie_name: str, lifetime: timedelta) -> None:
        self.store = store
        self.cookie_name = cookie_name
        self.lifetime = lifetime

    def open_session(self, app: Flask, request: Any) -> ServerSession:
        sid = request.cookies.get(self.cookie_name)
        if sid:
            data = self.store.load(sid)
            if data is not None:
                return ServerSession(data, sid, new=False)
        return ServerSession(None, secrets.token_urlsafe(32), new=True)

    def save_session(self, app: Flask, session: SessionMixin, response: Any) -> None:
        server = cast(ServerSession, session)
        secure = bool(app.config.get("SESSION_COOKIE_SECURE"))
        if server.previous_sid:
            self.store.delete(server.previous_sid)
        if not server:
            if not server.new:
                self.store.delete(server.sid)
                response.delete_cookie(self.cookie_name, path="/", secure=secure, httponly=True,
                                       samesite="Lax")
            return
        if not server.modified and not server.new:
            return
        expires = datetime.now(UTC) + self.lifetime
        self.store.save(server.sid, dict(server), expires)
        # No expiry on the cookie: it ends with the browser, the session on the server at the latest.
        response.set_cookie(self.cookie_name, server.sid, httponly=True, secure=secure,
                            samesite="Lax", path="/")


def cookie_name(node_id: str, secure: bool) -> str:
    """Per node: browsers share cookies across ports of one host (several local portals)."""
    base = "kim_portal_" + "".join(c if c.isalnum() else "_" for c in node_id)
    return f"__Host-{base}" if secure else base


# --- OIDC with Keycloak -------------------------------------------------------------------------

class Oidc(Protocol):
    """What the login views need of the identity provider (authlib's client in a node)."""

    def authorize_redirect(self, redirect_uri: str, **params: str) -> Response: ...
    def authorize_access_token(self) -> dict[str, Any]: ...
    def refresh(self, refresh_token: str) -> dict[str, Any]: ...
    def end_session_url(self, id_token: str, post_logout_redirect_uri: str) -> str | None: ...


class KeycloakOidc:
    """authlib's Flask client against the realm's discovery document."""

    def __init__(self, app: Flask, issuer: str, client_id: str, client_secret: str) -> None:
        from authlib.integrations.flask_client import OAuth

        self._oauth = OAuth(app)
        self._client: Any = self._oauth.register(
            "keycloak", client_id=client_id, client_secret=client_secret,
            server_metadata_url=f"{issuer}/.well-known/openid-configuration",
            client_kwargs={"scope": "openid", "code_challenge_method": "S256",
                           "token_endpoint_auth_method": "client_secret_post", "timeout": 10},
        )
        self.client_id = client_id
        self.client_secret = client_secret

    def authorize_redirect(self, redirect_uri: str, **params: str) -> Response:
        return cast(Response, self._client.authorize_redirect(redirect_uri, **params))

    def authorize_access_token(self) -> dict[str, Any]:
        return cast(dict[str, Any], self._client.authorize_access_token())

    def refresh(self, refresh_token: str) -> dict[str, Any]:
        from authlib.integrations.requests_client import OAuth2Session

        metadata = self._client.load_server_metadata()
        with OAuth2Session(self.client_id, self.client_secret,
                           token_endpoint_auth_method="client_secret_post") as client:  # noqa: S106 - a method name
            return cast(dict[str, Any], client.refresh_token(
                metadata["token_endpoint"], refresh_token=refresh_token, timeout=10))

    def end_session_url(self, id_token: str, post_logout_redirect_uri: str) -> str | None:
        endpoint = self._client.load_server_metadata().get("end_session_endpoint")
        if not endpoint:
            return None
        return f"{endpoint}?" + urlencode({"id_token_hint": id_token, "client_id": self.client_id,
                                           "post_logout_redirect_uri": post_logout_redirect_uri})


def claims_of(jwt: str) -> dict[str, Any]:
    """The claims of a token the portal received from Keycloak's token endpoint itself (over its
    own connection, so not re-verified here: the api verifies every token it is sent)."""
    payload = jwt.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))  # type: ignore[no-any-return]


def _store_tokens(token: Mapping[str, Any]) -> dict[str, Any]:
    now = time.time()
    tokens = {
        "access_token": token["access_token"],
        "refresh_token": token.get("refresh_token", ""),
        "id_token": token.get("id_token") or session.get("tokens", {}).get("id_token", ""),
        "expires_at": float(token.get("expires_at") or now + float(token.get("expires_in", 60))),
        "refresh_expires_at": now + float(token.get("refresh_expires_in") or 0),
    }
    session["tokens"] = tokens
    return tokens


def _refresh(tokens: Mapping[str, Any]) -> Mapping[str, Any]:
    oidc: Oidc | None = current_app.extensions.get("kim_oidc")
    if oidc is None or not tokens.get("refresh_token"):
        session.clear()
        raise LoginRequired()
    try:
        fresh = oidc.refresh(str(tokens["refresh_token"]))
    except Exception as exc:  # Keycloak refused (its session ended) or is unreachable
        log.info("refresh refused, session ends: %s", exc)
        session.clear()
        raise LoginRequired() from None
    return _store_tokens(fresh)


# --- the login views ----------------------------------------------------------------------------

bp = Blueprint("auth", __name__)


@bp.get("/anmelden")
def login() -> Response:
    session["next"] = safe_next(request.args.get("next"))
    own = current_app.config["KIM_IDP_HINT"]
    hosted: list[tuple[str, str]] = current_app.config.get("KIM_HOSTED_LOGINS") or []
    chosen = request.args.get("bei", "")
    if hosted and chosen not in {own, *(alias for alias, _ in hosted)}:
        # A node that also serves organisations without a node of their own (a Kreis's
        # Ausländerbehörde): each person chooses her home login, as only she knows it.
        choices = [(own, current_app.config.get("KIM_ORGANIZATION_NAME") or "eigene Organisation"),
                   *hosted]
        return make_response(render_template("auth/auswahl.html", choices=choices,
                                             next=session["next"]))
    oidc: Oidc | None = current_app.extensions.get("kim_oidc")
    if oidc is None:
        return make_response(render_template("errors/503.html", what="die Anmeldung (Keycloak)"), 503)
    params = {}
    hint = chosen or own
    if hint:
        params["kc_idp_hint"] = hint
    return oidc.authorize_redirect(external_url("auth.callback"), **params)


@bp.get("/anmeldung/zurueck")
def callback() -> Response:
    oidc: Oidc | None = current_app.extensions.get("kim_oidc")
    if oidc is None:
        return make_response(render_template("errors/503.html", what="die Anmeldung (Keycloak)"), 503)
    if "error" in request.args:
        return make_response(render_template(
            "errors/login_failed.html", reason=request.args.get("error_description", "")), 401)
    try:
        token = oidc.authorize_access_token()
    except Exception as exc:  # a stale or forged state, a code used twice: start again
        log.info("login callback refused: %s", exc)
        return make_response(render_template("errors/login_failed.html", reason=""), 401)
    target = safe_next(session.get("next"))
    userinfo = token.get("userinfo") or (
        claims_of(str(token["id_token"])) if token.get("id_token") else {})
    person = Person.from_tokens(claims_of(str(token["access_token"])), userinfo)
    server = cast(ServerSession, session)
    server.clear()
    server.rotate()
    session["person"] = person.as_dict()
    _store_tokens(token)
    store = current_app.extensions["kim_session_store"]
    if isinstance(store, MongoSessionStore):
        store.purge_expired()
    return redirect(target)


@bp.post("/abmelden")
def logout() -> Response:
    tokens = session.get("tokens") or {}
    session.clear()
    oidc: Oidc | None = current_app.extensions.get("kim_oidc")
    after = external_url("auth.logged_out")
    if oidc is not None and tokens.get("id_token"):
        url = oidc.end_session_url(str(tokens["id_token"]), after)
        if url:
            return redirect(url)
    return redirect(after)


@bp.get("/abgemeldet")
def logged_out() -> str:
    return render_template("auth/logged_out.html")
