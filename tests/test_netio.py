"""monitor/netio.py: httpcore's network layer on asyncio streams, against real sockets on
127.0.0.1 (a plain server, one that never answers, one that closes idle connections, TLS)."""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading
import time

import httpcore
import httpx
import pytest

from monitor import netio
from monitor.fetch import Fetcher
from tests.server import FeedServer
from tests.smtp_server import TLS, server_tls

SAFETY = 20.0


class RawServer:
    """Accepts connections on 127.0.0.1 and hands each to `handle(conn)` in a thread."""

    def __init__(self, handle):
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self._handle = handle
        self._stop = False
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        self.sock.settimeout(0.2)
        deadline = time.monotonic() + 60
        while not self._stop and time.monotonic() < deadline:
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            self.connections += 1
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def stop(self):
        self._stop = True
        self.sock.close()


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, SAFETY))


def test_fetchers_pools_connect_with_the_asyncio_backend():
    """use_asyncio must take with the installed httpx: if an httpx release lays its transport
    out differently, this fails (fetching would still work, on anyio, only slower)."""
    assert netio.use_asyncio(httpx.AsyncHTTPTransport())
    server = FeedServer()
    try:
        url = server.add("/f", b"x" * 10)

        async def go():
            async with Fetcher() as f:
                got = await f.get(url, max_bytes=100)
                [pool] = f._transport._pools.values()
                [conn] = pool._pool.connections
                return got, pool._pool._network_backend, conn._connection._network_stream
        got, backend, stream = run(go())
        assert got.body == b"x" * 10
        assert backend is netio.BACKEND and isinstance(stream, netio.AsyncioStream)
    finally:
        server.stop()


def test_a_refused_connection_is_a_connect_error():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]          # bound, not listening: refused
        with pytest.raises(httpcore.ConnectError):
            run(netio.BACKEND.connect_tcp("127.0.0.1", port, timeout=5))


def test_connect_and_read_timeouts_are_httpcores():
    silent = FeedServer()                  # answers /slow after 3 s
    silent.add("/slow", b"late", delay=3.0)
    try:
        with pytest.raises(httpcore.ConnectTimeout):
            run(netio.BACKEND.connect_tcp("127.0.0.1", silent.port, timeout=0))

        async def read_silence():
            stream = await netio.BACKEND.connect_tcp("127.0.0.1", silent.port, timeout=5)
            try:
                await stream.write(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n", timeout=5)
                started = time.monotonic()
                with pytest.raises(httpcore.ReadTimeout):
                    await stream.read(1024, timeout=0.3)
                return time.monotonic() - started
            finally:
                await stream.aclose()
        assert 0.25 < run(read_silence()) < 2.5
    finally:
        silent.stop()


def test_an_idle_connection_closed_by_the_server_is_readable_and_not_reused():
    """A server that closes a keep-alive connection without saying so: the pooled connection
    must be seen as readable (at its end) and replaced, not written to and failed."""
    def answer_then_hang_up(conn):
        with conn:
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(4096)
                if not chunk:
                    return
                data += chunk
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            time.sleep(0.2)
    server = RawServer(answer_then_hang_up)
    url = f"http://127.0.0.1:{server.port}/f"
    try:
        async def go():
            async with Fetcher() as f:
                first = await f.get(url, max_bytes=100)
                [pool] = f._transport._pools.values()
                [conn] = pool._pool.connections
                stream = conn._connection._network_stream
                assert not stream.get_extra_info("is_readable")    # open and idle
                await asyncio.sleep(0.6)                            # the server hangs up
                assert stream.get_extra_info("is_readable")
                second = await f.get(url, max_bytes=100)
                return first, second
        first, second = run(go())
        assert first.body == second.body == b"ok"
        assert server.connections == 2
    finally:
        server.stop()


def test_tls_through_the_backend_reports_its_session_and_addresses(monkeypatch):
    https = FeedServer(tls=server_tls())
    try:
        async def go():
            ctx = ssl.create_default_context(cafile=str(TLS / "ca.pem"))
            stream = await netio.BACKEND.connect_tcp("127.0.0.1", https.port, timeout=5)
            stream = await stream.start_tls(ctx, server_hostname="localhost", timeout=5)
            try:
                await stream.write(b"GET /none HTTP/1.1\r\nHost: localhost\r\n\r\n", timeout=5)
                head = await stream.read(4096, timeout=5)
                return (head, stream.get_extra_info("ssl_object"),
                        stream.get_extra_info("server_addr"), stream.get_extra_info("client_addr"))
            finally:
                await stream.aclose()
        head, tls, server_addr, client_addr = run(go())
        assert head.startswith(b"HTTP/1.1 404")
        assert tls is not None and tls.version().startswith("TLS")
        assert server_addr[:2] == ("127.0.0.1", https.port) and client_addr[0] == "127.0.0.1"

        async def untrusted():
            stream = await netio.BACKEND.connect_tcp("127.0.0.1", https.port, timeout=5)
            await stream.start_tls(ssl.create_default_context(), server_hostname="localhost",
                                   timeout=5)
        with pytest.raises(httpcore.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            run(untrusted())
    finally:
        https.stop()
