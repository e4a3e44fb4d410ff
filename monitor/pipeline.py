"""The order of the stages, and nothing else: the only module that knows it.

    feed ─▶ fetch ─▶ [304 / same body hash? done] ─▶ parse (in a worker: workers.py)
      for each entry:
         [entry seen in this feed before? skip] ─▶ [story known by link? add a sighting]
         ─▶ classify(title + feed text) ── names neither side ─▶ rejected, page never fetched
         ─▶ fetch page ─▶ [no side the entry lacks named anywhere on the page? rejected,
                              never extracted] ─▶ extract (too short or failed ─▶ the feed's
                              own text, noted)
         ─▶ [story known by the page's canonical URL? add a sighting]
         ─▶ classify(title + text) ── not both sides ─▶ rejected
         ─▶ append: under the corpus lock, check identity again, journal, write file, commit

One feed's failure is a value (a FeedOutcome stored on its row), never an exception that stops the
others. Does not parse, store or talk HTTP itself: it calls the stage modules and `state`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable
from urllib.parse import urlsplit

from monitor import classify as classify_mod
from monitor import timing
from monitor.config import Config, FeedConfig
from monitor.corpus import Corpus
from monitor.dedup import (MIN_WORDS, Fingerprint, canonical_url, fingerprint, is_near_duplicate,
                           normalize_title, same_site, similarity, site_of, story_id)
from monitor.errors import CorpusError, ExtractError, FetchError, MonitorError, ParseError
from monitor.fetch import PAGE_ACCEPT, Fetcher
from monitor.models import Article, Entry, FeedOutcome, ParsedFeed, Verdict
from monitor.screen import Page, parse_and_screen, read_page, screen_entries
from monitor.state import State, iso, utcnow
from monitor.workers import PAGE, Workers, parse_cost

log = logging.getLogger("monitor")
TITLE_WINDOW_DAYS = 3    # an equal headline from the same outlet within this many days ...
TITLE_MIN_WORDS = 4      # ... of at least this many words ...
TITLE_TEXT_SIMILARITY = 0.25   # ... whose text overlaps at least this much: same story
RECOVER_BATCH = 500      # stories fingerprinted or indexed per transaction at start-up
QUIET_BATCH = 200        # feed rows of polls that changed nothing written per transaction


def recover(state: State, corpus: Corpus, now: datetime) -> dict[str, int]:
    """Reconcile the corpus directory with the database, under the corpus lock: finish or forget
    appends a kill cut short, delete temp files, register files this program did not write."""
    counts = {"temp_removed": 0, "pending_committed": 0, "pending_dropped": 0, "external": 0}
    with corpus.lock():
        counts["temp_removed"] = corpus.remove_temp_files()
        files = {f.name: f for f in corpus.scan()}
        for row in state.pending_stories():
            exists = row["file_name"] in files
            state.resolve_pending(row["id"], exists)
            counts["pending_committed" if exists else "pending_dropped"] += 1
        known = state.known_files()
        new = [f for f in files.values() if f.name not in known]
        counts["external"] = 0
        for batch in _batches(new):     # a transaction per batch, not per file
            with state.tx():
                counts["external"] += len(register_files(state, corpus, batch, now,
                                                         fingerprint_now=False))
    # Fingerprint the stories the near-duplicate index does not know yet (seeds, hand-added
    # files, appends finished by recovery): only those files are read, never the whole corpus.
    # In transactions of RECOVER_BATCH stories: adopting a corpus of 100,000 files is one
    # transaction per batch, not per story.
    counts["fingerprinted"] = 0
    for batch in _batches(state.unfingerprinted()):
        with state.tx():
            counts["fingerprinted"] += sum(_fingerprint_row(state, corpus, row, now)
                                           for row in batch)
    # The full-text index (`monitor search`), for stories from before it existed.
    counts["indexed"] = 0
    for batch in _batches(state.unindexed()):
        with state.tx():
            for row in batch:
                try:
                    title, _, body = corpus.read(row["file_name"]).partition("\n")
                except OSError:
                    continue
                state.index_text(row["id"], title, body)
                counts["indexed"] += 1
    return counts


def _batches(rows: list) -> list[list]:
    return [rows[i:i + RECOVER_BATCH] for i in range(0, len(rows), RECOVER_BATCH)]


def register_files(state: State, corpus: Corpus, files, now: datetime,
                   fingerprint_now: bool = True) -> list[str]:
    """Register corpus files this program did not write (seeds, files a person added by hand,
    even while the daemon runs) so they count as stories the corpus has: by id, and — with
    `fingerprint_now` — by text for the near-duplicate check. Returns the names registered."""
    added = []
    for f in files:
        if state.add_external(f.name, f.number, f.story_id, corpus.title_of(f.name), now):
            added.append(f.name)
            if fingerprint_now:
                row = state.story(f.story_id)
                if row:
                    _fingerprint_row(state, corpus, row, now)
    return added


def _fingerprint_row(state: State, corpus: Corpus, row: dict, now: datetime) -> bool:
    try:
        title, _, body = corpus.read(row["file_name"]).partition("\n")
    except OSError:
        return False
    fp = fingerprint(body or title)
    site = site_of(row["link"]) if row.get("link") else row.get("outlet")
    state.add_fingerprint(row["id"], fp.signature, fp.words,
                          fp.bands() if fp.words >= MIN_WORDS else [],
                          normalize_title(title, row.get("outlet")), site,
                          row.get("published") or iso(now))
    state.index_text(row["id"], title, body)
    return True


@dataclass(frozen=True)
class _Story:
    """A story on its way into the corpus: everything the append needs."""

    feed_id: int
    entry: Entry
    outlet: str | None
    title: str
    article: Article
    canonical: str | None
    verdict: Verdict
    id: str
    fingerprint: Fingerprint
    title_key: str
    site: str


@dataclass
class _Counts:
    appended: list[str]
    duplicates: int = 0
    rejected: int = 0
    seen: int = 0
    errors: int = 0


class Pipeline:
    def __init__(self, config: Config, state: State, corpus: Corpus, fetcher: Fetcher,
                 clock: Callable[[], datetime] = utcnow, workers: Workers | None = None):
        self.config = config
        self.workers = workers or Workers(0)   # none: parse and read pages in a thread
        self.state = state
        self.corpus = corpus
        self.fetcher = fetcher
        self.clock = clock
        self._append_lock = asyncio.Lock()
        self._pages: dict[str, asyncio.Task] = {}
        # For the page pre-check: per set of needed sides, the topic's terms for those sides only
        self._scan_topics: dict[frozenset[str], classify_mod.Topic] = {}
        self._known_files: set[str] | None = None     # corpus files the database knows (loaded once)
        # Feed-row updates of polls that found nothing new (304, same body), written QUIET_BATCH
        # at a time and when the poll ends: a poll killed before that re-polls those feeds
        # sooner, which is all they would lose.
        self._quiet: list[tuple[int, dict]] = []

    # -- polling -------------------------------------------------------------------------------

    async def poll(self, feeds: list[FeedConfig],
                   progress: Callable[[FeedOutcome], None] | None = None) -> list[FeedOutcome]:
        self.state.sync_feeds(feeds, self.clock())

        async def one(fc: FeedConfig) -> FeedOutcome:
            outcome = await self.poll_feed(fc)
            if progress:
                progress(outcome)
            return outcome

        try:
            return list(await asyncio.gather(*(one(fc) for fc in feeds)))
        finally:
            # An abandoned poll (SIGTERM) leaves shared page fetches behind: cancel them, and
            # collect the outcome of finished ones, so none fails later on a closed client.
            for task in self._pages.values():
                if not task.done():
                    task.cancel()
                elif not task.cancelled():
                    task.exception()
            self._pages.clear()
            self._flush_quiet()

    async def poll_feed(self, fc: FeedConfig) -> FeedOutcome:
        try:
            return await self._poll_feed(fc)
        except asyncio.CancelledError:
            raise
        except Exception as e:   # a bug or an I/O failure must not stop the other feeds
            log.exception("feed %s: unexpected error", fc.url)
            return self._failed(fc, "internal", f"{type(e).__name__}: {e}")

    async def _poll_feed(self, fc: FeedConfig) -> FeedOutcome:
        row = self.state.feed_by_url(fc.url)
        url = row["current_url"] or fc.url
        try:
            result = await self.fetcher.get(url, max_bytes=self.config.limits.feed_bytes,
                                            etag=row["etag"], last_modified=row["last_modified"])
        except FetchError as e:
            return self._failed(fc, e.kind, str(e), retry_after=e.retry_after, status=e.status)
        updates = {"etag": result.etag, "last_modified": result.last_modified,
                   "last_http_status": result.status}
        if result.permanent_url:
            log.info("feed %s moved permanently to %s", url, result.permanent_url)
            updates["current_url"] = result.permanent_url
        if result.not_modified:
            return self._succeeded(fc, "not_modified", updates, _Counts([]), 0, result.headers,
                                   row=row)
        body_hash = hashlib.sha256(result.body).hexdigest()
        if body_hash == row["body_hash"]:
            return self._succeeded(fc, "unchanged", updates, _Counts([]), 0, result.headers,
                                   row=row)
        try:
            # A feed polled before mostly repeats entries it delivered then, which need no
            # topic check and no canonical link: `_entries` screens its new ones after the
            # lookup. A feed read for the first time (all new) is screened with its parse.
            parsed, screened, links = await self.workers.run(
                parse_and_screen, result.body, result.headers, fc.url, result.final_url,
                self.config.topic, self.config.limits.max_items, row["body_hash"] is None,
                work=parse_cost(len(result.body)))
        except ParseError as e:
            return self._failed(fc, "parse", str(e), status=result.status)
        if parsed.bozo:
            log.debug("feed %s is malformed but readable: %s", fc.url, parsed.bozo)
        counts = await self._entries(fc, row["id"], parsed, screened, links)
        updates["title"] = parsed.title or None
        if counts.errors:   # keep the old validators and hash: the body is processed again
            updates.pop("etag"), updates.pop("last_modified")
        else:
            updates["body_hash"] = body_hash
        return self._succeeded(fc, "ok", updates, counts, len(parsed.entries), result.headers,
                               parsed)

    async def _entries(self, fc: FeedConfig, feed_id: int, parsed: ParsedFeed,
                       screened: tuple[Verdict | None, ...] | None,
                       links: tuple[str | None, ...] | None) -> _Counts:
        """`screened` and `links` None: not screened yet (see _poll_feed): done here for the
        entries the feed did not deliver before."""
        counts = _Counts([])
        outlet = fc.name or parsed.title or None
        entries = parsed.entries
        cap = self.config.limits.max_items
        if len(entries) > cap:   # a feed of 20,000 items would hold the poll for minutes
            log.warning("feed %s has %d entries: only the first %d are handled "
                        "(limits.max_items)", fc.url, len(entries), cap)
            entries = entries[:cap]
        # What the database knows of these entries, in two queries for the whole feed rather
        # than three per entry: entries handled before, and links that are stories already.
        seen = self.state.seen_keys(feed_id, [e.key for e in entries])
        if screened is None or links is None:
            screened, links = screen_entries(entries, self.config.topic, seen)
        ids = {u: story_id(u) for u in links if u}
        stories = self.state.committed_ids_and_urls(list(ids.values()), list(ids))
        known = {u for u, sid in ids.items() if u in stories or sid in stories}
        rejected: list[tuple[int, str, dict]] = []   # written in one transaction, below
        results: list = [None] * len(entries)
        try:
            # Most entries are decided at once (seen before, a known link, or naming neither
            # side): no task for those, only for the ones that need their page.
            later = []
            for i, (e, first, link) in enumerate(zip(entries, screened, links)):
                try:
                    results[i] = self._quick(feed_id, e, first, rejected, e.key in seen, link,
                                             link in known)
                except Exception as exc:   # noqa: BLE001 — counted below, as gather would
                    results[i] = exc
                if results[i] is None:
                    later.append(i)
            done = await asyncio.gather(
                *(self._entry(feed_id, fc, outlet, entries[i], screened[i], rejected, links[i])
                  for i in later), return_exceptions=True)
            for i, r in zip(later, done):
                results[i] = r
        finally:   # before the feed's validators are stored: a kill loses no decision
            self.state.record_entries(rejected, self.clock())
        for entry, r in zip(entries, results):
            if isinstance(r, BaseException):
                if isinstance(r, asyncio.CancelledError):
                    raise r
                counts.errors += 1
                if not isinstance(r, MonitorError):
                    log.error("feed %s entry %s: %s: %s", fc.url, entry.key, type(r).__name__, r,
                              exc_info=r)   # a bug: keep its traceback in the log
                else:
                    log.warning("feed %s entry %s: %s", fc.url, entry.key, r)
                continue
            if r == "seen":
                counts.seen += 1
            elif r == "duplicate":
                counts.duplicates += 1
            elif r == "rejected":
                counts.rejected += 1
            else:
                counts.appended.append(r)
        return counts

    def _quick(self, feed_id: int, entry: Entry, first: Verdict,
               rejected: list[tuple[int, str, dict]], seen: bool, link: str | None,
               known: bool) -> str | None:
        """An entry decided without its page, given its verdict on title and feed text
        (`first`), whether the feed delivered it before (`seen`), its canonical link and
        whether that link was a story when the feed's entries were looked up (`known`; the
        append checks again under its lock): "seen", "duplicate" or "rejected" (its row added
        to `rejected`). None: it needs its page (`_entry`)."""
        if seen:
            return "seen"
        if link and known and self._known(link, feed_id, entry):
            return "duplicate"
        if not first.sides:
            rejected.append(self._rejection(feed_id, entry, link, first))
            return "rejected"
        return None

    async def _entry(self, feed_id: int, fc: FeedConfig, outlet: str | None, entry: Entry,
                     first: Verdict, rejected: list[tuple[int, str, dict]],
                     link: str | None) -> str:
        """Handle an entry `_quick` could not decide: fetch and read its page, classify it
        again. Returns "duplicate", "rejected" (its row added to `rejected`) or the new file's
        name."""
        article = await self._article(entry, first.sides)
        canonical = link
        if article.canonical_url and entry.link and same_site(article.canonical_url, entry.link):
            canonical = canonical_url(article.canonical_url)
            if canonical != link and self._known(canonical, feed_id, entry):
                return "duplicate"
        title = entry.title or article.title
        verdict = classify_mod.classify({"title": title, "summary": entry.summary,
                                         "text": article.text}, self.config.topic)
        if not verdict.keep:
            rejected.append(self._rejection(feed_id, entry, canonical, verdict))
            return "rejected"
        site = site_of(entry.link) if entry.link else (outlet or entry.feed_url)
        story = _Story(feed_id=feed_id, entry=entry, outlet=outlet, title=title, article=article,
                       canonical=canonical, verdict=verdict,
                       id=story_id(canonical or f"{entry.feed_url}\n{entry.key}"),
                       fingerprint=fingerprint(article.text), title_key=normalize_title(title, outlet),
                       site=site)
        return await self._append(story)
    def _known(self, canonical: str, feed_id: int, entry: Entry) -> bool:
        """A story already in the corpus under this URL: record where it was seen again."""
        story = self.state.story_by_url(canonical) or self.state.story(story_id(canonical))
        if not story or story["status"] != "committed":   # a pending append is not a story yet
            return False
        now = self.clock()
        self.state.add_sighting(story["id"], feed_id, entry.link, entry.key, now)
        self.state.record_entry(feed_id, entry.key, {
            "link": entry.link, "canonical_url": canonical, "title": entry.title,
            "decision": "duplicate", "reason": f"same URL as {story['file_name']}",
            "story_id": story["id"]}, now)
        return True

    def _rejection(self, feed_id: int, entry: Entry, canonical: str | None,
                   verdict: Verdict) -> tuple[int, str, dict]:
        return (feed_id, entry.key, {
            "link": entry.link, "canonical_url": canonical, "title": entry.title,
            "decision": "rejected", "reason": verdict.reason, "score": verdict.score,
            "summary": (entry.summary or "")[:2000],
            "evidence": classify_mod.evidence(verdict, self.config.topic)})

    async def _article(self, entry: Entry, named: frozenset[str]) -> Article:
        """The article text from its page; the feed's own text when that fails or is too short,
        or when the page does not name a side of the topic that the entry (`named`) lacks."""
        note = "the entry has no link"
        if entry.link:
            key = canonical_url(entry.link)
            # the sides only the page can add (without a title, the page's own title counts,
            # and that may be in an attribute: extract)
            need = (self.config.topic.sides - named) if entry.title else frozenset()
            task = self._pages.get(key)
            if task is None:   # two feeds carrying one link share one page fetch
                task = self._pages[key] = asyncio.ensure_future(
                    self._page(entry.link, entry.title, entry.feed_url, need))
            try:
                page = await asyncio.shield(task)
                if page.article is None and (need <= page.sides or not need <= page.checked):
                    # another feed's entry fetched it and named other sides: this entry may
                    # need the text after all
                    page = await self._page(entry.link, entry.title, entry.feed_url, frozenset())
                if page.article is None:
                    missing = [self.config.topic.side_names["ab".index(x)]
                               for x in sorted(need - page.sides)]
                    note = f"the page names no {' or '.join(missing)} term: not extracted"
                elif len(page.article.text) >= self.config.min_text_chars:
                    return page.article
                else:
                    note = f"page text too short ({len(page.article.text)} characters)"
            except (FetchError, ExtractError) as e:
                note = f"page not used: {e}"
        paragraphs = tuple(p for p in (entry.content or entry.summary).split("\n") if p.strip())
        return Article(title=entry.title, paragraphs=paragraphs, source="feed", note=note,
                       method="feed content" if entry.content else "feed summary")

    async def _page(self, url: str, title: str, feed_url: str, need: frozenset[str]) -> Page:
        # Links in a feed are untrusted: only a feed that is itself on a local or private
        # address may link to such addresses (a user who configures a local feed means it).
        local_feed = await self.fetcher.is_internal(feed_url)
        result = await self.fetcher.get(url, max_bytes=self.config.limits.page_bytes,
                                        accept=PAGE_ACCEPT, allow_internal=local_feed)
        return await self.workers.run(read_page, result.body, result.final_url, title,
                                      self._scan_topic(need), need, work=PAGE)

    def _scan_topic(self, need: frozenset[str]) -> classify_mod.Topic:
        topic = self._scan_topics.get(need)
        if topic is None:
            t = self.config.topic
            topic = self._scan_topics[need] = dataclasses.replace(
                t, exclude=None, terms=tuple(x for x in t.terms if set(x.side) & need))
        return topic

    async def _append(self, story: "_Story") -> str:
        async with self._append_lock:
            # Check identity again under the lock: another feed may have appended it meanwhile.
            if story.canonical and self._known(story.canonical, story.feed_id, story.entry):
                return "duplicate"
            # Synchronous on purpose: no await between journal, file and commit, so a
            # cancellation (SIGTERM) can never split an append.
            return self._write(story)

    def _write(self, story: "_Story") -> str:
        now = self.clock()
        entry = story.entry
        entry_values = {"link": entry.link, "canonical_url": story.canonical, "title": entry.title,
                        "decision": "appended", "reason": story.verdict.reason,
                        "score": story.verdict.score, "summary": (entry.summary or "")[:2000],
                        "evidence": classify_mod.evidence(story.verdict, self.config.topic)}
        with self.corpus.lock():
            files = self.corpus.scan()
            if self._known_files is None:
                self._known_files = self.state.known_files()
            arrived = [f for f in files if f.name not in self._known_files]
            if arrived:   # added by hand (or by another process) since we last looked
                register_files(self.state, self.corpus, arrived, now)
                self._known_files.update(f.name for f in arrived)
            same = self._already_there(story, files, now)
            if same:
                sid, reason = same
                self.state.add_sighting(sid, story.feed_id, entry.link, entry.key, now)
                self.state.record_entry(story.feed_id, entry.key, dict(
                    entry_values, decision="duplicate", reason=reason, story_id=sid), now)
                log.info("duplicate of %s: %s (%s)", sid, story.title, reason)
                return "duplicate"
            name = self.corpus.file_name(self.corpus.next_number(files), story.id)
            self.state.begin_story({
                "id": story.id, "file_name": name, "number": int(name.split("_")[0]),
                "canonical_url": story.canonical, "title": story.title,
                "outlet": story.outlet or (urlsplit(entry.link).hostname if entry.link else None),
                "feed_id": story.feed_id, "link": entry.link, "published": iso(entry.published),
                "fetched_at": iso(now), "matched_terms": entry_values["evidence"],
                "score": story.verdict.score,
                "text_source": story.article.source, "text_note": story.article.note or None,
                "text_method": story.article.method or None,
                "created_at": iso(now)})
            try:
                self.corpus.write(name, story.title, story.article.paragraphs)
            except CorpusError:   # e.g. a full disk: forget the journal entry, retry next poll
                self.state.resolve_pending(story.id, file_exists=False)
                raise
            self._known_files.add(name)
            fp = story.fingerprint
            self.state.commit_story(
                story.id, {"feed_id": story.feed_id, "url": entry.link, "entry_key": entry.key},
                (story.feed_id, entry.key, entry_values), now,
                fingerprint=dict(signature=fp.signature, words=fp.words,
                                 bands=fp.bands() if fp.words >= MIN_WORDS else [],
                                 title_key=story.title_key, outlet=story.site,
                                 published=iso(entry.published or now)),
                text=(story.title, "\n".join(story.article.paragraphs)))
        log.info("appended %s: %s", name, story.title)
        return name

    def _already_there(self, story: "_Story", files, now: datetime) -> tuple[str, str] | None:
        """Is this story in the corpus already? (Called under the corpus lock.) Returns the id of
        the story it duplicates and why: same id on disk (perhaps written by a process with
        another database: the directory is the truth), same headline from the same outlet
        within days, or near-duplicate text."""
        on_disk = next((f for f in files if f.story_id == story.id), None)
        if on_disk:
            self.state.add_external(on_disk.name, on_disk.number, story.id,
                                    self.corpus.title_of(on_disk.name), now)
            return story.id, f"same URL as {on_disk.name}"
        row = self.state.story(story.id)
        if row and row["status"] == "committed":
            return story.id, "same URL"
        when = story.entry.published or now
        if len(story.title_key.split()) >= TITLE_MIN_WORDS:
            row = self.state.same_title(story.title_key, story.site,
                                        iso(when - timedelta(days=TITLE_WINDOW_DAYS)))
            # Recurring headlines ("Press Review", photo captions, "Press statement of ...")
            # name different stories: the texts must overlap too (bench/near_dup.py: wrong
            # matches had similarity <= 0.16, updates of one story far more).
            if row and row["signature"] and similarity(
                    story.fingerprint.signature, row["signature"]) >= TITLE_TEXT_SIMILARITY:
                return row["id"], f"same headline from the same outlet as {row['file_name']}"
        if story.fingerprint.words < MIN_WORDS:   # too little text to compare: identity only
            return None
        for cand in self.state.candidates(story.fingerprint.bands()):
            other = Fingerprint(signature=cand["signature"], words=cand["words"])
            dup, sim = is_near_duplicate(story.fingerprint, other)
            if dup:
                return cand["story_id"], f"near-duplicate of {cand['file_name']} (similarity {sim:.2f})"
        return None

    # -- outcomes ------------------------------------------------------------------------------

    def _interval(self, fc: FeedConfig) -> float:
        return fc.interval or self.config.interval

    def _succeeded(self, fc: FeedConfig, status: str, updates: dict, counts: _Counts,
                   n_entries: int, headers: dict[str, str],
                   parsed: ParsedFeed | None = None, row: dict | None = None) -> FeedOutcome:
        """`row`: the feed's row as read for this poll, when nothing was done since (a 304 or
        an unchanged body: one query less per feed of a warm poll); else it is read again."""
        now = self.clock()
        row = row or self.state.feed_by_url(fc.url)
        new = n_entries - counts.seen
        feed_hint = row["feed_hint"]
        if parsed is not None:
            h = timing.hints_from({}, parsed.ttl_minutes, parsed.sy_period, parsed.sy_frequency, now)
            feed_hint = max(h.ttl or 0, h.update_period or 0) or None
        header_hints = timing.hints_from(headers, None, None, None, now)
        hints = timing.Hints(ttl=feed_hint, max_age=header_hints.max_age,
                             expires=header_hints.expires)
        quiet = 0 if new > 0 else (row["quiet_polls"] or 0) + 1
        d = timing.after_success(now, self._interval(fc), row["poll_interval"], new_items=new,
                                 items=n_entries, quiet_polls=quiet, hints=hints)
        if d.maybe_missed:
            log.warning("feed %s: every item was new (%d): items may have been missed between "
                        "polls; polling it more often", fc.url, n_entries)
        values = dict(
            updates, last_status=status, last_polled=iso(now), last_success=iso(now),
            consecutive_failures=0, next_due=iso(d.next_due), poll_interval=d.interval,
            quiet_polls=quiet, feed_hint=feed_hint,
            maybe_missed=(row["maybe_missed"] or 0) + int(d.maybe_missed),
            last_new_at=iso(now) if new > 0 else row["last_new_at"])
        if status == "ok":
            self.state.update_feed(row["id"], values)
        else:
            self._quiet.append((row["id"], values))
            if len(self._quiet) >= QUIET_BATCH:
                self._flush_quiet()
        log.info("feed %s: %s, %d entries, %d new, %d duplicates, %d off-topic, %d seen before; "
                 "next poll %s (%s)", fc.url, status, n_entries, len(counts.appended),
                 counts.duplicates, counts.rejected, counts.seen, iso(d.next_due), d.reason)
        return FeedOutcome(feed_url=fc.url, ok=True, status=status, entries=n_entries,
                           appended=tuple(counts.appended), duplicates=counts.duplicates,
                           rejected=counts.rejected, seen=counts.seen)

    def _flush_quiet(self) -> None:
        quiet, self._quiet = self._quiet, []
        try:
            self.state.update_feeds(quiet)
        except Exception:   # e.g. the database locked past its timeout: they are polled again
            log.exception("could not record %d feeds' polls that found nothing new; they will "
                          "be polled again sooner", len(quiet))

    def _failed(self, fc: FeedConfig, kind: str, message: str, *, retry_after: float | None = None,
                status: int | None = None) -> FeedOutcome:
        now = self.clock()
        row = self.state.feed_by_url(fc.url)
        failures = (row["consecutive_failures"] or 0) + 1
        d = timing.after_failure(now, self._interval(fc), row["poll_interval"], failures=failures,
                                 retry_after=retry_after)
        values = {"last_status": kind, "last_http_status": status, "last_polled": iso(now),
                  "last_error": message, "last_error_at": iso(now),
                  "consecutive_failures": failures, "next_due": iso(d.next_due)}
        if status == 410:   # Gone: the publisher says it will not come back
            values.update(gone=1, next_due=None)
            message = f"{message} (410 Gone: no longer polled; remove it from the config)"
            values["last_error"] = message
            log.warning("feed %s is gone (HTTP 410): it will not be polled again", fc.url)
        self.state.update_feed(row["id"], values)
        log.debug("feed %s failed: %s; next poll %s (%s)", fc.url, message, values["next_due"],
                  d.reason)
        return FeedOutcome(feed_url=fc.url, ok=False, status=kind, error=message)
