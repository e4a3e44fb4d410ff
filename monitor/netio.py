"""httpcore's network layer on asyncio's own streams, for fetch.PerOriginTransport's pools.

httpx runs its connection pools (httpcore) over anyio, which wraps every socket read and write
in a cancel scope (`fail_after`) and answers `get_extra_info` through its typed-attribute
machinery. For a poll that is mostly 304s that was about a sixth of the CPU of a request. This
backend does the same on asyncio streams: the same timeouts (asyncio.timeout per operation),
the same errors (httpcore's ConnectError/ConnectTimeout, ReadError/ReadTimeout, WriteError/
WriteTimeout, which httpx turns into its own), TLS by `StreamWriter.start_tls`, and the extra
information httpcore and fetch.py ask for (the TLS object, both addresses, the socket, and
whether an idle connection has become readable, i.e. closed by the server).

httpcore, not httpx, is imported here: the backend is httpcore's documented extension point
(`httpcore.AsyncNetworkBackend`), and httpx is still what fetch.py talks to.
"""

from __future__ import annotations

import asyncio
import select
import ssl
from typing import Any, Iterable

import httpcore

# Like anyio's connect_tcp: try the next address of a host (IPv6, then IPv4...) 250 ms after the
# previous one if it has not connected yet (RFC 8305).
HAPPY_EYEBALLS_DELAY = 0.25


class AsyncioStream(httpcore.AsyncNetworkStream):
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self._reader = reader
        self._writer = writer

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        try:
            async with asyncio.timeout(timeout):
                return await self._reader.read(max_bytes)
        except TimeoutError as e:
            raise httpcore.ReadTimeout(str(e) or "read timed out") from e
        except OSError as e:      # ssl.SSLError included
            raise httpcore.ReadError(str(e) or type(e).__name__) from e

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        try:
            async with asyncio.timeout(timeout):
                self._writer.write(buffer)
                await self._writer.drain()
        except TimeoutError as e:
            raise httpcore.WriteTimeout(str(e) or "write timed out") from e
        except OSError as e:
            raise httpcore.WriteError(str(e) or type(e).__name__) from e

    async def aclose(self) -> None:
        # Closing the transport is enough: nothing more is read or written on this connection,
        # and waiting for the peer's side of a TLS shutdown could take a read timeout.
        self._writer.close()

    async def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                        timeout: float | None = None) -> httpcore.AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):
                await self._writer.start_tls(ssl_context, server_hostname=server_hostname)
        except TimeoutError as e:
            self._writer.close()
            raise httpcore.ConnectTimeout(str(e) or "TLS handshake timed out") from e
        except OSError as e:
            self._writer.close()
            raise httpcore.ConnectError(str(e) or type(e).__name__) from e
        return self

    def get_extra_info(self, info: str) -> Any:
        if info == "ssl_object":
            return self._writer.get_extra_info("ssl_object")
        if info == "client_addr":
            return self._writer.get_extra_info("sockname")
        if info == "server_addr":
            return self._writer.get_extra_info("peername")
        if info == "socket":
            return self._writer.get_extra_info("socket")
        if info == "is_readable":
            return readable(self._writer.get_extra_info("socket"))
        return None


def readable(sock) -> bool:
    """Has data or an end of stream arrived on `sock`? For an idle pooled connection that means
    the server closed it (or broke protocol): httpcore then drops it instead of reusing it."""
    if sock is None or sock.fileno() < 0:
        return True
    if hasattr(select, "poll"):
        poller = select.poll()
        poller.register(sock.fileno(), select.POLLIN)
        return bool(poller.poll(0))
    return bool(select.select([sock], [], [], 0)[0])


def use_asyncio(transport: Any) -> bool:
    """Make an httpx.AsyncHTTPTransport's pool connect with AsyncioBackend. httpx does not take
    a network backend as an argument, so this sets its pool's; where an httpx version lays the
    transport out differently, the transport is left as it is (anyio) and False is returned:
    tests/test_netio.py checks that it is True with the installed httpx."""
    pool = getattr(transport, "_pool", None)
    if not isinstance(pool, httpcore.AsyncConnectionPool) or not hasattr(pool, "_network_backend"):
        return False
    pool._network_backend = BACKEND
    return True


class AsyncioBackend(httpcore.AsyncNetworkBackend):
    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None,
                          socket_options: Iterable[Any] | None = None
                          ) -> httpcore.AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):
                reader, writer = await asyncio.open_connection(
                    host, port, happy_eyeballs_delay=HAPPY_EYEBALLS_DELAY,
                    local_addr=(local_address, 0) if local_address else None)
        except TimeoutError as e:
            raise httpcore.ConnectTimeout(str(e) or "connect timed out") from e
        except OSError as e:
            raise httpcore.ConnectError(str(e) or type(e).__name__) from e
        sock = writer.get_extra_info("socket")
        for option in socket_options or ():      # asyncio already set TCP_NODELAY
            sock.setsockopt(*option)
        return AsyncioStream(reader, writer)

    async def connect_unix_socket(self, path: str, timeout: float | None = None,
                                  socket_options: Iterable[Any] | None = None
                                  ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("Unix sockets are not used by monitor")

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


BACKEND = AsyncioBackend()
