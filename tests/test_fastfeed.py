"""monitor/fastfeed.py reads the plain, common feed with lxml and must give exactly what feedparser
gives (feedparser is the reference), or hand the document to feedparser. Every test here compares
the two on the same document: the real feeds in ../shared, the test data, the benchmark farm's
feeds and generated documents built from the awkward cases feedparser resolves in its own ways.
"""

from __future__ import annotations

import html
import sys
import threading
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import monitor.parse as parse
from monitor import fastfeed
from monitor.errors import ParseError
from tests.conftest import REAL, ROOT, needs_real

FINAL = "http://example.com/news/feed.xml"
HEADERS = [{}, {"content-type": "application/rss+xml"},
           {"content-type": "application/atom+xml; charset=utf-8"},
           {"content-type": "text/xml; charset=UTF-8"}, {"content-type": "text/xml"},
           {"content-type": "application/xml; charset=iso-8859-1"},
           {"content-type": "text/html"}, {"content-type": "application/octet-stream"}]


def both(data: bytes, headers: dict, monkeypatch) -> tuple[object, object, bool]:
    """(fast path's result, feedparser's result, whether the fast path read it). A ParseError
    is a result too: its message."""
    def run(fast: bool):
        monkeypatch.setattr(parse, "FAST_PATH", fast)
        try:
            return parse.parse_feed(data, headers, "http://127.0.0.1/f", FINAL)
        except ParseError as e:
            return ("ParseError", e.detail)
    return run(True), run(False), used(data, headers)


def used(data: bytes, headers: dict) -> bool:
    """Whether parse_feed takes the fast path for this document."""
    try:
        return parse.read_fast(*parse.prepare(data, headers, FINAL)) is not None
    except ParseError:
        return False


def real_documents() -> list[Path]:
    return sorted(p for d in ("feeds", "malformed") if (REAL / d).is_dir()
                  for p in (REAL / d).iterdir() if p.is_file() and p.suffix != ".md")


@needs_real
def test_real_feeds_read_as_feedparser_reads_them(monkeypatch):
    fast_read = 0
    for path in real_documents():
        data = path.read_bytes()
        # the broken feeds go to feedparser whatever the header (and cost the most to parse)
        for headers in HEADERS if path.parent.name == "feeds" else HEADERS[:2]:
            mine, reference, fast = both(data, headers, monkeypatch)
            assert mine == reference, f"{path.name} with {headers}"
            fast_read += fast
    # most of the real feeds are plain: the fast path must really be taken, or this test
    # proves nothing (42 well-formed feeds; some headers send every document to feedparser)
    plain_feeds = [p for p in real_documents() if p.parent.name == "feeds"]
    taken = [p.name for p in plain_feeds
             if used(p.read_bytes(), {"content-type": "application/rss+xml"})]
    assert len(taken) >= 0.9 * len(plain_feeds), f"fast path taken for {len(taken)}"
    assert fast_read > len(plain_feeds)


def test_test_data_feeds(monkeypatch):
    docs = sorted((ROOT / "tests" / "data").glob("*.xml"))
    assert len(docs) >= 5
    for path in docs:
        for headers in HEADERS:
            mine, reference, _ = both(path.read_bytes(), headers, monkeypatch)
            assert mine == reference, f"{path.name} with {headers}"


def test_the_farm_feeds_take_the_fast_path(monkeypatch):
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        from farm import make_item, render_feed
    finally:
        sys.path.remove(str(ROOT / "bench"))
    for mix in ("real", "heavy", "none"):
        data = render_feed(7, "Farm & Co", [make_item(7, s, 3, mix) for s in range(20)],
                           "http://127.0.0.1:9")
        headers = {"content-type": "application/rss+xml; charset=utf-8"}
        mine, reference, fast = both(data, headers, monkeypatch)
        assert fast and mine == reference and len(mine.entries) == 20


@pytest.mark.parametrize("doc, why", [
    (b'<?xml version="1.0" encoding="iso-8859-1"?><rss version="2.0"><channel><item>'
     b'<title>caf\xe9</title></item></channel></rss>', "not UTF-8"),
    (b'<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" "x.dtd">'
     b'<rss version="0.91"><channel><item><title>a</title></item></channel></rss>', "a DOCTYPE"),
    (b'<rss version="2.0"><channel><item><title>a<b>b</b></title></item></channel></rss>',
     "markup in a title"),
    (b'<feed xmlns="http://www.w3.org/2005/Atom"><entry><title>a</title><content type="xhtml">'
     b'<div xmlns="http://www.w3.org/1999/xhtml">x</div></content></entry></feed>', "xhtml"),
    (b'<feed xmlns="http://www.w3.org/2005/Atom"><entry><title>a</title><source><title>S</title>'
     b'</source></entry></feed>', "an entry's source"),
    (b'<rss version="2.0"><channel><item><title>a</title><title>b</title></item></channel></rss>',
     "two titles"),
    (b'<rss version="2.0"><channel><item><title>a</title><link>x</link></item></channel>'
     b'<item><title>b</title></item></rss>', "an item outside the channel"),
    (b'<rss version="2.0"><channel><item xml:base="http://b/"><title>a</title></item>'
     b'</channel></rss>', "xml:base below the root"),
    (b'<rss version="2.0"><channel><item><title>a</title></item></channel>', "not well-formed"),
])
def test_what_the_fast_path_leaves_to_feedparser(doc, why, monkeypatch):
    assert not used(doc, {}), why
    mine, reference, _ = both(doc, {}, monkeypatch)
    assert mine == reference


def test_a_text_xml_feed_without_charset_is_read_fast_only_when_ascii():
    ascii_doc = b'<rss version="2.0"><channel><item><title>a</title></item></channel></rss>'
    utf8_doc = ascii_doc.replace(b">a<", b">\xc3\xa9<")
    assert used(ascii_doc, {"content-type": "text/xml"})
    assert not used(utf8_doc, {"content-type": "text/xml"})   # feedparser: us-ascii, then bozo
    assert used(utf8_doc, {"content-type": "text/xml; charset=utf-8"})


# ---- generated documents -------------------------------------------------------------------

TEXT = st.one_of(
    st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=12),
    st.sampled_from(["Kim &amp; Putin", "&lt;b&gt;bold&lt;/b&gt; news", "<![CDATA[<p>para</p>]]>",
                     "Ã©tÃ© (mojibake)", "&#150; dash &#151;", "\u0096", "  spaced  \n out ",
                     "&#195;&#169;", "Москва и Пхеньян", "북한과 러시아", "a &lt;script&gt;x",
                     "&amp;amp;", "x <!-- c --> y", ""]))
LINK = st.sampled_from(["http://example.com/a?b=1&amp;c=2", "/relative/path", "article.html",
                        "https://e.com/x?&amp;amp;y=1", "https://e.com/q&amp;foo;bar", "",
                        "  http://e.com/spaced  ", "javascript:alert(1)", "urn:uuid:1234",
                        "tag:e.com,2024:1", "http://e.com/Ã©"])
DATE = st.sampled_from(["Sun, 15 Jun 2025 15:06:43 GMT", "2025-06-15T15:06:43Z",
                        "2025-06-15", "yesterday", "", "Mon, 32 Jun 2025 99:00:00 +0900"])


def _el(tag: str, text: str, attrs: str = "") -> str:
    return f"<{tag}{attrs}>{text}</{tag}>"


@st.composite
def rss_item(draw) -> str:
    parts = []
    pool = [
        lambda: _el("title", draw(TEXT)),
        lambda: _el("link", draw(LINK)),
        lambda: _el("guid", draw(LINK), draw(st.sampled_from(
            ["", ' isPermaLink="false"', ' isPermaLink="true"', ' isPermaLink="True"']))),
        lambda: _el("description", draw(TEXT)),
        lambda: _el("content:encoded", draw(TEXT)),
        lambda: _el("pubDate", draw(DATE)),
        lambda: _el("dc:date", draw(DATE)),
        lambda: _el("dc:creator", draw(TEXT)),
        lambda: _el("category", draw(TEXT)),
        lambda: _el("media:content", _el("media:title", draw(TEXT))
                    + _el("media:description", draw(TEXT)), ' url="http://e.com/i.jpg"'),
        lambda: _el("media:description", draw(TEXT)),
        lambda: _el("media:title", draw(TEXT)),
        lambda: _el("source", draw(TEXT), ' url="http://s.com/"'),
        lambda: _el("x:title", draw(TEXT)),
        lambda: _el("atom:link", "", f' rel="{draw(st.sampled_from(["alternate", "self"]))}"'
                    f' href="{draw(LINK)}"'),
        lambda: "<!-- a comment -->",
        lambda: _el("enclosure", "", ' url="http://e.com/a.mp3" type="audio/mpeg"'),
    ]
    # mostly distinct fields (a repeated title or link sends the document to feedparser), in
    # any order: the order is what feedparser's handlers resolve in their own ways
    for i in draw(st.lists(st.integers(0, len(pool) - 1), min_size=2, max_size=10, unique=True)):
        parts.append(pool[i]())
    if draw(st.integers(0, 4)) == 0:
        parts.append(pool[draw(st.integers(0, len(pool) - 1))]())
    return "<item>" + "".join(parts) + "</item>"


@st.composite
def atom_entry(draw) -> str:
    pool = [
        lambda: _el("title", draw(TEXT), draw(st.sampled_from(
            ["", ' type="text"', ' type="html"', ' type="HTML"']))),
        lambda: "<link" + draw(st.sampled_from(["", ' rel="alternate"', ' rel="self"',
                                                 ' rel="enclosure"'])) + draw(st.sampled_from(
            ["", ' type="text/html"', ' type="application/pdf"']))
                + f' href="{html.escape(html.unescape(draw(LINK)))}"/>',
        lambda: _el("id", draw(LINK)),
        lambda: _el("summary", draw(TEXT), draw(st.sampled_from(["", ' type="html"']))),
        lambda: _el("content", draw(TEXT), draw(st.sampled_from(
            ["", ' type="html"', ' type="text"']))),
        lambda: _el("published", draw(DATE)),
        lambda: _el("updated", draw(DATE)),
        lambda: _el("author", _el("name", draw(TEXT))),
        lambda: _el("media:group", _el("media:description", draw(TEXT))),
    ]
    parts = [pool[i]() for i in draw(st.lists(st.integers(0, len(pool) - 1), min_size=2,
                                              max_size=9, unique=True))]
    if draw(st.integers(0, 4)) == 0:
        parts.append(pool[draw(st.integers(0, len(pool) - 1))]())
    return "<entry>" + "".join(parts) + "</entry>"


NS = ('xmlns:content="http://purl.org/rss/1.0/modules/content/" '
      'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:media="http://search.yahoo.com/mrss/" '
      'xmlns:atom="http://www.w3.org/2005/Atom" xmlns:x="urn:example:other"')


@st.composite
def generated_feed(draw) -> tuple[bytes, dict]:
    base = draw(st.sampled_from(["", ' xml:base="http://base.example/dir/"']))
    head = "".join(draw(st.lists(st.sampled_from([
        _el("title", "The &amp; Feed"), _el("link", "/home"), _el("ttl", "30"),
        _el("description", "about"), '<atom:link rel="self" href="http://e.com/f.xml"/>',
        "<image><title>Logo</title><url>http://e.com/l.png</url><link>/</link></image>"]),
        max_size=5)))
    if draw(st.booleans()):
        items = "".join(draw(st.lists(rss_item(), min_size=1, max_size=4)))
        doc = f'<rss version="2.0" {NS}{base}><channel>{head}{items}</channel></rss>'
    else:
        entries = "".join(draw(st.lists(atom_entry(), min_size=1, max_size=4)))
        doc = (f'<feed xmlns="http://www.w3.org/2005/Atom" '
               f'xmlns:media="http://search.yahoo.com/mrss/"{base}>'
               f'{_el("title", "Atom feed")}{entries}</feed>')
    decl = draw(st.sampled_from(["", '<?xml version="1.0" encoding="utf-8"?>\n',
                                 "<?xml version='1.0'?>"]))
    ctype = draw(st.sampled_from(["", "application/rss+xml", "text/xml; charset=utf-8",
                                  "application/atom+xml"]))
    return (decl + doc).encode("utf-8"), ({"content-type": ctype} if ctype else {})


GENERATED = settings(max_examples=300, deadline=None,
                     suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                            HealthCheck.function_scoped_fixture])


def _rss(item: str) -> tuple[bytes, dict]:
    return (f'<rss version="2.0" {NS}><channel><title>F</title><item>{item}</item></channel>'
            f'</rss>').encode(), {}


def _atom(entry: str) -> tuple[bytes, dict]:
    return (f'<feed xmlns="http://www.w3.org/2005/Atom" {NS}><title>F</title><entry>{entry}</entry>'
            f'</feed>').encode(), {}


# The orders feedparser resolves in its own ways, each met at least once whatever is drawn.
QUIRKS = [
    _rss("<title>T</title><source url='http://s/'>S</source><media:title>M</media:title>"),
    _rss("<title>T</title><image>i</image><media:title>M</media:title>"),
    _rss("<title>T</title><media:title>M</media:title>"),
    _rss("<media:title>M</media:title><title>T</title>"),
    _rss("<description>D</description><media:description>caption</media:description>"),
    _rss("<media:description>caption</media:description><description>D</description>"),
    _rss("<content:encoded>C</content:encoded><media:content url='http://i/'>"
         "<media:description>caption, longer than C</media:description></media:content>"),
    _rss("<description>D</description><media:content url='http://i/'><media:description>cap"
         "</media:description></media:content><media:description>second</media:description>"),
    _rss("<title>T</title><content:encoded>C</content:encoded>"),
    _rss("<guid>relative/1</guid><title>T</title>"),
    _rss("<link>https://e.com/x?&amp;amp;y=1&amp;foo;</link><guid>http://e.com/g</guid>"),
    _rss("<guid>http://e.com/g</guid><link></link>"),
    _atom("<id>urn:uuid:1</id><title>T</title><link href='/rel'/>"),
    _atom("<title>T</title><link rel='self' href='/self'/><id>tag:e.com,2024:1</id>"),
    _atom("<title>T</title><content>C</content><summary>S</summary>"),
    _atom("<title>T</title><content>C</content><media:group><media:description>cap"
          "</media:description></media:group>"),
]


@pytest.mark.parametrize("doc", QUIRKS)
def test_feedparsers_quirks_are_reproduced(doc, monkeypatch):
    mine, reference, fast = both(*doc, monkeypatch)
    assert fast, "this document is plain: the fast path must take it"
    assert mine == reference


@GENERATED
@given(doc=generated_feed())
def test_generated_feeds_read_as_feedparser_reads_them(doc, monkeypatch):
    data, headers = doc
    mine, reference, _ = both(data, headers, monkeypatch)
    assert mine == reference


def test_the_generator_reaches_the_fast_path():
    """The generated documents mostly take the fast path (else the test above proves little)."""
    taken = []

    @settings(max_examples=100, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(generated_feed())
    def sample(doc):
        taken.append(used(*doc))

    sample()
    assert sum(taken) >= 0.3 * len(taken), f"{sum(taken)} of {len(taken)}"


def test_threads_each_read_with_their_own_parser():
    """Small polls parse in threads (workers.py): many at once give what one thread gives, and
    each thread has its own lxml parser (lxml's advice: a parser is not shared by threads)."""
    from concurrent.futures import ThreadPoolExecutor

    docs = [_rss(f"<title>T{i}</title><link>http://e.com/{i}</link>"
                 f"<description>{'word ' * 200}</description>")[0] for i in range(40)]
    alone = [parse.parse_feed(d, {}, "http://127.0.0.1/f", FINAL) for d in docs]
    with ThreadPoolExecutor(8) as pool:
        together = list(pool.map(lambda d: parse.parse_feed(d, {}, "http://127.0.0.1/f", FINAL),
                                 docs * 5))
        meet = threading.Barrier(4, timeout=10)     # four threads at once, each its own

        def parser_of_this_thread(_):
            meet.wait()
            return fastfeed._tools()[0]
        parsers = list(pool.map(parser_of_this_thread, range(4)))
    assert together == alone * 5 and all(used(d, {}) for d in docs)
    assert len({id(p) for p in parsers}) == 4
