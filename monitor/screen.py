"""The CPU-bound stages a poll runs in its worker processes (workers.py): parse a feed and give
its entries the topic's first check; read an article page. Plain data in, plain data out, and
light to import: a worker process imports this module, not the pipeline (httpx, sqlite-utils,
the scheduler): 0.11 s of imports on its own instead of about 0.35 s.
"""

from __future__ import annotations

from dataclasses import dataclass

from monitor.classify import Topic, classify, sides_named
from monitor.dedup import canonical_url
from monitor.models import Article, ParsedFeed, Verdict
from monitor.parse import parse_feed


@dataclass(frozen=True)
class Page:
    """A fetched page: its article (None when it was not worth extracting) and which of the
    sides the entry lacked (`checked`) its text names anywhere."""

    article: Article | None
    sides: frozenset[str]        # of the sides looked for (`checked`), those the page names
    checked: frozenset[str] = frozenset()


def read_page(body: bytes, url: str, title: str, topic: Topic,
              need: frozenset[str]) -> Page:
    """Extract the article, unless the page names none of the sides in `need` anywhere: then
    its story cannot be about the topic, and the extraction (~36 ms) is skipped. Exclusions
    ("Russian doll") are ignored here, so the check errs towards extracting."""
    from monitor.extract import extract_article, page_texts   # trafilatura costs ~1 s to
    #                                                           import: only when a page is read
    sides: frozenset[str] = frozenset()
    if need:
        for text in page_texts(body):
            sides |= sides_named(text, topic, need - sides)
            if need <= sides:
                break
        if not need <= sides:
            return Page(None, sides, need)
    return Page(extract_article(body, url, title), sides, need)


def parse_and_screen(body: bytes, headers: dict[str, str], feed_url: str, final_url: str,
                     topic: Topic, max_items: int, screen: bool = True
                     ) -> tuple[ParsedFeed, tuple[Verdict | None, ...] | None,
                                tuple[str | None, ...] | None]:
    """Parse a feed and give each of its first `max_items` entries the topic's verdict on its
    title and feed text (the cheap check: an entry naming neither side is never fetched) and
    its canonical link. Runs in a worker (workers.py), so it is plain data in, plain data out.
    `screen=False`: the parse only (verdicts and links None), for a feed polled before, whose
    entries are mostly ones it delivered then: the pipeline screens its new ones itself."""
    parsed = parse_feed(body, headers, feed_url, final_url)
    if not screen:
        return parsed, None, None
    return (parsed, *screen_entries(parsed.entries[:max_items], topic))


def screen_entries(entries, topic: Topic, skip: frozenset[str] | set[str] = frozenset()
                   ) -> tuple[tuple[Verdict | None, ...], tuple[str | None, ...]]:
    """Each entry's verdict on its title and feed text, and its canonical link; None and None
    for the entries whose key is in `skip` (delivered before: neither is needed)."""
    verdicts: list[Verdict | None] = []
    links: list[str | None] = []
    for e in entries:
        if e.key in skip:
            verdicts.append(None)
            links.append(None)
        else:
            verdicts.append(classify({"title": e.title, "summary": f"{e.summary}\n{e.content}"},
                                     topic))
            links.append(canonical_url(e.link) if e.link else None)
    return tuple(verdicts), tuple(links)
