"""Article HTML → title + paragraphs: the one module that imports trafilatura (and lxml for the
canonical link).

trafilatura finds the main text (measured best on the article-extraction benchmark; see
bench/extract_quality.py), with favor_precision (it drops link lists and teasers) and without
its `deduplicate` option (that keeps a process-wide cache, so a page seen before loses paragraphs,
and its document-level check discarded whole Korean articles): mean token F1 on the 60 real pages
went from 0.942 to 0.987 with these two options, and to 0.991 with the cleaning below.
Comments and tables are left out, and a last pass drops the boilerplate lines extractors commonly
let through (donation appeals, cookie and newsletter notices, share and follow prompts, "related
stories" headings, credit lines, bare links and timestamps).
Also reports the page's canonical URL (rel=canonical, else og:url) so the caller can use it for
identity when it is on the same site. No network I/O.
"""

from __future__ import annotations

import re
import threading
from urllib.parse import urljoin

import trafilatura
from lxml import etree
from lxml import html as lxml_html
from trafilatura.utils import load_html

from monitor.errors import ExtractError
from monitor.models import Article

# Whole lines that are page furniture, not article text. Matched case-insensitively against a
# line of at most MAX_BOILERPLATE_CHARS characters, so a real paragraph quoting one survives.
BOILERPLATE = re.compile(
    r"^(?:"
    r"advertisement|sponsored|share(?: this)?(?: (?:article|story))?|share on \w+|tweet|email|print"
    r"|(?:read|see) (?:more|also)\b.*|related(?: (?:stories|articles|coverage|content))?:?.*"
    r"|(?:most )?(?:popular|read)(?: now)?|recommended(?: for you)?|more:?|don'?t miss:?"
    r"|(?:sign up|subscribe)\b.*(?:newsletter|email|inbox|updates).*"
    r"|.*\b(?:cookies?|privacy policy)\b.*\b(?:accept|consent|use|settings|preferences)\b.*"
    r"|.*\byour support (?:helps|makes)\b.*|.*\b(?:donate|donation|make a contribution)\b.*"
    r"|if you (?:enjoyed|liked|value|appreciate)\b.*"
    r"|join (?:our|the) (?:commenting forum|conversation|discussion).*|comments?(?: \(\d+\))?"
    r"|follow (?:us|@\w+)\b.*|copyright\b.*|©.*|all rights reserved\.?"
    # "Follow Newsbeat on Instagram, Facebook...", "Follow AP's full coverage of ... at https://..."
    r"|follow\b.{0,120}\b(?:on (?:twitter|facebook|instagram|youtube|linkedin|telegram|tiktok)"
    r"|at https?://|full coverage)\b.*"
    r"|also on [\w.-]+\.[a-z]{2,}\b.*|.{1,160}\[(?:insight|video|pictures?|photos?|revealed"
    r"|analysis|latest|poll|gallery|live|watch)\]\|?"
    r"|listen (?:to|back)\b.*\b(?:live|here|podcast)\b.*"
    # credit lines: "Reporting by ...; Editing by ...", "... contributed reporting from Hong Kong."
    r"|(?:additional )?reporting by\b.*|(?:editing|edited|writing|compiled) by\b.*"
    r"|.*\bcontributed (?:to )?(?:this )?(?:report|reporting|story|article)\b.*"
    r"|source: .{1,60}"
    # a bare URL, e-mail address or "Label: URL" line (podcast/app links, reporter contacts)
    r"|(?:[\w' ]{1,30}: *)?(?:https?://|www\.)\S+|[\w.+-]+@[\w-]+(?:\.[\w-]+)+"
    r"|(?:twitter|facebook|instagram)\.com/\S+"
    # a timestamp alone: "Updated at 1:23 p.m.", "November 20, 2019 - 11:28 AMT"
    r"|(?:last )?(?:updated|published|posted)\b(?=.*\d).{0,50}"
    r"|(?:\w+day,? )?(?:\d{1,2} )?(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?"
    r" (?:\d{1,2},? )?\d{4}(?:\W{1,3}\d{1,2}[:.]\d{2}\W{0,2}[\w.]{0,6})?"
    r"|(?:image|photo|video)(?: credit)?:.*|getty images|reuters|ap photo.*|afp via getty images"
    r"|listen to (?:this|the) (?:article|story).*|\d+ min(?:ute)? read"
    r")$",
    re.IGNORECASE,
)
MAX_BOILERPLATE_CHARS = 220
METHOD = f"trafilatura {trafilatura.__version__}"
# trafilatura parses with one lxml HTMLParser for the whole process (trafilatura.utils
# .HTML_PARSER). Two threads in it at once corrupted the heap: a poll that read pages in threads
# died in lxml's document_fromstring with "free(): invalid pointer". Every call into trafilatura
# holds this lock. Worker processes have one thread each, so only small polls, which read pages
# in threads (workers.py), ever wait for it.
_TRAFILATURA = threading.Lock()


def extract_article(page: bytes | str, url: str, title_hint: str = "") -> Article:
    """The article in `page`. Raises ExtractError when no main text can be found.
    Paragraphs that repeat the headline (the page's or `title_hint`) are dropped: the headline is
    the file's first line already, and a later copy is a video or share caption."""
    try:
        with _TRAFILATURA:
            doc = trafilatura.bare_extraction(
                page, url=url, favor_precision=True, include_comments=False,
                include_tables=False, include_images=False, include_links=False,
                with_metadata=True, deduplicate=False)
    except Exception as e:   # trafilatura/lxml raise many types on hostile markup
        raise ExtractError(f"extraction failed: {type(e).__name__}: {e}") from e
    if doc is None or not (doc.text or "").strip():
        raise ExtractError("no article text found on the page")
    title = " ".join((doc.title or "").split())
    paragraphs = clean_paragraphs(doc.text.split("\n"))
    headlines = {_fold(title), _fold(title_hint)} - {""}
    paragraphs = [p for p in paragraphs if _fold(p) not in headlines]
    if not paragraphs:
        raise ExtractError("only boilerplate found on the page")
    return Article(title=title, paragraphs=tuple(paragraphs), source="page",
                   canonical_url=canonical_link(page, url), method=METHOD)


def _fold(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.casefold()).split())


_SOFT = re.compile("[\u00ad\u200b\u200c\u2060\ufeff]")           # soft hyphen, zero-width
_SPACE_BEFORE_PUNCT = re.compile(r"(?<=\w) +(?=[,.;:!?](?:\s|$))")
_GLUED = re.compile(r"(?<=[a-z][.!?][\"”’)])(?=[A-Z])|(?<=[a-z][.!?])(?=[A-Z][a-z])")
_HYPHEN_BREAK = re.compile(r"(?<=[^\W\d_])-$")


def clean_paragraphs(lines) -> list[str]:
    """Extractor lines → clean paragraphs: whitespace collapsed, soft hyphens and zero-width
    characters removed, a word hyphenated across a line break joined, sentences glued by a lost
    paragraph break ("difference.North Korea") spaced, boilerplate lines and repeats dropped.
    Non-Latin scripts pass through untouched (the rules only touch ASCII letters)."""
    merged: list[str] = []
    for line in lines:
        line = " ".join(_SOFT.sub("", line).split())
        if merged and _HYPHEN_BREAK.search(merged[-1]) and line[:1].islower():
            merged[-1] = merged[-1][:-1] + line    # "inter-" + "national"
            continue
        merged.append(line)
    out: list[str] = []
    for line in merged:
        if line.startswith(("- ", "• ")):
            line = line[2:]
        line = _GLUED.sub(" ", _SPACE_BEFORE_PUNCT.sub("", line))
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


# Elements after which trafilatura's text starts a new line.
BLOCK_TAGS = frozenset("""address article aside blockquote body br dd details dialog div dl dt
    fieldset figcaption figure footer form h1 h2 h3 h4 h5 h6 head header hr html li main nav ol p
    pre section summary table tbody td tfoot th thead title tr ul""".split())


# Elements whose text trafilatura never returns: on news pages they hold most of the bytes
# (analytics, JSON-LD, CSS), and scanning them for terms cost more than the extraction.
NEVER_TEXT = frozenset({"script", "style"})


def page_texts(page: bytes | str) -> tuple[str, ...]:
    """Every piece of text on the page (navigation included; not scripts or styles), decoded as
    trafilatura decodes it, twice: inline elements joined as they stand and block elements on
    lines of their own, and every element apart. Cheap (one lxml parse, no extraction), and
    whatever term the extracted article text names, one of these names it too: so a page on
    which they do not name a side of the topic cannot make its story about the topic, and need
    not be extracted."""
    try:
        with _TRAFILATURA:
            tree = load_html(page)
    except Exception:   # the extraction would fail too: let it say why
        return ("",)
    if tree is None:
        return ("",)
    joined: list[str] = []
    apart: list[str] = []
    for event, el in etree.iterwalk(tree, events=("start", "end")):
        is_element = isinstance(el.tag, str)   # not a comment or processing instruction
        if event == "start":
            if is_element:
                if el.tag in BLOCK_TAGS:
                    joined.append("\n")
                if el.text and el.tag not in NEVER_TEXT:
                    joined.append(el.text)
                    apart.append(el.text)
        else:
            if is_element and el.tag in BLOCK_TAGS:
                joined.append("\n")
            if el.tail:
                joined.append(el.tail)
                apart.append(el.tail)
    one = _HYPHEN_JOIN.sub("", _SOFT.sub("", "".join(joined)))
    return one, _SOFT.sub("", " ".join(apart))


_HYPHEN_JOIN = re.compile(r"(?<=[^\W\d_])-[ \t]*\n\s*(?=[^\W\d_])")
