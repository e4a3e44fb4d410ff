"""monitor.shards: a big `monitor poll` split over forked processes. End to end against the
bench's feed farm on 127.0.0.1 (several loopback hosts), a real SQLite file and corpus: every
on-topic story exactly once, whatever process polled its feed, and nothing lost when a shard dies
or the poll is killed."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from monitor import shards
from monitor.app import App
from monitor.config import FeedConfig, load_config
from tests.conftest import ROOT, run_cli, write_config

sys.path.insert(0, str(ROOT / "bench"))
from farm import Farm  # noqa: E402  (the bench's farm: our own code, not a copy of anything)

sys.path.remove(str(ROOT / "bench"))


def feeds(*urls: str) -> list[FeedConfig]:
    return [FeedConfig(url=u) for u in urls]


# --- how feeds are split ------------------------------------------------------------------------


def test_split_keeps_each_host_in_one_process_balances_and_keeps_order():
    urls = ([f"http://a.example/{i}" for i in range(6)] + [f"http://b.example/{i}" for i in range(3)]
            + [f"http://c.example/{i}" for i in range(3)] + ["http://A.EXAMPLE/x"])
    parts = shards.split(feeds(*urls), 2)
    hosts = [{f.url.split("/")[2].lower() for f in p} for p in parts]
    assert hosts[0].isdisjoint(hosts[1])
    assert sorted(len(p) for p in parts) == [6, 7]          # a: 7 feeds; b + c: 6
    for p in parts:                                           # config order within each part
        assert [urls.index(f.url) for f in p] == sorted(urls.index(f.url) for f in p)
    assert sorted(f.url for p in parts for f in p) == sorted(urls)
    assert shards.split(feeds(*urls), 2) == parts             # deterministic


def test_split_never_makes_an_empty_part():
    assert len(shards.split(feeds("http://a.example/1", "http://a.example/2"), 4)) == 1


def test_shard_count_small_polls_stay_in_one_process():
    assert shards.shard_count(0, shards.MIN_FEEDS - 1) == 1
    assert shards.shard_count(3, shards.MIN_FEEDS - 1) == 1
    assert shards.shard_count(1, 5000) == 1
    assert shards.shard_count(3, 5000) == 3
    assert shards.shard_count(0, 5000) == min(2, os.cpu_count() or 1)
    assert shards.shard_count(8, shards.MIN_FEEDS) == 2      # at least MIN_FEEDS/2 feeds each


def test_shards_share_the_concurrency_and_leave_workers_only_to_spare_cores():
    # 2 cores (workers: 2), 2 shards: each parses in its own thread
    assert shards.shares(128, 2, 2) == {"concurrency": 64, "workers": 0}
    assert shards.shares(128, 4, 2) == {"concurrency": 64, "workers": 1}
    assert shards.shares(10, 8, 3) == {"concurrency": 3, "workers": 1}
    assert shards.shares(2, 0, 4) == {"concurrency": 1, "workers": 0}


# --- end to end ---------------------------------------------------------------------------------


@pytest.fixture
def farm():
    f = Farm(feeds=120, items=3, hosts=6, mix="heavy", seed=5, hard_limit=300).start()
    yield f
    f.stop()


def _setup(tmp_path: Path, corpus: Path, farm: Farm, **extra) -> Path:
    return write_config(tmp_path, farm.feed_urls(), per_host=2, **extra)


def _stories(tmp_path: Path) -> list[tuple]:
    conn = sqlite3.connect(tmp_path / "state.db")
    try:
        return conn.execute("select id, link, file_name from stories where status = 'committed'"
                            " and link is not null").fetchall()
    finally:
        conn.close()


def _appended(corpus: Path) -> list[Path]:
    return [p for p in corpus.glob("*.txt") if not p.name.startswith(("000_", "003_"))]


def test_a_sharded_poll_appends_every_story_once_and_the_next_poll_is_all_304(
        tmp_path, corpus, farm):
    config = _setup(tmp_path, corpus, farm, poll_processes=2)
    expected = farm.expected_on_topic()
    assert expected >= 30

    r = run_cli(config, "poll", "--verbose", timeout=240)
    assert r.returncode == 0, r.stderr
    assert "polling 120 feeds in 2 processes" in r.stderr
    assert "polled 120 feeds" in r.stdout and "0 failed" in r.stdout
    files = _appended(corpus)
    assert len(files) == expected, r.stdout
    numbers = [f.name.split("_")[0] for f in files]
    assert len(set(numbers)) == len(numbers)
    rows = _stories(tmp_path)
    assert len(rows) == expected and len({link for _, link, _ in rows}) == expected
    assert farm.snapshot()["requests"] >= 120

    before = farm.snapshot()
    r = run_cli(config, "poll", timeout=240)
    assert r.returncode == 0, r.stderr
    after = farm.snapshot()
    assert after["not_modified"] - before["not_modified"] == 120
    assert "120 unchanged" in r.stdout and "0 new stories" in r.stdout

    news = farm.publish(fraction=0.1, new_items=2)
    r = run_cli(config, "poll", timeout=240)
    assert r.returncode == 0, r.stderr
    assert len(_appended(corpus)) == expected + news["new_on_topic"]
    assert f"{news['new_on_topic']} new stories" in r.stdout


DYING_SHARD = """
import os, sys
from monitor import cli, shards

def die_in_the_child(parent):
    os._exit(9)

shards.die_with_parent = die_in_the_child     # called first thing in a forked shard
sys.exit(cli.main(["-c", sys.argv[1], "poll", "--verbose"]))
"""


def test_a_shard_that_dies_loses_nothing_its_feeds_are_polled_again(tmp_path, corpus, farm):
    """The forked shard dies (as if killed) before it polls: the parent polls its feeds itself.
    Run in a process of its own: this one has threads (the farm), and shards never fork then."""
    config = _setup(tmp_path, corpus, farm, poll_processes=2)
    r = subprocess.run([sys.executable, "-c", DYING_SHARD, str(config)], capture_output=True,
                       text=True, timeout=240, cwd=str(ROOT),
                       env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert r.returncode == 0, r.stderr
    assert "polling 120 feeds in 2 processes" in r.stderr
    assert "ended without its results" in r.stderr and "polled again here" in r.stderr
    assert "polled 120 feeds" in r.stdout and "0 failed" in r.stdout, r.stdout
    assert len(_appended(corpus)) == farm.expected_on_topic()


def test_with_threads_running_a_poll_is_not_forked(tmp_path, corpus, farm):
    """Forking a process with threads can leave a lock held forever in the child: the pytest
    process runs the farm in a thread, so here the poll stays in one process."""
    config = load_config(_setup(tmp_path, corpus, farm))
    pids = set()
    with App(config) as app:
        feeds_ = app.pollable_feeds()
        real_poll = app.poll

        async def poll(part, progress=None):
            pids.add(os.getpid())
            return await real_poll(part, progress)
        app.poll = poll
        outcomes = shards.poll(app, feeds_, 2)
    assert pids == {os.getpid()}
    assert [o.feed_url for o in outcomes] == [f.url for f in feeds_] and all(o.ok for o in outcomes)
    assert len(_appended(corpus)) == farm.expected_on_topic()


def _children(pid: int) -> list[int]:
    """The processes whose parent is `pid`, read from /proc (no `ps` needed)."""
    kids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue            # the process ended meanwhile
        if int(fields[1]) == pid:
            kids.append(int(stat.parent.name))
    return kids


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_a_killed_poll_leaves_no_shard_running_and_the_next_poll_completes(
        tmp_path, corpus, sig):
    """Killing `monitor poll` kills its shards too (SIGKILL: the kernel's parent-death signal;
    SIGTERM: passed on); the next poll finishes the job with no duplicate."""
    if not Path("/proc").is_dir():
        pytest.skip("needs /proc (Linux)")
    slow = Farm(feeds=120, items=3, hosts=6, mix="heavy", seed=6, latency_ms=400,
                hard_limit=300).start()
    try:
        config = write_config(tmp_path, slow.feed_urls(), per_host=1, poll_processes=2)
        proc = subprocess.Popen([sys.executable, "-m", "monitor", "-c", str(config), "poll"],
                                cwd=str(ROOT), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                env={**os.environ, "PYTHONPATH": str(ROOT)})
        deadline = time.monotonic() + 60
        kids: list[int] = []
        while time.monotonic() < deadline and not kids:
            kids = [k for k in _children(proc.pid) if _alive(k)]
            time.sleep(0.05)
        # the shard, not a worker process: workers are started later, on the first parse
        assert kids, "no shard process was started"
        while time.monotonic() < deadline and slow.snapshot()["requests"] < 10:
            time.sleep(0.05)
        proc.send_signal(sig)
        proc.communicate(timeout=30)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(_alive(k) for k in kids):
            time.sleep(0.05)
        assert not any(_alive(k) for k in kids), "a shard outlived its poll"

        slow.latency = 0.0
        r = run_cli(config, "poll", timeout=240)
        assert r.returncode == 0, r.stderr
        files = _appended(corpus)
        assert len(files) == slow.expected_on_topic()
        assert len({f.name.split("_", 1)[1] for f in files}) == len(files)
    finally:
        slow.stop()


FORK_FAILS = """
import errno, os, sys
from monitor import cli

def no_fork():
    raise OSError(errno.EAGAIN, "Resource temporarily unavailable")

os.fork = no_fork
sys.exit(cli.main(["-c", sys.argv[1], "poll", "--verbose"]))
"""


def test_when_no_process_can_be_forked_the_poll_does_all_the_feeds_itself(tmp_path, corpus,
                                                                          farm):
    config = _setup(tmp_path, corpus, farm, poll_processes=2)
    r = subprocess.run([sys.executable, "-c", FORK_FAILS, str(config)], capture_output=True,
                       text=True, timeout=240, cwd=str(ROOT),
                       env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert r.returncode == 0, r.stderr
    assert "cannot start a poll process" in r.stderr and "Traceback" not in r.stderr
    assert "polled 120 feeds" in r.stdout and "0 failed" in r.stdout, r.stdout
    assert len(_appended(corpus)) == farm.expected_on_topic()
