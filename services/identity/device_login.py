"""Logging a person in on the command line with the OAuth device authorization grant, and
keeping the token for later `kim` calls.

The token file lives in the user's config directory (`$XDG_CONFIG_HOME/kim/token.json`, else
`~/.config/kim/token.json`) and is created with mode 0600: it is a bearer credential.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from kimnetz.errors import Unauthenticated, Unavailable

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


def token_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "kim" / "token.json"


@dataclass(frozen=True)
class DeviceAuthorization:
    device_code: str
    user_code: str
    verification_uri: str
    verification_uri_complete: str
    interval: float
    expires_at: float
    #: PKCE verifier: the login client requires S256 for every grant, the device grant too.
    code_verifier: str = ""


class DeviceLogin:
    def __init__(self, issuer: str, client_id: str, *, timeout: float = 10.0) -> None:
        self.issuer = issuer.rstrip("/")
        self.client_id = client_id
        self.timeout = timeout
        self._base = f"{self.issuer}/protocol/openid-connect"

    def _post(self, path: str, data: dict[str, str]) -> requests.Response:
        try:
            return requests.post(f"{self._base}/{path}", data=data, timeout=self.timeout)
        except requests.RequestException as exc:
            raise Unavailable(
                f"Der Anmeldedienst {self.issuer} ist nicht erreichbar; neue Anmeldungen sind "
                "gerade nicht möglich.") from exc

    def start(self) -> DeviceAuthorization:
        verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
        response = self._post("auth/device", {
            "client_id": self.client_id, "scope": "openid",
            "code_challenge": challenge.decode(), "code_challenge_method": "S256"})
        if response.status_code != 200:
            raise Unauthenticated(f"Die Anmeldung wurde abgelehnt: {response.text[:200]}")
        data = response.json()
        return DeviceAuthorization(
            device_code=data["device_code"], user_code=data["user_code"],
            verification_uri=data["verification_uri"],
            verification_uri_complete=data.get("verification_uri_complete", data["verification_uri"]),
            interval=float(data.get("interval", 5)), expires_at=time.time() + float(data["expires_in"]),
            code_verifier=verifier,
        )

    def poll(self, authorization: DeviceAuthorization,
             sleep: Callable[[float], None] = time.sleep) -> dict[str, Any]:
        """Waits until the person has confirmed in the browser; the token response."""
        interval = authorization.interval
        while time.time() < authorization.expires_at:
            response = self._post("token", {"grant_type": DEVICE_GRANT, "client_id": self.client_id,
                                            "device_code": authorization.device_code,
                                            "code_verifier": authorization.code_verifier})
            data: dict[str, Any] = response.json()
            if response.status_code == 200:
                return data
            error = data.get("error")
            if error == "authorization_pending":
                sleep(interval)
            elif error == "slow_down":
                interval += 5
                sleep(interval)
            elif error == "access_denied":
                raise Unauthenticated("Die Anmeldung wurde im Browser abgelehnt.")
            else:
                raise Unauthenticated(f"Die Anmeldung ist fehlgeschlagen ({error}).")
        raise Unauthenticated("Der Anmeldecode ist abgelaufen; bitte `kim login` erneut ausführen.")

    def refresh(self, stored: dict[str, Any]) -> dict[str, Any]:
        response = self._post("token", {"grant_type": "refresh_token", "client_id": self.client_id,
                                        "refresh_token": stored["refresh_token"]})
        if response.status_code != 200:
            raise Unauthenticated("Die Anmeldung ist abgelaufen; bitte `kim login` ausführen.")
        data: dict[str, Any] = response.json()
        return data


def save_token(response: dict[str, Any], issuer: str, client_id: str, path: Path | None = None) -> Path:
    path = path or token_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    record = {**response, "issuer": issuer, "client_id": client_id,
              "expires_at": time.time() + float(response.get("expires_in", 0))}
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        json.dump(record, out)
    os.chmod(path, 0o600)  # also when the file existed with wider permissions
    return path


def current_token(path: Path | None = None) -> str:
    """The stored access token, refreshed when it is about to expire."""
    path = path or token_path()
    try:
        stored: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise Unauthenticated("Nicht angemeldet; bitte `kim login` ausführen.") from None
    if time.time() < float(stored["expires_at"]) - 30:
        return str(stored["access_token"])
    login = DeviceLogin(stored["issuer"], stored["client_id"])
    fresh = login.refresh(stored)
    save_token(fresh, stored["issuer"], stored["client_id"], path)
    return str(fresh["access_token"])
