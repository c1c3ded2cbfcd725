"""RabbitMQ administration through its management API: a node's own virtual host.

One broker with one vhost per node is the local layout (the federation links vhosts); in
compose and Kubernetes each node has its own broker, and a federation upstream names the peer's
broker by its URI (TLS in production: `amqps://...`). Either way a node's vhost is the one its
AMQP URI names (`vhost_of`).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, unquote, urlsplit

import requests

from kimnetz.errors import Unavailable


class BrokerAdmin:
    """`credentials` (user, password) of an administrator; without them, those of `amqp_uri`
    (an administrator's URI, as the test tier's default settings hold)."""

    def __init__(self, management_url: str, amqp_uri: str, timeout: float = 10.0, *,
                 credentials: tuple[str, str] | None = None) -> None:
        amqp = urlsplit(amqp_uri)
        self._auth = credentials or (unquote(amqp.username or "guest"),
                                     unquote(amqp.password or "guest"))
        self._root = management_url.rstrip("/")
        self._timeout = timeout

    def _call(self, method: str, path: str, json: dict[str, Any] | None = None) -> requests.Response:
        try:
            response = requests.request(
                method, f"{self._root}/api/{path}", auth=self._auth, json=json, timeout=self._timeout
            )
        except requests.RequestException as exc:
            raise Unavailable(f"Die Verwaltung des Nachrichtenbrokers ist nicht erreichbar: {exc}") from exc
        if response.status_code >= 400 and not (method == "DELETE" and response.status_code == 404):
            raise Unavailable(
                f"Nachrichtenbroker: {method} {path} -> {response.status_code} {response.text[:200]}"
            )
        return response

    def ensure_user(self, user: str, password: str, vhost: str, *, configure: str = ".*",
                    write: str = ".*", read: str = ".*") -> None:
        """A broker user without management tags, with these rights (regular expressions over
        exchange and queue names) on `vhost` only (idempotent; the password is set anew)."""
        self._call("PUT", f"users/{quote(user, safe='')}", {"password": password, "tags": ""})
        self._call("PUT", f"permissions/{quote(vhost, safe='')}/{quote(user, safe='')}",
                   {"configure": configure, "write": write, "read": read})

    def ensure_node_user(self, vhost: str, user: str, password: str) -> None:
        """The node's own user: every right on the node's vhost, none elsewhere."""
        self.ensure_user(user, password, vhost)

    def ensure_link_user(self, peer_vhost: str, user: str, password: str,
                         exchanges: list[str]) -> None:
        """The user one federation link logs in with at the peer's broker: it reads the peer's
        federated `exchanges` and declares, binds and consumes the link's own "federation: ..."
        exchange and queue there. It may write to nothing else, so it cannot publish into an
        exchange the peer's (or anyone's) workers consume. The federation plugin declares the
        upstream exchange itself (not passively), which needs configure on the federated
        exchanges too (measured on RabbitMQ 3.10: ACCESS_REFUSED on exchange.declare without)."""
        self.ensure_user(user, password, peer_vhost, **link_permissions(exchanges))

    def delete_user(self, user: str) -> None:
        self._call("DELETE", f"users/{quote(user, safe='')}")

    @classmethod
    def of(cls, management_url: str, admin: str) -> BrokerAdmin:
        """From an administrator's "user:password" (Settings.rabbitmq_admin)."""
        user, _, password = admin.partition(":")
        return cls(management_url, "amqp://", credentials=(user, password))

    def ensure_vhost(self, vhost: str) -> None:
        """Create the vhost (idempotent) and grant the broker user all rights in it."""
        name = quote(vhost, safe="")
        self._call("PUT", f"vhosts/{name}")
        self._call(
            "PUT", f"permissions/{name}/{quote(self._auth[0], safe='')}",
            {"configure": ".*", "write": ".*", "read": ".*"},
        )

    def link_upstream(self, vhost: str, peer: str, peer_uri: str, exchanges: list[str]) -> None:
        """Federate `exchanges` of the peer's broker into this vhost (idempotent).

        The upstream keeps a queue on the peer's side, so what the peer publishes while this
        node is away waits there; `max-hops: 1` keeps events from travelling on beyond their
        first receiver, and `on-confirm` acks upstream only once the message is safe here.
        """
        name = quote(vhost, safe="")
        self._call("PUT", f"parameters/federation-upstream/{name}/{quote(peer, safe='')}", {
            "value": {"uri": peer_uri, "max-hops": 1, "ack-mode": "on-confirm",
                      "reconnect-delay": 2, "trust-user-id": False},
        })
        pattern = "^(" + "|".join(e.replace(".", "\\.") for e in sorted(exchanges)) + ")$"
        self._call("PUT", f"policies/{name}/kim-federation", {
            "pattern": pattern, "apply-to": "exchanges", "priority": 10,
            "definition": {"federation-upstream-set": "all"},
        })

    def upstreams(self, vhost: str) -> list[str]:
        """Names of the peers this vhost federates from."""
        found = self._call("GET", f"parameters/federation-upstream/{quote(vhost, safe='')}").json()
        return sorted(str(p["name"]) for p in found)

    def federation_links(self, vhost: str) -> list[dict[str, object]]:
        result: list[dict[str, object]] = self._call(
            "GET", f"federation-links/{quote(vhost, safe='')}").json()
        return result

    def delete_vhost(self, vhost: str) -> None:
        self._call("DELETE", f"vhosts/{quote(vhost, safe='')}")

    def queues(self, vhost: str) -> list[dict[str, object]]:
        result: list[dict[str, object]] = self._call("GET", f"queues/{quote(vhost, safe='')}").json()
        return result

    def bindings(self, vhost: str, queue: str) -> list[dict[str, Any]]:
        """The bindings of `queue` (the default exchange's one has the source "")."""
        result: list[dict[str, Any]] = self._call(
            "GET", f"queues/{quote(vhost, safe='')}/{quote(queue, safe='')}/bindings").json()
        return result


def link_permissions(exchanges: list[str]) -> dict[str, str]:
    """The rights of a federation link's user at the peer's broker (`ensure_link_user`; the
    Permission resources of deploy/k8s/overlays/*/federation.yaml hold the same)."""
    names = "|".join(e.replace(".", "\\.") for e in sorted(exchanges))
    return {"configure": f"^({names}|federation: .*)$", "write": "^federation: .*",
            "read": f"^({names}|federation: .*)$"}


def vhost_of(amqp_uri: str) -> str:
    """The vhost an AMQP URI names; no path or "/" is RabbitMQ's default vhost "/"."""
    path = urlsplit(amqp_uri).path
    return unquote(path[1:]) if len(path) > 1 else "/"


def with_credentials(amqp_uri: str, user: str, password: str) -> str:
    """The URI with another login (the node's own user, a federation link's user)."""
    parts = urlsplit(amqp_uri)
    host = parts.hostname or "127.0.0.1"
    netloc = f"{quote(user, safe='')}:{quote(password, safe='')}@{host}"
    if parts.port:
        netloc += f":{parts.port}"
    return parts._replace(netloc=netloc).geturl()


def node_user(node_id: str) -> str:
    """The broker user of a node: rights on its own vhost only."""
    return f"kim-node-{node_id}"


def link_user(node_id: str, peer_id: str) -> str:
    """The broker user (at the peer's broker) of the federation link that brings the peer's
    events to `node_id`."""
    return f"kim-link-{node_id}-from-{peer_id}"


def with_vhost(amqp_uri: str, vhost: str) -> str:
    parts = urlsplit(amqp_uri)
    return parts._replace(path="/" + quote(vhost, safe=""), query="", fragment="").geturl()
