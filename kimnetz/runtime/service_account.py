"""Client-credential tokens of this node's service account, for calls to peers and probes.
A token is reused until shortly before it expires."""

from __future__ import annotations

import threading
import time

from keycloak import KeycloakOpenID
from keycloak.exceptions import KeycloakConnectionError, KeycloakError

from kimnetz.errors import Unauthenticated, Unavailable


class ServiceAccount:
    def __init__(
        self, server_url: str, realm: str, client_id: str, client_secret: str,
        *, refresh_margin_seconds: float = 30.0,
    ) -> None:
        self._client = KeycloakOpenID(
            server_url=server_url.rstrip("/") + "/", realm_name=realm,
            client_id=client_id, client_secret_key=client_secret, timeout=10,
        )
        self._margin = refresh_margin_seconds
        self._lock = threading.Lock()
        self._token = ""
        self._expires_at = 0.0

    def token(self) -> str:
        with self._lock:
            if time.monotonic() >= self._expires_at - self._margin:
                try:
                    response = self._client.token(grant_type="client_credentials")
                except KeycloakConnectionError as exc:
                    raise Unavailable("Der Anmeldedienst (Keycloak) ist nicht erreichbar.") from exc
                except KeycloakError as exc:
                    raise Unauthenticated(
                        "Der Knoten konnte sich nicht am Anmeldedienst anmelden "
                        "(Client-ID oder Geheimnis falsch?)."
                    ) from exc
                self._token = response["access_token"]
                self._expires_at = time.monotonic() + float(response["expires_in"])
            return self._token
