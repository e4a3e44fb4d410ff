"""A fast path for the common feed: what feedparser would make of a plain, well-formed RSS 2.0,
RSS 1.0 or Atom 1.0 document, read with lxml (C) instead of feedparser's pure-Python SAX
handlers. `parse_feed` costs 4.3× less CPU on the well-formed real feeds in ../shared and 6× less
on the benchmark farm's feed (bench/parser_compare.py), and feed parsing was most of a cold
poll's CPU.

feedparser stays the reference. This module reproduces feedparser's result for the fields
`monitor.parse` uses (entry title, link, id, summary, content, published/updated dates; feed
title, link, ttl, sy:update*), using feedparser's own helpers for the parts that are not XML
walking: its namespace table, URL joining, date parser and its text clean-ups (the
"UTF-8 read as Latin-1" repair and the cp1252 map). It follows feedparser's rules for which of
several titles, descriptions and contents wins (by depth and order; media:title and
media:description included) and xml:base on the root element. It accepts a document only when
it can be sure of doing so: `read` returns None, and the caller runs feedparser, for anything
else — a document that is not well-formed, has a DOCTYPE, is not UTF-8 (or ASCII), is served
with a non-XML media type, uses xml:base below the root, has markup inside a text field, Atom
xhtml or out-of-line content, base64, a repeated title, summary or id, an Atom entry's own
source, RSS 0.9x items outside the channel, and so on. tests/test_fastfeed.py checks that, for
every document it accepts, the result equals feedparser's: the real feeds in ../shared, the
test data, the benchmark farm's feeds, one document per rule above, and generated documents
that mix the awkward cases.
"""

from __future__ import annotations

import re
import threading

from feedparser.datetimes import _parse_date
from feedparser.encodings import parse_content_type
from feedparser.html import _cp1252
from feedparser.mixin import _FeedParserMixin
from feedparser.urls import _urljoin, make_safe_absolute_uri
from lxml import etree

# lxml's own advice: a parser per thread (small polls parse in threads; see workers.py)
_PER_THREAD = threading.local()
_MATCH = {uri.lower(): prefix for uri, prefix in _FeedParserMixin.namespaces.items()}
_ATOM = "http://www.w3.org/2005/Atom"
_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
_RSS1 = "http://purl.org/rss/1.0/"
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
_XML_BASE = "{http://www.w3.org/XML/1998/namespace}base"
_DECL = re.compile(rb"^<\?xml\s([^>]*?)\?>")
_DECL_ENCODING = re.compile(rb"""encoding\s*=\s*["']([^"']*)["']""")
_DECL_VERSION = re.compile(rb"""version\s*=\s*["']([^"']*)["']""")
_UTF8 = {"utf-8", "utf8"}
_ASCII = {"us-ascii", "ascii"}
_APP_TYPES = ("application/xml", "application/xml-dtd", "application/xml-external-parsed-entity")
_TEXT_TYPES = ("text/xml", "text/xml-external-parsed-entity")
_ENTITY_IN_LINK = re.compile("&([A-Za-z0-9_]+);")
# feedparser rebases on xml:base, or on an attribute named "base", on any element
_BASE_BELOW = "descendant::*[@xml:base or @base]"


def _tools() -> tuple[etree.XMLParser, etree.XPath]:
    """This thread's parser and compiled xml:base check."""
    tools = getattr(_PER_THREAD, "tools", None)
    if tools is None:
        tools = _PER_THREAD.tools = (
            etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                            huge_tree=False, recover=False, remove_blank_text=False),
            etree.XPath(_BASE_BELOW))
    return tools

# feedparser handlers that write the fields monitor reads, or change how the next ones are read.
_TITLE = {"title", "dc_title"}
_SUMMARY = {"description", "summary"}
_CONTENT = {"content", "content_encoded"}
_ID = {"guid", "id"}
_PUBLISHED = {"published", "pubdate", "issued", "dcterms_issued"}
_UPDATED = {"updated", "modified", "lastbuilddate", "dc_date", "dcterms_modified"}
_RISKY = (_TITLE | _SUMMARY | _CONTENT | _ID | _PUBLISHED | _UPDATED | {
    "link", "media_title", "media_description", "dc_description", "itunes_summary", "abstract",
    "body", "xhtml_body", "fullitem", "source", "item", "entry", "image", "textinput",
    "channel", "feed", "info", "feedburner_browserfriendly", "newlocation", "created",
    "dcterms_created", "ttl", "sy_updateperiod", "sy_updatefrequency", "rss", "rdf_rdf",
    "items", "svg", "math", "div"})


class NotSimple(Exception):
    """The document needs feedparser: not something this module can read exactly."""


def read(data: bytes, response_headers: dict[str, str]) -> tuple[dict, list[dict]] | None:
    """(feed, entries) as feedparser's FeedParserDicts would hold the fields monitor uses, or
    None when the document is not one this module can read exactly (then use feedparser)."""
    try:
        return _read(data, response_headers)
    except NotSimple:
        return None


def _read(data: bytes, headers: dict[str, str]) -> tuple[dict, list[dict]]:
    _check_encoding(data, headers.get("content-type") or "")
    parser, base_below = _tools()
    try:
        root = etree.fromstring(data, parser)
    except (etree.XMLSyntaxError, ValueError) as e:
        raise NotSimple(str(e)) from None
    if root.getroottree().docinfo.doctype:    # entities, and feedparser's expat reads DTDs
        raise NotSimple("a DOCTYPE")
    if base_below(root):
        raise NotSimple("xml:base below the root")
    base = _base(headers.get("content-location", ""), root)
    name = _name(root)
    if name == "rss":
        channels = [c for c in root if _name(c) == "channel"]
        if len(channels) != 1 or any(_name(c) == "item" for c in root):
            raise NotSimple("not one channel")
        head, items = channels[0], [c for c in channels[0] if _name(c) == "item"]
    elif name == "rdf_rdf" and root.tag == f"{{{_RDF}}}RDF":
        channels = [c for c in root if c.tag == f"{{{_RSS1}}}channel"]
        if len(channels) != 1:
            raise NotSimple("not one channel")
        head, items = channels[0], [c for c in root if _name(c) == "item"]
    elif root.tag == f"{{{_ATOM}}}feed":
        head, items = root, [c for c in root if _name(c) == "entry"]
    else:
        raise NotSimple("not RSS 2.0, RSS 1.0 or Atom 1.0")
    return _feed(head, base), [_entry(item, base) for item in items]


def _base(location: str, root) -> str:
    """The base URI feedparser resolves links against: the response's location, changed by an
    xml:base on the root element (unknown_starttag)."""
    given = root.get(_XML_BASE) or root.get("base") or location
    if location:
        return make_safe_absolute_uri(location, given) or location
    return _urljoin(location, given)


def _check_encoding(data: bytes, content_type: str) -> None:
    """feedparser would decode the document as UTF-8 (or ASCII), with no complaint (bozo)."""
    if data.startswith((b"\xef\xbb\xbf", b"\xfe\xff", b"\xff\xfe")):
        raise NotSimple("a byte-order mark")
    decl = _DECL.match(data)
    declared = ""
    if decl:
        m = _DECL_ENCODING.search(decl.group(1))
        declared = m.group(1).decode("ascii", "replace").lower() if m else ""
        v = _DECL_VERSION.search(decl.group(1))
        if not v or v.group(1) != b"1.0":
            raise NotSimple("not XML 1.0")
    if declared and declared not in _UTF8 | _ASCII:
        raise NotSimple(f"declared {declared}")
    ctype, http_encoding = parse_content_type(content_type)
    if ctype in _APP_TYPES or (ctype.startswith("application/") and ctype.endswith("+xml")):
        encoding = http_encoding or declared or "utf-8"
    elif ctype in _TEXT_TYPES or (ctype.startswith("text/") and ctype.endswith("+xml")):
        encoding = http_encoding or "us-ascii"
    else:
        raise NotSimple(f"{ctype} is not an XML media type")
    if encoding.lower() in _ASCII and data.isascii():
        return
    if encoding.lower() in _UTF8 and (declared in _UTF8 or not declared):
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            raise NotSimple("not UTF-8") from None
        return
    raise NotSimple(f"{encoding}")


_NAMES: dict[tuple[str, str | None], str] = {}


def _name(el) -> str | None:
    """The name feedparser dispatches an element on: its namespace's usual prefix (or the
    document's own prefix for a namespace it does not know), '_', the lower-case local name."""
    tag = el.tag
    if not isinstance(tag, str):
        return None                        # a comment or a processing instruction
    key = (tag, el.prefix)
    name = _NAMES.get(key)
    if name is None:
        name = _dispatch_name(tag, el.prefix)
        if len(_NAMES) < 10_000:           # bounded: a hostile feed can invent names
            _NAMES[key] = name
    return name


def _dispatch_name(tag: str, doc_prefix: str | None) -> str:
    if tag[0] == "{":
        uri, local = tag[1:].split("}", 1)
        low = uri.lower()
        if "backend.userland.com/rss" in low:
            low = "http://backend.userland.com/rss"
        prefix = _MATCH.get(low)
        if prefix is None:
            prefix = doc_prefix or ""
    else:
        prefix, local = "", tag
    local = local.lower()
    return f"{prefix.lower()}_{local}" if prefix else local


def _clean(text: str) -> str:
    """What feedparser's pop() does to a value after stripping it (and resolving a URI): repair
    UTF-8 that was read as Latin-1, then map the cp1252 range to its characters. Neither
    changes ASCII."""
    if text.isascii():
        return text
    try:
        text = text.encode("iso-8859-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        pass
    return text.translate(_cp1252)


def _text(el, *, types: tuple[str, ...] = ("text/plain", "text/html")) -> str:
    """The stripped text of a leaf element with at most a `type` (and xml:lang) attribute."""
    if len(el):
        raise NotSimple("markup inside a text field")
    for key, value in el.attrib.items():
        if key == "type":
            if _content_type(value) not in types:
                raise NotSimple(f"type {value}")
        elif key != _XML_LANG:
            raise NotSimple(f"attribute {key}")
    return (el.text or "").strip()


def _content_type(value: str) -> str:
    return _FeedParserMixin.map_content_type(value.lower())


def _nothing_risky_below(el) -> None:
    for below in el.iterdescendants():
        if _name(below) in _RISKY:
            raise NotSimple(f"{below.tag} inside {el.tag}")


def _link(el, ctx: dict, base: str, in_entry: bool) -> None:
    """feedparser's _start_link/_end_link: an href link sets the link only when it is an
    alternate HTML one; a text link always does."""
    attrs = {k.lower(): v for k, v in el.attrib.items()}
    for alias in ("url", "uri"):                 # feedparser's _enforce_href
        if alias in attrs and "href" not in attrs:
            raise NotSimple("a link with url= or uri=")
    if "href" in attrs:
        if len(el) or (el.text or "").strip():
            raise NotSimple("a link with both href and text")
        rel = attrs.get("rel", "alternate").lower()
        ctype = _content_type(attrs.get("type", "text/html" if rel != "self"
                                        else "application/atom+xml"))
        if rel == "alternate" and ctype in _FeedParserMixin.html_types:
            ctx["link"] = _urljoin(base, attrs["href"])
        return
    if attrs:
        raise NotSimple("a text link with attributes")
    if len(el):
        raise NotSimple("markup inside a link")
    value = (el.text or "").strip()
    if value:
        value = _urljoin(base, value)
    value = _clean(value)
    if in_entry:
        value = value.replace("&amp;", "&")
    ctx["link"] = _ENTITY_IN_LINK.sub(r"&\g<1>", value)


def _id(el, ctx: dict, base: str) -> None:
    """feedparser's _start_guid/_end_guid (Atom's id too): a permalink id is resolved against
    the base and stands in for the link when there is none yet."""
    islink = True
    for key, value in el.attrib.items():
        if key.lower() == "ispermalink":
            islink = value == "true"
        elif key != _XML_LANG:
            raise NotSimple(f"attribute {key} on an id")
    if len(el):
        raise NotSimple("markup inside an id")
    value = (el.text or "").strip()
    if value and islink:
        value = _urljoin(base, value)
    value = _clean(value)
    ctx["id"] = value
    if islink:
        ctx.setdefault("link", value)


class _Entry:
    """One entry's fields as feedparser's handlers would leave them. Depths are counted from
    the entry (its children are at depth 1); feedparser keeps the shallowest value of a field,
    and of two at one depth the later, and never lets a title deeper than the last one in."""

    def __init__(self, base: str):
        self.base = base
        self.ctx: dict = {}
        self.depth: dict[str, int] = {}          # feedparser's property_depth_map
        self.title_depth = -1
        self.has_content = False
        self.contents: list[str] = []
        self.seen: dict[str, int] = {}

    def once(self, group: str) -> None:
        self.seen[group] = self.seen.get(group, 0) + 1
        if self.seen[group] > 1:
            raise NotSimple(f"more than one {group}")

    def store(self, key: str, value: str, depth: int) -> None:
        old = self.depth.get(key)
        if old is None or depth <= old:
            self.depth[key] = depth
            self.ctx[key] = value

    def title(self, el, depth: int, media: bool) -> None:
        value = _clean(_text(el))
        if not (-1 < self.title_depth <= depth):
            self.store("title", value, depth)
        if value and not media:
            self.title_depth = depth

    def description(self, el, depth: int) -> None:
        """_start_description/_start_summary: once the entry has a summary but no content yet,
        a further description is read as content."""
        value = _clean(_text(el))
        if "summary" in self.ctx and not self.has_content:
            self.content(value)
        else:
            self.store("summary", value, depth)

    def content(self, value: str) -> None:
        self.has_content = True
        self.contents.append(value)
        self.ctx.setdefault("summary", value)    # _save: no depth is recorded

    def walk(self, el, depth: int) -> None:
        for child in el:
            name = _name(child)
            if name is None:
                continue
            if name == "media_title":
                self.title(child, depth, media=True)
            elif name == "media_description":
                self.description(child, depth)
            elif depth > 1:
                if name in _RISKY:
                    raise NotSimple(f"{name} at depth {depth} of an entry")
                self.walk(child, depth + 1)
            elif name in _TITLE:
                self.once("title")
                self.title(child, depth, media=False)
            elif name in _SUMMARY:
                self.once("summary")
                self.description(child, depth)
            elif name in _CONTENT:
                self.once("content")
                if child.get("src") is not None or child.get("mode") is not None:
                    raise NotSimple("content by reference or encoded")
                self.content(_clean(_text(child)))
            elif name in _ID:
                self.once("id")
                if "id" in self.ctx:
                    raise NotSimple("an rdf:about and an id")
                _id(child, self.ctx, self.base)
            elif name in _PUBLISHED:
                self.once("published")
                self.ctx["published_parsed"] = _parse_date(_clean(_text(child, types=())))
            elif name in _UPDATED:
                self.once("updated")
                self.ctx["updated_parsed"] = _parse_date(_clean(_text(child, types=())))
            elif name == "link":
                _link(child, self.ctx, self.base, in_entry=True)
            elif name in ("source", "image"):
                if len(child):
                    raise NotSimple(f"{name} with children")
                self.title_depth = -1                # _start_source, _start_image
            elif name in _RISKY:
                raise NotSimple(f"{name} in an entry")
            else:
                self.walk(child, depth + 1)


def _entry(item, base: str) -> dict:
    entry = _Entry(base)
    about = item.get(f"{{{_RDF}}}about")
    if about:
        entry.ctx["id"] = about
    entry.walk(item, 1)
    if entry.contents:
        entry.ctx["content"] = [{"value": v} for v in entry.contents]
    return entry.ctx


# feed-level elements feedparser reads into fields monitor does not use
_HARMLESS_IN_FEED = {"description", "subtitle", "pubdate", "published", "lastbuilddate",
                     "updated", "dc_date", "items"}


def _feed(head, base: str) -> dict:
    """The feed's own fields: title, link, ttl and the syndication module's update period."""
    ctx: dict = {}
    titles = 0
    for child in head:
        name = _name(child)
        if name is None or name in ("item", "entry"):
            continue
        if name in _TITLE:
            titles += 1
            if titles > 1:
                raise NotSimple("more than one feed title")
            ctx["title"] = _clean(_text(child))
        elif name == "link":
            _link(child, ctx, base, in_entry=False)
        elif name in ("ttl", "sy_updateperiod", "sy_updatefrequency"):
            # no handler in feedparser: with any attribute (xml:lang too) it keeps the
            # attributes instead of the text
            if child.attrib or len(child):
                raise NotSimple(f"{name} with attributes")
            ctx[name] = _clean((child.text or "").strip())
        elif name == "id":
            _id(child, ctx, base)
        elif name == "image":             # its title and link are the image's, not the feed's
            for below in child.iterdescendants():
                if _name(below) in _RISKY and (below.getparent() is not child or _name(below)
                                                not in ("title", "link", "description")):
                    raise NotSimple("an unusual image")
        elif name in _RISKY and name not in _HARMLESS_IN_FEED:
            raise NotSimple(f"{name} in the feed")
        else:
            _nothing_risky_below(child)
    return ctx
