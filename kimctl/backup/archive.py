"""The backup file: a tar stream of the node's parts, encrypted and authenticated in chunks.

Layout (format 1):

    KIMNETZ-BACKUP\\n
    <header: one line of JSON>\\n        format, node, time, cipher, the scrypt parameters and
                                         salt, a check value of the key (below)
    frame*                               4 bytes big-endian length, then one AES-256-GCM
                                         ciphertext (with its 16-byte tag) of at most
                                         CHUNK_SIZE bytes of the tar stream

Key: scrypt(passphrase, salt, n=2^15, r=8, p=1) gives 64 bytes: the first 32 are the AES key,
the SHA-256 of the other 32 is the header's `key_check`, so a wrong passphrase is told apart
from a changed file before anything is decrypted. Chunk i is encrypted with the nonce
i (12 bytes big-endian; the key is new with every file's salt, so a nonce never repeats under a
key) and as associated data the header's bytes, i and whether it is the last chunk. So a
changed header, a changed, removed, reordered or appended chunk, and a file cut off after any
chunk all fail authentication (the chunk that ends the file must say it is the last).

Nothing of the tar stream is used before every chunk is verified: `decrypt` writes the whole
stream to a file of the caller and raises `ArchiveError` (German, for operators) at the first
chunk that does not verify.

Why AES-GCM in chunks over Fernet: Fernet takes a message at once (a node's GridFS does not fit
in memory) and base64 grows the file by a third; GCM chunks stream with a constant memory.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

MAGIC = b"KIMNETZ-BACKUP\n"
FORMAT = 1
CIPHER = "AES-256-GCM"
CHUNK_SIZE = 1 << 20
TAG = 16
#: scrypt's cost: about 0.1 s and 32 MiB on a laptop per try, so guessing a passphrase is slow.
SCRYPT = {"n": 1 << 15, "r": 8, "p": 1}
MIN_PASSPHRASE = 12
_MAX_HEADER = 64 * 1024


class ArchiveError(Exception):
    """A backup file that cannot be read as it is; the message says why (German)."""


@dataclass(frozen=True)
class Header:
    node: str
    created_at: str
    salt: bytes
    key_check: str
    kdf: dict[str, int]
    format: int = FORMAT

    def as_bytes(self) -> bytes:
        return json.dumps({
            "format": self.format, "node": self.node, "created_at": self.created_at,
            "cipher": CIPHER, "chunk_size": CHUNK_SIZE,
            "kdf": {"name": "scrypt", **self.kdf, "salt": base64.b64encode(self.salt).decode()},
            "key_check": self.key_check,
        }, sort_keys=True, separators=(",", ":")).encode() + b"\n"

    @classmethod
    def parse(cls, line: bytes) -> Header:
        try:
            data: dict[str, Any] = json.loads(line)
            kdf = dict(data["kdf"])
            if kdf.pop("name") != "scrypt" or data["cipher"] != CIPHER:
                raise ValueError("cipher")
            salt = base64.b64decode(kdf.pop("salt"))
            header = cls(node=str(data["node"]), created_at=str(data["created_at"]), salt=salt,
                         key_check=str(data["key_check"]),
                         kdf={k: int(kdf[k]) for k in ("n", "r", "p")}, format=int(data["format"]))
        except (ValueError, KeyError, TypeError) as error:
            raise ArchiveError("Die Datei ist keine lesbare KIM-Netz-Sicherung "
                               "(Kopfzeile beschädigt).") from error
        if header.format != FORMAT:
            raise ArchiveError(f"Die Sicherung hat das Format {header.format}; diese Version "
                               f"liest Format {FORMAT}.")
        if header.as_bytes() != line:
            raise ArchiveError("Die Kopfzeile der Sicherung wurde verändert.")
        return header


def check_passphrase(passphrase: str) -> None:
    if len(passphrase) < MIN_PASSPHRASE:
        raise ArchiveError(f"Das Kennwort der Sicherung muss mindestens {MIN_PASSPHRASE} "
                           "Zeichen lang sein.")


def _derive(passphrase: str, salt: bytes, kdf: dict[str, int]) -> tuple[bytes, str]:
    material = Scrypt(salt=salt, length=64, n=kdf["n"], r=kdf["r"], p=kdf["p"]).derive(
        passphrase.encode("utf-8"))
    return material[:32], hashlib.sha256(material[32:]).hexdigest()


def _associated(header: bytes, index: int, last: bool) -> bytes:
    return MAGIC + header + struct.pack(">QB", index, 1 if last else 0)


def _nonce(index: int) -> bytes:
    return index.to_bytes(12, "big")


class EncryptingWriter:
    """A file-like sink for the tar stream: buffers CHUNK_SIZE bytes, writes each chunk as a
    frame to `out`; `close()` writes the last chunk (possibly empty) marked as last."""

    def __init__(self, out: IO[bytes], passphrase: str, node: str, created_at: str,
                 kdf: dict[str, int] | None = None) -> None:
        check_passphrase(passphrase)
        kdf = dict(kdf or SCRYPT)
        salt = os.urandom(16)
        key, key_check = _derive(passphrase, salt, kdf)
        self.header = Header(node=node, created_at=created_at, salt=salt, key_check=key_check,
                             kdf=kdf).as_bytes()
        self._aead = AESGCM(key)
        self._out = out
        self._buffer = bytearray()
        self._index = 0
        self._closed = False
        out.write(MAGIC + self.header)

    def write(self, data: bytes) -> int:
        self._buffer += data
        while len(self._buffer) > CHUNK_SIZE:  # keep at least one byte for the last chunk
            self._frame(bytes(self._buffer[:CHUNK_SIZE]), last=False)
            del self._buffer[:CHUNK_SIZE]
        return len(data)

    def _frame(self, plain: bytes, *, last: bool) -> None:
        sealed = self._aead.encrypt(_nonce(self._index), plain,
                                    _associated(self.header, self._index, last))
        self._out.write(struct.pack(">I", len(sealed)) + sealed)
        self._index += 1

    def flush(self) -> None:
        self._out.flush()

    def close(self) -> None:
        if not self._closed:
            self._frame(bytes(self._buffer), last=True)
            self._buffer.clear()
            self._closed = True
            self._out.flush()


def read_header(source: IO[bytes]) -> Header:
    """The header of a backup file (readable without the passphrase: node and time)."""
    if source.read(len(MAGIC)) != MAGIC:
        raise ArchiveError("Die Datei ist keine KIM-Netz-Sicherung.")
    line = source.readline(_MAX_HEADER)
    if not line.endswith(b"\n"):
        raise ArchiveError("Die Datei ist keine lesbare KIM-Netz-Sicherung (Kopfzeile fehlt).")
    return Header.parse(line)


def decrypt(source: IO[bytes], passphrase: str, sink: IO[bytes],
            progress: Callable[[int], None] | None = None) -> Header:
    """Verify and decrypt the whole file into `sink`; `progress` gets the bytes read per chunk.
    Raises ArchiveError at a wrong passphrase or at the first chunk that does not verify (the
    sink then holds an unverified part: the caller discards it)."""
    header = read_header(source)
    line = header.as_bytes()
    key, key_check = _derive(passphrase, header.salt, header.kdf)
    if key_check != header.key_check:
        raise ArchiveError("Das Kennwort passt nicht zu dieser Sicherung.")
    aead = AESGCM(key)
    index = 0
    pending = _read_frame(source, index)
    if pending is None:
        raise ArchiveError("Die Sicherung ist unvollständig: sie enthält keine Daten.")
    while pending is not None:
        following = _read_frame(source, index + 1)
        last = following is None
        try:
            sink.write(aead.decrypt(_nonce(index), pending, _associated(line, index, last)))
        except InvalidTag:
            where = "letzter Block" if last else f"Block {index + 1}"
            raise ArchiveError(
                f"Die Sicherung wurde verändert oder ist unvollständig ({where} lässt sich nicht "
                "bestätigen); nichts wurde wiederhergestellt.") from None
        if progress is not None:
            progress(len(pending) + 4)
        pending, index = following, index + 1
    return header


def _read_frame(source: IO[bytes], index: int) -> bytes | None:
    size = source.read(4)
    if not size:
        return None
    if len(size) < 4:
        raise ArchiveError(f"Die Sicherung ist abgeschnitten (Block {index + 1}).")
    (length,) = struct.unpack(">I", size)
    if length < TAG or length > CHUNK_SIZE + TAG:
        raise ArchiveError(f"Die Sicherung ist beschädigt (Block {index + 1} hat eine "
                           "unmögliche Länge).")
    sealed = source.read(length)
    if len(sealed) != length:
        raise ArchiveError(f"Die Sicherung ist abgeschnitten (Block {index + 1}).")
    return sealed
