"""Fetch stage, the address guard (SSRF): which addresses a fetch may reach.

Every hop's host is resolved and refused when any address is not public (private,
loopback, link-local, multicast, reserved, unspecified, shared, and v4 hidden in v6
forms), unless `allow_private` or an `allow_networks` exemption. The connection is then
re-checked against the address it really reached (`SafeAdapter`), so a DNS answer that
changes between the check and the connect (DNS rebinding) is refused too. The client
(http.py) holds the exchange's total deadline in `DEADLINE`: every name lookup (the
check's and the connection's, resolver.py) and the wait for the response headers end by
it.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError

from osintkit import errors
from osintkit.errors import FetchError
from osintkit.fetch.resolver import DnsTimeout, is_ip, resolve


def _unwrap(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> Any:
    """The IPv4 address hidden in IPv4-mapped, 6to4 and Teredo IPv6 forms."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped:
            return ip.ipv4_mapped
        if ip.sixtofour:
            return ip.sixtofour
        if ip.teredo:
            return ip.teredo[1]
    return ip


def address_problem(ip_text: str) -> str | None:
    """Why an address must not be fetched ("loopback", "private"...), None when public."""
    try:
        ip = _unwrap(ipaddress.ip_address(ip_text.split("%", 1)[0]))
    except ValueError:
        return "not an IP address"
    for attr in ("is_unspecified", "is_loopback", "is_link_local", "is_multicast",
                 "is_reserved", "is_private"):
        if getattr(ip, attr):
            return attr.removeprefix("is_").replace("_", "-")
    if not ip.is_global:  # shared (100.64/10), documentation, benchmarking ranges...
        return "non-public"
    return None


@dataclass(frozen=True)
class AddressPolicy:
    """Which addresses may be fetched: public only, plus `allow_networks` exemptions."""

    allow_private: bool = False
    allow_networks: tuple[Any, ...] = ()

    @classmethod
    def make(cls, allow_private: bool = False, allow_networks: Iterable[str] = ()) -> AddressPolicy:
        """Build a policy; `allow_networks` are CIDRs ("10.1.2.0/24") that are allowed anyway."""
        nets = tuple(ipaddress.ip_network(n, strict=False) for n in allow_networks)
        return cls(allow_private, nets)

    def problem(self, ip_text: str) -> str | None:
        """Why this address is refused, or None."""
        if self.allow_private:
            return None
        problem = address_problem(ip_text)
        if problem and self.allow_networks:
            ip = ipaddress.ip_address(ip_text.split("%", 1)[0])
            if any(ip.version == n.version and ip in n for n in self.allow_networks):
                return None
        return problem

    def check_host(self, url: str, host: str, port: int, proxied: bool,
                   timeout: float = 30.0) -> None:
        """Resolve `host` (within `timeout` s) and raise FetchError(blocked) when any
        address is refused, FetchError(network) when the name does not resolve in time."""
        if self.allow_private:
            return
        try:
            infos = resolve(host, port, timeout)
        except (socket.gaierror, UnicodeError, DnsTimeout) as exc:
            if proxied:  # the proxy resolves it (socks5h, .onion): nothing local to check
                return
            raise FetchError(f"{url}: cannot resolve host {host!r} ({exc})",
                             code=errors.NETWORK) from None
        for info in infos:
            ip = str(info[4][0])
            problem = self.problem(ip)
            if problem:
                what = f"{ip} is" if ip == host else f"{host} resolves to {ip},"
                raise FetchError(f"{url}: refused, {what} a {problem} address "
                                 "(use --allow-private to fetch it)", code=errors.BLOCKED)


DEADLINE = threading.local()  # .at: monotonic time the current exchange must end by


class PeerCheck:
    """Mixin for urllib3 connections: refuse the socket if its peer is not allowed, and
    hold the exchange's total deadline while the response headers arrive."""

    policy: AddressPolicy = AddressPolicy()

    def getresponse(self) -> Any:
        # http.client reads the headers line by line, each read within the read timeout:
        # a server sending one line every 1.5 s defeats a 2 s timeout. A timer closes the
        # socket when the exchange's deadline passes, which ends the read at once.
        at = getattr(DEADLINE, "at", None)
        sock = getattr(self, "sock", None)
        flag = getattr(DEADLINE, "cut", None)
        if at is None or sock is None or flag is None:
            return super().getresponse()  # type: ignore[misc]

        def cut() -> None:  # runs in the timer's thread: mark the caller's flag
            flag[0] = True
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

        timer = threading.Timer(max(0.0, at - time.monotonic()), cut)
        timer.daemon = True
        timer.start()
        try:
            return super().getresponse()  # type: ignore[misc]
        finally:
            timer.cancel()

    def _new_conn(self) -> socket.socket:
        # urllib3 would call getaddrinfo itself, with no bound: within an exchange the name
        # is resolved here by the deadline (and the connect timeout), then each address
        # is tried in turn, as urllib3 does.
        host: str = self._dns_host  # type: ignore[attr-defined]
        at = getattr(DEADLINE, "at", None)
        if at is None or is_ip(host):
            return self._checked(super()._new_conn())  # type: ignore[misc]
        limit = at - time.monotonic()
        connect = getattr(self, "timeout", None)
        if isinstance(connect, int | float):
            limit = min(limit, float(connect))
        try:
            infos = resolve(host, self.port, limit)  # type: ignore[attr-defined]
        except (socket.gaierror, DnsTimeout) as exc:
            raise NameResolutionError(self.host, self, exc) from exc  # type: ignore[attr-defined,arg-type]
        failure: Exception | None = None
        for ip in dict.fromkeys(str(info[4][0]) for info in infos):
            self._dns_host = ip
            try:
                return self._checked(super()._new_conn())  # type: ignore[misc]
            except ConnectTimeoutError as exc:  # NewConnectionError too: next address
                failure = exc
            finally:
                self._dns_host = host
        raise failure or NameResolutionError(self.host, self,  # type: ignore[attr-defined,arg-type]
                                             socket.gaierror("no address"))

    def _checked(self, sock: socket.socket) -> socket.socket:
        try:
            peer = str(sock.getpeername()[0])
        except OSError:
            peer = ""
        problem = self.policy.problem(peer) if peer else None
        if problem:
            sock.close()
            raise BlockedAddress(f"connected to {peer}, a {problem} address")
        return sock


class BlockedAddress(OSError):
    """Raised inside urllib3 when a connection reached a refused address."""


class SafeAdapter(HTTPAdapter):
    """requests adapter whose direct connections are pinned to allowed peer addresses."""

    def __init__(self, policy: AddressPolicy, **kwargs: Any) -> None:
        conn = type("GuardedHTTPConnection", (PeerCheck, HTTPConnection), {"policy": policy})
        sconn = type("GuardedHTTPSConnection", (PeerCheck, HTTPSConnection), {"policy": policy})
        self._pools = {
            "http": type("GuardedHTTPPool", (HTTPConnectionPool,), {"ConnectionCls": conn}),
            "https": type("GuardedHTTPSPool", (HTTPSConnectionPool,), {"ConnectionCls": sconn}),
        }
        super().__init__(**kwargs)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = dict(self._pools)
