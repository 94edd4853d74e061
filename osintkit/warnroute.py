"""Library warnings go into results, never raw onto stderr.

Pillow (and exifread, pillow-heif, PyAV) report damaged tags with `warnings.warn`:
Python prints them as two raw lines naming a file inside the library
(`.../PIL/TiffImagePlugin.py:946: UserWarning: ...`). While an item is processed inside
`collecting(sink)`, each such warning becomes one line in `sink` ("decoder: ..."), which
the result shows as `warnings` in JSON. A warning raised outside any item (a thumbnail
drawn for a report, say) is printed once as a one-line `warning:` on stderr, unless an
item already recorded the same text.

The routing is per thread (`threading.local`), so parallel workers never mix their
warnings; Python's `catch_warnings` is not thread-safe and is not used for this.
"""

from __future__ import annotations

import re
import sys
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

LIBRARIES = r"(PIL|exifread|pillow_heif|av|imagehash|pdqhash)(\.|$)"
_LIBRARY_FILE = re.compile(r"[/\\](PIL|exifread|pillow_heif|av|imagehash|pdqhash)[/\\]")
_local = threading.local()
_seen: set[str] = set()
_lock = threading.Lock()


def _text(message: Warning | str, category: type[Warning], filename: str) -> str:
    origin = "decoder" if _LIBRARY_FILE.search(filename or "") else category.__name__
    return f"{origin}: " + " ".join(str(message).split())[:300]


def _show(message: Warning | str, category: type[Warning], filename: str, lineno: int,
          file: object = None, line: str | None = None) -> None:
    text = _text(message, category, filename)
    sink = getattr(_local, "sink", None)
    with _lock:
        new = text not in _seen
        _seen.add(text)
    if sink is not None:
        if text not in sink:
            sink.append(text)
    elif new:
        print(f"warning: {text}", file=sys.stderr)


def install() -> None:
    """Route library warnings (idempotent; the filter is re-added if a caller, such as a
    test runner, restored the filters since)."""
    warnings.showwarning = _show
    entry = ("always", None, Warning, LIBRARIES)
    if not any(f[0] == "always" and f[2] is Warning and getattr(f[3], "pattern", None)
               == LIBRARIES for f in warnings.filters):
        warnings.filterwarnings(entry[0], category=entry[2], module=entry[3])


@contextmanager
def collecting(sink: list[str]) -> Iterator[list[str]]:
    """Library warnings raised by this thread inside the block are appended to `sink`."""
    install()
    previous = getattr(_local, "sink", None)
    _local.sink = sink
    try:
        yield sink
    finally:
        _local.sink = previous
