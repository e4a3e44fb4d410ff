"""Where the CPU-bound stages run: feed parsing (lxml or feedparser) and page reading (lxml +
trafilatura). In a thread they hold the GIL and starve the event loop that does the network I/O,
and use one core; so a poll with enough of that work runs it in worker processes (one per core,
at most `workers`). Starting a worker costs about 0.35 s of CPU, more than many parses: so the
workers start only once a poll of at least `min_feeds` feeds has sent about a second of work
(MIN_WORK, in estimated milliseconds of CPU: a feed by its size, `parse_cost`; a page, PAGE);
the work before that, and the whole of a poll where little changed, runs in a thread. (Before,
the threshold was 48 parses: an incremental poll where 50 of 1,000 feeds changed started two
workers, 0.7 s of CPU for 0.15 s of parsing.)

A worker that dies (killed, out of memory) breaks the pool: the call is retried in a thread and
the rest of the poll stays in threads, so no feed is lost to it. Workers are started with
`spawn` (never fork a process that has threads): they are this process's own children, joined
when it closes, so their CPU time and memory count in its resource usage (bench/ measures that),
and they die with it (die_with_parent).
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import multiprocessing
import os
import signal
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Callable

log = logging.getLogger("monitor")
MIN_FEEDS = 20          # a poll of fewer feeds stays in threads
MIN_WORK = 1000         # estimated ms of CPU a poll sends before workers are started
PAGE = 30               # ms: reading an article page (the pre-check, then trafilatura)
PR_SET_PDEATHSIG = 1    # prctl(2)


def die_with_parent(parent: int) -> None:
    """Ask Linux to SIGKILL this process when its parent dies, so that a killed poll leaves none
    of its processes running on (an orphaned worker would wait forever for work); elsewhere
    nothing. `parent`: the pid the caller expects as parent (it may have died already)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:     # the parent died before the request above
        os._exit(1)


def parse_cost(size: int) -> int:
    """Estimated ms of CPU to parse and screen a feed of `size` bytes: on the 39 real feeds in
    ../shared a median of 0.2 ms per KB (0.1-0.5), plus about a millisecond; a 20-item farm feed
    (8 KB) 2.5 ms."""
    return 1 + size // 5000


def default_workers() -> int:
    return min(4, os.cpu_count() or 1)


class Workers:
    def __init__(self, processes: int, min_feeds: int = MIN_FEEDS, min_work: int = MIN_WORK):
        self.processes = processes
        self.min_feeds = min_feeds
        self.min_work = min_work
        self._pool: ProcessPoolExecutor | None = None
        self._broken = False        # workers cannot be started here: threads from now on
        self._wanted = False        # this poll is big enough for workers
        self._work = 0              # units of work this poll has sent

    def prepare(self, feeds: int) -> None:
        """Before a poll of `feeds` feeds: workers may be started during it if it is big enough
        (and again after a worker died in an earlier poll: until then, threads)."""
        self._wanted = feeds >= self.min_feeds
        self._work = 0

    def _start(self) -> None:
        if self._pool or self._broken or self.processes < 1 or not self._wanted:
            return
        try:
            ctx = multiprocessing.get_context("spawn")
            self._pool = ProcessPoolExecutor(max_workers=self.processes, mp_context=ctx,
                                             initializer=die_with_parent,
                                             initargs=(os.getpid(),))
            log.info("parsing feeds and pages in %d worker processes", self.processes)
        except (OSError, ValueError) as e:   # e.g. no /dev/shm, too many processes
            log.warning("cannot start worker processes (%s): parsing in threads", e)
            self._broken = True

    @property
    def in_processes(self) -> bool:
        return self._pool is not None

    async def run(self, fn: Callable[..., Any], *args: Any, work: int = 1) -> Any:
        """`fn(*args)` in a worker process when there are workers, else in a thread; `work`: its
        estimated ms of CPU (parse_cost, PAGE). `fn` and its arguments must pickle (module-level
        functions, plain data)."""
        self._work += work
        if self._pool is None and self._work >= self.min_work:
            self._start()
        pool = self._pool
        if pool is not None:
            try:
                return await asyncio.get_running_loop().run_in_executor(pool, fn, *args)
            except BrokenProcessPool as e:
                if self._pool is pool:   # the first call to see it (others were in flight)
                    log.error("a worker process died (%s): the rest of this poll parses in "
                              "threads", e or "killed")
                    self._pool = None
                    self._wanted = False       # no new workers before the next poll
                    pool.shutdown(wait=False, cancel_futures=True)
        return await asyncio.to_thread(fn, *args)

    def close(self) -> None:
        """Stop the workers: calls not started are dropped, running ones finish (a parse is
        bounded by limits.*), and the processes are joined."""
        if self._pool:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
