"""The node directory's rules: which nodes form the federation, who may enter or change them.

Framework-free (stdlib and `kimnetz.errors` only): the use cases (directory_service.py) apply
these rules and keep the results through the repository port (ports.py), which the mongoengine
store (directory_store.py) implements; the gRPC servicer (api.py) maps requests to the use cases.

Who may do what:
- a `node_admin` registers nodes of their own organisation and rotates their certificates;
  such a node waits (`pending`) until the Kreis approves it, unless the federation file
  already declares every fingerprint it presents (the Kreis's operator wrote them there);
- a `node_admin` of the Kreis (an organisation of type `district`) approves and revokes any
  node and registers nodes of any organisation, active at once;
- a `node_admin` may revoke their own organisation's node (a stolen key must not wait for
  the Kreis); bringing a revoked node back is the Kreis's decision.

A node must be declared in the node's federation file under the same organisation, because
only declared nodes have a service account in Keycloak. A certificate fingerprint names one
node, ever: it is refused for any other node, also after that node was revoked, so a revoked
node's certificate cannot come back under another name.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

from kimnetz.errors import FailedPrecondition, FieldViolation, InvalidArgument, PermissionDenied

NODE_ADMIN = "node_admin"
DISTRICT = "district"

#: Roles a node plays in the federation; the organisation types that run nodes (partners don't).
NODE_ROLES = ("district", "municipality", "welfare_org", "immigration_office")

PENDING, ACTIVE, REVOKED = "pending", "active", "revoked"
STATUSES = (PENDING, ACTIVE, REVOKED)
STATUS_LABELS = {PENDING: "wartet auf Freigabe", ACTIVE: "freigegeben", REVOKED: "widerrufen"}

#: More than one during a certificate rotation (old and new), never an open-ended list.
MAX_FINGERPRINTS = 3

_NODE_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_FINGERPRINT = re.compile(r"^[0-9a-f]{64}$")
_ENDPOINT = re.compile(r"^[A-Za-z0-9.-]+:[0-9]{1,5}$")


@dataclass(frozen=True)
class Actor:
    """Who asks: the token's subject, name, organisation and realm roles."""

    subject: str
    username: str
    organization: str
    roles: frozenset[str]


@dataclass(frozen=True)
class Members:
    """What the node's federation file says: organisation alias -> type, and the declared nodes
    (id -> organisation, fingerprints the Kreis's operator declared)."""

    organization_types: Mapping[str, str]
    declared_nodes: Mapping[str, tuple[str, tuple[str, ...]]]
    #: alias -> the organisation's name ("Stadt Hilden"), for what people read.
    organization_names: Mapping[str, str] = field(default_factory=dict)

    def is_district(self, organization: str) -> bool:
        return self.organization_types.get(organization) == DISTRICT


@dataclass(frozen=True)
class StatusChange:
    status: str
    at: datetime
    by: str  # username of the acting person
    organization: str  # for whom they acted
    reason: str = ""


@dataclass(frozen=True)
class DirectoryNode:
    node_id: str
    organization: str
    role: str
    api_endpoint: str
    federation_endpoint: str
    fingerprints: tuple[str, ...]
    status: str
    history: tuple[StatusChange, ...] = ()
    #: Every fingerprint this node ever presented: never available to another node.
    retired_fingerprints: tuple[str, ...] = ()
    version: int = 0

    @property
    def active(self) -> bool:
        return self.status == ACTIVE

    def all_fingerprints(self) -> set[str]:
        return {*self.fingerprints, *self.retired_fingerprints}


@dataclass(frozen=True)
class RegisterNode:
    node_id: str
    organization: str
    role: str
    api_endpoint: str
    federation_endpoint: str
    fingerprints: tuple[str, ...] = field(default_factory=tuple)


#: Which node (id) holds a fingerprint, now or in the past; None if none.
FingerprintOwner = Callable[[str], str | None]


def normalise_fingerprint(value: str) -> str:
    """`AB:CD:...` (openssl's form) and `abcd...` are the same fingerprint."""
    return value.replace(":", "").strip().lower()


def _require_node_admin(actor: Actor, action: str) -> None:
    if NODE_ADMIN not in actor.roles:
        raise PermissionDenied(
            f"Für „{action}“ ist die Rolle Administration eines Knotens nötig.")


def _validate(command: RegisterNode, members: Members) -> RegisterNode:
    violations: list[FieldViolation] = []
    if not _NODE_ID.match(command.node_id):
        violations.append(FieldViolation(
            "node_id", "Kleinbuchstaben, Ziffern und Bindestriche, höchstens 63 Zeichen."))
    if command.organization not in members.organization_types:
        violations.append(FieldViolation(
            "organization", f"Die Organisation {command.organization!r} gehört nicht zum Verbund."))
    elif command.role != members.organization_types[command.organization]:
        violations.append(FieldViolation(
            "role", f"Ein Knoten von {command.organization} hat die Rolle "
                    f"{members.organization_types[command.organization]!r}."))
    if command.role not in NODE_ROLES:
        violations.append(FieldViolation("role", f"Erlaubt: {', '.join(NODE_ROLES)}."))
    for name in ("api_endpoint", "federation_endpoint"):
        if not _ENDPOINT.match(getattr(command, name)):
            violations.append(FieldViolation(name, "Erwartet wird host:port."))
    fingerprints = tuple(dict.fromkeys(normalise_fingerprint(f) for f in command.fingerprints))
    if not fingerprints:
        violations.append(FieldViolation(
            "certificate_fingerprints", "Mindestens ein Zertifikats-Fingerabdruck ist nötig."))
    if len(fingerprints) > MAX_FINGERPRINTS:
        violations.append(FieldViolation(
            "certificate_fingerprints",
            f"Höchstens {MAX_FINGERPRINTS} Fingerabdrücke (alter und neuer während eines Wechsels)."))
    for i, value in enumerate(fingerprints):
        if not _FINGERPRINT.match(value):
            violations.append(FieldViolation(
                f"certificate_fingerprints[{i}]", "Kein SHA-256-Fingerabdruck (64 Hex-Zeichen)."))
    declared = members.declared_nodes.get(command.node_id)
    if not violations and declared is None:
        violations.append(FieldViolation(
            "node_id", f"Der Knoten {command.node_id!r} ist in der Verbunddatei nicht eingetragen "
                       "(ohne Eintrag hat er kein Dienstkonto)."))
    elif not violations and declared is not None and declared[0] != command.organization:
        violations.append(FieldViolation(
            "organization", f"Laut Verbunddatei gehört {command.node_id!r} zu {declared[0]}."))
    if violations:
        raise InvalidArgument(violations, "Der Knoten kann so nicht eingetragen werden.")
    return replace(command, fingerprints=fingerprints)


def register(existing: DirectoryNode | None, command: RegisterNode, actor: Actor,
             members: Members, fingerprint_owner: FingerprintOwner, now: datetime) -> DirectoryNode:
    """Enter a new node or update an existing one (endpoints, certificate rotation)."""
    _require_node_admin(actor, "Knoten eintragen")
    kreis = members.is_district(actor.organization)
    if command.organization != actor.organization and not kreis:
        raise PermissionDenied(
            f"Sie dürfen nur Knoten Ihrer Organisation ({actor.organization}) eintragen, "
            f"nicht von {command.organization}.")
    command = _validate(command, members)
    if existing is not None and existing.organization != command.organization:
        raise PermissionDenied(
            f"Der Knoten {existing.node_id} gehört zu {existing.organization}.")
    if existing is not None and existing.status == REVOKED and not kreis:
        raise FailedPrecondition(
            f"Der Knoten {existing.node_id} ist widerrufen; nur der Kreis kann ihn wieder freigeben.")
    for value in command.fingerprints:
        owner = fingerprint_owner(value)
        if owner is not None and owner != command.node_id:
            raise FailedPrecondition(
                f"Der Zertifikats-Fingerabdruck {value[:16]}… gehört zum Knoten {owner}; "
                "jedes Zertifikat gehört genau einem Knoten.")
    if existing is None:
        declared = members.declared_nodes[command.node_id][1]
        preapproved = set(command.fingerprints) <= set(declared)
        status = ACTIVE if kreis or preapproved else PENDING
        reason = ("vom Kreis eingetragen" if kreis else
                  "Fingerabdrücke in der Verbunddatei" if preapproved else "Antrag auf Aufnahme")
        return DirectoryNode(
            node_id=command.node_id, organization=command.organization, role=command.role,
            api_endpoint=command.api_endpoint, federation_endpoint=command.federation_endpoint,
            fingerprints=command.fingerprints, status=status,
            history=(StatusChange(status, now, actor.username, actor.organization, reason),),
        )
    dropped = tuple(f for f in existing.fingerprints if f not in command.fingerprints)
    history = existing.history
    if set(command.fingerprints) != set(existing.fingerprints):
        history += (StatusChange(existing.status, now, actor.username, actor.organization,
                                 "Zertifikat gewechselt"),)
    return replace(
        existing, role=command.role, api_endpoint=command.api_endpoint,
        federation_endpoint=command.federation_endpoint, fingerprints=command.fingerprints,
        retired_fingerprints=tuple(dict.fromkeys((*existing.retired_fingerprints, *dropped))),
        history=history,
    )


def approve(node: DirectoryNode, actor: Actor, members: Members, now: datetime,
            reason: str = "") -> DirectoryNode:
    """The Kreis admits a pending node, or re-admits a revoked one."""
    _require_node_admin(actor, "Knoten freigeben")
    if not members.is_district(actor.organization):
        raise PermissionDenied("Knoten gibt nur die Knoten-Administration des Kreises frei.")
    if node.status == ACTIVE:
        raise FailedPrecondition(f"Der Knoten {node.node_id} ist bereits freigegeben.")
    return replace(node, status=ACTIVE, history=(
        *node.history, StatusChange(ACTIVE, now, actor.username, actor.organization, reason)))


def revoke(node: DirectoryNode, actor: Actor, members: Members, now: datetime,
           reason: str) -> DirectoryNode:
    """From now on the node's certificates are refused by every peer check."""
    _require_node_admin(actor, "Knoten widerrufen")
    if node.organization != actor.organization and not members.is_district(actor.organization):
        raise PermissionDenied(
            f"Den Knoten {node.node_id} von {node.organization} kann nur der Kreis "
            "oder die eigene Organisation widerrufen.")
    if not reason.strip():
        raise InvalidArgument([FieldViolation("reason", "Bitte einen Grund angeben.")])
    if node.status == REVOKED:
        raise FailedPrecondition(f"Der Knoten {node.node_id} ist bereits widerrufen.")
    return replace(node, status=REVOKED, history=(
        *node.history, StatusChange(REVOKED, now, actor.username, actor.organization, reason.strip())))


def members_of(organizations: Collection[tuple[str, str]],
               nodes: Collection[tuple[str, str, tuple[str, ...]]],
               names: Mapping[str, str] | None = None) -> Members:
    """Members from (alias, type) pairs, (node id, organisation, fingerprints) triples and
    the organisations' names (alias -> name)."""
    return Members(
        organization_names=dict(names or {}),
        organization_types=dict(organizations),
        declared_nodes={node_id: (org, tuple(normalise_fingerprint(f) for f in fps))
                        for node_id, org, fps in nodes},
    )
