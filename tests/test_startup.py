"""What `monitor poll` loads before its first request: a poll where nothing changed parses no
feed, classifies nothing and schedules nothing, so it must not pay to import feedparser, numpy,
pandas or APScheduler (about 150 ms of a warm poll's start-up together, measured)."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT

SCRIPT = """
import sys
import monitor.cli, monitor.app, monitor.pipeline, monitor.shards, monitor.state
heavy = sorted(m for m in ("numpy", "pandas", "feedparser", "apscheduler", "lxml", "trafilatura")
               if m in sys.modules)
print(",".join(heavy))
"""


def test_a_poll_starts_without_importing_what_only_changed_feeds_or_the_daemon_need():
    r = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                       cwd=str(ROOT), timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == ""


def test_numpy_hidden_from_sqlite_utils_is_still_there_for_dedup(tmp_path):
    """The state module hides numpy only while sqlite-utils is imported."""
    script = f"""
import sqlite3, sys
from monitor.state import State
assert "numpy" not in sys.modules
from monitor.dedup import fingerprint
fp = fingerprint("Putin and Kim sign a treaty in Pyongyang on mutual defence")
assert len(fp.signature) == 504 and "numpy" in sys.modules
s = State({str(tmp_path / 'state.db')!r})
s.close()
print("ok")
"""
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                       cwd=str(ROOT), timeout=60)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr
