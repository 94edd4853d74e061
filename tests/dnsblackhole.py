"""A DNS 'black hole' for tests: run a command whose system resolver never gets an answer.

`run_in_blackhole(cmd)` starts `unshare --mount --net` (plus `--map-root-user` when not
root) with this file as the driver. Inside the new namespaces the driver brings up the
loopback interface, binds a UDP socket on 127.0.0.1:53 that reads queries and never
answers, bind-mounts a resolv.conf naming only that server (`options timeout:30
attempts:1`) over /etc/resolv.conf, runs the command, and reports its exit code, output,
wall time and the names the resolver asked for. So glibc's real getaddrinfo hangs for
30 s on any name not in /etc/hosts, and nothing can leave the machine: the new network
namespace has only its own loopback. Nothing of osintkit or of Python's socket module is
replaced. `available()` says why it cannot run here (no unshare, no namespaces).
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

RESOLV_CONF = "nameserver 127.0.0.1\noptions timeout:30 attempts:1\n"
RESOLVER_WAIT = 30.0  # how long a lookup would hang without a bound of our own


def _unshare() -> list[str]:
    cmd = ["unshare", "--mount", "--net"]
    return cmd if os.geteuid() == 0 else [*cmd, "--map-root-user"]


def available() -> str | None:
    """None when the black hole can run here, else why not (one line)."""
    if shutil.which("unshare") is None or shutil.which("mount") is None:
        return "no unshare/mount binary (util-linux)"
    try:
        probe = subprocess.run([*_unshare(), "true"], capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"unshare failed ({exc})"
    if probe.returncode != 0:
        return "no mount/network namespaces here (" + \
            " ".join(probe.stderr.decode(errors="replace").split())[:120] + ")"
    return None


def run_in_blackhole(cmd: list[str], timeout: float = 90.0) -> dict[str, Any]:
    """Run `cmd` with the black-hole resolver: {"rc", "stdout", "stderr", "elapsed",
    "queries"} (queries: the names asked for, one per query received)."""
    with tempfile.TemporaryDirectory(prefix="dnsblackhole-") as tmp:
        result = Path(tmp) / "result.json"
        subprocess.run([*_unshare(), sys.executable, __file__, str(result), "--", *cmd],
                       check=True, timeout=timeout)
        return json.loads(result.read_text())


# ------------------------------------------------------------------ the driver (inside)
def _loopback_up() -> None:
    siocgifflags, siocsifflags, iff_up = 0x8913, 0x8914, 0x1
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        got = fcntl.ioctl(s, siocgifflags, struct.pack("16sH14x", b"lo", 0))
        flags = struct.unpack("16sH14x", got)[1]
        fcntl.ioctl(s, siocsifflags, struct.pack("16sH14x", b"lo", flags | iff_up))


def _qname(packet: bytes) -> str:
    labels, pos = [], 12
    while pos < len(packet) and packet[pos]:
        n = packet[pos]
        labels.append(packet[pos + 1:pos + 1 + n].decode("ascii", "replace"))
        pos += 1 + n
    return ".".join(labels)


def _drive(result: Path, cmd: list[str]) -> None:
    _loopback_up()
    hole = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    hole.bind(("127.0.0.1", 53))
    conf = result.parent / "resolv.conf"
    conf.write_text(RESOLV_CONF)
    subprocess.run(["mount", "--bind", str(conf), "/etc/resolv.conf"], check=True)
    start = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    elapsed = time.monotonic() - start
    hole.setblocking(False)
    queries = []
    while True:
        try:
            queries.append(_qname(hole.recv(4096)))
        except BlockingIOError:
            break
    result.write_text(json.dumps({"rc": proc.returncode, "stdout": proc.stdout,
                                  "stderr": proc.stderr, "elapsed": elapsed,
                                  "queries": queries}))


if __name__ == "__main__":
    _drive(Path(sys.argv[1]), sys.argv[sys.argv.index("--") + 1:])
