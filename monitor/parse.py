"""Feed documents → frozen entries, with feedparser (fastfeed.py reads the plain, common feed the
same way, faster; the two are the only modules that import feedparser).

feedparser only ever sees bytes (a str would make it open a URL or a file: it has no timeout and
no size limit) together with the response headers, so it can honour the charset and resolve
relative links against the final URL. Before it sees them, a DOCTYPE internal subset is removed:
entity declarations are how "billion laughs" and quadratic blow-up documents work, and feedparser's
loose fallback parser would expand them. A malformed ("bozo") document still yields what feedparser
recovered; a document that is not a feed at all (HTML, an image, JSON, nothing) is a ParseError.
CPU work: callers run it off the event loop. No network I/O.
"""

from __future__ import annotations

import calendar
import functools
import hashlib
import html
import os
import re
from datetime import datetime, timezone
from html.parser import HTMLParser

from monitor.errors import ParseError
from monitor.models import Entry, ParsedFeed

# fastfeed reads the common, plain feed with lxml, exactly as feedparser would (and hands
# anything else to feedparser). MONITOR_PARSER=feedparser switches it off, e.g. to compare.
FAST_PATH = os.environ.get("MONITOR_PARSER", "").strip().lower() != "feedparser"

# An internal DTD subset: <!DOCTYPE x [ ... ]>. Declarations inside may not contain "]>".
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")   # C0/C1 controls but \t and \n
_ENTITY_DECL = re.compile(rb"<!ENTITY", re.IGNORECASE)
# A whole entity declaration; the quoted value may contain ">".
_ENTITY_FULL = re.compile(rb"""<!ENTITY\s(?:[^>"']|"[^"]*"|'[^']*')*>""", re.IGNORECASE)
MAX_ENTITY_DECLS = 200
_WIDE = (  # byte-order marks and the first "<?" in UTF-32/UTF-16 without one (XML 1.0, App. F)
    (b"\x00\x00\xfe\xff", "utf-32-be"), (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\xfe\xff", "utf-16-be"), (b"\xff\xfe", "utf-16-le"),
    (b"\x00\x00\x00<", "utf-32-be"), (b"<\x00\x00\x00", "utf-32-le"),
    (b"\x00<\x00?", "utf-16-be"), (b"<\x00?\x00", "utf-16-le"),
)
_XML_DECL_ENCODING = re.compile(rb"^(\s*<\?xml[^>]*?encoding=)([\"'])[^\"']*\2", re.IGNORECASE)
_SIGNATURES = {b"\x89PNG": "a PNG image", b"GIF8": "a GIF image", b"\xff\xd8\xff": "a JPEG image",
               b"%PDF": "a PDF document", b"PK\x03\x04": "a ZIP archive",
               b"\x1f\x8b": "gzip data"}
_ITEM = re.compile(rb"<(?:[\w.-]+:)?(?:item|entry)[\s>]", re.IGNORECASE)


def to_utf8(data: bytes) -> tuple[bytes, bool]:
    """A UTF-16/UTF-32 document re-encoded as UTF-8 (its declaration saying so); others as they
    are. Returns (data, converted). Entity declarations can then be found byte-wise."""
    for mark, codec in _WIDE:
        if data.startswith(mark):
            text = data.decode(codec, errors="replace").lstrip("\ufeff")
            out = text.encode("utf-8")
            return _XML_DECL_ENCODING.sub(rb"\1\2utf-8\2", out, count=1), True
    return data, False


def defuse(data: bytes) -> bytes:
    """Remove every entity declaration and DTD internal subset, anywhere in the document.

    Entity declarations are how "billion laughs" and quadratic blow-up documents work, and
    feedparser's loose fallback parser expands them; XXE needs them too. A news feed has no use
    for them. Call on UTF-8 (or ASCII-compatible) bytes: see `to_utf8`."""
    if not _ENTITY_DECL.search(data):
        return data
    if len(_ENTITY_DECL.findall(data, 0, len(data))) > MAX_ENTITY_DECLS:
        raise ParseError("", f"more than {MAX_ENTITY_DECLS} entity declarations: refused")
    data = _ENTITY_FULL.sub(b"", data)
    data = _drop_internal_subsets(data)
    m = _ENTITY_DECL.search(data)
    if m:   # an unterminated declaration: drop everything from it to the root element
        root = re.compile(rb"<(rss|feed|rdf:RDF)\b", re.IGNORECASE).search(data, m.end())
        data = data[:m.start()] + (data[root.start():] if root else b"")
    return data


_DOCTYPE = re.compile(rb"<!DOCTYPE", re.IGNORECASE)
_SUBSET_START = re.compile(rb"[^>\[<]*\[")     # stops at the next tag: linear overall
_SUBSET_END = re.compile(rb"\]\s*>")


def _drop_internal_subsets(data: bytes) -> bytes:
    """Remove `<!DOCTYPE ... [ ... ]>` internal subsets in one forward pass (a backtracking
    regex took quadratic time on many unterminated `<!DOCTYPE`s: 208 KB → 44 s)."""
    out, pos = [], 0
    while True:
        m = _DOCTYPE.search(data, pos)
        if not m:
            break
        start = _SUBSET_START.match(data, m.end())
        if not start:                      # a DOCTYPE without an internal subset: keep it
            out.append(data[pos:m.end()])
            pos = m.end()
            continue
        end = _SUBSET_END.search(data, start.end())
        if not end:                        # never terminated: nothing later can be either
            break
        out.append(data[pos:m.start()])
        pos = end.end()
    out.append(data[pos:])
    return b"".join(out)


@functools.cache
def _feedparser():
    """feedparser, imported on the first document it reads (about 40 ms with chardet): a poll
    where nothing changed, and most commands, read none."""
    import feedparser
    import feedparser.api

    # feedparser asks xml.sax for the libxml2 driver first ("drv_libxml2", which is not
    # installed): a failed import, with a search of sys.path, on every parse (6% of a cold
    # poll). Go straight to the expat parser it falls back to.
    feedparser.api.PREFERRED_XML_PARSERS = []
    return feedparser


def parse_feed(data: bytes, headers: dict[str, str], feed_url: str, final_url: str) -> ParsedFeed:
    """Parse one feed document. Raises ParseError when it is not a feed."""
    data, response_headers = prepare(data, headers, final_url)
    fast = read_fast(data, response_headers) if FAST_PATH else None
    if fast is not None:
        feed, raws = fast
        return _parsed(feed, raws, feed_url, None)
    try:
        # Entries become plain text (`plain` drops markup, scripts and styles), so feedparser's
        # HTML sanitizer and its rewriting of links inside HTML are wasted work (~25% of a
        # parse on the real feeds); entry links are made absolute either way.
        parsed = _feedparser().parse(data, response_headers=response_headers,
                                     sanitize_html=False, resolve_relative_uris=False)
    except (ValueError, UnicodeError, LookupError, TypeError, AttributeError, IndexError,
            KeyError, RecursionError) as e:
        # feedparser's loose parser crashes on some inputs (e.g. the character reference
        # &#xD800; or &#x110000;): the document is unreadable, not our bug
        raise ParseError(final_url, f"unreadable document ({type(e).__name__}: {_short(e)})") from e
    if not parsed.get("version") and not parsed.entries:
        why = parsed.get("bozo_exception")
        raise ParseError(final_url, "not a feed" + (f": {_short(why)}" if why else ""))
    if not parsed.entries and _ITEM.search(data):
        raise ParseError(final_url, "the document has items but none could be read"
                         + (f" ({_short(parsed.get('bozo_exception'))})" if parsed.get("bozo") else ""))
    bozo = _short(parsed.get("bozo_exception")) if parsed.get("bozo") else None
    return _parsed(parsed.get("feed", {}), parsed.entries, feed_url, bozo)


def _parsed(feed, raws, feed_url: str, bozo: str | None) -> ParsedFeed:
    """feedparser's feed and entries (or fastfeed's equal of them) → a ParsedFeed."""
    entries = tuple(e for e in (_entry(raw, feed_url) for raw in raws) if e)
    ttl = feed.get("ttl")
    return ParsedFeed(title=plain(feed.get("title", "")), link=_http(feed.get("link")),
                      entries=entries, bozo=bozo,
                      ttl_minutes=int(ttl) if str(ttl or "").strip().isdigit() else None,
                      sy_period=feed.get("sy_updateperiod"),
                      sy_frequency=feed.get("sy_updatefrequency"))


def prepare(data: bytes, headers: dict[str, str], final_url: str) -> tuple[bytes, dict]:
    """What either parser is given: the document refused if it is no feed, re-encoded from
    UTF-16/32 and defused, and the response headers feedparser honours (the charset corrected
    when it lies; the final URL as the base for relative links)."""
    _refuse_non_feed(data, headers, final_url)
    response_headers = {k: v for k, v in headers.items()
                        if k in ("content-type", "content-language")}
    response_headers.setdefault("content-type", "application/xml")
    response_headers["content-location"] = final_url
    data, converted = to_utf8(data)
    if converted or _lying_charset(data, response_headers["content-type"]):
        response_headers["content-type"] = _with_utf8(response_headers["content-type"])
    try:
        data = defuse(data)
    except ParseError as e:
        raise ParseError(final_url, e.detail) from None
    return data, response_headers


def read_fast(data: bytes, response_headers: dict[str, str]) -> tuple[dict, list[dict]] | None:
    """fastfeed's reading of a prepared document, or None when feedparser must read it (an
    empty feed too: feedparser decides whether it is one). fastfeed (and lxml) is imported on
    the first feed, not when a poll that fetches nothing new starts."""
    from monitor import fastfeed
    fast = fastfeed.read(data, response_headers)
    return fast if fast is not None and fast[1] else None


def _lying_charset(data: bytes, content_type: str) -> bool:
    """The header names a non-UTF-8 charset, but the bytes are valid UTF-8 with non-ASCII text:
    valid multi-byte UTF-8 by accident is vanishingly rare, a wrong charset header is common."""
    m = re.search(r"charset=[\"']?([\w.-]+)", content_type, re.IGNORECASE)
    if not m or m.group(1).lower().replace("_", "-") in ("utf-8", "utf8", "us-ascii", "ascii"):
        return False
    if data.isascii():
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _with_utf8(content_type: str) -> str:
    base = content_type.split(";")[0].strip() or "application/xml"
    return f"{base}; charset=utf-8"


def _refuse_non_feed(data: bytes, headers: dict[str, str], url: str) -> None:
    if not data.strip():
        raise ParseError(url, "empty body")
    for sig, what in _SIGNATURES.items():
        if data.startswith(sig):
            raise ParseError(url, f"not a feed: the server sent {what}")
    head = data[:2048].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    ctype = headers.get("content-type", "").lower()
    if head.startswith((b"<!doctype html", b"<html")) or (
            "text/html" in ctype and b"<rss" not in data[:4096].lower()
            and b"<feed" not in data[:4096].lower() and b"<rdf" not in data[:4096].lower()):
        raise ParseError(url, "not a feed: the server sent an HTML page")
    if head.startswith((b"{", b"[")):
        raise ParseError(url, "not a feed: the server sent JSON (JSON Feed is not supported)")


def _entry(raw, feed_url: str) -> Entry | None:
    title = " ".join(plain(raw.get("title", "")).split())
    link = _http(raw.get("link"))
    guid = (raw.get("id") or "").strip() or None
    # dict.get: FeedParserDict maps updated_parsed to published_parsed with a DeprecationWarning
    published = _when(dict.get(raw, "published_parsed") or dict.get(raw, "updated_parsed"))
    summary = plain(raw.get("summary", ""))
    contents = [c.get("value", "") for c in raw.get("content", []) or []]
    content = plain(max(contents, key=len)) if contents else ""
    if not (title or link or summary):
        return None
    key = guid or link or "sha256:" + hashlib.sha256(
        f"{title}\n{published}\n{summary[:200]}".encode()).hexdigest()
    return Entry(feed_url=feed_url, key=key[:2000], title=title[:2000], link=link, guid=guid,
                 published=published, summary=summary, content=content)


def _http(url) -> str | None:
    if isinstance(url, str) and url.strip().lower().startswith(("http://", "https://")):
        return url.strip()
    return None


def _when(struct) -> datetime | None:
    try:
        return datetime.fromtimestamp(calendar.timegm(struct), tz=timezone.utc) if struct else None
    except (TypeError, ValueError, OverflowError):
        return None


def _short(exc) -> str:
    text = str(exc) if exc else ""
    return (type(exc).__name__ + (f": {text}" if text else ""))[:300] if exc else ""


class _TextCollector(HTMLParser):
    BLOCK = {"p", "div", "br", "li", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "blockquote",
             "section", "article", "figcaption", "ul", "ol", "table"}
    SKIP = {"script", "style", "noscript", "template"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIP:
            self.skip += 1
        elif tag in self.BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in self.SKIP:
            self.skip = max(0, self.skip - 1)
        elif tag in self.BLOCK:
            self.parts.append("\n")

    def handle_data(self, data):
        if not self.skip:
            self.parts.append(data)


def plain(text: str) -> str:
    """HTML or text → plain text: paragraphs separated by newlines, spaces collapsed."""
    if not text:
        return ""
    if "<" in text:
        collector = _TextCollector()
        collector.feed(text)
        collector.close()
        text = "".join(collector.parts)
    else:
        text = html.unescape(text)
    text = _CONTROL.sub(" ", text.replace("\r\n", "\n"))   # NUL, ESC, DEL, C1: never kept
    lines = (" ".join(line.split()) for line in text.split("\n"))
    return "\n".join(line for line in lines if line)
