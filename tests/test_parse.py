"""Unit tests for monitor.parse: real feeds, malformed feeds, encodings, hostile XML, non-feeds.

Real documents come from ../shared/fixtures/real (skipped with a reason when absent); our own small
documents are in tests/data. Entity bombs run in a child process with a memory limit and a timeout,
so a regression cannot hang or exhaust the test run.
"""

from __future__ import annotations

import functools
import json
import os
import re
import subprocess
import sys
import textwrap
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from monitor.errors import ParseError
from monitor.models import ParsedFeed
from monitor.parse import parse_feed
from tests.conftest import DATA, REAL, ROOT, needs_real

FEED_URL = "http://127.0.0.1/feed.xml"
XML = {"content-type": "application/rss+xml; charset=utf-8"}
NO_REAL = pytest.param(None, marks=pytest.mark.skip(
    reason="../shared/fixtures/real is not present on this machine"))


def real_files(kind: str) -> list:
    folder = REAL / kind
    files = sorted(p for p in folder.iterdir() if p.is_file()) if folder.is_dir() else []
    return files or [NO_REAL]


def name_of(p) -> str:
    return p.name if isinstance(p, Path) else "absent"


@functools.lru_cache(maxsize=None)
def parse_file(path: Path):
    """parse_feed on a file's bytes, once per file: the ParsedFeed or the ParseError."""
    try:
        return parse_feed(path.read_bytes(), {}, FEED_URL, FEED_URL)
    except ParseError as e:
        return e


def texts(feed: ParsedFeed) -> list[str]:
    return [feed.title] + [t for e in feed.entries for t in (e.title, e.summary, e.content)]


# --- real feeds ---------------------------------------------------------------------------------


@needs_real
@pytest.mark.parametrize("path", real_files("feeds"), ids=name_of)
def test_real_feed_yields_entries_with_title_link_and_unique_keys(path):
    feed = parse_file(path)
    assert isinstance(feed, ParsedFeed), f"{path.name}: {feed}"
    assert feed.entries, path.name
    for e in feed.entries:
        assert e.feed_url == FEED_URL
        assert e.title and "\n" not in e.title, e
        assert e.link and e.link.startswith(("http://", "https://")), e
        assert e.key
        assert e.published is None or e.published.tzinfo is not None
    # a key identifies one item: entries sharing a key are repeats of the same item
    # (al-monitor repeats items verbatim), never two different stories
    by_key: dict[str, set] = {}
    for e in feed.entries:
        by_key.setdefault(e.key, set()).add((e.title, e.link))
    assert all(len(items) == 1 for items in by_key.values()), \
        {k: v for k, v in by_key.items() if len(v) > 1}


@needs_real
@pytest.mark.parametrize("path", real_files("malformed"), ids=name_of)
def test_malformed_feed_yields_entries_or_raises_parse_error(path):
    result = parse_file(path)      # any exception other than ParseError fails here
    if isinstance(result, ParseError):
        assert str(result) and result.url == FEED_URL
        return
    assert isinstance(result, ParsedFeed)
    for e in result.entries:
        assert e.title or e.link or e.summary
        assert "\n" not in e.title
        assert e.link is None or e.link.startswith(("http://", "https://"))


ITEM_END = re.compile(rb"</(?:[\w-]+:)?(?:item|entry)\s*>", re.IGNORECASE)
SILENTLY_EMPTY = {"kagi_broken_xml_declaration.xml", "fastfeedparser_malformed_rss_namespaced.xml"}


def _with_items(path) -> bool:
    if not isinstance(path, Path):
        return True
    data = path.read_bytes()
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        data = data.decode("utf-16", "replace").encode()
    return bool(ITEM_END.search(data))


@needs_real
@pytest.mark.parametrize("path", [
    p for p in real_files("malformed") if _with_items(p)], ids=name_of)
def test_malformed_feed_with_complete_items_does_not_silently_yield_nothing(path):
    result = parse_file(path)
    assert isinstance(result, ParseError) or result.entries


@needs_real
def test_real_undeclared_koi8r_and_euckr_feeds_decode():
    koi8 = parse_file(REAL / "malformed" / "feedparser_illformed_chardet_koi8r.xml")
    assert koi8.entries[0].title == "Как пережить новогоднюю ночь"
    euckr = parse_file(REAL / "malformed" / "feedparser_illformed_chardet_euckr.xml")
    assert "한글닉네임" in euckr.entries[0].title


@needs_real
def test_real_latin1_feed_without_declaration_decodes():
    feed = parse_file(REAL / "malformed" / "uol_noticias_no_decl_latin1_pt_dates_2018-09-24.rss")
    assert any("simulações" in e.title for e in feed.entries)


# --- our own documents: fields, keys, links -----------------------------------------------------


def test_entry_fields_are_plain_text_with_absolute_links():
    feed = parse_feed((DATA / "feed_features.xml").read_bytes(), XML, FEED_URL,
                      "http://127.0.0.1/final/feed.xml")
    assert feed.title == "The & Test Feed" and feed.link == "http://127.0.0.1/"
    assert feed.ttl_minutes == 30
    first = feed.entries[0]
    assert first.title == "Russia & North Korea: talks resume"           # one line, no HTML
    assert first.link == "http://127.0.0.1/news/relative-1"              # resolved
    assert first.guid == first.key == "tag:test,2026:1"
    assert first.published == datetime(2026, 11, 24, 8, 0, tzinfo=timezone.utc)
    assert first.summary == "First paragraph.\nSecond & last."           # no script
    assert "alert" not in first.summary
    assert first.content == "Full text one.\nFull text two."


def test_entry_key_is_guid_else_link_else_a_stable_hash():
    feed = parse_feed((DATA / "feed_features.xml").read_bytes(), XML, FEED_URL, FEED_URL)
    by_title = {e.title: e for e in feed.entries}
    assert by_title["No guid, only a link"].key == "http://127.0.0.1/news/2?id=2"
    hashed = by_title["Neither guid nor link"].key
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", hashed)
    again = parse_feed((DATA / "feed_features.xml").read_bytes(), XML, FEED_URL, FEED_URL)
    assert hashed in {e.key for e in again.entries}
    assert len({e.key for e in feed.entries}) == len(feed.entries)


def test_non_http_links_are_dropped_and_empty_items_skipped():
    feed = parse_feed((DATA / "feed_features.xml").read_bytes(), XML, FEED_URL, FEED_URL)
    js = next(e for e in feed.entries if e.title == "A javascript link")
    assert js.link is None and js.key == "js-1"
    assert len(feed.entries) == 4                   # the item with nothing in it is skipped


def test_atom_feed():
    feed = parse_feed((DATA / "feed_atom.xml").read_bytes(),
                      {"content-type": "application/atom+xml"}, FEED_URL, FEED_URL)
    (e,) = feed.entries
    assert e.title == "Kim Jong Un meets Putin"
    assert e.link == "http://127.0.0.1/atom/1" and e.key == "urn:test:entry:1"
    assert e.content == "Long content paragraph one.\nParagraph two."


# --- encodings ----------------------------------------------------------------------------------

TITLE_RU = "Путин и Ким Чен Ын подписали договор в Пхеньяне"
SUMMARY_RU = "Россия и КНДР договорились о сотрудничестве."


@pytest.mark.parametrize("name, headers", [
    ("feed_windows1251.xml", {}),
    ("feed_windows1251.xml", {"content-type": "application/rss+xml"}),
    # lies: the declaration says UTF-8 but the bytes are windows-1251
    ("feed_declares_utf8_is_windows1251.xml", {}),
    ("feed_declares_utf8_is_windows1251.xml", {"content-type": "text/xml; charset=utf-8"}),
    # lies: the server says UTF-8, the document declares (and is) windows-1251
    ("feed_windows1251.xml", {"content-type": "application/rss+xml; charset=utf-8"}),
    ("feed_utf8_cyrillic.xml", {}),
    ("feed_utf8_cyrillic.xml", {"content-type": "text/xml; charset=iso-8859-1"}),
])
def test_cyrillic_is_decoded(name, headers):
    feed = parse_feed((DATA / name).read_bytes(), headers, FEED_URL, FEED_URL)
    (e,) = feed.entries
    assert e.title == TITLE_RU
    assert e.summary == SUMMARY_RU
    assert feed.title == "Новости: Азия"


@pytest.mark.parametrize("ctype", ["application/rss+xml; charset=windows-1251",
                                   "text/xml; charset=windows-1251"])
def test_utf8_feed_with_a_lying_windows1251_header_is_decoded(ctype):
    feed = parse_feed((DATA / "feed_utf8_cyrillic.xml").read_bytes(), {"content-type": ctype},
                      FEED_URL, FEED_URL)
    assert feed.entries[0].title == TITLE_RU


# --- hostile XML --------------------------------------------------------------------------------

CHILD = textwrap.dedent("""
    import json, resource, sys, time
    from pathlib import Path
    limit = 1 << 30                                    # 1 GiB of address space
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    from monitor.errors import ParseError
    from monitor.parse import parse_feed
    data = Path(sys.argv[1]).read_bytes()
    started = time.monotonic()
    try:
        feed = parse_feed(data, {}, "http://127.0.0.1/f", "http://127.0.0.1/f")
        out = {"texts": [feed.title] + [t for e in feed.entries
                                        for t in (e.title, e.summary, e.content)]}
    except ParseError as e:
        out = {"error": str(e)}
    out["elapsed"] = time.monotonic() - started
    print(json.dumps(out))
""")


def parse_in_child(path: Path, timeout: float = 20.0) -> dict:
    """parse_feed in a child process (1 GiB memory limit, `timeout` seconds): its result."""
    started = time.monotonic()
    try:
        r = subprocess.run([sys.executable, "-c", CHILD, str(path)], capture_output=True,
                           text=True, timeout=timeout, cwd=str(ROOT),
                           env={**os.environ, "PYTHONPATH": str(ROOT)})
    except subprocess.TimeoutExpired:
        pytest.fail(f"parsing {path.name} did not finish within {timeout:.0f}s "
                    f"({time.monotonic() - started:.1f}s)")
    assert r.returncode == 0, f"the parse died (memory?): {r.stderr[-2000:]}"
    return json.loads(r.stdout)


def test_billion_laughs_parses_fast_and_is_not_expanded():
    out = parse_in_child(DATA / "billion_laughs.xml")
    assert out["elapsed"] < 2.0, out["elapsed"]
    assert "texts" in out or "error" in out
    for t in out.get("texts", []):
        assert "lollol" not in t and len(t) < 1000


def quadratic_doc(entity_chars: int = 50_000, refs: int = 20_000, *, encoding: str = "utf-8",
                  head: str = "", second_doctype: bool = False) -> bytes:
    """One big entity referenced `refs` times: ~1 GB of text if expanded."""
    entity = "A" * entity_chars
    decl = f'<?xml version="1.0" encoding="{encoding}"?>\n'
    first = "<!DOCTYPE rss [\n<!ENTITY harmless \"x\">\n]>\n" if second_doctype else ""
    text = (decl + head + first + f'<!DOCTYPE rss [\n<!ENTITY a "{entity}">\n]>\n'
            '<rss version="2.0"><channel><title>Quadratic</title><link>http://127.0.0.1/</link>'
            '<description>d</description><item><title>Blow-up</title>'
            '<link>http://127.0.0.1/q</link><description>' + "&a;" * refs
            + '</description></item></channel></rss>\n')
    return text.encode(encoding)


def test_quadratic_blowup_parses_fast_and_is_not_expanded(tmp_path):
    path = tmp_path / "quadratic.xml"
    path.write_bytes(quadratic_doc())
    assert 100_000 < path.stat().st_size < 120_000          # ~110 KB on disk
    out = parse_in_child(path)
    assert out["elapsed"] < 2.0, out["elapsed"]
    for t in out.get("texts", []):
        assert "AAAAAAAAAA" not in t


@pytest.mark.parametrize("variant", [
    pytest.param({"encoding": "utf-16"}, id="utf-16"),
    pytest.param({"head": "<!--" + " " * 1_000_100 + "-->\n"}, id="after-1MB-comment"),
    pytest.param({"second_doctype": True}, id="second-doctype"),
    pytest.param({"encoding": "utf-8"}, id="utf-8"),
])
def test_entity_declarations_are_never_expanded(variant):
    # small sizes (1 KB x 100): the expansion is detected without risking the test run
    feed = parse_feed(quadratic_doc(1000, 100, **variant), {}, FEED_URL, FEED_URL)
    assert not any("A" * 1000 in t for t in texts(feed))


def passwd_lines() -> list[str]:
    try:
        lines = Path("/etc/passwd").read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        lines = []
    return [ln for ln in lines if ln.count(":") >= 5][:20] + ["root:x:0:0", "/bin/sh", "nologin"]


@pytest.mark.parametrize("name", ["xxe_passwd.xml", "xxe_passwd_parameter_entity.xml",
                                  "xxe_passwd_external_dtd.xml"])
def test_xxe_never_reads_local_files(name):
    try:
        feed = parse_feed((DATA / name).read_bytes(), XML, FEED_URL, FEED_URL)
    except ParseError:
        return
    everything = "\n".join(texts(feed) + [str(feed.bozo)])
    for line in passwd_lines():
        assert line not in everything
    assert feed.entries and feed.entries[0].link == "http://127.0.0.1/xxe"


# --- not feeds ----------------------------------------------------------------------------------


@pytest.mark.parametrize("body, headers, words", [
    ((DATA / "not_a_feed.html").read_bytes(), {"content-type": "text/html; charset=utf-8"},
     "HTML page"),
    ((DATA / "not_a_feed.html").read_bytes(), XML, "HTML page"),          # even when mislabelled
    (b"\xef\xbb\xbf  <html><body><p>Moved</p></body></html>", {}, "HTML page"),
    ((DATA / "not_a_feed.png").read_bytes(), {"content-type": "image/png"}, "PNG image"),
    ((DATA / "not_a_feed.png").read_bytes(), XML, "PNG image"),
    ((DATA / "not_a_feed.json").read_bytes(), {"content-type": "application/feed+json"}, "JSON"),
    ((DATA / "not_a_feed.json").read_bytes(), XML, "JSON"),
    (b"", XML, "empty"),
    (b" \r\n\t ", XML, "empty"),
    (b"GIF89a\x01\x00\x01\x00", {}, "GIF image"),
    (b"%PDF-1.7\n", {}, "PDF"),
    (b"\x1f\x8b\x08\x00\x00\x00\x00\x00", {}, "gzip"),
])
def test_non_feeds_raise_parse_error_with_a_clear_message(body, headers, words):
    with pytest.raises(ParseError) as info:
        parse_feed(body, headers, FEED_URL, "http://127.0.0.1/final")
    message = str(info.value)
    assert words in message, message
    assert info.value.url == "http://127.0.0.1/final"


@pytest.mark.parametrize("body", [
    b"Just some plain text, not XML at all.",
    b'<?xml version="1.0"?><note><to>T</to><body>not a feed</body></note>',
])
def test_other_documents_are_not_feeds(body):
    with pytest.raises(ParseError, match="not a feed"):
        parse_feed(body, XML, FEED_URL, FEED_URL)


def test_an_empty_but_valid_feed_is_not_an_error():
    body = b'<?xml version="1.0"?><rss version="2.0"><channel><title>Quiet</title></channel></rss>'
    feed = parse_feed(body, XML, FEED_URL, FEED_URL)
    assert feed.entries == () and feed.title == "Quiet"
