"""APScheduler only, used as a clock: a recurring `tick` job and a daily `digest` cron job.
Knows nothing of feeds or digests.

What is due lives in SQLite, not in APScheduler's memory: the tick asks the database which feeds
are due, and the digest job asks which digest period was last delivered. So a restart continues
where it left off, and a digest missed while the daemon was down is sent at start-up by the app,
not by APScheduler (whose default misfire grace would skip it; see APScheduler issue #696).
`max_instances=1` and `coalesce=True`: a job never runs twice at once, and runs missed while one
was slow collapse into one.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timezone
from typing import Awaitable, Callable
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger

log = logging.getLogger("monitor")
# APScheduler logs every skipped overlapping run at WARNING; with max_instances=1 that is by design.
logging.getLogger("apscheduler").setLevel(logging.ERROR)

Job = Callable[[], Awaitable[None]]


class Schedule:
    def __init__(self, tick: Job, every: float):
        self._tick = tick
        self._every = every
        self._running: set[asyncio.Task] = set()
        self._scheduler = AsyncIOScheduler(timezone=timezone.utc)

    def _wrap(self, name: str, job: Job) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            task = asyncio.current_task()
            self._running.add(task)
            try:
                await job()
            except asyncio.CancelledError:   # abandoned at shutdown: said once, no traceback
                log.warning("%s abandoned", name)
            except Exception:   # a failing job is logged; the next one runs as planned
                log.exception("%s failed", name)
            finally:
                self._running.discard(task)
        return run

    def daily(self, job: Job, hhmm: str, tz: str) -> datetime | None:
        """Also run `job` every day at `hhmm` in the IANA timezone `tz` (DST handled by the
        trigger). Returns the next fire time."""
        hour, minute = (int(x) for x in hhmm.split(":"))
        j = self._scheduler.add_job(self._wrap("digest", job),
                                    CronTrigger(hour=hour, minute=minute, timezone=ZoneInfo(tz)),
                                    id="digest", max_instances=1, coalesce=True,
                                    misfire_grace_time=None)
        return getattr(j, "next_run_time", None)

    def start(self) -> None:
        self._scheduler.add_job(self._wrap("poll", self._tick), "interval", seconds=self._every,
                                id="tick", max_instances=1, coalesce=True,
                                misfire_grace_time=None, next_run_time=datetime.now(timezone.utc))
        self._scheduler.start()

    async def stop(self, grace: float) -> None:
        """Stop scheduling; let in-flight jobs finish within `grace` seconds, else cancel them.
        (APScheduler's asyncio executor cancels running jobs on shutdown, so shut down last.)"""
        self._scheduler.pause()
        tasks = {t for t in self._running if not t.done()}
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=grace)
            if pending:
                log.warning("stopping: abandoning the work in flight")
                for t in pending:
                    t.cancel()
                await asyncio.wait(pending, timeout=2)
        self._scheduler.shutdown(wait=False)
