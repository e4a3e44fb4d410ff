"""The daily digest end to end: `monitor poll` then `monitor digest` through the CLI, against a
real HTTP server and a real SMTP server (aiosmtpd) on 127.0.0.1, a real SQLite file and corpus."""

from __future__ import annotations

import email
import email.policy
import json
import re
import sqlite3
from pathlib import Path

import pytest

from tests.conftest import DATA, article_page, rss, run_cli, write_config
from tests.smtp_server import CA, SmtpServer, free_port

STORIES = json.loads((DATA / "digest_stories.json").read_text(encoding="utf-8"))
FILE_RE = re.compile(r"\b\d{3,}_[0-9a-f]{16}\.txt\b")


def publish(server, keys=None) -> list[dict]:
    """Serve the stories' pages and one feed per outlet; returns the feed entries for a config."""
    by_outlet: dict[str, list[dict]] = {}
    for key, s in STORIES.items():
        if keys is not None and key not in keys:
            continue
        path = f"/news/{key}"
        server.add(path, article_page(s["title"], s["paragraphs"]),
                   content_type="text/html; charset=utf-8")
        by_outlet.setdefault(s["outlet"], []).append(
            {"title": s["title"], "link": server.url(path), "pubDate": s["pubDate"],
             "description": s["paragraphs"][0][:120]})
    return [{"url": server.add(f"/feed{i}.xml", rss(items, title=outlet)), "name": outlet}
            for i, (outlet, items) in enumerate(by_outlet.items())]


@pytest.fixture
def smtp():
    s = SmtpServer()
    yield s
    s.stop()


def digest_config(tmp_path, feeds, port=None, **smtp_extra) -> Path:
    digest = {"to": ["analyst@example.org", "desk@example.org"], "from": "monitor@example.org",
              "timezone": "Europe/Moscow"}
    if port is not None:
        digest["smtp"] = {"host": "127.0.0.1", "port": port, **smtp_extra}
    return write_config(tmp_path, feeds, digest=digest)


def parts(msg) -> tuple[str, str]:
    assert msg.get_content_type() == "multipart/alternative"
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    return text, html


def polled(config) -> None:
    r = run_cli(config, "poll")
    assert r.returncode == 0, r.stderr
    assert "7 new stories" in r.stdout, r.stdout


def test_digest_arrives_once_with_every_story_and_one_item_per_event(server, corpus, tmp_path, smtp):
    config = digest_config(tmp_path, publish(server), smtp.port)
    polled(config)
    files = sorted(p.name for p in corpus.iterdir() if not p.name.startswith(("000_", "003_")))

    r = run_cli(config, "digest")
    assert r.returncode == 0, r.stderr
    assert "digest delivered: 7 stories in 5 items from 5 outlets" in r.stdout

    assert len(smtp.inbox.envelopes) == 1
    env = smtp.inbox.envelopes[0]
    assert env.mail_from == "monitor@example.org"
    assert sorted(env.rcpt_tos) == ["analyst@example.org", "desk@example.org"]
    msg = smtp.inbox.messages[0]
    assert re.fullmatch(r"Russia–North Korea: 7 new stories \(\w{3} \d{1,2} \w{3}\)", msg["Subject"])
    assert msg["Auto-Submitted"] == "auto-generated"
    assert "digest" in msg["List-Id"] and msg["Message-ID"].endswith("@example.org>")
    assert msg["Date"] and "monitor@example.org" in msg["From"]
    assert "analyst@example.org" in msg["To"]
    text, html = parts(msg)

    # every new story exactly once (by its corpus file name), in both forms; no seed story
    assert sorted(FILE_RE.findall(text)) == files
    assert sorted(FILE_RE.findall(re.sub(r"<[^>]+>", " ", html))) == files
    assert "000_" not in text and "003_" not in text
    # the three write-ups of one event are one item: all three files before item 2
    items = re.split(r"\n(?=\d+\. )", text)
    lavrov = [i for i in items if STORIES["lavrov_a"]["title"] in i]
    assert len(lavrov) == 1 and lavrov[0].startswith("\n1. ") or lavrov[0].startswith("1. ")
    assert len(FILE_RE.findall(lavrov[0])) == 3
    for k in ("lavrov_b", "lavrov_c"):
        assert STORIES[k]["title"] in lavrov[0]
        assert STORIES[k]["outlet"] in lavrov[0]
    assert sum(1 for i in items if FILE_RE.search(i)) == 5
    # Russian and Korean arrive intact, and are labelled
    for k in ("ru_story", "ko_story"):
        assert STORIES[k]["title"] in text and STORIES[k]["title"] in html
    assert "Russian" in text and "Korean" in text
    # the lead is the start of the text, published time in the digest's timezone (MSK = UTC+3)
    assert STORIES["bridge"]["paragraphs"][0][:60] in " ".join(text.split())
    assert "Mon 23 Nov 14:00" in text      # 11:00 GMT

    # a second digest has nothing to send
    r = run_cli(config, "digest")
    assert r.returncode == 0 and "nothing new" in r.stdout
    assert len(smtp.inbox.envelopes) == 1


def test_hostile_title_is_escaped_in_html(server, corpus, tmp_path, smtp):
    config = digest_config(tmp_path, publish(server, ["hostile", "bridge"]), smtp.port)
    assert run_cli(config, "poll").returncode == 0
    assert run_cli(config, "digest").returncode == 0
    text, html = parts(smtp.inbox.messages[0])
    assert "<script" not in html.lower() and "<img" not in html.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "onerror=alert(1)&gt;" in html
    assert "<script>alert(1)</script> Putin & Kim" in text      # plain text stays text


@pytest.mark.parametrize("reply", ["451 4.3.0 Mailbox temporarily unavailable",
                                   "554 5.7.1 Message rejected"])
def test_refused_delivery_is_delivered_next_run_with_the_same_stories(server, corpus, tmp_path,
                                                                      smtp, reply):
    config = digest_config(tmp_path, publish(server), smtp.port)
    polled(config)
    smtp.inbox.refuse = reply

    r = run_cli(config, "digest")
    assert r.returncode == 1
    assert reply.split()[0] in r.stderr and "7 stories stay queued" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr
    with sqlite3.connect(tmp_path / "state.db") as db:
        assert db.execute("select count(*) from digested").fetchone()[0] == 0
        status, error = db.execute("select status, error from digests").fetchone()
        assert status == "failed" and reply.split()[0] in error

    smtp.inbox.refuse = None
    r = run_cli(config, "digest")
    assert r.returncode == 0, r.stderr
    text, _ = parts(smtp.inbox.messages[0])
    assert len(FILE_RE.findall(text)) == 7
    assert "nothing new" in run_cli(config, "digest").stdout


def test_server_down_then_up(server, corpus, tmp_path):
    port = free_port()
    config = digest_config(tmp_path, publish(server), port)
    polled(config)
    r = run_cli(config, "digest")
    assert r.returncode == 1 and "127.0.0.1:%d" % port in r.stderr and "queued" in r.stderr
    assert "Traceback" not in r.stderr

    smtp = SmtpServer()
    try:
        config = digest_config(tmp_path, publish(server), smtp.port)
        r = run_cli(config, "digest")
        assert r.returncode == 0, r.stderr
        assert len(FILE_RE.findall(parts(smtp.inbox.messages[0])[0])) == 7
    finally:
        smtp.stop()


def test_starttls_with_login_password_from_environment(server, corpus, tmp_path):
    smtp = SmtpServer("starttls", login=("monitor", "s3cret-pw"))
    try:
        config = digest_config(tmp_path, publish(server, ["bridge"]), smtp.port,
                               security="starttls", username="monitor",
                               password_env="MONITOR_TEST_SMTP_PW", ca_file=str(CA))
        assert run_cli(config, "poll").returncode == 0
        # the password variable missing: a clear error, nothing sent, nothing lost
        r = run_cli(config, "digest", env={"MONITOR_TEST_SMTP_PW": ""})
        assert r.returncode == 1 and "MONITOR_TEST_SMTP_PW" in r.stderr
        assert not smtp.inbox.envelopes
        # a wrong password: refused login, named
        r = run_cli(config, "digest", env={"MONITOR_TEST_SMTP_PW": "wrong"})
        assert r.returncode == 1 and "login" in r.stderr and "wrong" not in r.stderr
        r = run_cli(config, "digest", "-v", env={"MONITOR_TEST_SMTP_PW": "s3cret-pw"})
        assert r.returncode == 0, r.stderr
        assert smtp.inbox.logins[-1] == ("monitor", "ok")
        assert len(smtp.inbox.envelopes) == 1
        assert "s3cret-pw" not in r.stdout + r.stderr
        assert b"s3cret-pw" not in (tmp_path / "state.db").read_bytes()
        assert "s3cret-pw" not in config.read_text()
    finally:
        smtp.stop()


def test_starttls_refuses_an_untrusted_certificate_and_a_server_without_tls(server, corpus,
                                                                           tmp_path, smtp):
    tls = SmtpServer("starttls")
    try:
        # without ca_file the test CA is not trusted: no mail in clear, no mail at all
        config = digest_config(tmp_path, publish(server, ["bridge"]), tls.port,
                               security="starttls")
        assert run_cli(config, "poll").returncode == 0
        r = run_cli(config, "digest")
        assert r.returncode == 1 and "TLS" in r.stderr and "certificate" in r.stderr.lower()
        assert not tls.inbox.envelopes
    finally:
        tls.stop()
    # a plain server when starttls was asked for: refuse to send in clear text
    config = digest_config(tmp_path, publish(server, ["bridge"]), smtp.port, security="starttls")
    r = run_cli(config, "digest")
    assert r.returncode == 1 and "STARTTLS" in r.stderr
    assert not smtp.inbox.envelopes


def test_implicit_tls(server, corpus, tmp_path):
    smtp = SmtpServer("ssl", login=("monitor", "pw"))
    try:
        config = digest_config(tmp_path, publish(server, ["bridge", "ru_story"]), smtp.port,
                               security="ssl", username="monitor", password_env="MON_PW",
                               ca_file=str(CA))
        assert run_cli(config, "poll").returncode == 0
        r = run_cli(config, "digest", env={"MON_PW": "pw"})
        assert r.returncode == 0, r.stderr
        text, _ = parts(smtp.inbox.messages[0])
        assert STORIES["ru_story"]["title"] in text
    finally:
        smtp.stop()


def test_without_smtp_each_digest_is_an_eml_in_the_outbox(server, corpus, tmp_path):
    config = write_config(tmp_path, publish(server), digest={"timezone": "Asia/Seoul"})
    polled(config)
    r = run_cli(config, "digest")
    assert r.returncode == 0, r.stderr
    outbox = tmp_path / "outbox"
    emls = list(outbox.glob("*.eml"))
    assert len(emls) == 1 and str(emls[0]) in r.stdout
    assert not [p for p in outbox.iterdir() if p.name.startswith(".tmp")]
    msg = email.message_from_bytes(emls[0].read_bytes(), policy=email.policy.default)
    text, html = parts(msg)
    assert len(FILE_RE.findall(text)) == 7 and "KST" in text
    assert "nothing new" in run_cli(config, "digest").stdout
    assert len(list(outbox.glob("*.eml"))) == 1


def test_send_empty_sends_a_nothing_new_email(corpus, tmp_path):
    config = write_config(tmp_path, [], digest={"send_empty": True})
    r = run_cli(config, "digest")
    assert r.returncode == 0, r.stderr
    [eml] = (tmp_path / "outbox").glob("*.eml")
    msg = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    assert "nothing new" in msg["Subject"]
    assert "Nothing new" in parts(msg)[0]


def test_dry_run_and_html_preview_mark_nothing(server, corpus, tmp_path, smtp):
    config = digest_config(tmp_path, publish(server), smtp.port)
    polled(config)
    r = run_cli(config, "digest", "--dry-run")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("Subject: Russia–North Korea: 7 new stories")
    assert len(FILE_RE.findall(r.stdout)) == 7
    page = tmp_path / "preview.html"
    r = run_cli(config, "digest", "--html", str(page))
    assert r.returncode == 0, r.stderr
    assert page.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert not smtp.inbox.envelopes
    with sqlite3.connect(tmp_path / "state.db") as db:
        assert db.execute("select count(*) from digests").fetchone()[0] == 0
    assert run_cli(config, "digest").returncode == 0
    assert len(FILE_RE.findall(parts(smtp.inbox.messages[0])[0])) == 7


def test_stories_added_after_a_digest_go_in_the_next_one_only(server, corpus, tmp_path, smtp):
    feeds = publish(server, ["lavrov_a", "bridge"])
    config = digest_config(tmp_path, feeds, smtp.port)
    assert run_cli(config, "poll").returncode == 0
    assert run_cli(config, "digest").returncode == 0
    first = set(FILE_RE.findall(parts(smtp.inbox.messages[0])[0]))
    assert len(first) == 2

    config = digest_config(tmp_path, publish(server), smtp.port)    # now all outlets, all stories
    r = run_cli(config, "poll")
    assert "5 new stories" in r.stdout, r.stdout
    assert run_cli(config, "digest").returncode == 0
    second = set(FILE_RE.findall(parts(smtp.inbox.messages[1])[0]))
    assert len(second) == 5 and not first & second


KILL_BEFORE_MARKING = r"""
import os, signal, sys
import monitor.state as st
_record = st.State.record_digest
def record_digest(self, row, story_ids=()):
    if row.get("status") == "delivered":
        os.kill(os.getpid(), signal.SIGKILL)    # accepted by the server, not yet marked
    return _record(self, row, story_ids)
st.State.record_digest = record_digest
from monitor.cli import main
sys.argv[0] = "monitor"
raise SystemExit(main())
"""


def test_killed_after_delivery_before_marking_resends_the_same_message(server, corpus, tmp_path,
                                                                       smtp):
    """At-least-once: nothing is lost; the resend carries the same stories and Message-ID (mail
    clients fold the two), and in the outbox it is the same file, not a second one."""
    import subprocess
    import sys

    from tests.conftest import ROOT

    config = digest_config(tmp_path, publish(server, ["bridge", "ru_story"]), smtp.port)
    assert run_cli(config, "poll").returncode == 0
    killed = subprocess.run([sys.executable, "-c", KILL_BEFORE_MARKING, "-c", str(config),
                             "digest"], capture_output=True, text=True, timeout=120,
                            cwd=str(ROOT))
    assert killed.returncode == -9
    r = run_cli(config, "digest")
    assert r.returncode == 0, r.stderr
    first, second = smtp.inbox.messages
    assert first["Message-ID"] == second["Message-ID"]
    assert sorted(FILE_RE.findall(parts(first)[0])) == sorted(FILE_RE.findall(parts(second)[0]))
    assert "nothing new" in run_cli(config, "digest").stdout

    outbox_config = write_config(tmp_path, publish(server, ["bridge", "ru_story", "ko_story"]))
    assert run_cli(outbox_config, "poll").returncode == 0
    killed = subprocess.run([sys.executable, "-c", KILL_BEFORE_MARKING, "-c",
                             str(outbox_config), "digest"], capture_output=True, text=True,
                            timeout=120, cwd=str(ROOT))
    assert killed.returncode == -9
    assert run_cli(outbox_config, "digest").returncode == 0
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 1


def test_the_footer_names_failing_feeds(server, corpus, tmp_path):
    feeds = publish(server, ["bridge"]) + [
        {"url": server.add("/broken.xml", "oops", status=500), "name": "Broken Outlet"}]
    config = write_config(tmp_path, feeds)
    assert run_cli(config, "poll").returncode == 0
    r = run_cli(config, "digest", "--dry-run")
    assert "Feeds needing attention" in r.stdout
    assert re.search(r"Broken Outlet: failing — 1 failed poll in a row: .*500", r.stdout), r.stdout
