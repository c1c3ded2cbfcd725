"""mongoengine through the project's connection code on the real MongoDB-wire server, and a
unique-index violation answered ALREADY_EXISTS by a real gRPC server of the runtime."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import grpc
import pytest
from mongoengine import Document, IntField, StringField

from kimnetz.runtime.grpc_server import Registration, build_server
from kimnetz.runtime.settings import Settings


class Partner(Document):
    meta = {"db_alias": "case", "collection": "test_partners",
            "indexes": [{"fields": ["name"], "unique": True}]}
    name = StringField(required=True)
    fte_tenths = IntField(required=True)


def test_document_is_written_and_read_back(connected: Settings) -> None:
    name = f"Katholische Jugendagentur {uuid.uuid4().hex[:6]} – Burscheid <Träger>"
    Partner(name=name, fte_tenths=10).save()
    found = Partner.objects.get(name=name)
    assert (found.name, found.fte_tenths) == (name, 10)


@pytest.fixture
def insert_server(connected: Settings) -> Iterator[str]:
    """A real gRPC server of the runtime with one method that inserts a Partner by name."""

    def insert(request: bytes, context: grpc.ServicerContext) -> bytes:
        Partner(name=request.decode(), fte_tenths=5).save()
        return b"ok"

    def add(server: grpc.Server) -> None:
        handler = grpc.method_handlers_generic_handler(
            "test.Partners", {"Insert": grpc.unary_unary_rpc_method_handler(insert)}
        )
        server.add_generic_rpc_handlers((handler,))

    server, port, _ = build_server([Registration("test", add)], address="127.0.0.1:0", validator=None)
    server.start()
    yield f"127.0.0.1:{port}"
    server.stop(None)


def test_unique_index_violation_is_answered_already_exists(insert_server: str) -> None:
    name = f"Stadt Bergisch Gladbach {uuid.uuid4().hex[:6]}"
    with grpc.insecure_channel(insert_server) as channel:
        insert = channel.unary_unary("/test.Partners/Insert")
        assert insert(name.encode(), timeout=10) == b"ok"
        with pytest.raises(grpc.RpcError) as raised:
            insert(name.encode(), timeout=10)
    assert raised.value.code() == grpc.StatusCode.ALREADY_EXISTS
    assert "existiert bereits" in raised.value.details()
    assert Partner.objects(name=name).count() == 1
