"""Batch stage, step 3 on a cluster: send claims to an existing Dask distributed scheduler.

One `client.submit` per claim. On the worker, the claim runs exactly as it does locally
(`isolate.shared_pool`: warm child processes, killed at --claim-timeout) into a temporary
folder, and the folder comes back with the result, so workers need no shared output
folder. Reports equal a local run's, except for absolute paths and timestamps.

The archive: a `postgresql://` URL is used by the workers as is (it must be reachable
from them). An SQLite archive is copied here through SQLite's backup API (a consistent
snapshot, WAL included), sent once to every worker (`scatter(broadcast=True)`) and
written there to a local file named by its sha256: a read-only copy — whatever a worker
does to it never reaches the original. `client.upload_file` is meant for code, not data.
Local media paths in claims must be readable at the same path on the workers (a shared
or synced folder); URL claims need nothing.
"""

from __future__ import annotations

import hashlib
import sqlite3
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from osintkit.batch.isolate import shared_pool
from osintkit.batch.manifest import folder_name
from osintkit.errors import INTERNAL, InputError, one_line
from osintkit.fileio import atomic_write

if TYPE_CHECKING:
    from osintkit.batch.options import BatchOptions

Done = Callable[[dict[str, Any], dict[str, Any]], None]


def run_dask(address: str, tasks: list[dict[str, Any]], options: BatchOptions,
             done: Done) -> None:
    """Run `tasks` on the Dask cluster at `address`; `done(task, outcome)` as each ends."""
    from distributed import Client, as_completed

    try:  # how long to try: Dask's own distributed.comm.timeouts.connect (default 30 s)
        client = Client(address)
    except (OSError, TimeoutError, ValueError) as exc:
        raise InputError(f"--dask {address}: cannot reach the Dask scheduler "
                         f"({one_line(exc)})", code="network") from None
    with client:
        searching = options.verify.get("search_archive", True)
        archive = ship_archive(client, options.db_url) if searching else None
        futures = {client.submit(remote_claim, task, options.claim_timeout, archive,
                                 key=f"osintkit-claim-{folder_name(task['id'])}-"
                                     f"{uuid.uuid4().hex[:12]}"): task
                   for task in tasks}
        try:
            for fut in as_completed(futures):
                done(futures[fut], _result(fut, futures[fut]))
        except BaseException:  # Ctrl-C: what finished is written; drop the rest
            client.cancel(list(futures))
            raise


def _result(fut: Any, task: dict[str, Any]) -> dict[str, Any]:
    try:
        return fut.result()
    except Exception as exc:  # a worker died (KilledWorker) or the task was lost
        return {"status": "error", "error": {
            "code": INTERNAL, "message": f"claim {task['id']}: Dask task failed: "
                                         f"{type(exc).__name__}: {one_line(exc)}"}}


def snapshot_sqlite(path: Path) -> bytes:
    """A consistent copy of an SQLite database (WAL folded in) as bytes."""
    with tempfile.TemporaryDirectory(prefix="osintkit-ship-") as tmp:
        copy = Path(tmp) / "archive.sqlite"
        src = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        dst = sqlite3.connect(copy)
        try:
            src.backup(dst)
            dst.execute("PRAGMA journal_mode = DELETE")  # one self-contained file
        finally:
            src.close()
            dst.close()
        return copy.read_bytes()


def ship_archive(client: Any, db_url: str | None) -> Any:
    """Broadcast an SQLite archive to every worker (a future), or None for PostgreSQL."""
    from osintkit.batch.resume import sqlite_path

    path = sqlite_path(db_url)
    if path is None:
        return None
    if not path.is_file():
        raise InputError(f"{path}: no SQLite archive there to send to the Dask workers "
                         "(give --db)", code="not_found")
    data = snapshot_sqlite(path)
    payload = {"sha256": hashlib.sha256(data).hexdigest(), "data": data}
    # a list, so that scatter sends the dict as one piece, not key by key
    return client.scatter([payload], broadcast=True, hash=False)[0]


def _materialize(payload: dict[str, Any]) -> str:
    """Write a shipped archive once per worker machine; its sqlite:/// URL."""
    path = Path(tempfile.gettempdir()) / f"osintkit-archive-{payload['sha256'][:24]}.sqlite"
    if not path.is_file():
        atomic_write(path, payload["data"])  # concurrent workers never see half a file
    return f"sqlite:///{path}"


def remote_claim(task: dict[str, Any], timeout: float | None,
                 archive: dict[str, Any] | None) -> dict[str, Any]:
    """On a Dask worker: verify one claim in a child process; return outcome + files."""
    task = dict(task)
    if archive is not None:
        task["db_url"] = _materialize(archive)
    with tempfile.TemporaryDirectory(prefix="osintkit-claim-") as tmp:
        folder = Path(tmp) / folder_name(task["id"])
        task["out_dir"] = str(folder)
        outcome = shared_pool().run(task, timeout)
        outcome["files"] = ({p.relative_to(folder).as_posix(): p.read_bytes()
                             for p in sorted(folder.rglob("*")) if p.is_file()}
                            if folder.is_dir() else {})
    return outcome
