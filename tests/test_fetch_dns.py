"""DNS lookups end by the request's deadline: a resolver that never answers (a real one,
tests/dnsblackhole.py: glibc's getaddrinfo pointed at a UDP socket that reads queries and
never replies, in a private network namespace) cannot hold a fetch past its time caps,
and the abandoned lookup cannot keep the process alive. Without the bound each of these
would take the resolver's 30 s."""

from __future__ import annotations

import json
import re
import socket
import sys
import textwrap

import pytest
from dnsblackhole import RESOLVER_WAIT, available, run_in_blackhole

from osintkit.fetch.resolver import DnsTimeout, resolve

WHY_NOT = available()
needs_blackhole = pytest.mark.skipif(WHY_NOT is not None, reason=f"DNS black hole: {WHY_NOT}")
MARGIN = 5.0  # generous: process start-up and a loaded machine, not a benchmark
HOST = "claims.example.test"


def fetch_cli(tmp_path, *args: str) -> dict:
    out = run_in_blackhole([sys.executable, "-m", "osintkit", "fetch",
                            f"http://{HOST}/strike.jpg", "-o", str(tmp_path / "ev"),
                            *args])
    assert HOST in out["queries"], out  # the lookup really went to the silent server
    return out


@needs_blackhole
def test_guard_lookup_ends_by_the_timeout(tmp_path):
    out = fetch_cli(tmp_path, "--timeout", "2", "--total-timeout", "6")
    assert out["elapsed"] < 2 + MARGIN < RESOLVER_WAIT, out
    assert out["rc"] == 2, out
    lines = out["stderr"].strip().splitlines()
    assert any(f"http://{HOST}/strike.jpg: cannot resolve host '{HOST}' (DNS lookup timed out "
               "after 2 s)" in line for line in lines), out["stderr"]
    assert "Traceback" not in out["stderr"]


@needs_blackhole
def test_connection_lookup_ends_by_the_total_deadline(tmp_path):
    # --allow-private: no guard lookup, the connection resolves the name itself.
    out = fetch_cli(tmp_path, "--allow-private", "--timeout", "30", "--total-timeout", "3")
    assert out["elapsed"] < 3 + MARGIN < RESOLVER_WAIT, out
    assert out["rc"] == 2, out
    assert re.search(rf"http://{re.escape(HOST)}/strike\.jpg: connection failed \(DNS lookup "
                     r"timed out after (2\.\d|3) s\)", out["stderr"]), out["stderr"]
    assert "attempts)" not in out["stderr"]  # a dead resolver is not retried
    manifest = json.loads((tmp_path / "ev" / "manifest.json").read_text())
    assert "DNS lookup timed out" in json.dumps(manifest)


@needs_blackhole
def test_screenshot_guard_proxy_lookup_ends_by_its_deadline():
    # The proxy Chromium is pointed at (--screenshot) resolves each host it is asked for.
    script = textwrap.dedent(f"""
        import socket, time
        from osintkit.fetch.guard import AddressPolicy
        from osintkit.fetch.screenshot import GuardProxy
        proxy = GuardProxy(AddressPolicy(), deadline=time.monotonic() + 2)
        start = time.monotonic()
        with socket.create_connection(("127.0.0.1", proxy.port), 60) as s:
            s.sendall(b"GET http://{HOST}/ HTTP/1.1\\r\\nHost: {HOST}\\r\\n\\r\\n")
            head = s.recv(4096).split(b"\\r\\n")[0].decode()
        print(head, round(time.monotonic() - start, 1))
    """)
    out = run_in_blackhole([sys.executable, "-c", script])
    assert HOST in out["queries"], out
    status, seconds = out["stdout"].rsplit(" ", 1)
    assert status == "HTTP/1.1 403 Forbidden", out
    assert float(seconds) < 2 + MARGIN, out


def test_resolve_answers_and_fails_for_real():
    # IP literals need no lookup; names under .invalid never resolve (RFC 6761).
    assert resolve("127.0.0.1", 80, 1.0)[0][4][0] == "127.0.0.1"
    assert resolve("[::1]", 80, 1.0)[0][4][0] == "::1"
    assert resolve("localhost", 80, 5.0)  # /etc/hosts, through the worker thread
    with pytest.raises(socket.gaierror):
        resolve("claims.nowhere.invalid", 80, 10.0)
    with pytest.raises(DnsTimeout, match="DNS lookup timed out after 0 s"):
        resolve("claims.nowhere.invalid", 80, 0.0)  # no time left: not even tried
