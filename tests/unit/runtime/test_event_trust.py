"""Signing and verification of event envelopes (kimnetz/runtime/event_trust.py) with real keys from
the development CA and an in-memory directory snapshot: what a receiver believes of a sender."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from kim.common.v1.event_pb2 import EventEnvelope
from kim.node.v1.probe_pb2 import ProbeRequested
from kimnetz.errors import Unavailable, UntrustedEvent
from kimnetz.runtime import events
from kimnetz.runtime.event_trust import (
    DirectoryEntry,
    EnvelopeSigner,
    EnvelopeVerifier,
    MemorySeenEvents,
    Sender,
    Snapshot,
)
from kimnetz.runtime.pki import DevCertificateAuthority, NodeCredentials

CA = DevCertificateAuthority.create()
KREIS = CA.issue("kreis")
CARITAS = CA.issue("caritas")
HERE = CA.issue("stadt")
FOREIGN = DevCertificateAuthority.create().issue("kreis")


def signer(credentials: NodeCredentials) -> EnvelopeSigner:
    return EnvelopeSigner(credentials.key, credentials.certificate)


def entry(credentials: NodeCredentials, node: str, org: str, role: str,
          status: str = "active") -> DirectoryEntry:
    return DirectoryEntry(credentials.fingerprint, node, org, role, status)


DIRECTORY = Snapshot({
    KREIS.fingerprint: entry(KREIS, "kreis", "kreis-mettmann", "district"),
    CARITAS.fingerprint: entry(CARITAS, "caritas", "caritas-mettmann", "welfare_org"),
    HERE.fingerprint: entry(HERE, "stadt", "stadt-hilden", "municipality"),
}, refreshed_at=datetime.now(UTC))


def verifier(snapshot: Snapshot = DIRECTORY, **options: object) -> EnvelopeVerifier:
    defaults: dict[str, object] = dict(
        node_id="stadt", organization="stadt-hilden", directory=lambda: snapshot,
        ca_certificate=CA.ca_pem, own_certificate=HERE.certificate, seen=MemorySeenEvents())
    defaults.update(options)
    return EnvelopeVerifier(**defaults)  # type: ignore[arg-type]


def envelope(source_node: str = "kreis", probe: str = "p-1") -> EventEnvelope:
    return events.pack(ProbeRequested(probe_id=probe), source_service="node", source_node=source_node)


def signed(credentials: NodeCredentials, source_node: str = "kreis", probe: str = "p-1") -> EventEnvelope:
    return signer(credentials).sign_envelope(envelope(source_node, probe))


def refusal(check: EnvelopeVerifier, env: EventEnvelope) -> str:
    with pytest.raises(UntrustedEvent) as refused:
        check.verify(env)
    return refused.value.reason


def test_a_signed_envelope_of_an_active_node_names_the_directory_s_organisation_and_role() -> None:
    assert verifier().verify(signed(KREIS)) == Sender("kreis", "kreis-mettmann", "district")


def test_the_relay_s_signature_of_stored_bytes_survives_the_broker() -> None:
    body = signer(KREIS).sign(envelope().SerializeToString())
    assert verifier().verify(events.decode(body)).node_id == "kreis"


def test_an_unsigned_envelope_is_refused() -> None:
    assert refusal(verifier(), envelope()) == "unsigned"


def test_a_certificate_of_another_ca_is_refused() -> None:
    assert refusal(verifier(), signed(FOREIGN)) == "untrusted-certificate"


def test_a_node_signing_in_another_node_s_name_is_refused() -> None:
    assert refusal(verifier(), signed(CARITAS, source_node="kreis")) == "wrong-node"


def test_a_changed_payload_under_a_valid_signature_is_refused() -> None:
    forged = signed(KREIS)
    forged.payload.Pack(ProbeRequested(probe_id="other"))
    assert refusal(verifier(), forged) == "bad-signature"


def test_a_signature_copied_onto_another_envelope_is_refused() -> None:
    original, other = signed(KREIS), envelope(probe="p-2")
    other.signer_certificate, other.signature = original.signer_certificate, original.signature
    assert refusal(verifier(), other) == "bad-signature"


def test_the_same_id_with_other_content_is_a_replay_the_same_content_twice_a_redelivery() -> None:
    check = verifier()
    first = signed(KREIS)
    check.verify(first)
    again = EventEnvelope()
    again.CopyFrom(first)
    signer(KREIS).sign_envelope(again)  # the relay re-signs after a crash: other signature bytes
    assert check.verify(again).node_id == "kreis"
    replay = envelope(probe="changed")
    replay.id = first.id
    assert refusal(check, signer(KREIS).sign_envelope(replay)) == "replayed"


@pytest.mark.parametrize("status", ["pending", "revoked"])
def test_a_node_the_directory_does_not_admit_is_refused(status: str) -> None:
    snapshot = Snapshot({KREIS.fingerprint: entry(KREIS, "kreis", "kreis-mettmann", "district", status)},
                        refreshed_at=datetime.now(UTC) + timedelta(seconds=1))
    assert refusal(verifier(snapshot), signed(KREIS)) == "inactive-node"


def test_a_pending_node_is_asked_again_while_the_snapshot_is_older_than_the_event() -> None:
    """`kim node join` then `approve`: the node's first event may come before the next refresh."""
    older = datetime.now(UTC) - timedelta(seconds=3)
    pending = Snapshot({KREIS.fingerprint: entry(KREIS, "kreis", "kreis-mettmann", "district", "pending")},
                       refreshed_at=older)
    with pytest.raises(Unavailable):
        verifier(pending).verify(signed(KREIS))
    revoked = Snapshot({KREIS.fingerprint: entry(KREIS, "kreis", "kreis-mettmann", "district", "revoked")},
                       refreshed_at=older)
    assert refusal(verifier(revoked), signed(KREIS)) == "inactive-node", "a revoked node: at once"


def test_an_unknown_certificate_is_retried_while_the_snapshot_is_older_than_the_event() -> None:
    stale = Snapshot({}, refreshed_at=datetime.now(UTC) - timedelta(minutes=1))
    with pytest.raises(Unavailable):
        verifier(stale).verify(signed(KREIS))


def test_an_unknown_certificate_is_refused_once_the_snapshot_is_newer_or_the_grace_is_over() -> None:
    fresh = Snapshot({}, refreshed_at=datetime.now(UTC) + timedelta(seconds=1))
    assert refusal(verifier(fresh), signed(KREIS)) == "unknown-node"
    never = Snapshot({}, refreshed_at=None)
    late = datetime.now(UTC) + timedelta(minutes=5)
    assert refusal(verifier(never, now=lambda: late), signed(KREIS)) == "unknown-node"


def test_a_directory_entry_of_another_node_for_the_certificate_is_refused() -> None:
    snapshot = Snapshot({KREIS.fingerprint: entry(KREIS, "caritas", "caritas-mettmann", "welfare_org")},
                        refreshed_at=datetime.now(UTC))
    assert refusal(verifier(snapshot), signed(KREIS)) == "wrong-node"


def test_an_expired_certificate_is_refused() -> None:
    later = datetime.now(UTC) + timedelta(days=400)
    assert refusal(verifier(now=lambda: later), signed(KREIS)) == "certificate-expired"


def test_this_node_s_own_certificate_is_this_node_with_its_directory_role() -> None:
    assert verifier().verify(signed(HERE, source_node="stadt")) == Sender(
        "stadt", "stadt-hilden", "municipality", local=True)


def test_a_development_node_accepts_only_its_own_unsigned_events_and_only_when_told() -> None:
    dev = verifier(Snapshot(), ca_certificate=None, own_certificate=None, own_role="district",
                   allow_unsigned=True)
    assert dev.verify(envelope(source_node="stadt")) == Sender(
        "stadt", "stadt-hilden", "district", local=True)
    assert refusal(dev, envelope(source_node="kreis")) == "unsigned"
    assert refusal(verifier(), envelope(source_node="stadt")) == "unsigned"
