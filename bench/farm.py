"""A local feed farm for benchmarks: N RSS feeds of K news items each, plus an article page per item,
served by a small asyncio HTTP/1.1 server on one or more loopback addresses (127.0.0.1..127.0.0.H;
Linux routes all of 127/8 to the loopback interface, so each address is a distinct "host" for a
client's per-host connection limits).

Self-contained: standard library only. Deterministic: the same seed gives the same farm.

  - feeds     /feed/<i>.xml          RSS 2.0; ETag + Last-Modified; 304 on a matching validator
  - pages     /a/<i>/<item>.html     HTML: nav, cookie banner, <article><p>..</p></article>, footer
  - stats     /stats                 JSON request counters (not delayed, not counted)
  - publish   /publish?fraction=0.05&items=3   changes that fraction of the feeds (not counted)

Items: about 10 % name both Russia and North Korea ("Putin and Kim Jong Un ..."), about 20 % name
one side only, the rest are off-topic (a few are classic traps: "South Korea", "Russian doll").
`Farm.expected_on_topic()` says how many distinct on-topic items are currently in the feeds.

Bounded: the server stops by itself after `hard_limit` seconds; a connection serves at most
MAX_REQUESTS_PER_CONN requests and is closed after IDLE_TIMEOUT seconds without a request; headers
are capped at MAX_HEADER_BYTES.

Standalone use (for poking at it by hand):
    python bench/farm.py --feeds 20 --items 10 --hosts 2 --serve 120
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import hashlib
import html
import json
import math
import random
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from email.utils import formatdate, parsedate_to_datetime
from urllib.parse import parse_qs, urlsplit

MAX_HEADER_BYTES = 64 * 1024
MAX_REQUESTS_PER_CONN = 10_000
IDLE_TIMEOUT = 20.0
BASE_TIME = 1_750_000_000          # a fixed epoch for pubDates and Last-Modified (June 2025)

# ------------------------------------------------------------------------------------------------
# Content: realistic-looking headlines, summaries and article paragraphs.

# No Russian or North Korean place names here: filler text must not name a side by accident.
CITIES = ["Busan", "Seoul", "Tokyo", "Berlin", "Nairobi", "Lima", "Toronto", "Madrid",
          "Jakarta", "Istanbul", "Cairo", "Sydney", "Warsaw", "Hanoi", "Oslo", "Manila"]
COUNTRIES = ["Germany", "Brazil", "India", "Kenya", "Canada", "Spain", "Indonesia", "Mexico",
             "Poland", "Vietnam", "Norway", "Argentina", "Egypt", "Australia", "Chile", "Peru"]
ORGS = ["the central bank", "the finance ministry", "the UN Security Council", "the IMF",
        "the World Bank", "the European Commission", "the WHO", "the IAEA", "the OPEC+ group"]
NUMS = ["two", "three", "five", "seven", "ten", "dozens of", "hundreds of", "thousands of"]
WHEN = ["on Monday", "on Tuesday", "on Wednesday", "on Thursday", "on Friday", "at the weekend",
        "this week", "overnight", "late on Sunday", "early on Saturday"]

BOTH_TITLES = [
    "Putin and Kim Jong Un sign {adj} defence pact in {place}",
    "North Korean troops seen near Kursk front, {org} says",
    "Lavrov lands in Pyongyang for talks on {topic}",
    "Russia and North Korea open {adj} road bridge over the Tumen River",
    "Kim Jong Un inspects Russian-made {thing} at {place} plant",
    "Moscow and Pyongyang expand {topic} ties as sanctions bite",
    "Kremlin denies North Korea shipped {num} artillery shells",
    "Shoigu meets Kim Jong Un in Pyongyang amid {topic} push",
    "North Korean workers arrive in Vladivostok under {adj} labour deal",
    "Russian tourists return to Wonsan resort as Pyongyang courts Moscow",
    "DPRK and Russia hold first {adj} naval drills off {place}",
    "Putin thanks Kim Jong Un for North Korean help in Kursk region",
]
BOTH_SUMMARIES = [
    "Officials in Moscow and Pyongyang described the agreement as a turning point in {topic}.",
    "The deal deepens military cooperation between Russia and North Korea, analysts said.",
    "Kim Jong Un and Vladimir Putin spoke for {num} hours, state media KCNA reported.",
    "Western governments condemned the move, saying it breaks UN sanctions on the DPRK.",
]
RU_TITLES = [
    "Kremlin says {topic} talks with {country} are 'constructive'",
    "Russian central bank {verb} key rate to {pct}%",
    "Moscow court jails {num} activists over {topic} protest",
    "Putin signs decree on {topic} amid {adj} budget pressure",
    "Russian drone strike hits {place} energy grid, officials say",
    "Lavrov and {country} counterpart discuss {topic} in {place}",
    "Peskov rejects report on {adj} {topic} deal",
    "Russia's {thing} exports to {country} hit record high",
]
RU_SUMMARIES = [
    "The Kremlin said it would respond to any new sanctions on {topic}.",
    "Russian officials gave no timetable for the {adj} measures.",
    "Moscow has repeatedly denied the allegations, calling them {adj}.",
]
NK_TITLES = [
    "North Korea fires {num} ballistic missiles into the sea, Seoul says",
    "Kim Jong Un oversees {adj} artillery drill",
    "Pyongyang warns {country} over {topic} exercises",
    "North Korean defector describes {adj} life near the border",
    "Kim Yo Jong slams {country} over {topic} leaflets",
    "KCNA: North Korea completes {adj} {thing} factory",
    "DPRK unveils new {thing} at party anniversary parade",
]
NK_SUMMARIES = [
    "State media KCNA said the test was a routine part of {topic} planning.",
    "Analysts said Pyongyang was signalling displeasure over {topic}.",
    "The Workers' Party of Korea praised the {adj} achievement.",
]
TRAP_TITLES = [
    "South Korea's {thing} exports rise for {num} straight months",
    "Russian doll exhibition opens in {place}",
    "How to mix the perfect Moscow mule this {season}",
    "Kim Kardashian launches {adj} {thing} line",
    "Seoul stocks close higher on {topic} hopes",
]
OFF_TITLES = [
    "{country} wins {adj} World Cup qualifier in {place}",
    "Heatwave grips {place} as temperatures pass {pct} degrees",
    "{org} raises growth forecast for {country}",
    "Tech giant unveils {adj} {thing} at {place} event",
    "{num} hurt as storm batters {place}",
    "Elections in {country}: what you need to know",
    "Scientists discover {adj} species of frog in {country}",
    "{place} marathon draws record {num} runners",
    "Inflation in {country} eases to {pct}%",
    "Film festival in {place} opens with {adj} premiere",
    "Rail strike disrupts travel across {country}",
    "{country} central bank {verb} rates by a quarter point",
]
OFF_SUMMARIES = [
    "Officials said the measures would take effect {when}.",
    "The announcement was welcomed by industry groups in {place}.",
    "Critics say the plan does not go far enough on {topic}.",
    "Residents in {place} were told to stay indoors {when}.",
]
ADJ = ["landmark", "unprecedented", "controversial", "surprise", "long-awaited", "new", "major",
       "expanded", "secretive", "rare", "historic", "limited"]
TOPICS = ["energy", "trade", "security", "grain", "tourism", "space technology", "shipping",
          "labour", "banking", "fisheries", "rail links", "medical aid"]
THINGS = ["drone", "tank", "satellite", "tractor", "fertiliser", "semiconductor", "bus", "rocket",
          "coal", "timber", "smartphone", "turbine"]
VERBS = ["raises", "cuts", "holds", "lifts", "lowers"]
SEASONS = ["summer", "winter", "spring", "autumn"]

PARA_BOTH = [
    "The agreement, signed by Vladimir Putin and Kim Jong Un, commits Russia and North Korea to "
    "assist each other if either is attacked, according to the text published by KCNA.",
    "Moscow has deepened its ties with Pyongyang since 2022, and officials in South Korea and "
    "the United States say North Korean shells and missiles have been used on the battlefield.",
    "Russian Foreign Minister Sergei Lavrov said the partnership between Moscow and Pyongyang was "
    "'not directed against any third country', a line repeated by North Korean diplomats.",
    "Satellite images reviewed by researchers show increased rail traffic between the Russian "
    "port of Vladivostok and the North Korean border town of Rason over recent months.",
    "Analysts in Seoul said the Kremlin was offering the DPRK technology and food in exchange for "
    "munitions and labour, a trade that breaches several UN Security Council resolutions.",
]
PARA_RU = [
    "The Kremlin said on {when} that Russia would continue its {topic} policy regardless of "
    "Western pressure, according to spokesman Dmitry Peskov.",
    "Russian officials in Moscow have been under pressure to shore up the {topic} sector as the "
    "budget deficit widens and the rouble weakens against the dollar.",
    "Independent economists said the {adj} measures could help in the short term but warned of "
    "long-term damage to the Russian economy.",
]
PARA_NK = [
    "North Korea's state media KCNA said Kim Jong Un personally guided the {adj} test and praised "
    "the scientists involved for their loyalty to the Workers' Party of Korea.",
    "South Korean military officials said the launch from near Pyongyang was detected {when} and "
    "that they were analysing the flight data with partners in Washington and Tokyo.",
    "Pyongyang has conducted {num} such tests this year, defying UN resolutions that ban the "
    "DPRK from developing ballistic missile technology.",
]
PARA_OFF = [
    "Officials in {place} said the decision followed months of consultation with local groups "
    "and businesses, and would be reviewed again next year.",
    "The announcement comes as households across {country} face higher prices for food and "
    "energy, with many saying their incomes have not kept pace.",
    "Speaking to reporters {when}, a spokesperson said the {adj} plan was 'a first step' and that "
    "further details on {topic} would follow in the coming weeks.",
    "Experts said the figures were broadly in line with expectations, although some warned that "
    "the outlook for {topic} remained uncertain for the rest of the year.",
    "Organisers in {place} said turnout had exceeded their forecasts and thanked volunteers "
    "for their help in preparing the {adj} event.",
]

# How often each kind of item occurs. "real" is what the topic's cheap check finds in the 54 real
# general-news feeds in ../shared/fixtures/real/feeds (1,854 items: 0.2 % name both sides, 7.1 %
# one side, 92.7 % neither), rounded up so a farm still has on-topic stories to append; "heavy" is
# ten times as topical, to load the page fetch and extraction path.
MIXES = {
    "real": [("both", 1), ("russia", 4), ("nk", 3), ("trap", 1), ("off", 91)],
    "heavy": [("both", 10), ("russia", 12), ("nk", 8), ("trap", 4), ("off", 66)],
    # no item names a side: no page is fetched, so monitor does what a feed reader does (fetch,
    # parse, store) plus its topic check: the like-for-like comparison with the peers
    "none": [("off", 1)],
}
KIND_WEIGHTS = MIXES["heavy"]
TITLES = {"both": BOTH_TITLES, "russia": RU_TITLES, "nk": NK_TITLES, "trap": TRAP_TITLES,
          "off": OFF_TITLES}
SUMMARIES = {"both": BOTH_SUMMARIES, "russia": RU_SUMMARIES, "nk": NK_SUMMARIES,
             "trap": OFF_SUMMARIES, "off": OFF_SUMMARIES}
PARAS = {"both": PARA_BOTH, "russia": PARA_RU, "nk": PARA_NK, "trap": PARA_OFF, "off": PARA_OFF}


def _fill(template: str, rng: random.Random) -> str:
    return template.format(
        adj=rng.choice(ADJ), topic=rng.choice(TOPICS), thing=rng.choice(THINGS),
        num=rng.choice(NUMS), place=rng.choice(CITIES), country=rng.choice(COUNTRIES),
        org=rng.choice(ORGS), verb=rng.choice(VERBS), pct=rng.randint(2, 40),
        when=rng.choice(WHEN), season=rng.choice(SEASONS))


def _pick_kind(rng: random.Random, weights=KIND_WEIGHTS) -> str:
    r = rng.uniform(0, sum(w for _, w in weights))
    for kind, w in weights:
        if r < w:
            return kind
        r -= w
    return "off"


@dataclass(frozen=True)
class Item:
    feed: int
    serial: int           # unique within the feed, grows as items are published
    kind: str             # both | russia | nk | trap | off
    title: str
    summary: str
    published: int        # epoch seconds
    seed: int

    @property
    def on_topic(self) -> bool:
        return self.kind == "both"


def make_item(feed: int, serial: int, seed: int, mix: str = "heavy") -> Item:
    item_seed = int.from_bytes(hashlib.sha256(f"{seed}/{feed}/{serial}".encode()).digest()[:8],
                               "big")
    rng = random.Random(item_seed)
    kind = _pick_kind(rng, MIXES[mix])
    title = _fill(rng.choice(TITLES[kind]), rng)
    summary = _fill(rng.choice(SUMMARIES[kind]), rng)
    if kind in ("russia", "nk") and rng.random() < 0.3:
        # The headline names one side; the summary's filler stays on the same side.
        summary = summary + " " + _fill(rng.choice(SUMMARIES[kind]), rng)
    return Item(feed=feed, serial=serial, kind=kind, title=title, summary=summary,
                published=BASE_TIME + serial * 600 + feed, seed=item_seed)


# ------------------------------------------------------------------------------------------------
# Rendering.

NAV = ("<header class=\"site\"><a href=\"/\">Home</a> | <a href=\"/world\">World</a> | "
       "<a href=\"/business\">Business</a> | <a href=\"/sport\">Sport</a> | "
       "<a href=\"/opinion\">Opinion</a> | <a href=\"/subscribe\">Subscribe</a></header>\n")
COOKIE = ("<div id=\"cookie-banner\" class=\"consent\"><p>We use cookies to improve your "
          "experience. By continuing to browse you accept our cookie policy. "
          "<button>Accept all</button> <button>Settings</button></p></div>\n")
FOOTER = ("<aside class=\"newsletter\"><p>Sign up for our morning newsletter and get the news "
          "in your inbox.</p></aside>\n<footer><p>Copyright 2025 Farm News Ltd. All rights "
          "reserved.</p><p><a href=\"/privacy\">Privacy policy</a> | <a href=\"/terms\">Terms</a>"
          "</p></footer>\n")


# Words for each story's own prose: side-neutral (no Russian or North Korean name), so only the
# templates above decide an item's kind.
VOCAB = sorted({w.strip(".,'\"").lower() for t in PARA_OFF + OFF_SUMMARIES + OFF_TITLES
                for w in t.split() if "{" not in w and w.strip(".,'\"").isalpha()}
               | {w.lower() for w in CITIES + COUNTRIES + ADJ + THINGS + SEASONS}
               | {w for t in TOPICS + ORGS for w in t.split()})


def _prose(rng: random.Random, words: int) -> str:
    """Sentences of random words: every page has text of its own, as real stories do, so the
    near-duplicate check (3-word shingles) does not merge two stories built on one template."""
    out: list[str] = []
    while words > 0:
        n = min(words, rng.randint(8, 18))
        s = " ".join(rng.choice(VOCAB) for _ in range(n))
        out.append(s[0].upper() + s[1:] + ".")
        words -= n
    return " ".join(out)


def render_page(item: Item, url: str) -> bytes:
    rng = random.Random(item.seed ^ 0x5A5A)
    paras = [_fill(p, rng) for p in rng.sample(PARAS[item.kind], k=min(2, len(PARAS[item.kind])))]
    own = [_prose(rng, rng.randint(40, 60)) for _ in range(4)]
    body = [paras[0]] + own[:2] + paras[1:] + own[2:]
    related = "".join(f"<li><a href=\"/a/{item.feed}/{item.serial - j}.html\">Related story "
                      f"{j}</a></li>" for j in range(1, 4))
    title = html.escape(item.title)
    doc = (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{title} | Farm News</title>"
        f"<link rel=\"canonical\" href=\"{html.escape(url)}\">"
        f"<meta property=\"og:title\" content=\"{title}\">"
        "<script>window.dataLayer=[];function track(){}</script>"
        "<style>body{font-family:serif}.consent{position:fixed}</style></head>\n<body>\n"
        + NAV + COOKIE
        + "<main>\n<article>\n"
        f"<h1>{title}</h1>\n<p class=\"byline\">By Staff Reporter, {formatdate(item.published, usegmt=True)}</p>\n"
        + "".join(f"<p>{html.escape(p)}</p>\n" for p in body)
        + "</article>\n"
        f"<section class=\"related\"><h2>Related stories</h2><ul>{related}</ul></section>\n"
        + "</main>\n" + FOOTER + "</body></html>\n")
    return doc.encode("utf-8")


def render_feed(feed: int, title: str, items: list[Item], base: str) -> bytes:
    out = ["<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<rss version=\"2.0\">\n<channel>\n",
           f"<title>{html.escape(title)}</title>\n<link>{base}/</link>\n",
           f"<description>Farm feed {feed}</description>\n<language>en</language>\n<ttl>15</ttl>\n"]
    for it in items:
        link = f"{base}/a/{feed}/{it.serial}.html"
        out.append(
            "<item>\n"
            f"<title>{html.escape(it.title)}</title>\n"
            f"<link>{link}?utm_source=rss&amp;utm_medium=feed</link>\n"
            f"<guid isPermaLink=\"false\">farm-{feed}-{it.serial}</guid>\n"
            f"<pubDate>{formatdate(it.published, usegmt=True)}</pubDate>\n"
            f"<description>{html.escape(it.summary)}</description>\n"
            "</item>\n")
    out.append("</channel>\n</rss>\n")
    return "".join(out).encode("utf-8")


# ------------------------------------------------------------------------------------------------
# The farm: content state + an asyncio HTTP/1.1 server per loopback address.


@dataclass
class FeedState:
    index: int
    host: int                    # index into Farm.bases
    items: list[Item]            # newest first, always K of them
    next_serial: int
    version: int = 0
    body: bytes = b""
    body_gz: bytes = b""
    etag: str = ""
    last_modified: str = ""
    modified_at: int = 0


@dataclass
class Stats:
    requests: int = 0
    feed_requests: int = 0
    page_requests: int = 0
    other_requests: int = 0
    status: Counter = field(default_factory=Counter)
    not_modified: int = 0
    bytes_out: int = 0
    connections: int = 0
    open_connections: int = 0
    max_open_connections: int = 0
    in_flight: int = 0
    max_in_flight: int = 0
    bad_requests: int = 0
    busy_seconds: float = 0.0    # summed over requests: from parsed request to response written

    def snapshot(self) -> dict:
        return {"requests": self.requests, "feed_requests": self.feed_requests,
                "page_requests": self.page_requests, "other_requests": self.other_requests,
                "status": dict(self.status), "not_modified": self.not_modified,
                "bytes_out": self.bytes_out, "connections": self.connections,
                "open_connections": self.open_connections,
                "max_open_connections": self.max_open_connections,
                "max_in_flight": self.max_in_flight, "bad_requests": self.bad_requests,
                "busy_seconds": self.busy_seconds}


class Farm:
    def __init__(self, feeds: int = 200, items: int = 20, hosts: int = 4, latency_ms: float = 0.0,
                 seed: int = 1, gzip_bodies: bool = False, hard_limit: float = 600.0,
                 mix: str = "heavy"):
        if not 1 <= hosts <= 254:
            raise ValueError("hosts must be 1..254")
        if mix not in MIXES:
            raise ValueError(f"mix must be one of {sorted(MIXES)}")
        self.mix = mix
        self.n_feeds, self.n_items, self.n_hosts = feeds, items, hosts
        self.latency = latency_ms / 1000.0
        self.seed = seed
        self.gzip_bodies = gzip_bodies
        self.hard_limit = hard_limit
        self.stats = Stats()
        self.feeds: list[FeedState] = []
        self.bases: list[str] = []
        self._servers: list[asyncio.AbstractServer] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._stopped = threading.Event()
        self._start_error: BaseException | None = None
        self._page_cache: dict[tuple[int, int], tuple[bytes, bytes]] = {}
        self._publish_rng = random.Random(seed * 7919 + 1)
        self._writers: set[asyncio.StreamWriter] = set()
        self.started_at = 0.0
        self.trace: list[tuple[float, float, str, int]] | None = None   # set to [] to record

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self, timeout: float = 15.0) -> "Farm":
        """Start the server in a daemon thread with its own event loop; returns once listening."""
        self._thread = threading.Thread(target=self._run, name="feed-farm", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise RuntimeError("feed farm did not start in time")
        if self._start_error:
            raise RuntimeError(f"feed farm failed to start: {self._start_error}")
        return self

    def stop(self, timeout: float = 10.0) -> None:
        loop = self._loop
        if loop and not self._stopped.is_set():
            try:
                loop.call_soon_threadsafe(self._shutdown)
            except RuntimeError:
                pass
        if self._thread:
            self._thread.join(timeout)

    def __enter__(self) -> "Farm":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._listen())
        except BaseException as e:   # noqa: BLE001 — reported to start()
            self._start_error = e
            self._ready.set()
            loop.close()
            self._stopped.set()
            return
        self.started_at = time.monotonic()
        loop.call_later(self.hard_limit, self._hard_stop)
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            for s in self._servers:
                s.close()
            for w in list(self._writers):
                w.close()
            loop.run_until_complete(asyncio.sleep(0))
            loop.close()
            self._stopped.set()

    def _hard_stop(self) -> None:
        print(f"feed farm: hard time limit ({self.hard_limit:.0f}s) reached, stopping", flush=True)
        self._shutdown()

    def _shutdown(self) -> None:
        for s in self._servers:
            s.close()
        for w in list(self._writers):
            w.close()
        assert self._loop is not None
        self._loop.stop()

    async def _listen(self) -> None:
        for h in range(self.n_hosts):
            addr = f"127.0.0.{h + 1}"
            server = await asyncio.start_server(self._conn, addr, 0, backlog=2048,
                                                limit=MAX_HEADER_BYTES, reuse_address=True)
            port = server.sockets[0].getsockname()[1]
            self._servers.append(server)
            self.bases.append(f"http://{addr}:{port}")
        for i in range(self.n_feeds):
            items = [make_item(i, s, self.seed, self.mix) for s in range(self.n_items - 1, -1, -1)]
            fs = FeedState(index=i, host=i % self.n_hosts, items=items, next_serial=self.n_items)
            self._render(fs, BASE_TIME + self.n_items * 600)
            self.feeds.append(fs)

    # -- content ---------------------------------------------------------------------------------

    def feed_url(self, i: int) -> str:
        return f"{self.bases[self.feeds[i].host]}/feed/{i}.xml"

    def feed_urls(self) -> list[str]:
        return [self.feed_url(i) for i in range(self.n_feeds)]

    def _render(self, fs: FeedState, when: int) -> None:
        fs.version += 1
        fs.modified_at = when
        fs.body = render_feed(fs.index, f"Farm News {fs.index}", fs.items, self.bases[fs.host])
        fs.body_gz = gzip.compress(fs.body, 6) if self.gzip_bodies else b""
        fs.etag = '"f%d-v%d-%s"' % (fs.index, fs.version,
                                    hashlib.sha1(fs.body).hexdigest()[:10])
        fs.last_modified = formatdate(when, usegmt=True)

    def expected_on_topic(self) -> int:
        """Distinct on-topic items in the feeds right now (each item has its own URL)."""
        return sum(1 for fs in self.feeds for it in fs.items if it.on_topic)

    def all_on_topic(self) -> set[tuple[int, int]]:
        return {(fs.index, it.serial) for fs in self.feeds for it in fs.items if it.on_topic}

    def _publish(self, fraction: float, new_items: int) -> dict:
        count = min(self.n_feeds, max(1, math.ceil(self.n_feeds * fraction))) if fraction > 0 else 0
        chosen = sorted(self._publish_rng.sample(range(self.n_feeds), count))
        new_on_topic = 0
        now = BASE_TIME + 10 ** 6 + int(time.time()) % 10 ** 6
        for i in chosen:
            fs = self.feeds[i]
            fresh = []
            for _ in range(max(1, min(new_items, self.n_items))):
                it = make_item(i, fs.next_serial, self.seed, self.mix)
                fs.next_serial += 1
                fresh.append(it)
                new_on_topic += it.on_topic
            fs.items = (list(reversed(fresh)) + fs.items)[:self.n_items]
            self._render(fs, max(now, fs.modified_at + 1))
        return {"feeds_changed": len(chosen), "new_items": len(chosen) * new_items,
                "new_on_topic": new_on_topic}

    def publish(self, fraction: float = 0.05, new_items: int = 3, timeout: float = 10.0) -> dict:
        """Publish `new_items` new items in `fraction` of the feeds (thread-safe). Returns counts."""
        return self._call(self._publish, fraction, new_items, timeout=timeout)

    def snapshot(self, timeout: float = 10.0) -> dict:
        return self._call(self.stats.snapshot, timeout=timeout)

    def _call(self, fn, *args, timeout: float):
        assert self._loop is not None

        async def run():
            return fn(*args)
        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(timeout)

    def _page(self, feed: int, serial: int, base: str) -> tuple[bytes, bytes] | None:
        fs = self.feeds[feed]
        if not 0 <= serial < fs.next_serial:
            return None
        key = (feed, serial)
        cached = self._page_cache.get(key)
        if cached is None:
            url = f"{base}/a/{feed}/{serial}.html"
            body = render_page(make_item(feed, serial, self.seed, self.mix), url)
            cached = (body, gzip.compress(body, 6) if self.gzip_bodies else b"")
            if len(self._page_cache) > 50_000:   # bounded memory
                self._page_cache.clear()
            self._page_cache[key] = cached
        return cached

    # -- HTTP ------------------------------------------------------------------------------------

    async def _conn(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        st = self.stats
        st.connections += 1
        st.open_connections += 1
        st.max_open_connections = max(st.max_open_connections, st.open_connections)
        self._writers.add(writer)
        sock = writer.get_extra_info("socket")
        if sock is not None:
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass
        try:
            for _ in range(MAX_REQUESTS_PER_CONN):
                try:
                    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), IDLE_TIMEOUT)
                except (asyncio.IncompleteReadError, asyncio.TimeoutError, ConnectionError):
                    return
                except asyncio.LimitOverrunError:
                    st.bad_requests += 1
                    await self._send(writer, 431, b"headers too large", "text/plain", {}, True)
                    return
                keep = await self._request(head, reader, writer)
                if not keep:
                    return
        except (ConnectionError, asyncio.CancelledError):
            return
        finally:
            st.open_connections -= 1
            self._writers.discard(writer)
            try:
                writer.close()
            except Exception:   # noqa: BLE001
                pass

    async def _request(self, head: bytes, reader, writer) -> bool:
        st = self.stats
        try:
            lines = head.decode("latin-1").split("\r\n")
            method, target, version = lines[0].split(" ", 2)
            headers = {}
            for line in lines[1:]:
                if line:
                    k, _, v = line.partition(":")
                    headers[k.strip().lower()] = v.strip()
        except ValueError:
            st.bad_requests += 1
            await self._send(writer, 400, b"bad request", "text/plain", {}, True)
            return False
        length = headers.get("content-length", "0")
        if length.isdigit() and 0 < int(length) <= 1_000_000:
            await reader.readexactly(int(length))
        close = (headers.get("connection", "").lower() == "close"
                 or version.upper() == "HTTP/1.0")
        parts = urlsplit(target)
        path = parts.path

        # Control endpoints: neither delayed nor counted.
        if path == "/stats":
            body = json.dumps(st.snapshot()).encode()
            await self._send(writer, 200, body, "application/json", {}, close, count=False)
            return not close
        if path == "/publish":
            q = parse_qs(parts.query)
            res = self._publish(float(q.get("fraction", ["0.05"])[0]),
                                int(q.get("items", ["3"])[0]))
            await self._send(writer, 200, json.dumps(res).encode(), "application/json", {},
                             close, count=False)
            return not close

        st.requests += 1
        t0 = time.monotonic()
        st.in_flight += 1
        st.max_in_flight = max(st.max_in_flight, st.in_flight)
        try:
            if self.latency:
                await asyncio.sleep(self.latency)
            gz_ok = "gzip" in headers.get("accept-encoding", "").lower() and self.gzip_bodies
            host_base = "http://" + headers.get("host", "")
            if path.startswith("/feed/") and path.endswith(".xml"):
                st.feed_requests += 1
                idx = path[6:-4]
                if not idx.isdigit() or int(idx) >= self.n_feeds:
                    await self._send(writer, 404, b"no such feed", "text/plain", {}, close)
                    return not close
                fs = self.feeds[int(idx)]
                validators = {"ETag": fs.etag, "Last-Modified": fs.last_modified,
                              "Cache-Control": "max-age=60"}
                if _not_modified(headers, fs.etag, fs.modified_at):
                    st.not_modified += 1
                    await self._send(writer, 304, b"", None, validators, close)
                    return not close
                body = fs.body_gz if gz_ok else fs.body
                extra = dict(validators, **({"Content-Encoding": "gzip", "Vary": "Accept-Encoding"}
                                            if gz_ok else {}))
                await self._send(writer, 200, body, "application/rss+xml; charset=utf-8",
                                 extra, close, head_only=method == "HEAD")
                return not close
            if path.startswith("/a/") and path.endswith(".html"):
                st.page_requests += 1
                bits = path[3:-5].split("/")
                page = None
                if len(bits) == 2 and bits[0].isdigit() and bits[1].isdigit() \
                        and int(bits[0]) < self.n_feeds:
                    page = self._page(int(bits[0]), int(bits[1]), host_base)
                if page is None:
                    await self._send(writer, 404, b"<html><body>Not found</body></html>",
                                     "text/html", {}, close)
                    return not close
                etag = '"p-%s"' % hashlib.sha1(page[0]).hexdigest()[:12]
                if headers.get("if-none-match") == etag:
                    st.not_modified += 1
                    await self._send(writer, 304, b"", None, {"ETag": etag}, close)
                    return not close
                extra = {"ETag": etag, "Cache-Control": "max-age=300"}
                if gz_ok:
                    extra.update({"Content-Encoding": "gzip", "Vary": "Accept-Encoding"})
                await self._send(writer, 200, page[1] if gz_ok else page[0],
                                 "text/html; charset=utf-8", extra, close,
                                 head_only=method == "HEAD")
                return not close
            st.other_requests += 1
            await self._send(writer, 404, b"not found", "text/plain", {}, close)
            return not close
        finally:
            st.in_flight -= 1
            st.busy_seconds += time.monotonic() - t0
            if self.trace is not None and len(self.trace) < 200_000:   # bounded
                self.trace.append((t0, time.monotonic(), path, st.in_flight))

    async def _send(self, writer, status: int, body: bytes, ctype: str | None, extra: dict,
                    close: bool, *, count: bool = True, head_only: bool = False) -> None:
        reason = {200: "OK", 304: "Not Modified", 400: "Bad Request", 404: "Not Found",
                  431: "Request Header Fields Too Large"}.get(status, "OK")
        lines = [f"HTTP/1.1 {status} {reason}", f"Date: {formatdate(usegmt=True)}",
                 "Server: feed-farm/1"]
        if ctype:
            lines.append(f"Content-Type: {ctype}")
        for k, v in extra.items():
            lines.append(f"{k}: {v}")
        if status != 304:
            lines.append(f"Content-Length: {len(body)}")
        if close:
            lines.append("Connection: close")
        data = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        if status != 304 and not head_only:
            data += body
        if count:
            self.stats.status[status] += 1
            self.stats.bytes_out += len(data)
        writer.write(data)
        await writer.drain()


def _not_modified(headers: dict, etag: str, modified_at: int) -> bool:
    inm = headers.get("if-none-match")
    if inm is not None:
        return etag in [t.strip() for t in inm.split(",")] or inm.strip() == "*"
    ims = headers.get("if-modified-since")
    if ims:
        try:
            return parsedate_to_datetime(ims).timestamp() >= modified_at
        except (TypeError, ValueError):
            return False
    return False


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--feeds", type=int, default=20)
    ap.add_argument("--items", type=int, default=10)
    ap.add_argument("--hosts", type=int, default=2)
    ap.add_argument("--latency-ms", type=float, default=0.0)
    ap.add_argument("--gzip", action="store_true")
    ap.add_argument("--mix", choices=sorted(MIXES), default="heavy")
    ap.add_argument("--serve", type=float, default=60.0, help="seconds to serve (hard limit)")
    a = ap.parse_args()
    farm = Farm(a.feeds, a.items, a.hosts, a.latency_ms, gzip_bodies=a.gzip,
                hard_limit=a.serve + 5, mix=a.mix).start()
    print("\n".join(farm.feed_urls()[:5]) + ("\n..." if a.feeds > 5 else ""))
    print(f"stats: {farm.bases[0]}/stats   publish: {farm.bases[0]}/publish?fraction=0.05&items=3")
    print(f"{farm.expected_on_topic()} on-topic items; serving for {a.serve:.0f}s", flush=True)
    deadline = time.monotonic() + a.serve
    try:
        while time.monotonic() < deadline and not farm._stopped.is_set():
            time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))
    except KeyboardInterrupt:
        pass
    print(json.dumps(farm.snapshot()))
    farm.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
