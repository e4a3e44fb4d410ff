"""Builds everything once from the config and wires it: state, corpus, fetcher, pipeline, digest.

Decides nothing: the commands in `cli` call these methods; the pipeline decides.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable
from zoneinfo import ZoneInfo

from monitor.config import Config, FeedConfig
from monitor.corpus import Corpus
from monitor.digest import Digest, build, digest_due, feed_problems, latest_slot, next_slot
from monitor.errors import DeliveryError, LockError
from monitor.fetch import Fetcher
from monitor.models import FeedOutcome
from monitor.pipeline import Pipeline, recover
from monitor.state import State, iso, parse_iso, utcnow
from monitor.workers import Workers

log = logging.getLogger("monitor")
STOP_GRACE = 6.0   # SIGTERM → done within 10 s: 6 s to finish a poll, then it is abandoned (2 s to unwind)


@dataclass(frozen=True)
class DigestOutcome:
    status: str                  # delivered | empty | dry-run
    digest: Digest
    destination: str | None = None


class App:
    def __init__(self, config: Config, clock: Callable[[], datetime] = utcnow):
        self.config = config
        self.clock = clock
        self.corpus = Corpus(config.corpus_dir)
        self.corpus.ensure()
        self.state = State(config.database)
        self.workers = Workers(config.workers)
        self._concurrency = config.concurrency
        self.recovered = recover(self.state, self.corpus, clock())
        if any(v for k, v in self.recovered.items() if k not in ("external", "fingerprinted", "indexed")):
            log.warning("recovered after an interrupted run: %s", self.recovered)

    def close(self) -> None:
        self.workers.close()
        self.state.close()

    def attach(self, concurrency: int | None = None, workers: int | None = None) -> None:
        """Open a new database connection after `close` (a forked poll process: see shards),
        with this process's share of the concurrency and worker processes."""
        self.state = State(self.config.database)
        self.workers = Workers(self.config.workers if workers is None else workers)
        self._concurrency = concurrency or self.config.concurrency

    def __enter__(self) -> "App":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def enabled_feeds(self) -> list[FeedConfig]:
        return [f for f in self.config.feeds if f.enabled]

    def _fetcher(self) -> Fetcher:
        c = self.config
        return Fetcher(concurrency=self._concurrency, per_host=c.per_host,
                       connect=c.timeouts.connect, read=c.timeouts.read, total=c.timeouts.total,
                       max_redirects=c.limits.max_redirects, user_agent=c.user_agent)

    async def poll(self, feeds: list[FeedConfig] | None = None,
                   progress: Callable[[FeedOutcome], None] | None = None) -> list[FeedOutcome]:
        feeds = self.pollable_feeds() if feeds is None else feeds
        self.workers.prepare(len(feeds))
        async with self._fetcher() as fetcher:
            pipeline = Pipeline(self.config, self.state, self.corpus, fetcher, self.clock,
                                self.workers)
            return await pipeline.poll(feeds, progress)

    def pollable_feeds(self) -> list[FeedConfig]:
        """Enabled feeds that have not answered 410 Gone."""
        self.state.sync_feeds(self.enabled_feeds(), self.clock())
        gone = {r["url"] for r in self.state.feeds() if r["gone"]}
        return [f for f in self.enabled_feeds() if f.url not in gone]

    def due_feeds(self) -> list[FeedConfig]:
        now = self.clock()
        due_at = {r["url"]: parse_iso(r["next_due"]) for r in self.state.feeds()}
        return [f for f in self.pollable_feeds() if (due_at.get(f.url) or now) <= now]

    def spread_overdue(self, window: float) -> int:
        """After downtime, overdue feeds are spread over `window` seconds, not polled at once."""
        now = self.clock()
        rows = {r["url"]: r for r in self.state.feeds()}
        overdue = [f for f in self.pollable_feeds()
                   if (parse_iso(rows[f.url]["next_due"]) or now) < now]
        overdue.sort(key=lambda f: rows[f.url]["next_due"] or "")
        for i, f in enumerate(overdue):
            when = now + timedelta(seconds=window * i / max(len(overdue), 1))
            self.state.update_feed(rows[f.url]["id"], {"next_due": iso(when)})
        return len(overdue)

    def feed_rows(self) -> list[dict]:
        """One dict per configured feed: its state row, items kept in the last 7 days, and
        whether it has gone silent: no new entry in 7 days although its own rate over the 8
        weeks before was at least 2 a week."""
        now = self.clock()
        self.state.sync_feeds(self.config.feeds, now)
        kept = self.state.kept_since(now - timedelta(days=7))
        recent = self.state.new_entries_since(now - timedelta(days=7))
        before = self.state.new_entries_since(now - timedelta(days=63))
        rows = {r["url"]: r for r in self.state.feeds()}
        out = []
        for fc in self.config.feeds:
            r = dict(rows[fc.url])
            r["kept_7d"] = kept.get(r["id"], 0)
            r["enabled"] = fc.enabled
            earlier = before.get(r["id"], 0) - recent.get(r["id"], 0)
            age = now - (parse_iso(r["created_at"]) or now)
            r["silent"] = (age >= timedelta(days=14) and recent.get(r["id"], 0) == 0
                           and earlier / min(8.0, (age.days - 7) / 7) >= 2)
            out.append(r)
        return out

    # -- the digest ---------------------------------------------------------------------------

    def build_digest(self) -> Digest:
        cfg = self.config.digest
        return build(self.state, self.corpus, cfg.title, ZoneInfo(cfg.timezone), self.clock(),
                     feed_problems(self.feed_rows()))

    async def send_digest(self, slot: datetime | None = None, dry_run: bool = False,
                          wait: float = 60.0) -> DigestOutcome:
        """Build the digest of every story not yet in a delivered digest and deliver it. The
        stories are recorded as delivered only after the server (or the outbox) accepted it; a
        failed attempt is recorded with its error and raises DeliveryError."""
        cfg = self.config.digest
        with self.state.digest_lock(wait):
            digest = self.build_digest()
            if dry_run:
                return DigestOutcome("dry-run", digest)
            now = self.clock()
            row = {"slot": iso(slot), "created_at": iso(now), "stories": digest.count,
                   "period_start": iso(digest.period_start), "period_end": iso(digest.period_end),
                   "subject": digest.subject}
            if not digest.count and not cfg.send_empty:
                if slot is not None:
                    self.state.record_digest(dict(row, status="empty"))
                return DigestOutcome("empty", digest)
            from monitor import render               # Jinja2 and smtplib: only when sending
            from monitor.deliver import deliver

            msg = render.message(digest, cfg.sender, cfg.to, now)
            row["message_id"] = msg["Message-ID"]
            name = f"{digest.local_end:%Y-%m-%d}_{digest.key}"
            try:   # smtplib blocks: in a thread, so the daemon's polls go on meanwhile
                transport, destination = await asyncio.to_thread(deliver, msg, cfg, name)
            except DeliveryError as e:
                self.state.record_digest(dict(row, status="failed", error=str(e)))
                raise
            self.state.record_digest(dict(row, status="delivered", transport=transport,
                                          destination=destination), list(digest.story_ids))
            return DigestOutcome("delivered", digest, destination)

    def digest_slot_due(self) -> datetime | None:
        """The scheduled digest time that is owed now (missed while down, or failed and due for
        a retry), else None. Slots before the daemon first ran are not owed."""
        cfg = self.config.digest
        now = self.clock()
        slot = latest_slot(now, cfg.time, ZoneInfo(cfg.timezone))
        baseline = self.state.get_meta("digest_baseline")
        if baseline is None:
            self.state.set_meta("digest_baseline", iso(slot))
            return None
        handled = max(filter(None, [parse_iso(baseline),
                                    parse_iso(self.state.last_handled_slot())]))
        failures = [parse_iso(r["created_at"]) for r in self.state.failed_attempts(iso(slot))]
        return slot if digest_due(now, slot, handled, failures) else None

    def next_digest(self) -> datetime:
        cfg = self.config.digest
        return next_slot(self.clock(), cfg.time, ZoneInfo(cfg.timezone))

    async def digest_if_due(self) -> DigestOutcome | None:
        slot = self.digest_slot_due()
        if slot is None:
            return None
        try:
            outcome = await self.send_digest(slot=slot, wait=0)
        except LockError:       # a `monitor digest` is sending right now; look again next tick
            return None
        except DeliveryError as e:
            log.warning("digest not delivered (will retry): %s", e)
            return None
        if outcome.status == "delivered":
            log.info("digest delivered: %d stories to %s", outcome.digest.count, outcome.destination)
        else:
            log.info("digest: nothing new since the last one; no email")
        return outcome

    # -- the daemon ----------------------------------------------------------------------------

    def tick_seconds(self) -> float:
        shortest = min([f.interval or self.config.interval for f in self.enabled_feeds()]
                       or [self.config.interval])
        return max(1.0, min(30.0, shortest / 2))

    def next_poll(self) -> datetime | None:
        due = [parse_iso(r["next_due"]) for r in self.state.feeds()
               if r["next_due"] and not r["gone"]]
        return min(due, default=None)

    async def run(self, report: Callable[[list[FeedOutcome]], None]) -> None:
        """Poll due feeds on a tick until SIGTERM/SIGINT. One daemon per database."""
        self.state.claim_daemon()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)

        async def tick() -> None:
            due = self.due_feeds()
            if due:
                report(await self.poll(due))
            await self.digest_if_due()     # a missed or failed digest, retried with backoff

        async def daily_digest() -> None:
            await self.digest_if_due()

        spread = self.spread_overdue(min(300.0, self.tick_seconds() * 10))
        if spread:
            log.info("catching up: %d overdue feeds spread over the next minutes", spread)
        from monitor.schedule import Schedule    # APScheduler: the daemon's alone

        schedule = Schedule(tick, self.tick_seconds())
        schedule.daily(daily_digest, self.config.digest.time, self.config.digest.timezone)
        schedule.start()
        log.info("running: %d feeds, tick every %.0fs, corpus %s", len(self.pollable_feeds()),
                 self.tick_seconds(), self.config.corpus_dir)
        try:
            await stop.wait()
            log.info("stopping")
        finally:
            await schedule.stop(STOP_GRACE)
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)
