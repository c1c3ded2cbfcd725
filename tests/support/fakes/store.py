"""An in-memory store with the few calls of pymongo's client that kimctl/store_migration.py
uses (list databases and collections, find all, insert_many, count, index information and
creation): the migration's copy and checks run on it in the unit tests; the integration test
tests/integration/runtime/test_store_migration.py runs them between two real FerretDBs."""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from typing import Any


class DuplicateKey(Exception):
    pass


class FakeCollection:
    def __init__(self) -> None:
        self.documents: dict[str, dict[str, Any]] = {}
        self.indexes: dict[str, dict[str, Any]] = {"_id_": {"key": [("_id", 1)]}}

    def find(self, filter: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
        assert not filter, "the fake finds everything only"
        return iter([copy.deepcopy(d) for d in self.documents.values()])

    def insert_many(self, documents: list[dict[str, Any]], ordered: bool = True) -> None:
        for document in documents:
            key = repr(document["_id"])
            if key in self.documents:
                raise DuplicateKey(key)
            self.documents[key] = copy.deepcopy(document)

    def count_documents(self, filter: Mapping[str, Any]) -> int:
        assert not filter
        return len(self.documents)

    def index_information(self) -> dict[str, Any]:
        return copy.deepcopy(self.indexes)

    def create_index(self, keys: list[tuple[str, Any]], **options: Any) -> str:
        name = str(options.pop("name", "_".join(f"{k}_{d}" for k, d in keys)))
        self.indexes[name] = {"key": list(keys), **options}
        return name


class FakeDatabase:
    def __init__(self, client: FakeClient, name: str) -> None:
        self.client, self.name = client, name
        self.collections: dict[str, FakeCollection] = {}

    def list_collection_names(self) -> list[str]:
        return list(self.collections)

    def __getitem__(self, name: str) -> FakeCollection:
        self.client.databases.setdefault(self.name, self)  # created by its first collection, as in MongoDB
        return self.collections.setdefault(name, FakeCollection())


class FakeClient:
    def __init__(self) -> None:
        self.databases: dict[str, FakeDatabase] = {}

    def list_database_names(self) -> list[str]:
        return [n for n, d in self.databases.items() if d.collections]

    def __getitem__(self, name: str) -> FakeDatabase:
        return self.databases.get(name) or FakeDatabase(self, name)
