"""osintkit: verify public claims of attacks from their media.

Flow: claim -> fetch -> media -> match -> archive -> checks -> report (docs/design.md).

The main calls are here at top level, imported on first use (so `import osintkit` and
`osintkit --help` stay instant; numpy, OpenCV, PyAV and psycopg come with the first call
that needs them):

    from osintkit import VerifyOptions, load_claim, verify_claim
    report = verify_claim(load_claim("claim.yaml"), "report/", db_url="sqlite:///known.db",
                          options=VerifyOptions(skip_checks=("ELA_HOTSPOT",)))
    print(report.verdict.level)

`osintkit.fetch` is both the fetch stage's package and its main call:
`osintkit.fetch(url, out_dir)` (see docs/python-api.md).
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# name -> the module that defines it (imported when the name is first used)
_LAZY = {
    "verify_claim": "osintkit.verify",
    "verify_target": "osintkit.verify",
    "VerifyOptions": "osintkit.verify",
    "load_claim": "osintkit.claim",
    "claim_from_dict": "osintkit.claim",
    "Claim": "osintkit.claim",
    "open_archive": "osintkit.archive",
    "hash_file": "osintkit.match.hashfile",
    "read_metadata": "osintkit.media.metadata",
    "Report": "osintkit.report.model",
}

__all__ = ["__version__", "fetch", *sorted(_LAZY)]


def __getattr__(name: str) -> Any:
    if name == "fetch":  # the package, callable (osintkit/fetch/__init__.py)
        return importlib.import_module("osintkit.fetch")
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value  # next time without this function
        return value
    raise AttributeError(f"module 'osintkit' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
