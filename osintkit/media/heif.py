"""Media stage: HEIF/AVIF pictures opened by Pillow through pillow-heif, registered once."""

from __future__ import annotations

import functools


@functools.cache
def register_heif() -> None:
    """Teach Pillow to open HEIF and AVIF files (idempotent; the import is heavy, so only
    when a file needs it)."""
    import pillow_heif

    pillow_heif.register_heif_opener()
