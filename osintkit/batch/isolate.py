"""Batch stage, step 3: run claims in child processes that can be killed.

`python -m osintkit.batch` reads tasks (JSON lines) on stdin, verifies each claim and
writes its outcome (a JSON line) on stdout. The parent kills the child's whole process
group when a claim's timeout passes, and starts a fresh child for the next claim.
`concurrent.futures.ProcessPoolExecutor` cannot do this (killing one worker breaks the
pool and every pending future), and Dask worker processes are daemons that may not start
multiprocessing children; plain subprocesses work in both, so local and Dask runs go
through the same code and give the same results.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib
import json
import os
import selectors
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from osintkit.claim import claim_from_dict
from osintkit.errors import INTERNAL, TIMEOUT, error_info, one_line

READY = b'{"ready": true}'  # the child's first line, once the pipeline is imported
_LIVE: set[ClaimWorker] = set()
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


class ClaimWorker:
    """A child process (`python -m osintkit.batch`) that verifies claims one at a time.

    Tasks go in as JSON lines on its stdin, outcomes come back as JSON lines on its stdout.
    The child is kept warm between claims (importing OpenCV, SciPy and PyAV takes seconds)
    and replaced after MAX_TASKS claims, a timeout (killed with its process group) or a
    crash (the claim that was running gets the exit status as its error).
    """

    MAX_TASKS = 50
    STARTUP_TIMEOUT = 120.0  # seconds to import the pipeline on a very busy machine

    def __init__(self) -> None:
        self.proc: subprocess.Popen[bytes] | None = None
        self.stderr: Any = None
        self.buf = b""
        self.tasks = 0

    def _start(self) -> str | None:
        """Start the child and wait until it has imported the pipeline; None when ready,
        else why not. Startup does not count against a claim's timeout."""
        # stderr to a file: an undrained pipe would fill up and stall a chatty child.
        # The file lives as long as the child, hence no `with`.
        self.stderr = tempfile.TemporaryFile(prefix="osintkit-claim-stderr-")  # noqa: SIM115
        self.proc = subprocess.Popen([sys.executable, "-m", "osintkit.batch"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.stderr, start_new_session=True)
        self.buf, self.tasks = b"", 0
        with _LIVE_LOCK:
            _LIVE.add(self)
        line = self._read_line(time.monotonic() + self.STARTUP_TIMEOUT)
        if line == READY:
            return None
        tail = self._stderr_tail()
        self.kill()
        why = "no sign of life" if line is None else "it exited" if not line else "garbage"
        return f"{why}{f': {one_line(tail)}' if tail else ''}"

    def run(self, task: dict[str, Any], timeout: float | None) -> dict[str, Any]:
        """Verify one claim in the child → outcome dict; never raises."""
        if not (self.proc and self.proc.poll() is None):
            failed = self._start()
            if failed:
                return {"status": "error", "duration_s": 0.0, "error": {
                    "code": INTERNAL,
                    "message": f"claim {task['id']}: worker process did not start ({failed})"}}
        proc = self.proc
        assert proc is not None and proc.stdin is not None
        start = time.monotonic()
        try:
            proc.stdin.write(json.dumps(task).encode() + b"\n")
            proc.stdin.flush()
            line = self._read_line(None if timeout is None else start + timeout)
        except OSError:  # the child died before reading the task
            line = b""
        if line is None:
            self.kill()
            outcome = {"status": "timeout", "error": {
                "code": TIMEOUT, "message": f"claim {task['id']}: no result after "
                                            f"{timeout:g} s (--claim-timeout); stopped"}}
        else:
            outcome = self._outcome(task, line)
        outcome["duration_s"] = round(time.monotonic() - start, 3)
        return outcome

    def _read_line(self, deadline: float | None) -> bytes | None:
        """One line from the child; b"" when it died, None when the deadline passed."""
        assert self.proc is not None and self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        while b"\n" not in self.buf:
            wait = None if deadline is None else max(0.0, deadline - time.monotonic())
            with selectors.DefaultSelector() as sel:  # no FD_SETSIZE limit, unlike select()
                sel.register(fd, selectors.EVENT_READ)
                ready = sel.select(wait)
            if not ready:
                return None
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                return b""
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\n")
        return line

    def _outcome(self, task: dict[str, Any], line: bytes) -> dict[str, Any]:
        try:
            outcome = json.loads(line)
            if isinstance(outcome, dict) and "status" in outcome:
                self.tasks += 1
                if self.tasks >= self.MAX_TASKS:
                    self.close()
                return outcome
        except ValueError:
            pass
        proc = self.proc
        assert proc is not None
        tail = self._stderr_tail()
        self.kill()
        code = proc.returncode
        why = f"killed by signal {-code}" if code and code < 0 else f"exit code {code}"
        last = f": {one_line(tail)}" if tail else ""
        return {"status": "error", "error": {
            "code": INTERNAL, "message": f"claim {task['id']}: worker process died ({why}){last}"}}

    def _stderr_tail(self) -> str:
        if self.stderr is None or self.stderr.closed:
            return ""
        self.stderr.seek(0, os.SEEK_END)
        self.stderr.seek(max(0, self.stderr.tell() - 4096))
        lines = self.stderr.read().decode("utf-8", "replace").strip().splitlines()
        return lines[-1] if lines else ""

    def kill(self) -> None:
        """Kill the child and everything it started (it leads its own session)."""
        proc = self.proc
        if proc is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        self._reap(proc, 10)

    def close(self) -> None:
        """Let the child finish (stdin closed → it exits); kill it if it does not."""
        proc = self.proc
        if proc is None:
            return
        with contextlib.suppress(OSError):
            assert proc.stdin is not None
            proc.stdin.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.kill()
        self._reap(proc, 10)

    def _reap(self, proc: subprocess.Popen[bytes], timeout: float) -> None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=timeout)
        for pipe in (proc.stdin, proc.stdout):
            with contextlib.suppress(OSError):
                if pipe is not None:
                    pipe.close()
        if self.stderr is not None:
            self.stderr.close()
        with _LIVE_LOCK:
            _LIVE.discard(self)
        self.proc = None
        self.buf = b""


class WorkerPool:
    """Warm claim workers shared by the threads that wait on them."""

    def __init__(self) -> None:
        self.idle: list[ClaimWorker] = []
        self.lock = threading.Lock()

    def run(self, task: dict[str, Any], timeout: float | None) -> dict[str, Any]:
        """Verify one claim in an idle (or new) worker."""
        with self.lock:
            worker = self.idle.pop() if self.idle else ClaimWorker()
        try:
            return worker.run(task, timeout)
        finally:
            with self.lock:
                self.idle.append(worker)

    def close(self) -> None:
        """Stop the idle workers."""
        with self.lock:
            workers, self.idle = self.idle, []
        for worker in workers:
            worker.close()


_SHARED: WorkerPool | None = None


def shared_pool() -> WorkerPool:
    """This process's pool: warm children are reused by every batch it runs (and by every
    claim a Dask worker process receives); they are closed when the process exits."""
    global _SHARED
    with _LIVE_LOCK:
        if _SHARED is None:
            _SHARED = WorkerPool()
            atexit.register(_SHARED.close)
        return _SHARED


def kill_running() -> None:
    """Kill every claim process this process started (on Ctrl-C).

    Only signals: the threads waiting on those children see them die and clean up
    themselves (closing their pipes here could hand a recycled fd to a waiting thread).
    """
    with _LIVE_LOCK:
        procs = [w.proc for w in _LIVE if w.proc is not None]
    for proc in procs:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)


# The pipeline's stages, imported by the child before it says it is ready.
PRELOAD = ("osintkit.verify", "osintkit.fetch", "osintkit.media.metadata",
           "osintkit.match.hashfile", "osintkit.archive")


def _die_with_parent(parent: int) -> None:
    """Kill this child's process group once its parent is gone (even killed by SIGKILL):
    an orphan would otherwise finish its claim with nobody left to enforce the timeout."""
    while os.getppid() == parent:
        time.sleep(1.0)
    os.killpg(0, signal.SIGKILL)


def child_main() -> None:
    """`python -m osintkit.batch`: tasks as JSON lines on stdin, outcomes on stdout."""
    threading.Thread(target=_die_with_parent, args=(os.getppid(),), daemon=True).start()
    # Keep stdout clean for the outcomes: anything else (a library printing, C code
    # writing to fd 1) goes to stderr.
    result = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    for module in PRELOAD:  # before READY, so imports do not eat the first claim's timeout
        importlib.import_module(module)
    result.write(READY.decode() + "\n")
    result.flush()
    for line in sys.stdin.buffer:
        if line.strip():
            result.write(json.dumps(run_task(json.loads(line)), default=str) + "\n")
            result.flush()
