"""The feed list: `monitor add / remove / import-opml / export-opml`, and the text edits of
config.yaml behind them (comments, order and layout kept byte for byte; validated; atomic)."""

from __future__ import annotations

import difflib
import html
import io
import os
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from monitor import cli
from monitor.errors import MonitorError
from monitor.sources import (EditError, add_feeds_text, feed_links, parse_opml, remove_feed_text,
                             replace_config)
from tests.conftest import ROOT, rss, run_cli, write_config

HTML = "text/html; charset=utf-8"


def items(n: int, prefix: str = "Story") -> list[dict]:
    return [{"title": f"{prefix} {i}", "link": f"http://127.0.0.1/{prefix.lower()}/{i}"}
            for i in range(n)]


def atom(title: str, n: int) -> str:
    entries = "".join(f"<entry><title>{title} item {i}</title><id>urn:x:{i}</id>"
                      f"<link href='http://127.0.0.1/a/{i}'/>"
                      "<updated>2026-11-24T08:00:00Z</updated></entry>" for i in range(n))
    return (f"<?xml version='1.0' encoding='utf-8'?><feed xmlns='http://www.w3.org/2005/Atom'>"
            f"<title>{html.escape(title)}</title><id>urn:x</id>"
            f"<updated>2026-11-24T08:00:00Z</updated>{entries}</feed>")


def page(links: list[tuple[str, str]]) -> str:
    heads = "".join(f'<link rel="alternate" type="{kind}" title="x" href="{html.escape(href)}">'
                    for kind, href in links)
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>Site</title>"
            f'<link rel="stylesheet" href="/s.css">{heads}</head>'
            "<body><h1>Welcome</h1><p>News.</p></body></html>")


def feeds_of(config: Path) -> list:
    data = yaml.safe_load(config.read_text(encoding="utf-8"))
    return [f if isinstance(f, dict) else {"url": f} for f in data.get("feeds") or []]


def only_insertions(before: str, after: str) -> list[str]:
    """The lines `after` adds to `before`; fails if any line of `before` changed or went."""
    a, b = before.splitlines(keepends=True), after.splitlines(keepends=True)
    added = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        assert op in ("equal", "insert"), (op, a[i1:i2], b[j1:j2])
        if op == "insert":
            added += b[j1:j2]
    return added


class Result:
    def __init__(self, returncode: int, stdout: str, stderr: str):
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


@pytest.fixture
def monitor(capsys):
    """`monitor -c CONFIG ARGS...` through the real command line, in this process (a subprocess
    per call costs seconds on a busy machine; a few tests below use one anyway)."""
    def call(config: Path, *args: str) -> Result:
        capsys.readouterr()
        code = cli.main(["-c", str(config), *args])
        out = capsys.readouterr()
        return Result(code, out.out, out.err)
    return call


def checks_ok(config: Path) -> None:
    assert cli.main(["-c", str(config), "check"]) == 0


# ---------------------------------------------------------------------------------------------
# monitor add


def test_add_a_feed_url_adds_it_named_by_its_title(server, tmp_path, monitor):
    url = server.add("/news.xml", rss(items(3), title="Korea Desk"))
    config = write_config(tmp_path, ["http://127.0.0.1:9/existing.xml"])
    r = run_cli(config, "add", url)
    assert r.returncode == 0, r.stderr
    assert "is a feed: Korea Desk (3 items)" in r.stdout
    assert f"added feeds[1] {url} (Korea Desk)" in r.stdout
    assert feeds_of(config)[1] == {"url": url, "name": "Korea Desk"}
    # --name wins over the title; a second add of another feed goes after the first
    other = server.add("/other.xml", atom("Other", 2), content_type="application/atom+xml")
    r = monitor(config, "add", other, "--name", "Mine: the other one")
    assert r.returncode == 0, r.stderr
    assert feeds_of(config)[2] == {"url": other, "name": "Mine: the other one"}
    checks_ok(config)


def test_add_a_site_page_lists_its_feeds_and_pick_adds_one(server, tmp_path, monitor):
    server.add("/rss/world.xml", rss(items(4), title="World news"))
    second = server.add("/atom/asia", atom("Asia desk", 2), content_type="application/atom+xml")
    server.add("/feed.xml", rss(items(7, "Blog"), title="Site blog"))     # a usual path only
    site = server.add("/", page([("application/rss+xml", "/rss/world.xml"),   # relative
                                 ("application/atom+xml", second),            # absolute
                                 ("text/css", "/other.css")]), content_type=HTML)
    config = write_config(tmp_path, [])
    original = config.read_bytes()

    r = monitor(config, "add", site)                      # not a terminal, no --pick
    assert r.returncode == 1
    listing = r.stdout.splitlines()
    assert "3 feeds found" in listing[0]
    assert listing[1:] == [f"  1. World news — {server.url('/rss/world.xml')} (4 items)",
                           f"  2. Asia desk — {second} (2 items)",
                           f"  3. Site blog — {server.url('/feed.xml')} (7 items)"]
    assert "--pick" in r.stderr
    assert config.read_bytes() == original

    r = monitor(config, "add", site, "--pick", "9")
    assert r.returncode == 2 and "only 3" in r.stderr
    assert config.read_bytes() == original

    r = monitor(config, "add", site, "--pick", "2")
    assert r.returncode == 0, r.stderr
    assert feeds_of(config) == [{"url": second, "name": "Asia desk"}]
    checks_ok(config)


def test_a_page_with_no_feed_is_an_error(server, tmp_path, monitor):
    site = server.add("/home", page([]), content_type=HTML)
    config = write_config(tmp_path, [])
    original = config.read_bytes()
    r = monitor(config, "add", site)
    assert r.returncode == 1
    assert "no feed found" in r.stderr and "/feeds/posts/default" in r.stderr
    assert config.read_bytes() == original
    # every usual path was tried, on the page's own host
    assert server.count("/feed") == 1 and server.count("/atom.xml") == 1


def test_an_unreachable_url_is_an_error(tmp_path, monitor):
    config = write_config(tmp_path, [])
    r = monitor(config, "add", "http://127.0.0.1:9/feed.xml")
    assert r.returncode == 1 and "cannot fetch" in r.stderr
    r = monitor(config, "add", "ftp://example.org/feed")
    assert r.returncode == 2 and "http(s)" in r.stderr


def test_a_duplicate_is_refused_naming_the_existing_entry(server, tmp_path, monitor):
    url = server.add("/feed.xml", rss(items(2), title="Dup"))
    config = write_config(tmp_path, [{"url": url + "?b=2&a=1", "name": "Already here"}])
    original = config.read_bytes()
    variant = url.replace("http://", "HTTP://") + "?a=1&utm_source=newsletter&b=2"
    r = monitor(config, "add", variant)
    assert r.returncode == 1
    assert "already configured" in r.stderr and "feeds[0]" in r.stderr
    assert "Already here" in r.stderr
    assert server.count("/feed.xml") == 0          # refused before any request
    assert config.read_bytes() == original

    # found through a page: the one feed it offers is the configured one
    site = server.add("/site", page([("application/rss+xml", url + "?a=1&b=2")]),
                      content_type=HTML)
    r = monitor(config, "add", site)
    assert r.returncode == 1 and "already configured" in r.stderr, r.stderr
    assert config.read_bytes() == original


def test_add_keeps_every_comment_and_line_of_the_shipped_config(server, tmp_path):
    url = server.add("/desk.xml", rss(items(2), title="Local Korea Desk"))
    config = tmp_path / "config.yaml"
    original = (ROOT / "config.yaml").read_text(encoding="utf-8")
    config.write_text(original, encoding="utf-8")
    r = run_cli(config, "add", url)
    assert r.returncode == 0, r.stderr
    # the new item sits right after the last feed, before the blank line and "# The topic"
    at = original.index("\n\n# The topic") + 1
    expected = original[:at] + f"  - url: {url}\n    name: Local Korea Desk\n" + original[at:]
    assert config.read_text(encoding="utf-8") == expected
    checks_ok(config)
    # and removing it gives the original back, byte for byte
    r = run_cli(config, "remove", url)
    assert r.returncode == 0, r.stderr
    assert config.read_text(encoding="utf-8") == original
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".config.yaml.")]


def test_prompt_on_a_terminal(server, tmp_path, monkeypatch, capsys):
    server.add("/a.xml", rss(items(1), title="A"))
    server.add("/b.xml", rss(items(1), title="B"))
    site = server.add("/", page([("application/rss+xml", "/a.xml"),
                                 ("application/rss+xml", "/b.xml")]), content_type=HTML)
    config = write_config(tmp_path, [])

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.setattr(sys, "stdin", Terminal("x\n2\n"))
    assert cli.main(["-c", str(config), "add", site]) == 0
    out = capsys.readouterr().out
    assert "add which feed? [1-2" in out and "give a number" in out
    assert feeds_of(config) == [{"url": server.url("/b.xml"), "name": "B"}]
    # --yes: never ask; several found without --pick is then an error
    monkeypatch.setattr(sys, "stdin", Terminal("1\n"))
    assert cli.main(["-c", str(config), "add", site, "--yes"]) == 1
    assert "--pick" in capsys.readouterr().err
    # an empty answer adds nothing
    monkeypatch.setattr(sys, "stdin", Terminal("\n"))
    assert cli.main(["-c", str(config), "add", site]) == 1
    assert len(feeds_of(config)) == 1


# ---------------------------------------------------------------------------------------------
# monitor remove


COMMENTED = """\
# my feeds
corpus_dir: corpus   # the corpus
database: state.db

feeds:
  # --- first section ---
  - url: http://127.0.0.1:9/one.xml
    name: One   # the first
  - url: http://127.0.0.1:9/two.xml
    name: Two
    interval: 1h
  # --- second section ---
  - http://127.0.0.1:9/three.xml
  - url: http://127.0.0.1:9/four.xml

# after the feeds
interval: 15m
"""


def test_remove_takes_out_only_that_feeds_lines(tmp_path, monitor):
    config = tmp_path / "config.yaml"
    config.write_text(COMMENTED, encoding="utf-8")
    r = monitor(config, "remove", "HTTP://127.0.0.1:9/two.xml")     # same feed, other spelling
    assert r.returncode == 0, r.stderr
    assert "removed feeds[1] http://127.0.0.1:9/two.xml (Two)" in r.stdout
    assert config.read_text(encoding="utf-8") == COMMENTED.replace(
        "  - url: http://127.0.0.1:9/two.xml\n    name: Two\n    interval: 1h\n", "")
    r = monitor(config, "remove", "http://127.0.0.1:9/three.xml")    # a bare URL item
    assert r.returncode == 0, r.stderr
    assert "three.xml" not in config.read_text(encoding="utf-8")
    assert "# --- second section ---" in config.read_text(encoding="utf-8")
    checks_ok(config)

    before = config.read_bytes()
    r = monitor(config, "remove", "http://127.0.0.1:9/nope.xml")
    assert r.returncode == 1 and "not a configured feed" in r.stderr
    assert config.read_bytes() == before


# ---------------------------------------------------------------------------------------------
# OPML


OPML = """<?xml version="1.0" encoding="UTF-8"?>
<opml version="1.0">
  <head><title>Subscriptions in Feedly</title><dateCreated>Mon, 23 Nov 2026 10:00:00 GMT</dateCreated></head>
  <body>
    <outline text="Korea" title="Korea">
      <outline type="rss" text="NK Pro &amp; More" title="NK Pro &amp; More" xmlUrl="http://127.0.0.1:9/nkpro.xml" htmlUrl="http://127.0.0.1:9/"/>
      <outline text="Wire">
        <outline type="rss" text="Yonhap wire" xmlUrl="http://127.0.0.1:9/yna.xml?lang=en&amp;cat=nk"/>
      </outline>
    </outline>
    <outline title="Russia">
      <outline type="rss" text="Known already" xmlUrl="HTTP://127.0.0.1:9/one.xml?utm_source=feedly"/>
      <outline type="rss" text="Broken" xmlUrl="javascript:alert(1)"/>
      <outline type="rss" title="Без названия" xmlurl="http://127.0.0.1:9/ru.xml"/>
    </outline>
    <outline type="rss" xmlUrl="http://127.0.0.1:9/untitled.xml"/>
  </body>
</opml>
"""


def test_import_opml_adds_new_feeds_skips_known_and_reports_bad(tmp_path, monitor):
    config = tmp_path / "config.yaml"
    config.write_text(COMMENTED, encoding="utf-8")
    opml = tmp_path / "subs.opml"
    opml.write_text(OPML, encoding="utf-8")
    r = monitor(config, "import-opml", str(opml))
    assert r.returncode == 0, r.stderr
    assert "6 feeds: 4 added, 1 skipped (already there), 1 invalid" in r.stdout
    assert "skipped  HTTP://127.0.0.1:9/one.xml?utm_source=feedly (already there: feeds[0] " \
           "http://127.0.0.1:9/one.xml (One))" in r.stdout
    assert "invalid  'javascript:alert(1)'" in r.stdout
    assert feeds_of(config)[4:] == [
        {"url": "http://127.0.0.1:9/nkpro.xml", "name": "NK Pro & More"},
        {"url": "http://127.0.0.1:9/yna.xml?lang=en&cat=nk", "name": "Yonhap wire"},
        {"url": "http://127.0.0.1:9/ru.xml", "name": "Без названия"},
        {"url": "http://127.0.0.1:9/untitled.xml"}]
    added = only_insertions(COMMENTED, config.read_text(encoding="utf-8"))
    assert len(added) == 7
    checks_ok(config)
    # again: everything is there now, nothing changes
    before = config.read_bytes()
    r = monitor(config, "import-opml", str(opml))
    assert r.returncode == 0 and "0 added, 5 skipped" in r.stdout and "nothing changed" in r.stdout
    assert config.read_bytes() == before


def test_export_opml_round_trips_through_import(tmp_path, monitor):
    src = tmp_path / "a"
    src.mkdir()
    feeds = [{"url": "http://127.0.0.1:9/a.xml?x=1&y=<2>", "name": 'Tom & Jerry <"quoted">'},
             {"url": "http://127.0.0.1:9/b.xml"},
             {"url": "https://news.example/rss", "name": "Новости 뉴스", "enabled": False}]
    config = write_config(src, feeds)
    r = run_cli(config, "export-opml")
    assert r.returncode == 0, r.stderr
    doc = ET.fromstring(r.stdout.encode("utf-8"))          # well-formed, escaping included
    assert doc.tag == "opml" and doc.get("version") == "2.0"
    assert doc.find("head/title").text and doc.find("head/dateCreated").text.endswith("GMT")
    outlines = doc.findall("body/outline")
    assert [(o.get("xmlUrl"), o.get("text"), o.get("title"), o.get("type")) for o in outlines] == [
        (feeds[0]["url"], feeds[0]["name"], feeds[0]["name"], "rss"),
        (feeds[1]["url"], feeds[1]["url"], feeds[1]["url"], "rss"),
        (feeds[2]["url"], feeds[2]["name"], feeds[2]["name"], "rss")]

    dst = tmp_path / "b"
    dst.mkdir()
    empty = write_config(dst, [])
    assert "feeds: []" in empty.read_text()
    exported = dst / "feeds.opml"
    exported.write_text(r.stdout, encoding="utf-8")
    r = monitor(empty, "import-opml", str(exported))
    assert r.returncode == 0, r.stderr
    assert "3 added" in r.stdout
    got = feeds_of(empty)
    assert [f["url"] for f in got] == [f["url"] for f in feeds]
    assert got[0]["name"] == feeds[0]["name"] and got[2]["name"] == feeds[2]["name"]
    checks_ok(empty)


LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE opml [
  <!ENTITY lol "lol">
""" + "".join(f'  <!ENTITY lol{i} "{("&lol%s;" % (i - 1 if i > 1 else "")) * 10}">\n'
              for i in range(1, 10)) + """]>
<opml version="2.0"><head><title>&lol9;</title></head>
<body><outline text="&lol9;" xmlUrl="http://127.0.0.1:9/x.xml"/></body></opml>
"""

XXE = """<?xml version="1.0"?>
<!DOCTYPE opml [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<opml version="2.0"><body><outline text="&secret;" xmlUrl="http://127.0.0.1:9/x.xml"/></body></opml>
"""


@pytest.mark.parametrize("doc", [LAUGHS, XXE], ids=["billion-laughs", "external-entity"])
def test_hostile_opml_is_refused_quickly(tmp_path, doc):
    config = write_config(tmp_path, [])
    original = config.read_bytes()
    opml = tmp_path / "evil.opml"
    opml.write_text(doc, encoding="utf-8")
    started = time.monotonic()
    r = run_cli(config, "import-opml", str(opml), timeout=30)
    assert time.monotonic() - started < 20
    assert r.returncode == 1 and "entities" in r.stderr and "refused" in r.stderr
    assert config.read_bytes() == original
    assert "root:" not in r.stdout + r.stderr


def test_parse_opml_refuses_what_is_not_opml():
    with pytest.raises(MonitorError, match="not an OPML"):
        parse_opml(b"<rss version='2.0'><channel/></rss>")
    with pytest.raises(MonitorError, match="not well-formed"):
        parse_opml(b"<opml><body><outline text='&nbsp;' xmlUrl='http://a/'/></body></opml>")
    with pytest.raises(MonitorError, match="entities"):    # the declaration hidden in UTF-16
        parse_opml(LAUGHS.replace('<?xml version="1.0"?>', "").encode("utf-16"))
    feeds = parse_opml(OPML.encode())
    assert [f.category for f in feeds][:2] == ["Korea", "Korea / Wire"]


# ---------------------------------------------------------------------------------------------
# The text edits, on tricky configs


NEW = [("http://new.example/feed", "New: one"), ("http://two.example/rss", None)]


def parse_feeds(text: str) -> list:
    return yaml.safe_load(text)["feeds"]


@pytest.mark.parametrize("before, after", [
    ("corpus_dir: c\nfeeds: []   # none yet\ndatabase: d\n",
     'corpus_dir: c\nfeeds:    # none yet\n  - url: http://new.example/feed\n    name: "New: one"\n'
     "  - url: http://two.example/rss\ndatabase: d\n"),
    ("corpus_dir: c\nfeeds: []\n",
     'corpus_dir: c\nfeeds:\n  - url: http://new.example/feed\n    name: "New: one"\n'
     "  - url: http://two.example/rss\n"),
    ("corpus_dir: c\nfeeds:\ndatabase: d\n",
     'corpus_dir: c\nfeeds:\n  - url: http://new.example/feed\n    name: "New: one"\n'
     "  - url: http://two.example/rss\ndatabase: d\n"),
    ("corpus_dir: c  # no feeds key\n",
     'corpus_dir: c  # no feeds key\nfeeds:\n  - url: http://new.example/feed\n'
     '    name: "New: one"\n  - url: http://two.example/rss\n'),
    ("corpus_dir: c",
     'corpus_dir: c\nfeeds:\n  - url: http://new.example/feed\n    name: "New: one"\n'
     "  - url: http://two.example/rss\n"),
], ids=["inline-empty-with-comment", "inline-empty-last", "null", "missing", "missing-no-eol"])
def test_add_to_an_empty_or_missing_list(before, after):
    assert add_feeds_text(before, NEW) == after
    assert parse_feeds(after) == [{"url": NEW[0][0], "name": NEW[0][1]}, {"url": NEW[1][0]}]


def test_add_when_feeds_is_the_last_key_without_a_final_newline():
    before = "database: d\nfeeds:\n  - url: http://a.example/\n    name: A"
    after = add_feeds_text(before, NEW)
    assert after.startswith(before + "\n")
    assert [f["url"] for f in parse_feeds(after)] == ["http://a.example/", NEW[0][0], NEW[1][0]]


def test_add_before_a_comment_and_the_next_key():
    before = ("feeds:\n    - url: http://a.example/   # four spaces, as the author likes\n"
              "      enabled: false\n    # - url: http://commented-out.example/\n\n"
              "# --- the rest ---\ninterval: 15m\n")
    after = add_feeds_text(before, NEW)
    added = only_insertions(before, after)
    assert added == ["    - url: http://new.example/feed\n", '      name: "New: one"\n',
                     "    - url: http://two.example/rss\n"]
    assert after.index("two.example") < after.index("# - url: http://commented-out")
    assert yaml.safe_load(after)["interval"] == "15m"


def test_add_keeps_crlf_line_endings():
    before = "corpus_dir: c\r\nfeeds:\r\n  - url: http://a.example/\r\n# end\r\ndatabase: d\r\n"
    after = add_feeds_text(before, NEW)
    assert after.count("\r\n") == after.count("\n")         # no bare LF crept in
    only_insertions(before, after)
    assert len(parse_feeds(after)) == 3
    removed = remove_feed_text(after, 1)
    assert removed.count("\r\n") == removed.count("\n")
    assert remove_feed_text(removed, 1) == before


def test_bare_url_items_get_a_bare_url_unless_named():
    before = "feeds:\n- http://a.example/\n- http://b.example/\nother: 1\n"   # indentless list
    after = add_feeds_text(before, [("http://c.example/", None), ("http://d.example/", "D")])
    assert after == ("feeds:\n- http://a.example/\n- http://b.example/\n- http://c.example/\n"
                     "- url: http://d.example/\n  name: D\nother: 1\n")


def test_add_to_a_flow_list():
    before = "feeds: [http://a.example/, {url: 'http://b.example/'}]  # flow\nx: 1\n"
    after = add_feeds_text(before, NEW)
    assert after.endswith("  # flow\nx: 1\n")
    assert parse_feeds(after)[2:] == [{"url": NEW[0][0], "name": NEW[0][1]}, {"url": NEW[1][0]}]


@pytest.mark.parametrize("name", ["true", "38 North", "a: b", "#hash", "- dash", "'quoted'",
                                  'say "hi"', "ТАСС", "null", "1e3", "x # y", "@at", "[x]",
                                  "back\\slash"])
def test_names_and_urls_read_back_exactly(name):
    url = "http://a.example/feed?q=1&x=a:b#frag"
    text = add_feeds_text("feeds: []\n", [(url, name)])
    assert parse_feeds(text) == [{"url": url, "name": name}]


def test_remove_edges():
    text = "feeds:   # mine\n  - url: http://a.example/\n    name: A\n# end\nx: 1\n"
    assert remove_feed_text(text, 0) == "feeds: []   # mine\n# end\nx: 1\n"   # still a list
    flow = "feeds: [http://a.example/, http://b.example/, http://c.example/]\n"
    assert remove_feed_text(flow, 1) == "feeds: [http://a.example/, http://c.example/]\n"
    assert remove_feed_text(flow, 2) == "feeds: [http://a.example/, http://b.example/]\n"
    assert remove_feed_text("feeds: [http://a.example/]\n", 0) == "feeds: []\n"
    # the item's own comment lines go with it; the section header above the next item stays
    text = ("feeds:\n  - url: http://a.example/\n    # why: because\n    name: A\n"
            "  # --- B section ---\n  - url: http://b.example/\n")
    assert remove_feed_text(text, 0) == "feeds:\n  # --- B section ---\n  - url: http://b.example/\n"
    with pytest.raises(EditError):
        remove_feed_text(text, 5)


def test_aliases_are_left_to_a_person():
    text = "base: &f\n  - http://a.example/\nfeeds: *f\n"
    with pytest.raises(EditError, match="alias"):
        add_feeds_text(text, NEW)


def test_a_failed_validation_leaves_the_file_untouched(tmp_path):
    config = tmp_path / "config.yaml"
    original = COMMENTED
    config.write_text(original, encoding="utf-8")
    broken = original.replace("interval: 1h", "interval: soon")
    with pytest.raises(EditError, match="would not be valid.*config.yaml.*interval"):
        replace_config(config, original, broken)
    assert config.read_text(encoding="utf-8") == original
    assert [p.name for p in tmp_path.iterdir()] == ["config.yaml"]      # no temp file left
    # a file changed by someone else meanwhile is not overwritten
    config.write_text(original + "# edited by hand\n", encoding="utf-8")
    with pytest.raises(EditError, match="modified"):
        replace_config(config, original, original.replace("One", "Uno"))
    assert config.read_text(encoding="utf-8").endswith("# edited by hand\n")
    # the mode of the file is kept
    os.chmod(config, 0o640)
    text = config.read_text(encoding="utf-8")
    replace_config(config, text, text.replace("One", "Uno"))
    assert "Uno" in config.read_text(encoding="utf-8") and (config.stat().st_mode & 0o777) == 0o640


def test_a_public_page_may_not_lead_discovery_to_a_private_address():
    """As for links inside feeds: the page's own host (the user asked for it) may be fetched,
    a <link> on a public page pointing at a private address may not."""
    import asyncio

    import httpx

    from monitor.fetch import Fetcher
    from monitor.sources import discover

    asked = []

    def handler(request: httpx.Request) -> httpx.Response:
        asked.append(str(request.url))
        def answer(ctype: str, text: str) -> httpx.Response:      # streamed, as on a socket
            return httpx.Response(200, headers={"content-type": ctype},
                                  stream=httpx.ByteStream(text.encode()))

        if request.url.host == "site.example" and request.url.path == "/":
            return answer(HTML, page([("application/rss+xml", "http://intranet.example/x.xml")]))
        if request.url.path in ("/rss.xml", "/x.xml"):
            return answer("application/rss+xml", rss(items(1), title=request.url.host))
        return httpx.Response(404)

    async def resolve(host, port):
        return ["10.0.0.5"] if host == "intranet.example" else ["93.184.216.34"]

    async def go():
        async with Fetcher(transport=httpx.MockTransport(handler), resolver=resolve) as f:
            return await discover("http://site.example/", f, feed_bytes=10**6, page_bytes=10**6)

    found = asyncio.run(go())
    assert [c.title for c in found.candidates] == ["site.example"]
    assert not any("intranet" in u for u in asked)


def test_feed_links_resolves_hrefs_and_ignores_other_links():
    doc = ('<html><head><base href="https://site.example/news/">'
           '<link rel="Alternate nofollow" type="application/RSS+XML" href="rss.xml?a=1&amp;b=2">'
           '<link rel="alternate" type="application/atom+xml" href="//cdn.example/atom">'
           '<link rel="alternate" type="text/html" href="/en/">'
           '<link rel="alternate" hreflang="ko" href="/ko/">'
           '<link rel="alternate" type="application/rss+xml" href="javascript:alert(1)">'
           '<link rel="alternate" type="application/rss+xml" href="rss.xml?a=1&amp;b=2">'
           "</head><body></body></html>")
    assert feed_links(doc, "https://site.example/") == [
        "https://site.example/news/rss.xml?a=1&b=2", "https://cdn.example/atom"]


REAL_PAGE = (Path(os.environ.get("MONITOR_SHARED") or ROOT.parent / "shared") / "fixtures" / "real"
             / "articles" / "html"
             / "1ace8c85aaee21b9d4505eca506d50c4721c29db62848b567a9703bfe0583892.html.gz")


@pytest.mark.skipif(not REAL_PAGE.is_file(), reason="../shared/fixtures/real is not present")
def test_discovery_on_a_real_news_page(server, tmp_path, monitor):
    """A real article page (TechCrunch, 2019) with three <link rel=alternate> RSS feeds. Its
    feed URLs point to the public site: they are rewritten to this test server, so nothing
    leaves 127.0.0.1; the page is otherwise served as it was saved."""
    import gzip

    page_html = gzip.decompress(REAL_PAGE.read_bytes()).decode("utf-8", "replace")
    targets = {"https://techcrunch.com/feed/": "/tc/feed/",
               "https://techcrunch.com/comments/feed/": "/tc/comments/feed/",
               "https://techcrunch.com/2019/11/18/new-york-state-attorney-general-reportedly-"
               "investigating-wework/feed/": "/tc/article/feed/"}
    for public, local in targets.items():
        assert f'href="{public}"' in page_html
        page_html = page_html.replace(f'href="{public}"', f'href="{server.url(local)}"')
    server.add("/tc/feed/", rss(items(5, "TC"), title="TechCrunch"))
    server.add("/tc/comments/feed/", rss(items(2, "Comment"), title="Comments on TechCrunch"))
    server.add("/tc/article/feed/", rss(items(1, "Reply"), title="Comments on the article"))
    site = server.add("/2019/11/18/wework/", page_html, content_type=HTML)
    config = write_config(tmp_path, [])

    r = monitor(config, "add", site)
    assert r.returncode == 1 and "3 feeds found" in r.stdout, r.stdout + r.stderr
    assert "TechCrunch — " + server.url("/tc/feed/") + " (5 items)" in r.stdout
    r = monitor(config, "add", site, "--pick", "1")
    assert r.returncode == 0, r.stderr
    assert feeds_of(config) == [{"url": server.url("/tc/feed/"), "name": "TechCrunch"}]
