"""Run a command with its stderr on a pseudo-terminal (progress bars show only on a TTY)."""

from __future__ import annotations

import fcntl
import os
import pty
import struct
import subprocess
import termios
import threading


def run_with_tty_stderr(cmd: list[str], timeout: float = 120) -> tuple[int, str]:
    """Run `cmd` with stderr on a pseudo-terminal; (exit code, what it wrote there)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # 100 columns
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=slave)
    os.close(slave)
    chunks: list[bytes] = []

    def drain() -> None:  # a full pty buffer would block the child
        while True:
            try:
                data = os.read(master, 1 << 16)
            except OSError:  # EIO: the child closed its end
                return
            if not data:
                return
            chunks.append(data)

    reader = threading.Thread(target=drain)
    reader.start()
    try:
        code = proc.wait(timeout=timeout)
    finally:
        reader.join(10)
        os.close(master)
    return code, b"".join(chunks).decode("utf-8", "replace")
