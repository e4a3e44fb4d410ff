"""The command line as other tools see it: entry points, exit codes, log formats."""

from __future__ import annotations

import json
from importlib.metadata import entry_points

from tests.conftest import ROOT, rss, run_cli, write_config


def test_console_script_points_at_the_cli():
    (ep,) = [e for e in entry_points(group="console_scripts") if e.name == "monitor"]
    assert ep.value == "monitor.cli:main"


def test_usage_error_exits_2(tmp_path):
    r = run_cli(write_config(tmp_path, []), "no-such-command")
    assert r.returncode == 2 and "invalid choice" in r.stderr


def test_missing_config_exits_2_and_says_so(tmp_path):
    r = run_cli(tmp_path / "nope.yaml", "check")
    assert r.returncode == 2 and "not found" in r.stderr


def test_config_from_environment_variable(tmp_path):
    import os
    import subprocess
    import sys

    config = write_config(tmp_path, ["http://127.0.0.1:9/feed.xml"])
    r = subprocess.run([sys.executable, "-m", "monitor", "check"], capture_output=True, text=True,
                       cwd=str(tmp_path), timeout=60,
                       env={**os.environ, "PYTHONPATH": str(ROOT), "MONITOR_CONFIG": str(config)})
    assert r.returncode == 0, r.stderr
    assert "1 feeds" in r.stdout


def test_json_log_lines(server, corpus, tmp_path):
    url = server.add("/feed.xml", rss([{"title": "Weather", "link": server.url("/w")}]))
    r = run_cli(write_config(tmp_path, [url]), "--log-format", "json", "-v", "poll")
    assert r.returncode == 0, r.stderr
    lines = [json.loads(l) for l in r.stderr.splitlines() if l.startswith("{")]
    assert lines and all({"time", "level", "message"} <= set(l) for l in lines)


def test_digest_with_nothing_new_says_so_and_sends_nothing(tmp_path):
    r = run_cli(write_config(tmp_path, []), "digest")
    assert r.returncode == 0 and "nothing new" in r.stdout, r.stderr
    outbox = tmp_path / "outbox"
    assert not outbox.exists() or not list(outbox.iterdir())
