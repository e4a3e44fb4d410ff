"""The feed list as a user edits it: find a site's feeds, add or remove one in config.yaml, OPML.

config.yaml is a document a person wrote: comments, section headers, key order and quoting are
theirs. So it is never re-serialised. An edit is a text edit at positions PyYAML reports for the
parsed nodes (a new list item goes after the last item's last value; a removed item loses its own
lines and nothing else), matching the indentation and line endings already there. The edited text
is written to a temp file beside the config, validated with `load_config` — and checked to hold
exactly the feeds intended, in order, and nothing else changed in the feed list — then renamed over
the config (os.replace). On any failure the config is left as it was.

Discovery fetches the URL given; a feed is the candidate itself; an HTML page is searched for
`<link rel="alternate" type="application/rss+xml|atom+xml">` and the site's usual feed paths, and
every candidate that parses as a feed is offered with its title and item count.

OPML is parsed with expat after refusing any entity declaration (billion laughs, external
entities): a subscription list has no use for them.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import re
import stat
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import format_datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Callable, Iterable, Sequence
from urllib.parse import urljoin, urlsplit
from xml.parsers import expat

import yaml

from monitor.config import Config, FeedConfig, _same_feed_key, check_url, load_config
from monitor.dedup import canonical_url
from monitor.errors import ConfigError, FetchError, MonitorError, ParseError

log = logging.getLogger("monitor.sources")

COMMON_PATHS = ("/feed", "/rss", "/rss.xml", "/atom.xml", "/feed.xml", "/index.xml",
                "/feeds/posts/default")
FEED_TYPES = {"application/rss+xml", "application/atom+xml", "application/rdf+xml"}
# The URL given may be a feed or a page: ask for either.
ANY_ACCEPT = ("application/rss+xml, application/atom+xml, application/rdf+xml, "
              "application/xml;q=0.9, text/xml;q=0.9, text/html;q=0.8, */*;q=0.5")
MAX_LINKS = 12               # <link rel=alternate> candidates fetched from one page
MAX_OPML_BYTES = 20 * 1024**2
MAX_NAME = 200


# ---------------------------------------------------------------------------------------------
# Which configured feed is this URL?


def same_feed(feeds: Sequence[FeedConfig], url: str) -> tuple[int, FeedConfig] | None:
    """The configured feed `url` names: the same feed key (case of scheme and host, default
    port), else the same canonical URL (tracking parameters, query order). (index, feed)."""
    key = _same_feed_key(url)
    for i, f in enumerate(feeds):
        if _same_feed_key(f.url) == key:
            return i, f
    canon = canonical_url(url)
    for i, f in enumerate(feeds):
        if canonical_url(f.url) == canon:
            return i, f
    return None


def describe(index: int, feed: FeedConfig) -> str:
    return f"feeds[{index}] {feed.url}" + (f" ({feed.name})" if feed.name else "")


# ---------------------------------------------------------------------------------------------
# Discovery


@dataclass(frozen=True)
class Candidate:
    url: str                 # the URL to configure (as given or as the page advertises it)
    final_url: str           # where the feed came from after redirects
    title: str
    items: int
    via: str                 # "given", "link" (<link rel=alternate>) or "path" (a usual path)


@dataclass
class Discovery:
    url: str
    is_feed: bool                      # the URL given is itself a feed
    candidates: list[Candidate] = field(default_factory=list)
    tried: list[str] = field(default_factory=list)      # candidate URLs fetched


class _LinkFinder(HTMLParser):
    """<link rel="alternate" type="application/rss+xml" href=...> and <base href=...>."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.links: list[tuple[str, str]] = []     # (href, title)
        self.base: str | None = None

    def handle_starttag(self, tag, attrs):
        a = {k.lower(): (v or "") for k, v in attrs}
        if tag == "base" and a.get("href") and self.base is None:
            self.base = a["href"].strip()
        elif tag == "link" and a.get("href"):
            rels = a.get("rel", "").lower().split()
            kind = a.get("type", "").split(";")[0].strip().lower()
            if "alternate" in rels and kind in FEED_TYPES:
                self.links.append((a["href"].strip(), " ".join(a.get("title", "").split())))

    handle_startendtag = handle_starttag


def feed_links(html_text: str, page_url: str) -> list[str]:
    """The feeds a page advertises, as absolute http(s) URLs, in document order, without repeats."""
    finder = _LinkFinder()
    try:
        finder.feed(html_text)
        finder.close()
    except Exception as e:           # html.parser is tolerant; be safe with odd input anyway
        log.info("page %s: HTML parse stopped: %s", page_url, e)
    base = page_url
    if finder.base:
        try:
            base = urljoin(page_url, finder.base)
        except ValueError:
            pass
    out: list[str] = []
    seen: set[str] = set()
    for href, _title in finder.links:
        try:
            url = urljoin(base, href)
            check_url(url)
        except ValueError:
            continue
        key = _same_feed_key(url)
        if key not in seen:
            seen.add(key)
            out.append(url)
    return out


def common_paths(page_url: str) -> list[str]:
    parts = urlsplit(page_url)
    origin = f"{parts.scheme}://{parts.netloc}"
    return [origin + p for p in COMMON_PATHS]


def _decode(body: bytes, headers: dict[str, str]) -> str:
    m = re.search(r"charset=[\"']?([\w.:-]+)", headers.get("content-type", ""), re.IGNORECASE)
    if m:
        try:
            return body.decode(m.group(1), errors="replace")
        except LookupError:
            pass
    return body.decode("utf-8", errors="replace")


def make_fetcher(config: Config):
    """A Fetcher for interactive use: the config's limits, timeouts bounded (a person waits)."""
    from monitor.fetch import Fetcher

    t = config.timeouts
    return Fetcher(concurrency=min(config.concurrency, 8), per_host=config.per_host,
                   connect=min(t.connect, 10.0), read=min(t.read, 15.0),
                   total=min(t.total, 20.0), max_redirects=config.limits.max_redirects,
                   user_agent=config.user_agent)


async def discover(url: str, fetcher, *, feed_bytes: int, page_bytes: int) -> Discovery:
    """Fetch `url`: a feed is its own candidate; a page is searched for the feeds it links to
    and the site's usual feed paths, and each that parses as a feed is a candidate.
    Raises MonitorError when `url` itself cannot be fetched."""
    from monitor.parse import parse_feed

    try:
        first = await fetcher.get(url, max_bytes=max(feed_bytes, page_bytes), accept=ANY_ACCEPT)
    except FetchError as e:
        raise MonitorError(f"cannot fetch {url}: {e}") from e
    try:
        parsed = parse_feed(first.body, first.headers, url, first.final_url)
    except ParseError as e:
        log.info("%s is not a feed (%s); looking for the feeds it links to", url, e.detail)
    else:
        return Discovery(url, True, [Candidate(url, first.final_url, parsed.title,
                                               len(parsed.entries), "given")], [url])

    links = feed_links(_decode(first.body, first.headers), first.final_url)[:MAX_LINKS]
    # A link on a public page may not lead to a private address (as for links in feeds); the
    # usual paths are on the page's own host, which the user asked for.
    local_page = await fetcher.is_internal(first.final_url)
    todo: list[tuple[str, str]] = [(u, "link") for u in links]
    seen = {_same_feed_key(u) for u in links} | {_same_feed_key(url),
                                                 _same_feed_key(first.final_url)}
    for u in common_paths(first.final_url):
        if _same_feed_key(u) not in seen:
            seen.add(_same_feed_key(u))
            todo.append((u, "path"))

    async def one(candidate: str, via: str) -> tuple[Candidate, str] | None:
        try:
            r = await fetcher.get(candidate, max_bytes=feed_bytes,
                                  allow_internal=via == "path" or local_page)
            p = parse_feed(r.body, r.headers, candidate, r.final_url)
        except (FetchError, ParseError) as e:
            log.info("candidate %s: %s", candidate, e)
            return None
        return Candidate(candidate, r.final_url, p.title, len(p.entries), via), \
            hashlib.sha256(r.body).hexdigest()

    results = await asyncio.gather(*(one(u, via) for u, via in todo))
    found: list[Candidate] = []
    finals: set[str] = set()
    bodies: set[str] = set()
    for res in results:
        if res is None:
            continue
        cand, digest = res
        final = _same_feed_key(cand.final_url)
        if final in finals or digest in bodies:     # /feed redirecting to /rss.xml: one feed
            continue
        finals.add(final)
        bodies.add(digest)
        found.append(cand)
    return Discovery(url, False, found, [u for u, _ in todo])


# ---------------------------------------------------------------------------------------------
# Editing config.yaml as text


class EditError(MonitorError):
    """The config cannot be edited safely by program; it is left as it was."""


def _newline(text: str) -> str:
    return "\r\n" if "\r\n" in text else "\n"


def _scalar(value: str, flow: bool = False) -> str:
    """`value` as a YAML scalar: plain when that reads back as the same string, else
    double-quoted (a JSON string is a valid YAML double-quoted scalar)."""
    if not flow and value == value.strip() and "\n" not in value and "\r" not in value:
        try:
            if yaml.safe_load(f"k: {value}\n") == {"k": value} and \
                    yaml.safe_load(f"- {value}\n") == [value]:
                return value
        except yaml.YAMLError:
            pass
    return json.dumps(value, ensure_ascii=False)


def _compose(text: str) -> yaml.MappingNode:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as e:
        raise EditError(f"the config is not valid YAML: {e}") from e
    if not isinstance(root, yaml.MappingNode):
        raise EditError("the config is not a mapping of keys")
    return root


def _feeds_node(root: yaml.MappingNode) -> tuple[yaml.Node, yaml.Node] | None:
    for k, v in root.value:
        if isinstance(k, yaml.ScalarNode) and k.value == "feeds":
            if v.start_mark.index < k.end_mark.index:
                raise EditError("`feeds` is an alias (*name) of a list elsewhere; edit it by hand")
            return k, v
    return None


def _content_end(node: yaml.Node) -> int:
    """Where `node`'s own text ends: its last scalar, or the closing bracket of a flow
    collection (a block collection's end mark lies at the next token, past any comments)."""
    while True:
        if isinstance(node, yaml.ScalarNode) or getattr(node, "flow_style", False):
            return node.end_mark.index
        if isinstance(node, yaml.SequenceNode) and node.value:
            node = node.value[-1]
        elif isinstance(node, yaml.MappingNode) and node.value:
            node = node.value[-1][1]
        else:
            return node.end_mark.index


def _after_line(text: str, pos: int) -> int:
    """The start of the line after the one `pos` is on (`pos` at a line start: itself)."""
    if pos > 0 and text[pos - 1] == "\n":
        return pos
    nl = text.find("\n", pos)
    return len(text) if nl < 0 else nl + 1


def _line_start(text: str, pos: int) -> int:
    return text.rfind("\n", 0, pos) + 1


def _dash(text: str, item: yaml.Node) -> int:
    """The position of the `-` that introduces a block sequence item."""
    i = item.start_mark.index - 1
    while i >= 0 and text[i] in " \t\r\n":
        i -= 1
    if i < 0 or text[i] != "-":
        raise EditError("cannot find where a feeds item starts; edit it by hand")
    return i


def _check_order(items: list[yaml.Node], after: int) -> None:
    """Item positions must increase through the text (an alias item points elsewhere)."""
    last = after
    for it in items:
        if it.start_mark.index < last:
            raise EditError("a feeds item is an alias (*name); edit the list by hand")
        last = it.start_mark.index


def _block_item(url: str, name: str | None, dash_col: int, key_col: int, nl: str,
                bare: bool) -> str:
    if bare and not name:
        return " " * dash_col + "-" + " " * (key_col - dash_col - 1) + _scalar(url) + nl
    out = " " * dash_col + "-" + " " * (key_col - dash_col - 1) + "url: " + _scalar(url) + nl
    if name:
        out += " " * key_col + "name: " + _scalar(name) + nl
    return out


def _flow_item(url: str, name: str | None) -> str:
    return "{url: " + _scalar(url, True) + (", name: " + _scalar(name, True) if name else "") + "}"


def add_feeds_text(text: str, new: Sequence[tuple[str, str | None]]) -> str:
    """`text` with list items for `new` [(url, name or None)] appended to its `feeds` list.
    Everything else — comments, blank lines, order, quoting, line endings — stays byte for byte.
    Raises EditError when the list cannot be found or edited safely."""
    if not new:
        return text
    nl = _newline(text)
    root = _compose(text)
    found = _feeds_node(root)
    if found is None:                                  # no feeds key: a new one at the end
        col = root.value[0][0].start_mark.column if root.value else 0
        block = " " * col + "feeds:" + nl + "".join(
            _block_item(u, n, col + 2, col + 4, nl, False) for u, n in new)
        if text and not text.endswith("\n"):
            text += nl
        return text + block
    key, node = found
    if isinstance(node, yaml.SequenceNode) and not node.flow_style:
        _check_order(node.value, key.end_mark.index)
        last = node.value[-1]            # the new item looks like the one before it
        dash_col = _dash(text, last) - _line_start(text, _dash(text, last))
        key_col = last.start_mark.column
        if key_col <= dash_col:      # `-` alone on its line, the item below: keep it tidy
            key_col = dash_col + 2
        bare = all(isinstance(it, yaml.ScalarNode) for it in node.value)
        at = _after_line(text, _content_end(node.value[-1]))
        prefix = nl if at == len(text) and text and not text.endswith("\n") else ""
        items = "".join(_block_item(u, n, dash_col, key_col, nl, bare) for u, n in new)
        return text[:at] + prefix + items + text[at:]
    if isinstance(node, yaml.SequenceNode):           # a flow list: [a, b] or []
        if node.value:
            _check_order(node.value, node.start_mark.index)
            at = _content_end(node.value[-1])
            return text[:at] + "".join(", " + _flow_item(u, n) for u, n in new) + text[at:]
        span = text[node.start_mark.index:node.end_mark.index]
        if "\n" in span or "#" in span:
            raise EditError("`feeds: [ ]` spans lines; edit it by hand")
        return _open_block(text, key, node, new, nl)
    if isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:null":
        return _open_block(text, key, node, new, nl)   # `feeds:`, `feeds: ~`, `feeds: null`
    raise EditError("`feeds` is not a list; fix the config first (monitor check)")


def _open_block(text: str, key: yaml.Node, node: yaml.Node, new, nl: str) -> str:
    """Replace an empty value (`[]`, `~`, `null`, nothing) after `feeds:` by a block list."""
    start, end = node.start_mark.index, node.end_mark.index
    anchor = key.end_mark.index                       # the new items go below this line
    if end > start:
        rest_of_line = text[end:_after_line(text, end)]
        text = text[:start] + text[end:]
        if not rest_of_line.strip():                  # drop the space left before the value
            s = start
            while s > 0 and text[s - 1] == " ":
                s -= 1
            text = text[:s] + text[start:]
            start = s
        anchor = start
    col = key.start_mark.column
    at = _after_line(text, anchor)
    prefix = nl if at == len(text) and not text.endswith("\n") else ""
    return text[:at] + prefix + "".join(
        _block_item(u, n, col + 2, col + 4, nl, False) for u, n in new) + text[at:]


def remove_feed_text(text: str, index: int) -> str:
    """`text` without item `index` of its `feeds` list: that item's own lines go (for a block
    list), nothing else. The last item leaves `feeds: []` behind. Raises EditError."""
    root = _compose(text)
    found = _feeds_node(root)
    if found is None or not isinstance(found[1], yaml.SequenceNode):
        raise EditError("the config has no feeds list")
    key, node = found
    items = node.value
    if not 0 <= index < len(items):
        raise EditError(f"the feeds list has no item {index}")
    _check_order(items, key.end_mark.index)
    item = items[index]
    if node.flow_style:
        if len(items) == 1:
            return text[:item.start_mark.index] + text[_content_end(item):]
        if index + 1 < len(items):
            return text[:item.start_mark.index] + text[items[index + 1].start_mark.index:]
        return text[:_content_end(items[index - 1])] + text[_content_end(item):]
    start = _line_start(text, _dash(text, item))
    if text[start:_dash(text, item)].strip():
        raise EditError("a feeds item shares its line with other text; edit it by hand")
    end = _after_line(text, _content_end(item))
    if index + 1 < len(items) and end > _line_start(text, _dash(text, items[index + 1])):
        raise EditError("feeds items share a line; edit the list by hand")
    text = text[:start] + text[end:]
    if len(items) == 1:                                # keep a valid (empty) list
        colon = text.index(":", key.end_mark.index)
        text = text[:colon + 1] + " []" + text[colon + 1:]
    return text


# ---------------------------------------------------------------------------------------------
# Writing the config: validated, atomic, only if nobody changed it meanwhile


def read_config_text(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8")   # no newline translation: CRLF stays CRLF
    except (OSError, UnicodeDecodeError) as e:
        raise MonitorError(f"cannot read {path}: {e}") from e


def replace_config(path: Path, original: str, new_text: str,
                   expect: Callable[[Config], None] | None = None) -> Config:
    """Write `new_text` over the config at `path`, atomically, if it validates (load_config)
    and `expect(new_config)` accepts it, and the file still holds `original`. Else the file is
    left untouched and EditError is raised. Returns the new config."""
    path = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as e:
        raise EditError(f"{path.name} not changed: cannot write beside it in {path.parent}: "
                        f"{e.strerror or e}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(new_text)
            f.flush()
            os.fsync(f.fileno())
        try:
            new_config = load_config(tmp)
        except ConfigError as e:
            problems = "; ".join(p.replace(Path(tmp).name, path.name) for p in e.problems)
            raise EditError(f"{path.name} not changed: the edited config would not be valid "
                            f"({problems})") from None
        if expect is not None:
            expect(new_config)
        try:
            os.chmod(tmp, stat.S_IMODE(path.stat().st_mode))
        except OSError:
            pass
        if read_config_text(path) != original:
            raise EditError(f"{path.name} not changed: it was modified by something else "
                            "meanwhile; run the command again")
        os.replace(tmp, path)
    except OSError as e:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise EditError(f"{path.name} not changed: {e.strerror or e}") from None
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    try:
        dfd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass
    return new_config


def _signature(feeds: Iterable[FeedConfig]) -> list[tuple]:
    return [(f.url, f.name, f.interval, f.enabled) for f in feeds]


@dataclass
class AddReport:
    added: list[tuple[int, FeedConfig]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)     # (url, why: the existing one)
    invalid: list[tuple[str, str]] = field(default_factory=list)     # (url, why)


def _clean_name(name: str | None) -> str | None:
    if name is None:
        return None
    name = " ".join("".join(ch for ch in name if ch.isprintable() or ch.isspace()).split())
    return name[:MAX_NAME] or None


def add_feeds(path: Path, new: Sequence[tuple[str, str | None]]) -> AddReport:
    """Add the feeds `new` [(url, name)] to the config at `path`, in one atomic edit. A URL that
    is not http(s) is invalid; one already configured (same feed, or same canonical URL), or
    twice in `new`, is skipped. Nothing is written when nothing is to be added."""
    path = Path(path)
    original = read_config_text(path)
    current = load_config(path).feeds
    report = AddReport()
    accepted: list[FeedConfig] = []
    for raw_url, raw_name in new:
        try:
            url = check_url(raw_url)
        except ValueError as e:
            report.invalid.append((str(raw_url), str(e)))
            continue
        hit = same_feed(current, url)
        if hit:
            i, f = hit
            report.skipped.append((url, f"already there: feeds[{i}]"
                                   + (f" {f.url}" if f.url != url else "")
                                   + (f" ({f.name})" if f.name else "")))
            continue
        hit = same_feed(accepted, url)
        if hit:
            report.skipped.append((url, f"listed twice: same feed as {hit[1].url}"))
            continue
        accepted.append(FeedConfig(url=url, name=_clean_name(raw_name)))
    if not accepted:
        return report
    new_text = add_feeds_text(original, [(f.url, f.name) for f in accepted])

    def expect(cfg: Config) -> None:
        if _signature(cfg.feeds) != _signature(current) + _signature(accepted):
            raise EditError(f"{path.name} not changed: the edit would not have added exactly "
                            "the new feeds at the end of the list; add them by hand")

    replace_config(path, original, new_text, expect)
    report.added = [(len(current) + i, f) for i, f in enumerate(accepted)]
    return report


def remove_feed(path: Path, url: str) -> tuple[int, FeedConfig]:
    """Remove the feed `url` names (same-feed rule) from the config at `path`, atomically."""
    path = Path(path)
    original = read_config_text(path)
    current = load_config(path).feeds
    hit = same_feed(current, url.strip())
    if hit is None:
        raise MonitorError(f"remove: {url} is not a configured feed in {path.name} "
                           f"(`monitor export-opml` lists them)")
    index, feed = hit
    # load_config drops invalid/duplicate items, so config index ≠ list position in general:
    # find the node whose url is this feed's.
    position = _item_position(original, feed.url)
    new_text = remove_feed_text(original, position)

    def expect(cfg: Config) -> None:
        if _signature(cfg.feeds) != _signature(current[:index] + current[index + 1:]):
            raise EditError(f"{path.name} not changed: the edit would not have removed exactly "
                            "that feed; remove it by hand")

    replace_config(path, original, new_text, expect)
    return index, feed


def _item_position(text: str, url: str) -> int:
    found = _feeds_node(_compose(text))
    if found is None or not isinstance(found[1], yaml.SequenceNode):
        raise EditError("the config has no feeds list")
    for i, item in enumerate(found[1].value):
        if isinstance(item, yaml.ScalarNode):
            value = item.value
        elif isinstance(item, yaml.MappingNode):
            value = next((v.value for k, v in item.value
                          if isinstance(k, yaml.ScalarNode) and k.value == "url"
                          and isinstance(v, yaml.ScalarNode)), None)
        else:
            value = None
        if isinstance(value, str) and value.strip() == url:
            return i
    raise EditError(f"cannot find the list item of {url}; remove it by hand")


# ---------------------------------------------------------------------------------------------
# OPML


@dataclass(frozen=True)
class OpmlFeed:
    url: str
    name: str | None
    category: str            # "News / Asia"; "" at the top level


_ENTITY = re.compile(rb"<!ENTITY", re.IGNORECASE)


def parse_opml(data: bytes, source: str = "OPML") -> list[OpmlFeed]:
    """Every outline with an xmlUrl, at any depth, in document order. Raises MonitorError for
    a document that is not OPML, is malformed, or declares entities (refused: billion laughs,
    external entities)."""
    from monitor.parse import to_utf8

    if len(data) > MAX_OPML_BYTES:
        raise MonitorError(f"{source}: larger than {MAX_OPML_BYTES // 1024**2} MB; refused")
    data, _ = to_utf8(data)
    if _ENTITY.search(data):
        raise MonitorError(f"{source}: declares XML entities (<!ENTITY>); refused — an OPML "
                           "subscription list has no use for them, and they can expand without "
                           "bound or read local files")
    feeds: list[OpmlFeed] = []
    stack: list[str | None] = []       # element names; categories' titles for outlines
    cats: list[str] = []
    state = {"root": None, "body": False}

    def refuse(*_args):
        raise MonitorError(f"{source}: declares XML entities; refused")

    def start(tag, attrs):
        local = tag.rsplit("}", 1)[-1].rsplit(":", 1)[-1].lower()
        if state["root"] is None:
            state["root"] = local
        a = {k.lower(): v for k, v in attrs.items()}
        title = " ".join((a.get("title") or a.get("text") or "").split())
        if local == "outline":
            url = (a.get("xmlurl") or "").strip()
            if url:
                feeds.append(OpmlFeed(url, title or None, " / ".join(c for c in cats if c)))
            cats.append(title)
        stack.append(local)

    def end(tag):
        if stack.pop() == "outline":
            cats.pop()

    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.EntityDeclHandler = refuse
    parser.ExternalEntityRefHandler = lambda *a: 0
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    try:
        parser.Parse(data, True)
    except expat.ExpatError as e:
        raise MonitorError(f"{source}: not well-formed XML: {e}") from None
    if state["root"] != "opml":
        raise MonitorError(f"{source}: not an OPML document (its root element is "
                           f"<{state['root'] or 'nothing'}>, not <opml>)")
    return feeds


_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def export_opml(config: Config, now: datetime | None = None) -> str:
    """The configured feeds as an OPML 2.0 document (text, with its XML declaration)."""
    import xml.etree.ElementTree as ET

    def clean(s: str) -> str:
        return _XML_BAD.sub("", s)

    opml = ET.Element("opml", version="2.0")
    head = ET.SubElement(opml, "head")
    ET.SubElement(head, "title").text = clean(f"monitor feeds: {config.topic.name}")
    ET.SubElement(head, "dateCreated").text = format_datetime(
        now or datetime.now(timezone.utc), usegmt=True)
    body = ET.SubElement(opml, "body")
    for f in config.feeds:
        label = clean(f.name or f.url)
        ET.SubElement(body, "outline", type="rss", text=label, title=label, xmlUrl=clean(f.url))
    ET.indent(opml, space="  ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(opml, encoding="unicode") + "\n"
