"""The backup file's encryption (kimctl/backup/archive.py): what goes in comes out with the
passphrase, and a wrong passphrase or any changed, missing or added byte is refused with a
German reason before anything is used; a restore from such a file writes nothing."""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
from pathlib import Path

import pytest

from kimctl.backup import archive
from kimctl.backup.archive import ArchiveError
from kimctl.backup.node import BackupError, restore

PASSPHRASE = "richtig langes Kennwort"
#: Cheap scrypt for tests (the real cost is archive.SCRYPT).
FAST = {"n": 1 << 10, "r": 8, "p": 1}


def encrypted(plain: bytes, passphrase: str = PASSPHRASE) -> bytes:
    out = io.BytesIO()
    writer = archive.EncryptingWriter(out, passphrase, "knoten-a", "2026-12-03T18:00:00+00:00", kdf=FAST)
    writer.write(plain)
    writer.close()
    return out.getvalue()


def decrypted(data: bytes, passphrase: str = PASSPHRASE) -> bytes:
    sink = io.BytesIO()
    archive.decrypt(io.BytesIO(data), passphrase, sink)
    return sink.getvalue()


def body_start(data: bytes) -> int:
    return data.index(b"\n", len(archive.MAGIC)) + 1


SIZES = [0, 1, archive.CHUNK_SIZE, archive.CHUNK_SIZE + 1, 3 * archive.CHUNK_SIZE + 7]


@pytest.mark.parametrize("size", SIZES)
def test_what_goes_in_comes_out(size: int) -> None:
    plain = os.urandom(size)
    data = encrypted(plain)
    assert decrypted(data) == plain
    if size >= 64:  # no plain text in the file
        assert plain[:64] not in data


def test_the_header_names_node_time_format_and_kdf_without_the_passphrase() -> None:
    header = archive.read_header(io.BytesIO(encrypted(b"x")))
    assert (header.node, header.created_at, header.format) == ("knoten-a", "2026-12-03T18:00:00+00:00", 1)
    assert header.kdf == FAST and len(header.salt) == 16


def test_each_file_has_its_own_salt_and_key() -> None:
    first, second = encrypted(b"same"), encrypted(b"same")
    assert archive.read_header(io.BytesIO(first)).salt != archive.read_header(io.BytesIO(second)).salt
    assert first[body_start(first):] != second[body_start(second):]


def test_a_wrong_passphrase_is_told_as_such() -> None:
    with pytest.raises(ArchiveError, match="Das Kennwort passt nicht zu dieser Sicherung"):
        decrypted(encrypted(b"geheim"), "ein anderes Kennwort")


def test_a_short_passphrase_is_refused() -> None:
    with pytest.raises(ArchiveError, match="mindestens 12 Zeichen"):
        encrypted(b"x", "kurz")


def test_every_flipped_byte_of_the_body_is_found() -> None:
    data = encrypted(os.urandom(archive.CHUNK_SIZE * 2 + 100))
    start = body_start(data)
    second = start + archive.CHUNK_SIZE + 30
    for position in (start, start + 3, start + 4, start + 500, second, len(data) - 1):
        changed = bytearray(data)
        changed[position] ^= 0x01
        with pytest.raises(ArchiveError, match=r"verändert|beschädigt|abgeschnitten"):
            decrypted(bytes(changed))


def test_a_changed_header_is_found() -> None:
    data = encrypted(b"inhalt")
    changed = data.replace(b'"node":"knoten-a"', b'"node":"knoten-b"')
    assert changed != data
    with pytest.raises(ArchiveError, match="verändert"):
        decrypted(changed)


def frames(data: bytes) -> list[bytes]:
    found, offset = [], body_start(data)
    while offset < len(data):
        size = int.from_bytes(data[offset:offset + 4], "big")
        found.append(data[offset:offset + 4 + size])
        offset += 4 + size
    return found


def test_a_file_cut_off_after_a_chunk_is_found() -> None:
    data = encrypted(os.urandom(archive.CHUNK_SIZE * 2 + 5))
    head, parts = data[:body_start(data)], frames(data)
    assert len(parts) == 3
    with pytest.raises(ArchiveError, match="letzter Block"):
        decrypted(head + b"".join(parts[:2]))
    with pytest.raises(ArchiveError, match="keine Daten"):
        decrypted(head)


def test_reordered_or_appended_chunks_are_found() -> None:
    data = encrypted(os.urandom(archive.CHUNK_SIZE * 2 + 5))
    head, parts = data[:body_start(data)], frames(data)
    with pytest.raises(ArchiveError, match="Block 1"):
        decrypted(head + parts[1] + parts[0] + parts[2])
    with pytest.raises(ArchiveError, match="verändert"):
        decrypted(head + b"".join(parts) + parts[0])


def test_a_file_that_is_no_backup_is_told_so() -> None:
    with pytest.raises(ArchiveError, match="keine KIM-Netz-Sicherung"):
        decrypted(b"PK\x03\x04 a zip file")


# --- restore refuses before it writes anything ------------------------------------------------

def backup_file(path: Path, members: dict[str, bytes], manifest: dict[str, object]) -> Path:
    stream = io.BytesIO()
    with tarfile.open(fileobj=stream, mode="w") as tar:
        for name, data in [*members.items(), ("manifest.json", json.dumps(manifest).encode())]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    with path.open("wb") as out:
        writer = archive.EncryptingWriter(out, PASSPHRASE, "knoten-a", "2026-12-03T18:00:00+00:00", kdf=FAST)
        writer.write(stream.getvalue())
        writer.close()
    return path


def small_backup(path: Path, *, wrong_checksum: bool = False) -> Path:
    env = b"KIM_NODE_ID=knoten-a\n"
    digest = hashlib.sha256(env).hexdigest()
    return backup_file(path, {"config/node.env": env}, {
        "format": 1, "node": "knoten-a", "cut": "2026-12-03T18:00:00+00:00", "node_dir": "/alt/knoten-a",
        "files": {"config/node.env": "0" * 64 if wrong_checksum else digest}, "external": {},
        "databases": {}})


@pytest.fixture
def fresh_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("KIM_HOME", str(home))
    # Nothing may reach a database: a restore that got that far would fail on this address.
    monkeypatch.setenv("MONGODB_URI", "mongodb://127.0.0.1:9/")
    return home


def test_restore_with_a_wrong_passphrase_writes_nothing(tmp_path: Path, fresh_home: Path) -> None:
    path = small_backup(tmp_path / "a.kimbackup")
    with pytest.raises(BackupError, match="Das Kennwort passt nicht"):
        restore(path, "falsches Kennwort!!")
    assert not fresh_home.exists()


def test_restore_of_a_flipped_byte_writes_nothing(tmp_path: Path, fresh_home: Path) -> None:
    path = small_backup(tmp_path / "a.kimbackup")
    data = bytearray(path.read_bytes())
    data[-20] ^= 0x80
    path.write_bytes(bytes(data))
    with pytest.raises(BackupError, match=r"verändert oder ist unvollständig.*nichts wurde wieder"):
        restore(path, PASSPHRASE)
    assert not fresh_home.exists()


def test_restore_of_a_part_whose_checksum_differs_writes_nothing(tmp_path: Path, fresh_home: Path) -> None:
    path = small_backup(tmp_path / "a.kimbackup", wrong_checksum=True)
    with pytest.raises(BackupError, match=r"Prüfsumme von config/node\.env stimmt nicht"):
        restore(path, PASSPHRASE)
    assert not fresh_home.exists()
