"""Secrets (private keys, the node's client secret) are written readable by the owner only from
the first byte: a new 0600 file renamed over the old one, never an old file with wider rights
rewritten and restricted afterwards (issue 12, smaller findings)."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from kimctl.nodes import _write_private
from kimnetz.runtime.pki import DevCertificateAuthority, save_node_credentials, write_private


@pytest.fixture
def open_umask() -> Iterator[None]:
    """The most careless umask: new files would be world-readable unless created 0600."""
    previous = os.umask(0)
    yield
    os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_secret_is_0600(tmp_path: Path, open_umask: None) -> None:
    write_private(tmp_path / "node.key", b"geheim")
    assert mode(tmp_path / "node.key") == 0o600
    assert (tmp_path / "node.key").read_bytes() == b"geheim"
    assert os.listdir(tmp_path) == ["node.key"], "no temporary file is left"


def test_an_existing_world_readable_file_is_replaced_not_rewritten(tmp_path: Path, open_umask: None) -> None:
    path = tmp_path / "secret"
    path.write_text("alt")
    path.chmod(0o644)
    old_inode = path.stat().st_ino
    _write_private(path, "neu")
    # A new inode: the secret never sat in the old, world-readable file.
    assert (mode(path), path.read_text(), path.stat().st_ino != old_inode) == (0o600, "neu", True)


def test_keys_of_the_ca_and_of_nodes_are_0600(tmp_path: Path, open_umask: None) -> None:
    ca = DevCertificateAuthority.create()
    ca.save(tmp_path / "ca")
    save_node_credentials(ca.issue("stadt-hilden"), tmp_path / "node")
    assert mode(tmp_path / "ca" / "ca.key") == 0o600
    assert mode(tmp_path / "node" / "node.key") == 0o600
    assert DevCertificateAuthority.load(tmp_path / "ca").ca_pem == ca.ca_pem
