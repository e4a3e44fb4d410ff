"""APScheduler only: one recurring `tick` job. Knows nothing of feeds.

The tick asks the database what is due (scheduling state lives in SQLite, not in APScheduler's
memory), so a restart continues where it left off. `max_instances=1` and `coalesce=True`: a tick
never runs twice at once, and ticks missed while one was slow collapse into one.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timezone
from typing import Awaitable, Callable

from apscheduler.schedulers.asyncio import AsyncIOScheduler

log = logging.getLogger("monitor")
# APScheduler logs every skipped overlapping run at WARNING; with max_instances=1 that is by design.
logging.getLogger("apscheduler").setLevel(logging.ERROR)


class Schedule:
    def __init__(self, tick: Callable[[], Awaitable[None]], every: float):
        self._tick = tick
        self._every = every
        self._running: asyncio.Task | None = None
        self._scheduler = AsyncIOScheduler(timezone=timezone.utc)

    async def _job(self) -> None:
        self._running = asyncio.current_task()
        try:
            await self._tick()
        except asyncio.CancelledError:   # abandoned at shutdown: said once, no traceback
            log.warning("poll abandoned")
        except Exception:   # a failing tick is logged; the next one runs as planned
            log.exception("tick failed")
        finally:
            self._running = None

    def start(self) -> None:
        self._scheduler.add_job(self._job, "interval", seconds=self._every, id="tick",
                                max_instances=1, coalesce=True, misfire_grace_time=None,
                                next_run_time=datetime.now(timezone.utc))
        self._scheduler.start()

    async def stop(self, grace: float) -> None:
        """Stop scheduling; let an in-flight tick finish within `grace` seconds, else cancel it.
        (APScheduler's asyncio executor cancels running jobs on shutdown, so shut down last.)"""
        self._scheduler.pause()
        task = self._running
        if task and not task.done():
            done, _ = await asyncio.wait({task}, timeout=grace)
            if not done:
                log.warning("stopping: abandoning the poll in flight")
                task.cancel()
                await asyncio.wait({task}, timeout=2)
        self._scheduler.shutdown(wait=False)
