"""The records passed between pipeline stages. Frozen; no third-party types cross a stage boundary.

Does not import any library beyond the standard one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class FetchResult:
    """What `fetch` hands on: a finished HTTP exchange, interpreted."""

    url: str                      # the URL asked for
    final_url: str                # the URL the body came from, after redirects
    status: int                   # last HTTP status (200, 304, ...)
    body: bytes                   # decompressed body; b"" for 304
    headers: dict[str, str]       # response headers, lower-case names (last hop)
    etag: str | None = None       # validator to send next time
    last_modified: str | None = None
    permanent_url: str | None = None   # set when every redirect hop was permanent (301/308)
    elapsed: float = 0.0          # seconds, whole exchange

    @property
    def not_modified(self) -> bool:
        return self.status == 304


@dataclass(frozen=True)
class Entry:
    """One feed item, as `parse` hands it on."""

    feed_url: str                 # the configured URL of the feed it came from
    key: str                      # identity within the feed: guid, else link, else a hash of title+date
    title: str                    # plain text, one line
    link: str | None              # absolute http(s) URL of the article, if any
    guid: str | None
    published: datetime | None    # UTC
    summary: str                  # plain text
    content: str                  # plain text of the longest content:encoded / atom content


@dataclass(frozen=True)
class ParsedFeed:
    title: str                    # the feed's own title ("" if none)
    link: str | None              # the site's home page
    entries: tuple[Entry, ...]
    bozo: str | None = None       # why the document was malformed, when feedparser recovered anyway
    ttl_minutes: int | None = None
    sy_period: str | None = None     # sy:updatePeriod (hourly, daily, ...)
    sy_frequency: str | None = None  # sy:updateFrequency


@dataclass(frozen=True)
class Article:
    """The text of a story, from its page or, failing that, from the feed."""

    title: str
    paragraphs: tuple[str, ...]
    source: str                   # "page" (extracted from the article HTML) or "feed" (feed content/summary)
    canonical_url: str | None = None   # rel=canonical / og:url of the page, if same site
    note: str = ""                # why the feed text was used, when it was
    method: str = ""              # what produced the text: "trafilatura 2.3.1", "feed content"...

    @property
    def text(self) -> str:
        return "\n".join(self.paragraphs)


@dataclass(frozen=True)
class Match:
    """One topic term found in one field."""

    side: str                     # "a" or "b" (e.g. Russia / North Korea)
    term: str                     # the canonical term name, e.g. "Pyongyang"
    field: str                    # "title", "summary" or "text"
    position: int                 # character offset in that field
    surface: str                  # the text as it appeared


@dataclass(frozen=True)
class Verdict:
    keep: bool
    sides: frozenset[str]         # which sides were found
    matches: tuple[Match, ...] = field(default_factory=tuple)
    reason: str = ""
    score: int = 0                # the weaker side's weight plus the closeness bonus
    close: str | None = None      # where the sides meet: "title", "sentence", "paragraph", None


@dataclass(frozen=True)
class FeedOutcome:
    """The result of polling one feed: a value, never an exception."""

    feed_url: str
    ok: bool
    status: str                   # "ok", "not_modified", "unchanged", or an error kind
    error: str | None = None
    entries: int = 0
    appended: tuple[str, ...] = ()    # corpus file names written
    duplicates: int = 0
    rejected: int = 0
    seen: int = 0                 # entries already handled in an earlier poll
