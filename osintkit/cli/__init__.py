"""Command line: parse, call one library function, render. No logic lives here.

The group, the shared options and helpers are in `common.py`; the commands live in
`media.py`, `archive.py`, `fetch.py` and `verify.py` beside it.

Every command takes `--json` (JSON Lines, one object per input). Exit codes: 0 ok,
1 some input failed (or findings at/above --fail-on), 2 usage error / unusable input.
Errors are one line on stderr; `--debug` shows tracebacks.
"""

from __future__ import annotations

import sys

# The commands, one module per stage; importing them registers them on `cli`.
from osintkit.cli import archive, archive_records, fetch, media, verify  # noqa: F401
from osintkit.cli.common import CliError, cli

__all__ = ["CliError", "cli", "main"]


def main() -> None:
    """Console-script entry point."""
    try:
        cli(prog_name="osintkit")
    except BrokenPipeError:  # `osintkit hash ... | head`
        sys.stderr.close()
        raise SystemExit(0) from None
