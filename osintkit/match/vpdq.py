"""Match stage, video side: per-frame PDQ hashes in the vPDQ text format of Meta's
ThreatExchange, so frame hashes can be shared with partners and read back.

Flow: media -> **match** -> archive. Hashes the frames the media stage samples
(`media/frames.py`) with `hashing.py`; the archive imports and exports vPDQ lines.

One line per frame, as ThreatExchange's `vpdq` tools write and read it:

    frame_number,quality,pdq_hex,timestamp

e.g. `45,100,e271017837246aac...8d055c,3.000`: frame number (int), PDQ quality (0-100),
the 256-bit PDQ hash as 64 lowercase hex digits (leading zeros kept), the time in
seconds with three decimals.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from osintkit import errors
from osintkit.errors import InputError

_PDQ_HEX = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class VpdqFeature:
    """One hashed frame, as in ThreatExchange's vpdqFeature."""

    frame_number: int
    quality: int
    pdq: str  # 64 lowercase hex digits
    timestamp: float  # seconds

    def line(self) -> str:
        """This frame as one vPDQ text line (no newline)."""
        return f"{self.frame_number},{self.quality},{self.pdq},{self.timestamp:.3f}"

    @property
    def t(self) -> float:
        return self.timestamp


def parse_line(line: str, where: str = "") -> VpdqFeature:
    """Parse `frame_number,quality,pdq_hex,timestamp`; InputError naming `where` if bad."""
    parts = [p.strip() for p in line.strip().split(",")]
    try:
        if len(parts) < 4:
            raise ValueError(f"expected 4 comma-separated fields, got {len(parts)}")
        # The file format is number,quality,hash,time; the Python bindings' README prints
        # number,hash,quality,time. The hash is the 64-hex-digit field either way.
        hash_at = 1 if _PDQ_HEX.match(parts[1].lower()) else 2
        pdq = parts[hash_at].lower()
        if not _PDQ_HEX.match(pdq):
            raise ValueError("PDQ hash must be 64 hex digits")
        number, quality, ts = int(parts[0]), int(parts[3 - hash_at]), float(parts[3])
        if number < 0 or not 0 <= quality <= 100 or not ts >= 0:  # `not >=` also refuses NaN
            raise ValueError("frame number, quality (0-100) or timestamp out of range")
    except ValueError as exc:
        raise InputError(f"{where}: not a vPDQ line ({exc})", code=errors.CORRUPT) from None
    return VpdqFeature(number, quality, pdq, ts)


def read_vpdq(source: str | os.PathLike[str] | IO[str]) -> list[VpdqFeature]:
    """Read a vPDQ hash file (blank lines and `#` comments skipped). InputError if bad."""
    if hasattr(source, "read"):
        name = getattr(source, "name", "<stream>")
        return list(_parse_lines(source, str(name)))
    path = Path(source)
    try:
        with path.open(encoding="utf-8") as fh:
            return list(_parse_lines(fh, str(path)))
    except FileNotFoundError:
        raise InputError(f"{path}: no such file", code=errors.NOT_FOUND) from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: not a vPDQ text file (binary data)",
                         code=errors.CORRUPT) from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})",
                         code=errors.UNREADABLE) from None


def _parse_lines(lines: Iterable[str], name: str) -> Iterator[VpdqFeature]:
    for n, line in enumerate(lines, 1):
        if line.strip() and not line.lstrip().startswith("#"):
            yield parse_line(line, f"{name} line {n}")


def write_vpdq(features: Iterable[VpdqFeature], dest: str | os.PathLike[str] | IO[str]) -> int:
    """Write features one per line; return how many were written."""
    if hasattr(dest, "write"):
        return _write_lines(features, dest)
    with Path(dest).open("w", encoding="utf-8", newline="\n") as fh:
        return _write_lines(features, fh)


def _write_lines(features: Iterable[VpdqFeature], fh: IO[str]) -> int:
    n = 0
    for f in features:
        fh.write(f.line() + "\n")
        n += 1
    return n


def features_from_frames(frames: Iterable[Any]) -> list[VpdqFeature]:
    """vPDQ features from hashed frames (objects with t, index? and hashes{pdq, pdq_quality})."""
    out = []
    for f in frames:
        h = f["hashes"] if isinstance(f, dict) else f.hashes
        t = f["t"] if isinstance(f, dict) else f.t
        index = (f.get("index") if isinstance(f, dict) else getattr(f, "index", None))
        if "pdq" not in h:
            continue
        out.append(VpdqFeature(int(index if index is not None else len(out)),
                               int(h.get("pdq_quality", 0)), str(h["pdq"]), float(t)))
    return out


def vpdq_hash(path: str | os.PathLike[str], every: float = 1.0,
              scenes: bool = True) -> list[VpdqFeature]:
    """PDQ-hash a video's sampled frames (see `media/frames.py`); MediaError if unreadable."""
    from osintkit.match.hashing import hash_image, shrink
    from osintkit.media.frames import sample_frames

    out = []
    for fr in sample_frames(path, every=every, scenes=scenes):
        h = hash_image(shrink(fr.image), kinds=("pdq",))  # as `osintkit hash` does
        out.append(VpdqFeature(fr.index, int(h.get("pdq_quality", 0)), str(h["pdq"]), fr.t))
    return out
