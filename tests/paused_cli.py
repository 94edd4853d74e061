"""Run the osintkit CLI with the archive's Nth write transaction paused (tests only).

    python tests/paused_cli.py N archive add ...

Patches `osintkit.archive.write.write_batch` so that its Nth call, after writing its rows
and before committing, prints PAUSE_MARKER to stderr and waits until it is killed: a test
can then kill a real `archive add` in the middle of a transaction.
"""

from __future__ import annotations

import sys
import time
from typing import Any

PAUSE_MARKER = "osintkit-archive-paused"


def pause_in(number: int) -> None:
    """Make the `number`th write transaction of this process pause before its commit."""
    from osintkit.archive import write

    original = write.write_batch
    calls = [0]

    def paused(db: Any, batch: list, strict: bool = False, after: Any = None) -> list:
        calls[0] += 1
        if calls[0] != number:
            return original(db, batch, strict, after)

        def then_pause(cur: Any) -> None:
            if after is not None:
                after(cur)
            sys.stderr.write(PAUSE_MARKER + "\n")
            sys.stderr.flush()
            while True:  # until the test kills us
                time.sleep(60)
        return original(db, batch, strict, then_pause)

    write.write_batch = paused


if __name__ == "__main__":
    pause_in(int(sys.argv[1]))
    from osintkit.cli import main

    sys.argv = ["osintkit", *sys.argv[2:]]
    main()
