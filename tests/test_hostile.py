"""End to end, the hostile web: one `monitor poll` through the CLI against one config of ~25
feeds on the local server — three that behave (on-topic stories with article pages) and one for
each kind of hostile or broken answer: entity bombs, XXE, a gzip bomb, an endless body, a
trickling server, a redirect loop, error statuses, things that are not feeds, lying encodings,
20,000 items, a megabyte-long title, links to non-web schemes and a title full of markup and
control characters.

The poll must stay bounded (tight timeouts, peak RSS of the process itself under 300 MB, about a
minute of wall time on a loaded 2-core machine), keep every good story exactly once, report every
feed that fails on a FAILED line with its reason, and leave nothing behind that it should not:
no file of /etc/passwd anywhere, no expanded entity, no control character in a title line, no temp
file in the corpus, no traceback.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import struct
import subprocess
import sys
import threading
import time
import zlib
from datetime import datetime
from pathlib import Path

import pytest

from tests.conftest import DATA, ROOT, SEEDS, article_page, rss, run_cli, write_config

STORIES = json.loads((DATA / "stories.json").read_text(encoding="utf-8"))
NAME_RE = re.compile(r"^\d{3,}_[0-9a-f]{16}\.txt$")
TEMP_PREFIX = ".monitor-tmp-"
TITLE_RU = "Путин и Ким Чен Ын подписали договор в Пхеньяне"
RSS_LIMIT_KB = 300 * 1024          # ru_maxrss is in KiB on Linux
WALL_LIMIT = 90.0      # the trickle alone takes timeouts.total (20 s); parsing 6 MB about as much
BIG_ITEMS = 20_000

# An on-topic title that is dirty in every way a feed can make it dirty: markup (escaped in the
# XML, so it is HTML inside the title), line breaks, C0 controls (NUL, BEL, ESC...), DEL, U+2028.
MESSY_TITLE = ("Putin\nand <b>Kim</b>\x07 Jong Un\r\nsign\x00 pact\x01\x1b\x7f\u2028 "
               "in\tPyongyang\x1f\x0b\x0c")
MESSY_PAGE_TITLE = "Putin and Kim Jong Un sign economic pact in Pyongyang"
MESSY_PARAGRAPHS = [
    "President Vladimir Putin and North Korean leader Kim Jong Un signed an economic "
    "co-operation pact in Pyongyang on Thursday covering fisheries, fertiliser shipments and "
    "the reopening of a cargo ferry route between Vladivostok and the port of Rason.",
    "The agreement also sets up a joint commission that will meet twice a year, alternating "
    "between Moscow and Pyongyang, to review customs procedures at the Khasan crossing.",
    "Neither side published the full text. Diplomats in Seoul said the pact largely restates "
    "commitments made during earlier visits but adds a timetable for the ferry service.",
]
BAD_LINKS = [   # (link, on-topic title, description): none of these may ever be fetched
    ("file:///etc/passwd", "Kremlin hosts North Korean delegation for talks on rail links",
     "A delegation from the North arrived in Moscow for talks on freight rail links."),
    ("ftp://127.0.0.1/pub/story.txt", "Lavrov meets Choe Son Hui in Moscow ahead of summit",
     "The two foreign ministers discussed preparations for a summit later in the year."),
    ("javascript:alert(1)", "Shoigu visits Pyongyang for security consultations",
     "The security council secretary held consultations with officials of the DPRK."),
    ("data:text/html,<script>alert(document.cookie)</script>",
     "Russian tourists return to Wonsan resort in North Korea",
     "Tour groups from Primorye flew to the Kalma beach resort for the first time this year."),
]


# -- documents ----------------------------------------------------------------------------------


def gzip_bomb(megabytes: int) -> bytes:
    """gzip of `megabytes` MB of zeros, built without the MB in memory: one full-flushed deflate
    block of 1 MB of zeros repeated, then the real CRC and size (~1 KB per MB)."""
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


def quadratic_doc(entity_chars: int = 50_000, refs: int = 20_000) -> bytes:
    """One ~50 KB entity referenced 20,000 times: ~1 GB of text if expanded (~110 KB on disk)."""
    return ('<?xml version="1.0" encoding="utf-8"?>\n'
            f'<!DOCTYPE rss [\n<!ENTITY a "{"A" * entity_chars}">\n]>\n'
            '<rss version="2.0"><channel><title>Quadratic</title><link>http://127.0.0.1/</link>'
            '<description>d</description><item><title>Blow-up</title>'
            '<link>http://127.0.0.1/q</link><description>' + "&a;" * refs
            + '</description></item></channel></rss>\n').encode()


def local_links(data: bytes, server) -> bytes:
    """The test documents link to http://127.0.0.1/... (port 80): point them at our server so
    nothing on this machine's port 80 can matter."""
    return data.replace(b"http://127.0.0.1/", server.url("/").encode())


def passwd_lines() -> list[str]:
    try:
        lines = Path("/etc/passwd").read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        lines = []
    return [ln for ln in lines if ln.count(":") >= 5][:20] + ["root:x:0:0"]


def serve_page(server, path: str, title: str, paragraphs: list[str]) -> str:
    return server.add(path, article_page(title, paragraphs),
                      content_type="text/html; charset=utf-8")


def story_item(server, key: str, path: str) -> dict:
    s = STORIES[key]
    serve_page(server, path, s["title"], s["paragraphs"])
    return {"title": s["title"], "link": server.url(path), "description": s["paragraphs"][0][:160]}


# -- running the poll ---------------------------------------------------------------------------


def poll_measured(config: Path, tmp_path: Path, limit: float = 540.0):
    """`monitor poll` as a child process, reaped with wait4 for its own peak RSS.
    Returns (exit code, stdout, stderr, wall seconds, ru_maxrss KiB)."""
    out, err = tmp_path / "poll.out", tmp_path / "poll.err"
    with open(out, "wb") as o, open(err, "wb") as e:
        started = time.monotonic()
        proc = subprocess.Popen([sys.executable, "-m", "monitor", "-c", str(config), "poll"],
                                stdout=o, stderr=e, stdin=subprocess.DEVNULL, cwd=str(ROOT),
                                env={**os.environ, "PYTHONPATH": str(ROOT)})
    killer = threading.Timer(limit, proc.kill)     # a hang must fail the test, not the run
    killer.start()
    try:
        _, status, usage = os.wait4(proc.pid, 0)
    finally:
        killer.cancel()
    wall = time.monotonic() - started
    proc.returncode = os.waitstatus_to_exitcode(status)   # reaped here: Popen must not wait
    return (proc.returncode, out.read_text(encoding="utf-8", errors="replace"),
            err.read_text(encoding="utf-8", errors="replace"), wall, usage.ru_maxrss)


def db_text(db: Path) -> str:
    conn = sqlite3.connect(db)
    try:
        return "\n".join(conn.iterdump())
    finally:
        conn.close()


class TooSlow(AssertionError):
    """The poll was not over within WALL_LIMIT: the one failure the xfail below expects."""


# -- the test -----------------------------------------------------------------------------------


@pytest.mark.slow       # ~1 min: one 6 MB feed of 20,000 items is parsed (then cut to limits.max_items)
@pytest.mark.timeout(720)
def test_one_poll_against_a_hostile_web(server, corpus, tmp_path):
    seeds = {p.name for p in SEEDS.glob("*.txt")}
    feeds: list[dict] = []
    fail: dict[str, tuple[str, list[str]]] = {}    # url → (expected state, words in the reason)

    def feed(name: str, path: str, body: bytes | str = b"", **kw) -> str:
        url = server.add(path, body, **kw)
        feeds.append({"url": url, "name": name})
        return url

    def failing(name, path, words, state="failing", body=b"", **kw) -> str:
        url = feed(name, path, body, **kw)
        fail[url] = (state, words)
        return url

    # the good: three on-topic stories with pages, one off-topic item
    feed("h-good-one", "/good1.xml", rss([
        story_item(server, "treaty", "/news/treaty"),
        story_item(server, "troops", "/news/troops"),
        {"title": "Local team wins the regional cup final", "link": server.url("/news/cup"),
         "description": "A late goal settled the final."}], title="Good One"), etag='"g1"')
    feed("h-good-two", "/good2.xml", rss([story_item(server, "bridge", "/news/bridge")],
                                         title="Good Two"))
    # on-topic, but its title is dirty: it must arrive as one clean line
    serve_page(server, "/news/messy", MESSY_PAGE_TITLE, MESSY_PARAGRAPHS)
    feed("h-messy-title", "/messy.xml", rss([{
        "title": MESSY_TITLE, "link": server.url("/news/messy"),
        "description": MESSY_PARAGRAPHS[0][:150]}], title="Messy\x07 Feed"))

    # hostile XML: parsed without expanding anything, or refused
    feed("h-billion-laughs", "/billion.xml",
         local_links((DATA / "billion_laughs.xml").read_bytes(), server))
    feed("h-quadratic", "/quadratic.xml", quadratic_doc())
    xxe = [feed(f"h-xxe-{n}", f"/xxe-{n}.xml", local_links((DATA / f).read_bytes(), server))
           for n, f in (("entity", "xxe_passwd.xml"),
                        ("parameter", "xxe_passwd_parameter_entity.xml"),
                        ("external-dtd", "xxe_passwd_external_dtd.xml"))]

    # hostile transport
    bomb = gzip_bomb(320)                                  # 320 MB of zeros in ~330 KB
    assert len(bomb) < 400_000
    failing("h-gzip-bomb", "/bomb.xml", ["cap", "decompressed"], body=bomb,
            headers={"Content-Encoding": "gzip"})
    failing("h-endless", "/endless.xml", ["cap"], length=2 * 1024 ** 3)
    failing("h-trickle", "/trickle.xml", ["total timeout"],
            body=rss([story_item(server, "treaty", "/news/treaty")]), trickle=1.0)
    failing("h-redirect-loop", "/loop-a.xml", ["redirects"], status=302,
            headers={"Location": "/loop-b.xml"})
    server.add("/loop-b.xml", status=302, headers={"Location": server.url("/loop-a.xml")})

    # error statuses
    failing("h-500", "/500.xml", ["HTTP 500"], body="oops", status=500, content_type="text/plain")
    missing = server.url("/missing.xml")                   # no route: 404
    feeds.append({"url": missing, "name": "h-404"})
    fail[missing] = ("failing", ["HTTP 404"])
    failing("h-410", "/410.xml", ["HTTP 410", "Gone"], state="gone", body="gone", status=410,
            content_type="text/plain")
    busy = failing("h-429", "/429.xml", ["HTTP 429", "retry after 120s"], body="slow down",
                   status=429, content_type="text/plain", headers={"Retry-After": "120"})
    feeds[-1]["interval"] = "30s"      # back-off alone would be 30-33 s: Retry-After must win

    # not feeds
    failing("h-html", "/html.xml", ["HTML page"], body=(DATA / "not_a_feed.html").read_bytes(),
            content_type="text/html; charset=utf-8")
    failing("h-png", "/png.xml", ["PNG"], body=(DATA / "not_a_feed.png").read_bytes(),
            content_type="image/png")
    failing("h-empty", "/empty.xml", ["empty body"], body=b"")

    # encodings: not failures, they must parse (one story, twice: appended once)
    cp1251 = feed("h-windows-1251", "/cp1251.xml",
                  local_links((DATA / "feed_windows1251.xml").read_bytes(), server),
                  content_type="application/rss+xml")
    liar = feed("h-lies-about-utf-8", "/liar.xml",
                local_links((DATA / "feed_declares_utf8_is_windows1251.xml").read_bytes(), server),
                content_type="text/xml; charset=utf-8")

    # volume: 20,000 off-topic items (no page is fetched), a megabyte-long title
    big = feed("h-20k-items", "/big.xml", rss([
        {"title": f"Local weather report number {i} for the coastal towns",
         "link": server.url(f"/weather/{i}"), "description": "Sunny spells, light winds."}
        for i in range(BIG_ITEMS)], title="Weather"))
    mega_title = "Russia and North Korea: " + " ".join(f"word{i}" for i in range(130_000))
    assert len(mega_title) > 1_000_000
    feed("h-megabyte-title", "/mega.xml", rss([{
        "title": mega_title, "link": server.url("/news/mega-missing"),
        "description": "Officials in Moscow and Pyongyang gave no further details today."}]))

    # links to things that are not the web: never fetched, the feed's text is used
    feed("h-bad-links", "/badlinks.xml", rss([
        {"title": t, "link": link, "guid": f"bad-{i}", "description": d}
        for i, (link, t, d) in enumerate(BAD_LINKS)]))

    assert 23 <= len(feeds) <= 26
    config = write_config(tmp_path, feeds,
                          # total 20 s: the trickle is cut then; shorter, and on a loaded 2-core
                          # machine a good page could time out while the 6 MB feed is parsed
                          # (feedparser holds the GIL; seen once in a clean-clone run)
                          timeouts={"connect": "5s", "read": "10s", "total": "20s"},
                          limits={"feed_bytes": "10MB", "page_bytes": "2MB", "max_redirects": 5})

    code, stdout, stderr, wall, maxrss_kb = poll_measured(config, tmp_path)
    print(f"\npoll: exit {code}, {wall:.1f}s wall, peak RSS {maxrss_kb / 1024:.0f} MB\n"
          f"{stdout}{stderr[-3000:]}")

    # -- bounded, and it did its job --------------------------------------------------------
    assert "Traceback" not in stderr and "Traceback" not in stdout, stderr[-5000:]
    assert code == 0, stderr[-3000:]
    assert maxrss_kb < RSS_LIMIT_KB, f"peak RSS {maxrss_kb / 1024:.0f} MB"

    # -- every feed that should fail is reported once, with its reason; no other is ---------
    failed_lines = [ln for ln in stderr.splitlines() if ln.startswith("FAILED ")]
    reported = {ln.split(" ", 1)[1].split(": ", 1)[0]: ln for ln in failed_lines}
    assert set(reported) == set(fail), (set(reported) ^ set(fail), failed_lines)
    assert len(failed_lines) == len(fail)
    for url, (_, words) in fail.items():
        for w in words:
            assert w in reported[url], (w, reported[url])

    # -- the summary line agrees with the corpus and the database ---------------------------
    conn = sqlite3.connect(tmp_path / "state.db")
    conn.row_factory = sqlite3.Row
    decisions = dict(conn.execute("select decision, count(*) from entries group by decision"))
    new = sorted(p.name for p in corpus.iterdir() if NAME_RE.match(p.name) and p.name not in seeds)
    summary = [ln for ln in stdout.splitlines() if ln.startswith("polled ")]
    assert len(summary) == 1, stdout
    m = re.fullmatch(r"polled (\d+) feeds in [\d.]+s: (\d+) new stories, (\d+) duplicates, "
                     r"(\d+) off-topic, (\d+) seen before, (\d+) unchanged, (\d+) failed",
                     summary[0])
    assert m, summary[0]
    polled, appended, dups, offtopic, seen, unchanged, nfailed = map(int, m.groups())
    assert polled == len(feeds) and nfailed == len(fail)
    assert seen == 0 and unchanged == 0
    assert appended == len(new) == decisions.get("appended", 0)
    assert dups == decisions.get("duplicate", 0)
    assert offtopic == decisions.get("rejected", 0)
    # good 3 + messy 1 + Cyrillic 1 (the second copy is a duplicate) + megabyte title 1
    # + 4 with non-web links (from the feed's text)
    assert appended == 3 + 1 + 1 + 1 + len(BAD_LINKS), new
    assert dups == 1
    # the cup final, the 20,000 weather reports, the billion-laughs, quadratic and XXE items
    # ("Boom", "Blow-up", "Item": parsed, nothing expanded, off-topic)
    # (of the 20,000, only limits.max_items = 1,000 are handled)
    assert offtopic == 1 + 1000 + 2 + len(xxe)

    # -- the stories ------------------------------------------------------------------------
    stories = {r["file_name"]: dict(r) for r in conn.execute(
        "select * from stories where text_source != 'external'")}
    assert set(stories) == set(new) and all(s["status"] == "committed" for s in stories.values())
    first_lines = {}
    for name in new:
        text = (corpus / name).read_text(encoding="utf-8")
        first, _, body = text.partition("\n")
        first_lines[name] = first
        assert first and not text.endswith("\n"), name
        assert not re.search(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]", first), (name, first[:200])
        assert "<" not in first and ">" not in first, (name, first[:200])
        assert len(first) <= 2000, (name, len(first))
    titles = list(first_lines.values())
    for key in ("treaty", "troops", "bridge"):
        assert titles.count(STORIES[key]["title"]) == 1, (key, titles)
        name = next(n for n, t in first_lines.items() if t == STORIES[key]["title"])
        assert stories[name]["text_source"] == "page"
        body = (corpus / name).read_text(encoding="utf-8").split("\n")[1:]
        assert body == STORIES[key]["paragraphs"]
    # the messy title: one clean line, markup and control characters gone
    messy_name = next(n for n, s in stories.items() if s["link"] == server.url("/news/messy"))
    assert first_lines[messy_name] == "Putin and Kim Jong Un sign pact in Pyongyang"
    assert (corpus / messy_name).read_text(encoding="utf-8").split("\n")[1:] == MESSY_PARAGRAPHS
    # the windows-1251 story, decoded, once (the liar's copy is a duplicate)
    assert titles.count(TITLE_RU) == 1, titles
    # the megabyte title: kept, cut to a bounded single line
    mega_name = next(n for n, t in first_lines.items() if t.startswith("Russia and North Korea: "))
    assert 100 < len(first_lines[mega_name]) <= 2000
    assert stories[mega_name]["text_source"] == "feed"
    # non-web links: the stories come from the feed's own text, with no link kept
    for link, title, description in BAD_LINKS:
        name = next(n for n, t in first_lines.items() if t == title)
        assert stories[name]["text_source"] == "feed", stories[name]
        assert stories[name]["link"] is None, stories[name]
        assert (corpus / name).read_text(encoding="utf-8").split("\n")[1:] == [description]
    # only configured feeds and the good pages were ever asked for: nothing from the 20,000
    # items, nothing the bad links point to
    asked = set(server.hits)
    allowed = {"/" + u.split("/", 3)[3] for u in [f["url"] for f in feeds]} | {
        "/loop-b.xml", "/news/treaty", "/news/troops", "/news/bridge", "/news/messy",
        "/news/mega-missing", "/ru/news/1"}
    assert asked <= allowed, asked - allowed
    assert not any(p.startswith("/weather/") for p in asked)
    assert server.count("/news/cup") == 0
    for key in ("/news/treaty", "/news/troops", "/news/bridge", "/news/messy"):
        assert server.count(key) == 1, key

    # -- nothing leaked, nothing expanded, nothing left behind -----------------------------
    everything = "\n".join([stdout, stderr, db_text(tmp_path / "state.db")]
                           + [(corpus / n).read_text(encoding="utf-8") for n in new])
    for line in passwd_lines():
        assert line not in everything, f"/etc/passwd leaked: {line!r}"
    assert "lollol" not in everything
    assert "A" * 1000 not in everything
    assert "\x00" not in "".join(first_lines.values())
    leftovers = [n for n in os.listdir(corpus) if not NAME_RE.match(n)]
    assert leftovers == [], leftovers
    assert not [n for n in os.listdir(corpus) if n.startswith(TEMP_PREFIX)]

    # -- `monitor feeds`: each failing feed is failing (410: gone) with its error -----------
    r = run_cli(config, "feeds", timeout=60)
    assert r.returncode == 0 and "Traceback" not in r.stderr + r.stdout, r.stderr
    assert not [ln for ln in passwd_lines() if ln in r.stdout + r.stderr]
    lines = r.stdout.splitlines()[1:]
    by_name = {f["name"]: [ln for ln in lines if f["name"] in ln.split()] for f in feeds}
    assert all(len(v) == 1 for v in by_name.values()), r.stdout
    by_name = {k: v[0] for k, v in by_name.items()}
    for f in feeds:
        line = by_name[f["name"]]
        if f["url"] in fail:
            state, words = fail[f["url"]]
            assert line.split()[0] == state, line
            assert words[0] in line, line
        else:
            assert line.split()[0] == "ok", line

    # -- 429: the next poll honours Retry-After (120 s), not the 30 s back-off -------------
    row = conn.execute("select next_due, last_polled from feeds where url = ?", [busy]).fetchone()
    wait = (datetime.fromisoformat(row["next_due"])
            - datetime.fromisoformat(row["last_polled"])).total_seconds()
    assert 120 <= wait <= 130, wait
    gone = conn.execute("select gone, next_due from feeds where url = ?",
                        [server.url("/410.xml")]).fetchone()
    assert gone["gone"] == 1 and gone["next_due"] is None

    # the two Cyrillic feeds were read as Cyrillic; of the big one, limits.max_items were handled
    feed_rows = {r["url"]: dict(r) for r in conn.execute("select * from feeds")}
    assert feed_rows[cp1251]["title"] == feed_rows[liar]["title"] == "Новости: Азия"
    assert conn.execute("select count(*) from entries e join feeds f on f.id = e.feed_id "
                        "where f.url = ? and e.decision = 'rejected'", [big]).fetchone()[0] \
        == 1000
    conn.close()

    # -- last, so that everything above is checked whatever the time: bounded in time -------
    if wall >= WALL_LIMIT:
        raise TooSlow(f"the poll took {wall:.1f}s (limit {WALL_LIMIT:.0f}s)")
