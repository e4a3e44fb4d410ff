"""Builds everything once from the config and wires it: state, corpus, fetcher, pipeline.

Decides nothing: the commands in `cli` call these methods; the pipeline decides.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from datetime import datetime, timedelta
from typing import Callable

from monitor.config import Config, FeedConfig
from monitor.corpus import Corpus
from monitor.fetch import Fetcher
from monitor.models import FeedOutcome
from monitor.pipeline import Pipeline, recover
from monitor.schedule import Schedule
from monitor.state import State, iso, parse_iso, utcnow

log = logging.getLogger("monitor")
STOP_GRACE = 6.0   # SIGTERM → done within 10 s: 6 s to finish a poll, then it is abandoned (2 s to unwind)


class App:
    def __init__(self, config: Config, clock: Callable[[], datetime] = utcnow):
        self.config = config
        self.clock = clock
        self.corpus = Corpus(config.corpus_dir)
        self.corpus.ensure()
        self.state = State(config.database)
        self.recovered = recover(self.state, self.corpus, clock())
        if any(v for k, v in self.recovered.items() if k not in ("external", "fingerprinted")):
            log.warning("recovered after an interrupted run: %s", self.recovered)

    def close(self) -> None:
        self.state.close()

    def enabled_feeds(self) -> list[FeedConfig]:
        return [f for f in self.config.feeds if f.enabled]

    def _fetcher(self) -> Fetcher:
        c = self.config
        return Fetcher(concurrency=c.concurrency, per_host=c.per_host, connect=c.timeouts.connect,
                       read=c.timeouts.read, total=c.timeouts.total,
                       max_redirects=c.limits.max_redirects, user_agent=c.user_agent)

    async def poll(self, feeds: list[FeedConfig] | None = None,
                   progress: Callable[[FeedOutcome], None] | None = None) -> list[FeedOutcome]:
        async with self._fetcher() as fetcher:
            pipeline = Pipeline(self.config, self.state, self.corpus, fetcher, self.clock)
            return await pipeline.poll(self.pollable_feeds() if feeds is None else feeds, progress)

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

        spread = self.spread_overdue(min(300.0, self.tick_seconds() * 10))
        if spread:
            log.info("catching up: %d overdue feeds spread over the next minutes", spread)
        schedule = Schedule(tick, self.tick_seconds())
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
