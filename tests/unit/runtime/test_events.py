import pytest

from kim.node.v1.probe_pb2 import ProbeRequested
from kimnetz.runtime import events


def test_envelope_round_trips_through_the_registered_kombu_serializer() -> None:
    import kombu.serialization

    message = ProbeRequested(probe_id="p-1", requested_by="test")
    envelope = events.pack(message, source_service="node", source_node="kreis")
    content_type, encoding, body = kombu.serialization.dumps(envelope, serializer=events.SERIALIZER)
    assert content_type == events.CONTENT_TYPE
    decoded = kombu.serialization.loads(body, content_type, encoding, accept=[events.CONTENT_TYPE])
    assert decoded.id == envelope.id
    assert decoded.type == "kim.node.v1.ProbeRequested"
    assert events.unpack(decoded) == message


def test_every_envelope_gets_its_own_id_and_the_routing_facts() -> None:
    message = ProbeRequested(probe_id="p-1")
    first = events.pack(message, source_service="case", source_node="caritas")
    second = events.pack(message, source_service="case", source_node="caritas")
    assert first.id != second.id
    assert first.source_service == "case" and first.source_node == "caritas"
    assert first.occurred_at.seconds > 0
    assert events.exchange_name("case") == "case.events"


def test_unpacking_a_payload_of_another_type_fails_loudly() -> None:
    envelope = events.pack(ProbeRequested(probe_id="x"), source_service="node", source_node="n")
    envelope.type = "kim.common.v1.EventEnvelope"
    with pytest.raises(ValueError, match="payload is not"):
        events.unpack(envelope)
