"""The daemon end to end: `monitor run` against a local HTTP server with second-scale intervals."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

from tests.conftest import DATA, ROOT, article_page, rss, run_cli, write_config

STORIES = json.loads((DATA / "stories.json").read_text(encoding="utf-8"))


def start(config, *args):
    return subprocess.Popen([sys.executable, "-m", "monitor", "-c", str(config), *args, "run"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=str(ROOT), env={**os.environ, "PYTHONPATH": str(ROOT)})


def wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def files(corpus) -> list[str]:
    return sorted(p.name for p in corpus.iterdir() if p.name.endswith(".txt"))


def item(server, key):
    s = STORIES[key]
    server.add(f"/n/{key}", article_page(s["title"], s["paragraphs"]),
               content_type="text/html; charset=utf-8")
    return {"title": s["title"], "link": server.url(f"/n/{key}"), "description": s["paragraphs"][0]}


def test_run_polls_on_schedule_appends_new_stories_and_stops_cleanly(server, corpus, tmp_path):
    feed = server.add("/feed.xml", rss([item(server, "treaty")]), etag='"1"')
    config = write_config(tmp_path, [{"url": feed, "interval": "2s"}])
    proc = start(config)
    try:
        wait_for(lambda: len(files(corpus)) == 3, 30, "the first story")
        wait_for(lambda: server.count("/feed.xml") >= 3, 30, "three polls")
        statuses = [s for p, s in server.statuses if p == "/feed.xml"]
        assert statuses[0] == 200 and set(statuses[1:]) == {304}
        # the feed changes: the new story arrives on a later poll
        server.add("/feed.xml", rss([item(server, "troops"), item(server, "treaty")]), etag='"2"')
        wait_for(lambda: len(files(corpus)) == 4, 30, "the new story")
        # a second daemon on the same database is refused, the first keeps running
        second = start(config)
        out, err = second.communicate(timeout=60)
        assert second.returncode == 1 and "already using" in err, err
        assert proc.poll() is None
        t0 = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=15)
        assert time.monotonic() - t0 < 10
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert "appended 004_" in err and "appended 005_" in err
    db = sqlite3.connect(tmp_path / "state.db")
    assert db.execute("select count(*) from stories where status != 'committed'").fetchone() == (0,)
    assert not [p for p in os.listdir(corpus) if p.startswith(".")]


def test_a_gone_feed_is_not_polled_again_and_is_reported(server, corpus, tmp_path):
    gone = server.add("/gone.xml", "gone", status=410, content_type="text/plain")
    good = server.add("/good.xml", rss([item(server, "bridge")]))
    config = write_config(tmp_path, [gone, good])
    r = run_cli(config, "poll")
    assert r.returncode == 0 and "410" in r.stderr
    run_cli(config, "poll")
    assert server.count("/gone.xml") == 1 and server.count("/good.xml") == 2
    feeds = run_cli(config, "feeds").stdout
    line = next(l for l in feeds.splitlines() if "gone.xml" in l)
    assert line.startswith("gone") and "never" in line and "no longer polled" in line


def test_a_feeds_ttl_is_a_floor_for_its_next_poll(server, corpus, tmp_path):
    body = rss([item(server, "bridge")]).replace("<description>test</description>",
                                                "<description>test</description><ttl>60</ttl>")
    config = write_config(tmp_path, [{"url": server.add("/ttl.xml", body), "interval": "2s"}])
    run_cli(config, "poll")
    db = sqlite3.connect(tmp_path / "state.db")
    polled, due = db.execute("select last_polled, next_due from feeds").fetchone()
    from datetime import datetime
    wait = (datetime.fromisoformat(due) - datetime.fromisoformat(polled)).total_seconds()
    assert 3600 <= wait <= 3600 * 1.1 + 1


def test_a_file_added_by_hand_while_the_daemon_runs_is_respected(server, corpus, tmp_path):
    """A person drops a story into the corpus while `monitor run` is polling: its number is
    never reused, and when a feed later brings the same story it is not appended again."""
    feed = server.add("/feed.xml", rss([item(server, "treaty")]), etag='"1"')
    config = write_config(tmp_path, [{"url": feed, "interval": "1s"}])
    proc = start(config)
    try:
        wait_for(lambda: len(files(corpus)) == 3, 30, "the first story")
        troops = STORIES["troops"]
        hand = corpus / "050_0123456789abcdef.txt"
        hand.write_text("\n".join([troops["title"], *troops["paragraphs"]]), encoding="utf-8")
        # the feed now carries the same story (and another one)
        server.add("/feed.xml", rss([item(server, "troops"), item(server, "bridge"),
                                     item(server, "treaty")]), etag='"2"')
        wait_for(lambda: len(files(corpus)) == 5, 30, "the bridge story")
        time.sleep(2)
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    names = files(corpus)
    assert "050_0123456789abcdef.txt" in names
    new = [n for n in names if n not in ("050_0123456789abcdef.txt",)
           and not n.startswith(("000_", "003_"))]
    assert [n[:4] for n in new] == ["004_", "051_"], names      # after the hand-added 050
    texts = [(corpus / n).read_text(encoding="utf-8").split("\n")[0] for n in names]
    assert texts.count(STORIES["troops"]["title"]) == 1            # not appended a second time
    assert STORIES["bridge"]["title"] in texts
