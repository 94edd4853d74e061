"""Media stage: what the metadata step hands on (`Metadata`, the contract of `osintkit meta`).

Its own module, below metadata.py (the reader) and imagemeta.py (the image part of it),
so neither has to import the other for the type.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from osintkit.errors import ErrorInfo
from osintkit.media.fields import Summary


@dataclass
class Metadata:
    """Everything `osintkit meta` reports for one file (see DESIGN.md for the contract)."""

    path: str
    ok: bool = False
    kind: str | None = None
    format: str | None = None
    mime: str | None = None
    size: int | None = None
    sha256: str | None = None
    width: int | None = None
    height: int | None = None
    summary: Summary = field(default_factory=Summary)
    exif: dict[str, Any] = field(default_factory=dict)
    xmp: dict[str, Any] = field(default_factory=dict)
    iptc: dict[str, Any] = field(default_factory=dict)
    video: dict[str, Any] | None = None
    thumbnail: dict[str, Any] | None = None
    image: dict[str, Any] | None = None  # mode, ICC profile, PNG text, comment, frames
    warnings: list[str] = field(default_factory=list)
    error: ErrorInfo | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of `osintkit meta --json`."""
        out = asdict(self)
        out["error"] = self.error.to_dict() if self.error else None
        return out
