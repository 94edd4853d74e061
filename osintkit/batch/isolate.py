"""Batch stage, step 3: run one claim in a child process that can be killed.

`python -m osintkit.batch` reads a task (JSON) on stdin, verifies the claim and writes
its outcome (JSON) on stdout. The parent kills the child's whole process group when
`timeout` passes. `concurrent.futures.ProcessPoolExecutor` cannot do this (killing one
worker breaks the pool and every pending future), and Dask worker processes are daemons
that may not start multiprocessing children; a plain subprocess per claim works in both,
so local and Dask runs give identical results by construction.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from osintkit.batch.manifest import one_line
from osintkit.claim import claim_from_dict
from osintkit.errors import INTERNAL, TIMEOUT, error_info

_LIVE: set[subprocess.Popen[bytes]] = set()
_LIVE_LOCK = threading.Lock()


def run_task(task: dict[str, Any]) -> dict[str, Any]:
    """Verify one claim in this process → outcome dict. Never raises."""
    start = time.monotonic()
    try:
        from osintkit.verify import VerifyOptions, unusable_reason, verify_claim

        manifest = Path(task["manifest"])
        claim = claim_from_dict(task["record"], base_dir=manifest.parent,
                                default_id=task["id"], source=manifest)
        report = verify_claim(claim, Path(task["out_dir"]), db_url=task["db_url"],
                              options=VerifyOptions(**task["verify"]))
        data = report.to_dict()
        outcome: dict[str, Any] = {
            "status": "done", "verdict": data["verdict"]["level"],
            "reasons": list(data["verdict"].get("reasons") or []),
            "findings": [{k: f.get(k) for k in ("code", "severity", "message")}
                         for f in data.get("findings") or []]}
        unusable = unusable_reason(report)
        if unusable is not None:  # `verify` would exit 2: the claim could not be checked
            outcome.update(status="error", error={
                "code": unusable.code, "message": f"claim {task['id']}: {unusable.message}"})
    except Exception as exc:  # this claim's failure is its result
        info = error_info(exc)
        outcome = {"status": "error",
                   "error": {"code": info.code, "message": f"claim {task['id']}: {info.message}"}}
    outcome["duration_s"] = round(time.monotonic() - start, 3)
    return outcome


def run_isolated(task: dict[str, Any], timeout: float | None) -> dict[str, Any]:
    """Run one claim in a child process; kill its process group after `timeout` seconds."""
    start = time.monotonic()
    env = dict(os.environ)
    pkg_root = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (pkg_root, env.get("PYTHONPATH")) if p)
    proc = subprocess.Popen([sys.executable, "-m", "osintkit.batch"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                            start_new_session=True)
    with _LIVE_LOCK:
        _LIVE.add(proc)
    try:
        out, err = proc.communicate(json.dumps(task).encode(), timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill(proc)
        return {"status": "timeout", "duration_s": round(time.monotonic() - start, 3),
                "error": {"code": TIMEOUT, "message": f"claim {task['id']}: no result after "
                          f"{timeout:g} s (--claim-timeout); stopped"}}
    finally:
        with _LIVE_LOCK:
            _LIVE.discard(proc)
    outcome = _outcome(task, out, err, proc.returncode)
    outcome["duration_s"] = round(time.monotonic() - start, 3)  # process start included
    return outcome


def _outcome(task: dict[str, Any], out: bytes, err: bytes, code: int) -> dict[str, Any]:
    lines = out.decode("utf-8", "replace").strip().splitlines()
    try:
        outcome = json.loads(lines[-1])
        if isinstance(outcome, dict) and "status" in outcome:
            return outcome
    except (IndexError, ValueError):
        pass
    tail = err.decode("utf-8", "replace").strip().splitlines()
    why = f"killed by signal {-code}" if code < 0 else f"exit code {code}"
    last = f": {one_line(tail[-1])}" if tail else ""
    return {"status": "error",
            "error": {"code": INTERNAL,
                      "message": f"claim {task['id']}: worker process died ({why}){last}"}}


def _kill(proc: subprocess.Popen[bytes]) -> None:
    """Kill the child and everything it started (it leads its own session)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        proc.kill()
    # A grandchild that left the group could hold the pipes open: do not wait forever.
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.communicate(timeout=10)


def kill_running() -> None:
    """Stop every claim process this process started (on Ctrl-C)."""
    with _LIVE_LOCK:
        procs = list(_LIVE)
    for proc in procs:
        _kill(proc)


def child_main() -> None:
    """`python -m osintkit.batch`: a task on stdin, its outcome as JSON on stdout."""
    task = json.loads(sys.stdin.buffer.read())
    # Keep stdout clean for the outcome: anything else (a library printing, C code writing
    # to fd 1) goes to stderr.
    result_fd = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    outcome = run_task(task)
    with os.fdopen(result_fd, "w", encoding="utf-8") as fh:
        fh.write(json.dumps(outcome, default=str) + "\n")



