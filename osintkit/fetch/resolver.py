"""Fetch stage, name resolution bounded by the request's deadline.

`socket.getaddrinfo` has no timeout of its own: a resolver that does not answer (an
unreachable DNS server, a query dropped on the way) blocks for the system resolver's
timeout times its attempts, per server and per search domain (glibc: 5 s x 2 by default,
up to 30 s x 5 when configured so), far beyond `--timeout` and the total time cap.
`resolve` runs the lookup in a daemon thread and waits at most what the caller allows;
a lookup still running then is abandoned: a daemon thread never keeps the process alive,
and it ends by itself when the system resolver gives up. Every lookup of the fetch stage
goes through here: the address guard (guard.py), the connection itself (guard.PeerCheck)
and the screenshot's guard proxy (screenshot.py).
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from typing import Any

AddrInfo = tuple[Any, ...]


class DnsTimeout(OSError):
    """The lookup of `host` did not finish within `seconds`."""

    def __init__(self, host: str, seconds: float) -> None:
        self.host, self.seconds = host, max(0.0, seconds)
        super().__init__(f"DNS lookup timed out after {round(self.seconds, 1):g} s")


def is_ip(host: str) -> bool:
    """Whether `host` is an IP address literal (nothing to look up)."""
    try:
        ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return False
    return True


def resolve(host: str, port: int | str | None, timeout: float, *, family: int = 0,
            type: int = socket.SOCK_STREAM) -> list[AddrInfo]:
    """`socket.getaddrinfo(host, port, family, type)` that returns or raises within
    `timeout` seconds: socket.gaierror when the name does not resolve, DnsTimeout when the
    resolver has not answered in time. IP literals are answered at once, in this thread."""
    if is_ip(host):
        return socket.getaddrinfo(host.strip("[]"), port, family, type)
    if timeout <= 0:
        raise DnsTimeout(host, 0.0)
    outcome: list[Any] = []
    done = threading.Event()

    def lookup() -> None:
        try:
            outcome.append(socket.getaddrinfo(host, port, family, type))
        except BaseException as exc:  # handed to the waiting thread, raised there
            outcome.append(exc)
        finally:
            done.set()

    threading.Thread(target=lookup, name=f"dns-{host}", daemon=True).start()
    if not done.wait(timeout):
        raise DnsTimeout(host, timeout)
    if isinstance(outcome[0], BaseException):
        raise outcome[0]
    return outcome[0]
