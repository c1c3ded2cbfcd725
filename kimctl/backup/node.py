"""A node's backup: what it holds, how it is taken while the node runs, how it comes back.

The archive (kimctl/backup/archive.py) holds a tar stream of

    config/<path>              the node's folder under KIM_HOME (node.env, amqp-uri, tls/ with
                               its key and certificates, client and portal secrets), without
                               pid and log files
    external/<SETTING>/<name>  files node.env names outside that folder (the federation file,
                               a TLS folder of the operator's), put into the node's folder on
                               restore and node.env pointed there
    db/<kind>/<collection>.bson      the documents (BSON one after the other, as mongodump)
    db/<kind>/<collection>.indexes.json
    manifest.json              format, node, time, cut, every part's count and SHA-256, the
                               audit chain's verification (last in the stream)

`kind` is each service (case, conference, documents, identity) and `node` (the node's own
database: probes, data versions, dead letters, directory snapshot, event digests). Stored
documents are GridFS in the documents database (`files.files`, `files.chunks`), so they are
in the copy of that database. The portal's login sessions are not backed up: a token must not
outlive its session, after a restore people log in again.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import tarfile
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import bson
from bson.codec_options import CodecOptions
from bson.raw_bson import RawBSONDocument
from pymongo import MongoClient

from kimctl import nodes
from kimctl.backup import archive, cut
from kimnetz.runtime.settings import SERVICES, Settings

FORMAT = archive.FORMAT
#: The databases of a node, by kind ('<prefix>_<node>_<kind>'); the portal's sessions are not.
KINDS = (*SERVICES, "node")
#: Files of the node's folder that are not its configuration.
SKIPPED_SUFFIXES = (".pid", ".log", ".tmp", ".part")
#: node.env settings that name files or folders (kept and pointed anew on restore).
PATH_SETTINGS_SUFFIXES = ("_FILE", "_DIR")
_RAW = CodecOptions(document_class=RawBSONDocument, tz_aware=True)
_BATCH = 500

Progress = Callable[[str, int, int], None]
"""(what, done, total): the command line shows it as a bar; total 0 when not known."""


class BackupError(Exception):
    """A backup or restore that cannot go on; the message says why (German, for operators)."""


@dataclass
class Report:
    node: str
    path: Path
    created_at: str
    cut: str
    online: bool
    counts: dict[str, int]  # "<kind>.<collection>" -> documents
    dropped: dict[str, int]  # left out at the cut (written after it, half visible)
    audit: dict[str, Any]
    files: list[str]
    warnings: list[str] = field(default_factory=list)


def _client(settings: Settings) -> MongoClient[RawBSONDocument]:
    return MongoClient(settings.mongodb_uri, serverSelectionTimeoutMS=10_000,
                       document_class=RawBSONDocument, tz_aware=True)


def _running(node_id: str) -> list[str]:
    return [role for role in nodes.PROCESSES if nodes._pid(node_id, role)]


# --- backup ------------------------------------------------------------------------------------

def backup(node_id: str, target: Path, passphrase: str, progress: Progress | None = None) -> Report:
    """Write the node's backup to `target` (first to `<target>.part`, renamed when complete)."""
    archive.check_passphrase(passphrase)
    home = nodes.node_dir(node_id)
    if not (home / "node.env").exists():
        raise BackupError(f"Der Knoten {node_id} ist hier nicht eingerichtet ({home / 'node.env'} fehlt).")
    settings = nodes.node_settings(node_id)
    env = nodes.read_env_file(home / "node.env")
    online = bool(_running(node_id))
    created = datetime.now(UTC)
    # The cut: every write acknowledged before this moment is in the database before any
    # collection is read (kimctl/backup/cut.py).
    cut_at = datetime.now(UTC)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    manifest: dict[str, Any] = {
        "format": FORMAT, "node": node_id, "organization": settings.organization_id,
        "created_at": created.isoformat(), "cut": cut_at.isoformat(), "online": online,
        "node_dir": str(home), "databases": {}, "files": {}, "external": {},
    }
    report = Report(node_id, target, created.isoformat(), cut_at.isoformat(), online, {}, {}, {}, [])
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as out:
            sink = archive.EncryptingWriter(out, passphrase, node_id, created.isoformat())
            with tarfile.open(fileobj=sink, mode="w|") as tar:  # type: ignore[call-overload]
                _add_config(tar, home, env, manifest, report)
                with _client(settings) as client:
                    # A database per kind, asked by name: listDatabases sizes every database of
                    # the server on FerretDB (slow on a server shared by many nodes).
                    for kind in KINDS:
                        name = settings.database_name(kind)
                        if client[name].list_collection_names():
                            _add_database(tar, client, kind, name, manifest, report, progress)
                manifest["audit"] = report.audit
                _add_bytes(tar, "manifest.json", json.dumps(manifest, indent=1, sort_keys=True).encode())
            sink.close()
            out.flush()
            os.fsync(out.fileno())
        os.replace(partial, target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return report


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes, mode: int = 0o600) -> str:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), mode, int(datetime.now(UTC).timestamp())
    tar.addfile(info, io.BytesIO(data))
    return hashlib.sha256(data).hexdigest()


def _add_config(tar: tarfile.TarFile, home: Path, env: dict[str, str], manifest: dict[str, Any],
                report: Report) -> None:
    for path in sorted(home.rglob("*")):
        if not path.is_file() or path.name.endswith(SKIPPED_SUFFIXES) or path.name.startswith("."):
            continue
        relative = path.relative_to(home).as_posix()
        manifest["files"][f"config/{relative}"] = _add_bytes(
            tar, f"config/{relative}", path.read_bytes(), path.stat().st_mode & 0o777)
        report.files.append(f"config/{relative}")
    for key, value in sorted(env.items()):
        if not key.endswith(PATH_SETTINGS_SUFFIXES) or not value:
            continue
        path = Path(value)
        if not path.exists() or path.resolve().is_relative_to(home.resolve()):
            continue
        found = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
        manifest["external"][key] = {"path": value, "dir": path.is_dir()}
        for item in found:
            relative = item.name if path.is_file() else item.relative_to(path).as_posix()
            name = f"external/{key}/{relative}"
            manifest["files"][name] = _add_bytes(tar, name, item.read_bytes(), item.stat().st_mode & 0o777)
            report.files.append(name)


def _add_database(tar: tarfile.TarFile, client: MongoClient[RawBSONDocument], kind: str, name: str,
                  manifest: dict[str, Any], report: Report, progress: Progress | None) -> None:
    database = client.get_database(name, codec_options=_RAW)
    collections = [c for c in database.list_collection_names()
                   if not c.startswith("system.") and c not in cut.DERIVED.get(kind, ())]
    read: dict[str, list[RawBSONDocument]] = {}
    read_at: dict[str, str] = {}
    indexes: dict[str, list[dict[str, Any]]] = {}
    for collection in cut.read_order(kind, collections):
        read_at[collection] = datetime.now(UTC).isoformat()
        total = database[collection].estimated_document_count()
        documents: list[RawBSONDocument] = []
        for document in database[collection].find(batch_size=_BATCH):
            documents.append(document)
            if progress is not None and len(documents) % _BATCH == 0:
                progress(f"{kind}.{collection}", len(documents), total)
        if progress is not None:
            progress(f"{kind}.{collection}", len(documents), len(documents))
        read[collection] = documents
        indexes[collection] = _index_specs(database[collection].index_information())
    dropped = _apply_cut(kind, read)
    if kind in cut.AUDIT_CHAINS and cut.AUDIT_CHAINS[kind] in read:
        report.audit = verify_audit(read[cut.AUDIT_CHAINS[kind]])
    entry: dict[str, Any] = {"name": name, "collections": {}}
    for collection in collections:
        data = b"".join(document.raw for document in read[collection])
        digest = _add_bytes(tar, f"db/{kind}/{collection}.bson", data)
        _add_bytes(tar, f"db/{kind}/{collection}.indexes.json",
                   json.dumps(indexes[collection], sort_keys=True).encode())
        entry["collections"][collection] = {
            "count": len(read[collection]), "sha256": digest, "read_at": read_at[collection],
            "dropped_at_cut": dropped.get(collection, 0)}
        report.counts[f"{kind}.{collection}"] = len(read[collection])
        if dropped.get(collection):
            report.dropped[f"{kind}.{collection}"] = dropped[collection]
    manifest["databases"][kind] = entry


def _apply_cut(kind: str, read: dict[str, list[RawBSONDocument]]) -> dict[str, int]:
    """Trim what the copy saw of writes after the cut (kimctl/backup/cut.py); returns how many
    documents each collection lost. Views lagging behind their newest kept change are brought
    up to it here, as `VersionedStore.load` would on the first read after a restore."""
    dropped: dict[str, int] = {}
    for spec in cut.VERSIONED.get(kind, ()):
        if spec.changes not in read:
            continue
        views = read.get(spec.view, [])
        trimmed = cut.trim_versioned(spec, views, read[spec.changes])
        read[spec.changes] = trimmed.kept[spec.changes]
        dropped[spec.changes] = trimmed.dropped[spec.changes]
        repaired = dict(cut.view_repairs(spec, views, read[spec.changes]))
        if repaired:
            kept: list[RawBSONDocument] = []
            for view in views:
                change = repaired.pop(view[spec.view_key], None)
                kept.append(view if change is None else _repaired(view, spec, change))
            kept += [_repaired(None, spec, change) for change in repaired.values()]
            read[spec.view] = kept
    chain = cut.AUDIT_CHAINS.get(kind, "")
    if chain in read:
        entries, left = cut.trim_chain(read[chain])
        read[chain], dropped[chain] = entries + _audit_head(entries), left
    for collection in list(read):
        if collection.endswith(".files") and f"{collection[:-6]}.chunks" in read:
            chunks = f"{collection[:-6]}.chunks"
            whole = cut.complete_files(read[collection], read[chunks])
            read[collection], dropped[collection] = whole.kept["files"], whole.dropped["files"]
            read[chunks], dropped[chunks] = whole.kept["chunks"], whole.dropped["chunks"]
    return dropped


def _repaired(view: RawBSONDocument | None, spec: cut.Versioned, change: Any) -> RawBSONDocument:
    """The view at the change's version, as `VersionedStore.apply` writes it: the change's
    fields set, its None fields removed, every other field of the view kept."""
    fields = dict(bson.decode(change.raw)["fields"])
    document: dict[str, Any] = bson.decode(view.raw) if view is not None else {
        spec.view_key: change[spec.aggregate_field]}
    for name, value in fields.items():
        if value is None:
            document.pop(name, None)
        else:
            document[name] = value
    return RawBSONDocument(bson.encode(document))


def _index_specs(information: Mapping[str, Any]) -> list[dict[str, Any]]:
    specs = []
    for name, spec in sorted(information.items()):
        if name == "_id_":
            continue
        options = {k: v for k, v in spec.items() if k in ("unique", "sparse", "expireAfterSeconds")}
        specs.append({"name": name, "key": [[f, d] for f, d in spec["key"]], **options})
    return specs


def _audit_head(entries: list[RawBSONDocument]) -> list[RawBSONDocument]:
    """The trail's head for the kept tail, as the case service writes it (audit_trail.py)."""
    from services.case.audit_trail import HEAD

    if not entries:
        return []
    tail = {k: v for k, v in bson.decode(entries[-1].raw).items() if k != "_id"}
    return [RawBSONDocument(bson.encode({"_id": HEAD, "tail": tail}))]


def verify_audit(entries: list[Any]) -> dict[str, Any]:
    """The audit chain's verification (services/case/domain/audit.py) over stored entries (the
    trail's head, which is no entry, left aside)."""
    from services.case.codec import from_primitive
    from services.case.domain.audit import AuditEntry, verify_chain

    names = [f for f in AuditEntry.__dataclass_fields__ if f != "sequence"]
    decoded = []
    for entry in entries:
        stored = bson.decode(entry.raw) if isinstance(entry, RawBSONDocument) else dict(entry)
        if (sequence := cut.chain_sequence(stored)) is None:
            continue
        decoded.append(from_primitive(AuditEntry, {"sequence": sequence,
                                                   **{n: stored[n] for n in names if n in stored}}))
    result = verify_chain(sorted(decoded, key=lambda e: e.sequence))
    return {"entries": len(decoded), "intact": result.intact, "reason": result.reason,
            "head": decoded[-1].entry_hash if decoded and result.intact else ""}


# --- reading an archive ------------------------------------------------------------------------

@dataclass
class Opened:
    header: archive.Header
    manifest: dict[str, Any]
    folder: Path  # the verified tar stream, unpacked member by member on demand
    tar: tarfile.TarFile


@contextmanager
def opened(path: Path, passphrase: str, progress: Progress | None = None) -> Iterator[Opened]:
    """The archive decrypted and verified as a whole (every chunk, then every part's SHA-256
    against the manifest) into a private temporary folder, removed afterwards."""
    if not path.is_file():
        raise BackupError(f"Die Sicherung {path} gibt es nicht.")
    folder = Path(tempfile.mkdtemp(prefix="kim-restore-"))
    try:
        stream = folder / "backup.tar"
        total = path.stat().st_size
        done = 0

        def advance(size: int) -> None:
            nonlocal done
            done += size
            if progress is not None:
                progress("Entschlüsseln und prüfen", done, total)

        with path.open("rb") as source, stream.open("wb") as sink:
            try:
                header = archive.decrypt(source, passphrase, sink, advance)
            except archive.ArchiveError as error:
                raise BackupError(str(error)) from error
        with tarfile.open(stream, mode="r:") as tar:
            manifest = _verified_manifest(tar, header)
            yield Opened(header, manifest, folder, tar)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _verified_manifest(tar: tarfile.TarFile, header: archive.Header) -> dict[str, Any]:
    try:
        member = tar.extractfile("manifest.json")
        manifest: dict[str, Any] = json.loads(member.read()) if member else {}
    except (KeyError, ValueError) as error:
        raise BackupError("Die Sicherung enthält kein lesbares Verzeichnis ihres Inhalts.") from error
    if manifest.get("format") != FORMAT or manifest.get("node") != header.node:
        raise BackupError("Das Inhaltsverzeichnis der Sicherung passt nicht zu ihrer Kopfzeile.")
    expected = dict(manifest["files"])
    for kind, entry in manifest["databases"].items():
        for collection, described in entry["collections"].items():
            expected[f"db/{kind}/{collection}.bson"] = described["sha256"]
    for name, digest in expected.items():
        data = _member(tar, name)
        if hashlib.sha256(data).hexdigest() != digest:
            raise BackupError(f"Prüfsumme von {name} stimmt nicht; nichts wurde wiederhergestellt.")
    for kind, entry in manifest["databases"].items():
        for collection, described in entry["collections"].items():
            try:
                count = len(raw_documents(_member(tar, f"db/{kind}/{collection}.bson")))
            except ValueError as error:
                raise BackupError(f"{kind}.{collection} ist kein lesbares BSON.") from error
            if count != described["count"]:
                raise BackupError(f"{kind}.{collection}: {count} Dokumente statt "
                                  f"{described['count']} laut Inhaltsverzeichnis.")
    return manifest


def raw_documents(data: bytes) -> list[RawBSONDocument]:
    """The documents of a part (BSON one after the other), undecoded."""
    documents, offset = [], 0
    while offset < len(data):
        size = int.from_bytes(data[offset:offset + 4], "little")
        if size < 5 or offset + size > len(data):
            raise ValueError("truncated BSON")
        documents.append(RawBSONDocument(data[offset:offset + size]))
        offset += size
    return documents


def _member(tar: tarfile.TarFile, name: str) -> bytes:
    try:
        extracted = tar.extractfile(name)
    except KeyError:
        extracted = None
    if extracted is None:
        raise BackupError(f"Der Sicherung fehlt {name}; nichts wurde wiederhergestellt.")
    return extracted.read()


def read_manifest(path: Path, passphrase: str) -> dict[str, Any]:
    with opened(path, passphrase) as backup_file:
        return backup_file.manifest


# --- restore -----------------------------------------------------------------------------------

@dataclass
class Restored:
    node: str
    cut: str
    counts: dict[str, int]  # found in the databases after the restore
    expected: dict[str, int]  # as the manifest says
    audit: dict[str, Any]
    files: list[str]
    warnings: list[str] = field(default_factory=list)

    @property
    def counts_match(self) -> bool:
        return self.counts == self.expected


def restore(path: Path, passphrase: str, *, force: bool = False,
            progress: Progress | None = None) -> Restored:
    """Bring the node of the backup back here: its folder under KIM_HOME, its databases, its
    vhost and broker user; then count and verify what is stored. Nothing is written before the
    whole file verified; a node that has a folder or data here is replaced only with `force`
    (and never while its processes run)."""
    with opened(path, passphrase, progress) as backup_file:
        manifest = backup_file.manifest
        node_id = str(manifest["node"])
        home = nodes.node_dir(node_id)
        env = _restored_env(backup_file.tar, manifest, home)
        # Files the settings name do not exist here yet: the database and broker settings only.
        settings = nodes._settings_from({k: v for k, v in {**os.environ, **env}.items()
                                         if not k.endswith("_FILE")})
        with _client(settings) as client:
            occupied = _occupied(client, settings, home)
            if occupied and not force:
                raise BackupError(
                    f"Der Knoten {node_id} hat hier schon {', '.join(occupied)}; "
                    "`kim node restore --force` ersetzt sie durch die Sicherung.")
            if occupied:
                if running := _running(node_id):
                    raise BackupError(f"Der Knoten {node_id} läuft ({', '.join(running)}); "
                                      f"zuerst `kim node down {node_id}`.")
                for kind in (*KINDS, "portal"):
                    client.drop_database(settings.database_name(kind))
                shutil.rmtree(home, ignore_errors=True)
            files = _write_files(backup_file.tar, manifest, home, env)
            warnings = _restore_databases(backup_file.tar, client, settings, manifest, progress)
            _rebuild_derived(client, settings, manifest)
            counts, expected, audit = _check(client, settings, manifest)
        warnings += _ensure_broker(settings, env)
    return Restored(node_id, str(manifest["cut"]), counts, expected, audit, files, warnings)


def _occupied(client: MongoClient[RawBSONDocument], settings: Settings, home: Path) -> list[str]:
    found = []
    if home.exists() and any(home.iterdir()):
        found.append(f"einen Ordner ({home})")
    names = [settings.database_name(kind) for kind in KINDS]
    if any(any(client[name][c].estimated_document_count() for c in client[name].list_collection_names())
           for name in names):
        found.append("Daten in den Datenbanken")
    return found


def _restored_env(tar: tarfile.TarFile, manifest: dict[str, Any], home: Path) -> dict[str, str]:
    """node.env as it is to be here: paths into the old node folder point into the new one,
    settings that named files outside it point to their copies in `restored/<SETTING>`."""
    text = _member(tar, "config/node.env").decode("utf-8")
    old = str(manifest["node_dir"])
    values = {}
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    for key, value in values.items():
        if key in manifest["external"]:
            described = manifest["external"][key]
            place = home / "restored" / key
            values[key] = str(place if described["dir"] else place / Path(described["path"]).name)
        elif value == old or value.startswith(old + os.sep):
            values[key] = str(home) + value[len(old):]
    return values


def _write_files(tar: tarfile.TarFile, manifest: dict[str, Any], home: Path,
                 env: dict[str, str]) -> list[str]:
    from kimnetz.runtime.pki import write_private

    written = []
    for name in sorted(manifest["files"]):
        if name.startswith("config/"):
            relative = name[len("config/"):]
            place = home / relative
        else:
            _, key, relative = name.split("/", 2)
            place = home / "restored" / key / relative
        if ".." in Path(relative).parts or Path(relative).is_absolute():
            raise BackupError(f"Die Sicherung nennt einen unzulässigen Pfad: {name}")
        place.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        data = _member(tar, name)
        if name == "config/node.env":
            data = _env_text(data.decode("utf-8"), env).encode("utf-8")
        write_private(place, data)
        member = tar.getmember(name)
        if member.mode & 0o077:  # what was readable by others stays so (certificates)
            place.chmod(member.mode & 0o777)
        written.append(str(place))
    return written


def _env_text(original: str, env: dict[str, str]) -> str:
    lines = []
    for line in original.splitlines():
        key = line.partition("=")[0].strip()
        if line.strip() and not line.lstrip().startswith("#") and key in env:
            lines.append(f"{key}={env[key]}")
        else:
            lines.append(line)
    return "\n".join(lines) + "\n"


def _restore_databases(tar: tarfile.TarFile, client: MongoClient[RawBSONDocument], settings: Settings,
                       manifest: dict[str, Any], progress: Progress | None) -> list[str]:
    warnings = []
    for kind, entry in manifest["databases"].items():
        database = client[settings.database_name(kind)]
        for collection in entry["collections"]:
            target = database[collection]
            documents = raw_documents(_member(tar, f"db/{kind}/{collection}.bson"))
            if collection not in database.list_collection_names():
                database.create_collection(collection)  # kept even when empty
            for start in range(0, len(documents), _BATCH):
                target.insert_many(documents[start:start + _BATCH], ordered=True)
                if progress is not None:
                    progress(f"{kind}.{collection}", min(start + _BATCH, len(documents)), len(documents))
            if progress is not None and not documents:
                progress(f"{kind}.{collection}", 0, 0)
            specs = json.loads(_member(tar, f"db/{kind}/{collection}.indexes.json"))
            for spec in specs:
                options = {k: v for k, v in spec.items() if k not in ("name", "key")}
                try:
                    target.create_index([(f, d) for f, d in spec["key"]], name=spec["name"], **options)
                except Exception as error:  # the service makes its indexes again when it starts
                    warnings.append(f"Index {spec['name']} von {kind}.{collection} nicht angelegt: "
                                    f"{type(error).__name__}")
    return warnings


def _rebuild_derived(client: MongoClient[RawBSONDocument], settings: Settings,
                     manifest: dict[str, Any]) -> None:
    """The read models built anew from the restored cases (cut.DERIVED)."""
    from services.case.read_models import CaseReadModels

    if "case" in manifest["databases"]:
        CaseReadModels(client.get_database(settings.database_name("case"),
                                           codec_options=CodecOptions(tz_aware=True))).rebuild()


def _check(client: MongoClient[RawBSONDocument], settings: Settings,
           manifest: dict[str, Any]) -> tuple[dict[str, int], dict[str, int], dict[str, Any]]:
    counts, expected = {}, {}
    audit: dict[str, Any] = {}
    for kind, entry in manifest["databases"].items():
        database = client.get_database(settings.database_name(kind), codec_options=_RAW)
        for collection, described in entry["collections"].items():
            expected[f"{kind}.{collection}"] = int(described["count"])
            counts[f"{kind}.{collection}"] = database[collection].count_documents({})
        chain = cut.AUDIT_CHAINS.get(kind)
        if chain and chain in entry["collections"]:
            audit = verify_audit(list(database[chain].find()))
    return counts, expected, audit


def _ensure_broker(settings: Settings, env: dict[str, str]) -> list[str]:
    """The node's vhost and broker user as node.env names them (a new broker has neither; on
    the old one both are there and stay, with the queues that kept what peers sent). Only the
    node's own user (`kim node init` names it): the operator's administrator is never touched."""
    from kimnetz.runtime.broker_admin import BrokerAdmin, node_user, vhost_of

    uri = urlsplit(env.get("AMQP_URI", ""))
    user = unquote(uri.username or "")
    if user != node_user(settings.node_id):
        return ["node.env nennt keinen Broker-Benutzer des Knotens; Vhost und Benutzer "
                "bleiben, wie sie sind."]
    try:
        admin = BrokerAdmin.of(settings.rabbitmq_management_url, Settings().rabbitmq_admin)
        vhost = vhost_of(settings.amqp_uri)
        admin.ensure_vhost(vhost)
        admin.ensure_node_user(vhost, user, unquote(uri.password or ""))
    except Exception as error:
        return [f"Vhost und Broker-Benutzer nicht angelegt ({error}); "
                "`kim node init` mit denselben Angaben legt sie an."]
    return []
