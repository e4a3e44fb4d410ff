"""Where links may point: a link found in a feed is not fetched when it resolves to a loopback,
private, link-local or otherwise internal address — unless the feed itself is on such an address.

No traffic leaves 127.0.0.1: a fake resolver tells the fetcher that `*.public.test` hosts are on
public addresses (8.8.8.8), and a network backend routes every connection to the local test server
(a DNS answer that changed between the check and the connection: the "rebinding" case)."""

from __future__ import annotations

import asyncio
import socket

import httpcore
import httpx
import pytest

from monitor.app import App
from monitor.config import load_config
from monitor.errors import FetchError
from monitor.fetch import Fetcher, is_public
from tests.conftest import article_page, rss, write_config

SECRET = "INTERNAL-SECRET-7f3a"


class ToLoopback(httpcore.AsyncNetworkBackend):
    """Connects every *.public.test host to the local server, whatever the name resolved to."""

    def __init__(self, port: int):
        self.inner, self.port = httpcore.AnyIOBackend(), port

    async def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        if host.endswith(".public.test"):
            host, port = "127.0.0.1", self.port
        return await self.inner.connect_tcp(host, port, timeout=timeout,
                                            local_address=local_address,
                                            socket_options=socket_options)

    async def sleep(self, seconds):
        await self.inner.sleep(seconds)


def transport(port: int) -> httpx.AsyncHTTPTransport:
    t = httpx.AsyncHTTPTransport()
    t._pool = httpcore.AsyncConnectionPool(network_backend=ToLoopback(port))   # test-only
    return t


async def fake_resolve(host: str, port: int) -> list[str]:
    if host.endswith(".public.test"):
        return ["8.8.8.8"]
    # IP literals, "localhost", decimal/hex IPv4: the real resolver answers without a network
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [i[4][0] for i in infos]


def fetcher(server) -> Fetcher:
    return Fetcher(transport=transport(server.port), resolver=fake_resolve, total=10)


@pytest.mark.parametrize("address, public", [
    ("8.8.8.8", True), ("2001:4860:4860::8888", True),
    ("127.0.0.1", False), ("10.1.2.3", False), ("172.16.0.1", False), ("192.168.1.1", False),
    ("169.254.169.254", False), ("100.64.0.1", False), ("0.0.0.0", False), ("224.0.0.1", False),
    ("::1", False), ("fe80::1", False), ("fc00::1", False), ("::ffff:127.0.0.1", False),
    ("::ffff:8.8.8.8", True), ("192.0.2.1", False), ("not an address", False),
])
def test_is_public(address, public):
    assert is_public(address) is public


def refused(server, url: str) -> FetchError:
    """Fetch `url` as a link from a public feed; the FetchError it must raise."""
    async def go():
        async with fetcher(server) as f:
            with pytest.raises(FetchError) as e:
                await f.get(url, max_bytes=10_000, allow_internal=False)
            return e.value
    return asyncio.run(go())


def secret(server) -> None:
    server.add("/secret", SECRET, content_type="text/plain")


@pytest.mark.parametrize("link", [
    "http://127.0.0.1:{port}/secret",
    "http://localhost:{port}/secret",
    "http://[::1]:{port}/secret",
    "http://2130706433:{port}/secret",      # 127.0.0.1 as one decimal number
    "http://0x7f000001:{port}/secret",      # ... and in hex
    "http://127.1:{port}/secret",
    "http://10.0.0.1/secret",
    "http://169.254.169.254/latest/meta-data/",
    "http://[fd00::1]/secret",
])
def test_a_link_to_an_internal_address_is_refused_before_connecting(server, link):
    secret(server)

    err = refused(server, link.format(port=server.port))
    assert err.kind in ("blocked", "bad_url", "connect"), err
    assert server.count("/secret") == 0


def test_a_redirect_hop_to_an_internal_address_is_refused(server):
    secret(server)
    server.add("/jump", "", status=302, headers={"Location": server.url("/secret")})

    err = refused(server, "http://news.public.test/jump")
    assert err.kind == "blocked" and "127.0.0.1" in str(err)
    assert server.count("/jump") == 1 and server.count("/secret") == 0


def test_the_address_actually_connected_to_is_checked(server):
    """The name resolved to a public address, but the connection went to 127.0.0.1."""
    secret(server)

    err = refused(server, "http://rebind.public.test/secret")
    assert err.kind == "blocked" and "connected to 127.0.0.1" in str(err)


def test_a_configured_local_feed_and_its_local_links_are_fetched(server):
    secret(server)

    async def go():
        async with fetcher(server) as f:
            feed_is_local = await f.is_internal(server.url("/feed.xml"))
            r = await f.get(server.url("/secret"), max_bytes=10_000, allow_internal=feed_is_local)
            return feed_is_local, r

    local, r = asyncio.run(go())
    assert local and r.body.decode() == SECRET


def test_a_public_feeds_internal_links_never_reach_the_corpus(server, corpus, tmp_path):
    """Through the whole pipeline (real server, real SQLite, real corpus): a feed on a public
    host whose items link to internal addresses. The stories may be kept with the feed's own
    text; the internal pages are never requested and their content never stored."""
    secret(server)
    server.add("/secret-page", article_page("Russia and North Korea secret page",
                                            [SECRET + " Putin and Kim Jong Un " * 20]),
               content_type="text/html; charset=utf-8")
    server.add("/jump", "", status=302, headers={"Location": server.url("/secret-page")})
    links = [server.url("/secret-page"), f"http://localhost:{server.port}/secret-page",
             "http://news.public.test/jump", "http://169.254.169.254/latest/meta-data/",
             "file:///etc/passwd", "ftp://news.public.test/x", "javascript:alert(1)",
             "data:text/html,<p>Putin and Kim Jong Un</p>"]
    items = [{"title": f"Putin and Kim Jong Un meet, report {i}", "link": link,
              "guid": f"g{i}",
              "description": f"Russia and North Korea held talks in Pyongyang, part {i}. " * 6}
             for i, link in enumerate(links)]
    server.add("/feed.xml", rss(items))
    config = load_config(write_config(tmp_path, ["http://feeds.public.test/feed.xml"]))
    app = App(config)
    app._fetcher = lambda: fetcher(server)
    try:
        [outcome] = asyncio.run(app.poll())
    finally:
        app.close()
    assert outcome.ok, outcome.error
    assert server.count("/secret-page") == 0 and server.count("/secret") == 0
    assert server.count("/jump") == 1
    for p in corpus.iterdir():
        assert SECRET not in p.read_text(encoding="utf-8")
        assert "root:" not in p.read_text(encoding="utf-8")
