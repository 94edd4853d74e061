"""fileio: the one streamed digest and the one atomic write every stage uses."""

from __future__ import annotations

import hashlib

import pytest

from osintkit.fileio import CHUNK, atomic_open, atomic_write, digests, file_hashes, sha256_file


def test_digests_size_and_head_over_several_chunks(tmp_path):
    data = bytes(range(256)) * (CHUNK // 256 * 2 + 7)
    path = tmp_path / "blob.bin"
    path.write_bytes(data)
    got = digests(path, ("sha256", "md5", "sha1"), head=64)
    assert got.size == len(data) and got.head == data[:64]
    assert got.hex["sha1"] == hashlib.sha1(data).hexdigest()
    assert sha256_file(path) == hashlib.sha256(data).hexdigest() == got.sha256
    assert file_hashes(path) == {"sha256": got.sha256, "md5": got.md5, "size": len(data)}


def test_unreadable_file_raises_oserror(tmp_path):
    with pytest.raises(OSError):
        digests(tmp_path / "missing.bin")


def test_atomic_write_replaces_and_a_failed_write_leaves_the_old_file(tmp_path):
    path = tmp_path / "report.json"
    atomic_write(path, "first")
    atomic_write(path, b"second")
    assert path.read_bytes() == b"second"
    with pytest.raises(RuntimeError), atomic_open(path) as fh:
        fh.write(b"half")
        raise RuntimeError("killed mid-write")
    assert path.read_bytes() == b"second"
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]  # no temp file left
