"""HTTP, and only HTTP: the one module that imports httpx.

Every request goes through `Fetcher.get`, which interprets HTTP in one place:
  - bounded concurrency: a per-host limit (taken first, so a slow host never holds global slots)
    and a global limit;
  - connect/read timeouts per socket operation, plus a total deadline for the whole exchange, so
    a server that trickles a byte a second is cut off;
  - conditional GET (If-None-Match / If-Modified-Since) and 304;
  - redirects followed by hand (at most `max_redirects`, http/https only); when every hop was
    permanent (301/308) the new URL is reported so the caller can update the stored feed URL;
  - a size cap enforced while streaming, counted on the decompressed bytes (a gzip bomb is cut
    off as soon as its output passes the cap), and checked against Content-Length up front;
  - 429/503 with Retry-After → a FetchError carrying the delay (capped at a day);
  - where links may point: a request made with `allow_internal=False` (a link found inside a
    feed) is refused when its host resolves to a loopback, private, link-local, multicast,
    reserved or otherwise non-global address — checked for every redirect hop before connecting,
    and again on the address actually connected to (so a DNS answer that changes between the
    check and the connection is caught too).
  - proxies from the environment, as httpx's client and most tools take them (HTTP_PROXY,
    HTTPS_PROXY, ALL_PROXY, NO_PROXY, upper or lower case); through a proxy, the address check
    on the connection is skipped (the peer is the proxy) and the DNS check of the target stays.
httpx exceptions are translated here into FetchError (chained); nothing else leaves this module.
Does not parse documents.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import socket
import ssl
import time
import zlib
from email.utils import parsedate_to_datetime
from datetime import datetime, timezone
from typing import Awaitable, Callable
from urllib.parse import urljoin, urlsplit
from urllib.request import getproxies_environment, proxy_bypass_environment

from monitor.imports import without

with without("pygments", "rich"):   # httpx's command-line client, unused: 5+ ms of start-up
    import httpx

from monitor import __version__, netio
from monitor.errors import FetchError
from monitor.models import FetchResult

USER_AGENT = f"monitor/{__version__} (news topic monitor; python-httpx)"
FEED_ACCEPT = ("application/rss+xml, application/atom+xml, application/rdf+xml, "
               "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5")
PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"
MAX_RETRY_AFTER = 86400.0
REDIRECTS = {301, 302, 303, 307, 308}
PERMANENT = {301, 308}


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Retry-After is seconds or an HTTP date (RFC 9110 §10.2.3); capped at a day."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return min(float(value), MAX_RETRY_AFTER)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    delay = (when - (now or datetime.now(timezone.utc))).total_seconds()
    return min(max(delay, 0.0), MAX_RETRY_AFTER)


Resolver = Callable[[str, int], Awaitable[list[str]]]


def is_public(address: str) -> bool:
    """A globally routable unicast address (not loopback, private, link-local, CGNAT, multicast,
    reserved, unspecified, documentation...). IPv4-mapped IPv6 is judged as the IPv4 it maps."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


async def system_resolve(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [info[4][0] for info in infos]


@functools.cache
def tls_context() -> ssl.SSLContext:
    """One TLS context (the system's CAs, verified) for every https pool of this process and of
    the polls it forks (shards.py makes it before forking): loading the certificates costs about
    20 ms of CPU and 1 MB each time."""
    return httpx.create_ssl_context()


def proxy_for(url: httpx.URL, proxies: dict[str, str]) -> str | None:
    """The proxy the environment (`proxies`: urllib's getproxies_environment()) names for
    `url`, or None: by scheme, else ALL_PROXY, unless NO_PROXY covers the host."""
    proxy = proxies.get(url.scheme) or proxies.get("all")
    if not proxy or proxy_bypass_environment(url.host, proxies):
        return None
    return proxy


class PerOriginTransport(httpx.AsyncBaseTransport):
    """A small connection pool per origin instead of one pool for every host.

    httpcore's pool looks at each connection it holds (a readability poll of its socket) every
    time a request is queued or a response is closed. One shared pool of about a hundred
    connections made that 19% of the main thread's CPU in a cold poll of 1,000 feeds on 50
    hosts. A pool per origin keeps at most `per_host` idle connections and opens at most twice
    that (Fetcher's host slot is the asked URL's host, so a redirect target can be reached from
    several slots). When a new origin makes more than `keep` pools, the least recently used
    idle ones are closed, so idle sockets stay bounded (`keep` × `per_host`) as with one pool;
    connections in use are bounded by Fetcher's `concurrency`."""

    def __init__(self, *, per_host: int, keep: int, proxies: dict[str, str] | None = None):
        self._per_host = max(1, per_host)
        self._keep = max(1, keep)
        self.proxies = getproxies_environment() if proxies is None else proxies
        self._pools: dict[tuple[bytes, bytes, int | None], httpx.AsyncHTTPTransport] = {}
        self._busy: dict[tuple[bytes, bytes, int | None], int] = {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        key = (request.url.raw_scheme, request.url.raw_host, request.url.port)
        pool = self._pools.pop(key, None)
        new = pool is None
        if new:
            # A plain-http origin never does TLS: no certificates to load for its pool.
            verify = tls_context() if request.url.scheme == "https" else False
            proxy = proxy_for(request.url, self.proxies)
            try:
                pool = httpx.AsyncHTTPTransport(verify=verify, proxy=proxy, limits=httpx.Limits(
                    max_connections=self._per_host * 2, max_keepalive_connections=self._per_host))
            except (ImportError, ValueError) as e:   # e.g. socks5:// without httpx[socks]
                raise httpx.ProxyError(f"cannot use the proxy {proxy}: {e}") from e
            netio.use_asyncio(pool)
        self._pools[key] = pool                          # most recently used last
        self._busy[key] = self._busy.get(key, 0) + 1     # so this pool is not evicted
        try:
            if new:
                await self._evict()
            response = await pool.handle_async_request(request)
        except BaseException:
            self._done(key)
            raise
        return httpx.Response(status_code=response.status_code, headers=response.headers,
                              stream=_Tracked(response.stream, lambda: self._done(key)),
                              extensions=response.extensions)

    def _done(self, key) -> None:
        left = self._busy.get(key, 0) - 1
        if left > 0:
            self._busy[key] = left
        else:
            self._busy.pop(key, None)

    async def _evict(self) -> None:
        excess = len(self._pools) - self._keep
        if excess <= 0:
            return
        idle = [k for k in list(self._pools)[:excess + len(self._busy)] if k not in self._busy]
        for key in idle[:excess]:
            await self._pools.pop(key).aclose()

    async def aclose(self) -> None:
        pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            await pool.aclose()


class _Tracked(httpx.AsyncByteStream):
    """A response body that reports, once, when it is closed (its connection is free again)."""

    def __init__(self, inner, on_close: Callable[[], None]):
        self._inner = inner
        self._on_close: Callable[[], None] | None = on_close

    async def __aiter__(self):
        async for chunk in self._inner:
            yield chunk

    async def aclose(self) -> None:
        try:
            await self._inner.aclose()
        finally:
            if self._on_close is not None:
                done, self._on_close = self._on_close, None
                done()


class Fetcher:
    def __init__(self, *, concurrency: int = 16, per_host: int = 2, connect: float = 10.0,
                 read: float = 30.0, total: float = 60.0, max_redirects: int = 5,
                 user_agent: str | None = None, transport: httpx.AsyncBaseTransport | None = None,
                 resolver: Resolver | None = None):
        self.total = total
        self._resolve = resolver or system_resolve
        self._internal: dict[str, bool] = {}
        self.max_redirects = max_redirects
        self.per_host = per_host
        self._global = asyncio.Semaphore(concurrency)
        self._hosts: dict[str, asyncio.Semaphore] = {}
        # Requests go straight to the transport, not through httpx.AsyncClient: the client's
        # layers (auth, redirects, cookie jar, hooks, URL and header merging) cost about 0.2 ms
        # of CPU per request, a third of a 304's, and we follow redirects by hand anyway. What
        # the client did that we need is kept: its default headers, the timeouts, the cookies,
        # and the proxies from the environment (PerOriginTransport).
        self._headers = [("User-Agent", user_agent or USER_AGENT),
                         # Only codings `_Body` decodes under the cap; never brotli/zstd.
                         ("Accept-Encoding", "gzip, deflate")]
        self._timeout = httpx.Timeout(connect=connect, read=read, write=read,
                                      pool=total).as_dict()
        self._cookies = httpx.Cookies()
        self._transport = transport or PerOriginTransport(per_host=per_host, keep=concurrency)

    async def __aenter__(self) -> "Fetcher":
        return self

    async def __aexit__(self, *exc) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._transport.aclose()

    def _proxied(self, url: httpx.URL) -> bool:
        proxies = getattr(self._transport, "proxies", None)
        return bool(proxies) and proxy_for(url, proxies) is not None

    def _host_slot(self, url: str) -> asyncio.Semaphore:
        host = (urlsplit(url).hostname or "").lower()
        if host not in self._hosts:
            self._hosts[host] = asyncio.Semaphore(self.per_host)
        return self._hosts[host]

    async def is_internal(self, url: str) -> bool:
        """Does `url`'s host resolve to a non-public address? (A feed the user configured on such
        an address may link to its neighbours; a public feed may not.) Cached per host."""
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        if host not in self._internal:
            try:
                addresses = await self._resolve(host, parts.port or 80)
            except OSError:
                addresses = []
            self._internal[host] = not addresses or not all(is_public(a) for a in addresses)
        return self._internal[host]

    async def _guard(self, asked: str, url: str) -> None:
        """Refuse `url` unless every address its host resolves to is public."""
        parts = urlsplit(url)
        host = parts.hostname or ""
        try:
            addresses = await self._resolve(host, parts.port or (443 if parts.scheme == "https"
                                                                 else 80))
        except OSError as e:
            raise FetchError(asked, "connect", f"cannot resolve {host}: {e}") from e
        bad = [a for a in addresses if not is_public(a)] or ([] if addresses else ["nothing"])
        if bad:
            raise FetchError(asked, "blocked", f"refusing to fetch {url[:120]}: {host} resolves "
                             f"to {bad[0]}, not a public address (a link in a feed may only "
                             "point to public addresses unless the feed itself is local)")

    async def get(self, url: str, *, max_bytes: int, etag: str | None = None,
                  last_modified: str | None = None, accept: str = FEED_ACCEPT,
                  allow_internal: bool = True) -> FetchResult:
        """GET `url` with every rule above applied. Raises FetchError; never an httpx error.
        `allow_internal=False` for links found in feeds (see the module docstring)."""
        _check_scheme(url, url)
        async with self._host_slot(url), self._global:
            start = time.monotonic()
            try:
                async with asyncio.timeout(self.total):
                    return await self._exchange(url, max_bytes, etag, last_modified, accept, start,
                                                allow_internal)
            except TimeoutError as e:
                raise FetchError(url, "timeout", f"no complete response within {self.total:g}s "
                                 "(total timeout)") from e

    async def _exchange(self, url, max_bytes, etag, last_modified, accept, start,
                        allow_internal: bool = True) -> FetchResult:
        headers = {"Accept": accept}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        current, permanent = url, True
        for hop in range(self.max_redirects + 1):
            if not allow_internal:
                await self._guard(url, current)
            status, resp_headers, body = await self._one(current, headers, max_bytes, url,
                                                         allow_internal)
            if status in REDIRECTS and "location" in resp_headers:
                try:
                    target = urljoin(current, resp_headers["location"].strip())
                except ValueError as e:
                    raise FetchError(url, "bad_url", f"bad redirect target: {e}") from e
                _check_scheme(url, target)
                permanent = permanent and status in PERMANENT
                current = target
                continue
            if status == 304:
                return FetchResult(url=url, final_url=current, status=304, body=b"",
                                   headers=resp_headers, etag=resp_headers.get("etag") or etag,
                                   last_modified=resp_headers.get("last-modified") or last_modified,
                                   permanent_url=current if permanent and current != url else None,
                                   elapsed=time.monotonic() - start)
            if status in (429, 503):
                delay = parse_retry_after(resp_headers.get("retry-after"))
                raise FetchError(url, f"http_{status}",
                                 f"HTTP {status}" + (f", retry after {delay:.0f}s" if delay else ""),
                                 status=status, retry_after=delay)
            if status >= 400 or status < 200 or status in REDIRECTS:
                raise FetchError(url, f"http_{status}", f"HTTP {status}", status=status)
            return FetchResult(url=url, final_url=current, status=status, body=body,
                               headers=resp_headers, etag=resp_headers.get("etag"),
                               last_modified=resp_headers.get("last-modified"),
                               permanent_url=current if permanent and current != url else None,
                               elapsed=time.monotonic() - start)
        raise FetchError(url, "redirects", f"more than {self.max_redirects} redirects")

    async def _one(self, url: str, headers: dict, max_bytes: int, asked: str,
                   allow_internal: bool = True):
        """One request/response. The body is read only for a 2xx answer."""
        try:
            request = httpx.Request("GET", url, headers=[*self._headers, *headers.items()],
                                    extensions={"timeout": self._timeout})
            if self._cookies.jar:
                self._cookies.set_cookie_header(request)
            resp = await self._transport.handle_async_request(request)
            try:
                resp.request = request
                if "set-cookie" in resp.headers:
                    # Kept for the rest of the poll, as a browser would: a site that sets a
                    # cookie and redirects to itself expects it back.
                    self._cookies.extract_cookies(resp)
                if not allow_internal and not self._proxied(request.url):
                    _check_peer(asked, url, resp)
                resp_headers = {k.lower(): v for k, v in resp.headers.items()}
                if not 200 <= resp.status_code < 300:
                    await _drain(resp)
                    return resp.status_code, resp_headers, b""
                declared = resp.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > max_bytes:
                    raise FetchError(asked, "too_large",
                                     f"Content-Length {declared} exceeds the {max_bytes}-byte cap")
                body = _Body(asked, max_bytes, resp_headers.get("content-encoding", ""))
                async for raw in resp.stream:
                    body.feed(raw)
                return resp.status_code, resp_headers, body.finish()
            finally:
                await resp.stream.aclose()
        except httpx.TimeoutException as e:
            raise FetchError(asked, "timeout", f"{type(e).__name__} at {url}") from e
        except httpx.ConnectError as e:
            raise FetchError(asked, "connect", f"cannot connect to {urlsplit(url).netloc}: "
                             f"{e or type(e).__name__}") from e
        except httpx.DecodingError as e:
            raise FetchError(asked, "decoding", f"bad content encoding: {e}") from e
        except httpx.InvalidURL as e:
            raise FetchError(asked, "bad_url", str(e)) from e
        except (httpx.HTTPError, httpx.StreamError) as e:
            raise FetchError(asked, "network", f"{type(e).__name__}: {e}") from e


class _Body:
    """Collects a response body under a size cap, decompressing it here rather than in httpx:
    zlib's `max_length` bounds every step's output, so a gzip bomb costs at most the cap in
    memory (httpx would inflate each network read whole). The cap counts raw and decoded bytes."""

    def __init__(self, url: str, cap: int, encoding: str):
        self.url, self.cap, self.size = url, cap, 0
        self.raw_size = 0
        self.chunks: list[bytes] = []
        codings = [c.strip().lower() for c in encoding.split(",") if c.strip()]
        codings = [c for c in codings if c != "identity"]
        if len(codings) > 1:
            raise FetchError(url, "decoding", f"unsupported content-encoding {encoding!r}")
        coding = codings[0] if codings else ""
        if coding in ("gzip", "x-gzip"):
            self.inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif coding == "deflate":   # zlib-wrapped per RFC 9110; raw deflate is tried on failure
            self.inflater = zlib.decompressobj()
        elif coding:
            raise FetchError(url, "decoding", f"unsupported content-encoding {coding!r}")
        else:
            self.inflater = None
        self.coding = coding
        self._started = False

    def _add(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > self.cap:
            raise FetchError(self.url, "too_large",
                             f"body exceeds the {self.cap}-byte cap"
                             + (" (decompressed)" if self.inflater else ""))
        if data:
            self.chunks.append(data)

    def feed(self, raw: bytes) -> None:
        self.raw_size += len(raw)
        if self.raw_size > self.cap:
            raise FetchError(self.url, "too_large", f"body exceeds the {self.cap}-byte cap")
        if self.inflater is None:
            return self._add(raw)
        data = raw
        while data:
            try:
                out = self.inflater.decompress(data, self.cap - self.size + 1)
            except zlib.error as e:
                if self.coding == "deflate" and not self._started:
                    self.inflater = zlib.decompressobj(-zlib.MAX_WBITS)
                    self._started = True
                    continue
                raise FetchError(self.url, "decoding", f"bad {self.coding} data: {e}") from e
            self._started = True
            self._add(out)
            data = self.inflater.unconsumed_tail
            if self.inflater.eof:
                break

    def finish(self) -> bytes:
        if self.inflater is not None:
            try:
                self._add(self.inflater.flush())
            except zlib.error as e:
                raise FetchError(self.url, "decoding", f"bad {self.coding} data: {e}") from e
        return b"".join(self.chunks)


DRAIN_CAP = 64 * 1024


async def _drain(resp: httpx.Response) -> None:
    """Read the (small) body of an answer we do not use (304, a redirect, an error page) so its
    connection goes back to the pool: httpcore keeps a connection only once the whole response
    has been read, and closing early costs a new connection (and a TCP handshake) for the next
    request, as it did for every feed of a warm poll. A body over DRAIN_CAP is left unread: its
    connection is closed instead."""
    declared = resp.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > DRAIN_CAP:
        return
    seen = 0
    async for raw in resp.stream:
        seen += len(raw)
        if seen > DRAIN_CAP:
            return


def _check_peer(asked: str, url: str, resp: httpx.Response) -> None:
    """The address actually connected to must be public too (DNS can answer differently between
    our check and httpx's own lookup). Checked before any of the body is read."""
    stream = resp.extensions.get("network_stream")
    peer = stream.get_extra_info("server_addr") if stream is not None else None
    address = peer[0] if isinstance(peer, tuple) and peer else None
    if address is not None and not is_public(str(address)):
        raise FetchError(asked, "blocked", f"refusing {url[:120]}: connected to {address}, not a "
                         "public address")


def _check_scheme(asked: str, url: str) -> None:
    """Only http and https, with a host and a valid port."""
    try:
        parts = urlsplit(url)
        parts.port   # raises ValueError when out of range
    except ValueError as e:
        raise FetchError(asked, "bad_url", f"{e}: {url[:200]}") from e
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise FetchError(asked, "scheme", f"refusing to fetch a {scheme or 'relative'}: URL ({url[:80]})")
    if not parts.hostname:
        raise FetchError(asked, "bad_url", f"no host in {url[:200]}")
