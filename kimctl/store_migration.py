"""Moving a local store from one FerretDB backend to the other (`scripts/infra.sh migrate-store
sqlite|postgresql`, docs/operations.md "The store's backend").

Every database of the source (FerretDB or MongoDB, whatever answers the wire protocol) is
copied to the target with its collections, documents and declared indexes; then the copy is
verified: every collection has the same number of documents and the same documents by `_id`,
and every case service's audit chain (`kim_<node>_case.audit`) verifies on the target as it
does on the source. A target that already holds any of the databases is refused: a migration
never mixes two stores. The source is only read.

    python -m kimctl.store_migration SOURCE_URI TARGET_URI

Only the few calls below are used on both clients, so the unit tests run the copy and its
checks on an in-memory store (tests/support/fakes/store.py).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

SYSTEM_DATABASES = frozenset({"admin", "local", "config"})
BATCH = 1000


class Collection(Protocol):
    def find(self, filter: Mapping[str, Any]) -> Iterable[dict[str, Any]]: ...
    def insert_many(self, documents: list[dict[str, Any]], ordered: bool = ...) -> Any: ...
    def count_documents(self, filter: Mapping[str, Any]) -> int: ...
    def index_information(self) -> Mapping[str, Any]: ...
    def create_index(self, keys: list[tuple[str, Any]], **options: Any) -> Any: ...


class Database(Protocol):
    def list_collection_names(self) -> list[str]: ...
    def __getitem__(self, name: str) -> Collection: ...


class Client(Protocol):
    def list_database_names(self) -> list[str]: ...
    def __getitem__(self, name: str) -> Database: ...


class MigrationError(Exception):
    """The copy was refused or does not match its source; the source is untouched."""


@dataclass
class Report:
    #: "database.collection" -> documents copied
    copied: dict[str, int] = field(default_factory=dict)
    #: database -> the audit chain's check on the target (broken only where the source's is)
    chains: dict[str, Any] = field(default_factory=dict)

    def lines(self) -> Iterator[str]:
        for name, count in sorted(self.copied.items()):
            yield f"{name}: {count} documents"
        for database, chain in sorted(self.chains.items()):
            yield (f"{database}: audit chain of {chain.checked} entries verified" if chain.intact else
                   f"{database}: audit chain broken at {chain.first_broken_sequence} in the source already "
                   f"({chain.reason}); copied as it is")


def databases(client: Client) -> list[str]:
    return sorted(n for n in client.list_database_names() if n not in SYSTEM_DATABASES)


def copy_store(source: Client, target: Client) -> Report:
    """Copy every database, then verify it (`verify`); raises MigrationError on any difference."""
    names = databases(source)
    taken = sorted(set(names) & set(databases(target)))
    if taken:
        raise MigrationError(f"the target already holds {', '.join(taken)}; a migration goes into an "
                             "empty store only")
    report = Report()
    for name in names:
        for collection in sorted(source[name].list_collection_names()):
            report.copied[f"{name}.{collection}"] = _copy_collection(source[name][collection],
                                                                     target[name][collection])
    report.chains = verify(source, target)
    return report


def _copy_collection(source: Collection, target: Collection) -> int:
    for index, spec in source.index_information().items():
        if index == "_id_":
            continue
        options = {k: v for k, v in spec.items() if k in ("unique", "sparse", "expireAfterSeconds")}
        target.create_index(list(spec["key"]), name=index, **options)
    count, batch = 0, []
    for document in source.find({}):
        batch.append(document)
        if len(batch) == BATCH:
            target.insert_many(batch, ordered=True)
            count, batch = count + len(batch), []
    if batch:
        target.insert_many(batch, ordered=True)
        count += len(batch)
    return count


def verify(source: Client, target: Client) -> dict[str, Any]:
    """Same databases, collections, counts and documents (by `_id`) on both; every audit chain
    that verifies on the source verifies on the target. Returns each chain's check (a
    `ChainVerification`) on the target."""
    names = databases(source)
    if databases(target) != names:
        raise MigrationError(f"databases differ: source {names}, target {databases(target)}")
    chains: dict[str, Any] = {}
    for name in names:
        collections = sorted(source[name].list_collection_names())
        if sorted(target[name].list_collection_names()) != collections:
            raise MigrationError(f"{name}: the collections differ")
        for collection in collections:
            _same_documents(f"{name}.{collection}", source[name][collection], target[name][collection])
        if name.endswith("_case") and "audit" in collections:
            before, after = audit_chain(source[name]["audit"]), audit_chain(target[name]["audit"])
            if before.intact and not after.intact:
                raise MigrationError(f"{name}: the audit chain breaks at {after.first_broken_sequence} "
                                     f"on the target ({after.reason})")
            chains[name] = after
    return chains


def _same_documents(where: str, source: Collection, target: Collection) -> None:
    expected, found = source.count_documents({}), target.count_documents({})
    if expected != found:
        raise MigrationError(f"{where}: {expected} documents in the source, {found} in the target")
    copied = {_key(d["_id"]): d for d in target.find({})}
    for document in source.find({}):
        if copied.get(_key(document["_id"])) != document:
            raise MigrationError(f"{where}: document {document['_id']!r} differs in the target")


def _key(value: Any) -> tuple[str, str]:
    """An `_id` as a dictionary key (ids of different types never collide)."""
    return type(value).__name__, repr(value)


def audit_chain(collection: Collection) -> Any:
    """The case service's own chain check (services/case/domain/audit.py) over the stored
    entries in order of their sequence (documents without a hash, such as a head, are skipped)."""
    from kimctl.backup.cut import chain_sequence
    from services.case.codec import from_primitive
    from services.case.domain.audit import AuditEntry, verify_chain

    fields = ("occurred_at", "actor_subject", "actor_org", "actor_roles", "case_id", "call", "purpose",
              "allowed", "detail", "actor_node", "previous_hash", "entry_hash")
    # The sequence is a field since the trail is kept by text `_id` (services/case/audit_trail.py);
    # a trail of the first format has it as `_id`.
    numbered = [(chain_sequence(d), d) for d in collection.find({}) if "entry_hash" in d]
    stored = sorted(((n, d) for n, d in numbered if n is not None), key=lambda pair: pair[0])
    entries = [from_primitive(AuditEntry, {"sequence": n, **{k: d[k] for k in fields if k in d}})
               for n, d in stored]
    return verify_chain(entries)


def main(argv: list[str] | None = None) -> int:
    from pymongo import MongoClient

    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m kimctl.store_migration SOURCE_URI TARGET_URI", file=sys.stderr)
        return 2
    options: dict[str, Any] = {"tz_aware": True, "uuidRepresentation": "standard"}
    with MongoClient(args[0], **options) as source, MongoClient(args[1], **options) as target:
        try:
            report = copy_store(source, target)
        except MigrationError as error:
            print(f"migration refused: {error}", file=sys.stderr)
            return 1
    for line in report.lines():
        print(line)
    intact = sum(1 for chain in report.chains.values() if chain.intact)
    print(f"{len(report.copied)} collections copied and verified; {intact} of {len(report.chains)} audit "
          "chains intact")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
