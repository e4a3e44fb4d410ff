"""A big `monitor poll` split over processes, one per core: the network side of a poll is one
event loop on one core, and a warm poll (every feed answers 304) is all network side, so a single
process leaves the other cores idle however few feeds changed.

Feeds are split by host (every feed of a host in the same process, so `per_host` still holds),
the busiest hosts first, each to the process with the fewest feeds so far. The processes are
forked after start-up (config read, database recovered, feed rows made), so a shard starts in
milliseconds with everything imported; each opens its own database connection and polls its
feeds exactly as a lone poll would. Two polls on one database and corpus at once are safe by
design (the corpus flock and the database's own locking; tests/test_concurrency.py), and shards
are exactly that. `concurrency` is divided between the shards, and so are the cores: the
shards use one each, and only cores beyond those get worker processes (`workers`).

A shard that dies (killed, out of memory) loses nothing: its feeds are polled again by the
parent, and a story it appended is found as already there. A shard dies with its parent
(PR_SET_PDEATHSIG: workers.die_with_parent), so a killed poll leaves no process behind.
"""

from __future__ import annotations

import asyncio
import logging
import os
import pickle
import signal
import sys
import threading
import traceback
import zlib
from typing import Callable
from urllib.parse import urlsplit

from monitor.config import FeedConfig
from monitor.fetch import tls_context
from monitor.models import FeedOutcome
from monitor.workers import die_with_parent

log = logging.getLogger("monitor")
MIN_FEEDS = 100          # a poll of fewer feeds stays in one process
MAX_SHARDS = 8


def shard_count(configured: int, feeds: int) -> int:
    """How many processes a poll of `feeds` feeds uses: `configured` (0: one per core, at most
    2 on any machine the bench measured) unless the poll is small."""
    if feeds < MIN_FEEDS or not hasattr(os, "fork"):
        return 1
    if not configured and not sys.platform.startswith("linux"):
        return 1        # auto only where it was measured (and a child dies with its parent)
    n = configured or min(2, os.cpu_count() or 1)
    return max(1, min(n, MAX_SHARDS, feeds // (MIN_FEEDS // 2)))


def split(feeds: list[FeedConfig], n: int) -> list[list[FeedConfig]]:
    """`n` lists of feeds, each host's feeds in one of them, sizes as equal as hosts allow;
    each list keeps the config order. Deterministic."""
    by_host: dict[str, list[int]] = {}
    for i, fc in enumerate(feeds):
        by_host.setdefault((urlsplit(fc.url).hostname or "").lower(), []).append(i)
    hosts = sorted(by_host, key=lambda h: (-len(by_host[h]), zlib.crc32(h.encode())))
    parts: list[list[int]] = [[] for _ in range(n)]
    for host in hosts:
        smallest = min(range(n), key=lambda k: len(parts[k]))
        parts[smallest].extend(by_host[host])
    return [[feeds[i] for i in sorted(p)] for p in parts if p]


def shares(concurrency: int, workers: int, n: int) -> dict[str, int]:
    """What each of `n` shards gets: its part of `concurrency`, and worker processes only for
    the cores the shards leave over (`workers` is one per core by default). The shards are the
    parallelism, each parsing in its own thread: on 2 cores, a worker per shard cost CPU for
    nothing (a cold poll of 1,000 farm feeds took 5.0-5.5 s of CPU with them, 3.9-4.1 s
    without, and less wall time; docs/scaling.md)."""
    return dict(concurrency=max(1, concurrency // n), workers=max(0, workers - n) // n)


def poll(app, feeds: list[FeedConfig], n: int,
         progress: Callable[[FeedOutcome], None] | None = None) -> list[FeedOutcome]:
    """Poll `feeds` in `n` processes (this one and n-1 forked children); the outcomes in the
    order of `feeds`. Falls back to one process where forking is not safe (threads running)."""
    parts = split(feeds, n)
    if len(parts) > 1 and threading.active_count() > 1:
        log.info("not splitting the poll: this process runs threads (%d), and a fork would copy "
                 "any lock they hold", threading.active_count())
        parts = [feeds]
    if len(parts) < 2:
        return asyncio.run(app.poll(feeds, progress))
    share = shares(app.config.concurrency, app.config.workers, len(parts))
    log.info("polling %d feeds in %d processes (%s feeds each)", len(feeds), len(parts),
             "/".join(str(len(p)) for p in parts))
    if any(fc.url.lower().startswith("https:") for fc in feeds):
        tls_context()                  # loaded once here, not once per shard
    app.close()                        # no open database connection crosses a fork
    sys.stdout.flush()
    sys.stderr.flush()
    children: list[tuple[int, int, list[FeedConfig]]] = []
    collected: set[int] = set()
    previous = signal.getsignal(signal.SIGTERM)
    mine = list(parts[0])
    try:
        for part in parts[1:]:
            try:
                children.append(_fork(app, part, share))
            except OSError as e:       # e.g. the process limit: poll those feeds here
                log.warning("cannot start a poll process (%s): its %d feeds are polled here",
                            e, len(part))
                mine.extend(part)
        # Stopping the poll stops its shards (a SIGKILL does too: see _fork).
        signal.signal(signal.SIGTERM, lambda signum, frame: _stop(children, signum))
        app.attach(**share)
        outcomes = asyncio.run(app.poll(mine, progress))
        for pid, fd, part in children:
            collected.add(pid)
            got = _collect(pid, fd)
            if got is None or len(got) != len(part):
                log.error("a poll process (pid %d) ended without its results: its %d feeds are "
                          "polled again here", pid, len(part))
                got = asyncio.run(app.poll(part, progress))
            elif progress:
                for o in got:
                    progress(o)
            outcomes.extend(got)
    finally:
        signal.signal(signal.SIGTERM, previous)
        for pid, fd, _ in children:       # only after an exception: each is collected above
            if pid not in collected:
                _reap(pid, fd)
    order = {fc.url: i for i, fc in enumerate(feeds)}
    return sorted(outcomes, key=lambda o: order.get(o.feed_url, len(order)))


def _fork(app, part: list[FeedConfig], share: dict) -> tuple[int, int, list[FeedConfig]]:
    parent = os.getpid()
    r, w = os.pipe()
    try:
        pid = os.fork()
    except OSError:
        os.close(r)
        os.close(w)
        raise
    if pid:
        os.close(w)
        return pid, r, part
    # The child: never returns into the parent's code, whatever happens.
    code = 1
    try:
        os.close(r)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        die_with_parent(parent)
        app.attach(**share)
        outcomes = asyncio.run(app.poll(part))
        app.close()
        data = pickle.dumps(outcomes)
        view = memoryview(data)
        while view:
            view = view[os.write(w, view):]
        code = 0
    except KeyboardInterrupt:
        code = 130
    except BaseException:   # noqa: BLE001 — reported, then the parent polls these feeds again
        traceback.print_exc()
    finally:
        try:
            sys.stderr.flush()
        finally:
            os._exit(code)


def _collect(pid: int, fd: int) -> list[FeedOutcome] | None:
    chunks = []
    try:
        while True:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(fd)
    _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        return None
    try:
        got = pickle.loads(b"".join(chunks))
    except Exception:   # noqa: BLE001 — a truncated result is no result
        return None
    return got if all(isinstance(o, FeedOutcome) for o in got) else None


def _reap(pid: int, fd: int) -> None:
    os.close(fd)
    try:
        os.kill(pid, signal.SIGTERM)
        os.waitpid(pid, 0)
    except (ProcessLookupError, ChildProcessError):
        pass


def _stop(children, signum: int) -> None:
    for pid, _, _ in children:
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)
