"""Files, the one way we read and write them: streamed digests and atomic writes.

Below every stage (it imports nothing of osintkit): the evidence store, the archive,
reports and batches all hash files with `digests` and write with `atomic_write`, so a
killed process never leaves a half-written file under the final name.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

CHUNK = 1 << 20  # read in 1 MiB blocks: constant memory for any file size


@dataclass
class Digests:
    """What one streamed read of a file gives: its size, hex digests, first bytes."""

    size: int = 0
    hex: dict[str, str] = field(default_factory=dict)  # algorithm -> hex digest
    head: bytes = b""

    @property
    def sha256(self) -> str:
        return self.hex["sha256"]

    @property
    def md5(self) -> str:
        return self.hex["md5"]


def digests(path: str | os.PathLike[str], algorithms: tuple[str, ...] = ("sha256", "md5"),
            head: int = 0) -> Digests:
    """Size, digests and the first `head` bytes of a file in one streamed read (OSError
    when it cannot be read)."""
    hashers = {a: (hashlib.md5(usedforsecurity=False) if a == "md5" else hashlib.new(a))
               for a in algorithms}
    out = Digests()
    buf = bytearray(CHUNK)
    view = memoryview(buf)
    with open(path, "rb") as fh:
        while n := fh.readinto(buf):
            if len(out.head) < head:
                out.head += bytes(view[:min(n, head - len(out.head))])
            for h in hashers.values():
                h.update(view[:n])
            out.size += n
    out.hex = {a: h.hexdigest() for a, h in hashers.items()}
    return out


def sha256_file(path: str | os.PathLike[str]) -> str:
    """The sha256 of a file, streamed (OSError when it cannot be read)."""
    return digests(path, ("sha256",)).sha256


def file_hashes(path: str | os.PathLike[str]) -> dict[str, str | int]:
    """{"sha256", "md5", "size"} of a file, streamed: the evidence manifest's entry."""
    got = digests(path)
    return {"sha256": got.sha256, "md5": got.md5, "size": got.size}


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike[str]) -> Iterator[BinaryIO]:
    """A temporary file beside `path`, moved over it when the block ends without error
    (flushed to disk first); removed otherwise."""
    path = Path(path)
    fd, name = tempfile.mkstemp(prefix=".part-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(name)
        raise


def atomic_write(path: str | os.PathLike[str], data: bytes | str) -> None:
    """Write `data` (text as UTF-8) to `path` atomically."""
    with atomic_open(path) as fh:
        fh.write(data.encode("utf-8") if isinstance(data, str) else data)
