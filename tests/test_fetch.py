"""Unit tests for monitor.fetch against the real HTTP server on 127.0.0.1 (tests/server.py).

Every exchange runs inside asyncio.run with an outer safety bound, so a regression cannot hang
the run; timings are safety bounds, not benchmarks.
"""

from __future__ import annotations

import asyncio
import socket
import struct
import threading
import time
import tracemalloc
import zlib
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest

from monitor import __version__
from monitor.errors import FetchError
from monitor.fetch import MAX_RETRY_AFTER, Fetcher, parse_retry_after
from tests.server import FeedServer

BODY = b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>'
SAFETY = 20.0      # seconds: the outer bound on any one test's exchanges


@pytest.fixture(scope="module")
def module_server():
    s = FeedServer()
    yield s
    s.stop()


@pytest.fixture
def server(module_server):
    """The conftest `server` (tests/server.py), started once for this module — stopping one
    takes ~0.5 s — and emptied before each test."""
    s = module_server
    with s._lock:
        s.routes.clear()
        s.hits.clear()
        s.statuses.clear()
        s.request_headers.clear()
        s.connections = 0
    yield s
    s.__dict__.pop("_handle", None)          # drop an InFlight wrapper


def fetch(url: str, *, max_bytes: int = 1_000_000, etag=None, last_modified=None, **fetcher_kw):
    """One Fetcher.get inside asyncio.run."""
    async def go():
        async with Fetcher(**fetcher_kw) as f:
            return await asyncio.wait_for(
                f.get(url, max_bytes=max_bytes, etag=etag, last_modified=last_modified), SAFETY)
    return asyncio.run(go())


def fetch_error(url: str, **kw) -> FetchError:
    with pytest.raises(FetchError) as info:
        fetch(url, **kw)
    return info.value


class InFlight:
    """Counts requests being handled by the server at once (wraps its request handler)."""

    def __init__(self, server):
        self.lock = threading.Lock()
        self.now = self.peak = self.total = 0
        handle = server._handle

        def counting(h):
            with self.lock:
                self.now += 1
                self.total += 1
                self.peak = max(self.peak, self.now)
            try:
                handle(h)
            finally:
                with self.lock:
                    self.now -= 1

        server._handle = counting


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- 200 and conditional GET --------------------------------------------------------------------


def test_200_returns_the_body_and_validators(server):
    url = server.add("/feed.xml", BODY, etag='"v1"', last_modified="Tue, 24 Nov 2026 08:00:00 GMT",
                     headers={"X-Extra": "yes"})
    r = fetch(url)
    assert r.status == 200 and r.body == BODY and not r.not_modified
    assert r.url == r.final_url == url and r.permanent_url is None
    assert r.etag == '"v1"' and r.last_modified == "Tue, 24 Nov 2026 08:00:00 GMT"
    assert r.headers["x-extra"] == "yes"                      # lower-case names
    assert r.headers["content-type"].startswith("application/rss+xml")
    assert 0 < r.elapsed < 5
    assert server.count("/feed.xml") == 1


def test_304_when_the_etag_matches(server):
    url = server.add("/feed.xml", BODY, etag='"v1"')
    r = fetch(url, etag='"v1"')
    assert r.status == 304 and r.not_modified and r.body == b""
    assert r.etag == '"v1"'
    sent = dict(server.request_headers[-1][1])
    assert sent.get("If-None-Match") == '"v1"'


def test_200_when_the_etag_changed(server):
    url = server.add("/feed.xml", BODY, etag='"v2"')
    r = fetch(url, etag='"v1"')
    assert r.status == 200 and r.body == BODY and r.etag == '"v2"'


def test_304_with_if_modified_since_keeps_the_validator(server):
    stamp = "Tue, 24 Nov 2026 08:00:00 GMT"
    url = server.add("/feed.xml", BODY, last_modified=stamp)
    r = fetch(url, last_modified=stamp)
    assert r.status == 304 and r.body == b"" and r.last_modified == stamp
    assert dict(server.request_headers[-1][1]).get("If-Modified-Since") == stamp


def test_no_conditional_headers_without_validators(server):
    url = server.add("/feed.xml", BODY, etag='"v1"')
    fetch(url)
    sent = dict(server.request_headers[-1][1])
    assert "If-None-Match" not in sent and "If-Modified-Since" not in sent


def test_gzip_body_is_decompressed(server):
    url = server.add("/feed.xml", BODY * 50, gzip=True)
    assert fetch(url).body == BODY * 50


def test_user_agent_names_monitor_and_its_version(server):
    url = server.add("/feed.xml", BODY)
    fetch(url)
    sent = dict(server.request_headers[-1][1])
    assert sent["User-Agent"].startswith(f"monitor/{__version__}")
    assert "rss+xml" in sent["Accept"]


def test_configured_user_agent_is_sent(server):
    url = server.add("/feed.xml", BODY)
    fetch(url, user_agent="custom-agent/9")
    assert dict(server.request_headers[-1][1])["User-Agent"] == "custom-agent/9"


# --- redirects ----------------------------------------------------------------------------------


def test_three_permanent_redirects_report_the_permanent_url(server):
    final = server.add("/final.xml", BODY)
    server.add("/r3", status=301, headers={"Location": final})
    server.add("/r2", status=308, headers={"Location": "/r3"})            # relative Location
    start = server.add("/r1", status=301, headers={"Location": server.url("/r2")})
    r = fetch(start)
    assert r.status == 200 and r.body == BODY
    assert r.url == start and r.final_url == final and r.permanent_url == final
    assert [server.count(p) for p in ("/r1", "/r2", "/r3", "/final.xml")] == [1, 1, 1, 1]


@pytest.mark.parametrize("temporary", [302, 303, 307])
def test_a_temporary_redirect_in_the_chain_means_no_permanent_url(server, temporary):
    final = server.add("/final.xml", BODY)
    server.add("/r3", status=301, headers={"Location": final})
    server.add("/r2", status=temporary, headers={"Location": "/r3"})
    start = server.add("/r1", status=301, headers={"Location": "/r2"})
    r = fetch(start)
    assert r.status == 200 and r.final_url == final
    assert r.permanent_url is None


def test_permanent_redirect_then_304(server):
    final = server.add("/final.xml", BODY, etag='"e"')
    start = server.add("/old.xml", status=301, headers={"Location": final})
    r = fetch(start, etag='"e"')
    assert r.status == 304 and r.permanent_url == final


def test_a_cookie_set_with_a_redirect_is_sent_back(server):
    """Sites that set a cookie and redirect (a consent gate, a session) expect it back on the
    next hop and later requests to the host, as a browser would send it; other hosts never get
    it. (Fetcher bypasses httpx.AsyncClient, so it keeps the cookie jar itself.)"""
    final = server.add("/feed.xml", BODY)
    start = server.add("/gate", status=302, headers={"Location": "/feed.xml",
                                                      "Set-Cookie": "consent=yes; Path=/"})
    other = FeedServer(host="127.0.0.2")
    try:
        elsewhere = other.add("/x", BODY)

        async def go():
            async with Fetcher() as f:
                first = await f.get(start, max_bytes=100_000)
                again = await f.get(final, max_bytes=100_000)
                away = await f.get(elsewhere, max_bytes=100_000)
                return first, again, away
        first, again, away = asyncio.run(asyncio.wait_for(go(), SAFETY))
        assert first.body == again.body == away.body == BODY
        sent = [h.get("Cookie") for path, h in server.request_headers]
        assert sent == [None, "consent=yes", "consent=yes"]
        assert [h.get("Cookie") for _, h in other.request_headers] == [None]
    finally:
        other.stop()


def test_redirect_loop_is_cut(server):
    server.add("/a", status=302, headers={"Location": "/b"})
    server.add("/b", status=302, headers={"Location": "/a"})
    err = fetch_error(server.url("/a"), max_redirects=5)
    assert err.kind == "redirects" and err.url == server.url("/a")
    assert server.count("/a") + server.count("/b") == 6        # the first request + 5 redirects


def test_self_redirect_is_cut(server):
    url = server.add("/self", status=301, headers={"Location": "/self"})
    assert fetch_error(url, max_redirects=3).kind == "redirects"
    assert server.count("/self") == 4


def test_max_redirects_is_exact(server):
    final = server.add("/final.xml", BODY)
    server.add("/r2", status=301, headers={"Location": final})
    start = server.add("/r1", status=301, headers={"Location": "/r2"})
    assert fetch(start, max_redirects=2).body == BODY
    assert fetch_error(start, max_redirects=1).kind == "redirects"


@pytest.mark.parametrize("target", ["ftp://127.0.0.1/feed.xml", "file:///etc/passwd",
                                    "gopher://127.0.0.1/", "FILE:///etc/passwd"])
def test_redirect_to_another_scheme_is_refused(server, target):
    url = server.add("/r", status=301, headers={"Location": target})
    err = fetch_error(url)
    assert err.kind == "scheme" and err.url == url
    assert "root:" not in str(err)                              # nothing was read


def test_redirect_to_a_javascript_url_is_a_fetch_error(server):
    url = server.add("/r", status=302, headers={"Location": "javascript:alert(1)"})
    assert fetch_error(url).kind in ("scheme", "bad_url")
    assert sum(server.hits.values()) == 1


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/feed.xml", "file:///etc/passwd", ""])
def test_non_http_url_is_refused_before_any_request(url):
    assert fetch_error(url).kind == "scheme"


def test_redirect_without_location_is_an_http_error(server):
    url = server.add("/r", status=301)
    err = fetch_error(url)
    assert err.kind == "http_301" and err.status == 301


def test_malformed_location_is_a_fetch_error(server):
    url = server.add("/r", status=301, headers={"Location": "http://[bad/"})
    assert isinstance(fetch_error(url), FetchError)


def test_out_of_range_port_is_a_fetch_error(server):
    url = server.add("/r", status=302, headers={"Location": "http://127.0.0.1:99999/x"})
    assert isinstance(fetch_error(url), FetchError)


# --- size caps ----------------------------------------------------------------------------------


def test_content_length_over_the_cap_is_too_large(server):
    url = server.add("/big.xml", b"x" * 5000)
    err = fetch_error(url, max_bytes=4999)
    assert err.kind == "too_large" and "Content-Length" in err.detail


def test_body_exactly_at_the_cap_is_accepted(server):
    url = server.add("/exact.xml", b"x" * 5000)
    assert len(fetch(url, max_bytes=5000).body) == 5000


def test_body_over_the_cap_without_content_length_is_too_large(server):
    url = server.add("/endless.xml", length=50_000_000)           # 50 MB, no Content-Length
    started = time.monotonic()
    err = fetch_error(url, max_bytes=1_000_000)
    assert err.kind == "too_large" and "cap" in err.detail
    assert time.monotonic() - started < 5


def gzip_bomb(megabytes: int = 200) -> bytes:
    """gzip of `megabytes` MB of zeros, built in a streaming fashion (~200 KB, no 200 MB buffer):
    one full-flushed deflate block of 1 MB of zeros, repeated, then the real CRC and size."""
    zero = bytes(1 << 20)
    c = zlib.compressobj(9, zlib.DEFLATED, 31)
    first = c.compress(zero) + c.flush(zlib.Z_FULL_FLUSH)
    block = c.compress(zero) + c.flush(zlib.Z_FULL_FLUSH)
    end = c.flush(zlib.Z_FINISH)[:-8]
    crc = 0
    for _ in range(megabytes):
        crc = zlib.crc32(zero, crc)
    return first + block * (megabytes - 1) + end + struct.pack(
        "<II", crc, (megabytes << 20) & 0xFFFFFFFF)


@pytest.fixture(scope="module")
def bomb() -> bytes:
    data = gzip_bomb(200)
    assert len(data) < 400_000
    # it really is 200 MB of zeros (checked in bounded steps, never all in memory)
    d, rest, total = zlib.decompressobj(31), data[:40_000], 0
    while rest:
        total += len(d.decompress(rest, 1 << 20))
        rest = d.unconsumed_tail
    assert total > 30 * (1 << 20)
    return data


def fetch_bomb(server, bomb, cap: int):
    url = server.add("/bomb.xml", bomb, headers={"Content-Encoding": "gzip"})
    tracemalloc.start()
    started = time.monotonic()
    try:
        with pytest.raises(FetchError) as info:
            fetch(url, max_bytes=cap)
        elapsed = time.monotonic() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return info.value, elapsed, peak


def test_gzip_bomb_is_cut_as_too_large_quickly(server, bomb):
    err, elapsed, peak = fetch_bomb(server, bomb, cap=1 << 20)
    assert err.kind == "too_large" and "decompressed" in err.detail
    assert elapsed < 5
    # never inflated whole: 200 MB of zeros would need well over 200 MB
    assert peak < 200 * (1 << 20), f"peak {peak / 2**20:.0f} MB"


def test_gzip_bomb_peak_memory_stays_near_the_cap(server, bomb):
    err, _, peak = fetch_bomb(server, bomb, cap=1 << 20)
    assert err.kind == "too_large"
    assert peak < 48 * (1 << 20), f"peak {peak / 2**20:.0f} MB with a 1 MB cap"


def test_broken_gzip_is_a_decoding_error(server):
    url = server.add("/bad.xml", b"this is not gzip", headers={"Content-Encoding": "gzip"})
    assert fetch_error(url).kind == "decoding"


# --- timeouts -----------------------------------------------------------------------------------


def test_trickling_server_is_cut_at_the_total_timeout(server):
    url = server.add("/slow.xml", BODY, trickle=1.0)      # one byte a second, each read is quick
    started = time.monotonic()
    err = fetch_error(url, total=2.0, read=30.0)
    elapsed = time.monotonic() - started
    assert err.kind == "timeout" and "total" in err.detail
    assert 1.5 < elapsed < 5


def test_silent_server_is_cut_at_the_read_timeout(server):
    url = server.add("/silent.xml", BODY, delay=3.0)
    started = time.monotonic()
    err = fetch_error(url, read=0.3, total=30.0)
    assert err.kind == "timeout"
    assert time.monotonic() - started < 2.5


def test_connection_refused():
    port = free_port()
    err = fetch_error(f"http://127.0.0.1:{port}/feed.xml", connect=2.0, total=5.0)
    assert err.kind == "connect" and err.status is None


# --- statuses -----------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [500, 502, 404, 410, 403])
def test_error_status_is_a_fetch_error_with_the_status(server, status):
    url = server.add("/feed.xml", b"oops", status=status)
    err = fetch_error(url)
    assert err.kind == f"http_{status}" and err.status == status
    assert err.retry_after is None


def test_429_with_retry_after_seconds(server):
    url = server.add("/feed.xml", b"slow down", status=429, headers={"Retry-After": "120"})
    err = fetch_error(url)
    assert err.kind == "http_429" and err.status == 429 and err.retry_after == 120.0
    assert "120" in err.detail


def test_503_with_retry_after_as_an_http_date(server):
    when = datetime.now(timezone.utc) + timedelta(seconds=90)
    url = server.add("/feed.xml", b"", status=503,
                     headers={"Retry-After": format_datetime(when, usegmt=True)})
    err = fetch_error(url)
    assert err.kind == "http_503"
    assert 80 <= err.retry_after <= 91


def test_429_without_retry_after(server):
    url = server.add("/feed.xml", b"", status=429)
    err = fetch_error(url)
    assert err.kind == "http_429" and err.retry_after is None


def test_retry_after_is_capped_at_a_day(server):
    url = server.add("/feed.xml", b"", status=429, headers={"Retry-After": "9999999"})
    assert fetch_error(url).retry_after == MAX_RETRY_AFTER == 86400.0


def test_garbage_retry_after_from_a_server_is_ignored(server):
    url = server.add("/feed.xml", b"", status=429, headers={"Retry-After": "\u00b2"})
    err = fetch_error(url)
    assert err.kind == "http_429" and err.retry_after is None


# --- concurrency limits (measured on the server side) -------------------------------------------


def fetch_many(urls: list[str], **fetcher_kw):
    async def go():
        async with Fetcher(**fetcher_kw) as f:
            return await asyncio.wait_for(
                asyncio.gather(*(f.get(u, max_bytes=1_000_000) for u in urls)), SAFETY)
    started = time.monotonic()
    results = asyncio.run(go())
    return results, time.monotonic() - started


def test_per_host_limit_keeps_at_most_two_requests_in_flight(server):
    flight = InFlight(server)
    urls = [server.add(f"/slow{i}.xml", BODY, delay=0.3) for i in range(6)]
    results, elapsed = fetch_many(urls, per_host=2, concurrency=16)
    assert [r.status for r in results] == [200] * 6
    assert flight.total == 6
    assert flight.peak == 2                      # never more, and the two slots were used
    assert elapsed >= 3 * 0.3 * 0.95             # three waves of two


def test_global_limit_applies_across_requests(server):
    flight = InFlight(server)
    urls = [server.add(f"/slow{i}.xml", BODY, delay=0.3) for i in range(6)]
    _, elapsed = fetch_many(urls, per_host=64, concurrency=3)
    assert flight.peak == 3
    assert elapsed >= 2 * 0.3 * 0.95


# --- parse_retry_after --------------------------------------------------------------------------

NOW = datetime(2026, 11, 24, 8, 0, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("value, expected", [
    ("120", 120.0), (" 120 ", 120.0), ("0", 0.0), ("86400", 86400.0), ("86401", 86400.0),
    ("9" * 400, 86400.0),
    ("Tue, 24 Nov 2026 08:01:00 GMT", 60.0),             # IMF-fixdate
    ("Tuesday, 24-Nov-26 08:02:00 GMT", 120.0),          # obsolete RFC 850 form
    ("Tue Nov 24 08:03:00 2026", 180.0),                 # obsolete asctime form (no zone: UTC)
    ("Tue, 24 Nov 2026 07:00:00 GMT", 0.0),              # in the past
    ("Tue, 24 Nov 2026 10:00:00 +0200", 0.0),            # = 08:00 UTC
    ("Wed, 25 Nov 2026 09:00:00 GMT", 86400.0),          # more than a day: capped
])
def test_parse_retry_after(value, expected):
    assert parse_retry_after(value, now=NOW) == expected


@pytest.mark.parametrize("value", [None, "", "   ", "-5", "1.5", "soon", "120s", "Tue, 99 Foo"])
def test_parse_retry_after_ignores_what_it_cannot_read(value):
    assert parse_retry_after(value, now=NOW) is None


def test_parse_retry_after_defaults_now_to_the_clock():
    when = datetime.now(timezone.utc) + timedelta(seconds=300)
    assert 290 <= parse_retry_after(format_datetime(when, usegmt=True)) <= 300


@pytest.mark.parametrize("value", ["\u00b2", "1\u00b2"])
def test_parse_retry_after_superscript_digits(value):
    assert parse_retry_after(value, now=NOW) is None


def test_one_small_pool_per_origin_and_idle_pools_closed():
    """Each origin gets its own pool of at most per_host connections (httpcore scans every
    connection of a pool on each request: one shared pool of ~100 cost 19% of a cold poll's
    main thread); beyond `concurrency` pools, the least recently used idle ones are closed."""
    servers = [FeedServer() for _ in range(4)]
    try:
        for s in servers:
            s.add("/f", b"x" * 100)

        async def go():
            async with Fetcher(concurrency=2, per_host=2) as f:
                transport = f._transport
                for _ in range(3):
                    for s in servers:
                        got = await f.get(s.url("/f"), max_bytes=1000)
                        assert got.status == 200 and got.body == b"x" * 100
                        assert len(transport._pools) <= 2 and not transport._busy
                # six at once to one origin: its pool never holds more than per_host * 2
                results = await asyncio.gather(*(f.get(servers[0].url("/f"), max_bytes=1000)
                                                 for _ in range(6)))
                assert all(r.body == b"x" * 100 for r in results)
                pool = transport._pools[(b"http", b"127.0.0.1", servers[0].port)]
                assert len(pool._pool.connections) <= 2
                assert not transport._busy
            assert transport._pools == {}           # closed with the fetcher
        asyncio.run(asyncio.wait_for(go(), SAFETY))
        assert sum(s.hits["/f"] for s in servers) == 18
    finally:
        for s in servers:
            s.stop()


@pytest.mark.parametrize("route", [
    dict(etag='"v1"'),                                          # 304 (the warm poll)
    dict(status=404, body=b"<html>not here</html>" * 50),       # an error page with a body
    dict(status=301, headers={"Location": "/x"}, body=b"moved"),  # a redirect (to a 404)
])
def test_answers_without_a_used_body_leave_the_connection_for_the_next_request(server, route):
    """httpcore keeps a connection only once the whole response was read: a 304, redirect or
    error answer must be read to its end, or every feed of a warm poll costs a new connection
    (it did: 1,000 TCP connections for 1,000 feeds where 100 were enough)."""
    url = server.add("/r", **route)

    async def go():
        async with Fetcher(concurrency=1, per_host=1) as f:
            for _ in range(6):
                try:
                    await f.get(url, max_bytes=100_000, etag='"v1"')
                except FetchError:
                    pass
    asyncio.run(asyncio.wait_for(go(), SAFETY))
    assert server.count("/r") == 6
    assert server.connections == 1


def test_a_big_unused_body_is_not_read_its_connection_is_closed(server):
    """An error answer with a body over DRAIN_CAP is not downloaded just to keep a connection."""
    from monitor.fetch import DRAIN_CAP
    url = server.add("/big", status=500, body=b"e" * (DRAIN_CAP * 4))

    async def go():
        async with Fetcher(concurrency=1, per_host=1) as f:
            for _ in range(3):
                with pytest.raises(FetchError):
                    await f.get(url, max_bytes=100_000)
    asyncio.run(asyncio.wait_for(go(), SAFETY))
    assert server.count("/big") == 3 and server.connections == 3


# --- https -------------------------------------------------------------------------------------


@pytest.fixture
def https_server():
    from tests.smtp_server import server_tls

    s = FeedServer(tls=server_tls())
    yield s
    s.stop()


@pytest.fixture
def fresh_tls(monkeypatch):
    """fetch's one TLS context, made again for this test (and dropped after it)."""
    from monitor.fetch import tls_context

    tls_context.cache_clear()
    yield monkeypatch
    tls_context.cache_clear()


def test_https_verifies_the_certificate_against_the_system_cas(https_server, fresh_tls):
    """The test CA is not one the system trusts: an https pool refuses the server (http pools
    skip loading certificates; an https one must not skip verifying them)."""
    url = https_server.add("/f.xml", BODY)
    e = fetch_error(url)
    assert e.kind == "connect" and "CERTIFICATE_VERIFY_FAILED" in str(e)
    assert https_server.count("/f.xml") == 0


def test_https_with_a_trusted_ca_fetches_and_reuses_the_connection(https_server, fresh_tls):
    from tests.smtp_server import CA

    fresh_tls.setenv("SSL_CERT_FILE", str(CA))     # httpx's context honours it
    url = https_server.add("/f.xml", BODY, etag='"v"')

    async def go():
        async with Fetcher(concurrency=1, per_host=1) as f:
            first = await f.get(url, max_bytes=10_000)
            again = await f.get(url, max_bytes=10_000, etag='"v"')
            return first, again
    first, again = asyncio.run(asyncio.wait_for(go(), SAFETY))
    assert first.status == 200 and first.body == BODY and again.status == 304
    assert https_server.connections == 1


# --- proxies from the environment ---------------------------------------------------------------


@pytest.fixture
def proxy_env(monkeypatch):
    """No proxy variable from the machine running the tests leaks into these."""
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    return monkeypatch


async def _public(host: str, port: int) -> list[str]:
    return ["8.8.8.8"] if host.endswith(".public.test") else ["127.0.0.1"]


def test_http_proxy_from_the_environment_is_used(server, proxy_env):
    """HTTP_PROXY as httpx's client and most tools honour it: the request goes to the proxy in
    absolute form. A link from a feed (allow_internal=False) whose host resolves to a public
    address is fetched through it: the connected peer is the proxy, not the target, so only the
    target's DNS is checked."""
    server.add("/feed.xml", BODY)
    proxy_env.setenv("HTTP_PROXY", server.url(""))

    async def go():
        async with Fetcher(resolver=_public) as f:
            feed = await f.get("http://feeds.public.test/feed.xml", max_bytes=100_000)
            page = await f.get("http://news.public.test/feed.xml", max_bytes=100_000,
                               allow_internal=False)
            return feed, page
    feed, page = asyncio.run(asyncio.wait_for(go(), SAFETY))
    assert feed.body == page.body == BODY
    assert [p for p, _ in server.request_headers] == ["http://feeds.public.test/feed.xml",
                                                      "http://news.public.test/feed.xml"]
    # the target's own DNS check still applies through the proxy
    with pytest.raises(FetchError) as info:
        asyncio.run(asyncio.wait_for(_get_once("http://internal.test/feed.xml"), SAFETY))
    assert info.value.kind == "blocked"


async def _get_once(url: str):
    async with Fetcher(resolver=_public) as f:
        return await f.get(url, max_bytes=100_000, allow_internal=False)


def test_no_proxy_hosts_are_fetched_directly(server, proxy_env):
    direct = FeedServer(host="127.0.0.2")
    try:
        url = direct.add("/feed.xml", BODY)
        proxy_env.setenv("http_proxy", server.url(""))
        proxy_env.setenv("no_proxy", "localhost,127.0.0.2")
        assert fetch(url).body == BODY
        assert direct.count("/feed.xml") == 1 and server.request_headers == []
    finally:
        direct.stop()


def test_an_unusable_proxy_is_a_network_error_not_a_crash(server, proxy_env):
    try:
        import socksio  # noqa: F401
        pytest.skip("socksio is installed: httpx can use a SOCKS proxy here")
    except ImportError:
        pass
    proxy_env.setenv("ALL_PROXY", "socks5://127.0.0.1:9")
    err = fetch_error(server.add("/feed.xml", BODY))
    assert err.kind == "network" and "cannot use the proxy socks5://127.0.0.1:9" in str(err)
