"""The peer check of the mutual-TLS port: active nodes pass, others are refused and audited;
answers are reused for the cache time only; an unreadable directory refuses."""

from __future__ import annotations

import pytest

from kimnetz.errors import PermissionDenied, Unavailable
from kimnetz.runtime.audit import MemoryAuditSink
from kimnetz.runtime.grpc_peer import Peer
from kimnetz.runtime.peers import DirectoryPeerCheck, PeerRecord

PEER = Peer("f" * 64, "stadt-hilden")


class FakeDirectory:
    def __init__(self) -> None:
        self.records: dict[str, PeerRecord] = {}
        self.lookups = 0
        self.down = False

    def __call__(self, fingerprint: str) -> PeerRecord | None:
        self.lookups += 1
        if self.down:
            raise ConnectionError("database away")
        return self.records.get(fingerprint)

    def set(self, status: str) -> None:
        self.records[PEER.fingerprint] = PeerRecord("stadt-hilden", "stadt-hilden", "municipality", status)


class Clock:
    now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def directory() -> FakeDirectory:
    return FakeDirectory()


def test_active_node_passes_and_the_answer_is_cached(directory: FakeDirectory) -> None:
    directory.set("active")
    check = DirectoryPeerCheck(directory, cache_seconds=5, clock=Clock())
    check(PEER)
    check(PEER)
    assert directory.lookups == 1


@pytest.mark.parametrize(("status", "reason"), [("pending", "noch nicht freigegeben"),
                                                ("revoked", "widerrufen")])
def test_pending_and_revoked_nodes_are_refused_and_audited(
        directory: FakeDirectory, status: str, reason: str) -> None:
    directory.set(status)
    audit = MemoryAuditSink()
    with pytest.raises(PermissionDenied, match=reason):
        DirectoryPeerCheck(directory, audit=audit)(PEER)
    event = audit.events[-1]
    assert (event.outcome, event.node) == ("denied", "stadt-hilden")
    assert event.extra["fingerprint"] == PEER.fingerprint


def test_unknown_certificate_is_refused(directory: FakeDirectory) -> None:
    with pytest.raises(PermissionDenied, match="nicht eingetragen"):
        DirectoryPeerCheck(directory)(PEER)


def test_revocation_takes_effect_when_the_cache_time_is_over(directory: FakeDirectory) -> None:
    clock = Clock()
    directory.set("active")
    check = DirectoryPeerCheck(directory, cache_seconds=5, clock=clock)
    check(PEER)
    directory.set("revoked")
    clock.now += 4.9
    check(PEER)  # still the cached answer
    clock.now += 0.2
    with pytest.raises(PermissionDenied, match="widerrufen"):
        check(PEER)


def test_unreadable_directory_refuses_once_the_cache_is_stale(directory: FakeDirectory) -> None:
    clock = Clock()
    directory.set("active")
    check = DirectoryPeerCheck(directory, cache_seconds=5, clock=clock)
    check(PEER)
    directory.down = True
    clock.now += 6
    with pytest.raises(Unavailable, match="Knotenverzeichnis"):
        check(PEER)
