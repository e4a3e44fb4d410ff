"""Two monitor processes at once, end to end against a real HTTP server on 127.0.0.1.

Same config (one corpus, one database) with overlapping feeds: every story must end up in the
corpus exactly once, under a number no other file has. Two databases on one corpus directory:
the numbers still never collide, because the number is chosen and the file written under an
exclusive flock on the directory itself; and a story one of them wrote is not appended again by
the other.
"""

from __future__ import annotations

import signal
import sqlite3
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from monitor.corpus import Corpus
from monitor.pipeline import recover
from monitor.state import State
from tests import crashkit as ck
from tests.conftest import write_config

N = 18
TIMEOUT = 180


def _run_together(procs, logs: list[Path]) -> None:
    deadline = time.monotonic() + TIMEOUT
    try:
        for p, log in zip(procs, logs):
            rc = ck.finish(p, max(1.0, deadline - time.monotonic()))
            assert rc == 0, log.read_text(errors="replace")
    finally:
        for p in procs:
            if p.poll() is None:
                ck.kill(p)
    for log in logs:
        text = log.read_text(errors="replace")
        assert "Traceback" not in text and "FAILED" not in text, text


def _overlapping_feeds(server, stories):
    """Feed A: the first two thirds of the stories; feed B: the last two thirds, its links
    carrying tracking parameters (the same canonical URLs). Each process polls both, so a third
    of the stories reach each process twice, and every story reaches both processes."""
    third = len(stories) // 3
    return [ck.feed(server, "/a.xml", stories[:2 * third], title="Outlet A"),
            ck.feed(server, "/b.xml", stories[third:], title="Outlet B",
                    link_suffix="?utm_source=rss&utm_medium=feed")]


@pytest.mark.parametrize("slow", [
    0.01,
    pytest.param(0.0, marks=pytest.mark.slow),
])
def test_two_polls_on_one_config_append_each_story_once(server, tmp_path, slow):
    """Started at the same moment; with `slow`, every append holds the corpus lock longer."""
    corpus = ck.make_corpus(tmp_path)
    stories = ck.make_stories(N)
    by_url = ck.serve(server, stories, page_delay=0.02)
    config = write_config(tmp_path, _overlapping_feeds(server, stories))
    logs = [tmp_path / "one.log", tmp_path / "two.log"]

    procs = [ck.start(config, "poll", log=log, slow=slow) for log in logs]
    _run_together(procs, logs)

    titles = ck.check(corpus, tmp_path / "state.db", by_url, complete=True)
    assert len(titles) == N
    summaries = [next(l for l in log.read_text().splitlines() if l.startswith("polled"))
                 for log in logs]
    appended = [int(s.split(": ")[1].split(" new")[0]) for s in summaries]
    assert sum(appended) == N, summaries


def test_two_databases_one_corpus_never_share_a_number(server, tmp_path):
    corpus = ck.make_corpus(tmp_path)
    stories = ck.make_stories(N)
    by_url = ck.serve(server, stories, page_delay=0.02)
    configs, logs = [], []
    for name, part in (("one", stories[:N // 2]), ("two", stories[N // 2:])):
        d = tmp_path / name
        d.mkdir()
        configs.append(write_config(d, [ck.feed(server, f"/{name}.xml", part)],
                                    corpus_dir=str(corpus)))
        logs.append(d / "poll.log")

    procs = [ck.start(c, "poll", log=log, slow=0.01) for c, log in zip(configs, logs)]
    _run_together(procs, logs)

    names = [n for n in corpus.iterdir() if ck.NAME_RE.match(n.name)]
    numbers = [int(ck.NAME_RE.match(n.name).group(1)) for n in names]
    assert len(numbers) == len(set(numbers)) == len(ck.SEED_BYTES) + N
    # each database, once it has looked at the directory again (recover(), as at every start),
    # agrees with it: the files the other process wrote are external stories, its own its own
    for c in configs:
        state = State(c.parent / "state.db")
        try:
            recover(state, Corpus(corpus), datetime.now(timezone.utc))
        finally:
            state.close()
        titles = ck.check(corpus, c.parent / "state.db", by_url, complete=True,
                          foreign_ok=True)
        assert len(titles) == N
    own = [ck.rows(c.parent / "state.db", "select count(*) as n from stories "
                   "where text_source = 'page'")[0]["n"] for c in configs]
    assert own == [N // 2, N // 2]


def test_a_story_written_by_another_database_is_not_appended_twice(server, tmp_path):
    """A daemon (database A) is running; a `poll` with database B on the same corpus appends 5
    stories; then A's own feed brings the same 5. The files are in the directory A appends to
    under its lock: A must not append them again under new numbers. (Also: SIGTERM stops the
    idle daemon promptly, exit 0.)"""
    corpus = ck.make_corpus(tmp_path)
    stories = ck.make_stories(5, tag="d")
    by_url = ck.serve(server, stories)
    off_topic = '<?xml version="1.0"?><rss version="2.0"><channel><title>A</title>' \
                '<item><title>Weather</title><guid>w</guid></item></channel></rss>'
    feed_a = server.add("/a.xml", off_topic)
    dirs = [tmp_path / "one", tmp_path / "two"]
    for d in dirs:
        d.mkdir()
    config_a = write_config(dirs[0], [{"url": feed_a, "interval": "2s"}], corpus_dir=str(corpus))
    config_b = write_config(dirs[1], [ck.feed(server, "/b.xml", stories)],
                            corpus_dir=str(corpus))
    log_a, log_b = dirs[0] / "run.log", dirs[1] / "poll.log"
    db_a = dirs[0] / "state.db"

    daemon = ck.start(config_a, "run", log=log_a)
    try:
        def polls() -> int:
            try:
                return len(ck.rows(db_a, "select 1 from feeds where last_polled is not null"))
            except sqlite3.Error:
                return 0
        deadline = time.monotonic() + 60
        while not polls() and time.monotonic() < deadline and daemon.poll() is None:
            time.sleep(0.1)
        assert polls(), log_a.read_text(errors="replace")
        # the other database appends the 5 stories while the daemon is running
        poll = ck.start(config_b, "poll", log=log_b)
        assert ck.finish(poll, TIMEOUT) == 0, log_b.read_text(errors="replace")
        assert ck.count_new(corpus) == 5
        # now the daemon's own feed brings the same 5 stories
        server.add("/a.xml", ck.rss_of(server, stories))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and daemon.poll() is None and len(ck.rows(
                db_a, "select 1 from entries where decision != 'rejected'")) < 5:
            time.sleep(0.1)
        # SIGTERM to the idle daemon (between ticks, or in a tick with nothing new): exit 0,
        # promptly
        time.sleep(1.2)
        assert daemon.poll() is None, log_a.read_text(errors="replace")
        t0 = time.monotonic()
        daemon.send_signal(signal.SIGTERM)
        assert ck.finish(daemon, 10) == 0, log_a.read_text(errors="replace")
        assert time.monotonic() - t0 < 5
        assert "monitor: stopped" in log_a.read_text(errors="replace")
    finally:
        if daemon.poll() is None:
            ck.kill(daemon)
    assert len(ck.rows(db_a, "select 1 from entries where decision != 'rejected'")) == 5
    ids = [ck.NAME_RE.match(p.name).group(2) for p in corpus.iterdir()
           if ck.NAME_RE.match(p.name) and p.name not in ck.SEED_BYTES]
    assert sorted(ids) == sorted(set(ids)), f"a story is in the corpus twice: {sorted(ids)}"
    assert len(ids) == 5
    # and the daemon's database now knows those files (as stories another process wrote)
    assert ck.journal_state(corpus, db_a, by_url) == "between appends"
    assert len(ck.check(corpus, db_a, by_url, complete=True, foreign_ok=True)) == 5


class _LockedTwice:
    """A database whose first two journal-mode switches fail the way SQLite fails when another
    process is creating the same database at that instant (seen on a 2-core CI machine)."""

    def __init__(self, db):
        self.db, self.failures = db, 2

    def execute(self, sql, *args):
        return self.db.execute(sql, *args)

    def enable_wal(self):
        if self.failures:
            self.failures -= 1
            raise sqlite3.OperationalError("database is locked")
        self.db.enable_wal()


def test_switching_to_wal_retries_a_locked_database(tmp_path):
    from sqlite_utils import Database
    from monitor.state import _enable_wal
    db = _LockedTwice(Database(tmp_path / "s.db"))
    _enable_wal(db)
    assert db.failures == 0
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_switching_to_wal_gives_up_in_bounded_time(tmp_path):
    from sqlite_utils import Database
    from monitor.state import _enable_wal
    db = _LockedTwice(Database(tmp_path / "s.db"))
    db.failures = 10 ** 6
    started = time.monotonic()
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        _enable_wal(db, within=0.3)
    assert time.monotonic() - started < 5
