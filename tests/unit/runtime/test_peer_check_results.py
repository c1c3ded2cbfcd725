"""The directory check as the peer interceptor uses it: the active node's record comes back (its
role decides the methods), and every way it refuses is audited with the method."""

from __future__ import annotations

import pytest

from kimnetz.errors import PermissionDenied, Unavailable
from kimnetz.runtime.audit import MemoryAuditSink
from kimnetz.runtime.grpc_peer import Peer
from kimnetz.runtime.peers import DirectoryPeerCheck, PeerRecord

PEER = Peer("a" * 64, "kreis-mettmann", acting_user="k.koordination")
KREIS = PeerRecord("kreis-mettmann", "kreis-mettmann", "district", "active")
METHOD = "/kim.case.v1.CaseFederation/GetFigures"


def test_active_node_comes_back_with_its_role() -> None:
    assert DirectoryPeerCheck({PEER.fingerprint: KREIS}.get)(PEER, METHOD) == KREIS


def test_unknown_certificate_is_audited_with_method_and_acting_user() -> None:
    audit = MemoryAuditSink()
    with pytest.raises(PermissionDenied, match="nicht eingetragen"):
        DirectoryPeerCheck({}.get, audit=audit)(PEER, METHOD)
    [event] = audit.events
    assert (event.kind, event.outcome, event.action, event.node) == (
        "federation", "denied", METHOD, "kreis-mettmann")
    assert event.extra["acting_user"] == "k.koordination"


def test_unreadable_directory_refuses_and_is_audited() -> None:
    def down(fingerprint: str) -> PeerRecord | None:
        raise ConnectionError("database away")

    audit = MemoryAuditSink()
    with pytest.raises(Unavailable, match="Knotenverzeichnis"):
        DirectoryPeerCheck(down, audit=audit)(PEER, METHOD)
    assert [e.outcome for e in audit.events] == ["denied"]


def test_directory_refusing_this_node_the_check_is_a_refusal_not_an_outage() -> None:
    def refusing(fingerprint: str) -> PeerRecord | None:
        raise PermissionDenied("Das Knotenverzeichnis lehnt seine Anfrage ab.")

    audit = MemoryAuditSink()
    with pytest.raises(PermissionDenied, match="lehnt seine Anfrage ab"):
        DirectoryPeerCheck(refusing, audit=audit)(PEER, METHOD)
    assert audit.events[0].reason == "Das Knotenverzeichnis lehnt seine Anfrage ab."
