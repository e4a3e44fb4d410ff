"""monitor.workers: CPU-bound stages in worker processes for a big poll, in a thread for a small
one, and in a thread again when a worker dies (nothing is lost)."""

from __future__ import annotations

import asyncio
import multiprocessing
import os

import pytest

from monitor.errors import ParseError
from monitor.parse import parse_feed
from monitor.workers import MIN_WORK, PAGE, Workers, parse_cost
from tests.conftest import rss


def _pid() -> int:
    return os.getpid()


def _die_in_a_worker() -> int:
    if multiprocessing.parent_process() is not None:   # in a worker process: die
        os._exit(3)
    return os.getpid()


def test_a_small_poll_stays_in_this_process_and_a_big_one_uses_workers():
    w = Workers(2, min_feeds=20, min_work=1)
    try:
        w.prepare(5)
        assert asyncio.run(w.run(_pid)) == os.getpid() and not w.in_processes
        w.prepare(20)
        assert asyncio.run(w.run(_pid)) != os.getpid() and w.in_processes
    finally:
        w.close()


def test_workers_start_only_once_enough_work_has_come():
    """Starting a worker costs more CPU than many parses: a big poll where few feeds changed
    parses them in a thread; the work that tips it over MIN_WORK (estimated ms), and all after,
    go to workers. A page counts PAGE ms, a feed by its size."""
    w = Workers(1, min_feeds=20, min_work=50)
    try:
        w.prepare(1000)
        assert all(asyncio.run(w.run(_pid, work=parse_cost(8000))) == os.getpid()
                   for _ in range(24))        # 24 farm-sized feeds: 48 ms
        assert not w.in_processes
        assert asyncio.run(w.run(_pid, work=parse_cost(8000))) != os.getpid() and w.in_processes
        w.close()
        w.prepare(1000)                       # the next poll counts from zero
        assert asyncio.run(w.run(_pid, work=PAGE)) == os.getpid()
        assert asyncio.run(w.run(_pid, work=PAGE)) != os.getpid()
    finally:
        w.close()


def test_the_cost_of_a_parse_grows_with_the_feed():
    assert parse_cost(0) == 1 and parse_cost(8000) == 2
    assert 20 <= parse_cost(100_000) <= 30 < PAGE * 2 < parse_cost(400_000)
    # 50 changed farm feeds (an incremental poll of 1,000) stay under the workers' threshold
    assert 50 * parse_cost(8000) < MIN_WORK / 5


def test_no_workers_configured_means_threads_whatever_the_size():
    w = Workers(0)
    w.prepare(10_000)
    assert not w.in_processes and asyncio.run(w.run(_pid)) == os.getpid()


def test_a_feed_parses_the_same_in_a_worker_and_errors_cross_back_intact():
    body = rss([{"title": "Putin and Kim meet", "link": "http://127.0.0.1/a",
                 "description": "<p>Talks in <b>Pyongyang</b></p>"}]).encode()
    w = Workers(1, min_feeds=1, min_work=1)
    try:
        w.prepare(1)
        remote = asyncio.run(w.run(parse_feed, body, {}, "http://f/", "http://f/"))
        assert remote == parse_feed(body, {}, "http://f/", "http://f/")
        with pytest.raises(ParseError) as e:
            asyncio.run(w.run(parse_feed, b"<html>no feed</html>",
                              {"content-type": "text/html"}, "http://f/", "http://f/"))
        assert e.value.url == "http://f/" and "feed" in str(e.value)
    finally:
        w.close()


def test_a_dead_worker_falls_back_to_a_thread_and_the_next_poll_gets_new_workers():
    w = Workers(1, min_feeds=1, min_work=1)
    try:
        w.prepare(1)
        assert asyncio.run(w.run(_die_in_a_worker)) == os.getpid()   # retried here, not lost
        assert not w.in_processes
        assert asyncio.run(w.run(_pid)) == os.getpid()               # the rest of this poll
        w.prepare(1)                                                 # the next poll
        assert asyncio.run(w.run(_pid)) != os.getpid() and w.in_processes
    finally:
        w.close()


WORKER_SCRIPT = """
import asyncio, os, sys, time
from monitor.workers import PAGE, Workers
w = Workers(1, min_feeds=1, min_work=1)
w.prepare(1)
print(asyncio.run(w.run(os.getpid)), flush=True)
time.sleep(60)
"""


def test_worker_processes_die_with_a_killed_poll():
    """A SIGKILLed poll must not leave its worker processes behind: they would wait forever for
    work (and keep the poll's standard output open). They die with their parent."""
    import subprocess
    import sys
    import time
    from pathlib import Path

    if not Path("/proc").is_dir():
        pytest.skip("needs /proc (Linux)")
    root = Path(__file__).resolve().parent.parent
    proc = subprocess.Popen([sys.executable, "-c", WORKER_SCRIPT], stdout=subprocess.PIPE,
                            cwd=str(root), env={**os.environ, "PYTHONPATH": str(root)})
    try:
        worker = int(proc.stdout.readline())
        assert worker != proc.pid and Path(f"/proc/{worker}").exists()
        proc.kill()
        proc.wait(10)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and Path(f"/proc/{worker}").exists():
            time.sleep(0.05)
        assert not Path(f"/proc/{worker}").exists(), "the worker outlived its killed parent"
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stdout.close()
