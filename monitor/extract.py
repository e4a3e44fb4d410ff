"""Article HTML → title + paragraphs: the one module that imports trafilatura (and lxml for the
canonical link).

trafilatura finds the main text (measured best on the article-extraction benchmark); comments and
tables are left out, and a last pass drops the boilerplate lines extractors commonly let through
(donation appeals, cookie and newsletter notices, share prompts, "related stories" headings).
Also reports the page's canonical URL (rel=canonical, else og:url) so the caller can use it for
identity when it is on the same site. No network I/O.
"""

from __future__ import annotations

import re
from urllib.parse import urljoin

import trafilatura
from lxml import html as lxml_html

from monitor.errors import ExtractError
from monitor.models import Article

# Whole lines that are page furniture, not article text. Matched case-insensitively against a
# line of at most MAX_BOILERPLATE_CHARS characters, so a real paragraph quoting one survives.
BOILERPLATE = re.compile(
    r"^(?:"
    r"advertisement|sponsored|share(?: this)?(?: (?:article|story))?|share on \w+|tweet|email|print"
    r"|(?:read|see) (?:more|also)\b.*|related(?: (?:stories|articles|coverage|content))?:?.*"
    r"|(?:most )?(?:popular|read)(?: now)?|recommended(?: for you)?"
    r"|(?:sign up|subscribe)\b.*(?:newsletter|email|inbox|updates).*"
    r"|.*\b(?:cookies?|cookie policy|privacy policy)\b.*(?:accept|consent|use|settings).*"
    r"|.*\byour support (?:helps|makes)\b.*|.*\b(?:donate|donation|make a contribution)\b.*"
    r"|join (?:our|the) (?:commenting forum|conversation|discussion).*|comments?(?: \(\d+\))?"
    r"|follow (?:us|@\w+)\b.*|copyright\b.*|©.*|all rights reserved\.?"
    r"|(?:image|photo|video)(?: credit)?:.*|getty images|reuters|ap photo.*|afp via getty images"
    r"|listen to (?:this|the) (?:article|story).*|\d+ min(?:ute)? read"
    r")$",
    re.IGNORECASE,
)
MAX_BOILERPLATE_CHARS = 220


def extract_article(page: bytes | str, url: str, title_hint: str = "") -> Article:
    """The article in `page`. Raises ExtractError when no main text can be found.
    A leading paragraph that repeats the headline (the page's or `title_hint`) is dropped: the
    headline is the file's first line already."""
    try:
        doc = trafilatura.bare_extraction(
            page, url=url, include_comments=False, include_tables=False,
            include_images=False, include_links=False, with_metadata=True, deduplicate=True)
    except Exception as e:   # trafilatura/lxml raise many types on hostile markup
        raise ExtractError(f"extraction failed: {type(e).__name__}: {e}") from e
    if doc is None or not (doc.text or "").strip():
        raise ExtractError("no article text found on the page")
    title = " ".join((doc.title or "").split())
    paragraphs = clean_paragraphs(doc.text.split("\n"))
    headlines = {_fold(title), _fold(title_hint)} - {""}
    while paragraphs and _fold(paragraphs[0]) in headlines:
        paragraphs.pop(0)
    if not paragraphs:
        raise ExtractError("only boilerplate found on the page")
    return Article(title=title, paragraphs=tuple(paragraphs),
                   source="page", canonical_url=canonical_link(page, url))


def _fold(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.casefold()).split())


def clean_paragraphs(lines) -> list[str]:
    out: list[str] = []
    for line in lines:
        line = " ".join(line.split())
        if line.startswith(("- ", "• ")):
            line = line[2:]
        if not line or (len(line) <= MAX_BOILERPLATE_CHARS and BOILERPLATE.match(line)):
            continue
        if out and out[-1] == line:
            continue
        out.append(line)
    return out


def canonical_link(page: bytes | str, url: str) -> str | None:
    """rel=canonical, else og:url, made absolute; None when the page names neither."""
    try:
        tree = lxml_html.fromstring(page[:2_000_000] if isinstance(page, (bytes, str)) else page,
                                    base_url=url)
    except Exception:   # lxml raises ParserError/ValueError on empty or odd documents
        return None
    for xpath in ('//link[@rel="canonical"]/@href', '//meta[@property="og:url"]/@content'):
        for value in tree.xpath(xpath):
            value = value.strip()
            if value:
                absolute = urljoin(url, value)
                if absolute.startswith(("http://", "https://")):
                    return absolute
    return None
