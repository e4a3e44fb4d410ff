"""Crash safety, end to end: the real CLI is SIGKILLed at random instants while it appends 40
stories served by a real HTTP server on 127.0.0.1, then restarted, and the corpus and the database
must agree — every story wholly in both or in neither, never half, never twice. Also: the daemon
killed the same way, SIGTERM stopping the daemon cleanly within 10 s, and recover() itself.

Kill instants are drawn from a seeded random generator and placed by the progress of the run
(after k files have appeared, plus a random fraction of the gap between two appends), so they are
spread over the whole window in which it appends whatever the speed of the machine. Half of the
trials widen each stage of an append with sleeps (tests/crashkit.FAULT_WRAPPER) so that kills land
inside an append — pending row only, temp file only, temp and final file, file not yet committed.
Because random kills hit those short windows only now and then, each of them is also hit on
purpose: the child SIGKILLs itself at that exact stage of a chosen append. Random trials run two
at a time, each with its own corpus and database.
"""

from __future__ import annotations

import random
import signal
import sqlite3
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

import pytest

from monitor.corpus import Corpus
from monitor.dedup import story_id
from monitor.pipeline import recover
from monitor.state import State
from tests import crashkit as ck
from tests.conftest import write_config

N = 40
PAGE_DELAY = 0.02       # server-side delay on each article page: spreads the appends out
SLOW = 0.01             # the sleep added at each stage of an append in "slow" trials
RUN_TIMEOUT = 120       # a whole `poll` of the 40 stories takes 5-20 s on a loaded 2-CPU box


def setup_trial(server, directory: Path, *, interval: str | None = None,
                page_delay: float = PAGE_DELAY, n: int = N):
    corpus = ck.make_corpus(directory)
    stories = ck.make_stories(n)
    by_url = ck.serve(server, stories, page_delay)
    feed = {"url": ck.feed(server, f"/feed-{n}.xml", stories)}   # trials may share the server
    if interval:
        feed["interval"] = interval
    config = write_config(directory, [feed])
    return config, corpus, directory / "state.db", by_url


def check_entries(db: Path, titles: dict[str, str], n: int = N) -> None:
    """Every entry of the feed was handled exactly once and points at its own story; every story
    has a sighting."""
    entries = ck.rows(db, "select e.key, e.decision, e.story_id, s.title from entries e "
                          "left join stories s on s.id = e.story_id")
    assert len(entries) == n, len(entries)
    assert all(e["decision"] in ("appended", "duplicate") for e in entries), entries
    assert sorted(e["title"] or "" for e in entries) == sorted(titles.values()), entries
    unsighted = ck.rows(db, "select file_name from stories where text_source != 'external' and id "
                            "not in (select story_id from sightings)")
    assert not unsighted, f"stories without a sighting: {unsighted}"


def crash_trial(server, directory: Path, seed: int, *, daemon: bool = False,
                n: int = N) -> list[str]:
    """One trial: 1-2 SIGKILLs at random instants, then a poll to completion. Returns what each
    kill interrupted."""
    rng = random.Random(seed)
    slow = SLOW if rng.random() < 0.5 else 0.0
    config, corpus, db, by_url = setup_trial(server, directory, n=n,
                                             interval="2s" if daemon else None)
    log = directory / "monitor.log"
    kills = 2 if rng.random() < 0.25 else 1
    seen = []
    for attempt in range(kills):
        already = ck.count_new(corpus)
        if attempt == 0:
            k = rng.randrange(1, n)
        else:   # the restart: kill it in its start-up (recover) or among its first appends
            k = min(n - 1, already + rng.randrange(0, 4))
        extra = rng.uniform(0.0, 0.15)
        command = "run" if daemon and attempt == 0 else "poll"
        proc = ck.start(config, command, log=log, slow=slow)
        try:
            ck.wait_for_files(corpus, proc, k, time.monotonic() + RUN_TIMEOUT)
            time.sleep(extra)
            if proc.poll() is not None:     # it finished before the chosen instant
                assert proc.returncode == 0, log.read_text(errors="replace")
                seen.append("finished")
            else:
                ck.kill(proc)
                seen.append(ck.journal_state(corpus, db, by_url))
        finally:
            if proc.poll() is None:
                ck.kill(proc)
    final = ck.run(config, "poll", timeout=RUN_TIMEOUT)
    assert final.returncode == 0, final.stdout + final.stderr
    titles = ck.check(corpus, db, by_url, complete=True)
    assert len(titles) == n
    check_entries(db, titles, n)
    return seen


def trials(server, directory: Path, specs: list[tuple[int, bool, int]]) -> Counter:
    """Run crash trials (seed, daemon?, stories), two at a time (each in its own directory, with
    its own database; the server is shared); returns how often each kind of instant was hit."""
    def one(spec: tuple[int, bool, int]) -> list[str]:
        seed, daemon, n = spec
        try:
            return crash_trial(server, directory / f"seed{seed}", seed, daemon=daemon, n=n)
        except AssertionError as e:
            kind = "run" if daemon else "poll"
            raise AssertionError(f"trial with seed {seed} ({kind}) failed: {e}") from e

    hits: Counter = Counter()
    with ThreadPoolExecutor(max_workers=2) as pool:
        for labels in pool.map(one, specs):
            hits.update(labels)
    return hits


@pytest.mark.timeout(300)
def test_sigkill_poll_at_random_instants_then_restart(server, tmp_path):
    """4 trials of `poll` with 40 stories."""
    trials(server, tmp_path, [(seed, False, N) for seed in range(4)])


@pytest.mark.timeout(300)
def test_sigkill_daemon_at_random_instants_then_restart(server, tmp_path):
    """2 trials of `run` (the daemon, feed interval 2s) with 12 stories."""
    trials(server, tmp_path, [(101, True, 12), (102, True, 12)])


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_sigkill_soak_many_random_instants(server, tmp_path):
    """50 trials with 40 stories, 5 of them the daemon. At least a few kills must have landed
    inside an append, or the soak proved nothing about recovery."""
    hits = trials(server, tmp_path, [(1000 + i, i % 10 == 5, N) for i in range(50)])
    print(dict(hits))
    inside = sum(v for k, v in hits.items() if k.startswith(("pending", "temp")))
    assert inside >= 3, f"too few kills landed inside an append: {dict(hits)}"


def test_sigkill_at_each_stage_of_an_append_and_inside_recovery(server, tmp_path):
    """Each short window of an append hit on purpose, one after another on the same corpus and
    database, each restart recovering what the previous kill left — and once a restart is itself
    killed inside recover(), after it removed the temp file but before it resolved the row.
    Two such sequences (own corpus and database each) run side by side."""
    n = 7
    sequences = [  # (kill at, what the kill must leave behind, new files in the corpus by then)
        [("journalled:2", "pending, no file", 1),
         ("temp:2", "temp file", 2)],
        [("linked:2", "temp file and final file", 2),
         ("recovering:1", "pending, file written", 2),
         ("written:2", "pending, file written", 4)],
    ]

    def sequence(i: int) -> None:
        config, corpus, db, by_url = setup_trial(server, tmp_path / f"s{i}", n=n)
        log = tmp_path / f"s{i}" / "monitor.log"
        for kill_at, left, files in sequences[i]:
            proc = ck.start(config, "poll", log=log, kill_at=kill_at)
            try:
                rc = ck.finish(proc, RUN_TIMEOUT)
            finally:
                if proc.poll() is None:
                    ck.kill(proc)
            assert rc == -signal.SIGKILL, f"{kill_at}: {log.read_text(errors='replace')}"
            assert ck.journal_state(corpus, db, by_url) == left, kill_at
            assert ck.count_new(corpus) == files, kill_at
        final = ck.run(config, "poll", timeout=RUN_TIMEOUT)
        assert final.returncode == 0, final.stdout + final.stderr
        titles = ck.check(corpus, db, by_url, complete=True)
        assert len(titles) == n
        check_entries(db, titles, n)

    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(sequence, range(len(sequences))))


# -- SIGTERM ------------------------------------------------------------------------------------


def _sigterm(proc, log: Path) -> float:
    """SIGTERM `proc`; it must exit 0 within 10 s. Returns how long it took."""
    t0 = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    try:
        rc = proc.wait(timeout=10)
    except Exception:
        ck.kill(proc)
        raise AssertionError("monitor run did not exit within 10 s of SIGTERM:\n"
                             + log.read_text(errors="replace"))
    assert rc == 0, log.read_text(errors="replace")
    assert "monitor: stopped" in log.read_text(errors="replace")
    return time.monotonic() - t0


def _slow_pages(server, by_url, delay: float) -> None:
    for s in by_url.values():
        server.routes[s.path].delay = delay


def test_sigterm_lets_a_short_poll_in_flight_finish(server, tmp_path):
    """SIGTERM while the daemon is appending: the poll needs ~2 s more (16 pages, 2 at a time,
    0.25 s each), well inside the stop grace (app.STOP_GRACE), so it finishes — every story,
    exit 0 within 10 s, no pending row, no temp file, no traceback."""
    n = 16
    config, corpus, db, by_url = setup_trial(server, tmp_path / "t", interval="2s",
                                             page_delay=0.25, n=n)
    log = tmp_path / "run.log"
    proc = ck.start(config, "run", log=log)
    try:
        ck.wait_for_files(corpus, proc, 2, time.monotonic() + 60)
        assert proc.poll() is None and 2 <= ck.count_new(corpus) < n - 4, ck.count_new(corpus)
        _sigterm(proc, log)
    finally:
        if proc.poll() is None:
            ck.kill(proc)
    assert ck.journal_state(corpus, db, by_url) == "between appends"
    text = log.read_text(errors="replace")
    assert len(ck.check(corpus, db, by_url, complete=False)) == n, text
    assert "Traceback" not in text and "raised an exception" not in text, text


@pytest.mark.slow
def test_sigterm_abandons_a_long_poll_after_the_grace_within_10s_cleanly(server, tmp_path):
    """Pages answer slowly (12 pages, 2 at a time, 2 s each), so the poll in flight outlasts the
    stop grace (app.STOP_GRACE) and is abandoned: exit 0 within 10 s all the same, no append
    split, no traceback or orphaned task in the log, and a later poll brings the rest."""
    n = 12
    config, corpus, db, by_url = setup_trial(server, tmp_path / "t", interval="2s",
                                             page_delay=2.0, n=n)
    log = tmp_path / "run.log"
    proc = ck.start(config, "run", log=log)
    try:
        ck.wait_for_files(corpus, proc, 2, time.monotonic() + 60)
        assert proc.poll() is None and 2 <= ck.count_new(corpus) < n - 4, ck.count_new(corpus)
        _sigterm(proc, log)
    finally:
        if proc.poll() is None:
            ck.kill(proc)
    text = log.read_text(errors="replace")
    assert "abandon" in text.lower(), text
    assert "Traceback" not in text and "never retrieved" not in text, text
    assert ck.journal_state(corpus, db, by_url) == "between appends"
    titles = ck.check(corpus, db, by_url, complete=False)
    assert 2 <= len(titles) < n
    _slow_pages(server, by_url, 0.0)
    final = ck.run(config, "poll", timeout=RUN_TIMEOUT)
    assert final.returncode == 0, final.stderr
    ck.check(corpus, db, by_url, complete=True)


def test_sigterm_during_start_up_still_exits_0(server, tmp_path):
    """A service manager may stop the daemon while it is still starting: here in the middle of
    recover() registering 600 hand-added files (some registered, the banner not printed)."""
    config, corpus, db, by_url = setup_trial(server, tmp_path / "t", interval="2s", n=4)
    hand = 600
    for i in range(hand):
        (corpus / f"{100 + i:04d}_{i:016x}.txt").write_text(f"Hand-added {i}\nText.")

    def registered() -> int:
        try:
            return ck.rows(db, "select count(*) as n from stories")[0]["n"]
        except sqlite3.Error:   # not created yet
            return 0

    log = tmp_path / "run.log"
    proc = ck.start(config, "run", log=log)
    try:
        deadline = time.monotonic() + 60
        while registered() < 10 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.002)
        assert proc.poll() is None and registered() < hand, "start-up was over too soon"
        assert "watching" not in log.read_text(errors="replace")
        proc.send_signal(signal.SIGTERM)
        rc = ck.finish(proc, 10)
    finally:
        if proc.poll() is None:
            ck.kill(proc)
    assert rc == 0, f"exit status {rc}: {log.read_text(errors='replace')}"
    # whatever recover() had done is consistent: the next start finishes the registration
    state = State(db)
    try:
        recover(state, Corpus(corpus), datetime.now(timezone.utc))
        assert not state.pending_stories()
    finally:
        state.close()
    assert registered() == hand + len(ck.SEED_BYTES)


# -- recover() ------------------------------------------------------------------------------------


def test_recover_finishes_or_forgets_each_interrupted_append(server, tmp_path):
    now = datetime(2026, 11, 24, 8, 0, tzinfo=timezone.utc)
    corpus_dir = ck.make_corpus(tmp_path)
    corpus = Corpus(corpus_dir)
    state = State(tmp_path / "state.db")
    assert recover(state, corpus, now)["external"] == len(ck.SEED_BYTES)

    def journal(number: int, sid: str, link: str) -> str:
        name = corpus.file_name(number, sid)
        state.begin_story({"id": sid, "file_name": name, "number": number,
                           "canonical_url": link, "title": f"story {sid}", "link": link,
                           "fetched_at": "2026-11-24T08:00:00+00:00",
                           "created_at": "2026-11-24T08:00:00+00:00"})
        return name

    # killed after the file was linked, before the row was committed: the file is whole
    written_id = story_id("http://127.0.0.1/written")
    written = journal(ck.FIRST_NEW, written_id, "http://127.0.0.1/written")
    corpus.write(written, "Putin and Kim Jong Un: the written story", ["One whole paragraph."])
    # killed after the row was committed, before the file was written
    lost_id = story_id("http://127.0.0.1/lost")
    journal(ck.FIRST_NEW + 1, lost_id, "http://127.0.0.1/lost")
    # killed between the temp file and the link
    temp = corpus_dir / f"{ck.TEMP_PREFIX}4242-{corpus.file_name(ck.FIRST_NEW + 1, lost_id)}"
    temp.write_text("Putin and Kim Jong Un: the lost st", encoding="utf-8")
    # a file someone added by hand
    hand = corpus_dir / "010_0123456789abcdef.txt"
    hand.write_text("A story added by hand\nIts only paragraph.", encoding="utf-8")

    counts = recover(state, corpus, now)

    keys = ("temp_removed", "pending_committed", "pending_dropped", "external")
    assert {k: counts[k] for k in keys} == {"temp_removed": 1, "pending_committed": 1,
                                            "pending_dropped": 1, "external": 1}
    assert not temp.exists()
    assert state.story(written_id)["status"] == "committed"
    assert [s["url"] for s in state.sightings(written_id)] == ["http://127.0.0.1/written"]
    assert state.story(lost_id) is None
    ext = state.story("0123456789abcdef")
    assert (ext["file_name"], ext["number"], ext["status"], ext["text_source"], ext["title"]) == (
        hand.name, 10, "committed", "external", "A story added by hand")
    assert (corpus_dir / written).read_text(encoding="utf-8") == (
        "Putin and Kim Jong Un: the written story\nOne whole paragraph.")
    assert not state.pending_stories()
    # recovering again changes nothing
    again = recover(state, corpus, now)
    assert {k: again[k] for k in keys} == dict.fromkeys(keys, 0)
    state.close()

    # the next append, by the real CLI, takes 011: one above the highest number in the directory
    (story,) = ck.make_stories(1, tag="r")
    by_url = ck.serve(server, [story])
    config = write_config(tmp_path, [ck.feed(server, "/feed.xml", [story])])
    r = ck.run(config, "poll", timeout=RUN_TIMEOUT)
    assert r.returncode == 0 and "1 new stories" in r.stdout, r.stdout + r.stderr
    (url,) = by_url
    new = corpus_dir / f"011_{story_id(url)}.txt"
    assert new.read_text(encoding="utf-8") == story.text
    conn = sqlite3.connect(tmp_path / "state.db")
    assert conn.execute("select number, status from stories where file_name = ?",
                        [new.name]).fetchone() == (11, "committed")
    assert conn.execute("select count(*) from stories where status != 'committed'"
                        ).fetchone() == (0,)
    conn.close()
