"""The daemon's digest: sent at the configured time, a digest missed while the daemon was down is
sent when it starts, and never twice. Real `monitor run` processes, a real HTTP server and a real
SMTP server (aiosmtpd) on 127.0.0.1."""

from __future__ import annotations

import signal
import sqlite3
import time
from datetime import datetime, timedelta, timezone

import pytest

from tests.conftest import rss, run_cli, write_config
from tests.smtp_server import SmtpServer
from tests.test_daemon import item, start, wait_for


@pytest.fixture
def smtp():
    s = SmtpServer()
    yield s
    s.stop()


def config_at(tmp_path, server, smtp, hhmm: str):
    feed = server.add("/feed.xml", rss([item(server, "treaty"), item(server, "bridge")]))
    return write_config(tmp_path, [{"url": feed, "interval": "1h"}], digest={
        "to": ["analyst@example.org"], "from": "monitor@example.org", "time": hhmm,
        "timezone": "UTC", "smtp": {"host": "127.0.0.1", "port": smtp.port}})


def meta(tmp_path, key):
    with sqlite3.connect(tmp_path / "state.db") as db:
        try:
            row = db.execute("select value from meta where key = ?", [key]).fetchone()
        except sqlite3.OperationalError:
            return None
    return row[0] if row else None


def stop(proc) -> str:
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert "Traceback" not in err, err
    return err


def test_a_digest_missed_while_down_is_sent_at_start_and_only_once(server, corpus, tmp_path, smtp):
    two_hours_ago = (datetime.now(timezone.utc) - timedelta(hours=2)).strftime("%H:%M")
    config = config_at(tmp_path, server, smtp, two_hours_ago)
    assert "2 new stories" in run_cli(config, "poll").stdout

    # first start ever: today's digest time has passed, but it was before the daemon existed
    proc = start(config)
    try:
        wait_for(lambda: meta(tmp_path, "digest_baseline"), 60, "the digest baseline")
        time.sleep(3)
        assert not smtp.inbox.envelopes
    finally:
        err = stop(proc)
    assert "next digest" in err

    # as if the daemon had last run yesterday: today's digest was missed while it was down
    baseline = datetime.fromisoformat(meta(tmp_path, "digest_baseline"))
    with sqlite3.connect(tmp_path / "state.db") as db:
        db.execute("update meta set value = ? where key = 'digest_baseline'",
                   [(baseline - timedelta(days=1)).isoformat()])
    proc = start(config)
    try:
        wait_for(lambda: smtp.inbox.envelopes, 60, "the missed digest")
    finally:
        err = stop(proc)
    assert "digest delivered: 2 stories" in err
    with sqlite3.connect(tmp_path / "state.db") as db:
        assert db.execute("select slot, status, stories from digests").fetchall() == [
            (baseline.isoformat(), "delivered", 2)]

    # started again: that digest was delivered; nothing is sent twice
    proc = start(config)
    try:
        time.sleep(4)
    finally:
        stop(proc)
    assert len(smtp.inbox.envelopes) == 1


@pytest.mark.slow
def test_the_digest_goes_out_at_its_time(server, corpus, tmp_path, smtp):
    """The cron job fires at digest.time (the next whole minute, at least 20 s away)."""
    now = datetime.now(timezone.utc)
    at = (now + timedelta(seconds=80)).replace(second=0, microsecond=0)
    config = config_at(tmp_path, server, smtp, at.strftime("%H:%M"))
    proc = start(config)
    try:
        wait_for(lambda: len(list(corpus.iterdir())) == 4, 60, "two stories")
        assert not smtp.inbox.envelopes
        wait_for(lambda: smtp.inbox.envelopes, 150, "the digest at its time")
        sent = datetime.now(timezone.utc)
    finally:
        stop(proc)
    assert at <= sent < at + timedelta(seconds=40), (at, sent)
    assert len(smtp.inbox.envelopes) == 1
